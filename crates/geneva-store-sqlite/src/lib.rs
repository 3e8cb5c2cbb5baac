//! Geneva's embedded store: the `Store` trait on SQLite (bundled, WAL mode).
//!
//! This crate owns the SQLite schema, its migrations and the translation between
//! rows and domain types. It must never be named by code outside the binary's
//! start-up: everything else sees only `geneva_store::Store`. All database work
//! runs on blocking threads, one writer connection and a small pool of readers.
#![forbid(unsafe_code)]

mod correlation;
mod visibility;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use geneva_access::{CountryCode, OrgKind, Scopes, TokenHash, TokenId};
use geneva_stix::{PreparedObject, Tlp};
use geneva_store::{
    AuditEntry, Cosignature, Cursor, ImportMessage, ImportSummary, LeafKind, ListQuery, LogAppend,
    LogEntry, LogState, NewAuditEntry, Organisation, Page, Provenance, Recipients, SharingGroup,
    Stats, Store, StoreError, StoredVersion, TokenRecord, User, VersionRecord, Viewer, Witness,
    strip_key_to_i64,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

/// Schema migrations, applied in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_object_versions.sql"),
    include_str!("../migrations/0002_directory.sql"),
    include_str!("../migrations/0003_visibility.sql"),
    include_str!("../migrations/0004_sequences.sql"),
    include_str!("../migrations/0005_transparency_log.sql"),
    include_str!("../migrations/0006_correlation.sql"),
    include_str!("../migrations/0007_request_status.sql"),
    include_str!("../migrations/0008_correlation_leaves_the_database.sql"),
    include_str!("../migrations/0009_feeds.sql"),
    include_str!("../migrations/0010_knowledge_sources.sql"),
    include_str!("../migrations/0011_relationships_by_source.sql"),
    include_str!("../migrations/0012_read_generation.sql"),
    include_str!("../migrations/0013_cases.sql"),
    include_str!("../migrations/0014_cases_read_generation.sql"),
    include_str!("../migrations/0015_current_objects_by_recency.sql"),
];

/// Reader connections kept open for reuse.
const MAX_IDLE_READERS: usize = 8;
/// How much of the database file each reader maps (address space, not memory).
const READER_MMAP_BYTES: i64 = 1 << 34;
/// Strip reads this small run on the calling thread (see `log_strips`).
const INLINE_STRIP_READS: usize = 8;

pub struct SqliteStore {
    path: PathBuf,
    // Fields drop in this order, and the writer must close last: the last
    // connection to close checkpoints the WAL into the database file, which
    // a read-only one cannot do (a refused import would leave the files
    // changed).
    generation: Arc<Mutex<GenerationWatch>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    /// Reads in flight at once. Beyond the pool, requests wait for a
    /// connection instead of opening one: a new connection parses the schema
    /// and starts with no compiled statements, which under 64 concurrent
    /// TAXII clients cost more than the reads themselves (BENCHMARKS.md).
    read_slots: Arc<tokio::sync::Semaphore>,
    writer: Arc<Mutex<Connection>>,
}

/// A reader kept for `read_generation` alone: the answer is one row that
/// triggers keep (migration 0012), read here without a trip through the
/// blocking pool, and only when `PRAGMA data_version` says another
/// connection, in this process or another, has committed since the last.
struct GenerationWatch {
    conn: Connection,
    data_version: i64,
    generation: u64,
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Maps a UNIQUE violation to `AlreadyExists(what)` and anything else to a backend error.
fn unique(what: String) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::AlreadyExists(what)
        }
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
        {
            StoreError::NotFound(format!("organisation or user referred to by {what}"))
        }
        other => backend(other),
    }
}

fn row_to_organisation(row: &rusqlite::Row<'_>) -> rusqlite::Result<Organisation> {
    let kind: String = row.get(2)?;
    let country: Option<String> = row.get(3)?;
    Ok(Organisation {
        id: row.get(0)?,
        name: row.get(1)?,
        kind: kind.parse::<OrgKind>().unwrap_or(OrgKind::Researcher),
        country: country.and_then(|c| c.parse::<CountryCode>().ok()),
        created_at: row.get(4)?,
    })
}

fn row_to_token(row: &rusqlite::Row<'_>) -> rusqlite::Result<(TokenRecord, TokenHash)> {
    let id: String = row.get(0)?;
    let hash: Vec<u8> = row.get(1)?;
    let record = TokenRecord {
        id: TokenId::parse(&id).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })?,
        organisation: row.get(2)?,
        user: row.get(3)?,
        scopes: Scopes::from_bits(row.get::<_, i64>(4)? as u8),
        label: row.get(5)?,
        created_at: row.get(6)?,
        revoked_at: row.get(7)?,
    };
    Ok((record, TokenHash(hash.try_into().unwrap_or([0; 32]))))
}

const TOKEN_COLUMNS: &str =
    "id, secret_sha256, organisation, user_id, scopes, label, created_at, revoked_at";

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let mut writer = open_connection(&path, true)?;
        migrate(&mut writer)?;
        let watch = open_connection(&path, false)?;
        let data_version = data_version(&watch)?;
        let generation = stored_generation(&watch)?;
        Ok(SqliteStore {
            writer: Arc::new(Mutex::new(writer)),
            readers: Arc::new(Mutex::new(Vec::new())),
            read_slots: Arc::new(tokio::sync::Semaphore::new(MAX_IDLE_READERS)),
            generation: Arc::new(Mutex::new(GenerationWatch {
                conn: watch,
                data_version,
                generation,
            })),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the writer connection, on a blocking thread.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let writer = Arc::clone(&self.writer);
        blocking(move || {
            let mut conn = writer.lock().map_err(|_| poisoned())?;
            f(&mut conn)
        })
        .await
    }

    /// A reader connection from the pool, or a new one.
    fn reader(&self) -> Result<Connection, StoreError> {
        let idle = self.readers.lock().map_err(|_| poisoned())?.pop();
        match idle {
            Some(c) => Ok(c),
            None => open_connection(&self.path, false),
        }
    }

    fn return_reader(&self, conn: Connection) {
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < MAX_IDLE_READERS
        {
            pool.push(conn);
        }
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        let path = self.path.clone();
        let _slot = self
            .read_slots
            .acquire()
            .await
            .map_err(|_| StoreError::Backend("the store is closing".into()))?;
        blocking(move || {
            let idle = readers.lock().map_err(|_| poisoned())?.pop();
            let conn = match idle {
                Some(c) => c,
                None => open_connection(&path, false)?,
            };
            let result = f(&conn);
            let mut pool = readers.lock().map_err(|_| poisoned())?;
            if pool.len() < MAX_IDLE_READERS {
                pool.push(conn);
            }
            result
        })
        .await
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Readers close first: the last connection to close checkpoints the WAL
        // into the database and removes it, which a read-only one cannot do.
        if let Ok(mut readers) = self.readers.lock() {
            readers.clear();
        }
    }
}

