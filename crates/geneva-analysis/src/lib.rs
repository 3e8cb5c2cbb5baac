//! The analyses, over what one viewer may see, and the correlation indexer.
//!
//! The indexer follows the store's feed of new versions and files each
//! item's values (an incident's, a report's, an indicator's: see
//! `geneva_observables::extract`) in the posting index (`geneva-postings`),
//! with the version that carried each value. Queries read that index, which
//! has the store check the viewer's rules on every posting, so a
//! correlation never reveals an object (or a value from an object) its
//! caller may not read.
//!
//! This crate owns that boundary and the indexing policy; the link rules
//! live in `geneva-correlate`, normalisation and extraction in
//! `geneva-observables`. It must never bypass the viewer, speak HTTP or SQL,
//! or hold state between calls.
#![forbid(unsafe_code)]

pub mod assessment;
pub mod attribution;
pub mod cases;
pub mod knowledge;

use std::collections::HashMap;

use async_trait::async_trait;
use geneva_correlate::{Capped, Clusters, Config, Hit, Link, Noise, Postings, WarningLists};
use geneva_observables::Observable;
use geneva_observables::extract::{CONTAINERS, observables_of};
use geneva_postings::{IndexError, PostingIndex};
use geneva_store::{IndexBatch, IndexedValue, ItemPostings, StoreError, Viewer};

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Evidence(#[from] geneva_attribution::EvidenceError),
    #[error(transparent)]
    Facts(#[from] geneva_norms::FactsError),
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

/// Versions read from the feed per indexing transaction.
const FEED_BATCH: usize = 2_000;

fn parse(id: &str, canonical: &str) -> Result<serde_json::Value, AnalysisError> {
    serde_json::from_str(canonical).map_err(|e| AnalysisError::Corrupt {
        id: id.to_owned(),
        reason: e.to_string(),
    })
}

/// How one observable is filed, in the store's terms.
pub fn indexed_value(o: &Observable) -> IndexedValue {
    let e = geneva_correlate::index_entry(o);
    IndexedValue {
        key: e.key,
        derived: e.derived,
        address: e.address,
        range_prefix: e.range_prefix,
    }
}

fn own_values(object: &serde_json::Value) -> Vec<IndexedValue> {
    let mut found = observables_of(object, &HashMap::new());
    found.sort();
    found.dedup();
    found.iter().map(indexed_value).collect()
}

/// Brings the posting index up to date with the store: every version stored
/// since the last run is read once. Returns how many versions were read.
/// Safe to run from several tasks at once: each batch is applied only if
/// no one else applied it first.
pub async fn index_pending(index: &PostingIndex) -> Result<u64, AnalysisError> {
    let store = index.store().as_ref();
    let mut read = 0;
    loop {
        let from = index.cursor();
        let feed = store.corr_feed(from, FEED_BATCH).await?;
        let Some(last) = feed.last() else {
            return Ok(read);
        };
        let mut batch = IndexBatch {
            to: last.position,
            ..IndexBatch::default()
        };
        let mut leaves: Vec<(String, u64, Vec<IndexedValue>)> = Vec::new();
        for fv in &feed {
            let v = &fv.version;
            let object = parse(&v.id, &v.canonical)?;
            if CONTAINERS.contains(&v.object_type.as_str()) {
                let refs: Vec<String> = object
                    .get("object_refs")
                    .and_then(|r| r.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect();
                batch
                    .references
                    .extend(refs.iter().map(|r| (r.clone(), fv.seq)));
                // Every version: an observable submitted again by another
                // member is a new version some viewers may not see, and
                // each viewer must link through the versions it may see.
                for (seq, target) in store.all_versions(&refs).await? {
                    let values = own_values(&parse(&target.id, &target.canonical)?);
                    if !values.is_empty() {
                        batch.postings.push(ItemPostings {
                            item: fv.seq,
                            source: seq,
                            values,
                        });
                    }
                }
            } else {
                let values = own_values(&object);
                if values.is_empty() {
                    continue;
                }
                if v.object_type == "indicator" {
                    batch.postings.push(ItemPostings {
                        item: fv.seq,
                        source: fv.seq,
                        values: values.clone(),
                    });
                }
                leaves.push((v.id.clone(), fv.seq, values));
            }
        }
        // A new version of something containers refer to reaches them too.
        if !leaves.is_empty() {
            let ids: Vec<String> = leaves.iter().map(|(id, ..)| id.clone()).collect();
            let mut referrers: HashMap<String, Vec<u64>> = HashMap::new();
            for (id, item) in index.referrers(&ids) {
                referrers.entry(id).or_default().push(item);
            }
            for (id, seq, values) in leaves {
                for &item in referrers.get(&id).into_iter().flatten() {
                    batch.postings.push(ItemPostings {
                        item,
                        source: seq,
                        values: values.clone(),
                    });
                }
            }
        }
        let mut named: Vec<u64> = batch
            .postings
            .iter()
            .flat_map(|p| [p.item, p.source])
            .collect();
        named.sort_unstable();
        named.dedup();
        batch.access = store.version_access(&named).await?;
        if index.apply(batch, from)? {
            read += feed.len() as u64;
        }
    }
}

/// The posting index, seen by one viewer.
pub struct ViewerPostings<'a> {
    pub index: &'a PostingIndex,
    pub viewer: &'a Viewer,
}

fn capped<T, U>(c: geneva_store::Capped<T>, f: impl Fn(T) -> U) -> Capped<U> {
    match c {
        geneva_store::Capped::Within(v) => Capped::Within(v.into_iter().map(f).collect()),
        geneva_store::Capped::Over(n) => Capped::Over(n),
    }
}

#[async_trait]
impl Postings for ViewerPostings<'_> {
    type Error = IndexError;

    async fn range_prefixes(&self) -> Result<Vec<u8>, IndexError> {
        Ok(self.index.range_prefixes())
    }

    async fn postings(&self, keys: &[&str], cap: usize) -> Result<Vec<Capped<Hit>>, IndexError> {
        let found = self.index.postings(keys, cap, self.viewer).await?;
        Ok(found
            .into_iter()
            .map(|c| {
                capped(c, |h| Hit {
                    item: h.item.0,
                    source: h.source.0,
                })
            })
            .collect())
    }

    async fn names(&self, objects: &[u64]) -> Result<Vec<Option<std::sync::Arc<str>>>, IndexError> {
        let handles: Vec<geneva_store::ObjectHandle> = objects
            .iter()
            .map(|&o| geneva_store::ObjectHandle(o))
            .collect();
        Ok(self.index.object_ids(&handles))
    }

    async fn derived(
        &self,
        hashes: &[u64],
        cap: usize,
    ) -> Result<Vec<Capped<std::sync::Arc<str>>>, IndexError> {
        let found = self.index.derived(hashes, cap);
        Ok(found.into_iter().map(|c| capped(c, |k| k)).collect())
    }

    async fn addresses(
        &self,
        ranges: &[(u128, u128)],
        cap: usize,
    ) -> Result<Vec<Capped<std::sync::Arc<str>>>, IndexError> {
        let found = self.index.addresses(ranges, cap);
        Ok(found.into_iter().map(|c| capped(c, |k| k)).collect())
    }
}

/// The values `id` is correlated on, as the viewer sees it: an item's
/// indexed values, or an object's own (a single address, a file).
async fn own_observables(
    index: &PostingIndex,
    viewer: &Viewer,
    id: &str,
    canonical: &str,
) -> Result<Vec<Observable>, AnalysisError> {
    let keys = index.item_values(id, viewer).await?;
    if !keys.is_empty() {
        let mut own: Vec<Observable> = keys
            .iter()
            .filter_map(|k| Observable::from_index_key(k))
            .collect();
        own.sort();
        return Ok(own);
    }
    let mut own = observables_of(&parse(id, canonical)?, &HashMap::new());
    own.sort();
    own.dedup();
    Ok(own)
}

/// What a search for one value found: the value as normalised, and the
/// items carrying it that the viewer may see.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueSearch {
    /// The normalised value's key (`ipv4:45.133.1.20`).
    pub key: String,
    pub items: Vec<String>,
    /// Set when more than this many versions carry it (whoever may see
    /// them): too common a value to list.
    pub more_than: Option<usize>,
}

