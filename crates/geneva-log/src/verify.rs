//! Offline verification: proof bundles, pairs of checkpoints, and the
//! witness's rule. Pure functions over bytes and keys; every refusal says what
//! is wrong in words an auditor can act on.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use geneva_tlog::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use geneva_tlog::tree::{self, ProofError};
use geneva_tlog::{Hash, Note, NoteError, NoteSignature, SigningKey, VerifierKey, leaf_hash};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::leaf::Leaf;

pub const PROOF_FORMAT: &str = "geneva-log-proof/v1";
pub const CONSISTENCY_FORMAT: &str = "geneva-log-consistency/v1";

/// Everything needed to check, offline, that an item is in the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    pub format: String,
    /// The log's origin (its name in checkpoints).
    pub log: String,
    pub leaf_index: u64,
    pub tree_size: u64,
    /// The leaf's exact bytes (see [`Leaf`]).
    pub leaf: String,
    /// Inclusion proof hashes, standard base64, nearest the leaf first.
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint of `tree_size` leaves, with any cosignatures.
    pub checkpoint: String,
    /// The logged item, as stored (canonical JSON).
    pub object: Box<RawValue>,
}

/// Two checkpoints and the proof that the second extends the first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyBundle {
    pub format: String,
    pub old_checkpoint: String,
    pub new_checkpoint: String,
    pub proof: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedInclusion {
    pub id: String,
    pub version: Option<String>,
    pub leaf_index: u64,
    pub tree_size: u64,
    /// Witnesses (of those given) whose cosignatures on the checkpoint verified.
    pub cosigned_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("not a Geneva proof file: {0}")]
    Malformed(String),
    #[error("the checkpoint is not signed by the log's key {key}: {reason}")]
    CheckpointSignature { key: String, reason: String },
    #[error("the checkpoint is not a valid checkpoint: {0}")]
    Checkpoint(String),
    #[error("the proof is for a tree of {claimed} leaves but the checkpoint signs {signed}")]
    SizeMismatch { claimed: u64, signed: u64 },
    #[error(
        "leaf {leaf_index} is not in the tree of {tree_size} leaves that the checkpoint signs ({reason}): the leaf (the item's provenance) or the proof was altered"
    )]
    NotIncluded {
        leaf_index: u64,
        tree_size: u64,
        reason: String,
    },
    #[error(
        "object {id}: its canonical SHA-256 is {actual}, but the log recorded {logged}: the object was altered after it was logged"
    )]
    ObjectAltered {
        id: String,
        actual: String,
        logged: String,
    },
    #[error("the object is {found}, but the leaf records {logged}")]
    WrongObject { found: String, logged: String },
    #[error(
        "the log shrank: a checkpoint of {old} leaves was followed by one of {new}; a log never shrinks, so it was truncated or rolled back"
    )]
    Truncated { old: u64, new: u64 },
    #[error(
        "the log forked: two checkpoints of {size} leaves have different roots ({first} and {second})"
    )]
    Fork {
        size: u64,
        first: String,
        second: String,
    },
    #[error(
        "the checkpoint of {new} leaves does not extend the one of {old} leaves ({reason}): the log was rewritten or forked"
    )]
    Inconsistent { old: u64, new: u64, reason: String },
}

/// Proof hashes from their base64 text.
pub fn decode_proof(list: &[String]) -> Result<Vec<Hash>, VerifyError> {
    decode_hashes(list)
}

fn decode_hashes(list: &[String]) -> Result<Vec<Hash>, VerifyError> {
    list.iter()
        .enumerate()
        .map(|(i, text)| {
            STANDARD
                .decode(text)
                .ok()
                .and_then(|b| Hash::from_slice(&b))
                .ok_or_else(|| {
                    VerifyError::Malformed(format!("proof hash {i} is not 32 bytes of base64"))
                })
        })
        .collect()
}

pub fn encode_hashes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| STANDARD.encode(h.0)).collect()
}

