//! Geneva's store on PostgreSQL: the `Store` trait for deployments where
//! several `geneva serve` processes share one database.
//!
//! This crate owns the PostgreSQL schema, its migrations (applied under an
//! advisory lock, so servers starting together do not race) and the SQL that
//! mirrors the SQLite store's, TLP rules included. It must never be named by
//! code outside the binary's start-up: everything else sees `geneva_store::Store`.
#![forbid(unsafe_code)]

mod correlation;
mod visibility;

use std::str::FromStr;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use geneva_access::{CountryCode, OrgKind, Scopes, TokenHash, TokenId};
use geneva_stix::{PreparedObject, Tlp};
use geneva_store::{
    AuditEntry, Cosignature, Cursor, ImportMessage, ImportSummary, LeafKind, ListQuery, LogAppend,
    LogEntry, LogState, NewAuditEntry, Organisation, Page, Provenance, Recipients, SharingGroup,
    Stats, Store, StoreError, StoredVersion, TokenRecord, User, VersionRecord, Viewer, Witness,
    strip_key_to_i64,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use visibility::Params;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_schema.sql"),
    include_str!("../migrations/0002_sequences.sql"),
    include_str!("../migrations/0003_transparency_log.sql"),
    include_str!("../migrations/0004_correlation.sql"),
    include_str!("../migrations/0005_request_status.sql"),
    include_str!("../migrations/0006_correlation_leaves_the_database.sql"),
    include_str!("../migrations/0007_feeds.sql"),
    include_str!("../migrations/0008_knowledge_sources.sql"),
    include_str!("../migrations/0009_relationships_by_source.sql"),
    include_str!("../migrations/0010_read_generation.sql"),
    include_str!("../migrations/0011_cases.sql"),
    include_str!("../migrations/0012_cases_read_generation.sql"),
    include_str!("../migrations/0013_current_objects_by_recency.sql"),
];
/// Key of the advisory lock that serialises migrations across processes.
const MIGRATION_LOCK: i64 = 0x6765_6e65_7661;

pub struct PostgresStore {
    pool: Pool,
    schema: Option<String>,
}

/// A database error with PostgreSQL's own message (tokio-postgres's Display says only "db error").
fn backend(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Backend(format!("{} ({})", db.message(), db.code().code())),
        None => StoreError::Backend(e.to_string()),
    }
}

