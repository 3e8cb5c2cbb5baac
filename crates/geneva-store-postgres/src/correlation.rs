//! The correlation index's tables (migration 0004), as the SQLite store keeps
//! them: the same rows, the same rules, written for PostgreSQL. The feed
//! follows leaf numbers, which become visible in order across processes.

use deadpool_postgres::GenericClient;
use geneva_store::{
    Capped, FeedVersion, IndexBatch, IndexStats, IndexedValue, PostingHit, StoreError,
    StoredVersion, VALUE_PROBES, Viewer, address_bytes, pack_value_ids, unpack_value_ids,
    value_hash,
};
use std::collections::{HashMap, HashSet};

use crate::visibility::{self, Params};
use crate::{VERSION_COLUMNS, backend, row_to_version};

const OVER_COUNT_FACTOR: usize = 1;
/// Batches writing this many postings refresh the planner's statistics.
const ANALYZE_AFTER_POSTINGS: usize = 50_000;

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

pub(crate) async fn cursor(client: &impl GenericClient) -> Result<Option<u64>, StoreError> {
    let row = client
        .query_one("SELECT cursor FROM corr_state WHERE id = 1", &[])
        .await
        .map_err(backend)?;
    Ok(row.get::<_, Option<i64>>(0).map(|c| c as u64))
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

pub(crate) async fn referrers(
    client: &impl GenericClient,
    ids: &[String],
) -> Result<Vec<(String, u64)>, StoreError> {
    let rows = client
        .query(
            "SELECT target, item FROM corr_references WHERE target = ANY($1) ORDER BY target, item",
            &[&ids],
        )
        .await
        .map_err(backend)?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
        .collect())
}

async fn intern(
    client: &impl GenericClient,
    key: &str,
    create: bool,
) -> Result<Option<(i64, bool)>, StoreError> {
    let base = value_hash(key);
    for probe in 0..VALUE_PROBES {
        let id = base + probe;
        let existing = client
            .query_opt("SELECT key FROM corr_values WHERE id = $1", &[&id])
            .await
            .map_err(backend)?
            .map(|r| r.get::<_, String>(0));
        match existing {
            Some(k) if k == key => return Ok(Some((id, false))),
            Some(_) => continue,
            None if create => {
                // Another process may place a value in the same slot meanwhile:
                // if so, look again.
                let placed = client
                    .execute(
                        "INSERT INTO corr_values (id, key) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                        &[&id, &key],
                    )
                    .await
                    .map_err(backend)?;
                if placed == 1 {
                    return Ok(Some((id, true)));
                }
                let k: String = client
                    .query_one("SELECT key FROM corr_values WHERE id = $1", &[&id])
                    .await
                    .map_err(backend)?
                    .get(0);
                if k == key {
                    return Ok(Some((id, false)));
                }
            }
            None => return Ok(None),
        }
    }
    Err(StoreError::Corrupt(format!(
        "{VALUE_PROBES} values collide with the hash of {key}"
    )))
}

/// Ids for `keys` (distinct), placing the absent ones; `true` marks a new
/// value. The caller holds the cursor lock, so no other applier places values
/// meanwhile; a key whose slot holds another value (a hash collision) is
/// probed one by one.
async fn intern_all<'k>(
    client: &impl GenericClient,
    keys: Vec<&'k str>,
) -> Result<HashMap<&'k str, (i64, bool)>, StoreError> {
    let mut hashed: Vec<(i64, &str)> = keys.into_iter().map(|k| (value_hash(k), k)).collect();
    hashed.sort_unstable();
    let mut stored: HashMap<i64, String> = HashMap::new();
    for chunk in hashed.chunks(10_000) {
        let ids: Vec<i64> = chunk.iter().map(|(h, _)| *h).collect();
        let rows = client
            .query("SELECT c.id, c.key FROM unnest($1::bigint[]) AS k(id) JOIN corr_values c ON c.id = k.id", &[&ids])
            .await
            .map_err(backend)?;
        for r in rows {
            stored.insert(r.get(0), r.get(1));
        }
    }
    let mut out = HashMap::new();
    let mut placed: HashSet<i64> = HashSet::new();
    let mut fresh: (Vec<i64>, Vec<&str>) = Default::default();
    let mut collided: Vec<&str> = Vec::new();
    for (base, key) in hashed {
        match stored.get(&base) {
            Some(existing) if existing == key => {
                out.insert(key, (base, false));
            }
            None if placed.insert(base) => {
                fresh.0.push(base);
                fresh.1.push(key);
                out.insert(key, (base, true));
            }
            _ => collided.push(key),
        }
    }
    for (ids, keys) in fresh.0.chunks(10_000).zip(fresh.1.chunks(10_000)) {
        client
            .execute(
                "INSERT INTO corr_values (id, key) SELECT * FROM unnest($1::bigint[], $2::text[])",
                &[&ids, &keys],
            )
            .await
            .map_err(backend)?;
    }
    for key in collided {
        let found = intern(client, key, true).await?.expect("created");
        out.insert(key, found);
    }
    Ok(out)
}

