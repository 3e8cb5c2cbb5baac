//! Transparency-log mathematics and formats, with no I/O.
//!
//! This crate owns RFC 9162 Merkle hashing (leaf prefix 0x00, node prefix
//! 0x01), inclusion and consistency proofs and their verification, the log's
//! storage layout ([`strata`]: every fourth tree level in 16-hash strips), the
//! public C2SP tlog-tiles view of it ([`tiles`]), C2SP tlog-checkpoint,
//! signed-note with Ed25519 and tlog-cosignature ([`note`]). It must never
//! read files, talk to a database or the network, or know what Geneva logs:
//! callers hand it hashes and get hashes, proofs and signatures back.
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod hash;
pub mod note;
pub mod strata;
pub mod tiles;
pub mod tree;

pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
pub use hash::{Hash, empty_root, leaf_hash, node_hash};
pub use note::{KeyError, KeyKind, Note, NoteError, NoteSignature, SigningKey, VerifierKey};
pub use strata::{Strip, StripKey, StripSet};
pub use tiles::TileId;
pub use tree::{MissingNode, Node, NodeSource, ProofError};