/// Maps unique and foreign-key violations to domain errors about `what`.
fn constraint(what: String) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |e| match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => StoreError::AlreadyExists(what),
        Some(c) if *c == SqlState::FOREIGN_KEY_VIOLATION => {
            StoreError::NotFound(format!("organisation or user referred to by {what}"))
        }
        _ => backend(e),
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`), optionally inside
    /// `schema` (created if missing), and brings the schema up to date.
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Backend(format!("bad database URL: {e}")))?;
        if let Some(schema) = schema {
            if !schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(StoreError::Backend(format!(
                    "schema name {schema:?} must be letters, digits and _"
                )));
            }
            let (client, connection) = config.connect(NoTls).await.map_err(backend)?;
            let task = tokio::spawn(connection);
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await
                .map_err(backend)?;
            drop(client);
            let _ = task.await;
        }
        // Geneva's queries are short index walks whose cost estimates still pass
        // jit_above_cost (the visibility CASE multiplies them); JIT compilation
        // then adds ~200 ms to a 1 ms query. Measured on a 100-object listing.
        match schema {
            Some(schema) => config.options(format!("-c jit=off -c search_path={schema}")),
            None => config.options("-c jit=off"),
        };
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let store = PostgresStore {
            pool,
            schema: schema.map(str::to_owned),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The schema this store lives in, if not the connection's default.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Drops the store's own schema and everything in it (benchmarks and
    /// tests that made one for themselves). Refused for the default schema.
    pub async fn drop_schema(self) -> Result<(), StoreError> {
        let Some(schema) = self.schema.clone() else {
            return Err(StoreError::Backend(
                "refusing to drop the default schema".into(),
            ));
        };
        self.client()
            .await?
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .map_err(backend)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Backend(format!("cannot reach PostgreSQL: {e}")))
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(backend)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS geneva_migrations (version INTEGER PRIMARY KEY)",
        )
        .await
        .map_err(backend)?;
        let applied: i64 = tx
            .query_one("SELECT count(*) FROM geneva_migrations", &[])
            .await
            .map_err(backend)?
            .get(0);
        let applied = applied as usize;
        if applied > MIGRATIONS.len() {
            return Err(StoreError::Corrupt(format!(
                "the database is at schema version {applied}, newer than this Geneva knows ({}); upgrade Geneva",
                MIGRATIONS.len()
            )));
        }
        for (n, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            tx.batch_execute(sql).await.map_err(backend)?;
            tx.execute(
                "INSERT INTO geneva_migrations (version) VALUES ($1)",
                &[&(n as i32 + 1)],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }
}

const VERSION_COLUMNS: &str = "v.id, v.type, v.version, v.spec_version, v.revoked, v.tlp, v.organisation, \
     v.submitted_at, v.sha256, v.canonical, v.leaf_index";

fn row_to_version(row: &Row) -> StoredVersion {
    let tlp: String = row.get(5);
    let sha: Vec<u8> = row.get(8);
    StoredVersion {
        id: row.get(0),
        object_type: row.get(1),
        version: row.get(2),
        spec_version: row.get(3),
        revoked: row.get(4),
        tlp: tlp.parse::<Tlp>().unwrap_or(Tlp::Red),
        organisation: row.get(6),
        submitted_at: row.get(7),
        sha256: sha.try_into().unwrap_or([0; 32]),
        canonical: row.get(9),
        leaf_index: row.get::<_, Option<i64>>(10).map(|i| i as u64),
        current: row.get::<_, Option<bool>>(11).unwrap_or(false),
    }
}

fn row_to_organisation(row: &Row) -> Organisation {
    let kind: String = row.get(2);
    let country: Option<String> = row.get(3);
    Organisation {
        id: row.get(0),
        name: row.get(1),
        kind: kind.parse::<OrgKind>().unwrap_or(OrgKind::Researcher),
        country: country.and_then(|c| c.parse::<CountryCode>().ok()),
        created_at: row.get(4),
    }
}

fn row_to_token(row: &Row) -> Result<(TokenRecord, TokenHash), StoreError> {
    let id: String = row.get(0);
    let hash: Vec<u8> = row.get(1);
    let record = TokenRecord {
        id: TokenId::parse(&id)
            .map_err(|e| StoreError::Corrupt(format!("token id {id:?}: {e}")))?,
        organisation: row.get(2),
        user: row.get(3),
        scopes: Scopes::from_bits(row.get::<_, i16>(4) as u8),
        label: row.get(5),
        created_at: row.get(6),
        revoked_at: row.get(7),
    };
    Ok((record, TokenHash(hash.try_into().unwrap_or([0; 32]))))
}

const TOKEN_COLUMNS: &str =
    "id, secret_sha256, organisation, user_id, scopes, label, created_at, revoked_at";

/// Writes one batch. Statements are pipelined — sent together, answered in
/// order — so a batch costs a few round trips instead of one per statement
/// (ATT&CK: 4.5 s → see BENCHMARKS.md). Order within the transaction is kept.
async fn import_batch(
    tx: &deadpool_postgres::Transaction<'_>,
    objects: &[PreparedObject],
    provenance: &Provenance,
    summary: &mut ImportSummary,
    new_seqs: &mut Vec<i64>,
) -> Result<(), StoreError> {
    use futures_util::future::try_join_all;
    // One statement per object: insert the version and, if the id is new, its current-view row.
    let insert = tx
        .prepare_cached(
            "WITH ins AS (INSERT INTO object_versions (id, type, version_key, version, spec_version, revoked, tlp, \
             organisation, submitted_at, sha256, canonical, org_id, submitter_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, coalesce($12::BIGINT, 0)) \
             ON CONFLICT (id, version_key, submitter_key) DO NOTHING RETURNING seq), \
             cur AS (INSERT INTO current_objects (id, type, version_key, seq, tlp, org_id) \
             SELECT $1, $2, $3, seq, $7, $12 FROM ins ON CONFLICT (id) DO NOTHING RETURNING 1) \
             SELECT (SELECT seq FROM ins), (SELECT count(*) FROM cur)",
        )
        .await
        .map_err(backend)?;
    let stored_hash = tx
        .prepare_cached(
            "SELECT sha256 FROM object_versions WHERE id = $1 AND version_key = $2 AND submitter_key = coalesce($3::BIGINT, 0)",
        )
        .await
        .map_err(backend)?;
    let supersede = tx
        .prepare_cached(
            "UPDATE current_objects SET versions = versions + 1, \
             type = CASE WHEN version_key < $3 OR $5 THEN $2 ELSE type END, \
             seq = CASE WHEN version_key < $3 OR $5 THEN $4 ELSE seq END, \
             tlp = CASE WHEN version_key < $3 OR $5 THEN $6 ELSE tlp END, \
             org_id = CASE WHEN version_key < $3 OR $5 THEN $7 ELSE org_id END, \
             version_key = CASE WHEN version_key < $3 OR $5 THEN $3 ELSE version_key END \
             WHERE id = $1",
        )
        .await
        .map_err(backend)?;
    let add_recipient = tx
        .prepare_cached("INSERT INTO version_recipients (seq, kind, ref_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .await
        .map_err(backend)?;
    // The same order in every transaction keeps concurrent importers from deadlocking.
    let mut ordered: Vec<&PreparedObject> = objects.iter().collect();
    ordered.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let keys: Vec<String> = ordered.iter().map(|o| o.version_key()).collect();
    let tlps: Vec<&'static str> = ordered
        .iter()
        .map(|o| o.tlp.unwrap_or(provenance.default_tlp).as_str())
        .collect();
    let versions: Vec<Option<&str>> = ordered.iter().map(|o| o.version_text()).collect();

    // The closures own references; each future owns its parameter array.
    let (insert, stored_hash, supersede, add_recipient) =
        (&insert, &stored_hash, &supersede, &add_recipient);
    let (keys, tlps, versions) = (&keys, &tlps, &versions);
    let inserted = try_join_all(ordered.iter().enumerate().map(|(i, o)| async move {
        tx.query_one(
            insert,
            &[
                &o.id,
                &o.object_type,
                &keys[i],
                &versions[i],
                &o.spec_version,
                &o.revoked,
                &tlps[i],
                &provenance.organisation,
                &provenance.submitted_at,
                &o.sha256.as_slice(),
                &o.canonical,
                &provenance.organisation_id,
            ],
        )
        .await
    }))
    .await
    .map_err(backend)?;

    let mut conflicts = Vec::new();
    let mut older = Vec::new();
    let mut restricted = Vec::new();
    for (i, row) in inserted.iter().enumerate() {
        let seq: Option<i64> = row.get(0);
        let created: i64 = row.get(1);
        match seq {
            None => conflicts.push(i),
            Some(seq) => {
                new_seqs.push(seq);
                if created == 1 {
                    summary.new += 1;
                } else {
                    summary.updated += 1;
                    older.push((i, seq));
                }
                if ordered[i].tlp.unwrap_or(provenance.default_tlp) >= Tlp::Amber {
                    restricted.push(seq);
                }
            }
        }
    }
    let ordered = &ordered;
    let hashes = try_join_all(conflicts.iter().map(|&i| async move {
        tx.query_one(
            stored_hash,
            &[&ordered[i].id, &keys[i], &provenance.organisation_id],
        )
        .await
    }))
    .await
    .map_err(backend)?;
    for (&i, row) in conflicts.iter().zip(&hashes) {
        let hash: Vec<u8> = row.get(0);
        if hash.as_slice() != ordered[i].sha256.as_slice() {
            return Err(StoreError::VersionConflict {
                id: ordered[i].id.clone(),
                version: ordered[i].version_text().unwrap_or_default().to_string(),
            });
        }
        summary.unchanged += 1;
    }
    let by_arrival: Vec<bool> = older
        .iter()
        .map(|&(i, _)| ordered[i].version_text().is_none())
        .collect();
    try_join_all(
        older
            .iter()
            .zip(&by_arrival)
            .map(|(&(i, seq), by_arrival)| async move {
                tx.execute(
                    supersede,
                    &[
                        &ordered[i].id,
                        &ordered[i].object_type,
                        &keys[i],
                        &seq,
                        by_arrival,
                        &tlps[i],
                        &provenance.organisation_id,
                    ],
                )
                .await
            }),
    )
    .await
    .map_err(backend)?;
    let recipients = &provenance.recipients;
    let pairs: Vec<(i64, &str, i64)> = restricted
        .iter()
        .flat_map(|&seq| {
            recipients
                .organisations
                .iter()
                .map(move |&id| (seq, "org", id))
                .chain(recipients.groups.iter().map(move |&id| (seq, "group", id)))
                .chain(recipients.users.iter().map(move |&id| (seq, "user", id)))
        })
        .collect();
    try_join_all(
        pairs.iter().map(|(seq, kind, id)| async move {
            tx.execute(add_recipient, &[seq, kind, id]).await
        }),
    )
    .await
    .map_err(backend)?;
    Ok(())
}

/// Gives the import's new versions their log leaves, last thing before commit:
/// the sequence's row lock is then held only for the commit, and taken in
/// commit order, so committed leaves always form a gap-free prefix.
async fn number_leaves(
    tx: &deadpool_postgres::Transaction<'_>,
    new_seqs: &mut [i64],
) -> Result<(), StoreError> {
    if new_seqs.is_empty() {
        return Ok(());
    }
    new_seqs.sort_unstable();
    let count = new_seqs.len() as i64;
    let end: i64 = tx
        .query_one(
            "INSERT INTO sequences (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = sequences.value + excluded.value RETURNING value",
            &[&geneva_store::LOG_SEQUENCE, &count],
        )
        .await
        .map_err(backend)?
        .get(0);
    let leaves: Vec<i64> = (end - count..end).collect();
    let seqs: &[i64] = new_seqs;
    tx.execute(
        "UPDATE object_versions SET leaf_index = u.leaf FROM unnest($1::BIGINT[], $2::BIGINT[]) AS u(seq, leaf) \
         WHERE object_versions.seq = u.seq",
        &[&seqs, &leaves],
    )
    .await
    .map_err(backend)?;
    tx.execute(
        "INSERT INTO log_pending (leaf_index, kind, ref) SELECT leaf, 'object-version', seq \
         FROM unnest($1::BIGINT[], $2::BIGINT[]) AS u(seq, leaf)",
        &[&seqs, &leaves],
    )
    .await
    .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    async fn import_stream(
        &self,
        mut batches: tokio::sync::mpsc::Receiver<ImportMessage>,
        provenance: Provenance,
    ) -> Result<ImportSummary, StoreError> {
        let mut client = self.client().await?;
        // Dropping the transaction without commit rolls it back.
        let tx = client.transaction().await.map_err(backend)?;
        let mut summary = ImportSummary::default();
        let mut new_seqs = Vec::new();
        loop {
            match batches.recv().await {
                Some(ImportMessage::Objects(objects)) => {
                    import_batch(&tx, &objects, &provenance, &mut summary, &mut new_seqs).await?
                }
                Some(ImportMessage::Commit) => break,
                None => return Err(StoreError::Abandoned),
            }
        }
        number_leaves(&tx, &mut new_seqs).await?;
        // The one writer of objects tells caches of reads (migration 0010).
        tx.execute("UPDATE read_generation SET n = n + 1 WHERE id = 1", &[])
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(summary)
    }

    async fn get(&self, id: &str, viewer: &Viewer) -> Result<Option<StoredVersion>, StoreError> {
        let client = self.client().await?;
        let groups = visibility::groups_of(&client, viewer).await?;
        let mut params = Params::default();
        let seq = visibility::visible_seq(viewer, &groups, &mut params);
        let id_arg = params.bind(id.to_owned());
        let sql = format!(
            "SELECT {VERSION_COLUMNS}, true FROM current_objects c JOIN object_versions v ON v.seq = ({seq}) WHERE c.id = {id_arg}"
        );
        let row = client
            .query_opt(&sql, &params.refs())
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(row_to_version))
    }

    async fn versions(&self, id: &str, viewer: &Viewer) -> Result<Vec<StoredVersion>, StoreError> {
        let client = self.client().await?;
        let groups = visibility::groups_of(&client, viewer).await?;
        let mut params = Params::default();
        let seq = visibility::visible_seq(viewer, &groups, &mut params);
        let visible = visibility::version_visible("v", viewer, &groups, &mut params);
        let id_arg = params.bind(id.to_owned());
        let sql = format!(
            "SELECT {VERSION_COLUMNS}, v.seq = (SELECT {seq} FROM current_objects c WHERE c.id = v.id) \
             FROM object_versions v WHERE v.id = {id_arg} AND {visible} ORDER BY v.version_key, v.seq"
        );
        let rows = client.query(&sql, &params.refs()).await.map_err(backend)?;
        Ok(rows.iter().map(row_to_version).collect())
    }

    async fn list(&self, query: &ListQuery, viewer: &Viewer) -> Result<Page, StoreError> {
        let limit = query.limit.clamp(1, 10_000);
        let client = self.client().await?;
        let groups = visibility::groups_of(&client, viewer).await?;
        let mut params = Params::default();
        let seq = visibility::visible_seq(viewer, &groups, &mut params);
        let mut sql = format!(
            "SELECT {VERSION_COLUMNS}, true, c.seq FROM current_objects c JOIN object_versions v ON v.seq = ({seq}) WHERE true"
        );
        if let Some(cursor) = &query.after {
            if query.newest_first {
                sql.push_str(&format!(
                    " AND c.seq < {}",
                    params.bind(cursor.newest_first_position()?)
                ));
            } else {
                let Cursor(after) = cursor;
                if after.is_empty() || after.len() > 300 {
                    return Err(StoreError::InvalidCursor(
                        "not a cursor this server issued".into(),
                    ));
                }
                sql.push_str(&format!(" AND c.id > {}", params.bind(after.clone())));
            }
        }
        if !query.types.is_empty() {
            sql.push_str(&format!(
                " AND c.type = ANY({})",
                params.bind(query.types.clone())
            ));
        }
        if let Some(since) = &query.since {
            sql.push_str(&format!(
                " AND v.version_key >= {}",
                params.bind(since.sort_key().to_string())
            ));
        }
        let order = if query.newest_first {
            "c.seq DESC"
        } else {
            "c.id"
        };
        sql.push_str(&format!(
            " ORDER BY {order} LIMIT {}",
            params.bind((limit + 1) as i64)
        ));
        let rows = client.query(&sql, &params.refs()).await.map_err(backend)?;
        let mut items: Vec<(StoredVersion, i64)> = rows
            .iter()
            .map(|r| (row_to_version(r), r.get::<_, i64>(12)))
            .collect();
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|(v, seq)| {
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
            items: items.into_iter().map(|(v, _)| v).collect(),
            next,
        })
    }

    async fn read_generation(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT n FROM read_generation WHERE id = 1", &[])
            .await
            .map_err(backend)?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    async fn list_versions(
        &self,
        query: &geneva_store::VersionQuery,
        viewer: &Viewer,
    ) -> Result<geneva_store::VersionPage, StoreError> {
        let limit = query.limit.clamp(1, 10_000);
        let client = self.client().await?;
        let groups = visibility::groups_of(&client, viewer).await?;
        let mut params = Params::default();
        // Visible to the viewer and within the collection's scope.
        let scope = |alias: &str, params: &mut Params| -> String {
            let mut visible = visibility::version_visible(alias, viewer, &groups, params);
            if let Some(tlp) = query.tlp {
                visible = format!(
                    "{visible} AND {alias}.tlp = {}",
                    params.bind(tlp.as_str().to_owned())
                );
            }
            if let Some(group) = query.group {
                visible = format!(
                    "{visible} AND EXISTS (SELECT 1 FROM version_recipients r WHERE r.seq = {alias}.seq \
                     AND r.kind = 'group' AND r.ref_id = {})",
                    params.bind(group)
                );
            }
            visible
        };
        let mut sql = format!(
            "SELECT {VERSION_COLUMNS}, v.seq = (SELECT c.seq FROM current_objects c WHERE c.id = v.id), v.seq \
             FROM object_versions v WHERE {}",
            scope("v", &mut params)
        );
        if !query.ids.is_empty() {
            sql.push_str(&format!(
                " AND v.id = ANY({})",
                params.bind(query.ids.clone())
            ));
        }
        if !query.types.is_empty() {
            sql.push_str(&format!(
                " AND v.type = ANY({})",
                params.bind(query.types.clone())
            ));
        }
        if !query.spec_versions.is_empty() {
            sql.push_str(&format!(
                " AND v.spec_version = ANY({})",
                params.bind(query.spec_versions.clone())
            ));
        }
        if let Some(ms) = query.added_after_ms {
            // Dates added are stored as written (RFC 3339, any precision):
            // compared as whole milliseconds, never as text.
            sql.push_str(&format!(
                " AND round(extract(epoch FROM v.submitted_at::timestamptz) * 1000)::bigint > {}",
                params.bind(ms)
            ));
        }
        if let Some(after) = query
            .after
            .as_ref()
            .map(Cursor::version_position)
            .transpose()?
        {
            sql.push_str(&format!(" AND v.seq > {}", params.bind(after)));
        }
        // A version several members submitted is listed once, as first submitted.
        let same = scope("w", &mut params);
        sql.push_str(&format!(
            " AND v.seq = (SELECT min(w.seq) FROM object_versions w WHERE w.id = v.id \
               AND w.version_key = v.version_key AND {same})"
        ));
        let select = &query.select;
        if !select.all {
            let mut parts = Vec::new();
            let nothing = !select.first && !select.last && select.at.is_empty();
            if select.last || nothing {
                let w = scope("w", &mut params);
                parts.push(format!(
                    "v.version_key = (SELECT max(w.version_key) FROM object_versions w WHERE w.id = v.id AND {w})"
                ));
            }
            if select.first {
                let w = scope("w", &mut params);
                parts.push(format!(
                    "v.version_key = (SELECT min(w.version_key) FROM object_versions w WHERE w.id = v.id AND {w})"
                ));
            }
            if !select.at.is_empty() {
                let keys: Vec<String> = select.at.iter().map(|t| t.sort_key().to_owned()).collect();
                parts.push(format!("v.version_key = ANY({})", params.bind(keys)));
            }
            sql.push_str(&format!(" AND ({})", parts.join(" OR ")));
        }
        sql.push_str(&format!(
            " ORDER BY v.seq LIMIT {}",
            params.bind((limit + 1) as i64)
        ));
        let rows = client.query(&sql, &params.refs()).await.map_err(backend)?;
        let more = rows.len() > limit;
        let mut items = Vec::with_capacity(limit);
        let mut last_seq = None;
        for row in rows.iter().take(limit) {
            items.push(row_to_version(row));
            last_seq = Some(row.get::<_, i64>(12));
        }
        Ok(geneva_store::VersionPage {
            items,
            next: more.then(|| last_seq.map(Cursor::after_version)).flatten(),
        })
    }

    async fn stats(&self, viewer: &Viewer) -> Result<Stats, StoreError> {
        let client = self.client().await?;
        let groups = visibility::groups_of(&client, viewer).await?;
        let mut params = Params::default();
        let seq = visibility::visible_seq(viewer, &groups, &mut params);
        let sql = format!(
            "SELECT v.type, v.tlp, count(*) FILTER (WHERE v.revoked), count(*) FROM current_objects c \
             JOIN object_versions v ON v.seq = ({seq}) GROUP BY v.type, v.tlp"
        );
        let rows = client.query(&sql, &params.refs()).await.map_err(backend)?;
        let mut stats = Stats::default();
        let mut by_type: std::collections::BTreeMap<String, u64> =
            std::collections::BTreeMap::new();
        let mut by_tlp: std::collections::BTreeMap<Tlp, u64> = std::collections::BTreeMap::new();
        for row in rows {
            let (t, tlp, revoked, n): (String, String, i64, i64) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            stats.objects += n as u64;
            stats.revoked += revoked as u64;
            *by_type.entry(t).or_default() += n as u64;
            *by_tlp
                .entry(tlp.parse::<Tlp>().unwrap_or(Tlp::Red))
                .or_default() += n as u64;
        }
        stats.objects_by_type = by_type.into_iter().collect();
        stats.by_tlp = by_tlp.into_iter().collect();
        let mut params = Params::default();
        let visible = visibility::version_visible("v", viewer, &groups, &mut params);
        let versions: i64 = client
            .query_one(
                &format!("SELECT count(*) FROM object_versions v WHERE {visible}"),
                &params.refs(),
            )
            .await
            .map_err(backend)?
            .get(0);
        stats.versions = versions as u64;
        Ok(stats)
    }

    async fn corr_feed(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<geneva_store::FeedVersion>, StoreError> {
        correlation::feed(&self.client().await?, after, limit).await
    }

    async fn current_versions(
        &self,
        ids: &[String],
    ) -> Result<Vec<(u64, StoredVersion)>, StoreError> {
        correlation::current_versions(&self.client().await?, ids).await
    }

    async fn all_versions(&self, ids: &[String]) -> Result<Vec<(u64, StoredVersion)>, StoreError> {
        correlation::all_versions(&self.client().await?, ids).await
    }

    async fn visible_seqs(
        &self,
        seqs: &[u64],
        viewer: &Viewer,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        correlation::visible_seqs(&self.client().await?, seqs, viewer).await
    }

    async fn version_access(
        &self,
        seqs: &[u64],
    ) -> Result<Vec<geneva_store::VersionAccess>, StoreError> {
        correlation::version_access(&self.client().await?, seqs).await
    }

    async fn version_seqs(&self, id: &str, viewer: &Viewer) -> Result<Vec<u64>, StoreError> {
        correlation::version_seqs(&self.client().await?, id, viewer).await
    }

    async fn version_records(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<VersionRecord>, StoreError> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {VERSION_COLUMNS}, v.seq = (SELECT c.seq FROM current_objects c WHERE c.id = v.id), v.seq, v.org_id, \
             coalesce((SELECT array_agg(r.kind || ':' || r.ref_id ORDER BY r.kind, r.ref_id) FROM version_recipients r \
                       WHERE r.seq = v.seq), '{{}}') \
             FROM object_versions v WHERE v.seq > $1 ORDER BY v.seq LIMIT $2"
        );
        let rows = client
            .query(&sql, &[&(after as i64), &(limit.min(100_000) as i64)])
            .await
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|row| {
                let mut recipients = Recipients::default();
                for pair in row.get::<_, Vec<String>>(14) {
                    if let Some((kind, id)) = pair.split_once(':') {
                        let id: i64 = id.parse().unwrap_or_default();
                        match kind {
                            "org" => recipients.organisations.push(id),
                            "group" => recipients.groups.push(id),
                            _ => recipients.users.push(id),
                        }
                    }
                }
                VersionRecord {
                    seq: row.get::<_, i64>(12) as u64,
                    version: row_to_version(row),
                    organisation_id: row.get(13),
                    recipients,
                }
            })
            .collect())
    }

    async fn take_sequence(
        &self,
        name: &str,
        count: u64,
    ) -> Result<std::ops::Range<u64>, StoreError> {
        let end: i64 = self
            .client()
            .await?
            .query_one(
                "INSERT INTO sequences (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = sequences.value + excluded.value RETURNING value",
                &[&name, &(count as i64)],
            )
            .await
            .map_err(backend)?
            .get(0);
        Ok(end as u64 - count..end as u64)
    }

    async fn log_state(&self) -> Result<LogState, StoreError> {
        let row = self
            .client()
            .await?
            .query_one(
                "SELECT size, checkpoint, public_key, (SELECT count(*) FROM log_pending) FROM log_state WHERE id = 1",
                &[],
            )
            .await
            .map_err(backend)?;
        Ok(LogState {
            size: row.get::<_, i64>(0) as u64,
            checkpoint: row.get(1),
            public_key: row.get(2),
            pending: row.get::<_, i64>(3) as u64,
        })
    }

    async fn log_secret(&self, candidate: [u8; 32]) -> Result<[u8; 32], StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE log_state SET secret = $1 WHERE id = 1 AND secret IS NULL",
                &[&candidate.as_slice()],
            )
            .await
            .map_err(backend)?;
        let secret: Vec<u8> = client
            .query_one("SELECT secret FROM log_state WHERE id = 1", &[])
            .await
            .map_err(backend)?
            .get(0);
        secret
            .try_into()
            .map_err(|_| StoreError::Corrupt("the log's blinding secret is not 32 bytes".into()))
    }

    async fn log_pending(&self, from: u64, limit: usize) -> Result<Vec<LogEntry>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT p.leaf_index, p.kind, v.id, v.version, v.sha256, v.organisation, v.submitted_at, v.tlp \
                 FROM log_pending p LEFT JOIN object_versions v ON v.seq = p.ref \
                 WHERE p.leaf_index >= $1 ORDER BY p.leaf_index LIMIT $2",
                &[&(from as i64), &(limit as i64)],
            )
            .await
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            let id: Option<String> = row.get(2);
            let Some(id) = id else { break };
            let kind: String = row.get(1);
            let tlp: String = row.get(7);
            let sha: Vec<u8> = row.get(4);
            out.push(LogEntry {
                leaf_index: row.get::<_, i64>(0) as u64,
                kind: LeafKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown leaf kind {kind:?}")))?,
                id,
                version: row.get(3),
                sha256: sha.try_into().unwrap_or([0; 32]),
                organisation: row.get(5),
                submitted_at: row.get(6),
                tlp: tlp.parse::<Tlp>().unwrap_or(Tlp::Red),
            });
        }
        Ok(out)
    }

    async fn log_append(&self, append: LogAppend) -> Result<(), StoreError> {
        use futures_util::future::try_join_all;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        // The state row's lock serialises integrators on every process.
        let row = tx
            .query_one(
                "SELECT size, public_key FROM log_state WHERE id = 1 FOR UPDATE",
                &[],
            )
            .await
            .map_err(backend)?;
        let size = row.get::<_, i64>(0) as u64;
        if size != append.old_size {
            return Err(StoreError::LogMoved {
                expected: append.old_size,
                found: size,
            });
        }
        if let Some(stored) = row.get::<_, Option<String>>(1)
            && stored != append.public_key
        {
            return Err(StoreError::LogKeyMismatch {
                stored,
                given: append.public_key,
            });
        }
        let put = tx
            .prepare_cached(
                "INSERT INTO log_strips (key, hashes) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET hashes = excluded.hashes WHERE log_strips.hashes <> excluded.hashes",
            )
            .await
            .map_err(backend)?;
        let rows: Vec<(i64, Vec<u8>)> = append
            .strips
            .iter()
            .map(|s| (strip_key_to_i64(s.key), s.to_bytes()))
            .collect();
        let put = &put;
        let tx_ref = &tx;
        try_join_all(
            rows.iter()
                .map(|(key, bytes)| async move { tx_ref.execute(put, &[key, bytes]).await }),
        )
        .await
        .map_err(backend)?;
        tx.execute(
            "DELETE FROM log_pending WHERE leaf_index < $1",
            &[&(append.new_size as i64)],
        )
        .await
        .map_err(backend)?;
        tx.execute(
            "UPDATE log_state SET size = $1, checkpoint = $2, public_key = $3 WHERE id = 1",
            &[
                &(append.new_size as i64),
                &append.checkpoint,
                &append.public_key,
            ],
        )
        .await
        .map_err(backend)?;
        tx.execute(
            "INSERT INTO log_checkpoints (size, note, signed_at) VALUES ($1, $2, $3)",
            &[
                &(append.new_size as i64),
                &append.checkpoint,
                &append.signed_at,
            ],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn log_strips(
        &self,
        keys: &[geneva_tlog::StripKey],
    ) -> Result<Vec<geneva_tlog::Strip>, StoreError> {
        let raw: Vec<i64> = keys.iter().map(|k| strip_key_to_i64(*k)).collect();
        let rows = self
            .client()
            .await?
            .query(
                "SELECT key, hashes FROM log_strips WHERE key = ANY($1)",
                &[&raw],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let key = geneva_store::strip_key_from_i64(row.get(0));
                let bytes: Vec<u8> = row.get(1);
                geneva_tlog::Strip::from_bytes(key, &bytes).ok_or_else(|| {
                    StoreError::Corrupt(format!("log strip {key:?} is not a list of hashes"))
                })
            })
            .collect()
    }

    async fn log_checkpoint(&self, size: u64) -> Result<Option<String>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT note FROM log_checkpoints WHERE size = $1",
                &[&(size as i64)],
            )
            .await
            .map_err(backend)?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn log_rotate_key(&self, old: &str, new: &str) -> Result<bool, StoreError> {
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE log_state SET public_key = $2 WHERE id = 1 AND (public_key = $1 OR public_key IS NULL)",
                &[&old, &new],
            )
            .await
            .map_err(backend)?;
        Ok(changed == 1)
    }

    async fn log_add_witness(&self, witness: &Witness) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO log_witnesses (name, public_key, added_at) VALUES ($1, $2, $3)",
                &[&witness.name, &witness.public_key, &witness.added_at],
            )
            .await
            .map_err(constraint(format!("witness {}", witness.name)))?;
        Ok(())
    }

    async fn log_witnesses(&self) -> Result<Vec<Witness>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT name, public_key, added_at FROM log_witnesses ORDER BY name",
                &[],
            )
            .await
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|r| Witness {
                name: r.get(0),
                public_key: r.get(1),
                added_at: r.get(2),
            })
            .collect())
    }

    async fn log_add_cosignature(&self, c: &Cosignature) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO log_cosignatures (size, witness, line, received_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (size, witness) DO NOTHING",
                &[&(c.size as i64), &c.witness, &c.line, &c.received_at],
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn log_cosignatures(&self, size: u64) -> Result<Vec<Cosignature>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT size, witness, line, received_at FROM log_cosignatures WHERE size = $1 ORDER BY witness",
                &[&(size as i64)],
            )
            .await
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|r| Cosignature {
                size: r.get::<_, i64>(0) as u64,
                witness: r.get(1),
                line: r.get(2),
                received_at: r.get(3),
            })
            .collect())
    }

    async fn log_witnessed_size(&self, min: usize) -> Result<Option<u64>, StoreError> {
        let row = self
            .client()
            .await?
            .query_one(
                "SELECT max(size) FROM (SELECT size FROM log_cosignatures GROUP BY size HAVING count(*) >= $1) AS s",
                &[&(min as i64)],
            )
            .await
            .map_err(backend)?;
        Ok(row.get::<_, Option<i64>>(0).map(|s| s as u64))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute("SELECT 1", &[])
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn add_organisation(
        &self,
        name: &str,
        kind: OrgKind,
        country: Option<CountryCode>,
    ) -> Result<Organisation, StoreError> {
        let created_at = geneva_stix::timestamp::now_rfc3339();
        let row = self
            .client()
            .await?
            .query_one(
                "INSERT INTO organisations (name, kind, country, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                &[&name, &kind.as_str(), &country.as_ref().map(CountryCode::as_str), &created_at],
            )
            .await
            .map_err(constraint(format!("organisation {name:?}")))?;
        Ok(Organisation {
            id: row.get(0),
            name: name.to_owned(),
            kind,
            country,
            created_at,
        })
    }

    async fn organisation(&self, name: &str) -> Result<Option<Organisation>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT id, name, kind, country, created_at FROM organisations WHERE name = $1",
                &[&name],
            )
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(row_to_organisation))
    }

    async fn organisation_by_id(&self, id: i64) -> Result<Option<Organisation>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT id, name, kind, country, created_at FROM organisations WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(row_to_organisation))
    }

    async fn organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        let rows = self
            .client()
            .await?
            .query("SELECT id, name, kind, country, created_at FROM organisations ORDER BY name COLLATE \"C\"", &[])
            .await
            .map_err(backend)?;
        Ok(rows.iter().map(row_to_organisation).collect())
    }

    async fn add_user(&self, name: &str, organisation: i64) -> Result<User, StoreError> {
        let row = self
            .client()
            .await?
            .query_one(
                "INSERT INTO users (name, organisation) VALUES ($1, $2) RETURNING id",
                &[&name, &organisation],
            )
            .await
            .map_err(constraint(format!("user {name:?}")))?;
        Ok(User {
            id: row.get(0),
            name: name.to_owned(),
            organisation,
        })
    }

    async fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT id, name, organisation FROM users WHERE name = $1",
                &[&name],
            )
            .await
            .map_err(backend)?;
        Ok(row.map(|r| User {
            id: r.get(0),
            name: r.get(1),
            organisation: r.get(2),
        }))
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, name, organisation FROM users ORDER BY name COLLATE \"C\"",
                &[],
            )
            .await
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|r| User {
                id: r.get(0),
                name: r.get(1),
                organisation: r.get(2),
            })
            .collect())
    }

    async fn add_group(&self, name: &str, members: &[i64]) -> Result<SharingGroup, StoreError> {
        let mut members = members.to_vec();
        members.sort_unstable();
        members.dedup();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO sharing_groups (name) VALUES ($1) RETURNING id",
                &[&name],
            )
            .await
            .map_err(constraint(format!("sharing group {name:?}")))?
            .get(0);
        for m in &members {
            tx.execute(
                "INSERT INTO sharing_group_members (group_id, organisation) VALUES ($1, $2)",
                &[&id, m],
            )
            .await
            .map_err(constraint(format!("sharing group {name:?}")))?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(SharingGroup {
            id,
            name: name.to_owned(),
            members,
        })
    }

    async fn groups(&self) -> Result<Vec<SharingGroup>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT g.id, g.name, m.organisation FROM sharing_groups g \
                 LEFT JOIN sharing_group_members m ON m.group_id = g.id ORDER BY g.name COLLATE \"C\", m.organisation",
                &[],
            )
            .await
            .map_err(backend)?;
        let mut groups: Vec<SharingGroup> = Vec::new();
        for row in rows {
            let (id, name, member): (i64, String, Option<i64>) =
                (row.get(0), row.get(1), row.get(2));
            if groups.last().is_none_or(|g| g.id != id) {
                groups.push(SharingGroup {
                    id,
                    name,
                    members: Vec::new(),
                });
            }
            if let (Some(m), Some(g)) = (member, groups.last_mut()) {
                g.members.push(m);
            }
        }
        Ok(groups)
    }

    async fn add_token(&self, record: &TokenRecord, hash: TokenHash) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO api_tokens (id, secret_sha256, organisation, user_id, scopes, label, created_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &record.id.as_str(),
                    &hash.0.as_slice(),
                    &record.organisation,
                    &record.user,
                    &i16::from(record.scopes.bits()),
                    &record.label,
                    &record.created_at,
                    &record.revoked_at,
                ],
            )
            .await
            .map_err(constraint(format!("token {}", record.id)))?;
        Ok(())
    }

    async fn token(&self, id: &TokenId) -> Result<Option<(TokenRecord, TokenHash)>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1"),
                &[&id.as_str()],
            )
            .await
            .map_err(backend)?;
        row.as_ref().map(row_to_token).transpose()
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id"),
                &[],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|r| row_to_token(r).map(|(record, _)| record))
            .collect()
    }

    async fn revoke_token(&self, id: &TokenId, at: &str) -> Result<bool, StoreError> {
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1",
                &[&id.as_str(), &at],
            )
            .await
            .map_err(backend)?;
        Ok(changed == 1)
    }

    async fn add_feed(
        &self,
        feed: &geneva_store::NewFeed,
    ) -> Result<geneva_store::Feed, StoreError> {
        let row = self
            .client()
            .await?
            .query_one(
                &format!(
                    "INSERT INTO feeds (url, collection, user_name, password_env, every_secs, allow_private, \
                     organisation, tlp, since, last_added, next_run_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING {FEED_COLUMNS}"
                ),
                &[
                    &feed.url,
                    &feed.collection,
                    &feed.user,
                    &feed.password_env,
                    &feed.every_secs,
                    &feed.allow_private,
                    &feed.organisation,
                    &feed.tlp.as_str(),
                    &feed.since,
                    &geneva_stix::timestamp::now_unix_millis(),
                ],
            )
            .await
            .map_err(backend)?;
        Ok(feed_of(&row))
    }

    async fn feeds(&self) -> Result<Vec<geneva_store::Feed>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                &format!("SELECT {FEED_COLUMNS} FROM feeds ORDER BY id"),
                &[],
            )
            .await
            .map_err(backend)?;
        Ok(rows.iter().map(feed_of).collect())
    }

    async fn remove_feed(&self, id: i64) -> Result<bool, StoreError> {
        self.client()
            .await?
            .execute("DELETE FROM feeds WHERE id = $1", &[&id])
            .await
            .map(|n| n > 0)
            .map_err(backend)
    }

    async fn claim_due_feeds(&self, now_ms: i64) -> Result<Vec<geneva_store::Feed>, StoreError> {
        // One statement: of several servers on this database, the one whose
        // update takes a feed's row runs it; the others no longer see it due.
        // RETURNING gives the new next run; the caller needs the rest.
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "UPDATE feeds SET next_run_ms = $1 + every_secs * 1000 WHERE next_run_ms <= $1 \
                     RETURNING {FEED_COLUMNS}"
                ),
                &[&now_ms],
            )
            .await
            .map_err(backend)?;
        let mut feeds: Vec<geneva_store::Feed> = rows.iter().map(feed_of).collect();
        feeds.sort_by_key(|f| f.id);
        Ok(feeds)
    }

    async fn record_feed_run(
        &self,
        id: i64,
        run: &geneva_store::FeedRun,
    ) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "UPDATE feeds SET last_added = coalesce($2, last_added), last_run_ms = $3, \
                 last_objects = $4, last_error = $5 WHERE id = $1",
                &[&id, &run.last_added, &run.at_ms, &run.objects, &run.error],
            )
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn relationships_from(
        &self,
        source: &str,
        viewer: &Viewer,
    ) -> Result<Vec<StoredVersion>, StoreError> {
        // Matches the partial expression index of migration 0009.
        let rows = self
            .client()
            .await?
            .query(
                "SELECT DISTINCT id FROM object_versions \
                 WHERE type = 'relationship' AND (canonical::jsonb ->> 'source_ref') = $1",
                &[&source],
            )
            .await
            .map_err(backend)?;
        let ids = rows.iter().map(|r| r.get(0)).collect();
        geneva_store::visible_relationships_from(self, ids, source, viewer).await
    }

    async fn put_case(
        &self,
        id: &str,
        document: &str,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let found: Option<i64> = tx
            .query_opt(
                "SELECT revision FROM cases WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await
            .map_err(backend)?
            .map(|r| r.get(0));
        let next = geneva_store::next_case_revision(id, expected, found.map(|f| f as u64))?;
        // Two new cases with one id race to the primary key: the loser is told.
        tx.execute(
            "INSERT INTO cases (id, revision, document) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, document = excluded.document",
            &[&id, &(next as i64), &document],
        )
        .await
        .map_err(constraint(format!("case {id}")))?;
        tx.commit().await.map_err(backend)?;
        Ok(next)
    }

    async fn case(&self, id: &str) -> Result<Option<geneva_store::CaseRecord>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT id, revision, document FROM cases WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(backend)?;
        Ok(row.map(|r| geneva_store::CaseRecord {
            id: r.get(0),
            revision: r.get::<_, i64>(1) as u64,
            document: r.get(2),
        }))
    }

    async fn cases(&self) -> Result<Vec<geneva_store::CaseRecord>, StoreError> {
        let rows = self
            .client()
            .await?
            .query("SELECT id, revision, document FROM cases ORDER BY id", &[])
            .await
            .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|r| geneva_store::CaseRecord {
                id: r.get(0),
                revision: r.get::<_, i64>(1) as u64,
                document: r.get(2),
            })
            .collect())
    }

    async fn put_knowledge_source(
        &self,
        source: &geneva_store::KnowledgeSource,
    ) -> Result<bool, StoreError> {
        let i = &source.info;
        self.client()
            .await?
            .execute(
                "INSERT INTO knowledge_sources (kind, name, version, sha256, size, imported_ms, bytes) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (kind, name) DO UPDATE SET version = excluded.version, \
                 sha256 = excluded.sha256, size = excluded.size, imported_ms = excluded.imported_ms, \
                 bytes = excluded.bytes WHERE knowledge_sources.sha256 <> excluded.sha256",
                &[&i.kind, &i.name, &i.version, &i.sha256, &i.size, &i.imported_ms, &source.bytes],
            )
            .await
            .map(|n| n > 0)
            .map_err(backend)
    }

    async fn knowledge_sources(
        &self,
    ) -> Result<Vec<geneva_store::KnowledgeSourceInfo>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT kind, name, version, sha256, size, imported_ms FROM knowledge_sources \
                 ORDER BY kind, name",
                &[],
            )
            .await
            .map_err(backend)?;
        Ok(rows.iter().map(knowledge_source_info).collect())
    }

    async fn knowledge_source(
        &self,
        kind: &str,
        name: &str,
    ) -> Result<Option<geneva_store::KnowledgeSource>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT kind, name, version, sha256, size, imported_ms, bytes FROM knowledge_sources \
                 WHERE kind = $1 AND name = $2",
                &[&kind, &name],
            )
            .await
            .map_err(backend)?;
        Ok(row.map(|r| geneva_store::KnowledgeSource {
            info: knowledge_source_info(&r),
            bytes: r.get(6),
        }))
    }

    async fn put_request_status(
        &self,
        status: &geneva_store::RequestStatus,
    ) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO request_status (id, owner, created_at, body) VALUES ($1, $2, $3, $4)",
                &[&status.id, &status.owner, &status.created_at, &status.body],
            )
            .await
            .map(|_| ())
            .map_err(constraint(format!("request status {}", status.id)))
    }

    async fn request_status(
        &self,
        id: &str,
    ) -> Result<Option<geneva_store::RequestStatus>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT id, owner, created_at, body FROM request_status WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(backend)?;
        Ok(row.map(|r| geneva_store::RequestStatus {
            id: r.get(0),
            owner: r.get(1),
            created_at: r.get(2),
            body: r.get(3),
        }))
    }

    async fn audit(&self, entries: Vec<NewAuditEntry>) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let insert = tx
            .prepare_cached("INSERT INTO audit_log (at, actor, action, channel, target, detail) VALUES ($1, $2, $3, $4, $5, $6)")
            .await
            .map_err(backend)?;
        for e in &entries {
            tx.execute(
                &insert,
                &[&e.at, &e.actor, &e.action, &e.channel, &e.target, &e.detail],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn audit_log(&self, after: u64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, at, actor, action, channel, target, detail FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&(after as i64), &(limit.min(100_000) as i64)],
            )
            .await
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                seq: r.get::<_, i64>(0) as u64,
                entry: NewAuditEntry {
                    at: r.get(1),
                    actor: r.get(2),
                    action: r.get(3),
                    channel: r.get(4),
                    target: r.get(5),
                    detail: r.get(6),
                },
            })
            .collect())
    }
}

/// Lets a `ToSql` value be boxed into a dynamic parameter list.
pub(crate) type Param = Box<dyn ToSql + Sync + Send>;

const FEED_COLUMNS: &str = "id, url, collection, user_name, password_env, every_secs, allow_private, \
     organisation, tlp, since, last_added, next_run_ms, last_run_ms, last_objects, last_error";

fn feed_of(r: &Row) -> geneva_store::Feed {
    let tlp: String = r.get(8);
    geneva_store::Feed {
        id: r.get(0),
        spec: geneva_store::NewFeed {
            url: r.get(1),
            collection: r.get(2),
            user: r.get(3),
            password_env: r.get(4),
            every_secs: r.get(5),
            allow_private: r.get(6),
            organisation: r.get(7),
            tlp: tlp.parse::<Tlp>().unwrap_or(Tlp::Red),
            since: r.get(9),
        },
        last_added: r.get(10),
        next_run_ms: r.get(11),
        last_run_ms: r.get(12),
        last_objects: r.get(13),
        last_error: r.get(14),
    }
}

fn knowledge_source_info(r: &tokio_postgres::Row) -> geneva_store::KnowledgeSourceInfo {
    geneva_store::KnowledgeSourceInfo {
        kind: r.get(0),
        name: r.get(1),
        version: r.get(2),
        sha256: r.get(3),
        size: r.get(4),
        imported_ms: r.get(5),
    }
}
