//! `geneva taxii push` and `pull` against medallion, the OASIS TAXII 2.1
//! server (memory backend), with the OASIS taxii2-client reading medallion's
//! side: what Geneva pulls must be exactly what medallion holds.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use geneva_store::{Store, VersionQuery, VersionSelect, Viewer};
use serde_json::{Value, json};

const COLLECTION: &str = "472c94ae-3113-4e3e-a4dd-a9f4ac7471d4";
const PASSWORD: &str = "medallion-secret";

/// medallion, stopped when dropped.
struct Medallion(Child);

impl Drop for Medallion {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_medallion(python: &Path, dir: &Path) -> (Medallion, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let root = format!("http://127.0.0.1:{port}/api1/");
    let data = json!({
        "/discovery": {"title": "medallion", "default": root, "api_roots": [root]},
        "api1": {
            "information": {"title": "api1", "versions": ["application/taxii+json;version=2.1"],
                            "max_content_length": 104857600},
            "status": [],
            "collections": [{
                "id": COLLECTION, "title": "mirror", "can_read": true, "can_write": true,
                "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": []
            }]
        }
    });
    std::fs::write(dir.join("data.json"), data.to_string()).unwrap();
    let config = json!({
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                    "filename": dir.join("data.json")},
        "users": {"geneva": PASSWORD},
        "taxii": {"max_page_size": 100}
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let log = std::fs::File::create(dir.join("medallion.log")).unwrap();
    let child = Command::new(python.parent().unwrap().join("medallion"))
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .arg(dir.join("config.json"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start medallion");
    let medallion = Medallion(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "medallion did not start: {}",
            std::fs::read_to_string(dir.join("medallion.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (medallion, root)
}

fn taxii(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_geneva"))
        .arg("--data")
        .arg(data)
        .arg("taxii")
        .args(args)
        .env("GENEVA_TAXII_PASSWORD", PASSWORD)
        .output()
        .expect("run geneva")
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn campaign(n: u32, modified: &str) -> Value {
    json!({"type": "campaign", "spec_version": "2.1",
           "id": format!("campaign--{n:08x}-0000-4000-8000-00000000cafe"),
           "created": "2020-01-01T00:00:00.000Z", "modified": modified,
           "name": format!("Campaign {n}")})
}

/// Every object version medallion holds, as taxii2-client reads them.
fn medallion_objects(python: &Path, root: &str) -> Vec<Value> {
    let script = format!(
        "import json\n\
         from taxii2client.v21 import Collection, as_pages\n\
         c = Collection('{root}collections/{COLLECTION}/', user='geneva', password='{PASSWORD}')\n\
         out = []\n\
         for page in as_pages(c.get_objects, per_request=100, version='all'):\n\
         \x20   out.extend(page.get('objects', []))\n\
         print(json.dumps(out))\n"
    );
    let out = Command::new(python).args(["-c", &script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn geneva_objects(data: &Path) -> Vec<Value> {
    let store = geneva_store_sqlite::SqliteStore::open(data.join("geneva.db")).unwrap();
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_versions(
                &VersionQuery {
                    select: VersionSelect {
                        all: true,
                        ..Default::default()
                    },
                    after: after.clone(),
                    limit: 1000,
                    ..Default::default()
                },
                &Viewer::Operator,
            )
            .await
            .unwrap();
        out.extend(
            page.items
                .iter()
                .map(|v| serde_json::from_str::<Value>(&v.canonical).unwrap()),
        );
        match page.next {
            Some(next) => after = Some(next),
            None => return out,
        }
    }
}

fn sorted(mut objects: Vec<Value>) -> Vec<Value> {
    objects.sort_by_key(|o| (o["id"].to_string(), o["modified"].to_string()));
    objects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_from_medallion_mirrors_its_collection() {
    let Some(python) = geneva_testkit::python_with("medallion") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_medallion, root) = start_medallion(&python, dir.path());
    let remote = [
        root.as_str(),
        "--collection",
        COLLECTION,
        "--user",
        "geneva",
        "--allow-private",
        "--json",
    ];

    // 200 campaigns and a second version of 50 of them: three pages at
    // medallion's 100 a page.
    let mut objects: Vec<Value> = (0..200)
        .map(|n| campaign(n, "2020-01-01T00:00:00.000Z"))
        .collect();
    objects.extend((0..50).map(|n| campaign(n, "2021-06-01T00:00:00.000Z")));
    let bundle = dir.path().join("bundle.json");
    std::fs::write(
        &bundle,
        json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objects})
            .to_string(),
    )
    .unwrap();
    let pusher = dir.path().join("pusher");
    let pushed = json_of(&taxii(
        &pusher,
        &[&["push"], &remote[..], &[bundle.to_str().unwrap()]].concat(),
    ));
    assert_eq!(
        (
            pushed["success_count"].as_u64(),
            pushed["failure_count"].as_u64()
        ),
        (Some(250), Some(0))
    );

    // A fresh instance pulls the collection: exactly what medallion holds.
    let mirror = dir.path().join("mirror");
    let pulled = json_of(&taxii(&mirror, &[&["pull"], &remote[..]].concat()));
    assert_eq!(pulled["objects"], 250);
    assert!(pulled["pages"].as_u64().unwrap() >= 3, "{pulled}");
    assert_eq!(
        (pulled["new"].as_u64(), pulled["updated"].as_u64()),
        (Some(200), Some(50))
    );
    let theirs = sorted(medallion_objects(&python, &root));
    assert_eq!(theirs.len(), 250);
    assert_eq!(sorted(geneva_objects(&mirror).await), theirs);

    // Resuming from the last date added brings only what came since.
    let since = pulled["last_added"].as_str().unwrap().to_owned();
    let again = json_of(&taxii(
        &mirror,
        &[&["pull"], &remote[..], &["--since", &since]].concat(),
    ));
    assert_eq!(again["objects"], 0, "{again}");
    let later = dir.path().join("later.json");
    std::fs::write(&later, campaign(7, "2022-01-01T00:00:00.000Z").to_string()).unwrap();
    json_of(&taxii(
        &pusher,
        &[&["push"], &remote[..], &[later.to_str().unwrap()]].concat(),
    ));
    let resumed = json_of(&taxii(
        &mirror,
        &[&["pull"], &remote[..], &["--since", &since]].concat(),
    ));
    assert_eq!(
        (resumed["objects"].as_u64(), resumed["updated"].as_u64()),
        (Some(1), Some(1)),
        "{resumed}"
    );
    assert_eq!(
        sorted(geneva_objects(&mirror).await),
        sorted(medallion_objects(&python, &root))
    );

    // Without --allow-private the same URL is refused before any request.
    let refused = taxii(&mirror, &["pull", &root, "--collection", COLLECTION]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("private"));
}

/// The OASIS taxii2-client against a real `geneva serve` holding all of
/// ATT&CK: `as_pages` over the 19,981 objects, every filter, an object, its
/// versions, the manifest, and a POST followed to its final status. The
/// judge script works out what it expects from the bundle itself.
#[test]
fn taxii2_client_walks_all_of_attack_on_geneva_serve() {
    let Some(python) = geneva_testkit::python_with("taxii2client") else {
        return;
    };
    let Some(attack) = geneva_testkit::shared_data("attack/enterprise-attack-15.1.json") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_geneva"))
            .arg("--data")
            .arg(&data)
            .args(args)
            .output()
            .unwrap();
        json_of(&out)
    };
    run(&["org", "add", "Judge", "--kind", "company", "--json"]);
    // ATT&CK is public: CLEAR, so every member may read it.
    run(&[
        "import",
        "--tlp",
        "clear",
        "--json",
        attack.to_str().unwrap(),
    ]);
    let token = |scopes: &[&str]| {
        let mut args = vec!["token", "create", "--org", "Judge", "--json"];
        for s in scopes {
            args.extend(["--scope", s]);
        }
        run(&args)["token"].as_str().unwrap().to_owned()
    };
    let (reader, submitter) = (token(&["read"]), token(&["read", "submit"]));
    let server = common::serve(&data);
    let base = server.base.clone();
    let judged = Command::new(&python)
        .arg(geneva_testkit::workspace_root().join("tools/taxii_attack_judge.py"))
        .args([&base, &reader, &submitter])
        .arg(&attack)
        .output()
        .unwrap();
    drop(server);
    assert!(
        judged.status.success(),
        "taxii2-client refused the server:\n{}",
        String::from_utf8_lossy(&judged.stderr)
    );
    let report: Value = serde_json::from_slice(&judged.stdout).unwrap();
    let (seen, expected) = (&report["seen"], &report["expected"]);
    assert_eq!(seen["walked_unique"], 19_981);
    assert_eq!(seen["pages"], 200);
    for (key, want) in expected.as_object().unwrap() {
        assert_eq!(&seen[key], want, "{key}");
    }
}
