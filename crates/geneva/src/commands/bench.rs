//! `geneva bench correlate`: a generator of realistic load for the correlation
//! engine — infrastructure shared across incidents by a Zipf law, families of
//! near-identical files with ssdeep and TLSH digests — and the figures: ingest
//! rate, query latency percentiles, peak memory.
//!
//! The index measured is today's in-memory one (issue 6 is in progress: the
//! persistent index on the store comes next); the generator stays.

use std::process::ExitCode;
use std::time::Instant;

use geneva_correlate::{Config, Index, WarningLists};
use geneva_observables::{HashAlgo, Observable};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::json;

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Correlation: generate incidents, index them, query them.
    Correlate(CorrelateArgs),
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
    #[arg(long, default_value_t = 5)]
    seed: u64,
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

pub fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    let BenchCommand::Correlate(args) = command;
    anyhow::ensure!(
        args.incidents > 0 && args.observables >= args.incidents,
        "need at least one observable per incident"
    );
    let mut generator = Generator::new(args.seed, args.observables);
    let per_incident = args.observables / args.incidents;
    let generated_at = Instant::now();
    let incidents: Vec<Vec<Observable>> = (0..args.incidents)
        .map(|_| (0..per_incident).map(|_| generator.observable()).collect())
        .collect();
    let generation = generated_at.elapsed();

    let mut index = Index::new(Config::default(), WarningLists::builtin());
    let started = Instant::now();
    for (n, observables) in incidents.iter().enumerate() {
        index.add(&format!("incident-{n}"), observables);
    }
    let ingest = started.elapsed();
    let total = per_incident * args.incidents;

    let mut rng = StdRng::seed_from_u64(args.seed + 1);
    let mut latencies = Vec::with_capacity(args.queries);
    let mut links = 0usize;
    for _ in 0..args.queries {
        let n = rng.random_range(0..args.incidents);
        let t = Instant::now();
        let (found, _) = index.correlate(&format!("incident-{n}"));
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
        links += found.len();
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    let report = json!({
        "observables": total,
        "incidents": args.incidents,
        "index": "in-memory (interim)",
        "generation_s": generation.as_secs_f64(),
        "ingest_s": ingest.as_secs_f64(),
        "ingest_per_s": (total as f64 / ingest.as_secs_f64()).round(),
        "keys": index.keys(),
        "query_ms": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)},
        "mean_links_per_query": links as f64 / args.queries as f64,
        "peak_rss_mb": peak_rss_mb(),
    });
    if args.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}
