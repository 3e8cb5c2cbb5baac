//! `geneva bench correlate`: a generator of realistic load for the correlation
//! engine — infrastructure shared across incidents by a Zipf law, families of
//! near-identical files with ssdeep and TLSH digests — fed into the posting
//! index of a real SQLite store, and the figures: ingest rate, query latency
//! percentiles (through the same call the API answers with), index bytes on
//! disk per observable, peak memory.

use std::process::ExitCode;
use std::time::Instant;

use std::sync::Arc;

use geneva_correlate::{Config, WarningLists};
use geneva_observables::{HashAlgo, Observable};
use geneva_postings::PostingIndex;
use geneva_store::{IndexBatch, ItemPostings, Provenance, Store, Viewer};
use geneva_store_sqlite::SqliteStore;
use rand::{Rng, SeedableRng, rngs::StdRng};
use rayon::prelude::*;
use serde_json::json;

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Correlation: generate incidents, index them, query them.
    Correlate(CorrelateArgs),
    /// TAXII 2.1: concurrent clients paging through a collection, and a whole-bundle POST.
    Taxii(super::bench_taxii::TaxiiArgs),
    /// Attribution: accuracy and calibration on the knowledge base's own campaigns, and speed.
    Attribution(super::bench_attribution::AttributionArgs),
    /// Web pages: server time of the portal's and the workspace's pages at scale.
    Portal(super::bench_portal::PortalArgs),
}

#[derive(Debug, clap::Args)]
pub struct CorrelateArgs {
    /// Observables in all (the figures are at 1M, 3M and 10M).
    #[arg(long, default_value_t = 1_000_000)]
    observables: usize,
    /// Incidents they are spread over.
    #[arg(long, default_value_t = 100_000)]
    incidents: usize,
    /// Correlation queries to time.
    #[arg(long, default_value_t = 2_000)]
    queries: usize,
    /// Queries run first and not timed: the first ones after start-up pay
    /// for reading the database's pages and faulting in the index's.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    #[arg(long, default_value_t = 5)]
    seed: u64,
    /// Observables written in one transaction.
    #[arg(long, default_value_t = 500_000)]
    batch: usize,
    /// Keep the database here (default: a temporary directory, removed after).
    #[arg(long, value_name = "DIR")]
    keep: Option<std::path::PathBuf>,
    /// Only time queries, on the index an earlier `--keep DIR` run left.
    #[arg(long, value_name = "DIR", conflicts_with = "keep")]
    reuse: Option<std::path::PathBuf>,
    /// Run on PostgreSQL at this URL instead, in a schema of its own that is
    /// dropped afterwards.
    #[arg(long, value_name = "URL", conflicts_with_all = ["keep", "reuse"])]
    postgres: Option<String>,
    #[arg(long)]
    json: bool,
}

/// Samples ranks 0..n with P(k) ∝ 1/(k+1)^s.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut total = 0.0;
        let cdf = (0..n)
            .map(|k| {
                total += 1.0 / ((k + 1) as f64).powf(s);
                total
            })
            .collect::<Vec<_>>();
        Zipf {
            cdf: cdf.into_iter().map(|c| c / total).collect(),
        }
    }

    fn sample(&self, rng: &mut StdRng) -> usize {
        let u: f64 = rng.random();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn ssdeep_family(rng: &mut StdRng) -> (u64, String, String) {
    let size = 3u64 << rng.random_range(3..10);
    let part = |rng: &mut StdRng, len: usize| -> String {
        (0..len)
            .map(|_| B64[rng.random_range(0..64)] as char)
            .collect()
    };
    (size, part(rng, 64), part(rng, 32))
}

fn mutate(rng: &mut StdRng, text: &str, alphabet: &[u8], changes: usize) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..changes {
        let at = rng.random_range(0..bytes.len());
        bytes[at] = alphabet[rng.random_range(0..alphabet.len())];
    }
    String::from_utf8(bytes).expect("ASCII")
}

