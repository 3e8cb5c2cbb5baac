//! The transparency log's figures (issue 5), on the embedded SQLite store:
//!
//! - `integrate`: pending leaves (100,000 stored versions) added to the tree
//!   and a signed checkpoint stored, per batch, as `geneva import` does;
//! - `inclusion_proof_10m`: a proof for a random leaf of a 10,000,000-leaf
//!   tree, read from the store (`TransparencyLog::inclusion_proof`);
//! - `inclusion_proof_10m_in_memory`: the same with every strip in memory;
//! - `verify_inclusion_10m`: checking one such proof against the root;
//! - storage per leaf, printed once when the 10M-leaf tree is built.
//!
//! Run: `cargo bench -p geneva-log --bench log`.

use std::sync::{Arc, OnceLock};

use divan::Bencher;
use geneva_log::TransparencyLog;
use geneva_store::{LogAppend, Provenance, Recipients, Store};
use geneva_store_sqlite::SqliteStore;
use geneva_tlog::strata::{self, StripSet};
use geneva_tlog::{Checkpoint, Hash, KeyKind, SigningKey, leaf_hash, tree};
use rand::{Rng, SeedableRng, rngs::StdRng};

const BIG: u64 = 10_000_000;
const APPEND_BATCH: u64 = 1_000_000;

fn main() {
    divan::main();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

struct BigLog {
    runtime: tokio::runtime::Runtime,
    log: TransparencyLog,
}

fn file_bytes(path: &std::path::Path) -> u64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    let size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    (pages * size) as u64
}

/// A 10M-leaf tree written through `Store::log_append`, a million leaves a batch.
fn big_log() -> &'static BigLog {
    static BIG_LOG: OnceLock<BigLog> = OnceLock::new();
    BIG_LOG.get_or_init(|| {
        // Kept between runs (it takes a few seconds to build): delete it to rebuild.
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/geneva-bench");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log-10m.db");
        // Proofs are measured as a request handler makes them: on the thread
        // that asks, without hopping between runtime threads.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let reuse = path.exists();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
        let before = file_bytes(&path);
        let key = SigningKey::generate("bench/log", KeyKind::Note).unwrap();
        let mut memory = StripSet::new();
        let mut size = 0u64;
        let started = std::time::Instant::now();
        if reuse {
            size = runtime.block_on(store.log_state()).unwrap().size;
            assert_eq!(
                size,
                BIG,
                "{} is not a {BIG}-leaf log: delete it",
                path.display()
            );
        }
        while size < BIG {
            let leaves: Vec<Hash> = (size..size + APPEND_BATCH)
                .map(|i| leaf_hash(&i.to_be_bytes()))
                .collect();
            let strips = strata::append(size, &memory, &leaves).unwrap();
            for s in &strips {
                memory.insert(s.clone());
            }
            let new_size = size + APPEND_BATCH;
            let root = tree::root(new_size, &memory).unwrap();
            let checkpoint = Checkpoint {
                origin: "bench/log".into(),
                size: new_size,
                root,
                extensions: vec![],
            }
            .sign(&key)
            .to_text();
            runtime
                .block_on(store.log_append(LogAppend {
                    old_size: size,
                    new_size,
                    strips,
                    checkpoint,
                    public_key: key.verifier().to_text(),
                    signed_at: "2026-11-26T00:00:00Z".into(),
                }))
                .unwrap();
            size = new_size;
        }
        drop(store);
        let after = file_bytes(&path);
        if !reuse {
            eprintln!(
                "built a {BIG}-leaf tree in {:.1} s; the tree takes {} bytes: {:.2} bytes per leaf",
                started.elapsed().as_secs_f64(),
                after - before,
                (after - before) as f64 / BIG as f64
            );
        }
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
        let log = TransparencyLog::new(store, None);
        BigLog { runtime, log }
    })
}

/// The same tree with every strip in memory.
fn big_memory() -> &'static (StripSet, Hash) {
    static MEMORY: OnceLock<(StripSet, Hash)> = OnceLock::new();
    MEMORY.get_or_init(|| {
        let leaves: Vec<Hash> = (0..BIG).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut memory = StripSet::new();
        for s in strata::append(0, &StripSet::new(), &leaves).unwrap() {
            memory.insert(s);
        }
        let root = tree::root(BIG, &memory).unwrap();
        (memory, root)
    })
}

/// Proofs per iteration: a server makes them inside its request handlers,
/// so the runtime is entered once per batch, not once per proof.
const PROOFS_PER_ITERATION: usize = 64;

