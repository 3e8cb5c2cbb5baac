//! Geneva on PostgreSQL, end to end: several `geneva serve` processes on one
//! database fed by concurrent importers of overlapping bundles (every object
//! version stored exactly once, every importer succeeds), and `geneva migrate`
//! from SQLite (every version and hash arrives).

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const SERVERS: usize = 4;
const IMPORTERS: usize = 8;
/// Each importer sends objects [k*STEP, k*STEP + WIDTH): neighbours overlap.
const STEP: usize = 500;
const WIDTH: usize = 1500;

fn admin_url() -> String {
    std::env::var("GENEVA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn campaign(n: usize) -> Value {
    json!({"type": "campaign", "spec_version": "2.1", "id": format!("campaign--{n:08x}-0000-4000-8000-000000000000"),
           "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z", "name": format!("C{n}")})
}

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A data directory for this test process (the correlation index and key
/// files live there whatever the database), never the working directory.
fn scratch(name: &str) -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .join(name)
}

fn geneva(database: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_geneva"))
        .arg("--data")
        .arg(scratch("cli"))
        .arg("--database")
        .arg(database)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "geneva {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn four_servers_eight_importers_no_duplicates() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // A database of its own, so that several runs never meet.
    let name = format!(
        "geneva_scale_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    );
    let created = runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
    });
    if let Err(e) = created {
        if geneva_testkit::under_ci() {
            panic!("PostgreSQL at {} is needed: {e}", admin_url());
        }
        eprintln!("SKIPPED: no PostgreSQL at {} ({e})", admin_url());
        return;
    }
    let base = admin_url();
    let database = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);

    geneva(&database, &["org", "add", "CERT-A", "--kind", "state"]);
    let token = String::from_utf8(
        geneva(
            &database,
            &[
                "token", "create", "--org", "CERT-A", "--scope", "submit", "--scope", "read",
            ],
        )
        .stdout,
    )
    .unwrap();
    let token = token.trim().to_owned();

    let servers: Vec<Server> = (0..SERVERS)
        .map(|n| {
            // Each server keeps its own correlation index, as deployed.
            let mut child = Command::new(env!("CARGO_BIN_EXE_geneva"))
                .arg("--data")
                .arg(scratch(&format!("server{n}")))
                .args(["--database", &database, "serve", "--listen", "127.0.0.1:0"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            let address = line
                .trim()
                .strip_prefix("listening on ")
                .expect("serve announces its address")
                .to_owned();
            Server(child, address)
        })
        .collect();

    let results: Vec<Value> = runtime.block_on(async {
        let http = reqwest::Client::new();
        let tasks: Vec<_> = (0..IMPORTERS)
            .map(|k| {
                let (http, token) = (http.clone(), token.clone());
                let url = format!("{}/api/v1/bundles?default_tlp=green", servers[k % SERVERS].1);
                let objects: Vec<Value> = (k * STEP..k * STEP + WIDTH).map(campaign).collect();
                let bundle = json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": objects});
                tokio::spawn(async move {
                    let resp = http.post(url).bearer_auth(token).json(&bundle).send().await.unwrap();
                    let status = resp.status();
                    let body: Value = resp.json().await.unwrap();
                    assert!(status.is_success(), "importer {k}: {status} {body}");
                    body
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });

    let distinct = (IMPORTERS - 1) * STEP + WIDTH;
    let new: u64 = results.iter().map(|r| r["new"].as_u64().unwrap()).sum();
    let unchanged: u64 = results
        .iter()
        .map(|r| r["unchanged"].as_u64().unwrap())
        .sum();
    let updated: u64 = results.iter().map(|r| r["updated"].as_u64().unwrap()).sum();
    assert_eq!(new as usize, distinct, "each object is new exactly once");
    assert_eq!(
        (new + unchanged) as usize,
        IMPORTERS * WIDTH,
        "every other sighting is unchanged"
    );
    assert_eq!(updated, 0);
    let stats: Value =
        serde_json::from_slice(&geneva(&database, &["stats", "--json"]).stdout).unwrap();
    assert_eq!(
        (stats["objects"].as_u64(), stats["versions"].as_u64()),
        (Some(distinct as u64), Some(distinct as u64)),
        "no duplicate versions"
    );

    // Every server sees the same data, page after page.
    runtime.block_on(async {
        for server in &servers {
            let mut seen = 0;
            let mut cursor: Option<String> = None;
            loop {
                let mut req = reqwest::Client::new()
                    .get(format!("{}/api/v1/objects?limit=1000", server.1))
                    .bearer_auth(&token);
                if let Some(c) = &cursor {
                    req = req.query(&[("cursor", c)]);
                }
                let page: Value = req.send().await.unwrap().json().await.unwrap();
                seen += page["objects"].as_array().unwrap().len();
                match page["next"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break,
                }
            }
            assert_eq!(seen, distinct, "server {} lists a different set", server.1);
        }
    });
    drop(servers);
    runtime.block_on(async {
        if let Ok((client, connection)) =
            tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls).await
        {
            tokio::spawn(connection);
            let _ = client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    });
}

/// A database of its own on the test server, or `None` (a printed skip; a failure under CI).
fn fresh_database(runtime: &tokio::runtime::Runtime, prefix: &str) -> Option<String> {
    let name = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_000
    );
    let created = runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
    });
    match created {
        Ok(()) => {
            let base = admin_url();
            Some(format!("{}/{name}", &base[..base.rfind('/').unwrap()]))
        }
        Err(e) if geneva_testkit::under_ci() => {
            panic!("PostgreSQL at {} is needed: {e}", admin_url())
        }
        Err(e) => {
            eprintln!("SKIPPED: no PostgreSQL at {} ({e})", admin_url());
            None
        }
    }
}

#[test]
fn migrate_sqlite_to_postgres_keeps_every_version_and_hash() {
    let Some(attack) = geneva_testkit::shared_data("attack/enterprise-attack-15.1.json") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let Some(database) = fresh_database(&runtime, "geneva_migrate") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite:{}", dir.path().join("geneva.db").display());
    geneva(&sqlite, &["import", attack.to_str().unwrap()]);
    geneva(&sqlite, &["org", "add", "CERT-A", "--kind", "state"]);
    geneva(&sqlite, &["org", "add", "CERT-B", "--kind", "state"]);
    geneva(&sqlite, &["user", "add", "alice", "--org", "CERT-B"]);
    geneva(&sqlite, &["group", "add", "partners", "--member", "CERT-B"]);
    geneva(
        &sqlite,
        &[
            "token", "create", "--org", "CERT-B", "--user", "alice", "--scope", "read",
        ],
    );
    // Restricted evidence with recipients, and a second version of one object.
    let evidence = dir.path().join("evidence.json");
    let mut v2 = campaign(2);
    v2["modified"] = json!("2021-01-01T00:00:00.000Z");
    std::fs::write(&evidence, json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": [campaign(1), campaign(2), v2]}).to_string()).unwrap();
    geneva(
        &sqlite,
        &[
            "import",
            "--as",
            "CERT-A",
            "--tlp",
            "red",
            "--share-with",
            "partners",
            "--share-with-user",
            "alice",
            evidence.to_str().unwrap(),
        ],
    );

    let out = geneva(
        &database,
        &["migrate", "--from", &sqlite, "--to", &database, "--json"],
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verified"], true);
    assert_eq!(report["versions"], 19_981 + 3);
    assert_eq!(
        (
            report["organisations"].as_u64(),
            report["users"].as_u64(),
            report["tokens"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );

    let stats = |db: &str| -> Value {
        serde_json::from_slice(&geneva(db, &["stats", "--json"]).stdout).unwrap()
    };
    assert_eq!(stats(&sqlite), stats(&database));
    let export = |db: &str| -> Vec<Value> {
        let bundle: Value = serde_json::from_slice(&geneva(db, &["export"]).stdout).unwrap();
        let mut objects = bundle["objects"].as_array().unwrap().clone();
        objects.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        objects
    };
    assert_eq!(export(&sqlite), export(&database));
    let shown: Value = serde_json::from_slice(
        &geneva(
            &database,
            &[
                "show",
                "--json",
                "--versions",
                campaign(2)["id"].as_str().unwrap(),
            ],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(shown["versions"].as_array().unwrap().len(), 2);
    assert_eq!(shown["versions"][1]["submitted_by"], "CERT-A");
    assert_eq!(shown["versions"][1]["tlp"], "TLP:RED");
    // The log arrived leaf for leaf: signed with the source's key, the target's
    // checkpoint is the source's, byte for byte, and its audit is clean.
    let key = dir.path().join("log.key");
    let key = key.to_str().unwrap();
    let source_checkpoint = geneva(&sqlite, &["log", "checkpoint"]).stdout;
    let target_checkpoint =
        geneva(&database, &["--log-signing-key", key, "log", "checkpoint"]).stdout;
    assert_eq!(
        String::from_utf8_lossy(&target_checkpoint),
        String::from_utf8_lossy(&source_checkpoint)
    );
    let audit: Value =
        serde_json::from_slice(&geneva(&database, &["log", "audit", "--json"]).stdout).unwrap();
    assert_eq!(audit["problems"], json!([]), "{audit}");
    assert_eq!(audit["size"], 19_981 + 3);
    // A second migration into the now full target is refused.
    let again = Command::new(env!("CARGO_BIN_EXE_geneva"))
        .args(["migrate", "--from", &sqlite, "--to", &database])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds data"));
    runtime.block_on(async {
        if let Ok((client, connection)) =
            tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls).await
        {
            tokio::spawn(connection);
            let name = &database[database.rfind('/').unwrap() + 1..];
            let _ = client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    });
}