pub(crate) async fn apply(
    client: &mut deadpool_postgres::Object,
    batch: IndexBatch,
    from: Option<u64>,
) -> Result<bool, StoreError> {
    let tx = client.transaction().await.map_err(backend)?;
    let current = tx
        .query_one("SELECT cursor FROM corr_state WHERE id = 1 FOR UPDATE", &[])
        .await
        .map_err(backend)?
        .get::<_, Option<i64>>(0)
        .map(|c| c as u64);
    if current != from {
        return Ok(false);
    }
    // Appliers queue on the cursor row locked above, so the values a batch
    // finds absent are placed by this transaction alone. Every step is a
    // few statements over arrays, whatever the size of the batch.
    let mut distinct: HashMap<&str, &IndexedValue> = HashMap::new();
    for group in &batch.postings {
        for value in &group.values {
            distinct.entry(value.key.as_str()).or_insert(value);
        }
    }
    let interned = intern_all(&tx, distinct.keys().copied().collect()).await?;
    let mut derived: Vec<(i64, i64)> = Vec::new();
    let mut addresses: (Vec<Vec<u8>>, Vec<i64>) = Default::default();
    let mut prefixes: Vec<i16> = Vec::new();
    for (key, value) in &distinct {
        let (id, new) = interned[key];
        if !new {
            continue;
        }
        derived.extend(value.derived.iter().map(|h| (*h as i64, id)));
        if let Some(a) = value.address {
            addresses.0.push(address_bytes(a).to_vec());
            addresses.1.push(id);
        }
        if let Some(p) = value.range_prefix {
            prefixes.push(i16::from(p));
        }
    }
    derived.sort_unstable();
    derived.dedup();
    for chunk in derived.chunks(10_000) {
        let keys: Vec<i64> = chunk.iter().map(|d| d.0).collect();
        let values: Vec<i64> = chunk.iter().map(|d| d.1).collect();
        tx.execute(
            "INSERT INTO corr_derived (key, value) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING",
            &[&keys, &values],
        )
        .await
        .map_err(backend)?;
    }
    if !addresses.1.is_empty() {
        tx.execute(
            "INSERT INTO corr_addresses (address, value) \
             SELECT * FROM unnest($1::bytea[], $2::bigint[]) ON CONFLICT DO NOTHING",
            &[&addresses.0, &addresses.1],
        )
        .await
        .map_err(backend)?;
    }
    if !prefixes.is_empty() {
        tx.execute(
            "INSERT INTO corr_prefixes (prefix) SELECT DISTINCT * FROM unnest($1::smallint[]) \
             ON CONFLICT DO NOTHING",
            &[&prefixes],
        )
        .await
        .map_err(backend)?;
    }

    // Each item version's packed value list, merged with what it had.
    let mut lists: HashMap<(i64, i64), Vec<i64>> = HashMap::new();
    let mut postings: Vec<(i64, i64, i64)> = Vec::new();
    for group in &batch.postings {
        let (item, source) = (group.item as i64, group.source as i64);
        let ids = lists.entry((item, source)).or_default();
        for value in &group.values {
            let (id, _) = interned[value.key.as_str()];
            ids.push(id);
            postings.push((id, item, source));
        }
    }
    let pairs: Vec<(i64, i64)> = lists.keys().copied().collect();
    for chunk in pairs.chunks(10_000) {
        let items: Vec<i64> = chunk.iter().map(|p| p.0).collect();
        let sources: Vec<i64> = chunk.iter().map(|p| p.1).collect();
        let rows = tx
            .query(
                "SELECT c.item, c.source, c.vals FROM corr_items c \
                 JOIN unnest($1::bigint[], $2::bigint[]) AS k(item, source) \
                 ON c.item = k.item AND c.source = k.source",
                &[&items, &sources],
            )
            .await
            .map_err(backend)?;
        for r in rows {
            let key = (r.get::<_, i64>(0), r.get::<_, i64>(1));
            if let Some(ids) = lists.get_mut(&key) {
                ids.extend(unpack_value_ids(r.get::<_, &[u8]>(2)));
            }
        }
    }
    let packed: Vec<((i64, i64), Vec<u8>)> = lists
        .into_iter()
        .map(|(key, mut ids)| {
            ids.sort_unstable();
            ids.dedup();
            (key, pack_value_ids(&ids))
        })
        .collect();
    for chunk in packed.chunks(10_000) {
        let items: Vec<i64> = chunk.iter().map(|p| p.0.0).collect();
        let sources: Vec<i64> = chunk.iter().map(|p| p.0.1).collect();
        let vals: Vec<&[u8]> = chunk.iter().map(|p| p.1.as_slice()).collect();
        tx.execute(
            "INSERT INTO corr_items (item, source, vals) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[]) \
             ON CONFLICT (item, source) DO UPDATE SET vals = excluded.vals",
            &[&items, &sources, &vals],
        )
        .await
        .map_err(backend)?;
    }
    postings.sort_unstable();
    postings.dedup();
    for chunk in postings.chunks(10_000) {
        let values: Vec<i64> = chunk.iter().map(|p| p.0).collect();
        let items: Vec<i64> = chunk.iter().map(|p| p.1).collect();
        let sources: Vec<i64> = chunk.iter().map(|p| p.2).collect();
        tx.execute(
            "INSERT INTO corr_postings (value, item, source) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) ON CONFLICT DO NOTHING",
            &[&values, &items, &sources],
        )
        .await
        .map_err(backend)?;
    }
    for chunk in batch.references.chunks(10_000) {
        let targets: Vec<&str> = chunk.iter().map(|r| r.0.as_str()).collect();
        let items: Vec<i64> = chunk.iter().map(|r| r.1 as i64).collect();
        tx.execute(
            "INSERT INTO corr_references (target, item) \
             SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING",
            &[&targets, &items],
        )
        .await
        .map_err(backend)?;
    }
    if postings.len() >= ANALYZE_AFTER_POSTINGS {
        // A bulk load leaves the planner with no statistics until autovacuum
        // comes by; meanwhile it takes each value for 0.5% of the postings and
        // plans the posting joins as full scans (541 ms for a query that
        // takes 15 ms with statistics, measured on 400,000 observables).
        tx.batch_execute(
            "ANALYZE corr_values, corr_postings, corr_derived, corr_items, corr_addresses, object_versions",
        )
        .await
        .map_err(backend)?;
    }
    tx.execute(
        "UPDATE corr_state SET cursor = $1 WHERE id = 1",
        &[&(batch.to as i64)],
    )
    .await
    .map_err(backend)?;
    tx.commit().await.map_err(backend)?;
    Ok(true)
}

