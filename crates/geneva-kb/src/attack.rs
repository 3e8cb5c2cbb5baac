//! MITRE ATT&CK's STIX bundles (2.0 and 2.1 alike for what is read here).

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::{Actor, Campaign, KbError, KnowledgeBase, normalise_alias, shape};

/// What an active object is: its kind and ATT&CK id.
enum Known {
    Actor(usize),
    Campaign(usize),
    /// A technique (`T…`) or software (`S…`) id.
    Used(String),
}

fn attack_id(object: &Value) -> Option<String> {
    object
        .get("external_references")?
        .as_array()?
        .iter()
        .find(|r| r.get("source_name").and_then(Value::as_str) == Some("mitre-attack"))?
        .get("external_id")?
        .as_str()
        .map(str::to_owned)
}

/// The reports a relationship cites: its external references' source
/// names, ATT&CK's own entry aside.
fn citations(object: &Value) -> impl Iterator<Item = &str> {
    object
        .get("external_references")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("source_name").and_then(Value::as_str))
        .filter(|name| !name.is_empty() && *name != "mitre-attack")
}

fn active(object: &Value) -> bool {
    let flag = |name: &str| object.get(name).and_then(Value::as_bool) == Some(true);
    !flag("revoked") && !flag("x_mitre_deprecated")
}

fn text(object: &Value, field: &str) -> Option<String> {
    object.get(field).and_then(Value::as_str).map(str::to_owned)
}

/// Files a used ATT&CK id as a technique (`T…`) or software (`S…`).
fn note_use(techniques: &mut BTreeSet<String>, software: &mut BTreeSet<String>, id: &str) {
    if id.starts_with('T') {
        techniques.insert(id.to_owned());
    } else {
        software.insert(id.to_owned());
    }
}

pub(crate) fn read(bytes: &[u8]) -> Result<KnowledgeBase, KbError> {
    let bundle: Value = serde_json::from_slice(bytes)?;
    let objects = bundle
        .get("objects")
        .and_then(Value::as_array)
        .ok_or_else(|| shape("$.objects", "an ATT&CK bundle has a list of objects"))?;
    let mut kb = KnowledgeBase::default();
    let mut known: HashMap<String, Known> = HashMap::new();
    let mut relationships = Vec::new();
    for (n, object) in objects.iter().enumerate() {
        let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
        if kind == "relationship" {
            if active(object) {
                relationships.push(n);
            }
            continue;
        }
        if let Some(modified) = object.get("modified").and_then(Value::as_str)
            && kb.latest_modified.as_deref().is_none_or(|l| l < modified)
        {
            kb.latest_modified = Some(modified.to_owned());
        }
        if !active(object) {
            continue;
        }
        let Some(stix_id) = text(object, "id") else {
            return Err(shape(
                format!("$.objects[{n}].id"),
                "every object has an id",
            ));
        };
        let Some(id) = attack_id(object) else {
            continue;
        };
        let name = text(object, "name").unwrap_or_else(|| id.clone());
        match kind {
            "intrusion-set" => {
                let mut aliases: BTreeSet<String> = object
                    .get("aliases")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                aliases.insert(name.clone());
                kb.actors.push(Actor {
                    name,
                    attack_id: Some(id),
                    stix_id: Some(stix_id.clone()),
                    aliases,
                    ..Actor::default()
                });
                known.insert(stix_id, Known::Actor(kb.actors.len() - 1));
            }
            "campaign" => {
                kb.campaigns.push(Campaign {
                    attack_id: id,
                    stix_id: stix_id.clone(),
                    name,
                    ..Campaign::default()
                });
                known.insert(stix_id, Known::Campaign(kb.campaigns.len() - 1));
            }
            "attack-pattern" | "malware" | "tool" => {
                let aliases = object
                    .get("x_mitre_aliases")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str);
                for alias in aliases.chain([name.as_str()]) {
                    kb.used_ids
                        .entry(normalise_alias(alias))
                        .or_insert_with(|| id.clone());
                }
                kb.used_ids.insert(stix_id.clone(), id.clone());
                kb.names.insert(id.clone(), name);
                known.insert(stix_id, Known::Used(id));
            }
            _ => {}
        }
    }
    for n in relationships {
        let r = &objects[n];
        let (Some(kind), Some(source), Some(target)) = (
            r.get("relationship_type").and_then(Value::as_str),
            r.get("source_ref").and_then(Value::as_str),
            r.get("target_ref").and_then(Value::as_str),
        ) else {
            continue;
        };
        match (kind, known.get(source), known.get(target)) {
            ("uses", Some(Known::Actor(a)), Some(Known::Used(id))) => {
                let actor = &mut kb.actors[*a];
                note_use(&mut actor.techniques, &mut actor.software, id);
                let mut cited = false;
                for report in citations(r) {
                    cited = true;
                    actor
                        .reports
                        .entry(report.to_owned())
                        .or_default()
                        .insert(id.clone());
                }
                if !cited {
                    actor
                        .reports
                        .entry(String::new())
                        .or_default()
                        .insert(id.clone());
                }
            }
            ("uses", Some(Known::Campaign(c)), Some(Known::Used(id))) => {
                let campaign = &mut kb.campaigns[*c];
                note_use(&mut campaign.techniques, &mut campaign.software, id);
            }
            ("uses", Some(Known::Used(software)), Some(Known::Used(technique)))
                if software.starts_with('S') && technique.starts_with('T') =>
            {
                kb.software_techniques
                    .entry(software.clone())
                    .or_default()
                    .insert(technique.clone());
            }
            ("attributed-to", Some(Known::Campaign(c)), Some(Known::Actor(a))) => {
                kb.campaigns[*c].attributed_to = Some(*a);
            }
            _ => {}
        }
    }
    for at in 0..kb.actors.len() {
        kb.file(at);
    }
    Ok(kb)
}