#[divan::bench(sample_count = 50, sample_size = 20, counters = [divan::counter::ItemsCount::new(PROOFS_PER_ITERATION)])]
fn inclusion_proof_10m(bencher: Bencher) {
    let big = big_log();
    let mut rng = StdRng::seed_from_u64(1);
    // Upper strata in memory, as a running server has them.
    big.runtime.block_on(big.log.warm()).unwrap();
    bencher.bench_local(|| {
        let indexes: Vec<u64> = (0..PROOFS_PER_ITERATION)
            .map(|_| rng.random_range(0..BIG))
            .collect();
        big.runtime.block_on(async {
            for index in indexes {
                divan::black_box(big.log.inclusion_proof(index, Some(BIG)).await.unwrap());
            }
        })
    });
}

#[divan::bench(sample_count = 20, sample_size = 2000)]
fn inclusion_proof_10m_in_memory(bencher: Bencher) {
    let (memory, _) = big_memory();
    let mut rng = StdRng::seed_from_u64(2);
    bencher.bench_local(|| {
        let index = rng.random_range(0..BIG);
        tree::inclusion_proof(index, BIG, memory).unwrap().unwrap()
    });
}

#[divan::bench(sample_count = 20, sample_size = 2000)]
fn verify_inclusion_10m(bencher: Bencher) {
    let (memory, root) = big_memory();
    let mut rng = StdRng::seed_from_u64(3);
    let proofs: Vec<(u64, Hash, Vec<Hash>)> = (0..4096)
        .map(|_| {
            let index = rng.random_range(0..BIG);
            let proof = tree::inclusion_proof(index, BIG, memory).unwrap().unwrap();
            (index, leaf_hash(&index.to_be_bytes()), proof)
        })
        .collect();
    let mut next = 0usize;
    bencher.bench_local(|| {
        let (index, leaf, proof) = &proofs[next % proofs.len()];
        next += 1;
        tree::verify_inclusion(*index, BIG, leaf, proof, root).unwrap()
    });
}

/// 100,000 stored object versions, numbered but not yet in the tree.
fn pending_store(objects: &[geneva_stix::PreparedObject]) -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("geneva.db")).unwrap());
    let provenance = Provenance {
        organisation: "bench".into(),
        organisation_id: None,
        submitted_at: "2026-11-26T00:00:00.000Z".into(),
        default_tlp: geneva_stix::Tlp::Green,
        recipients: Recipients::default(),
    };
    runtime()
        .block_on(store.import(objects.to_vec(), provenance))
        .unwrap();
    (dir, store)
}

fn prepared_objects(n: usize) -> Vec<geneva_stix::PreparedObject> {
    let objects: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({"type": "indicator", "spec_version": "2.1",
                "id": format!("indicator--{:08x}-0000-4000-8000-{:012x}", i, i),
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "pattern": format!("[ipv4-addr:value = '10.{}.{}.{}']", i >> 16 & 255, i >> 8 & 255, i & 255),
                "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"})
        })
        .collect();
    let bundle = serde_json::json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": objects});
    geneva_stix::prepare(
        &serde_json::to_vec(&bundle).unwrap(),
        &geneva_stix::PrepareOptions::default(),
    )
    .unwrap()
    .objects
}

/// Leaves per second = 100,000 / the time shown.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn integrate_100k(bencher: Bencher) {
    let objects = prepared_objects(100_000);
    let key = SigningKey::generate("bench/log", KeyKind::Note).unwrap();
    let runtime = runtime();
    bencher
        .with_inputs(|| pending_store(&objects))
        .bench_local_values(|(dir, store)| {
            let log = TransparencyLog::new(store, Some(key.clone()));
            let done = runtime.block_on(log.integrate()).unwrap();
            assert_eq!(done.appended, 100_000);
            (dir, log)
        });
}

#[divan::bench(sample_count = 20, sample_size = 20, counters = [divan::counter::ItemsCount::new(PROOFS_PER_ITERATION)])]
/// One stratum-0 strip from SQLite: the part of a proof that is I/O.
fn strip_read_10m(bencher: Bencher) {
    let big = big_log();
    let mut rng = StdRng::seed_from_u64(4);
    let store = big.log.store().clone();
    bencher.bench_local(|| {
        let indexes: Vec<u64> = (0..PROOFS_PER_ITERATION)
            .map(|_| rng.random_range(0..BIG / 16))
            .collect();
        big.runtime.block_on(async {
            for index in indexes {
                divan::black_box(
                    store
                        .log_strips(&[geneva_tlog::StripKey { stratum: 0, index }])
                        .await
                        .unwrap(),
                );
            }
        })
    });
}
