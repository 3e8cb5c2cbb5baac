//! The analyses, over what one viewer may see: this crate reads the store
//! through a `Viewer` and hands the analysis crates only visible objects, so a
//! correlation can never reveal an object its caller may not read.
//!
//! It owns that boundary and nothing else: the link rules live in
//! `geneva-correlate`, normalisation and extraction in `geneva-observables`.
//! It must never bypass the viewer, speak HTTP, or hold state between calls.
//!
//! For now the index is built per call from the viewer's current objects (a
//! full read of the store); the persistent posting index that scales this to
//! millions of observables is the next step of issue 6.
#![forbid(unsafe_code)]

use geneva_correlate::{Campaign, Config, Index, Link, Noise, WarningLists};
use geneva_observables::extract::{Item, items};
use geneva_store::{ListQuery, Store, StoreError, Viewer};

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored JSON of {id} is unreadable: {reason}")]
    Corrupt { id: String, reason: String },
}

/// What correlation says about one object.
#[derive(Debug, Clone)]
pub struct Correlation {
    pub id: String,
    /// The normalised values it was correlated on.
    pub observables: Vec<String>,
    pub links: Vec<Link>,
    pub noise: Vec<Noise>,
}

/// Every current object the viewer may see, parsed.
async fn visible_objects(
    store: &dyn Store,
    viewer: &Viewer,
) -> Result<Vec<serde_json::Value>, AnalysisError> {
    let mut query = ListQuery {
        limit: 5_000,
        ..ListQuery::default()
    };
    let mut out = Vec::new();
    loop {
        let page = store.list(&query, viewer).await?;
        for v in &page.items {
            out.push(
                serde_json::from_str(&v.canonical).map_err(|e| AnalysisError::Corrupt {
                    id: v.id.clone(),
                    reason: e.to_string(),
                })?,
            );
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(out),
        }
    }
}

/// The index of everything the viewer may see, and its items.
pub async fn index(
    store: &dyn Store,
    viewer: &Viewer,
    config: Config,
    warnings: WarningLists,
) -> Result<(Index, Vec<Item>, Vec<serde_json::Value>), AnalysisError> {
    let objects = visible_objects(store, viewer).await?;
    let found = items(&objects);
    let mut index = Index::new(config, warnings);
    for item in &found {
        index.add(&item.id, &item.observables);
    }
    Ok((index, found, objects))
}

/// What `id` shares with other items the viewer may see. `None` when the
/// viewer may not see `id` (exactly as when it does not exist).
pub async fn correlate(
    store: &dyn Store,
    viewer: &Viewer,
    id: &str,
    config: Config,
    warnings: WarningLists,
) -> Result<Option<Correlation>, AnalysisError> {
    if store.get(id, viewer).await?.is_none() {
        return Ok(None);
    }
    let (mut index, found, objects) = index(store, viewer, config, warnings).await?;
    // An object that is not an item itself (a single domain, a file) is
    // correlated as an item of its own observables.
    let observables = match found.iter().find(|i| i.id == id) {
        Some(item) => item.observables.clone(),
        None => {
            let single: Vec<serde_json::Value> = objects
                .iter()
                .filter(|o| o.get("id").and_then(|v| v.as_str()) == Some(id))
                .cloned()
                .collect();
            let by_id = objects
                .iter()
                .filter_map(|o| Some((o.get("id")?.as_str()?, o)))
                .collect();
            let own: Vec<_> = single
                .iter()
                .flat_map(|o| geneva_observables::extract::from_object(o, &by_id).observables)
                .map(|e| e.observable)
                .collect();
            index.add(id, &own);
            own
        }
    };
    let (links, noise) = index.correlate(id);
    Ok(Some(Correlation {
        id: id.to_owned(),
        observables: observables.iter().map(|o| o.key()).collect(),
        links,
        noise,
    }))
}

/// Campaigns among what the viewer may see.
pub async fn campaigns(
    store: &dyn Store,
    viewer: &Viewer,
    config: Config,
    warnings: WarningLists,
) -> Result<Vec<Campaign>, AnalysisError> {
    let (index, _, _) = index(store, viewer, config, warnings).await?;
    Ok(index.campaigns())
}

fn reason_json(r: &geneva_correlate::Reason) -> serde_json::Value {
    use geneva_correlate::Reason;
    use serde_json::json;
    let weight = r.weight();
    match r {
        Reason::Same { key } => json!({"kind": "same-value", "value": key, "weight": weight}),
        Reason::InRange { address, range } => {
            json!({"kind": "address-in-range", "address": address, "range": range, "weight": weight})
        }
        Reason::SameRegistrableDomain {
            registrable,
            ours,
            theirs,
        } => json!({
            "kind": "same-registrable-domain", "registrable_domain": registrable,
            "ours": ours, "theirs": theirs, "weight": weight
        }),
        Reason::UrlHost { url, host } => {
            json!({"kind": "url-host", "url": url, "host": host, "weight": weight})
        }
        Reason::Ssdeep {
            ours,
            theirs,
            score,
        } => {
            json!({"kind": "ssdeep", "ours": ours, "theirs": theirs, "score": score, "weight": weight})
        }
        Reason::Tlsh {
            ours,
            theirs,
            distance,
        } => {
            json!({"kind": "tlsh", "ours": ours, "theirs": theirs, "distance": distance, "weight": weight})
        }
    }
}

fn noise_json(n: &Noise) -> serde_json::Value {
    use serde_json::json;
    match n {
        Noise::Listed { key, list } => json!({"kind": "warning-list", "value": key, "list": list}),
        Noise::OverCorrelating { key, items } => {
            json!({"kind": "over-correlating", "value": key, "items": items})
        }
    }
}

impl Correlation {
    /// The shape the CLI's `--json` and the API answer with.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "observables": self.observables,
            "links": self.links.iter().map(|l| serde_json::json!({
                "id": l.item,
                "weight": (l.weight * 1000.0).round() / 1000.0,
                "reasons": l.reasons.iter().map(reason_json).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "noise": self.noise.iter().map(noise_json).collect::<Vec<_>>(),
        })
    }
}

pub fn campaigns_json(campaigns: &[Campaign]) -> serde_json::Value {
    serde_json::Value::Array(
        campaigns
            .iter()
            .map(|c| serde_json::json!({"id": c.id, "members": c.members}))
            .collect(),
    )
}

/// The built-in warning lists plus those in `files` (named after each file).
pub fn warning_lists(files: &[std::path::PathBuf]) -> Result<WarningLists, String> {
    let mut lists = WarningLists::builtin();
    for path in files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read warning list {}: {e}", path.display()))?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("warning-list")
            .to_owned();
        lists
            .add(&name, &text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(lists)
}
