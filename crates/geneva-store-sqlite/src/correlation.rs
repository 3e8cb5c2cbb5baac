//! The correlation index's tables (migration 0006): writes in one
//! transaction per batch, reads with the viewer's rules applied to both the
//! item version and the source version of every posting.

use geneva_store::{
    Capped, FeedVersion, IndexBatch, IndexStats, IndexedValue, PostingHit, StoreError,
    VALUE_PROBES, Viewer, address_bytes, pack_value_ids, unpack_value_ids, value_hash,
};
use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::{FxHashMap, FxHashSet};

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

pub(crate) fn cursor(conn: &Connection) -> Result<Option<u64>, StoreError> {
    conn.query_row("SELECT cursor FROM corr_state WHERE id = 1", [], |r| {
        r.get::<_, Option<i64>>(0)
    })
    .map(|c| c.map(|c| c as u64))
    .map_err(backend)
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

pub(crate) fn referrers(
    conn: &Connection,
    ids: &[String],
) -> Result<Vec<(String, u64)>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT item FROM corr_references WHERE target = ?1")
        .map_err(backend)?;
    let mut out = Vec::new();
    for id in ids {
        let rows = stmt
            .query_map([id], |r| r.get::<_, i64>(0))
            .map_err(backend)?;
        for item in rows {
            out.push((id.clone(), item.map_err(backend)? as u64));
        }
    }
    Ok(out)
}

/// The id a value key is stored under, placing it when `create` and absent.
/// Returns the id and whether the value is new.
fn intern(conn: &Connection, key: &str, create: bool) -> Result<Option<(i64, bool)>, StoreError> {
    let base = value_hash(key);
    let mut read = conn
        .prepare_cached("SELECT key FROM corr_values WHERE id = ?1")
        .map_err(backend)?;
    for probe in 0..VALUE_PROBES {
        let id = base + probe;
        match read
            .query_row([id], |r| r.get::<_, String>(0))
            .optional()
            .map_err(backend)?
        {
            Some(existing) if existing == key => return Ok(Some((id, false))),
            Some(_) => continue,
            None if create => {
                conn.prepare_cached("INSERT INTO corr_values (id, key) VALUES (?1, ?2)")
                    .and_then(|mut s| s.execute(params![id, key]))
                    .map_err(backend)?;
                return Ok(Some((id, true)));
            }
            None => return Ok(None),
        }
    }
    Err(StoreError::Corrupt(format!(
        "{VALUE_PROBES} values collide with the hash of {key}"
    )))
}

/// Ids for `keys` (distinct), placing the absent ones; `true` marks a new
/// value. Keys are read at their hash in statements of 5,000 and written in
/// id order, so the B-tree is walked in order; a key whose slot holds another
/// value (a hash collision) is probed one by one.
fn intern_all<'k>(
    conn: &Connection,
    keys: Vec<&'k str>,
) -> Result<FxHashMap<&'k str, (i64, bool)>, StoreError> {
    let mut hashed: Vec<(i64, &str)> = keys.into_iter().map(|k| (value_hash(k), k)).collect();
    hashed.sort_unstable();
    let bases: Vec<i64> = hashed.iter().map(|(h, _)| *h).collect();
    let stored = keys_at(conn, &bases)?;
    let mut insert = conn
        .prepare_cached("INSERT INTO corr_values (id, key) VALUES (?1, ?2)")
        .map_err(backend)?;
    let mut out = FxHashMap::default();
    let mut placed: FxHashSet<i64> = FxHashSet::default();
    for (base, key) in hashed {
        let found = match stored.get(&base) {
            Some(existing) if existing == key => (base, false),
            None if placed.insert(base) => {
                insert.execute(params![base, key]).map_err(backend)?;
                (base, true)
            }
            // Another value holds the slot, in the store or in this batch.
            _ => {
                let (id, new) = intern(conn, key, true)?.expect("created");
                placed.insert(id);
                (id, new)
            }
        };
        out.insert(key, found);
    }
    Ok(out)
}

