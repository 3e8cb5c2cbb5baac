//! What the correlation index (`geneva-postings`) reads from the store: the
//! feed of versions in storage order, current versions of referenced
//! objects, and which versions a viewer may see.

use geneva_store::{FeedVersion, StoreError, Viewer};
use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::FxHashMap;

use crate::{VERSION_COLUMNS, backend, row_to_version, visibility};

pub(crate) fn feed(
    conn: &Connection,
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<FeedVersion>, StoreError> {
    // One writer commits in seq order: the seq is the feed position.
    let sql = format!(
        "SELECT {VERSION_COLUMNS}, v.seq = (SELECT c.seq FROM current_objects c WHERE c.id = v.id), v.seq \
         FROM object_versions v WHERE v.seq > ?1 ORDER BY v.seq LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let after = after.map_or(-1, |a| a as i64);
    let rows = stmt
        .query_map(params![after, limit.min(100_000) as i64], |r| {
            let seq: i64 = r.get(12)?;
            Ok(FeedVersion {
                position: seq as u64,
                seq: seq as u64,
                version: row_to_version(r)?,
            })
        })
        .map_err(backend)?;
    rows.collect::<Result<_, _>>().map_err(backend)
}

pub(crate) fn current_versions(
    conn: &Connection,
    ids: &[String],
) -> Result<Vec<(u64, geneva_store::StoredVersion)>, StoreError> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS}, 1, v.seq FROM current_objects c JOIN object_versions v ON v.seq = c.seq WHERE c.id = ?1"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let mut out = Vec::new();
    for id in ids {
        if let Some(found) = stmt
            .query_row([id], |r| {
                Ok((r.get::<_, i64>(12)? as u64, row_to_version(r)?))
            })
            .optional()
            .map_err(backend)?
        {
            out.push(found);
        }
    }
    Ok(out)
}

pub(crate) fn all_versions(
    conn: &Connection,
    ids: &[String],
) -> Result<Vec<(u64, geneva_store::StoredVersion)>, StoreError> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS}, v.seq = c.seq, v.seq FROM object_versions v \
         JOIN current_objects c ON c.id = v.id WHERE v.id = ?1 ORDER BY v.seq"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let mut out = Vec::new();
    for id in ids {
        let rows = stmt
            .query_map([id], |r| {
                Ok((r.get::<_, i64>(12)? as u64, row_to_version(r)?))
            })
            .map_err(backend)?;
        for row in rows {
            out.push(row.map_err(backend)?);
        }
    }
    Ok(out)
}

fn json_list(ids: &[i64]) -> String {
    format!(
        "[{}]",
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    )
}

/// The STIX ids of those of `seqs` the viewer may see.
pub(crate) fn visible_ids(
    conn: &Connection,
    viewer: &Viewer,
    seqs: Vec<i64>,
) -> Result<FxHashMap<i64, String>, StoreError> {
    let groups = visibility::groups_of(conn, viewer).map_err(backend)?;
    let mut args = Vec::new();
    let visible = visibility::version_visible("v", viewer, &groups, &mut args);
    let list = visibility::bind(&mut args, String::new());
    let at = args.len() - 1;
    let sql = format!(
        "SELECT v.seq, v.id FROM object_versions v WHERE v.seq IN (SELECT value FROM json_each({list})) AND {visible}"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let mut out = FxHashMap::default();
    for chunk in seqs.chunks(10_000) {
        args[at] = rusqlite::types::Value::Text(json_list(chunk));
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(backend)?;
        for row in rows {
            let (seq, id) = row.map_err(backend)?;
            out.insert(seq, id);
        }
    }
    Ok(out)
}

pub(crate) fn version_seqs(
    conn: &Connection,
    id: &str,
    viewer: &Viewer,
) -> Result<Vec<u64>, StoreError> {
    let groups = visibility::groups_of(conn, viewer).map_err(backend)?;
    let mut args = Vec::new();
    let visible = visibility::version_visible("v", viewer, &groups, &mut args);
    let id_arg = visibility::bind(&mut args, id.to_owned());
    let sql = format!(
        "SELECT v.seq FROM object_versions v WHERE v.id = {id_arg} AND {visible} ORDER BY v.seq"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, i64>(0))
        .map_err(backend)?;
    rows.map(|r| r.map(|s| s as u64))
        .collect::<Result<_, _>>()
        .map_err(backend)
}

pub(crate) fn version_access(
    conn: &Connection,
    seqs: &[i64],
) -> Result<Vec<geneva_store::VersionAccess>, StoreError> {
    let mut versions = conn
        .prepare_cached(
            "SELECT v.seq, v.id, v.tlp, v.org_id FROM object_versions v \
             WHERE v.seq IN (SELECT value FROM json_each(?1)) ORDER BY v.seq",
        )
        .map_err(backend)?;
    let mut recipients = conn
        .prepare_cached(
            "SELECT r.seq, r.kind, r.ref_id FROM version_recipients r \
             WHERE r.seq IN (SELECT value FROM json_each(?1)) ORDER BY r.seq, r.kind, r.ref_id",
        )
        .map_err(backend)?;
    let mut out: Vec<geneva_store::VersionAccess> = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(10_000) {
        let list = json_list(chunk);
        let rows = versions
            .query_map([&list], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                ))
            })
            .map_err(backend)?;
        let first = out.len();
        for row in rows {
            let (seq, id, tlp, organisation_id) = row.map_err(backend)?;
            let tlp = tlp
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("version {seq} has TLP level {tlp:?}")))?;
            out.push(geneva_store::VersionAccess {
                seq: seq as u64,
                id,
                tlp,
                organisation_id,
                recipients: Default::default(),
            });
        }
        let position: FxHashMap<u64, usize> = out[first..]
            .iter()
            .enumerate()
            .map(|(i, a)| (a.seq, first + i))
            .collect();
        let rows = recipients
            .query_map([&list], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(backend)?;
        for row in rows {
            let (seq, kind, id) = row.map_err(backend)?;
            if let Some(&at) = position.get(&(seq as u64)) {
                let to = &mut out[at].recipients;
                match kind.as_str() {
                    "org" => to.organisations.push(id),
                    "group" => to.groups.push(id),
                    _ => to.users.push(id),
                }
            }
        }
    }
    Ok(out)
}