/// Items carrying at most this many versions of a value are listed.
const SEARCH_CAP: usize = 10_000;

impl ValueSearch {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"value": self.key, "items": self.items, "more_than": self.more_than})
    }
}

/// The items the viewer may see that carry the value `text` names (an
/// address, a domain, a URL, a hash; defanged forms too): the index's own
/// postings, brought up to date first. `None` when `text` names no value.
pub async fn search_value(
    index: &PostingIndex,
    viewer: &Viewer,
    text: &str,
) -> Result<Option<ValueSearch>, AnalysisError> {
    let Some(observable) = Observable::guess(text) else {
        return Ok(None);
    };
    index_pending(index).await?;
    let key = observable.key();
    let found = index.postings(&[key.as_str()], SEARCH_CAP, viewer).await?;
    let (hits, more_than) = match found.into_iter().next() {
        Some(geneva_store::Capped::Within(hits)) => (hits, None),
        Some(geneva_store::Capped::Over(n)) => (Vec::new(), Some(n - 1)),
        None => (Vec::new(), None),
    };
    let handles: Vec<geneva_store::ObjectHandle> = hits.iter().map(|h| h.item).collect();
    let mut items: Vec<String> = index
        .object_ids(&handles)
        .into_iter()
        .flatten()
        .map(|id| id.to_string())
        .collect();
    items.sort();
    items.dedup();
    Ok(Some(ValueSearch {
        key,
        items,
        more_than,
    }))
}

