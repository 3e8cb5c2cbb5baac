//! MISP galaxy threat-actor clusters (`misp-galaxy/clusters/threat-actor.json`).

use serde_json::Value;

use crate::{Actor, KbError, KnowledgeBase, normalise_alias, shape};

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Clusters joined to an actor by ATT&CK id.
    pub by_attack_id: usize,
    /// Clusters joined to an actor by one of their names.
    pub by_alias: usize,
    /// Clusters that became actors of their own.
    pub added: usize,
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// `G0006` out of MISP's `name-attribution` entries (`G0006:uuid`).
fn attack_group_id(entry: &str) -> Option<String> {
    let id = entry.split(':').next()?;
    let digits = id.strip_prefix('G')?;
    (digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_owned())
}

pub(crate) fn merge(kb: &mut KnowledgeBase, bytes: &[u8]) -> Result<MergeReport, KbError> {
    let galaxy: Value = serde_json::from_slice(bytes)?;
    let values = galaxy
        .get("values")
        .and_then(Value::as_array)
        .ok_or_else(|| shape("$.values", "a MISP galaxy has a list of values"))?;
    let mut report = MergeReport::default();
    for (n, cluster) in values.iter().enumerate() {
        let Some(name) = cluster.get("value").and_then(Value::as_str) else {
            return Err(shape(
                format!("$.values[{n}].value"),
                "every cluster has a name",
            ));
        };
        let meta = cluster.get("meta");
        let field = |f: &str| meta.and_then(|m| m.get(f));
        let mut names = vec![name.to_owned()];
        names.extend(strings(field("synonyms")));
        let attributions = strings(field("name-attribution"));
        let group_ids: Vec<String> = attributions
            .iter()
            .filter_map(|e| attack_group_id(e))
            .collect();
        let by_id = group_ids.iter().find_map(|id| kb.position(id));
        let by_name = || names.iter().find_map(|n| kb.position(&normalise_alias(n)));
        let at = match (by_id, by_id.is_none().then(by_name).flatten()) {
            (Some(at), _) => {
                report.by_attack_id += 1;
                at
            }
            (None, Some(at)) => {
                report.by_alias += 1;
                at
            }
            (None, None) => {
                kb.actors.push(Actor {
                    name: name.to_owned(),
                    ..Actor::default()
                });
                report.added += 1;
                kb.actors.len() - 1
            }
        };
        let actor = &mut kb.actors[at];
        if actor.misp_uuid.is_none() {
            actor.misp_uuid = cluster
                .get("uuid")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        actor.aliases.extend(names);
        if actor.sponsor.is_none() {
            actor.sponsor = strings(field("cfr-suspected-state-sponsor"))
                .into_iter()
                .next()
                .or_else(|| strings(field("country")).into_iter().next())
                .filter(|s| !s.trim().is_empty());
        }
        actor
            .victims
            .extend(strings(field("cfr-suspected-victims")));
        actor
            .target_categories
            .extend(strings(field("cfr-target-category")));
        kb.file(at);
    }
    Ok(report)
}
