//! The `Store` trait: what Geneva keeps and how it is asked for, in domain terms.
//!
//! This crate owns the storage contract — object versions with their canonical
//! JSON, hash, provenance and TLP level; the current view; imports that are all
//! or nothing — and the conformance suite (feature `conformance`) that every
//! backend runs against itself. It must never mention SQL, a database driver
//! or HTTP: callers written against this trait work unchanged on SQLite and
//! PostgreSQL.
#![forbid(unsafe_code)]

#[cfg(feature = "conformance")]
pub mod conformance;
mod correlation;
mod directory;
mod log;

pub use correlation::{
    Capped, FeedVersion, IndexBatch, IndexStats, IndexedValue, ItemPostings, ObjectHandle,
    PostingHit,
};

pub use directory::{AuditEntry, NewAuditEntry, Organisation, SharingGroup, TokenRecord, User};
pub use log::{
    Cosignature, LOG_SEQUENCE, LeafKind, LogAppend, LogEntry, LogState, Witness,
    strip_key_from_i64, strip_key_to_i64,
};

use async_trait::async_trait;
use geneva_access::{CountryCode, OrgKind, TokenHash, TokenId};
use geneva_stix::{PreparedObject, Tlp};

/// Who submitted a batch, and when. Recorded on every object version it adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The submitting organisation's name.
    pub organisation: String,
    /// Its id in the directory; `None` for the instance's own operators (`local`).
    pub organisation_id: Option<i64>,
    /// RFC 3339 UTC time of submission.
    pub submitted_at: String,
    /// TLP level for objects that carry no TLP marking of their own.
    pub default_tlp: Tlp,
    /// Who besides the submitter may see the batch's AMBER, AMBER+STRICT and RED objects.
    pub recipients: Recipients,
}

/// Named recipients of restricted material (TLP 2.0: AMBER may go to the named
/// organisations and sharing groups, AMBER+STRICT to the named organisations
/// only, RED to the named users only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipients {
    pub organisations: Vec<i64>,
    pub groups: Vec<i64>,
    pub users: Vec<i64>,
}

/// On whose behalf the store is read. Every read method filters by it, so no
/// caller can forget the TLP rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Viewer {
    /// The instance's operators (the CLI on the server, admin tokens): everything.
    Operator,
    /// No credentials: TLP:CLEAR only.
    Anonymous,
    /// A member organisation, possibly one of its users.
    Member {
        organisation: i64,
        user: Option<i64>,
    },
}

/// What an import did, object by object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Objects whose id the store had never seen.
    pub new: usize,
    /// New versions of ids the store already had (newer or older than the current one).
    pub updated: usize,
    /// Versions the store already held with identical content.
    pub unchanged: usize,
}

impl ImportSummary {
    pub fn total(&self) -> usize {
        self.new + self.updated + self.unchanged
    }
}

/// One stored version of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    pub id: String,
    pub object_type: String,
    /// `modified` (or `created`) as written; `None` for cyber-observables.
    pub version: Option<String>,
    pub spec_version: Option<String>,
    pub revoked: bool,
    /// Whether this is the version the current view shows for its id.
    pub current: bool,
    pub tlp: Tlp,
    pub organisation: String,
    pub submitted_at: String,
    pub sha256: [u8; 32],
    /// Canonical JSON (RFC 8785) exactly as hashed.
    pub canonical: String,
    /// Its leaf in the transparency log.
    pub leaf_index: Option<u64>,
}

/// What the TLP 2.0 rules decide a version's visibility on: its level, who
/// submitted it and to whom it was released. Fixed when the version is
/// stored. The backends apply the same rules in SQL on every read; this is
/// the rule for callers that keep versions' facts themselves (the
/// correlation index), and the conformance suite holds both to one oracle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionAccess {
    pub seq: u64,
    pub id: String,
    pub tlp: Tlp,
    /// The submitting organisation (`None`: the instance's operators).
    pub organisation_id: Option<i64>,
    pub recipients: Recipients,
}

impl VersionAccess {
    /// Whether `viewer`, whose organisation is in `viewer_groups`, may see it.
    pub fn visible_to(&self, viewer: &Viewer, viewer_groups: &[i64]) -> bool {
        match viewer {
            Viewer::Operator => true,
            Viewer::Anonymous => self.tlp == Tlp::Clear,
            Viewer::Member { organisation, user } => match self.tlp {
                Tlp::Clear | Tlp::Green => true,
                _ if self.organisation_id == Some(*organisation) => true,
                Tlp::Amber => {
                    self.recipients.organisations.contains(organisation)
                        || viewer_groups
                            .iter()
                            .any(|g| self.recipients.groups.contains(g))
                }
                Tlp::AmberStrict => self.recipients.organisations.contains(organisation),
                Tlp::Red => user.is_some_and(|u| self.recipients.users.contains(&u)),
            },
        }
    }
}