/// Opens a signed checkpoint with the log's key, explaining failures. Any of
/// `log_keys` will do: after a key rotation a verifier holds the old and the new.
pub fn open_checkpoint(
    note: &[u8],
    log_keys: &[VerifierKey],
) -> Result<SignedCheckpoint, VerifyError> {
    let mut failure: Option<VerifyError> = None;
    for key in log_keys {
        let error = match SignedCheckpoint::open(note, key) {
            Ok(signed) => return Ok(signed),
            Err(CheckpointError::Note(reason @ NoteError::BadSignature { .. })) => {
                // A known key whose signature fails: the strongest evidence, reported first.
                VerifyError::CheckpointSignature {
                    key: key.to_text(),
                    reason: reason.to_string(),
                }
            }
            Err(CheckpointError::Note(NoteError::NotSignedBy { .. })) => {
                VerifyError::CheckpointSignature {
                    key: log_keys
                        .iter()
                        .map(VerifierKey::to_text)
                        .collect::<Vec<_>>()
                        .join(" or "),
                    reason: "no signature by it on the checkpoint (signed by another key?)".into(),
                }
            }
            Err(other) => VerifyError::Checkpoint(other.to_string()),
        };
        let stronger = matches!(
            (&failure, &error),
            (None, _)
                | (
                    Some(VerifyError::Checkpoint(_)),
                    VerifyError::CheckpointSignature { .. }
                )
        ) || matches!(&error, VerifyError::CheckpointSignature { reason, .. } if reason.contains("invalid"));
        if stronger {
            failure = Some(error);
        }
    }
    Err(failure.unwrap_or_else(|| VerifyError::Checkpoint("no log key to check it with".into())))
}

/// Checks a proof bundle: the checkpoint's signature, the leaf's inclusion,
/// and that the object (the bundle's, or `object` if given) is the one logged.
pub fn verify_bundle(
    bundle: &ProofBundle,
    log_keys: &[VerifierKey],
    object: Option<&[u8]>,
    witnesses: &[VerifierKey],
) -> Result<VerifiedInclusion, VerifyError> {
    if bundle.format != PROOF_FORMAT {
        return Err(VerifyError::Malformed(format!(
            "format is {:?}, expected {PROOF_FORMAT:?}",
            bundle.format
        )));
    }
    let signed = open_checkpoint(bundle.checkpoint.as_bytes(), log_keys)?;
    let checkpoint = &signed.checkpoint;
    if checkpoint.size != bundle.tree_size {
        return Err(VerifyError::SizeMismatch {
            claimed: bundle.tree_size,
            signed: checkpoint.size,
        });
    }
    let proof = decode_hashes(&bundle.inclusion_proof)?;
    let hash = leaf_hash(bundle.leaf.as_bytes());
    tree::verify_inclusion(
        bundle.leaf_index,
        bundle.tree_size,
        &hash,
        &proof,
        &checkpoint.root,
    )
    .map_err(|e| VerifyError::NotIncluded {
        leaf_index: bundle.leaf_index,
        tree_size: bundle.tree_size,
        reason: e.to_string(),
    })?;
    let leaf: Leaf = serde_json::from_str(&bundle.leaf)
        .map_err(|e| VerifyError::Malformed(format!("the leaf is not a Geneva leaf: {e}")))?;
    let object_bytes = object.unwrap_or(bundle.object.get().as_bytes());
    let value = geneva_stix::json::parse_strict(object_bytes)
        .map_err(|e| VerifyError::Malformed(format!("the object is not JSON: {e}")))?;
    let canonical = geneva_stix::canonical::to_canonical_string(&value);
    let actual = hex::encode(geneva_stix::canonical::sha256(&canonical));
    let id = value
        .get("id")
        .and_then(|v| v.as_str())
        .unwrap_or("(no id)");
    let version = value
        .get("modified")
        .or_else(|| value.get("created"))
        .and_then(|v| v.as_str());
    if id != leaf.id {
        return Err(VerifyError::WrongObject {
            found: id.to_owned(),
            logged: leaf.id,
        });
    }
    if actual != leaf.sha256 {
        return Err(VerifyError::ObjectAltered {
            id: id.to_owned(),
            actual,
            logged: leaf.sha256,
        });
    }
    // The hash already pins the content; this only catches a leaf mislabelled by its version.
    if let (Some(found), Some(logged)) = (version, leaf.version.as_deref())
        && found != logged
    {
        return Err(VerifyError::WrongObject {
            found: format!("{id} version {found}"),
            logged: format!("{} version {logged}", leaf.id),
        });
    }
    let cosigned_by = witnesses
        .iter()
        .filter(|w| signed.note.verify(w).is_ok())
        .map(|w| w.name().to_owned())
        .collect();
    Ok(VerifiedInclusion {
        id: leaf.id,
        version: leaf.version,
        leaf_index: bundle.leaf_index,
        tree_size: bundle.tree_size,
        cosigned_by,
    })
}