pub(crate) async fn reset(client: &mut deadpool_postgres::Object) -> Result<(), StoreError> {
    client
        .batch_execute(
            "BEGIN;
             SELECT cursor FROM corr_state WHERE id = 1 FOR UPDATE;
             TRUNCATE corr_values, corr_postings, corr_items, corr_derived, corr_addresses,
                      corr_prefixes, corr_references;
             UPDATE corr_state SET cursor = NULL WHERE id = 1;
             COMMIT;",
        )
        .await
        .map_err(backend)
}

async fn both_visible(
    client: &deadpool_postgres::Object,
    viewer: &Viewer,
    params: &mut Params,
) -> Result<String, StoreError> {
    let groups = visibility::groups_of(client, viewer).await?;
    let item = visibility::version_visible("iv", viewer, &groups, params);
    let source = visibility::version_visible("sv", viewer, &groups, params);
    Ok(format!("{item} AND {source}"))
}

pub(crate) async fn postings(
    client: &deadpool_postgres::Object,
    keys: &[String],
    cap: usize,
    viewer: &Viewer,
) -> Result<Vec<Capped<PostingHit>>, StoreError> {
    // Three round trips whatever the number of keys: the values at their
    // hashes, each one's postings counted up to one past the cap (a hot value
    // is answered by its count), and the postings of the rest with both
    // versions checked for the viewer.
    let ids = value_ids(client, keys).await?;
    let known: Vec<i64> = ids.iter().flatten().copied().collect();
    let mut hot: HashSet<i64> = HashSet::new();
    let mut by_value: HashMap<i64, Vec<PostingHit>> = HashMap::new();
    for chunk in known.chunks(5_000) {
        let rows = client
            .query(
                "SELECT v, (SELECT count(*) FROM (SELECT 1 FROM corr_postings WHERE value = v LIMIT $2) t) \
                 FROM unnest($1::bigint[]) AS v",
                &[&chunk, &((cap * OVER_COUNT_FACTOR + 1) as i64)],
            )
            .await
            .map_err(backend)?;
        let mut wanted: Vec<i64> = Vec::new();
        for r in rows {
            let (id, n): (i64, i64) = (r.get(0), r.get(1));
            if n as usize > cap {
                hot.insert(id);
            } else {
                wanted.push(id);
            }
        }
        if wanted.is_empty() {
            continue;
        }
        let mut params = Params::default();
        let visible = both_visible(client, viewer, &mut params).await?;
        let values = params.bind(wanted);
        let sql = format!(
            "SELECT p.value, iv.id, sv.id FROM unnest({values}::bigint[]) AS k(value) \
             JOIN corr_postings p ON p.value = k.value \
             JOIN object_versions iv ON iv.seq = p.item JOIN object_versions sv ON sv.seq = p.source \
             WHERE {visible} ORDER BY p.value, p.item, p.source"
        );
        for r in client.query(&sql, &params.refs()).await.map_err(backend)? {
            let found = by_value.entry(r.get(0)).or_default();
            let hit = PostingHit {
                item: r.get(1),
                source: r.get(2),
            };
            if !found.contains(&hit) {
                found.push(hit);
            }
        }
    }
    Ok(ids
        .into_iter()
        .map(|id| match id {
            None => Capped::Within(Vec::new()),
            // Reported as "more than the cap": how many hidden items carry
            // a value is not the viewer's to know.
            Some(id) if hot.contains(&id) => Capped::Over(cap + 1),
            Some(id) => Capped::Within(by_value.get(&id).cloned().unwrap_or_default()),
        })
        .collect())
}