/// A stored version with everything needed to recreate it elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    /// Storage order, for paging; not carried over.
    pub seq: u64,
    pub version: StoredVersion,
    pub organisation_id: Option<i64>,
    pub recipients: Recipients,
}

/// Position after which a listing continues. Opaque to callers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(pub String);

impl Cursor {
    /// The cursor of a version listing that stopped at storage position `seq`.
    pub fn after_version(seq: i64) -> Cursor {
        Cursor(format!("v{seq}"))
    }

    /// The cursor of a newest-first listing that stopped at the object
    /// whose current version is storage number `seq`.
    pub fn newest_first_after(seq: i64) -> Cursor {
        Cursor(format!("n{seq}"))
    }

    /// Where a newest-first listing's cursor stopped; an error for anything
    /// this server did not issue.
    pub fn newest_first_position(&self) -> Result<i64, StoreError> {
        self.0
            .strip_prefix('n')
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| StoreError::InvalidCursor("not a cursor this server issued".into()))
    }

    /// The storage position a version listing's cursor stopped at; an error
    /// for anything this server did not issue.
    pub fn version_position(&self) -> Result<i64, StoreError> {
        self.0
            .strip_prefix('v')
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| StoreError::InvalidCursor("not a cursor this server issued".into()))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Only these types (any type when empty).
    pub types: Vec<String>,
    /// Only versions whose `modified` (or `created`) is at or after this RFC 3339 instant.
    pub since: Option<geneva_stix::Timestamp>,
    pub after: Option<Cursor>,
    pub limit: usize,
    /// Most recently stored first (by the current version's storage
    /// number) instead of by id; its cursors are its own.
    pub newest_first: bool,
}

/// The outcome of a request kept for its owner (`Store::put_request_status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestStatus {
    pub id: String,
    /// The submitting organisation; `None` for the instance's operators.
    pub owner: Option<i64>,
    pub created_at: String,
    /// The JSON served.
    pub body: String,
}

/// A remote TAXII 2.1 collection to pull on a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeed {
    /// The remote API root.
    pub url: String,
    pub collection: String,
    /// User name for HTTP Basic.
    pub user: Option<String>,
    /// The environment variable the server reads the password from: secrets
    /// are never stored.
    pub password_env: Option<String>,
    pub every_secs: i64,
    /// Private, loopback and link-local targets allowed.
    pub allow_private: bool,
    /// The member organisation whose submission the objects are recorded
    /// as (by name); `None`: the instance's own.
    pub organisation: Option<String>,
    /// TLP level for objects without a marking.
    pub tlp: Tlp,
    /// Where the first run starts (a date added); `None`: the beginning.
    pub since: Option<String>,
}

/// A registered feed and how its runs went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    pub id: i64,
    pub spec: NewFeed,
    /// The last date added seen: the next run resumes after it.
    pub last_added: Option<String>,
    pub next_run_ms: i64,
    pub last_run_ms: Option<i64>,
    pub last_objects: i64,
    pub last_error: Option<String>,
}

/// A knowledge-base source file (an ATT&CK bundle, a MISP galaxy) as the
/// operator imported it: kept whole, so that the knowledge base is rebuilt
/// from exactly what was imported, on every process of one database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnowledgeSource {
    pub info: KnowledgeSourceInfo,
    /// The file's content as its caller keeps it (`geneva-analysis`: gzip);
    /// the store neither reads nor changes it.
    pub bytes: Vec<u8>,
}

/// A panel case, kept as the document `geneva-panel` defines (JSON), with
/// a revision that every write must name: two panel members editing one
/// case at once cannot overwrite each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    pub id: String,
    /// 1 for a new case, then one more per write.
    pub revision: u64,
    pub document: String,
}

/// The revision a case write makes: 1 for a new case, the one read plus
/// one otherwise; the backends call it with the revision they found, under
/// their write lock.
pub fn next_case_revision(
    id: &str,
    expected: Option<u64>,
    found: Option<u64>,
) -> Result<u64, StoreError> {
    match (expected, found) {
        (None, None) => Ok(1),
        (None, Some(_)) => Err(StoreError::AlreadyExists(format!("case {id}"))),
        (Some(_), None) => Err(StoreError::NotFound(format!("case {id}"))),
        (Some(e), Some(f)) if e != f => Err(StoreError::Stale {
            what: format!("case {id}"),
            expected: e,
            found: f,
        }),
        (Some(e), Some(_)) => Ok(e + 1),
    }
}

