//! What one leaf of Geneva's log says, byte for byte.
//!
//! A leaf is compact JSON with its fields in this order: `kind`, `id`,
//! `version` (null for cyber-observables), `sha256` (hex, of the item's
//! canonical JSON), `submitter`, `submitted`, `tlp`, `nonce`. The nonce is
//! HMAC-SHA256(log secret, "geneva-leaf-nonce/v1" ‖ leaf index)[..16], so the
//! public tree hashes cannot be matched against guesses ("did this member
//! submit that object at about that time?"); whoever receives a proof gets
//! the leaf, nonce included.

use geneva_store::LogEntry;
use geneva_tlog::{Hash, leaf_hash};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leaf {
    pub kind: String,
    pub id: String,
    pub version: Option<String>,
    pub sha256: String,
    pub submitter: String,
    pub submitted: String,
    pub tlp: String,
    pub nonce: String,
}

/// The blinding nonce of leaf `index`.
pub fn nonce(secret: &[u8; 32], index: u64) -> [u8; 16] {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"geneva-leaf-nonce/v1");
    mac.update(&index.to_be_bytes());
    let out = mac.finalize().into_bytes();
    out[..16].try_into().expect("16 bytes")
}

impl Leaf {
    pub fn of(entry: &LogEntry, secret: &[u8; 32]) -> Leaf {
        Leaf {
            kind: entry.kind.as_str().to_owned(),
            id: entry.id.clone(),
            version: entry.version.clone(),
            sha256: hex::encode(entry.sha256),
            submitter: entry.organisation.clone(),
            submitted: entry.submitted_at.clone(),
            tlp: entry.tlp.as_str().to_owned(),
            nonce: hex::encode(nonce(secret, entry.leaf_index)),
        }
    }

    /// The exact bytes the leaf hash is taken over.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a leaf always serialises")
    }

    pub fn hash(&self) -> Hash {
        leaf_hash(&self.to_bytes())
    }
}