/// Each key's value id, `None` for keys never indexed: one statement for the
/// keys at their hash, a probe for the rare one placed past a collision.
async fn value_ids(
    client: &impl GenericClient,
    keys: &[String],
) -> Result<Vec<Option<i64>>, StoreError> {
    let bases: Vec<i64> = keys.iter().map(|k| value_hash(k)).collect();
    let mut at_base: HashMap<i64, String> = HashMap::new();
    for chunk in bases.chunks(10_000) {
        let rows = client
            .query("SELECT c.id, c.key FROM unnest($1::bigint[]) AS k(id) JOIN corr_values c ON c.id = k.id", &[&chunk])
            .await
            .map_err(backend)?;
        for r in rows {
            at_base.insert(r.get(0), r.get(1));
        }
    }
    let mut out = Vec::with_capacity(keys.len());
    for (key, base) in keys.iter().zip(bases) {
        out.push(match at_base.get(&base) {
            Some(k) if k == key => Some(base),
            // Empty at its hash: never placed (values take the first free slot).
            None => None,
            Some(_) => intern(client, key, false).await?.map(|(id, _)| id),
        });
    }
    Ok(out)
}

fn capped(keys: Vec<String>, cap: usize) -> Capped<String> {
    if keys.len() > cap {
        Capped::Over(keys.len())
    } else {
        Capped::Within(keys)
    }
}

pub(crate) async fn derived(
    client: &impl GenericClient,
    hashes: &[u64],
    cap: usize,
) -> Result<Vec<Capped<String>>, StoreError> {
    // Value ids for all keys in one statement, each key's index scan stopped
    // one past the cap (which tells a hot key); then each distinct value's
    // key read once.
    let mut found: Vec<Vec<i64>> = vec![Vec::new(); hashes.len()];
    let as_i64: Vec<i64> = hashes.iter().map(|h| *h as i64).collect();
    for (chunk_no, chunk) in as_i64.chunks(5_000).enumerate() {
        let rows = client
            .query(
                "SELECT h.n, d.value FROM unnest($1::bigint[]) WITH ORDINALITY AS h(k, n) \
                 CROSS JOIN LATERAL (SELECT value FROM corr_derived WHERE key = h.k LIMIT $2) d",
                &[&chunk, &((cap + 1) as i64)],
            )
            .await
            .map_err(backend)?;
        for r in rows {
            let at = chunk_no * 5_000 + r.get::<_, i64>(0) as usize - 1;
            found[at].push(r.get(1));
        }
    }
    let mut ids: Vec<i64> = found
        .iter()
        .filter(|v| v.len() <= cap)
        .flatten()
        .copied()
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut keys: HashMap<i64, String> = HashMap::new();
    for chunk in ids.chunks(10_000) {
        let rows = client
            .query("SELECT c.id, c.key FROM unnest($1::bigint[]) AS k(id) JOIN corr_values c ON c.id = k.id", &[&chunk])
            .await
            .map_err(backend)?;
        for r in rows {
            keys.insert(r.get(0), r.get(1));
        }
    }
    Ok(found
        .into_iter()
        .map(|values| {
            if values.len() > cap {
                Capped::Over(cap + 1)
            } else {
                let mut listed: Vec<String> = values
                    .iter()
                    .filter_map(|id| keys.get(id).cloned())
                    .collect();
                listed.sort();
                Capped::Within(listed)
            }
        })
        .collect())
}

