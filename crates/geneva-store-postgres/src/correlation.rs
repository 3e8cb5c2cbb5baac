//! What the correlation index (`geneva-postings`) reads from the store: the
//! feed, which follows leaf numbers (they become visible in order across
//! processes), current versions of referenced objects, and which versions a
//! viewer may see.

use deadpool_postgres::GenericClient;
use geneva_store::{FeedVersion, StoreError, StoredVersion, Viewer};

use crate::visibility::{self, Params};
use crate::{VERSION_COLUMNS, backend, row_to_version};

pub(crate) async fn feed(
    client: &impl GenericClient,
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<FeedVersion>, StoreError> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS}, v.seq = (SELECT c.seq FROM current_objects c WHERE c.id = v.id), v.seq \
         FROM object_versions v WHERE v.leaf_index > $1 ORDER BY v.leaf_index LIMIT $2"
    );
    let after = after.map_or(-1, |a| a as i64);
    let rows = client
        .query(&sql, &[&after, &(limit.min(100_000) as i64)])
        .await
        .map_err(backend)?;
    Ok(rows
        .iter()
        .map(|r| {
            let version = row_to_version(r);
            FeedVersion {
                position: version.leaf_index.unwrap_or_default(),
                seq: r.get::<_, i64>(12) as u64,
                version,
            }
        })
        .collect())
}

pub(crate) async fn current_versions(
    client: &impl GenericClient,
    ids: &[String],
) -> Result<Vec<(u64, StoredVersion)>, StoreError> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS}, true, v.seq FROM current_objects c JOIN object_versions v ON v.seq = c.seq \
         WHERE c.id = ANY($1) ORDER BY v.seq"
    );
    let rows = client.query(&sql, &[&ids]).await.map_err(backend)?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, i64>(12) as u64, row_to_version(r)))
        .collect())
}

pub(crate) async fn all_versions(
    client: &impl GenericClient,
    ids: &[String],
) -> Result<Vec<(u64, StoredVersion)>, StoreError> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS}, v.seq = c.seq, v.seq FROM object_versions v \
         JOIN current_objects c ON c.id = v.id WHERE v.id = ANY($1) ORDER BY v.seq"
    );
    let rows = client.query(&sql, &[&ids]).await.map_err(backend)?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, i64>(12) as u64, row_to_version(r)))
        .collect())
}

pub(crate) async fn visible_seqs(
    client: &deadpool_postgres::Object,
    seqs: &[u64],
    viewer: &Viewer,
) -> Result<Vec<(u64, String)>, StoreError> {
    let groups = visibility::groups_of(client, viewer).await?;
    let mut out = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(10_000) {
        let mut params = Params::default();
        let visible = visibility::version_visible("v", viewer, &groups, &mut params);
        let list = params.bind(chunk.iter().map(|s| *s as i64).collect::<Vec<i64>>());
        let sql = format!(
            "SELECT v.seq, v.id FROM unnest({list}::bigint[]) AS k(seq) \
             JOIN object_versions v ON v.seq = k.seq WHERE {visible}"
        );
        for r in client.query(&sql, &params.refs()).await.map_err(backend)? {
            out.push((r.get::<_, i64>(0) as u64, r.get(1)));
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

pub(crate) async fn version_seqs(
    client: &deadpool_postgres::Object,
    id: &str,
    viewer: &Viewer,
) -> Result<Vec<u64>, StoreError> {
    let groups = visibility::groups_of(client, viewer).await?;
    let mut params = Params::default();
    let visible = visibility::version_visible("v", viewer, &groups, &mut params);
    let id_arg = params.bind(id.to_owned());
    let sql = format!(
        "SELECT v.seq FROM object_versions v WHERE v.id = {id_arg} AND {visible} ORDER BY v.seq"
    );
    let rows = client.query(&sql, &params.refs()).await.map_err(backend)?;
    Ok(rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect())
}

pub(crate) async fn version_access(
    client: &deadpool_postgres::Object,
    seqs: &[u64],
) -> Result<Vec<geneva_store::VersionAccess>, StoreError> {
    let mut out = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(10_000) {
        let list: Vec<i64> = chunk.iter().map(|s| *s as i64).collect();
        let rows = client
            .query(
                "SELECT v.seq, v.id, v.tlp, v.org_id, \
                   coalesce((SELECT array_agg(r.kind || ':' || r.ref_id ORDER BY r.kind, r.ref_id) \
                             FROM version_recipients r WHERE r.seq = v.seq), '{}') \
                 FROM unnest($1::bigint[]) AS k(seq) JOIN object_versions v ON v.seq = k.seq ORDER BY v.seq",
                &[&list],
            )
            .await
            .map_err(backend)?;
        for r in rows {
            let seq: i64 = r.get(0);
            let tlp: String = r.get(2);
            let mut recipients = geneva_store::Recipients::default();
            for pair in r.get::<_, Vec<String>>(4) {
                let Some((kind, id)) = pair.split_once(':') else {
                    continue;
                };
                let id: i64 = id.parse().map_err(|_| {
                    StoreError::Corrupt(format!("recipient {pair:?} of version {seq}"))
                })?;
                match kind {
                    "org" => recipients.organisations.push(id),
                    "group" => recipients.groups.push(id),
                    _ => recipients.users.push(id),
                }
            }
            out.push(geneva_store::VersionAccess {
                seq: seq as u64,
                id: r.get(1),
                tlp: tlp.parse().map_err(|_| {
                    StoreError::Corrupt(format!("version {seq} has TLP level {tlp:?}"))
                })?,
                organisation_id: r.get(3),
                recipients,
            });
        }
    }
    Ok(out)
}