/// What is known of a knowledge-base source without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnowledgeSourceInfo {
    /// `attack` or `misp-galaxy`.
    pub kind: String,
    /// Which one of its kind (`enterprise-attack`, `threat-actor`): a newer
    /// release under the same name replaces the older.
    pub name: String,
    /// The release, as the file states it (`15.1`), if it does.
    pub version: Option<String>,
    /// Hex SHA-256 of the file's content (decompressed, whatever `bytes` are).
    pub sha256: String,
    /// The content's size in bytes, decompressed.
    pub size: i64,
    pub imported_ms: i64,
}

/// The outcome of one run of a feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedRun {
    pub at_ms: i64,
    pub last_added: Option<String>,
    pub objects: i64,
    pub error: Option<String>,
}

/// A listing of object versions in the order they were added (what a TAXII
/// collection serves): every filter narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct VersionQuery {
    /// Only versions at this TLP level (a collection's scope).
    pub tlp: Option<Tlp>,
    /// Only versions released to this sharing group (a group's collection).
    /// The viewer's rules still apply: a group names an audience, it does
    /// not widen one.
    pub group: Option<i64>,
    /// Only these ids (any when empty).
    pub ids: Vec<String>,
    /// Only these types (any when empty).
    pub types: Vec<String>,
    /// Only these STIX spec versions (any when empty).
    pub spec_versions: Vec<String>,
    /// Only versions added strictly after this instant (ms since the epoch).
    pub added_after_ms: Option<i64>,
    /// Which versions of each object; several may be combined.
    pub select: VersionSelect,
    pub after: Option<Cursor>,
    pub limit: usize,
}

/// Which versions of each object a [`VersionQuery`] keeps. "First" and
/// "last" are among the versions the viewer may see within the scope, and
/// a version submitted by several members is listed once (its first
/// submission). Nothing selected means the last version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct VersionSelect {
    pub all: bool,
    pub first: bool,
    pub last: bool,
    /// `modified` (or `created`) instants.
    pub at: Vec<geneva_stix::Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionPage {
    /// In the order they were added; `submitted_at` is the date added.
    pub items: Vec<StoredVersion>,
    /// Present when more items follow.
    pub next: Option<Cursor>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<StoredVersion>,
    /// Present when more items follow.
    pub next: Option<Cursor>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Distinct object ids in the current view, by type, sorted by type.
    pub objects_by_type: Vec<(String, u64)>,
    pub objects: u64,
    pub versions: u64,
    pub revoked: u64,
    /// Current objects by TLP level.
    pub by_tlp: Vec<(Tlp, u64)>,
}

/// One message of a streamed import.
#[derive(Debug)]
pub enum ImportMessage {
    /// More objects for the same transaction.
    Objects(Vec<PreparedObject>),
    /// Everything has arrived and was valid: make it visible.
    Commit,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the import was abandoned before it was complete; nothing was stored")]
    Abandoned,
    #[error(
        "object {id} version {version} is already stored with different content; a changed object needs a new `modified`"
    )]
    VersionConflict { id: String, version: String },
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("no {0}")]
    NotFound(String),
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),
    #[error("the store's data is not what this version of Geneva expects: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Backend(String),
    #[error(
        "{what} was changed by someone else (revision {found}, not {expected}); read it again and retry"
    )]
    Stale {
        what: String,
        expected: u64,
        found: u64,
    },
    #[error("the log grew to {found} leaves while this process appended to {expected}; try again")]
    LogMoved { expected: u64, found: u64 },
    #[error(
        "the log is signed with key {stored}, not {given}: use the log's key file (or rotate keys with `geneva log rotate-key`)"
    )]
    LogKeyMismatch { stored: String, given: String },
}