pub(crate) fn apply(
    conn: &mut Connection,
    batch: IndexBatch,
    from: Option<u64>,
) -> Result<bool, StoreError> {
    let tx = conn.transaction().map_err(backend)?;
    if cursor(&tx)? != from {
        return Ok(false);
    }
    // Every distinct value of the batch, looked up by hash in a few
    // statements and placed in id order: one B-tree walk each, not a
    // statement each.
    let mut distinct: FxHashMap<&str, &IndexedValue> = FxHashMap::default();
    for group in &batch.postings {
        for value in &group.values {
            distinct.entry(value.key.as_str()).or_insert(value);
        }
    }
    let interned = intern_all(&tx, distinct.keys().copied().collect())?;
    let mut postings: Vec<(i64, i64, i64)> = Vec::new();
    let mut derived_rows: Vec<(i64, i64)> = Vec::new();
    {
        let mut address = tx
            .prepare_cached("INSERT OR IGNORE INTO corr_addresses (address, value) VALUES (?1, ?2)")
            .map_err(backend)?;
        let mut prefix = tx
            .prepare_cached("INSERT OR IGNORE INTO corr_prefixes (prefix) VALUES (?1)")
            .map_err(backend)?;
        for (key, value) in &distinct {
            let (id, new) = interned[key];
            if !new {
                continue;
            }
            derived_rows.extend(value.derived.iter().map(|h| (*h as i64, id)));
            if let Some(a) = value.address {
                address
                    .execute(params![address_bytes(a).as_slice(), id])
                    .map_err(backend)?;
            }
            if let Some(p) = value.range_prefix {
                prefix.execute([i64::from(p)]).map_err(backend)?;
            }
        }
        let mut old_items = tx
            .prepare_cached("SELECT vals FROM corr_items WHERE item = ?1 AND source = ?2")
            .map_err(backend)?;
        let mut put_items = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO corr_items (item, source, vals) VALUES (?1, ?2, ?3)",
            )
            .map_err(backend)?;
        for group in &batch.postings {
            let (item, source) = (group.item as i64, group.source as i64);
            let mut ids = Vec::with_capacity(group.values.len());
            for value in &group.values {
                let (id, _) = interned[value.key.as_str()];
                ids.push(id);
                postings.push((id, item, source));
            }
            let old: Option<Vec<u8>> = old_items
                .query_row([item, source], |r| r.get(0))
                .optional()
                .map_err(backend)?;
            if let Some(old) = old {
                let mut all: Vec<i64> = unpack_value_ids(&old).collect();
                all.extend(ids);
                ids = all;
            }
            ids.sort_unstable();
            ids.dedup();
            put_items
                .execute(params![item, source, pack_value_ids(&ids)])
                .map_err(backend)?;
        }
        // In key order the B-trees are written page by page, not at random.
        derived_rows.sort_unstable();
        derived_rows.dedup();
        let mut derived = tx
            .prepare_cached("INSERT OR IGNORE INTO corr_derived (key, value) VALUES (?1, ?2)")
            .map_err(backend)?;
        for (key, value) in derived_rows {
            derived.execute(params![key, value]).map_err(backend)?;
        }
        postings.sort_unstable();
        postings.dedup();
        let mut put = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO corr_postings (value, item, source) VALUES (?1, ?2, ?3)",
            )
            .map_err(backend)?;
        let mut added: Vec<(i64, i64)> = Vec::new();
        for (value, item, source) in postings {
            if put.execute(params![value, item, source]).map_err(backend)? == 1 {
                match added.last_mut() {
                    Some((v, n)) if *v == value => *n += 1,
                    _ => added.push((value, 1)),
                }
            }
        }
        let mut count = tx
            .prepare_cached("UPDATE corr_values SET n = n + ?2 WHERE id = ?1")
            .map_err(backend)?;
        for (value, n) in added {
            count.execute(params![value, n]).map_err(backend)?;
        }
        let mut reference = tx
            .prepare_cached("INSERT OR IGNORE INTO corr_references (target, item) VALUES (?1, ?2)")
            .map_err(backend)?;
        for (target, item) in &batch.references {
            reference
                .execute(params![target, *item as i64])
                .map_err(backend)?;
        }
    }
    tx.execute(
        "UPDATE corr_state SET cursor = ?1 WHERE id = 1",
        [batch.to as i64],
    )
    .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(true)
}

pub(crate) fn reset(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         DELETE FROM corr_values; DELETE FROM corr_postings; DELETE FROM corr_items;
         DELETE FROM corr_derived; DELETE FROM corr_addresses; DELETE FROM corr_prefixes;
         DELETE FROM corr_references; UPDATE corr_state SET cursor = NULL WHERE id = 1;
         COMMIT;",
    )
    .map_err(backend)
}

/// `WHERE` fragments deciding whether the viewer may see the item version
/// aliased `iv` and the source version aliased `sv`, with their arguments.
fn both_visible(
    conn: &Connection,
    viewer: &Viewer,
) -> Result<(String, Vec<rusqlite::types::Value>), StoreError> {
    let groups = visibility::groups_of(conn, viewer).map_err(backend)?;
    let mut args = Vec::new();
    let item = visibility::version_visible("iv", viewer, &groups, &mut args);
    let source = visibility::version_visible("sv", viewer, &groups, &mut args);
    Ok((format!("{item} AND {source}"), args))
}

