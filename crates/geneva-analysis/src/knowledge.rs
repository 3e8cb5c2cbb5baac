//! The attribution knowledge base as the store keeps it: source files
//! recognised (an ATT&CK STIX bundle or the MISP threat-actor galaxy),
//! checked by reading them, kept whole, and compiled into an
//! [`Attributor`] from what is kept.

use geneva_attribution::Attributor;
use geneva_kb::{KbError, KnowledgeBase, MergeReport};
use geneva_store::{KnowledgeSource, KnowledgeSourceInfo, Store, StoreError};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Why a knowledge-base file was refused or the kept ones could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "neither an ATT&CK STIX bundle (an object with \"type\": \"bundle\" and \"objects\") nor a MISP galaxy (an object with \"type\" and \"values\")"
    )]
    Unrecognised,
    #[error("a MISP galaxy of type {0:?}: attribution reads the \"threat-actor\" galaxy")]
    OtherGalaxy(String),
    #[error("{0}")]
    Content(#[from] KbError),
    #[error(
        "a MISP galaxy needs an ATT&CK bundle imported first: it is merged into ATT&CK's actors"
    )]
    GalaxyWithoutAttack,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A source file recognised and read: what it is and what it holds.
#[derive(Debug)]
pub struct Checked {
    pub source: KnowledgeSource,
    /// Actors, campaigns, and for a galaxy how it merged (into an empty
    /// knowledge base when checked alone).
    pub actors: usize,
    pub campaigns: usize,
    pub merge: Option<MergeReport>,
}

/// Recognises and reads a knowledge-base file (refusing anything else),
/// stamped `now_ms`.
pub fn check(bytes: Vec<u8>, now_ms: i64) -> Result<Checked, KnowledgeError> {
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len() as i64;
    // The first bytes say which format it is, without a second full parse.
    let head = sniff(&bytes)?;
    let (kind, name, version, actors, campaigns, merge) = match head {
        Sniffed::Bundle => {
            let kb = KnowledgeBase::from_attack(&bytes)?;
            let version = kb.latest_modified.clone().map(|m| format!("modified {m}"));
            (
                "attack",
                "attack".to_owned(),
                version,
                kb.actors.len(),
                kb.campaigns.len(),
                None,
            )
        }
        Sniffed::Galaxy { kind, version } => {
            if kind != "threat-actor" {
                return Err(KnowledgeError::OtherGalaxy(kind));
            }
            let mut kb = KnowledgeBase::default();
            let report = kb.merge_misp_galaxy(&bytes)?;
            (
                "misp-galaxy",
                kind,
                version,
                kb.actors.len(),
                0,
                Some(report),
            )
        }
    };
    Ok(Checked {
        source: KnowledgeSource {
            info: KnowledgeSourceInfo {
                kind: kind.into(),
                name,
                version,
                sha256,
                size,
                imported_ms: now_ms,
            },
            bytes,
        },
        actors,
        campaigns,
        merge,
    })
}

enum Sniffed {
    Bundle,
    Galaxy {
        kind: String,
        version: Option<String>,
    },
}

/// Tells an ATT&CK bundle from a MISP galaxy by their top-level fields,
/// read without building the (large) object list.
fn sniff(bytes: &[u8]) -> Result<Sniffed, KnowledgeError> {
    #[derive(serde::Deserialize)]
    struct Top {
        #[serde(rename = "type")]
        kind: Option<String>,
        objects: Option<serde::de::IgnoredAny>,
        values: Option<serde::de::IgnoredAny>,
        version: Option<Value>,
    }
    let top: Top = serde_json::from_slice(bytes)?;
    match (top.kind, top.objects, top.values) {
        (Some(kind), Some(_), None) if kind == "bundle" => Ok(Sniffed::Bundle),
        (Some(kind), None, Some(_)) => Ok(Sniffed::Galaxy {
            kind,
            version: top.version.map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            }),
        }),
        _ => Err(KnowledgeError::Unrecognised),
    }
}

/// Keeps a checked source; false when the same bytes were already kept.
pub async fn keep(store: &dyn Store, checked: &Checked) -> Result<bool, KnowledgeError> {
    if checked.source.info.kind == "misp-galaxy"
        && store.knowledge_source("attack", "attack").await?.is_none()
    {
        return Err(KnowledgeError::GalaxyWithoutAttack);
    }
    Ok(store.put_knowledge_source(&checked.source).await?)
}

/// The knowledge base from the kept sources (ATT&CK, then the galaxy merged
/// into it), or `None` when no ATT&CK bundle was imported.
pub async fn load(store: &dyn Store) -> Result<Option<KnowledgeBase>, KnowledgeError> {
    let Some(attack) = store.knowledge_source("attack", "attack").await? else {
        return Ok(None);
    };
    let mut kb = KnowledgeBase::from_attack(&attack.bytes)?;
    for info in store.knowledge_sources().await? {
        if info.kind != "misp-galaxy" {
            continue;
        }
        if let Some(galaxy) = store.knowledge_source(&info.kind, &info.name).await? {
            kb.merge_misp_galaxy(&galaxy.bytes)?;
        }
    }
    Ok(Some(kb))
}

/// [`load`], compiled for attribution (the model fitted on it).
pub async fn attributor(store: &dyn Store) -> Result<Option<Attributor>, KnowledgeError> {
    Ok(load(store).await?.map(Attributor::new))
}
