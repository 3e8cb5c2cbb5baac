//! `geneva bench portal`: the web pages' server time at scale. Loads a
//! fresh SQLite store with synthetic incidents (a victim with a sector and
//! a country, an address shared with others by a Zipf law, TLP:CLEAR with
//! every tenth batch TLP:AMBER) and publishes findings on some of them
//! through the real case steps, then serves it and times every kind of
//! page, portal and workspace, over loopback HTTP: p50, p95, p99, max.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use geneva_access::{ApiToken, OrgKind, Scope, Scopes};
use geneva_analysis::cases::{self, NewCase, NewDraft, Who};
use geneva_store::{Provenance, Recipients, Store, TokenRecord, Viewer};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};

#[derive(Debug, clap::Args)]
pub struct PortalArgs {
    /// Incidents loaded.
    #[arg(long, default_value_t = 100_000)]
    incidents: usize,
    /// Findings published (on the first incidents).
    #[arg(long, default_value_t = 1_000)]
    findings: usize,
    /// Timed requests per kind of page.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Requests per kind of page run first and not timed.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    #[arg(long, default_value_t = 5)]
    seed: u64,
    /// Keep the loaded data directory here (default: a temporary one).
    #[arg(long, value_name = "DIR")]
    keep: Option<std::path::PathBuf>,
    /// Only time pages, on a data directory an earlier `--keep DIR` left.
    #[arg(long, value_name = "DIR", conflicts_with = "keep")]
    reuse: Option<std::path::PathBuf>,
    #[arg(long)]
    json: bool,
}

const SECTORS: &[&str] = &[
    "energy",
    "government-national",
    "financial-services",
    "healthcare",
    "telecommunications",
    "technology",
    "transportation",
    "defense",
    "education",
    "utilities",
];
const COUNTRIES: &[&str] = &["UA", "DE", "FR", "US", "GB", "PL", "EE", "JP", "KR", "IN"];
const SPONSORS: &[&str] = &["RU", "CN", "KP", "IR", "BY"];
const NORMS: &[&str] = &[
    "gge-2015-f",
    "ms-rsa-1",
    "paris-1",
    "gge-2015-k",
    "ms-art-4",
];
/// Incidents per imported bundle.
const BATCH: usize = 2_000;
/// Distinct addresses the incidents draw from (Zipf), so some correlate.
const ADDRESSES: usize = 50_000;

fn incident_id(n: usize) -> String {
    format!("incident--00000000-0000-4000-8000-{n:012x}")
}

fn batch(from: usize, to: usize, rng: &mut StdRng) -> Value {
    let t = "2026-01-01T00:00:00.000Z";
    let mut objects = Vec::with_capacity((to - from) * 5);
    for n in from..to {
        let year = 2012 + rng.random_range(0..14);
        let created = format!(
            "{year}-0{}-1{}T00:00:00.000Z",
            rng.random_range(1..10),
            rng.random_range(0..10)
        );
        // Zipf-like: a few addresses recur across many incidents.
        let a = ((ADDRESSES as f64).powf(rng.random::<f64>()) as usize).min(ADDRESSES - 1);
        let ip = format!("ipv4-addr--00000000-0000-5000-8000-{a:012x}");
        let victim = format!("identity--00000000-0000-4000-9000-{n:012x}");
        let place = format!("location--00000000-0000-4000-a000-{n:012x}");
        objects.push(json!({"type": "ipv4-addr", "spec_version": "2.1", "id": ip,
            "value": format!("10.{}.{}.{}", a >> 16, (a >> 8) & 255, a & 255)}));
        objects.push(json!({"type": "incident", "spec_version": "2.1", "id": incident_id(n),
            "created": created, "modified": created, "name": format!("Incident {n}: intrusion at victim {n}"),
            "description": "Synthetic incident for the portal benchmark.", "object_refs": [ip]}));
        objects.push(json!({"type": "identity", "spec_version": "2.1", "id": victim, "created": t, "modified": t,
            "name": format!("Victim {n}"), "identity_class": "organization",
            "sectors": [SECTORS[rng.random_range(0..SECTORS.len())]]}));
        objects.push(json!({"type": "location", "spec_version": "2.1", "id": place, "created": t, "modified": t,
            "country": COUNTRIES[rng.random_range(0..COUNTRIES.len())]}));
        objects.push(json!({"type": "relationship", "spec_version": "2.1",
            "id": format!("relationship--00000000-0000-4000-b000-{n:012x}"), "created": t, "modified": t,
            "relationship_type": "targets", "source_ref": incident_id(n), "target_ref": victim}));
        objects.push(json!({"type": "relationship", "spec_version": "2.1",
            "id": format!("relationship--00000000-0000-4001-b000-{n:012x}"), "created": t, "modified": t,
            "relationship_type": "located-at", "source_ref": victim, "target_ref": place}));
    }
    json!({"type": "bundle", "id": format!("bundle--00000000-0000-4000-8000-{from:012x}"), "objects": objects})
}