/// Checks that `new` (a checkpoint seen later) extends `old`: sizes never
/// shrink, equal sizes have equal roots, and otherwise `proof` proves it.
pub fn check_extends(
    old: &Checkpoint,
    new: &Checkpoint,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if new.size < old.size {
        return Err(VerifyError::Truncated {
            old: old.size,
            new: new.size,
        });
    }
    if new.size == old.size && new.root != old.root {
        return Err(VerifyError::Fork {
            size: old.size,
            first: STANDARD.encode(old.root.0),
            second: STANDARD.encode(new.root.0),
        });
    }
    tree::verify_consistency(old.size, new.size, &old.root, &new.root, proof).map_err(|e| {
        VerifyError::Inconsistent {
            old: old.size,
            new: new.size,
            reason: match e {
                ProofError::OldRootMismatch => "the proof does not lead to the old root".into(),
                other => other.to_string(),
            },
        }
    })
}

/// Checks two signed checkpoints (the first seen earlier) and the consistency proof between them.
pub fn verify_consistency_bundle(
    bundle: &ConsistencyBundle,
    log_keys: &[VerifierKey],
) -> Result<(Checkpoint, Checkpoint), VerifyError> {
    if bundle.format != CONSISTENCY_FORMAT {
        return Err(VerifyError::Malformed(format!(
            "format is {:?}, expected {CONSISTENCY_FORMAT:?}",
            bundle.format
        )));
    }
    let old = open_checkpoint(bundle.old_checkpoint.as_bytes(), log_keys)?.checkpoint;
    let new = open_checkpoint(bundle.new_checkpoint.as_bytes(), log_keys)?.checkpoint;
    check_extends(&old, &new, &decode_hashes(&bundle.proof)?)?;
    Ok((old, new))
}

/// The witness's rule (C2SP tlog-witness): cosign `note` only if the log
/// signed it and it extends `last`, the checkpoint this witness cosigned
/// before. Returns the checkpoint and the cosignature line.
pub fn witness_checkpoint(
    last: Option<&Checkpoint>,
    note: &[u8],
    proof: &[Hash],
    log_keys: &[VerifierKey],
    witness_key: &SigningKey,
    now: u64,
) -> Result<(Checkpoint, NoteSignature), VerifyError> {
    let signed = open_checkpoint(note, log_keys)?;
    if let Some(last) = last {
        if last.origin != signed.checkpoint.origin {
            return Err(VerifyError::Checkpoint(format!(
                "the checkpoint is for log {:?}, but this witness follows {:?}",
                signed.checkpoint.origin, last.origin
            )));
        }
        check_extends(last, &signed.checkpoint, proof)?;
    }
    let signature = witness_key.cosign(&signed.checkpoint.body(), now);
    Ok((signed.checkpoint, signature))
}

/// The note of a checkpoint with cosignature lines added under it.
pub fn with_signatures(checkpoint_note: &str, lines: &[String]) -> Result<String, VerifyError> {
    let mut note = Note::parse(checkpoint_note.as_bytes())
        .map_err(|e| VerifyError::Checkpoint(e.to_string()))?;
    for line in lines {
        if let Some(sig) = NoteSignature::parse_line(line.trim_end_matches('\n')) {
            note.add_signature(sig);
        }
    }
    Ok(note.to_text())
}