/// One incident's observables.
struct Generator {
    rng: StdRng,
    ips: Zipf,
    domains: Zipf,
    families: Zipf,
    ssdeep: Vec<(u64, String, String)>,
    tlsh: Vec<String>,
    next_unique: u64,
}

impl Generator {
    fn new(seed: u64, observables: usize) -> Generator {
        let mut rng = StdRng::seed_from_u64(seed);
        let families = (observables / 100).max(10);
        let ssdeep = (0..families).map(|_| ssdeep_family(&mut rng)).collect();
        let tlsh = (0..families)
            .map(|_| {
                (0..70)
                    .map(|_| b"0123456789ABCDEF"[rng.random_range(0..16)] as char)
                    .collect()
            })
            .collect();
        Generator {
            rng,
            ips: Zipf::new((observables / 4).max(10), 1.1),
            domains: Zipf::new((observables / 6).max(10), 1.1),
            families: Zipf::new(families, 1.2),
            ssdeep,
            tlsh,
            next_unique: 0,
        }
    }

    fn observable(&mut self) -> Observable {
        let r: f64 = self.rng.random();
        if r < 0.40 {
            let k = self.ips.sample(&mut self.rng) as u32;
            Observable::Ipv4(std::net::Ipv4Addr::from(
                0x2d00_0000u32.wrapping_add(k.wrapping_mul(2_654_435_761)),
            ))
        } else if r < 0.65 {
            let k = self.domains.sample(&mut self.rng);
            Observable::Domain(format!("h{k}.infra{}.example", k % 9973))
        } else if r < 0.80 {
            let k = self.domains.sample(&mut self.rng);
            let n = self.rng.random_range(0..4);
            Observable::Url(format!("http://h{k}.infra{}.example/p{n}", k % 9973))
        } else if r < 0.83 {
            self.next_unique += 1;
            Observable::FileHash(HashAlgo::Sha256, format!("{:064x}", self.next_unique))
        } else if r < 0.865 {
            let f = self.families.sample(&mut self.rng);
            let (size, a, b) = self.ssdeep[f].clone();
            let changes = self.rng.random_range(0..6);
            let a = mutate(&mut self.rng, &a, B64, changes);
            Observable::Ssdeep(format!("{size}:{a}:{b}"))
        } else if r < 0.90 {
            let f = self.families.sample(&mut self.rng);
            let changes = self.rng.random_range(0..8);
            let body = mutate(
                &mut self.rng,
                &self.tlsh[f].clone(),
                b"0123456789ABCDEF",
                changes,
            );
            Observable::Tlsh(format!("T1{body}"))
        } else if r < 0.95 {
            let k = self.domains.sample(&mut self.rng);
            Observable::Email(format!("ops{}@h{k}.infra{}.example", k % 7, k % 9973))
        } else {
            let k = self.families.sample(&mut self.rng);
            Observable::Mutex(format!("Global\\\\m{k}"))
        }
    }
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A bundle of `n` incidents with fixed ids, for the store to hold as items.
fn incidents_bundle(n: usize) -> Vec<u8> {
    let objects: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            json!({"type": "incident", "spec_version": "2.1",
                   "id": format!("incident--{:08x}-0000-4000-8000-{:012x}", i, i),
                   "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                   "name": format!("Bench incident {i}")})
        })
        .collect();
    serde_json::to_vec(&json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": objects}))
        .expect("JSON")
}

pub async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    let args = match command {
        BenchCommand::Correlate(args) => args,
        BenchCommand::Taxii(args) => return super::bench_taxii::run(args).await,
        BenchCommand::Attribution(args) => return super::bench_attribution::run(args),
        BenchCommand::Portal(args) => return super::bench_portal::run(args).await,
    };
    anyhow::ensure!(
        args.incidents > 0 && args.observables >= args.incidents,
        "need at least one observable per incident"
    );
    correlate(args).await
}

async fn correlate(args: CorrelateArgs) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &args.reuse {
        let path = dir.join("bench.db");
        anyhow::ensure!(path.exists(), "{} does not exist", path.display());
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path)?);
        let seqs = incident_seqs(store.as_ref()).await?;
        let loading = Instant::now();
        let (index, _) = PostingIndex::open(&dir.join("correlation"), store)?;
        let load = loading.elapsed();
        let (latencies, links) = time_queries(&index, &seqs, &args).await?;
        let report = json!({
            "reused": path,
            "index_load_s": load.as_secs_f64(),
            "query_ms": percentiles(&latencies),
            "warmup_queries": args.warmup,
            "mean_links_per_query": links as f64 / args.queries as f64,
            "peak_rss_mb": peak_rss_mb(),
        });
        println!("{report}");
        return Ok(ExitCode::SUCCESS);
    }
    let temp = tempfile::tempdir()?;
    let dir = args
        .keep
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    let path = dir.join("bench.db");
    let schema = format!("geneva_bench_{}", std::process::id());
    if let Some(url) = &args.postgres {
        let store = Arc::new(
            geneva_store_postgres::PostgresStore::connect(url, Some(&schema))
                .await
                .map_err(|e| anyhow::anyhow!("{url}: {e}"))?,
        );
        let outcome = run_correlate(store.clone(), &args, &path).await;
        if let Some(store) = Arc::into_inner(store) {
            store.drop_schema().await?;
        }
        return outcome;
    }
    std::fs::create_dir_all(&dir)?;
    anyhow::ensure!(
        !path.exists(),
        "{} exists: pass an empty directory",
        path.display()
    );
    run_correlate(Arc::new(SqliteStore::open(&path)?), &args, &path).await
}