async fn load(
    location: &super::StoreLocation,
    store: &Arc<dyn Store>,
    args: &PortalArgs,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(args.seed);
    let org = store
        .add_organisation("CERT-UA", OrgKind::State, Some("UA".parse()?))
        .await?;
    let panel = store
        .add_organisation("panel-ch", OrgKind::Panel, Some("CH".parse()?))
        .await?;
    store.add_user("amelie", panel.id).await?;
    let started = Instant::now();
    for (i, from) in (0..args.incidents).step_by(BATCH).enumerate() {
        let to = (from + BATCH).min(args.incidents);
        let bundle = batch(from, to, &mut rng);
        let prepared = geneva_stix::prepare(
            bundle.to_string().as_bytes(),
            &geneva_stix::PrepareOptions::default(),
        )
        .map_err(|e| {
            let text = format!("{e:?}");
            anyhow::anyhow!("synthetic batch {i}: {}", &text[..text.len().min(500)])
        })?;
        store
            .import(
                prepared.objects,
                Provenance {
                    organisation: org.name.clone(),
                    organisation_id: Some(org.id),
                    submitted_at: geneva_stix::timestamp::now_rfc3339(),
                    default_tlp: if i % 10 == 9 {
                        geneva_stix::Tlp::Amber
                    } else {
                        geneva_stix::Tlp::Clear
                    },
                    recipients: Recipients::default(),
                },
            )
            .await?;
    }
    eprintln!(
        "loaded {} incidents in {:.1} s",
        args.incidents,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let who = Who {
        name: "bench".into(),
        actor: "geneva bench portal".into(),
        channel: "cli",
    };
    let now = geneva_stix::timestamp::now_rfc3339();
    for n in 0..args.findings.min(args.incidents) {
        let file = cases::open(
            store.as_ref(),
            &Viewer::Operator,
            &who,
            NewCase {
                title: format!("Finding on incident {n}"),
                subjects: vec![incident_id(n)],
                voting: Some(geneva_panel::VotingRules {
                    quorum: 1,
                    majority: (1, 1),
                }),
                ..NewCase::default()
            },
        )
        .await?;
        let case = file.case.id;
        cases::assign(store.as_ref(), &who, &case, &["amelie".to_owned()]).await?;
        cases::transition(store.as_ref(), &who, &case, "analysis", &now, None).await?;
        let norm = NORMS[rng.random_range(0..NORMS.len())];
        cases::draft(
            store.as_ref(),
            &who,
            &case,
            NewDraft {
                title: format!("Finding on incident {n}"),
                sponsor: Some(SPONSORS[rng.random_range(0..SPONSORS.len())].to_owned()),
                probability: 0.8,
                confidence: "moderate".into(),
                norms: vec![(norm.to_owned(), "breach".to_owned())],
                ..NewDraft::default()
            },
            &now,
        )
        .await?;
        cases::transition(store.as_ref(), &who, &case, "review", &now, None).await?;
        cases::transition(store.as_ref(), &who, &case, "vote", &now, None).await?;
        let (_, to_store) =
            cases::vote(store.as_ref(), &who, &case, "amelie", "agree", None, &now).await?;
        super::case::store_objects(location, store, to_store).await?;
        super::case::publish(location, store, &who, &case, &now).await?;
    }
    eprintln!(
        "published {} findings in {:.1} s",
        args.findings,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

pub async fn run(args: PortalArgs) -> anyhow::Result<ExitCode> {
    let temp;
    let dir = match (&args.keep, &args.reuse) {
        (Some(d), _) | (_, Some(d)) => d.clone(),
        _ => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let location = super::StoreLocation {
        data: dir.clone(),
        database: None,
        log_key: None,
    };
    anyhow::ensure!(
        args.incidents > 0 && args.requests > 0,
        "--incidents and --requests are at least 1"
    );
    if args.reuse.is_some() {
        anyhow::ensure!(
            dir.join("geneva.db").is_file(),
            "{} holds no data a `--keep` run left",
            dir.display()
        );
    }
    let store = super::open_store(&location, args.reuse.is_none()).await?;
    if args.reuse.is_none() {
        anyhow::ensure!(
            store.organisations().await?.is_empty(),
            "{} holds data already; the benchmark loads into a fresh directory",
            dir.display()
        );
        load(&location, &store, &args).await?;
    }
    // The workspace's pages are timed as a panel member who is also an operator.
    let panel = store
        .organisation("panel-ch")
        .await?
        .context("the panel's organisation (was the directory loaded by this benchmark?)")?;
    let user = store.user("amelie").await?.context("the panel member")?;
    let token = ApiToken::generate()?;
    store
        .add_token(
            &TokenRecord {
                id: token.id.clone(),
                organisation: panel.id,
                user: Some(user.id),
                scopes: Scopes::new([Scope::Read, Scope::Analyse, Scope::Vote, Scope::Admin]),
                label: "bench".into(),
                created_at: geneva_stix::timestamp::now_rfc3339(),
                revoked_at: None,
            },
            token.hash(),
        )
        .await?;
    let cookie = format!("geneva_session={}", token.reveal());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(geneva_server::serve(
        listener,
        store.clone(),
        geneva_server::ServerConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let findings: Value = http
        .get(format!("{base}/findings"))
        .send()
        .await?
        .json()
        .await?;
    let reports: Vec<String> = findings["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["report"].as_str().map(str::to_owned))
        .collect();
    let incidents = store.stats(&Viewer::Operator).await?;
    let incident_count = incidents
        .objects_by_type
        .iter()
        .find(|(t, _)| t == "incident")
        .map_or(0, |(_, n)| *n as usize);
    let case_count = store.cases().await?.len();
    anyhow::ensure!(!reports.is_empty() && incident_count > 0, "nothing to time");
    let mut rng = StdRng::seed_from_u64(args.seed + 1);
    type PathOf = Box<dyn Fn(&mut StdRng) -> String>;
    let r = reports.clone();
    let pages: Vec<(&str, bool, PathOf)> = vec![
        ("portal: findings", false, Box::new(|_| "/".into())),
        (
            "portal: search",
            false,
            Box::new(|_| "/?q=ru+gge-2015-f".into()),
        ),
        (
            "portal: a finding",
            false,
            Box::new(move |rng| format!("/portal/findings/{}", r[rng.random_range(0..r.len())])),
        ),
        (
            "portal: a state's record",
            false,
            Box::new(|_| "/portal/states/RU".into()),
        ),
        (
            "portal: Atom feed",
            false,
            Box::new(|_| "/findings.atom".into()),
        ),
        ("workspace: incidents", true, Box::new(|_| "/ui/".into())),
        (
            "workspace: an incident",
            true,
            Box::new(move |rng| {
                format!(
                    "/ui/incidents/{}",
                    incident_id(rng.random_range(0..incident_count))
                )
            }),
        ),
        ("workspace: cases", true, Box::new(|_| "/ui/cases".into())),
        (
            "workspace: a case",
            true,
            Box::new(move |rng| {
                format!("/ui/cases/case-{}", rng.random_range(1..=case_count.max(1)))
            }),
        ),
    ];
    let mut rows = Vec::new();
    for (name, signed_in, path_of) in &pages {
        let mut times = Vec::with_capacity(args.requests);
        for i in 0..args.warmup + args.requests {
            let path = path_of(&mut rng);
            let mut request = http.get(format!("{base}{path}"));
            if *signed_in {
                request = request.header("cookie", &cookie);
            }
            let started = Instant::now();
            let response = request.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            let took = started.elapsed();
            anyhow::ensure!(
                status.is_success(),
                "{path}: {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
            if i >= args.warmup {
                times.push(took);
            }
        }
        times.sort();
        rows.push(json!({"page": name, "requests": times.len(),
            "p50_ms": percentile(&times, 0.50), "p95_ms": percentile(&times, 0.95),
            "p99_ms": percentile(&times, 0.99), "max_ms": percentile(&times, 1.0)}));
    }
    // The findings are composed once per read generation: the first page
    // after any write pays for composing them again. Timed apart.
    let org = store
        .organisation("CERT-UA")
        .await?
        .context("the reporting member")?;
    let mut after_write = Vec::new();
    for n in 0..10u64 {
        let t = geneva_stix::timestamp::now_rfc3339();
        let note = json!({"type": "bundle", "id": format!("bundle--00000000-0000-4000-8000-{n:012x}"), "objects": [
            {"type": "note", "spec_version": "2.1", "id": format!("note--{}", uuid::Uuid::new_v4()),
             "created": t, "modified": t, "content": "a write", "object_refs": [incident_id(0)]}]});
        let prepared = geneva_stix::prepare(
            note.to_string().as_bytes(),
            &geneva_stix::PrepareOptions::default(),
        )
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        store
            .import(
                prepared.objects,
                Provenance {
                    organisation: org.name.clone(),
                    organisation_id: Some(org.id),
                    submitted_at: t,
                    default_tlp: geneva_stix::Tlp::Clear,
                    recipients: Recipients::default(),
                },
            )
            .await?;
        let started = Instant::now();
        let response = http.get(format!("{base}/")).send().await?;
        anyhow::ensure!(
            response.status().is_success(),
            "/ after a write: {}",
            response.status()
        );
        response.bytes().await?;
        after_write.push(started.elapsed());
    }
    after_write.sort();
    rows.push(
        json!({"page": "portal: findings, after a write", "requests": after_write.len(),
        "p50_ms": percentile(&after_write, 0.50), "p95_ms": percentile(&after_write, 0.95),
        "p99_ms": percentile(&after_write, 0.99), "max_ms": percentile(&after_write, 1.0)}),
    );
    let _ = stop.send(());
    let _ = server.await;
    let worst = rows
        .iter()
        .filter(|r| r["page"] != "portal: findings, after a write")
        .map(|r| r["p95_ms"].as_f64().unwrap_or(0.0))
        .fold(0.0, f64::max);
    let report = json!({"incidents": incident_count, "findings": reports.len(), "cases": case_count,
        "pages": rows, "worst_p95_ms": worst});
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{} incidents, {} findings, {} cases; {} timed requests per page after {} untimed",
            incident_count,
            reports.len(),
            case_count,
            args.requests,
            args.warmup
        );
        println!(
            "{:<28} {:>8} {:>8} {:>8} {:>8}",
            "page", "p50 ms", "p95 ms", "p99 ms", "max ms"
        );
        for r in report["pages"].as_array().into_iter().flatten() {
            println!(
                "{:<28} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
                r["page"].as_str().unwrap_or(""),
                r["p50_ms"].as_f64().unwrap_or(0.0),
                r["p95_ms"].as_f64().unwrap_or(0.0),
                r["p99_ms"].as_f64().unwrap_or(0.0),
                r["max_ms"].as_f64().unwrap_or(0.0)
            );
        }
        println!("worst p95: {worst:.2} ms (target: at most 50 ms)");
    }
    Ok(ExitCode::SUCCESS)
}