pub(crate) fn postings(
    conn: &Connection,
    keys: &[String],
    cap: usize,
    viewer: &Viewer,
) -> Result<Vec<Capped<PostingHit>>, StoreError> {
    // Three statements whatever the number of keys: the values with their
    // posting counts (hot ones are answered by their count alone), the
    // postings of the rest, and every version they name checked for the viewer.
    let ids = value_ids(conn, keys)?;
    let mut wanted: Vec<i64> = Vec::new();
    for (id, n) in ids.iter().flatten() {
        if *n as usize <= cap {
            wanted.push(*id);
        }
    }
    let mut by_value: FxHashMap<i64, Vec<(i64, i64)>> = FxHashMap::default();
    let mut seqs: FxHashSet<i64> = FxHashSet::default();
    let mut stmt = conn
        .prepare_cached(
            "SELECT value, item, source FROM corr_postings WHERE value IN (SELECT value FROM json_each(?1))",
        )
        .map_err(backend)?;
    for chunk in wanted.chunks(5_000) {
        let rows = stmt
            .query_map([json_list(chunk)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(backend)?;
        for row in rows {
            let (value, item, source) = row.map_err(backend)?;
            seqs.insert(item);
            seqs.insert(source);
            by_value.entry(value).or_default().push((item, source));
        }
    }
    let visible = visible_ids(conn, viewer, seqs.into_iter().collect())?;
    Ok(ids
        .into_iter()
        .map(|found| match found {
            None => Capped::Within(Vec::new()),
            // Reported as "more than the cap": how many hidden items
            // carry a value is not the viewer's to know.
            Some((_, n)) if n as usize > cap => Capped::Over(cap + 1),
            Some((id, _)) => {
                let mut seen = FxHashSet::default();
                let mut hits = Vec::new();
                for (item, source) in by_value.get(&id).into_iter().flatten() {
                    if let (Some(item), Some(source)) = (visible.get(item), visible.get(source))
                        && seen.insert((item.as_str(), source.as_str()))
                    {
                        hits.push(PostingHit {
                            item: item.clone(),
                            source: source.clone(),
                        });
                    }
                }
                Capped::Within(hits)
            }
        })
        .collect())
}

/// The stored key of each of `ids` that holds a value, in statements of 5,000.
fn keys_at(conn: &Connection, ids: &[i64]) -> Result<FxHashMap<i64, String>, StoreError> {
    let mut keys = FxHashMap::default();
    let mut read = conn
        .prepare_cached(
            "SELECT id, key FROM corr_values WHERE id IN (SELECT value FROM json_each(?1))",
        )
        .map_err(backend)?;
    for chunk in ids.chunks(5_000) {
        let rows = read
            .query_map([json_list(chunk)], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(backend)?;
        for row in rows {
            let (id, key) = row.map_err(backend)?;
            keys.insert(id, key);
        }
    }
    Ok(keys)
}

fn json_list(ids: &[i64]) -> String {
    format!(
        "[{}]",
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    )
}

/// Each key's value id and posting count, `None` for keys never indexed:
/// one statement for the keys at their hash, a probe for the rare one that
/// was placed past a collision.
fn value_ids(conn: &Connection, keys: &[String]) -> Result<Vec<Option<(i64, i64)>>, StoreError> {
    let bases: Vec<i64> = keys.iter().map(|k| value_hash(k)).collect();
    let mut at_base: FxHashMap<i64, (String, i64)> = FxHashMap::default();
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, key, n FROM corr_values WHERE id IN (SELECT value FROM json_each(?1))",
        )
        .map_err(backend)?;
    for chunk in bases.chunks(5_000) {
        let rows = stmt
            .query_map([json_list(chunk)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(backend)?;
        for row in rows {
            let (id, key, n) = row.map_err(backend)?;
            at_base.insert(id, (key, n));
        }
    }
    let mut count = conn
        .prepare_cached("SELECT n FROM corr_values WHERE id = ?1")
        .map_err(backend)?;
    keys.iter()
        .zip(bases)
        .map(|(key, base)| match at_base.get(&base) {
            Some((k, n)) if k == key => Ok(Some((base, *n))),
            // Empty at its hash: never placed (values are placed at the first free slot).
            None => Ok(None),
            Some(_) => match intern(conn, key, false)? {
                Some((id, _)) => {
                    let n: i64 = count.query_row([id], |r| r.get(0)).map_err(backend)?;
                    Ok(Some((id, n)))
                }
                None => Ok(None),
            },
        })
        .collect()
}

/// The STIX ids of those of `seqs` the viewer may see.
fn visible_ids(
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

fn capped_keys(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
    cap: usize,
) -> Result<Capped<String>, StoreError> {
    let keys: Vec<String> = stmt
        .query_map(params, |r| r.get(0))
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    Ok(if keys.len() > cap {
        Capped::Over(keys.len())
    } else {
        Capped::Within(keys)
    })
}

pub(crate) fn derived(
    conn: &Connection,
    hashes: &[u64],
    cap: usize,
) -> Result<Vec<Capped<String>>, StoreError> {
    // Value ids from the index alone (one past the cap tells a hot key),
    // then each distinct value's key read once: the grams of one ssdeep
    // digest mostly lead to the same few similar files.
    let mut scan = conn
        .prepare_cached("SELECT value FROM corr_derived WHERE key = ?1 LIMIT ?2")
        .map_err(backend)?;
    let mut found: Vec<Option<Vec<i64>>> = Vec::with_capacity(hashes.len());
    let mut ids: FxHashSet<i64> = FxHashSet::default();
    for h in hashes {
        let values: Vec<i64> = scan
            .query_map(params![*h as i64, (cap + 1) as i64], |r| r.get(0))
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        if values.len() > cap {
            found.push(None);
        } else {
            ids.extend(&values);
            found.push(Some(values));
        }
    }
    let ids: Vec<i64> = ids.into_iter().collect();
    let keys = keys_at(conn, &ids)?;
    Ok(found
        .into_iter()
        .map(|values| match values {
            None => Capped::Over(cap + 1),
            Some(values) => Capped::Within(
                values
                    .iter()
                    .filter_map(|id| keys.get(id).cloned())
                    .collect(),
            ),
        })
        .collect())
}

pub(crate) fn addresses(
    conn: &Connection,
    ranges: &[(u128, u128)],
    cap: usize,
) -> Result<Vec<Capped<String>>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT v.key FROM corr_addresses a JOIN corr_values v ON v.id = a.value \
             WHERE a.address BETWEEN ?1 AND ?2 LIMIT ?3",
        )
        .map_err(backend)?;
    ranges
        .iter()
        .map(|(start, end)| {
            capped_keys(
                &mut stmt,
                params![
                    address_bytes(*start).as_slice(),
                    address_bytes(*end).as_slice(),
                    (cap + 1) as i64
                ],
                cap,
            )
        })
        .collect()
}

pub(crate) fn range_prefixes(conn: &Connection) -> Result<Vec<u8>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT prefix FROM corr_prefixes ORDER BY prefix")
        .map_err(backend)?;
    let rows = stmt.query_map([], |r| r.get::<_, u8>(0)).map_err(backend)?;
    rows.collect::<Result<_, _>>().map_err(backend)
}

pub(crate) fn item_values(
    conn: &Connection,
    item: &str,
    viewer: &Viewer,
) -> Result<Vec<String>, StoreError> {
    let (visible, mut args) = both_visible(conn, viewer)?;
    let item_arg = visibility::bind(&mut args, item.to_owned());
    let sql = format!(
        "SELECT ci.vals FROM object_versions iv JOIN corr_items ci ON ci.item = iv.seq \
         JOIN object_versions sv ON sv.seq = ci.source WHERE iv.id = {item_arg} AND {visible}"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let blobs: Vec<Vec<u8>> = stmt
        .query_map(rusqlite::params_from_iter(args), |r| r.get(0))
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    let mut ids: Vec<i64> = blobs.iter().flat_map(|b| unpack_value_ids(b)).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut key_of = conn
        .prepare_cached("SELECT key FROM corr_values WHERE id = ?1")
        .map_err(backend)?;
    let mut keys = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(key) = key_of
            .query_row([id], |r| r.get::<_, String>(0))
            .optional()
            .map_err(backend)?
        {
            keys.push(key);
        }
    }
    keys.sort();
    Ok(keys)
}

pub(crate) fn items(conn: &Connection, viewer: &Viewer) -> Result<Vec<String>, StoreError> {
    let (visible, args) = both_visible(conn, viewer)?;
    let sql = format!(
        "SELECT iv.id FROM corr_items ci JOIN object_versions iv ON iv.seq = ci.item \
         JOIN object_versions sv ON sv.seq = ci.source WHERE {visible} \
         GROUP BY iv.id ORDER BY min(iv.seq)"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |r| r.get(0))
        .map_err(backend)?;
    rows.collect::<Result<_, _>>().map_err(backend)
}

const TABLES: &[&str] = &[
    "corr_values",
    "corr_postings",
    "corr_items",
    "corr_derived",
    "corr_addresses",
    "corr_prefixes",
    "corr_references",
];

pub(crate) fn stats(conn: &Connection) -> Result<IndexStats, StoreError> {
    let count = |table: &str| -> Result<u64, StoreError> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n as u64)
        .map_err(backend)
    };
    let names = TABLES
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let bytes: Option<i64> = conn
        .query_row(
            &format!("SELECT sum(pgsize) FROM dbstat WHERE name IN ({names})"),
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?
        .flatten();
    Ok(IndexStats {
        cursor: cursor(conn)?.unwrap_or(0),
        values: count("corr_values")?,
        postings: count("corr_postings")?,
        derived: count("corr_derived")?,
        addresses: count("corr_addresses")?,
        bytes: bytes.map(|b| b as u64),
    })
}