pub(crate) async fn addresses(
    client: &impl GenericClient,
    ranges: &[(u128, u128)],
    cap: usize,
) -> Result<Vec<Capped<String>>, StoreError> {
    let mut out = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        let rows = client
            .query(
                "SELECT v.key FROM corr_addresses a JOIN corr_values v ON v.id = a.value \
                 WHERE a.address BETWEEN $1 AND $2 ORDER BY a.address LIMIT $3",
                &[
                    &address_bytes(*start).as_slice(),
                    &address_bytes(*end).as_slice(),
                    &((cap + 1) as i64),
                ],
            )
            .await
            .map_err(backend)?;
        out.push(capped(rows.iter().map(|r| r.get(0)).collect(), cap));
    }
    Ok(out)
}

pub(crate) async fn range_prefixes(client: &impl GenericClient) -> Result<Vec<u8>, StoreError> {
    let rows = client
        .query("SELECT prefix FROM corr_prefixes ORDER BY prefix", &[])
        .await
        .map_err(backend)?;
    Ok(rows.iter().map(|r| r.get::<_, i16>(0) as u8).collect())
}

pub(crate) async fn item_values(
    client: &deadpool_postgres::Object,
    item: &str,
    viewer: &Viewer,
) -> Result<Vec<String>, StoreError> {
    let mut params = Params::default();
    let visible = both_visible(client, viewer, &mut params).await?;
    let item_arg = params.bind(item.to_owned());
    let sql = format!(
        "SELECT ci.vals FROM object_versions iv JOIN corr_items ci ON ci.item = iv.seq \
         JOIN object_versions sv ON sv.seq = ci.source WHERE iv.id = {item_arg} AND {visible}"
    );
    let rows = client.query(&sql, &params.refs()).await.map_err(backend)?;
    let mut ids: Vec<i64> = rows
        .iter()
        .flat_map(|r| unpack_value_ids(r.get::<_, &[u8]>(0)).collect::<Vec<_>>())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let rows = client
        .query(
            "SELECT c.key FROM unnest($1::bigint[]) AS k(id) JOIN corr_values c ON c.id = k.id ORDER BY c.key",
            &[&ids],
        )
        .await
        .map_err(backend)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

pub(crate) async fn items(
    client: &deadpool_postgres::Object,
    viewer: &Viewer,
) -> Result<Vec<String>, StoreError> {
    let mut params = Params::default();
    let visible = both_visible(client, viewer, &mut params).await?;
    let sql = format!(
        "SELECT iv.id FROM corr_items ci JOIN object_versions iv ON iv.seq = ci.item \
         JOIN object_versions sv ON sv.seq = ci.source WHERE {visible} \
         GROUP BY iv.id ORDER BY min(iv.seq)"
    );
    let rows = client.query(&sql, &params.refs()).await.map_err(backend)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

pub(crate) async fn stats(client: &impl GenericClient) -> Result<IndexStats, StoreError> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM corr_values), (SELECT count(*) FROM corr_postings), \
             (SELECT count(*) FROM corr_derived), (SELECT count(*) FROM corr_addresses), \
             (SELECT sum(pg_total_relation_size(c)) FROM unnest(ARRAY['corr_values', 'corr_postings', \
               'corr_items', 'corr_derived', 'corr_addresses', 'corr_prefixes', 'corr_references']::regclass[]) c)::bigint",
            &[],
        )
        .await
        .map_err(backend)?;
    Ok(IndexStats {
        cursor: cursor(client).await?.unwrap_or(0),
        values: row.get::<_, i64>(0) as u64,
        postings: row.get::<_, i64>(1) as u64,
        derived: row.get::<_, i64>(2) as u64,
        addresses: row.get::<_, i64>(3) as u64,
        bytes: row.get::<_, Option<i64>>(4).map(|b| b as u64),
    })
}
