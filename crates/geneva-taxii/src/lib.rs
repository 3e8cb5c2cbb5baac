//! TAXII 2.1 on the wire: the media types and content negotiation, the
//! query filters of the objects, manifest and versions endpoints, and the
//! JSON resources (discovery, API root, collection, envelope, manifest,
//! versions, status, error) exactly as the OASIS specification spells them.
//!
//! This crate owns what TAXII says byte for byte. It must never do I/O,
//! know an HTTP framework or a database, or decide who may see what: the
//! server maps requests onto it and the store's access rules decide.
#![forbid(unsafe_code)]

mod filter;
mod media;
mod resources;

pub use filter::{FilterError, ObjectFilter, VersionMatch, unix_millis};
pub use media::{MediaKind, STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE, accepts, is_taxii_content};
pub use resources::{
    ApiRoot, Collection, Collections, Discovery, ErrorMessage, Manifest, ManifestRecord, Status,
    StatusDetail, Versions, envelope_bytes,
};
