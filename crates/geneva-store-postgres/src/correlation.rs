//! The correlation index's tables (migration 0004), as the SQLite store keeps
//! them: the same rows, the same rules, written for PostgreSQL. The feed
//! follows leaf numbers, which become visible in order across processes.

use deadpool_postgres::GenericClient;
use geneva_store::{
    Capped, FeedVersion, IndexBatch, IndexStats, PostingHit, StoreError, StoredVersion,
    VALUE_PROBES, Viewer, address_bytes, pack_value_ids, unpack_value_ids, value_hash,
};
use std::collections::{HashMap, HashSet};

use crate::visibility::{self, Params};
use crate::{VERSION_COLUMNS, backend, row_to_version};

const OVER_COUNT_FACTOR: usize = 1;

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
    let mut interned: HashMap<&str, i64> = HashMap::new();
    let mut postings: Vec<(i64, i64, i64)> = Vec::new();
    for group in &batch.postings {
        let (item, source) = (group.item as i64, group.source as i64);
        let mut ids = Vec::with_capacity(group.values.len());
        for value in &group.values {
            let id = match interned.get(value.key.as_str()) {
                Some(&id) => id,
                None => {
                    let (id, _) = intern(&tx, &value.key, true).await?.expect("created");
                    // Derived rows are idempotent: written for every value a
                    // batch meets, another process may have placed the value.
                    for h in &value.derived {
                        tx.execute(
                            "INSERT INTO corr_derived (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                            &[&(*h as i64), &id],
                        )
                        .await
                        .map_err(backend)?;
                    }
                    if let Some(a) = value.address {
                        tx.execute(
                            "INSERT INTO corr_addresses (address, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                            &[&address_bytes(a).as_slice(), &id],
                        )
                        .await
                        .map_err(backend)?;
                    }
                    if let Some(p) = value.range_prefix {
                        tx.execute(
                            "INSERT INTO corr_prefixes (prefix) VALUES ($1) ON CONFLICT DO NOTHING",
                            &[&i16::from(p)],
                        )
                        .await
                        .map_err(backend)?;
                    }
                    interned.insert(&value.key, id);
                    id
                }
            };
            ids.push(id);
            postings.push((id, item, source));
        }
        if let Some(old) = tx
            .query_opt(
                "SELECT vals FROM corr_items WHERE item = $1 AND source = $2",
                &[&item, &source],
            )
            .await
            .map_err(backend)?
        {
            ids.extend(unpack_value_ids(old.get::<_, &[u8]>(0)));
        }
        ids.sort_unstable();
        ids.dedup();
        tx.execute(
            "INSERT INTO corr_items (item, source, vals) VALUES ($1, $2, $3) \
             ON CONFLICT (item, source) DO UPDATE SET vals = excluded.vals",
            &[&item, &source, &pack_value_ids(&ids)],
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
    for (target, item) in &batch.references {
        tx.execute(
            "INSERT INTO corr_references (target, item) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[target, &(*item as i64)],
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
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let Some((id, _)) = intern(client, key, false).await? else {
            out.push(Capped::Within(Vec::new()));
            continue;
        };
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM (SELECT 1 FROM corr_postings WHERE value = $1 LIMIT $2) t",
                &[&id, &((cap * OVER_COUNT_FACTOR + 1) as i64)],
            )
            .await
            .map_err(backend)?
            .get(0);
        if n as usize > cap {
            out.push(Capped::Over(cap + 1));
            continue;
        }
        let mut params = Params::default();
        let visible = both_visible(client, viewer, &mut params).await?;
        let value = params.bind(id);
        let sql = format!(
            "SELECT iv.id, sv.id FROM corr_postings p \
             JOIN object_versions iv ON iv.seq = p.item JOIN object_versions sv ON sv.seq = p.source \
             WHERE p.value = {value} AND {visible} ORDER BY p.item, p.source"
        );
        let rows = client.query(&sql, &params.refs()).await.map_err(backend)?;
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        for r in rows {
            let hit = PostingHit {
                item: r.get(0),
                source: r.get(1),
            };
            if seen.insert((hit.item.clone(), hit.source.clone())) {
                found.push(hit);
            }
        }
        out.push(Capped::Within(found));
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
    let mut out = Vec::with_capacity(hashes.len());
    for h in hashes {
        let rows = client
            .query(
                "SELECT v.key FROM corr_derived d JOIN corr_values v ON v.id = d.value \
                 WHERE d.key = $1 ORDER BY v.key LIMIT $2",
                &[&(*h as i64), &((cap + 1) as i64)],
            )
            .await
            .map_err(backend)?;
        out.push(capped(rows.iter().map(|r| r.get(0)).collect(), cap));
    }
    Ok(out)
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
            "SELECT key FROM corr_values WHERE id = ANY($1) ORDER BY key",
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