fn poisoned() -> StoreError {
    StoreError::Backend("a database connection lock was poisoned by an earlier panic".into())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Backend(format!("database task failed: {e}")))?
}

fn case_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<geneva_store::CaseRecord> {
    Ok(geneva_store::CaseRecord {
        id: r.get(0)?,
        revision: r.get::<_, i64>(1)? as u64,
        document: r.get(2)?,
    })
}

fn stored_generation(conn: &Connection) -> Result<u64, StoreError> {
    conn.prepare_cached("SELECT n FROM read_generation WHERE id = 1")
        .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
        .map(|n| n as u64)
        .map_err(backend)
}

fn data_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.prepare_cached("PRAGMA data_version")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(backend)
}

fn open_connection(path: &Path, write: bool) -> Result<Connection, StoreError> {
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(backend)?;
    if write {
        // Objects average over 1 KB of JSON: 16 KiB pages keep most rows out of
        // overflow chains. Only takes effect when the database is created.
        conn.pragma_update(None, "page_size", 16384)
            .map_err(backend)?;
        // WAL lets readers go on while an import writes; NORMAL sync is durable
        // across process crashes and loses at most the last transaction on power loss.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        // The correlation index is written at random keys: a writer cache that
        // holds its hot pages saves a read per row. It grows only as used.
        conn.pragma_update(None, "cache_size", -1_048_576)
            .map_err(backend)?;
        conn.pragma_update(None, "mmap_size", READER_MMAP_BYTES)
            .map_err(backend)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(backend)?;
    } else {
        // Readers map the file instead of copying each page out of the OS
        // cache: a log proof's random strip read spent most of its time in
        // that copy (BENCHMARKS.md). Writes still go through the writer's pager.
        conn.pragma_update(None, "mmap_size", READER_MMAP_BYTES)
            .map_err(backend)?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(backend)?;
    // Plans must not depend on bound values: without this, SQLite marks a
    // statement whose LIMIT (or a compared value) is a parameter to be
    // compiled again whenever it is rebound, so every cached listing was
    // recompiled on every request (14% of a TAXII load; BENCHMARKS.md).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(backend)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let applied: usize = conn
        .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
        .map_err(backend)? as usize;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "the database is at schema version {applied}, newer than this Geneva knows ({}); upgrade Geneva",
            MIGRATIONS.len()
        )));
    }
    if applied == MIGRATIONS.len() {
        return Ok(());
    }
    let tx = conn.transaction().map_err(backend)?;
    for sql in &MIGRATIONS[applied..] {
        tx.execute_batch(sql).map_err(backend)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)
        .map_err(backend)?;
    tx.commit().map_err(backend)
}

/// Columns of a version row aliased `v`; each query appends its own `current` column.
const VERSION_COLUMNS: &str = "v.id, v.type, v.version, v.spec_version, v.revoked, v.tlp, v.organisation, \
     v.submitted_at, v.sha256, v.canonical, v.leaf_delta + v.seq - 1";

