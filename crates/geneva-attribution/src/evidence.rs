//! An incident's evidence read out of STIX 2.1 objects: the incident (or
//! campaign), what it `uses` (attack-patterns, malware and tools, named by
//! ATT&CK external id, by STIX id or by name), and what it `targets`
//! (identities with their sectors and locations, locations).

use std::collections::HashMap;

use geneva_kb::KnowledgeBase;
use serde_json::Value;

use crate::Evidence;

/// Why no evidence could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("no incident or campaign among the {0} objects: name the one to attribute")]
    NoSubject(usize),
    #[error("{0} is not an incident or campaign among the objects")]
    NotASubject(String),
    #[error("several incidents or campaigns ({0}): name the one to attribute")]
    Ambiguous(String),
}

fn text<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get(field).and_then(Value::as_str)
}

fn attack_external_id(object: &Value) -> Option<&str> {
    object
        .get("external_references")?
        .as_array()?
        .iter()
        .find(|r| text(r, "source_name") == Some("mitre-attack"))
        .and_then(|r| text(r, "external_id"))
}

/// Reads the evidence about one incident or campaign (`subject`, or the only
/// one among the objects) from STIX objects.
pub fn from_stix(
    objects: &[Value],
    subject: Option<&str>,
    kb: &KnowledgeBase,
) -> Result<Evidence, EvidenceError> {
    let by_id: HashMap<&str, &Value> = objects
        .iter()
        .filter_map(|o| Some((text(o, "id")?, o)))
        .collect();
    let is_subject = |o: &Value| matches!(text(o, "type"), Some("incident" | "campaign"));
    let subject = match subject {
        Some(id) => match by_id.get(id) {
            Some(o) if is_subject(o) => id,
            _ => return Err(EvidenceError::NotASubject(id.to_owned())),
        },
        None => {
            let subjects: Vec<&str> = objects
                .iter()
                .filter(|o| is_subject(o))
                .filter_map(|o| text(o, "id"))
                .collect();
            match subjects.as_slice() {
                [] => return Err(EvidenceError::NoSubject(objects.len())),
                [one] => *one,
                many => return Err(EvidenceError::Ambiguous(many.join(", "))),
            }
        }
    };
    // Where each identity is located, gathered once: looking it up per
    // victim made hostile bundles (many victims, many relationships) quadratic.
    let mut places: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in objects
        .iter()
        .filter(|o| text(o, "type") == Some("relationship"))
    {
        if text(r, "relationship_type") == Some("located-at")
            && let (Some(source), Some(target)) = (text(r, "source_ref"), text(r, "target_ref"))
        {
            places.entry(source).or_default().push(target);
        }
    }
    let mut evidence = Evidence {
        subject: subject.to_owned(),
        ..Evidence::default()
    };
    for r in objects
        .iter()
        .filter(|o| text(o, "type") == Some("relationship"))
    {
        let (Some(kind), Some(source), Some(target)) = (
            text(r, "relationship_type"),
            text(r, "source_ref"),
            text(r, "target_ref"),
        ) else {
            continue;
        };
        if source != subject {
            continue;
        }
        match kind {
            "uses" => used(&mut evidence, kb, target, by_id.get(target).copied()),
            "targets" => targeted(&mut evidence, &by_id, &places, target),
            _ => {}
        }
    }
    evidence.unrecognised.sort();
    evidence.unrecognised.dedup();
    Ok(evidence)
}

fn used(evidence: &mut Evidence, kb: &KnowledgeBase, target: &str, object: Option<&Value>) {
    let kind = target.split("--").next().unwrap_or("");
    if !matches!(kind, "attack-pattern" | "malware" | "tool") {
        return;
    }
    let by_external = object
        .and_then(attack_external_id)
        .and_then(|id| kb.used_id(id));
    let by_name = || {
        let object = object?;
        let names = std::iter::once(text(object, "name"))
            .chain(
                object
                    .get("aliases")
                    .or_else(|| object.get("x_mitre_aliases"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(Value::as_str),
            )
            .flatten();
        names.into_iter().find_map(|n| kb.used_id(n))
    };
    let found = by_external
        .or_else(|| kb.used_id(target))
        .or_else(by_name)
        .map(str::to_owned);
    match found {
        Some(id) if id.starts_with('T') => {
            evidence.techniques.insert(id);
        }
        Some(id) => {
            evidence.software.insert(id);
        }
        None => {
            let name = object
                .and_then(|o| text(o, "name"))
                .map_or_else(|| target.to_owned(), |n| format!("{n} ({target})"));
            evidence.unrecognised.push(name);
        }
    }
}

fn targeted(
    evidence: &mut Evidence,
    by_id: &HashMap<&str, &Value>,
    places: &HashMap<&str, Vec<&str>>,
    target: &str,
) {
    let Some(object) = by_id.get(target) else {
        return;
    };
    match text(object, "type") {
        Some("location") => located(evidence, object),
        Some("identity") => {
            if let Some(sectors) = object.get("sectors").and_then(Value::as_array) {
                evidence
                    .victim_sectors
                    .extend(sectors.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            for place in places.get(target).into_iter().flatten() {
                if let Some(location) = by_id.get(place) {
                    located(evidence, location);
                }
            }
        }
        _ => {}
    }
}

fn located(evidence: &mut Evidence, location: &Value) {
    if let Some(name) = text(location, "name").filter(|n| !n.trim().is_empty()) {
        evidence.victim_countries.insert(name.to_owned());
    } else if let Some(country) = text(location, "country") {
        evidence.victim_countries.insert(country.to_owned());
    }
}