/// Storage of STIX object versions.
///
/// Invariants every backend keeps (checked by the conformance suite):
/// - `import` is all or nothing: on any error, nothing of the batch is visible.
/// - `(id, version key)` is unique; re-importing identical content changes nothing.
/// - For each id the current view shows the version with the greatest version key
///   among those the viewer may see (TLP 2.0, see [`Viewer`]); an object none of
///   whose versions the viewer may see does not exist for that viewer, in
///   listings, counts and lookups alike.
/// - Stored canonical JSON and its hash are never rewritten.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Writes batches as they arrive, in one transaction, so that storing can
    /// overlap with validating the rest. Nothing becomes visible unless
    /// [`ImportMessage::Commit`] arrives; if the sender goes away first, or any
    /// batch fails, the whole import is rolled back.
    async fn import_stream(
        &self,
        batches: tokio::sync::mpsc::Receiver<ImportMessage>,
        provenance: Provenance,
    ) -> Result<ImportSummary, StoreError>;

    /// Imports one batch, all or nothing.
    async fn import(
        &self,
        objects: Vec<PreparedObject>,
        provenance: Provenance,
    ) -> Result<ImportSummary, StoreError> {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        // Capacity 2 holds both messages, so these sends cannot wait on the receiver.
        let _ = tx.send(ImportMessage::Objects(objects)).await;
        let _ = tx.send(ImportMessage::Commit).await;
        drop(tx);
        self.import_stream(rx, provenance).await
    }

    /// The current version of an object.
    async fn get(&self, id: &str, viewer: &Viewer) -> Result<Option<StoredVersion>, StoreError>;

    /// Every stored version of an object, oldest first.
    async fn versions(&self, id: &str, viewer: &Viewer) -> Result<Vec<StoredVersion>, StoreError>;

    /// Current objects in a stable order (by id), a page at a time.
    async fn list(&self, query: &ListQuery, viewer: &Viewer) -> Result<Page, StoreError>;

    /// A number that changes whenever a committed write may have changed
    /// what a read of objects, the directory (organisations, users, groups)
    /// or tokens returns, whichever process or connection wrote it; audit
    /// entries and the other bookkeeping do not move it. Two
    /// equal answers mean no such write committed between them; nothing else
    /// is promised (it may change for writes that altered no listing). A
    /// cache of reads read this before the read it keeps, and keys the read
    /// by it: what it keeps is then never older than its key.
    async fn read_generation(&self) -> Result<u64, StoreError>;

    /// Object versions in the order they were added, filtered, a page at a
    /// time (TAXII collections).
    async fn list_versions(
        &self,
        query: &VersionQuery,
        viewer: &Viewer,
    ) -> Result<VersionPage, StoreError>;

    async fn stats(&self, viewer: &Viewer) -> Result<Stats, StoreError>;

    /// A cheap round trip to the database, for health checks.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Takes the next `count` numbers of the named sequence: a contiguous,
    /// gap-free range shared by every process on the database (the
    /// transparency log numbers its leaves with it). Sequences start at 0.
    async fn take_sequence(
        &self,
        name: &str,
        count: u64,
    ) -> Result<std::ops::Range<u64>, StoreError>;

    /// Every stored version with its full provenance, in storage order, after
    /// sequence number `after`: what `geneva migrate` copies. Operators only.
    async fn version_records(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<VersionRecord>, StoreError>;

    // What the correlation index (`geneva-postings`) is built from and checked with.

    /// Versions stored after feed position `after` (exclusive; `None` from the
    /// start), in the order they became visible, so that a reader following
    /// the feed never skips a version committed late.
    async fn corr_feed(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<FeedVersion>, StoreError>;

    /// The current versions of `ids` with their storage numbers, whoever may see them:
    /// what the indexer resolves a container's references with. Operators only.
    async fn current_versions(
        &self,
        ids: &[String],
    ) -> Result<Vec<(u64, StoredVersion)>, StoreError>;

    /// Every stored version of `ids` with its storage number (each id's oldest first),
    /// whoever may see it: what the indexer resolves a container's
    /// references with, so that each viewer links through the versions it
    /// may see (an observable submitted again by another member is a new
    /// version, perhaps one this viewer may not see). Operators only.
    async fn all_versions(&self, ids: &[String]) -> Result<Vec<(u64, StoredVersion)>, StoreError>;

    /// The STIX id of each of `seqs` (storage numbers) the viewer may see;
    /// versions it may not see, and numbers that name nothing, are left out.
    /// What an index kept outside the store checks its postings with.
    async fn visible_seqs(
        &self,
        seqs: &[u64],
        viewer: &Viewer,
    ) -> Result<Vec<(u64, String)>, StoreError>;

    /// The access facts of each of `seqs` that names a version, whoever may
    /// see it: what the correlation index keeps to check its postings.
    /// Operators only.
    async fn version_access(&self, seqs: &[u64]) -> Result<Vec<VersionAccess>, StoreError>;

    /// The storage numbers of the versions of `id` the viewer may see, oldest first.
    async fn version_seqs(&self, id: &str, viewer: &Viewer) -> Result<Vec<u64>, StoreError>;

    // The transparency log (see `geneva-log`, which drives these).

    /// Size, latest checkpoint, key and number of pending leaves.
    async fn log_state(&self) -> Result<LogState, StoreError>;

    /// The secret that blinds leaves (so a public hash reveals nothing
    /// guessable): `candidate` is stored if there is none yet; the stored one
    /// is returned either way.
    async fn log_secret(&self, candidate: [u8; 32]) -> Result<[u8; 32], StoreError>;

    /// Leaves numbered but not yet in the tree, from leaf `from` on, in leaf
    /// order. Stops before any leaf whose item is missing.
    async fn log_pending(&self, from: u64, limit: usize) -> Result<Vec<LogEntry>, StoreError>;

    /// Grows the tree, atomically: refused with `LogMoved` unless the tree
    /// still has `old_size` leaves, and with `LogKeyMismatch` unless the key
    /// is the log's (the first append records it).
    async fn log_append(&self, append: LogAppend) -> Result<(), StoreError>;

    /// The stored strips among `keys` (missing ones are left out).
    async fn log_strips(
        &self,
        keys: &[geneva_tlog::StripKey],
    ) -> Result<Vec<geneva_tlog::Strip>, StoreError>;

    /// The checkpoint signed for exactly this tree size, if one was.
    async fn log_checkpoint(&self, size: u64) -> Result<Option<String>, StoreError>;

    /// Changes the key checkpoints are signed with, from `old` to `new`; false
    /// if the log's key is not `old`.
    async fn log_rotate_key(&self, old: &str, new: &str) -> Result<bool, StoreError>;

    async fn log_add_witness(&self, witness: &Witness) -> Result<(), StoreError>;
    async fn log_witnesses(&self) -> Result<Vec<Witness>, StoreError>;
    /// Keeps a cosignature (a repeat by the same witness for the same size is ignored).
    async fn log_add_cosignature(&self, cosignature: &Cosignature) -> Result<(), StoreError>;
    async fn log_cosignatures(&self, size: u64) -> Result<Vec<Cosignature>, StoreError>;
    /// The largest tree size whose checkpoint carries at least `min` cosignatures.
    async fn log_witnessed_size(&self, min: usize) -> Result<Option<u64>, StoreError>;

    // The member directory: organisations, users, sharing groups, tokens, audit log.

    async fn add_organisation(
        &self,
        name: &str,
        kind: OrgKind,
        country: Option<CountryCode>,
    ) -> Result<Organisation, StoreError>;
    async fn organisation(&self, name: &str) -> Result<Option<Organisation>, StoreError>;
    async fn organisation_by_id(&self, id: i64) -> Result<Option<Organisation>, StoreError>;
    async fn organisations(&self) -> Result<Vec<Organisation>, StoreError>;

    /// A user of an existing organisation; user names are unique across the instance.
    async fn add_user(&self, name: &str, organisation: i64) -> Result<User, StoreError>;
    async fn user(&self, name: &str) -> Result<Option<User>, StoreError>;
    async fn users(&self) -> Result<Vec<User>, StoreError>;

    /// A named set of organisations, as MISP's sharing groups.
    async fn add_group(&self, name: &str, members: &[i64]) -> Result<SharingGroup, StoreError>;
    async fn groups(&self) -> Result<Vec<SharingGroup>, StoreError>;

    /// Stores a token's record and the hash of its secret (never the secret).
    async fn add_token(&self, record: &TokenRecord, hash: TokenHash) -> Result<(), StoreError>;
    /// The record and secret hash of a token, revoked or not.
    async fn token(&self, id: &TokenId) -> Result<Option<(TokenRecord, TokenHash)>, StoreError>;
    async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;
    /// Marks a token revoked from `at` on; false if there is no such token.
    async fn revoke_token(&self, id: &TokenId, at: &str) -> Result<bool, StoreError>;

    /// Registers a feed: a remote TAXII collection the server pulls.
    async fn add_feed(&self, feed: &NewFeed) -> Result<Feed, StoreError>;
    /// Every feed, by id.
    async fn feeds(&self) -> Result<Vec<Feed>, StoreError>;
    /// Removes a feed; whether it existed. What it pulled stays.
    async fn remove_feed(&self, id: i64) -> Result<bool, StoreError>;
    /// The feeds due at `now_ms`, each moved to its next run in the same
    /// step: of several processes on one database, one runs a feed.
    async fn claim_due_feeds(&self, now_ms: i64) -> Result<Vec<Feed>, StoreError>;
    /// What a run of feed `id` did: where to resume (kept when `None`), how
    /// many objects it brought, and why it failed if it did.
    async fn record_feed_run(&self, id: i64, run: &FeedRun) -> Result<(), StoreError>;

    /// The relationships whose `source_ref` is `source`, each as the newest
    /// version this viewer may see (left out when that version no longer
    /// starts at `source`), by id.
    async fn relationships_from(
        &self,
        source: &str,
        viewer: &Viewer,
    ) -> Result<Vec<StoredVersion>, StoreError>;

    /// Writes a case document. `expected` is the revision read before the
    /// change (`None` for a new case): a new case whose id exists is
    /// `AlreadyExists`, a revision that moved is `Stale`. Returns the new
    /// revision.
    async fn put_case(
        &self,
        id: &str,
        document: &str,
        expected: Option<u64>,
    ) -> Result<u64, StoreError>;
    /// One case.
    async fn case(&self, id: &str) -> Result<Option<CaseRecord>, StoreError>;
    /// Every case, by id.
    async fn cases(&self) -> Result<Vec<CaseRecord>, StoreError>;

    /// Keeps a knowledge-base source, replacing the one of the same kind and
    /// name; false when the very same bytes were already kept (nothing changed).
    async fn put_knowledge_source(&self, source: &KnowledgeSource) -> Result<bool, StoreError>;
    /// Every kept knowledge-base source, without bytes, by kind and name.
    async fn knowledge_sources(&self) -> Result<Vec<KnowledgeSourceInfo>, StoreError>;
    /// One kept source with its bytes.
    async fn knowledge_source(
        &self,
        kind: &str,
        name: &str,
    ) -> Result<Option<KnowledgeSource>, StoreError>;

    /// Keeps the outcome of a request (a TAXII status resource, as JSON) for
    /// its owner to read again; an id used before is `AlreadyExists`.
    async fn put_request_status(&self, status: &RequestStatus) -> Result<(), StoreError>;
    /// A kept outcome by id.
    async fn request_status(&self, id: &str) -> Result<Option<RequestStatus>, StoreError>;

    /// Appends to the audit log, which nothing can rewrite.
    async fn audit(&self, entries: Vec<NewAuditEntry>) -> Result<(), StoreError>;
    /// Audit entries after `after` (a sequence number), oldest first.
    async fn audit_log(&self, after: u64, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Resolves recipient names: each of `names` is an organisation or a sharing
/// group (organisations first), each of `user_names` a user.
pub async fn resolve_recipients(
    store: &dyn Store,
    names: &[String],
    user_names: &[String],
) -> Result<Recipients, StoreError> {
    let mut recipients = Recipients::default();
    let groups = if names.is_empty() {
        Vec::new()
    } else {
        store.groups().await?
    };
    for name in names {
        if let Some(org) = store.organisation(name).await? {
            recipients.organisations.push(org.id);
        } else if let Some(group) = groups.iter().find(|g| &g.name == name) {
            recipients.groups.push(group.id);
        } else {
            return Err(StoreError::NotFound(format!(
                "organisation or sharing group named {name:?}"
            )));
        }
    }
    for name in user_names {
        match store.user(name).await? {
            Some(user) => recipients.users.push(user.id),
            None => return Err(StoreError::NotFound(format!("user named {name:?}"))),
        }
    }
    Ok(recipients)
}

/// The visible current versions of relationships `ids` that still start at
/// `source`: what every backend's `relationships_from` returns once its
/// index has named the candidates (any version of theirs started there).
pub async fn visible_relationships_from(
    store: &dyn Store,
    mut ids: Vec<String>,
    source: &str,
    viewer: &Viewer,
) -> Result<Vec<StoredVersion>, StoreError> {
    ids.sort();
    ids.dedup();
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(version) = store.get(&id, viewer).await? else {
            continue;
        };
        let starts_here = serde_json::from_str::<serde_json::Value>(&version.canonical)
            .ok()
            .and_then(|v| {
                v.get("source_ref")
                    .and_then(|s| s.as_str())
                    .map(|s| s == source)
            })
            .unwrap_or(false);
        if version.object_type == "relationship" && starts_here {
            found.push(version);
        }
    }
    Ok(found)
}
