//! The evidence about a stored incident (or campaign), as one viewer may see
//! it: what it uses and targets (its relationships and their targets), and
//! the infrastructure it shares with items already attributed, from the
//! correlation engine; then the attribution itself.

use geneva_attribution::{Attribution, Attributor, Evidence, InfrastructureLink};
use std::collections::HashMap;

use geneva_correlate::{Config, Link, WarningLists};
use geneva_observables::Observable;
use geneva_observables::extract::observables_of;
use geneva_postings::PostingIndex;
use geneva_store::{Store, StoredVersion, Viewer};
use serde_json::Value;

use crate::AnalysisError;

fn parsed(version: &StoredVersion) -> Result<Value, AnalysisError> {
    serde_json::from_str(&version.canonical).map_err(|e| AnalysisError::Corrupt {
        id: version.id.clone(),
        reason: e.to_string(),
    })
}

fn field<'a>(object: &'a Value, name: &str) -> Option<&'a str> {
    object.get(name).and_then(Value::as_str)
}

/// The attribution of stored incident `id` as `viewer` may see it; `None`
/// when the viewer cannot see it.
pub async fn attribute_stored(
    index: &PostingIndex,
    viewer: &Viewer,
    id: &str,
    attributor: &Attributor,
    config: Config,
    warnings: WarningLists,
) -> Result<Option<Attribution>, AnalysisError> {
    let Some(evidence) = stored_evidence(index, viewer, id, attributor, config, warnings).await?
    else {
        return Ok(None);
    };
    Ok(Some(attributor.attribute(&evidence)))
}

/// The evidence [`attribute_stored`] weighs.
pub async fn stored_evidence(
    index: &PostingIndex,
    viewer: &Viewer,
    id: &str,
    attributor: &Attributor,
    config: Config,
    warnings: WarningLists,
) -> Result<Option<Evidence>, AnalysisError> {
    let store = index.store();
    let Some(objects) = stored_objects(store.as_ref(), viewer, id).await? else {
        return Ok(None);
    };
    let mut evidence =
        geneva_attribution::from_stix(&objects, Some(id), attributor.knowledge_base())?;
    if let Some(correlation) = crate::correlate(index, viewer, id, config, warnings).await? {
        evidence.infrastructure =
            infrastructure(store.as_ref(), viewer, &correlation.links).await?;
    }
    Ok(Some(evidence))
}

/// A stored incident (or campaign) as `viewer` may see it, with what it
/// uses and targets, and where the identities it targets are located: the
/// objects its evidence and its facts are read from. `None` when the viewer
/// cannot see it.
pub async fn stored_objects(
    store: &dyn geneva_store::Store,
    viewer: &Viewer,
    id: &str,
) -> Result<Option<Vec<Value>>, AnalysisError> {
    let Some(subject) = store.get(id, viewer).await? else {
        return Ok(None);
    };
    let subject = parsed(&subject)?;
    // The impacts the Incident Core Extension names (norm facts read them).
    let impacts: Vec<String> = subject
        .pointer(&format!(
            "/extensions/{}/impact_refs",
            geneva_norms::facts::INCIDENT_CORE_EXTENSION
        ))
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .take(1_000)
                .collect()
        })
        .unwrap_or_default();
    let mut objects = vec![subject];
    for impact in impacts {
        if let Some(version) = store.get(&impact, viewer).await? {
            objects.push(parsed(&version)?);
        }
    }
    for relationship in store.relationships_from(id, viewer).await? {
        let relationship = parsed(&relationship)?;
        if let Some(target) = field(&relationship, "target_ref")
            && let Some(version) = store.get(target, viewer).await?
        {
            let object = parsed(&version)?;
            if field(&object, "type") == Some("identity") {
                for place in store.relationships_from(target, viewer).await? {
                    let place = parsed(&place)?;
                    if field(&place, "relationship_type") != Some("located-at") {
                        continue;
                    }
                    if let Some(location) = field(&place, "target_ref")
                        && let Some(location) = store.get(location, viewer).await?
                    {
                        objects.push(parsed(&location)?);
                    }
                    objects.push(place);
                }
            }
            objects.push(object);
        }
        objects.push(relationship);
    }
    Ok(Some(objects))
}

