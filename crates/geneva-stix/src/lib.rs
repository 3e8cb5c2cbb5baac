//! Geneva's STIX 2.1 engine: everything about the format, nothing about storage.
//!
//! This crate owns reading STIX documents (bundles, TAXII envelopes, single
//! objects; plain or gzip) strictly — no duplicate keys, bounded nesting, a size
//! limit — upgrading STIX 2.0 objects to 2.1, checking every object against the
//! specification's MUST rules with errors that name the object, the JSON path
//! and the rule, and producing each object's RFC 8785 canonical form and its
//! SHA-256. Objects stay JSON values so that custom and extension properties
//! round-trip unchanged; the specification's properties are described by typed
//! tables in [`spec`]. It must never touch files, sockets or databases: callers
//! hand it bytes and get values back.
#![forbid(unsafe_code)]

pub mod canonical;
pub mod error;
pub mod formats;
pub mod input;
pub mod json;
pub mod kind;
pub mod pattern;
pub mod prepare;
pub mod spec;
pub mod timestamp;
pub mod tlp;
pub mod upgrade;
pub mod validate;

pub use error::{DocumentError, Issue, Severity};
pub use input::{Container, DEFAULT_MAX_DOCUMENT_BYTES};
pub use kind::ObjectKind;
pub use prepare::{
    DocumentOutline, PrepareOptions, PreparedDocument, PreparedObject, prepare, prepare_in_chunks,
    validate_document,
};
pub use timestamp::Timestamp;
pub use tlp::Tlp;