/// What `id` shares with other items the viewer may see. `None` when the
/// viewer may not see `id` (exactly as when it does not exist). Brings the
/// index up to date first.
pub async fn correlate(
    index: &PostingIndex,
    viewer: &Viewer,
    id: &str,
    config: Config,
    warnings: WarningLists,
) -> Result<Option<Correlation>, AnalysisError> {
    index_pending(index).await?;
    let Some(object) = index.store().get(id, viewer).await? else {
        return Ok(None);
    };
    let own = own_observables(index, viewer, id, &object.canonical).await?;
    let source = ViewerPostings { index, viewer };
    let (links, noise) = geneva_correlate::correlate(&source, id, &own, &config, &warnings).await?;
    Ok(Some(Correlation {
        id: id.to_owned(),
        observables: own.iter().map(|o| o.key()).collect(),
        links,
        noise,
    }))
}

/// Campaigns and communities among the items the viewer may see.
pub async fn campaigns(
    index: &PostingIndex,
    viewer: &Viewer,
    config: Config,
    warnings: WarningLists,
) -> Result<Clusters, AnalysisError> {
    index_pending(index).await?;
    let items = index.items(viewer).await?;
    let position: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let source = ViewerPostings { index, viewer };
    let mut edges = Vec::new();
    for (i, id) in items.iter().enumerate() {
        let keys = index.item_values(id, viewer).await?;
        let own: Vec<Observable> = keys
            .iter()
            .filter_map(|k| Observable::from_key(k))
            .collect();
        let (links, _) = geneva_correlate::correlate(&source, id, &own, &config, &warnings).await?;
        for link in links {
            // Each pair is seen from both ends: keep it once.
            if let Some(&j) = position.get(link.item.as_str())
                && j > i
            {
                edges.push((i, j, link.weight));
            }
        }
    }
    Ok(geneva_correlate::cluster(
        &items,
        &edges,
        config.strong_link,
        config.weak_link,
    ))
}

pub(crate) fn reason_json(r: &geneva_correlate::Reason) -> serde_json::Value {
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
                "via": l.via,
                "weight": (l.weight * 1000.0).round() / 1000.0,
                "reasons": l.reasons.iter().map(reason_json).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "noise": self.noise.iter().map(noise_json).collect::<Vec<_>>(),
        })
    }
}

pub fn campaigns_json(clusters: &Clusters) -> serde_json::Value {
    serde_json::json!({
        "campaigns": clusters.campaigns.iter().map(|c| serde_json::json!({
            "id": c.id, "members": c.members,
        })).collect::<Vec<_>>(),
        "communities": clusters.communities.iter().map(|c| serde_json::json!({
            "id": c.id, "members": c.members, "campaigns": c.campaigns,
            "weight": (c.weight * 1000.0).round() / 1000.0,
        })).collect::<Vec<_>>(),
    })
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