/// The evidence in a STIX bundle about one incident (`subject`, or the only
/// one), with the infrastructure its observables (cyber-observables and
/// indicator patterns anywhere in the bundle) share with stored items
/// attributed to an actor, as `viewer` may see them.
pub async fn bundle_evidence(
    index: &PostingIndex,
    viewer: &Viewer,
    objects: &[Value],
    subject: Option<&str>,
    attributor: &Attributor,
    config: Config,
    warnings: WarningLists,
) -> Result<Evidence, AnalysisError> {
    let mut evidence =
        geneva_attribution::from_stix(objects, subject, attributor.knowledge_base())?;
    let by_id: HashMap<&str, &Value> = objects
        .iter()
        .filter_map(|o| Some((field(o, "id")?, o)))
        .collect();
    let mut own: Vec<Observable> = objects
        .iter()
        .flat_map(|o| observables_of(o, &by_id))
        .collect();
    own.sort();
    own.dedup();
    if own.is_empty() {
        return Ok(evidence);
    }
    crate::index_pending(index).await?;
    let source = crate::ViewerPostings { index, viewer };
    let (links, _) =
        geneva_correlate::correlate(&source, &evidence.subject, &own, &config, &warnings).await?;
    evidence.infrastructure = infrastructure(index.store().as_ref(), viewer, &links).await?;
    Ok(evidence)
}

/// Links to items attributed to an actor, as shared-infrastructure evidence.
async fn infrastructure(
    store: &dyn Store,
    viewer: &Viewer,
    links: &[Link],
) -> Result<Vec<InfrastructureLink>, AnalysisError> {
    let mut found = Vec::new();
    for link in links {
        for actor in attributed(store, viewer, &link.item).await? {
            let reason = link
                .reasons
                .iter()
                .map(|r| {
                    let r = crate::reason_json(r);
                    let kind = r["kind"].as_str().unwrap_or("link").to_owned();
                    match r
                        .get("value")
                        .or_else(|| r.get("theirs"))
                        .and_then(Value::as_str)
                    {
                        Some(value) => format!("{kind} {value}"),
                        None => kind,
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            found.push(InfrastructureLink {
                actor,
                incident: link.item.clone(),
                reason,
                strength: link.weight,
            });
        }
    }
    Ok(found)
}

/// The actors an item is attributed to (through a campaign it is
/// attributed to, too), by name, as the viewer may see them.
async fn attributed(
    store: &dyn Store,
    viewer: &Viewer,
    item: &str,
) -> Result<Vec<String>, AnalysisError> {
    let mut actors = Vec::new();
    let mut frontier = vec![item.to_owned()];
    // Item → campaign → intrusion set at most: two hops.
    for _ in 0..2 {
        let mut next = Vec::new();
        for from in frontier {
            for relationship in store.relationships_from(&from, viewer).await? {
                let relationship = parsed(&relationship)?;
                if field(&relationship, "relationship_type") != Some("attributed-to") {
                    continue;
                }
                let Some(target) = field(&relationship, "target_ref") else {
                    continue;
                };
                let Some(version) = store.get(target, viewer).await? else {
                    continue;
                };
                let object = parsed(&version)?;
                match field(&object, "type") {
                    Some("intrusion-set" | "threat-actor") => {
                        if let Some(name) = field(&object, "name") {
                            actors.push(name.to_owned());
                        }
                    }
                    Some("campaign") => next.push(target.to_owned()),
                    _ => {}
                }
            }
        }
        frontier = next;
    }
    actors.sort();
    actors.dedup();
    Ok(actors)
}
