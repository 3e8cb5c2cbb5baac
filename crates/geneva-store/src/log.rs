//! What the store keeps for the transparency log: which leaf each stored item
//! is, the tree itself (strips of hashes, see `geneva_tlog::strata`), signed
//! checkpoints, registered witnesses and their cosignatures.

use geneva_stix::Tlp;

/// Name of the store sequence that numbers log leaves.
pub const LOG_SEQUENCE: &str = "transparency-log";

/// What a leaf records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKind {
    /// An accepted object version with its provenance.
    ObjectVersion,
}

impl LeafKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LeafKind::ObjectVersion => "object-version",
        }
    }

    pub fn parse(text: &str) -> Option<LeafKind> {
        match text {
            "object-version" => Some(LeafKind::ObjectVersion),
            _ => None,
        }
    }
}

/// A logged item with what its leaf is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub leaf_index: u64,
    pub kind: LeafKind,
    pub id: String,
    pub version: Option<String>,
    pub sha256: [u8; 32],
    pub organisation: String,
    pub submitted_at: String,
    pub tlp: Tlp,
}

/// The log as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogState {
    /// Leaves in the tree (integrated and covered by `checkpoint`).
    pub size: u64,
    /// The latest signed checkpoint (a C2SP signed note), once there is one.
    pub checkpoint: Option<String>,
    /// The verifier key (`name+id+base64`) every checkpoint is signed with.
    pub public_key: Option<String>,
    /// Leaves numbered but not yet in the tree.
    pub pending: u64,
}

/// One integration step: the tree grows from `old_size` to `new_size`.
#[derive(Debug, Clone)]
pub struct LogAppend {
    pub old_size: u64,
    pub new_size: u64,
    /// Every strip that changed, with its whole new contents.
    pub strips: Vec<geneva_tlog::Strip>,
    /// The signed checkpoint for `new_size`.
    pub checkpoint: String,
    pub public_key: String,
    pub signed_at: String,
}

/// A witness the log accepts cosignatures from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    pub name: String,
    /// Verifier key text (`name+id+base64(0x04 ‖ key)`).
    pub public_key: String,
    pub added_at: String,
}

/// A witness's cosignature on the checkpoint of one tree size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    pub size: u64,
    pub witness: String,
    /// The signature line, as it goes under the checkpoint.
    pub line: String,
    pub received_at: String,
}

/// `stratum << 56 | index`: one integer key per strip.
pub fn strip_key_to_i64(key: geneva_tlog::StripKey) -> i64 {
    ((u64::from(key.stratum) << 56) | key.index) as i64
}

pub fn strip_key_from_i64(raw: i64) -> geneva_tlog::StripKey {
    let raw = raw as u64;
    geneva_tlog::StripKey {
        stratum: (raw >> 56) as u8,
        index: raw & ((1 << 56) - 1),
    }
}
