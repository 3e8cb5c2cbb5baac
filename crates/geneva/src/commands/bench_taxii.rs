//! `geneva bench taxii`: TAXII 2.1 under load. A real server on a real
//! SQLite store holding a STIX bundle (MITRE ATT&CK in BENCHMARKS.md), and
//! concurrent clients walking the collection's object pages with `next`:
//! requests a second and latency percentiles; then the whole bundle posted
//! to the intake collection, timed to its status. With `--peer URL` the same
//! walkers run against another TAXII server's collection (medallion).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use geneva_access::{ApiToken, OrgKind, Scope, Scopes};
use geneva_store::{Store, TokenRecord};
use geneva_store_sqlite::SqliteStore;
use serde_json::{Value, json};

#[derive(Debug, clap::Args)]
pub struct TaxiiArgs {
    /// The STIX bundle the collection holds (e.g. enterprise-attack-15.1.json).
    bundle: std::path::PathBuf,
    /// Concurrent connections walking the collection.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Objects a page.
    #[arg(long, default_value_t = 100)]
    limit: usize,
    /// How long the walkers run, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Instead of serving the bundle, walk this collection objects URL of
    /// another server (e.g. medallion's …/collections/ID/objects/).
    #[arg(long, value_name = "URL")]
    peer: Option<String>,
    /// HTTP Basic user:password for --peer.
    #[arg(long, value_name = "USER:PASSWORD")]
    peer_auth: Option<String>,
    /// Seconds a walker waits for one page before counting it an error.
    #[arg(long, default_value_t = 600)]
    request_timeout: u64,
    /// Megabytes for the server's TAXII page cache (0: every page read
    /// from the store and serialised, as on a first walk).
    #[arg(long, default_value_t = 128)]
    page_cache_mb: usize,
    #[arg(long)]
    json: bool,
}

/// What a walker reads of a page: the objects are counted, not decoded.
#[derive(serde::Deserialize)]
struct PageShape {
    #[serde(default)]
    more: bool,
    next: Option<String>,
    #[serde(default)]
    objects: Vec<serde::de::IgnoredAny>,
}

struct Walk {
    latencies_ms: Vec<f64>,
    objects: usize,
    errors: usize,
}

/// One connection walking the collection from the start, again and again,
/// until the deadline: every request timed.
async fn walker(
    client: reqwest::Client,
    objects_url: String,
    auth: Option<(String, String)>,
    limit: usize,
    deadline: Instant,
) -> Walk {
    let mut walk = Walk {
        latencies_ms: Vec::new(),
        objects: 0,
        errors: 0,
    };
    let mut next: Option<String> = None;
    while Instant::now() < deadline {
        let mut request = client
            .get(&objects_url)
            .header("Accept", geneva_taxii::TAXII_MEDIA_TYPE)
            .query(&[("limit", limit.to_string())]);
        if let Some(n) = &next {
            request = request.query(&[("next", n)]);
        }
        if let Some((user, password)) = &auth {
            request = request.basic_auth(user, Some(password));
        }
        let started = Instant::now();
        let page = match request.send().await {
            Ok(response) if response.status().is_success() => response
                .bytes()
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<PageShape>(&b).ok()),
            _ => None,
        };
        walk.latencies_ms
            .push(started.elapsed().as_secs_f64() * 1e3);
        match page {
            Some(page) => {
                walk.objects += page.objects.len();
                next = if page.more { page.next } else { None };
            }
            None => {
                walk.errors += 1;
                next = None;
            }
        }
    }
    walk
}

async fn load(
    objects_url: &str,
    auth: Option<(String, String)>,
    args: &TaxiiArgs,
) -> anyhow::Result<Value> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(args.request_timeout))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let walkers: Vec<_> = (0..args.connections)
        .map(|_| {
            tokio::spawn(walker(
                client.clone(),
                objects_url.to_owned(),
                auth.clone(),
                args.limit,
                deadline,
            ))
        })
        .collect();
    let mut latencies = Vec::new();
    let (mut objects, mut errors) = (0, 0);
    for w in walkers {
        let walk = w.await?;
        latencies.extend(walk.latencies_ms);
        objects += walk.objects;
        errors += walk.errors;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len().max(1) - 1) as f64 * p).round() as usize)
            .copied()
    };
    Ok(json!({
        "requests": latencies.len(),
        "errors": errors,
        "objects": objects,
        "seconds": elapsed,
        // Only answered pages count: a timed-out request is not served.
        "requests_per_s": ((latencies.len() - errors) as f64 / elapsed).round(),
        "latency_ms": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)},
    }))
}