fn row_to_version(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredVersion> {
    let tlp: String = row.get(5)?;
    let sha: Vec<u8> = row.get(8)?;
    Ok(StoredVersion {
        id: row.get(0)?,
        object_type: row.get(1)?,
        version: row.get(2)?,
        spec_version: row.get(3)?,
        revoked: row.get(4)?,
        tlp: tlp.parse::<Tlp>().unwrap_or(Tlp::Red),
        organisation: row.get(6)?,
        submitted_at: row.get(7)?,
        sha256: sha.try_into().unwrap_or([0; 32]),
        canonical: row.get(9)?,
        leaf_index: row.get::<_, Option<i64>>(10)?.map(|i| i as u64),
        current: row.get::<_, Option<bool>>(11)?.unwrap_or(false),
    })
}

fn import_stream(
    conn: &mut Connection,
    batches: &mut tokio::sync::mpsc::Receiver<ImportMessage>,
    provenance: &Provenance,
) -> Result<ImportSummary, StoreError> {
    // Dropping `tx` without commit rolls back: every early return below undoes the import.
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(backend)?;
    let mut summary = ImportSummary::default();
    // The one writer numbers leaves in storage order, inside the import's own
    // transaction: a version is stored if and only if it has a leaf.
    let mut next_leaf: u64 = tx
        .query_row(
            "SELECT coalesce((SELECT value FROM sequences WHERE name = ?1), 0)",
            [geneva_store::LOG_SEQUENCE],
            |r| r.get::<_, i64>(0),
        )
        .map_err(backend)? as u64;
    let first_leaf = next_leaf;
    loop {
        match batches.blocking_recv() {
            Some(ImportMessage::Objects(objects)) => {
                import_batch(&tx, &objects, provenance, &mut summary, &mut next_leaf)?
            }
            Some(ImportMessage::Commit) => break,
            None => return Err(StoreError::Abandoned),
        }
    }
    if next_leaf != first_leaf {
        tx.execute(
            "INSERT INTO sequences (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            params![geneva_store::LOG_SEQUENCE, next_leaf as i64],
        )
        .map_err(backend)?;
    }
    // The one writer of objects tells caches of reads (migration 0012).
    tx.execute("UPDATE read_generation SET n = n + 1 WHERE id = 1", [])
        .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(summary)
}

fn import_batch(
    tx: &rusqlite::Transaction<'_>,
    objects: &[PreparedObject],
    provenance: &Provenance,
    summary: &mut ImportSummary,
    next_leaf: &mut u64,
) -> Result<(), StoreError> {
    {
        // New versions take the fast path: one insert each into both tables. Only
        // when a row is already there do we look at what is stored.
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO object_versions (id, type, version_key, version, spec_version, revoked, tlp, \
                 organisation, submitted_at, sha256, canonical, org_id, submitter_key, leaf_delta) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, coalesce(?12, 0), \
                 ?13 - coalesce((SELECT max(seq) FROM object_versions), 0)) \
                 ON CONFLICT (id, version_key, submitter_key) DO NOTHING",
            )
            .map_err(backend)?;
        let mut stored_hash = tx
            .prepare_cached(
                "SELECT sha256 FROM object_versions WHERE id = ?1 AND version_key = ?2 AND submitter_key = coalesce(?3, 0)",
            )
            .map_err(backend)?;
        let mut insert_current = tx
            .prepare_cached(
                "INSERT INTO current_objects (id, type, version_key, seq, tlp, org_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .map_err(backend)?;
        let mut supersede = tx
            .prepare_cached(
                "UPDATE current_objects SET type = ?2, version_key = ?3, seq = ?4, tlp = ?6, org_id = ?7 \
                 WHERE id = ?1 AND (version_key < ?3 OR ?5)",
            )
            .map_err(backend)?;
        let mut count_version = tx
            .prepare_cached("UPDATE current_objects SET versions = versions + 1 WHERE id = ?1")
            .map_err(backend)?;
        let mut add_pending = tx
            .prepare_cached("INSERT INTO log_pending (leaf_index, kind, ref) VALUES (?1, 0, ?2)")
            .map_err(backend)?;
        let mut add_recipient = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO version_recipients (seq, kind, ref_id) VALUES (?1, ?2, ?3)",
            )
            .map_err(backend)?;
        let recipients = &provenance.recipients;
        // Inserting in id order turns random B-tree inserts into near-appends.
        let mut ordered: Vec<&PreparedObject> = objects.iter().collect();
        ordered.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        for object in ordered {
            let key = object.version_key();
            let tlp = object.tlp.unwrap_or(provenance.default_tlp);
            let inserted = insert
                .execute(params![
                    object.id,
                    object.object_type,
                    key,
                    object.version_text(),
                    object.spec_version,
                    object.revoked,
                    tlp.as_str(),
                    provenance.organisation,
                    provenance.submitted_at,
                    object.sha256.as_slice(),
                    object.canonical,
                    provenance.organisation_id,
                    *next_leaf as i64,
                ])
                .map_err(backend)?;
            if inserted == 0 {
                let hash: Vec<u8> = stored_hash
                    .query_row(params![object.id, key, provenance.organisation_id], |r| {
                        r.get(0)
                    })
                    .map_err(backend)?;
                if hash.as_slice() != object.sha256.as_slice() {
                    return Err(StoreError::VersionConflict {
                        id: object.id.clone(),
                        version: object.version_text().unwrap_or_default().to_string(),
                    });
                }
                summary.unchanged += 1;
                continue;
            }
            let seq = tx.last_insert_rowid();
            add_pending
                .execute(params![*next_leaf as i64, seq])
                .map_err(backend)?;
            *next_leaf += 1;
            if tlp >= Tlp::Amber {
                for (kind, ids) in [
                    ("org", &recipients.organisations),
                    ("group", &recipients.groups),
                    ("user", &recipients.users),
                ] {
                    for id in ids.iter() {
                        add_recipient
                            .execute(params![seq, kind, id])
                            .map_err(backend)?;
                    }
                }
            }
            if insert_current
                .execute(params![
                    object.id,
                    object.object_type,
                    key,
                    seq,
                    tlp.as_str(),
                    provenance.organisation_id
                ])
                .map_err(backend)?
                == 1
            {
                summary.new += 1;
            } else {
                summary.updated += 1;
                count_version.execute([&object.id]).map_err(backend)?;
                // Observables have no version time: the latest content to arrive is current.
                let by_arrival = object.version_text().is_none();
                supersede
                    .execute(params![
                        object.id,
                        object.object_type,
                        key,
                        seq,
                        by_arrival,
                        tlp.as_str(),
                        provenance.organisation_id
                    ])
                    .map_err(backend)?;
            }
        }
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn import_stream(
        &self,
        mut batches: tokio::sync::mpsc::Receiver<ImportMessage>,
        provenance: Provenance,
    ) -> Result<ImportSummary, StoreError> {
        let writer = Arc::clone(&self.writer);
        blocking(move || {
            let mut conn = writer.lock().map_err(|_| poisoned())?;
            import_stream(&mut conn, &mut batches, &provenance)
        })
        .await
    }

    async fn add_organisation(
        &self,
        name: &str,
        kind: OrgKind,
        country: Option<CountryCode>,
    ) -> Result<Organisation, StoreError> {
        let (name, created_at) = (name.to_owned(), geneva_stix::timestamp::now_rfc3339());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO organisations (name, kind, country, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![name, kind.as_str(), country.as_ref().map(CountryCode::as_str), created_at],
            )
            .map_err(unique(format!("organisation {name:?}")))?;
            Ok(Organisation { id: conn.last_insert_rowid(), name, kind, country, created_at })
        })
        .await
    }

    async fn organisation(&self, name: &str) -> Result<Option<Organisation>, StoreError> {
        let name = name.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT id, name, kind, country, created_at FROM organisations WHERE name = ?1",
                [&name],
                row_to_organisation,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn version_records(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<VersionRecord>, StoreError> {
        self.read(move |conn| {
            let sql = format!(
                "SELECT {VERSION_COLUMNS}, v.seq = (SELECT c.seq FROM current_objects c WHERE c.id = v.id), v.seq, v.org_id \
                 FROM object_versions v WHERE v.seq > ?1 ORDER BY v.seq LIMIT ?2"
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
            let rows: Vec<(StoredVersion, i64, Option<i64>)> = stmt
                .query_map(params![after as i64, limit.min(100_000) as i64], |r| Ok((row_to_version(r)?, r.get(12)?, r.get(13)?)))
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend)?;
            let mut recipients_of = conn
                .prepare_cached("SELECT kind, ref_id FROM version_recipients WHERE seq = ?1 ORDER BY kind, ref_id")
                .map_err(backend)?;
            let mut records = Vec::with_capacity(rows.len());
            for (version, seq, organisation_id) in rows {
                let mut recipients = Recipients::default();
                let pairs = recipients_of
                    .query_map([seq], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .map_err(backend)?;
                for pair in pairs {
                    let (kind, id) = pair.map_err(backend)?;
                    match kind.as_str() {
                        "org" => recipients.organisations.push(id),
                        "group" => recipients.groups.push(id),
                        _ => recipients.users.push(id),
                    }
                }
                records.push(VersionRecord { seq: seq as u64, version, organisation_id, recipients });
            }
            Ok(records)
        })
        .await
    }

    async fn corr_feed(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<geneva_store::FeedVersion>, StoreError> {
        self.read(move |conn| correlation::feed(conn, after, limit))
            .await
    }

    async fn current_versions(
        &self,
        ids: &[String],
    ) -> Result<Vec<(u64, StoredVersion)>, StoreError> {
        let ids = ids.to_vec();
        self.read(move |conn| correlation::current_versions(conn, &ids))
            .await
    }

    async fn all_versions(&self, ids: &[String]) -> Result<Vec<(u64, StoredVersion)>, StoreError> {
        let ids = ids.to_vec();
        self.read(move |conn| correlation::all_versions(conn, &ids))
            .await
    }

    async fn visible_seqs(
        &self,
        seqs: &[u64],
        viewer: &Viewer,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        let (seqs, viewer) = (seqs.iter().map(|s| *s as i64).collect(), viewer.clone());
        self.read(move |conn| {
            let found = correlation::visible_ids(conn, &viewer, seqs)?;
            let mut out: Vec<(u64, String)> =
                found.into_iter().map(|(s, id)| (s as u64, id)).collect();
            out.sort_unstable();
            Ok(out)
        })
        .await
    }

    async fn version_access(
        &self,
        seqs: &[u64],
    ) -> Result<Vec<geneva_store::VersionAccess>, StoreError> {
        let seqs: Vec<i64> = seqs.iter().map(|s| *s as i64).collect();
        self.read(move |conn| correlation::version_access(conn, &seqs))
            .await
    }

    async fn version_seqs(&self, id: &str, viewer: &Viewer) -> Result<Vec<u64>, StoreError> {
        let (id, viewer) = (id.to_owned(), viewer.clone());
        self.read(move |conn| correlation::version_seqs(conn, &id, &viewer))
            .await
    }

    async fn take_sequence(
        &self,
        name: &str,
        count: u64,
    ) -> Result<std::ops::Range<u64>, StoreError> {
        let name = name.to_owned();
        self.write(move |conn| {
            // The writer connection serialises all writes: the upsert is atomic.
            let end: i64 = conn
                .query_row(
                    "INSERT INTO sequences (name, value) VALUES (?1, ?2) \
                     ON CONFLICT (name) DO UPDATE SET value = value + excluded.value RETURNING value",
                    params![name, count as i64],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            Ok(end as u64 - count..end as u64)
        })
        .await
    }

    async fn log_state(&self) -> Result<LogState, StoreError> {
        self.read(|conn| {
            conn.query_row(
                "SELECT size, checkpoint, public_key, (SELECT count(*) FROM log_pending) FROM log_state WHERE id = 1",
                [],
                |r| {
                    Ok(LogState {
                        size: r.get::<_, i64>(0)? as u64,
                        checkpoint: r.get(1)?,
                        public_key: r.get(2)?,
                        pending: r.get::<_, i64>(3)? as u64,
                    })
                },
            )
            .map_err(backend)
        })
        .await
    }

    async fn log_secret(&self, candidate: [u8; 32]) -> Result<[u8; 32], StoreError> {
        self.write(move |conn| {
            conn.execute(
                "UPDATE log_state SET secret = ?1 WHERE id = 1 AND secret IS NULL",
                [candidate.as_slice()],
            )
            .map_err(backend)?;
            let secret: Vec<u8> = conn
                .query_row("SELECT secret FROM log_state WHERE id = 1", [], |r| {
                    r.get(0)
                })
                .map_err(backend)?;
            secret.try_into().map_err(|_| {
                StoreError::Corrupt("the log's blinding secret is not 32 bytes".into())
            })
        })
        .await
    }

    async fn log_pending(&self, from: u64, limit: usize) -> Result<Vec<LogEntry>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT p.leaf_index, p.kind, v.id, v.version, v.sha256, v.organisation, v.submitted_at, v.tlp \
                     FROM log_pending p LEFT JOIN object_versions v ON v.seq = p.ref \
                     WHERE p.leaf_index >= ?1 ORDER BY p.leaf_index LIMIT ?2",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![from as i64, limit as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<Vec<u8>>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, Option<String>>(6)?,
                        r.get::<_, Option<String>>(7)?,
                    ))
                })
                .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                let (leaf_index, kind, id, version, sha, organisation, submitted_at, tlp) =
                    row.map_err(backend)?;
                // A pending leaf whose item is gone ends the run: the integrator reports the gap.
                let (Some(id), Some(sha), Some(organisation), Some(submitted_at), Some(tlp)) =
                    (id, sha, organisation, submitted_at, tlp)
                else {
                    break;
                };
                let kind = match kind {
                    0 => LeafKind::ObjectVersion,
                    other => return Err(StoreError::Corrupt(format!("unknown leaf kind {other}"))),
                };
                out.push(LogEntry {
                    leaf_index,
                    kind,
                    id,
                    version,
                    sha256: sha.try_into().unwrap_or([0; 32]),
                    organisation,
                    submitted_at,
                    tlp: tlp.parse::<Tlp>().unwrap_or(Tlp::Red),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn log_append(&self, append: LogAppend) -> Result<(), StoreError> {
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            let (size, key): (i64, Option<String>) = tx
                .query_row("SELECT size, public_key FROM log_state WHERE id = 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(backend)?;
            if size as u64 != append.old_size {
                return Err(StoreError::LogMoved {
                    expected: append.old_size,
                    found: size as u64,
                });
            }
            if let Some(stored) = key
                && stored != append.public_key
            {
                return Err(StoreError::LogKeyMismatch {
                    stored,
                    given: append.public_key,
                });
            }
            {
                let mut put = tx
                    .prepare_cached(
                        "INSERT INTO log_strips (key, hashes) VALUES (?1, ?2) \
                         ON CONFLICT (key) DO UPDATE SET hashes = excluded.hashes WHERE hashes != excluded.hashes",
                    )
                    .map_err(backend)?;
                for strip in &append.strips {
                    put.execute(params![strip_key_to_i64(strip.key), strip.to_bytes()])
                        .map_err(backend)?;
                }
            }
            tx.execute(
                "DELETE FROM log_pending WHERE leaf_index < ?1",
                [append.new_size as i64],
            )
            .map_err(backend)?;
            tx.execute(
                "UPDATE log_state SET size = ?1, checkpoint = ?2, public_key = ?3 WHERE id = 1",
                params![append.new_size as i64, append.checkpoint, append.public_key],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO log_checkpoints (size, note, signed_at) VALUES (?1, ?2, ?3)",
                params![append.new_size as i64, append.checkpoint, append.signed_at],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn log_strips(
        &self,
        keys: &[geneva_tlog::StripKey],
    ) -> Result<Vec<geneva_tlog::Strip>, StoreError> {
        let read = move |conn: &Connection, keys: &[geneva_tlog::StripKey]| {
            let mut stmt = conn
                .prepare_cached("SELECT hashes FROM log_strips WHERE key = ?1")
                .map_err(backend)?;
            let mut out = Vec::with_capacity(keys.len());
            for &key in keys {
                let bytes: Option<Vec<u8>> = stmt
                    .query_row([strip_key_to_i64(key)], |r| r.get(0))
                    .optional()
                    .map_err(backend)?;
                if let Some(bytes) = bytes {
                    out.push(geneva_tlog::Strip::from_bytes(key, &bytes).ok_or_else(|| {
                        StoreError::Corrupt(format!("log strip {key:?} is not a list of hashes"))
                    })?);
                }
            }
            Ok(out)
        };
        if keys.len() <= INLINE_STRIP_READS {
            // A proof reads one or two 512-byte rows by primary key: a few
            // microseconds, where a hop to the blocking pool and back costs
            // tens (measured: 91 µs a proof with the hop on this 2-core VM).
            let conn = self.reader()?;
            let result = read(&conn, keys);
            self.return_reader(conn);
            return result;
        }
        let keys = keys.to_vec();
        self.read(move |conn| read(conn, &keys)).await
    }

    async fn log_checkpoint(&self, size: u64) -> Result<Option<String>, StoreError> {
        self.read(move |conn| {
            conn.query_row(
                "SELECT note FROM log_checkpoints WHERE size = ?1",
                [size as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn log_rotate_key(&self, old: &str, new: &str) -> Result<bool, StoreError> {
        let (old, new) = (old.to_owned(), new.to_owned());
        self.write(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE log_state SET public_key = ?2 WHERE id = 1 AND (public_key = ?1 OR public_key IS NULL)",
                    params![old, new],
                )
                .map_err(backend)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn log_add_witness(&self, witness: &Witness) -> Result<(), StoreError> {
        let witness = witness.clone();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO log_witnesses (name, public_key, added_at) VALUES (?1, ?2, ?3)",
                params![witness.name, witness.public_key, witness.added_at],
            )
            .map_err(unique(format!("witness {}", witness.name)))?;
            Ok(())
        })
        .await
    }

    async fn log_witnesses(&self) -> Result<Vec<Witness>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare("SELECT name, public_key, added_at FROM log_witnesses ORDER BY name")
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(Witness {
                        name: r.get(0)?,
                        public_key: r.get(1)?,
                        added_at: r.get(2)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn log_add_cosignature(&self, cosignature: &Cosignature) -> Result<(), StoreError> {
        let c = cosignature.clone();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO log_cosignatures (size, witness, line, received_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (size, witness) DO NOTHING",
                params![c.size as i64, c.witness, c.line, c.received_at],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn log_cosignatures(&self, size: u64) -> Result<Vec<Cosignature>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT size, witness, line, received_at FROM log_cosignatures WHERE size = ?1 ORDER BY witness",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([size as i64], |r| {
                    Ok(Cosignature {
                        size: r.get::<_, i64>(0)? as u64,
                        witness: r.get(1)?,
                        line: r.get(2)?,
                        received_at: r.get(3)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn log_witnessed_size(&self, min: usize) -> Result<Option<u64>, StoreError> {
        self.read(move |conn| {
            conn.query_row(
                "SELECT max(size) FROM (SELECT size FROM log_cosignatures GROUP BY size HAVING count(*) >= ?1)",
                [min as i64],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map(|s| s.map(|s| s as u64))
            .map_err(backend)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT count(*) FROM pragma_user_version", [], |_| Ok(()))
                .map_err(backend)
        })
        .await
    }

    async fn organisation_by_id(&self, id: i64) -> Result<Option<Organisation>, StoreError> {
        self.read(move |conn| {
            conn.query_row(
                "SELECT id, name, kind, country, created_at FROM organisations WHERE id = ?1",
                [id],
                row_to_organisation,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT id, name, kind, country, created_at FROM organisations ORDER BY name",
                )
                .map_err(backend)?;
            let rows = stmt.query_map([], row_to_organisation).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn add_user(&self, name: &str, organisation: i64) -> Result<User, StoreError> {
        let name = name.to_owned();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO users (name, organisation) VALUES (?1, ?2)",
                params![name, organisation],
            )
            .map_err(unique(format!("user {name:?}")))?;
            Ok(User {
                id: conn.last_insert_rowid(),
                name,
                organisation,
            })
        })
        .await
    }

    async fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
        let name = name.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT id, name, organisation FROM users WHERE name = ?1",
                [&name],
                |r| {
                    Ok(User {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        organisation: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare("SELECT id, name, organisation FROM users ORDER BY name")
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(User {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        organisation: r.get(2)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn add_group(&self, name: &str, members: &[i64]) -> Result<SharingGroup, StoreError> {
        let name = name.to_owned();
        let mut members = members.to_vec();
        members.sort_unstable();
        members.dedup();
        self.write(move |conn| {
            let tx = conn.transaction().map_err(backend)?;
            tx.execute("INSERT INTO sharing_groups (name) VALUES (?1)", [&name])
                .map_err(unique(format!("sharing group {name:?}")))?;
            let id = tx.last_insert_rowid();
            for m in &members {
                tx.execute(
                    "INSERT INTO sharing_group_members (group_id, organisation) VALUES (?1, ?2)",
                    params![id, m],
                )
                .map_err(unique(format!("sharing group {name:?}")))?;
            }
            tx.commit().map_err(backend)?;
            Ok(SharingGroup { id, name, members })
        })
        .await
    }

    async fn groups(&self) -> Result<Vec<SharingGroup>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT g.id, g.name, m.organisation FROM sharing_groups g \
                     LEFT JOIN sharing_group_members m ON m.group_id = g.id ORDER BY g.name, m.organisation",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<i64>>(2)?)))
                .map_err(backend)?;
            let mut groups: Vec<SharingGroup> = Vec::new();
            for row in rows {
                let (id, name, member) = row.map_err(backend)?;
                if groups.last().is_none_or(|g| g.id != id) {
                    groups.push(SharingGroup { id, name, members: Vec::new() });
                }
                if let (Some(m), Some(g)) = (member, groups.last_mut()) {
                    g.members.push(m);
                }
            }
            Ok(groups)
        })
        .await
    }

    async fn add_token(&self, record: &TokenRecord, hash: TokenHash) -> Result<(), StoreError> {
        let record = record.clone();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO api_tokens (id, secret_sha256, organisation, user_id, scopes, label, created_at, revoked_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    record.id.as_str(),
                    hash.0.as_slice(),
                    record.organisation,
                    record.user,
                    i64::from(record.scopes.bits()),
                    record.label,
                    record.created_at,
                    record.revoked_at
                ],
            )
            .map_err(unique(format!("token {}", record.id)))?;
            Ok(())
        })
        .await
    }

    async fn token(&self, id: &TokenId) -> Result<Option<(TokenRecord, TokenHash)>, StoreError> {
        let id = id.clone();
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?1"),
                [id.as_str()],
                row_to_token,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id"
                ))
                .map_err(backend)?;
            let rows = stmt.query_map([], row_to_token).map_err(backend)?;
            rows.map(|r| r.map(|(record, _)| record))
                .collect::<Result<_, _>>()
                .map_err(backend)
        })
        .await
    }

    async fn revoke_token(&self, id: &TokenId, at: &str) -> Result<bool, StoreError> {
        let (id, at) = (id.clone(), at.to_owned());
        self.write(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
                    params![id.as_str(), at],
                )
                .map_err(backend)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn add_feed(
        &self,
        feed: &geneva_store::NewFeed,
    ) -> Result<geneva_store::Feed, StoreError> {
        let feed = feed.clone();
        self.write(move |conn| {
            let now = geneva_stix::timestamp::now_unix_millis();
            let id: i64 = conn
                .query_row(
                    "INSERT INTO feeds (url, collection, user_name, password_env, every_secs, allow_private, \
                     organisation, tlp, since, last_added, next_run_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10) RETURNING id",
                    params![
                        feed.url,
                        feed.collection,
                        feed.user,
                        feed.password_env,
                        feed.every_secs,
                        feed.allow_private,
                        feed.organisation,
                        feed.tlp.as_str(),
                        feed.since,
                        now
                    ],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            feeds_where(conn, "f.id = ?1", params![id])?
                .pop()
                .ok_or_else(|| StoreError::Corrupt(format!("feed {id} vanished")))
        })
        .await
    }

    async fn feeds(&self) -> Result<Vec<geneva_store::Feed>, StoreError> {
        self.read(|conn| feeds_where(conn, "1 = 1", params![]))
            .await
    }

    async fn remove_feed(&self, id: i64) -> Result<bool, StoreError> {
        self.write(move |conn| {
            conn.execute("DELETE FROM feeds WHERE id = ?1", [id])
                .map(|n| n > 0)
                .map_err(backend)
        })
        .await
    }

    async fn claim_due_feeds(&self, now_ms: i64) -> Result<Vec<geneva_store::Feed>, StoreError> {
        self.write(move |conn| {
            let tx = conn.unchecked_transaction().map_err(backend)?;
            let ids: Vec<i64> = {
                let mut stmt = tx
                    .prepare(
                        "UPDATE feeds SET next_run_ms = ?1 + every_secs * 1000 \
                         WHERE next_run_ms <= ?1 RETURNING id",
                    )
                    .map_err(backend)?;
                stmt.query_map([now_ms], |r| r.get(0))
                    .map_err(backend)?
                    .collect::<Result<Vec<i64>, _>>()
                    .map_err(backend)?
            };
            let mut due = Vec::with_capacity(ids.len());
            for id in ids {
                due.extend(feeds_where(&tx, "f.id = ?1", params![id])?);
            }
            due.sort_by_key(|f| f.id);
            tx.commit().map_err(backend)?;
            Ok(due)
        })
        .await
    }

    async fn record_feed_run(
        &self,
        id: i64,
        run: &geneva_store::FeedRun,
    ) -> Result<(), StoreError> {
        let run = run.clone();
        self.write(move |conn| {
            conn.execute(
                "UPDATE feeds SET last_added = coalesce(?2, last_added), last_run_ms = ?3, \
                 last_objects = ?4, last_error = ?5 WHERE id = ?1",
                params![id, run.last_added, run.at_ms, run.objects, run.error],
            )
            .map(|_| ())
            .map_err(backend)
        })
        .await
    }

    async fn relationships_from(
        &self,
        source: &str,
        viewer: &Viewer,
    ) -> Result<Vec<StoredVersion>, StoreError> {
        let key = source.to_owned();
        let ids = self
            .read(move |conn| {
                // Matches the partial expression index of migration 0011.
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT DISTINCT id FROM object_versions \
                         WHERE type = 'relationship' AND json_extract(canonical, '$.source_ref') = ?1",
                    )
                    .map_err(backend)?;
                stmt.query_map([&key], |r| r.get::<_, String>(0))
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(backend)
            })
            .await?;
        geneva_store::visible_relationships_from(self, ids, source, viewer).await
    }

    async fn put_case(
        &self,
        id: &str,
        document: &str,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let (id, document) = (id.to_owned(), document.to_owned());
        self.write(move |conn| {
            let tx = conn.transaction().map_err(backend)?;
            let found: Option<i64> = tx
                .query_row("SELECT revision FROM cases WHERE id = ?1", [&id], |r| r.get(0))
                .optional()
                .map_err(backend)?;
            let next = geneva_store::next_case_revision(&id, expected, found.map(|f| f as u64))?;
            tx.execute(
                "INSERT INTO cases (id, revision, document) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, document = excluded.document",
                params![id, next as i64, document],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(next)
        })
        .await
    }

    async fn case(&self, id: &str) -> Result<Option<geneva_store::CaseRecord>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT id, revision, document FROM cases WHERE id = ?1",
                [&id],
                case_record,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn cases(&self) -> Result<Vec<geneva_store::CaseRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare("SELECT id, revision, document FROM cases ORDER BY id")
                .map_err(backend)?;
            stmt.query_map([], case_record)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)
        })
        .await
    }

    async fn put_knowledge_source(
        &self,
        source: &geneva_store::KnowledgeSource,
    ) -> Result<bool, StoreError> {
        let source = source.clone();
        self.write(move |conn| {
            let i = &source.info;
            conn.execute(
                "INSERT INTO knowledge_sources (kind, name, version, sha256, size, imported_ms, bytes) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (kind, name) DO UPDATE SET version = excluded.version, \
                 sha256 = excluded.sha256, size = excluded.size, imported_ms = excluded.imported_ms, \
                 bytes = excluded.bytes WHERE knowledge_sources.sha256 <> excluded.sha256",
                params![i.kind, i.name, i.version, i.sha256, i.size, i.imported_ms, source.bytes],
            )
            .map(|n| n > 0)
            .map_err(backend)
        })
        .await
    }

    async fn knowledge_sources(
        &self,
    ) -> Result<Vec<geneva_store::KnowledgeSourceInfo>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT kind, name, version, sha256, size, imported_ms FROM knowledge_sources \
                     ORDER BY kind, name",
                )
                .map_err(backend)?;
            stmt.query_map([], knowledge_source_info)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)
        })
        .await
    }

    async fn knowledge_source(
        &self,
        kind: &str,
        name: &str,
    ) -> Result<Option<geneva_store::KnowledgeSource>, StoreError> {
        let (kind, name) = (kind.to_owned(), name.to_owned());
        self.read(move |conn| {
            conn.query_row(
                "SELECT kind, name, version, sha256, size, imported_ms, bytes FROM knowledge_sources \
                 WHERE kind = ?1 AND name = ?2",
                [&kind, &name],
                |r| {
                    Ok(geneva_store::KnowledgeSource {
                        info: knowledge_source_info(r)?,
                        bytes: r.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn put_request_status(
        &self,
        status: &geneva_store::RequestStatus,
    ) -> Result<(), StoreError> {
        let status = status.clone();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO request_status (id, owner, created_at, body) VALUES (?1, ?2, ?3, ?4)",
                params![status.id, status.owner, status.created_at, status.body],
            )
            .map(|_| ())
            .map_err(unique(format!("request status {}", status.id)))
        })
        .await
    }

    async fn request_status(
        &self,
        id: &str,
    ) -> Result<Option<geneva_store::RequestStatus>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT id, owner, created_at, body FROM request_status WHERE id = ?1",
                [&id],
                |r| {
                    Ok(geneva_store::RequestStatus {
                        id: r.get(0)?,
                        owner: r.get(1)?,
                        created_at: r.get(2)?,
                        body: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn audit(&self, entries: Vec<NewAuditEntry>) -> Result<(), StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction().map_err(backend)?;
            {
                let mut insert = tx
                    .prepare_cached("INSERT INTO audit_log (at, actor, action, channel, target, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                    .map_err(backend)?;
                for e in &entries {
                    insert.execute(params![e.at, e.actor, e.action, e.channel, e.target, e.detail]).map_err(backend)?;
                }
            }
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn audit_log(&self, after: u64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare("SELECT seq, at, actor, action, channel, target, detail FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![after as i64, limit.min(100_000) as i64], |r| {
                    Ok(AuditEntry {
                        seq: r.get::<_, i64>(0)? as u64,
                        entry: NewAuditEntry {
                            at: r.get(1)?,
                            actor: r.get(2)?,
                            action: r.get(3)?,
                            channel: r.get(4)?,
                            target: r.get(5)?,
                            detail: r.get(6)?,
                        },
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn get(&self, id: &str, viewer: &Viewer) -> Result<Option<StoredVersion>, StoreError> {
        let (id, viewer) = (id.to_owned(), viewer.clone());
        self.read(move |conn| {
            let mut args = Vec::new();
            let groups = visibility::groups_of(conn, &viewer).map_err(backend)?;
            let seq = visibility::visible_seq(&viewer, &groups, &mut args);
            let id_arg = visibility::bind(&mut args, id);
            let sql = format!(
                "SELECT {VERSION_COLUMNS}, 1 FROM current_objects c JOIN object_versions v ON v.seq = ({seq}) WHERE c.id = {id_arg}"
            );
            conn.prepare_cached(&sql)
                .and_then(|mut s| s.query_row(rusqlite::params_from_iter(args), row_to_version).optional())
                .map_err(backend)
        })
        .await
    }

    async fn versions(&self, id: &str, viewer: &Viewer) -> Result<Vec<StoredVersion>, StoreError> {
        let (id, viewer) = (id.to_owned(), viewer.clone());
        self.read(move |conn| {
            let mut args = Vec::new();
            let groups = visibility::groups_of(conn, &viewer).map_err(backend)?;
            let seq = visibility::visible_seq(&viewer, &groups, &mut args);
            let visible = visibility::version_visible("v", &viewer, &groups, &mut args);
            let id_arg = visibility::bind(&mut args, id);
            let sql = format!(
                "SELECT {VERSION_COLUMNS}, v.seq = (SELECT {seq} FROM current_objects c WHERE c.id = v.id) \
                 FROM object_versions v WHERE v.id = {id_arg} AND {visible} ORDER BY v.version_key, v.seq"
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args), row_to_version).map_err(backend)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend)
        })
        .await
    }

    async fn list(&self, query: &ListQuery, viewer: &Viewer) -> Result<Page, StoreError> {
        let (query, viewer) = (query.clone(), viewer.clone());
        self.read(move |conn| list_page(conn, &query, &viewer))
            .await
    }

    async fn read_generation(&self) -> Result<u64, StoreError> {
        // Microseconds (the pragma reads the WAL index in shared memory), so
        // it runs here rather than on a blocking thread.
        let mut watch = self.generation.lock().map_err(|_| poisoned())?;
        let now = data_version(&watch.conn)?;
        if now != watch.data_version {
            watch.generation = stored_generation(&watch.conn)?;
            watch.data_version = now;
        }
        Ok(watch.generation)
    }

    async fn list_versions(
        &self,
        query: &geneva_store::VersionQuery,
        viewer: &Viewer,
    ) -> Result<geneva_store::VersionPage, StoreError> {
        let (query, viewer) = (query.clone(), viewer.clone());
        self.read(move |conn| versions_page(conn, &query, &viewer))
            .await
    }

    async fn stats(&self, viewer: &Viewer) -> Result<Stats, StoreError> {
        let viewer = viewer.clone();
        self.read(move |conn| {
            let mut args = Vec::new();
            let groups = visibility::groups_of(conn, &viewer).map_err(backend)?;
            let seq = visibility::visible_seq(&viewer, &groups, &mut args);
            // One pass over the viewer's current view gives every per-object count.
            let sql = format!(
                "SELECT v.type, v.tlp, sum(v.revoked), count(*) FROM current_objects c \
                 JOIN object_versions v ON v.seq = ({seq}) GROUP BY v.type, v.tlp"
            );
            let mut stmt = conn.prepare(&sql).map_err(backend)?;
            let rows: Vec<(String, String, i64, i64)> = stmt
                .query_map(rusqlite::params_from_iter(args), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend)?;
            let mut stats = Stats::default();
            let mut by_type: std::collections::BTreeMap<String, u64> =
                std::collections::BTreeMap::new();
            let mut by_tlp: std::collections::BTreeMap<Tlp, u64> =
                std::collections::BTreeMap::new();
            for (t, tlp, revoked, n) in rows {
                stats.objects += n as u64;
                stats.revoked += revoked as u64;
                *by_type.entry(t).or_default() += n as u64;
                *by_tlp
                    .entry(tlp.parse::<Tlp>().unwrap_or(Tlp::Red))
                    .or_default() += n as u64;
            }
            stats.objects_by_type = by_type.into_iter().collect();
            stats.by_tlp = by_tlp.into_iter().collect();
            let mut args = Vec::new();
            let visible = visibility::version_visible("v", &viewer, &groups, &mut args);
            stats.versions = conn
                .query_row(
                    &format!("SELECT count(*) FROM object_versions v WHERE {visible}"),
                    rusqlite::params_from_iter(args),
                    |r| r.get::<_, i64>(0),
                )
                .map_err(backend)? as u64;
            Ok(stats)
        })
        .await
    }
}

fn list_page(conn: &Connection, query: &ListQuery, viewer: &Viewer) -> Result<Page, StoreError> {
    let limit = query.limit.clamp(1, 10_000);
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let groups = visibility::groups_of(conn, viewer).map_err(backend)?;
    let seq = visibility::visible_seq(viewer, &groups, &mut args);
    let mut sql = format!(
        "SELECT {VERSION_COLUMNS}, 1, c.seq FROM current_objects c JOIN object_versions v ON v.seq = ({seq}) WHERE 1 = 1"
    );
    if let Some(cursor) = &query.after {
        if query.newest_first {
            args.push(cursor.newest_first_position()?.into());
            sql.push_str(&format!(" AND c.seq < ?{}", args.len()));
        } else {
            let Cursor(after) = cursor;
            if after.is_empty() || after.len() > 300 {
                return Err(StoreError::InvalidCursor(
                    "not a cursor this server issued".into(),
                ));
            }
            args.push(after.clone().into());
            sql.push_str(&format!(" AND c.id > ?{}", args.len()));
        }
    }
    if !query.types.is_empty() {
        let marks: Vec<String> = query
            .types
            .iter()
            .map(|t| {
                args.push(t.clone().into());
                format!("?{}", args.len())
            })
            .collect();
        sql.push_str(&format!(" AND c.type IN ({})", marks.join(", ")));
    }
    if let Some(since) = &query.since {
        args.push(since.sort_key().to_string().into());
        sql.push_str(&format!(" AND v.version_key >= ?{}", args.len()));
    }
    args.push(((limit + 1) as i64).into());
    let order = if query.newest_first {
        "c.seq DESC"
    } else {
        "c.id"
    };
    sql.push_str(&format!(" ORDER BY {order} LIMIT ?{}", args.len()));
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let mut rows: Vec<(StoredVersion, i64)> = stmt
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok((row_to_version(r)?, r.get(12)?))
        })
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|(v, seq)| {
            if query.newest_first {
                Cursor::newest_first_after(*seq)
            } else {
                Cursor(v.id.clone())
            }
        })
    } else {
        None
    };
    Ok(Page {
        items: rows.into_iter().map(|(v, _)| v).collect(),
        next,
    })
}

fn versions_page(
    conn: &Connection,
    query: &geneva_store::VersionQuery,
    viewer: &Viewer,
) -> Result<geneva_store::VersionPage, StoreError> {
    use rusqlite::types::Value;
    let limit = query.limit.clamp(1, 10_000);
    let mut args: Vec<Value> = Vec::new();
    let groups = visibility::groups_of(conn, viewer).map_err(backend)?;
    // Visible to the viewer and within the collection's scope.
    let scope = |alias: &str, args: &mut Vec<Value>| -> String {
        let mut visible = visibility::version_visible(alias, viewer, &groups, args);
        if let Some(tlp) = query.tlp {
            visible = format!(
                "{visible} AND {alias}.tlp = {}",
                visibility::bind(args, tlp.as_str().to_owned())
            );
        }
        if let Some(group) = query.group {
            visible = format!(
                "{visible} AND EXISTS (SELECT 1 FROM version_recipients r WHERE r.seq = {alias}.seq \
                 AND r.kind = 'group' AND r.ref_id = {})",
                visibility::bind(args, group)
            );
        }
        visible
    };
    let in_list = |column: &str, values: &[String], args: &mut Vec<Value>| -> String {
        let marks: Vec<String> = values
            .iter()
            .map(|v| visibility::bind(args, v.clone()))
            .collect();
        format!(" AND {column} IN ({})", marks.join(", "))
    };
    let mut sql = format!(
        "SELECT {VERSION_COLUMNS}, v.seq = (SELECT c.seq FROM current_objects c WHERE c.id = v.id), v.seq \
         FROM object_versions v WHERE {}",
        scope("v", &mut args)
    );
    if !query.ids.is_empty() {
        sql.push_str(&in_list("v.id", &query.ids, &mut args));
    }
    if !query.types.is_empty() {
        sql.push_str(&in_list("v.type", &query.types, &mut args));
    }
    if !query.spec_versions.is_empty() {
        sql.push_str(&in_list("v.spec_version", &query.spec_versions, &mut args));
    }
    if let Some(ms) = query.added_after_ms {
        // Dates added are stored as written (RFC 3339, any precision): compared
        // as whole milliseconds, never as text.
        sql.push_str(&format!(
            " AND CAST(round(unixepoch(v.submitted_at, 'subsec') * 1000) AS INTEGER) > {}",
            visibility::bind(&mut args, ms)
        ));
    }
    if let Some(after) = query
        .after
        .as_ref()
        .map(Cursor::version_position)
        .transpose()?
    {
        sql.push_str(&format!(
            " AND v.seq > {}",
            visibility::bind(&mut args, after)
        ));
    }
    // A version several members submitted is listed once, as first submitted.
    let same = scope("w", &mut args);
    sql.push_str(&format!(
        " AND v.seq = (SELECT min(w.seq) FROM object_versions w WHERE w.id = v.id \
           AND w.version_key = v.version_key AND {same})"
    ));
    let select = &query.select;
    if !select.all {
        let mut parts = Vec::new();
        let nothing = !select.first && !select.last && select.at.is_empty();
        if select.last || nothing {
            let w = scope("w", &mut args);
            parts.push(format!(
                "v.version_key = (SELECT max(w.version_key) FROM object_versions w WHERE w.id = v.id AND {w})"
            ));
        }
        if select.first {
            let w = scope("w", &mut args);
            parts.push(format!(
                "v.version_key = (SELECT min(w.version_key) FROM object_versions w WHERE w.id = v.id AND {w})"
            ));
        }
        if !select.at.is_empty() {
            let keys: Vec<String> = select.at.iter().map(|t| t.sort_key().to_owned()).collect();
            parts.push(
                in_list("v.version_key", &keys, &mut args)
                    .trim_start_matches(" AND ")
                    .to_owned(),
            );
        }
        sql.push_str(&format!(" AND ({})", parts.join(" OR ")));
    }
    sql.push_str(&format!(
        " ORDER BY v.seq LIMIT {}",
        visibility::bind(&mut args, (limit + 1) as i64)
    ));
    // The text depends only on which filters are present: compiled once each.
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let rows: Vec<(StoredVersion, i64)> = stmt
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok((row_to_version(r)?, r.get::<_, i64>(12)?))
        })
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    let more = rows.len() > limit;
    let mut items = Vec::with_capacity(limit);
    let mut last_seq = None;
    for (version, seq) in rows.into_iter().take(limit) {
        items.push(version);
        last_seq = Some(seq);
    }
    Ok(geneva_store::VersionPage {
        items,
        next: more.then(|| last_seq.map(Cursor::after_version)).flatten(),
    })
}

fn feeds_where(
    conn: &Connection,
    condition: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<geneva_store::Feed>, StoreError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT f.id, f.url, f.collection, f.user_name, f.password_env, f.every_secs, f.allow_private, \
             f.organisation, f.tlp, f.since, f.last_added, f.next_run_ms, f.last_run_ms, f.last_objects, \
             f.last_error FROM feeds f WHERE {condition} ORDER BY f.id"
        ))
        .map_err(backend)?;
    let rows = stmt
        .query_map(args, |r| {
            let tlp: String = r.get(8)?;
            Ok(geneva_store::Feed {
                id: r.get(0)?,
                spec: geneva_store::NewFeed {
                    url: r.get(1)?,
                    collection: r.get(2)?,
                    user: r.get(3)?,
                    password_env: r.get(4)?,
                    every_secs: r.get(5)?,
                    allow_private: r.get(6)?,
                    organisation: r.get(7)?,
                    tlp: tlp.parse::<Tlp>().unwrap_or(Tlp::Red),
                    since: r.get(9)?,
                },
                last_added: r.get(10)?,
                next_run_ms: r.get(11)?,
                last_run_ms: r.get(12)?,
                last_objects: r.get(13)?,
                last_error: r.get(14)?,
            })
        })
        .map_err(backend)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(backend)
}

fn knowledge_source_info(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<geneva_store::KnowledgeSourceInfo> {
    Ok(geneva_store::KnowledgeSourceInfo {
        kind: r.get(0)?,
        name: r.get(1)?,
        version: r.get(2)?,
        sha256: r.get(3)?,
        size: r.get(4)?,
        imported_ms: r.get(5)?,
    })
}
