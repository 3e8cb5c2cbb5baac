//! The attribution knowledge base as the store keeps it: source files
//! recognised (an ATT&CK STIX bundle or the MISP threat-actor galaxy, plain
//! or gzip), checked by reading them, kept whole and gzip-compressed, and
//! compiled into an [`Attributor`] from what is kept.

use geneva_attribution::Attributor;
use geneva_kb::{KbError, KnowledgeBase, MergeReport};
use geneva_store::{KnowledgeSource, KnowledgeSourceInfo, Store, StoreError};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Write;

/// The largest knowledge-base file read, once decompressed (ATT&CK
/// Enterprise 15.1 is 26 MB).
pub const MAX_SOURCE_BYTES: u64 = 256 << 20;

/// Why a knowledge-base file was refused or the kept ones could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    // The message carries the parser's words, so the parser's error is not
    // also a source: a chain printed whole would say it twice.
    #[error("not JSON: {0}")]
    Json(serde_json::Error),
    #[error(transparent)]
    Document(#[from] geneva_stix::DocumentError),
    #[error("cannot compress the file for keeping: {0}")]
    Compress(std::io::Error),
    #[error(
        "neither an ATT&CK STIX bundle (an object with \"type\": \"bundle\" and \"objects\") nor a MISP galaxy (an object with \"type\" and \"values\")"
    )]
    Unrecognised,
    #[error("a MISP galaxy of type {0:?}: attribution reads the \"threat-actor\" galaxy")]
    OtherGalaxy(String),
    #[error(transparent)]
    Content(#[from] KbError),
    #[error(
        "a MISP galaxy needs an ATT&CK bundle imported first: it is merged into ATT&CK's actors"
    )]
    GalaxyWithoutAttack,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<serde_json::Error> for KnowledgeError {
    fn from(error: serde_json::Error) -> Self {
        KnowledgeError::Json(error)
    }
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

/// Recognises and reads a knowledge-base file, plain or gzip (refusing
/// anything else), stamped `now_ms`. The hash and size are of the JSON.
pub fn check(bytes: Vec<u8>, now_ms: i64) -> Result<Checked, KnowledgeError> {
    let json = source_json(bytes)?;
    let sha256 = hex::encode(Sha256::digest(&json));
    let size = json.len() as i64;
    // The first bytes say which format it is, without a second full parse.
    let head = sniff(&json)?;
    // Kept compressed, so that an import writes a third as much to the
    // database (ATT&CK: 26 MB, twice over through SQLite's write-ahead log,
    // against 9 MB); compressing takes about as long as reading the file,
    // so it runs on another core meanwhile.
    let (read, kept) = std::thread::scope(|scope| {
        let kept = scope.spawn(|| compress(&json));
        let read = read_source(&json, head);
        let kept = kept
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (read, kept)
    });
    let (kind, name, version, actors, campaigns, merge) = read?;
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
            bytes: kept?,
        },
        actors,
        campaigns,
        merge,
    })
}

type SourceSummary = (
    &'static str,
    String,
    Option<String>,
    usize,
    usize,
    Option<MergeReport>,
);

fn read_source(json: &[u8], head: Sniffed) -> Result<SourceSummary, KnowledgeError> {
    Ok(match head {
        Sniffed::Bundle => {
            let kb = KnowledgeBase::from_attack(json)?;
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
            let report = kb.merge_misp_galaxy(json)?;
            (
                "misp-galaxy",
                kind,
                version,
                kb.actors.len(),
                0,
                Some(report),
            )
        }
    })
}

/// A knowledge-base file's JSON: gzip (recognised by its magic bytes, which
/// JSON cannot begin with) is decompressed, up to [`MAX_SOURCE_BYTES`].
/// Reads an operator's file and a kept source alike: sources kept before
/// Geneva compressed them are plain JSON.
pub fn source_json(bytes: Vec<u8>) -> Result<Vec<u8>, KnowledgeError> {
    match geneva_stix::input::decode(&bytes, MAX_SOURCE_BYTES)? {
        std::borrow::Cow::Owned(json) => Ok(json),
        std::borrow::Cow::Borrowed(_) => Ok(bytes),
    }
}

/// Gzip at level 1: ATT&CK to a third of its size in about 0.1 s; higher
/// levels save another 2 MB for twice the time.
fn compress(json: &[u8]) -> Result<Vec<u8>, KnowledgeError> {
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(json.len() / 3),
        flate2::Compression::fast(),
    );
    gz.write_all(json).map_err(KnowledgeError::Compress)?;
    gz.finish().map_err(KnowledgeError::Compress)
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
    let mut kb = KnowledgeBase::from_attack(&source_json(attack.bytes)?)?;
    for info in store.knowledge_sources().await? {
        if info.kind != "misp-galaxy" {
            continue;
        }
        if let Some(galaxy) = store.knowledge_source(&info.kind, &info.name).await? {
            kb.merge_misp_galaxy(&source_json(galaxy.bytes)?)?;
        }
    }
    Ok(Some(kb))
}

/// [`load`], compiled for attribution (the model fitted on it).
pub async fn attributor(store: &dyn Store) -> Result<Option<Attributor>, KnowledgeError> {
    Ok(load(store).await?.map(Attributor::new))
}