async fn run_correlate(
    store: Arc<dyn Store>,
    args: &CorrelateArgs,
    path: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    // The incidents, as stored objects: postings refer to their versions.
    let started = Instant::now();
    let document = geneva_stix::prepare(
        &incidents_bundle(args.incidents),
        &geneva_stix::PrepareOptions::default(),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .import(
            document.objects,
            Provenance {
                organisation: "bench".into(),
                organisation_id: None,
                submitted_at: geneva_stix::timestamp::now_rfc3339(),
                default_tlp: geneva_stix::Tlp::Green,
                recipients: Default::default(),
            },
        )
        .await?;
    let index_dir = path.with_file_name("correlation");
    let (index, _) = PostingIndex::open(&index_dir, store.clone())?;
    geneva_analysis::index_pending(&index).await?;
    let incidents_import = started.elapsed();
    let seqs = incident_seqs(store.as_ref()).await?;
    let cursor = index.cursor();
    // The incidents' access facts, as the indexer would send them with their first batch.
    let mut access = Some(
        store
            .version_access(&seqs.iter().map(|(_, s)| *s).collect::<Vec<u64>>())
            .await?,
    );

    let mut generator = Generator::new(args.seed, args.observables);
    let per_incident = args.observables / args.incidents;
    let generated_at = Instant::now();
    let incidents: Vec<Vec<Observable>> = (0..args.incidents)
        .map(|_| (0..per_incident).map(|_| generator.observable()).collect())
        .collect();
    let generation = generated_at.elapsed();

    // Ingest: filing keys (hashes, grams, bands) and writing them, in
    // transactions of about 500,000 observables.
    let per_batch = (args.batch / per_incident).max(1);
    let started = Instant::now();
    let mut batch_ms = Vec::new();
    for (chunk_no, chunk) in incidents.chunks(per_batch).enumerate() {
        let t = Instant::now();
        let postings: Vec<ItemPostings> = chunk
            .par_iter()
            .enumerate()
            .map(|(k, observables)| {
                let seq = seqs[chunk_no * per_batch + k].1;
                ItemPostings {
                    item: seq,
                    source: seq,
                    values: observables
                        .iter()
                        .map(geneva_analysis::indexed_value)
                        .collect(),
                }
            })
            .collect();
        let batch = IndexBatch {
            to: cursor.unwrap_or_default(),
            postings,
            references: Vec::new(),
            access: access.take().unwrap_or_default(),
        };
        anyhow::ensure!(index.apply(batch, cursor)?, "the index moved");
        batch_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let ingest = started.elapsed();
    let total = per_incident * args.incidents;
    let stats = index.stats();

    let (latencies, links) = time_queries(&index, &seqs, args).await?;
    let first_batches = batch_ms.iter().take(3).sum::<f64>() / batch_ms.len().min(3) as f64;
    let last_batches = batch_ms.iter().rev().take(3).sum::<f64>() / batch_ms.len().min(3) as f64;
    let report = json!({
        "observables": total,
        "incidents": args.incidents,
        "store": if args.postgres.is_some() { "PostgreSQL" } else { "SQLite" },
        "index": "geneva-postings (in memory, log and snapshot on disk)",
        "incidents_import_s": incidents_import.as_secs_f64(),
        "generation_s": generation.as_secs_f64(),
        "ingest_s": ingest.as_secs_f64(),
        "ingest_per_s": (total as f64 / ingest.as_secs_f64()).round(),
        "batch_ms_first_last": [first_batches.round(), last_batches.round()],
        "values": stats.values,
        "postings": stats.postings,
        "derived_keys": stats.derived,
        "index_bytes": stats.bytes,
        "index_bytes_per_observable": stats.bytes.map(|b| (b as f64 / total as f64 * 10.0).round() / 10.0),
        "database_bytes": std::fs::metadata(path).map(|m| m.len()).ok(),
        "query_ms": percentiles(&latencies),
        "warmup_queries": args.warmup,
        "mean_links_per_query": links as f64 / args.queries as f64,
        "peak_rss_mb": peak_rss_mb(),
    });
    if args.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    drop(store);
    Ok(ExitCode::SUCCESS)
}

/// The bench incidents' ids and feed positions, in id order.
async fn incident_seqs(store: &dyn Store) -> anyhow::Result<Vec<(String, u64)>> {
    let mut seqs = Vec::new();
    let mut after = None;
    loop {
        let page = store.corr_feed(after, 100_000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        seqs.extend(page.iter().map(|f| (f.version.id.clone(), f.seq)));
    }
    seqs.sort();
    anyhow::ensure!(!seqs.is_empty(), "the store holds no incidents");
    Ok(seqs)
}

/// Latencies (ms, sorted) of correlation queries for random incidents, as
/// the operator, and the links they found in all.
async fn time_queries(
    index: &PostingIndex,
    seqs: &[(String, u64)],
    args: &CorrelateArgs,
) -> anyhow::Result<(Vec<f64>, usize)> {
    let mut rng = StdRng::seed_from_u64(args.seed + 1);
    let mut latencies = Vec::with_capacity(args.queries);
    let mut links = 0usize;
    for _ in 0..args.warmup {
        let (id, _) = &seqs[rng.random_range(0..seqs.len())];
        geneva_analysis::correlate(
            index,
            &Viewer::Operator,
            id,
            Config::default(),
            WarningLists::builtin(),
        )
        .await?;
    }
    for _ in 0..args.queries {
        let (id, _) = &seqs[rng.random_range(0..seqs.len())];
        let t = Instant::now();
        let found = geneva_analysis::correlate(
            index,
            &Viewer::Operator,
            id,
            Config::default(),
            WarningLists::builtin(),
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("{id} vanished"))?;
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
        links += found.links.len();
    }
    latencies.sort_by(f64::total_cmp);
    Ok((latencies, links))
}

pub(super) fn percentiles(sorted: &[f64]) -> serde_json::Value {
    let pct = |p: f64| {
        sorted
            .get(((sorted.len().max(1) - 1) as f64 * p).round() as usize)
            .copied()
    };
    json!({"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)})
}