pub async fn run(args: TaxiiArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.connections > 0 && args.limit > 0,
        "need connections and a page size"
    );
    if let Some(peer) = &args.peer {
        let auth = args.peer_auth.as_deref().map(|a| {
            let (user, password) = a.split_once(':').unwrap_or((a, ""));
            (user.to_owned(), password.to_owned())
        });
        let report = json!({"server": peer, "load": load(peer, auth, &args).await?});
        print(&report, args.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    let bytes = super::read_input(&args.bundle, 1 << 30)?;
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(dir.path().join("bench.db"))?);
    let org = store
        .add_organisation("bench", OrgKind::Company, None)
        .await?;
    let token = ApiToken::generate()?;
    store
        .add_token(
            &TokenRecord {
                id: token.id.clone(),
                organisation: org.id,
                user: None,
                scopes: Scopes::new([Scope::Read, Scope::Submit]),
                label: "bench".into(),
                created_at: geneva_stix::timestamp::now_rfc3339(),
                revoked_at: None,
            },
            token.hash(),
        )
        .await?;
    let secret = token.reveal();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(geneva_server::serve(
        listener,
        store.clone(),
        geneva_server::ServerConfig {
            max_body_bytes: 256 * 1024 * 1024,
            // ATT&CK is public: unmarked objects are CLEAR here (reads of
            // AMBER and above would each be audited, a write per request).
            default_tlp: geneva_stix::Tlp::Clear,
            page_cache_bytes: args.page_cache_mb.saturating_mul(1024 * 1024),
            ..Default::default()
        },
        async {
            let _ = stopped.await;
        },
    ));

    // The whole bundle posted as one envelope to intake of the empty
    // store, timed to its status: validated, stored, in the log.
    let value: Value = serde_json::from_slice(&bytes)?;
    let objects = value["objects"].as_array().map_or(0, Vec::len);
    let envelope = serde_json::to_vec(&json!({"objects": value["objects"]}))?;
    drop(value);
    let posted = Instant::now();
    let response = reqwest::Client::new()
        .post(format!("{base}/taxii2/geneva/collections/intake/objects/"))
        .header("Accept", geneva_taxii::TAXII_MEDIA_TYPE)
        .header("Content-Type", geneva_taxii::TAXII_MEDIA_TYPE)
        .basic_auth("bench", Some(&secret))
        .body(envelope)
        .send()
        .await?;
    let status_code = response.status().as_u16();
    let status: Value = response.json().await.unwrap_or(Value::Null);
    let post_s = posted.elapsed().as_secs_f64();
    anyhow::ensure!(
        status["success_count"].as_u64() == Some(objects as u64),
        "the POST was not taken whole: {status_code} {status}"
    );

    // Then the walkers, as a member with a token (checked on every request),
    // over the collection of everything it may see.
    let objects_url = format!("{base}/taxii2/geneva/collections/all/objects/");
    let auth = Some(("bench".to_owned(), secret.clone()));
    let walking = load(&objects_url, auth, &args).await?;
    let _ = stop.send(());
    server.await??;
    let report = json!({
        "server": "geneva (SQLite)",
        "collection_objects": objects,
        "page_cache_mb": args.page_cache_mb,
        "load": walking,
        "post_whole_bundle": {
            "http_status": status_code,
            "status": status["status"],
            "success_count": status["success_count"],
            "seconds": post_s,
        },
    });
    print(&report, args.json)?;
    Ok(ExitCode::SUCCESS)
}

fn print(report: &Value, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(report)?);
    }
    Ok(())
}
