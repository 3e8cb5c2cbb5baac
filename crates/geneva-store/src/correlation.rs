//! The correlation index's vocabulary, shared by the store (which feeds it
//! and checks its postings for a viewer) and `geneva-postings` (which keeps it).
//!
//! The index is a projection of the stored versions, written by the indexer
//! in `geneva-analysis` as it follows the feed of new versions. Its entries say
//! *value → (item version, source version)*: the item is what correlation
//! links (an incident, report, indicator…), the source is the version that
//! carried the value (the item itself, or a cyber-observable or indicator it
//! refers to). Every read applies the viewer's rules to both versions, so a
//! value only links what the viewer may see, and only through evidence the
//! viewer may see.
//!
//! Values are kept once each, as their normalised key (`ipv4:1.2.3.4`);
//! other keys that find values (a registrable domain, a URL host, an ssdeep
//! gram, a TLSH band) are opaque 64-bit hashes chosen by the caller,
//! pointing at values.

use crate::StoredVersion;

/// One version the indexer has still to read: its place in the feed (the
/// cursor moves past it), its storage number (what postings refer to) and
/// the version itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedVersion {
    pub position: u64,
    pub seq: u64,
    pub version: StoredVersion,
}

/// A value as indexed: its key, the other keys that should find it, and its
/// place in the address space when it is an address or a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedValue {
    pub key: String,
    /// Hashes of derived keys (registrable domain, URL host, ssdeep grams,
    /// TLSH bands) under which the value can be found.
    pub derived: Vec<u64>,
    /// An address, as a 128-bit number (IPv4 mapped into `::ffff:0:0/96`).
    pub address: Option<u128>,
    /// A range's prefix length in that same space.
    pub range_prefix: Option<u8>,
}

/// The values one source version contributes to one item version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPostings {
    pub item: u64,
    pub source: u64,
    pub values: Vec<IndexedValue>,
}

/// What the indexer writes for a run of the feed, atomically: everything or
/// nothing, and only if the cursor is still where the indexer read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexBatch {
    /// The feed position read up to: the cursor after this batch.
    pub to: u64,
    pub postings: Vec<ItemPostings>,
    /// A container version's references: (referenced object id, container seq),
    /// so a later version of the referenced object reaches the container.
    pub references: Vec<(String, u64)>,
    /// The access facts of the versions the postings name (items and
    /// sources), so the index can check a viewer without the store.
    pub access: Vec<crate::VersionAccess>,
}

/// The answer for one key: the matches, or, when they are more than the
/// caller's cap, a count (an over-correlating value, never listed). Posting
/// counts are given as cap + 1, "more than the cap", whoever asks: how many
/// hidden items carry a value is not the viewer's to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capped<T> {
    Within(Vec<T>),
    Over(usize),
}

/// An object as an index numbers it: equal handles are the same object, for
/// as long as the index that gave them is not rebuilt. A query works on
/// these and asks for the STIX ids of the few it reports, since reading an
/// id costs a trip to memory that a number does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectHandle(pub u64);

/// An item version that carries a value, as the viewer may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostingHit {
    /// The item.
    pub item: ObjectHandle,
    /// The source version's object (the item itself, or what it refers to).
    pub source: ObjectHandle,
}

/// Size of the index, for `geneva correlate --stats` and the benchmark.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexStats {
    pub cursor: u64,
    pub values: u64,
    pub postings: u64,
    pub derived: u64,
    pub addresses: u64,
    /// Bytes the index's files take on disk (`None`: kept in memory only).
    pub bytes: Option<u64>,
}
