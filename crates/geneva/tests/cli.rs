//! The `geneva` binary end to end: real files, a real database, real processes.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

mod common;
use common::{geneva, ok};

fn geneva_json(data: &Path, args: &[&str]) -> Value {
    let out = geneva(data, args);
    assert!(
        out.status.success(),
        "geneva {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn objects_by_id(bundle: &Value) -> HashMap<String, Value> {
    bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_str().unwrap().to_owned(), o.clone()))
        .collect()
}

/// SHA-256 over every file of the database (main file, WAL, shared memory), in name order.
fn database_checksum(data: &Path) -> String {
    let mut names: Vec<PathBuf> = std::fs::read_dir(data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut hasher = Sha256::new();
    for n in names {
        hasher.update(n.file_name().unwrap().to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&n).unwrap());
    }
    hex::encode(hasher.finalize())
}

fn campaign(n: usize, name: &str) -> Value {
    json!({"type": "campaign", "spec_version": "2.1", "id": format!("campaign--{n:08x}-0000-4000-8000-000000000000"),
           "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z", "name": name})
}

fn bundle(objects: Vec<Value>) -> Value {
    json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": objects})
}

#[test]
fn attack_imports_reimports_unchanged_and_exports_identical_objects() {
    let Some(attack) = geneva_testkit::shared_data("attack/enterprise-attack-15.1.json") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let attack = attack.to_str().unwrap();
    let first = geneva_json(&data, &["import", "--json", attack]);
    assert_eq!(
        (
            first["new"].as_u64(),
            first["updated"].as_u64(),
            first["unchanged"].as_u64()
        ),
        (Some(19_981), Some(0), Some(0))
    );
    let again = geneva_json(&data, &["import", "--json", attack]);
    assert_eq!(
        (again["new"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(19_981))
    );
    assert_eq!(geneva_json(&data, &["stats", "--json"])["objects"], 19_981);

    let exported = dir.path().join("export.json");
    let out = geneva(&data, &["export", "-o", exported.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let original: Value = serde_json::from_slice(&std::fs::read(attack).unwrap()).unwrap();
    let export: Value = serde_json::from_slice(&std::fs::read(&exported).unwrap()).unwrap();
    assert_eq!(export["type"], "bundle");
    let (original, export) = (objects_by_id(&original), objects_by_id(&export));
    assert_eq!(original.len(), export.len());
    for (id, object) in &original {
        assert_eq!(
            export.get(id),
            Some(object),
            "exported {id} differs from the imported object"
        );
    }

    // The reference validator accepts the export (it takes about 50 s on this bundle).
    if let Some(verdicts) =
        geneva_testkit::stix2_validator_verdicts(std::slice::from_ref(&exported))
    {
        let (valid, errors) = &verdicts[&exported];
        assert!(valid, "stix2-validator rejects the export: {errors}");
    }
}

#[test]
fn stix20_attack_yields_the_same_objects_as_stix21() {
    let Some(v20) = geneva_testkit::shared_data("attack/enterprise-attack-15.1-stix20.json") else {
        return;
    };
    let Some(v21) = geneva_testkit::shared_data("attack/enterprise-attack-15.1.json") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let summary = geneva_json(&data, &["import", "--json", v20.to_str().unwrap()]);
    assert_eq!(summary["new"], 19_981);
    assert_eq!(summary["files"][0]["upgraded_from_stix20"], 19_981);
    let out = geneva(&data, &["export"]);
    assert!(out.status.success());
    let export: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected: Value = serde_json::from_slice(&std::fs::read(v21).unwrap()).unwrap();
    assert_eq!(objects_by_id(&export), objects_by_id(&expected));
}

#[test]
fn bad_input_is_refused_with_its_place_and_leaves_the_store_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let seed = dir.path().join("seed.json");
    std::fs::write(
        &seed,
        bundle((0..50).map(|n| campaign(n, "seed")).collect()).to_string(),
    )
    .unwrap();
    geneva_json(&data, &["import", "--json", seed.to_str().unwrap()]);
    let before = database_checksum(&data);

    let valid_10k: Vec<Value> = (100..10_100).map(|n| campaign(n, "bulk")).collect();
    let mut one_bad = valid_10k.clone();
    one_bad[5123]["created"] = json!("2020-02-30T00:00:00.000Z");
    let full = bundle(valid_10k).to_string();
    let deep = format!(
        "{{\"type\":\"bundle\",\"id\":\"bundle--44af6c39-c09b-49c5-9de2-394224b04982\",\"objects\":[{}{}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let mut changed = campaign(3, "seed");
    changed["name"] = json!("rewritten without a new modified");

    let cases: Vec<(&str, Vec<u8>, Vec<&str>, &str)> = vec![
        ("truncated.json", full.as_bytes()[..full.len() / 2].to_vec(), vec![], "truncated"),
        ("one-bad.json", bundle(one_bad).to_string().into_bytes(), vec![], "object 5123 (campaign--00001467-0000-4000-8000-000000000000"),
        ("too-large.json", full.clone().into_bytes(), vec!["--max-bytes", "100000"], "over the limit of 100000 bytes"),
        ("deep.json", deep.into_bytes(), vec![], "deeper than 128 levels"),
        ("duplicate-keys.json", bundle(vec![campaign(1, "x")]).to_string().replacen("\"name\":\"x\"", "\"name\":\"x\",\"name\":\"y\"", 1).into_bytes(), vec![], "duplicate key \"name\""),
        ("invalid-utf8.json", [&b"{\"type\":\"bundle\",\"id\":\"bundle--44af6c39-c09b-49c5-9de2-394224b04982\",\"objects\":[{\"name\":\""[..], b"\xff\xfe", b"\"}]}"].concat(), vec![], "UTF-8"),
        ("empty.json", Vec::new(), vec![], "empty"),
        ("conflict.json", bundle(vec![campaign(9_999, "new"), changed]).to_string().into_bytes(), vec![], "already stored with different content"),
    ];
    for (name, bytes, extra, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let mut args = vec!["import"];
        args.extend(extra);
        args.push(path.to_str().unwrap());
        let out = geneva(&data, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} was accepted");
        assert!(
            stderr.contains(expected),
            "{name}: error does not say {expected:?}:\n{stderr}"
        );
        if name != "conflict.json" {
            assert!(
                stderr.contains(name),
                "{name}: error does not name the file:\n{stderr}"
            );
        }
        assert_eq!(database_checksum(&data), before, "{name} changed the store");
    }
    // The one invalid object is pinned down to its JSON path and rule.
    let out = geneva(
        &data,
        &["import", dir.path().join("one-bad.json").to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("$.objects[5123].created") && stderr.contains("[timestamp]"),
        "{stderr}"
    );
    assert!(stderr.contains("rejected 1 object;"), "{stderr}");
}

#[test]
fn gzip_stdin_versions_and_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gz = dir.path().join("b.json.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bundle(vec![campaign(1, "first")]).to_string().as_bytes())
        .unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    assert_eq!(
        geneva_json(&data, &["import", "--json", gz.to_str().unwrap()])["new"],
        1
    );

    let mut newer = campaign(1, "second");
    newer["modified"] = json!("2021-01-01T00:00:00.000Z");
    newer["revoked"] = json!(true);
    let mut child = Command::new(env!("CARGO_BIN_EXE_geneva"))
        .args(["--data", data.to_str().unwrap(), "import", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(bundle(vec![newer]).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["updated"], 1);

    let id = campaign(1, "")["id"].as_str().unwrap().to_owned();
    let current = geneva_json(&data, &["show", "--json", &id]);
    assert_eq!(
        (
            current["revoked"].as_bool(),
            current["object"]["name"].as_str()
        ),
        (Some(true), Some("second"))
    );
    let history = geneva_json(&data, &["show", "--json", "--versions", &id]);
    assert_eq!(history["versions"].as_array().unwrap().len(), 2);
    assert_eq!(history["versions"][0]["object"]["name"], "first");

    let text = String::from_utf8(geneva(&data, &["show", &id]).stdout).unwrap();
    assert!(text.contains("REVOKED"), "{text}");
    let missing = geneva(
        &data,
        &["show", "campaign--00000000-0000-4000-8000-000000000000"],
    );
    assert!(!missing.status.success());
}

#[test]
fn export_filters_by_type_and_since() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("b.json");
    let mut late = campaign(2, "late");
    late["modified"] = json!("2023-05-01T00:00:00.000Z");
    let identity = json!({"type": "identity", "spec_version": "2.1", "id": "identity--2b3c2b2a-8c34-4b55-9a37-5bd2f5a2f2b0",
        "created": "2019-01-01T00:00:00.000Z", "modified": "2019-01-01T00:00:00.000Z", "name": "Acme"});
    std::fs::write(
        &file,
        bundle(vec![campaign(1, "early"), late, identity]).to_string(),
    )
    .unwrap();
    geneva_json(&data, &["import", "--json", file.to_str().unwrap()]);
    let only = |args: &[&str]| -> Vec<String> {
        let out = geneva(&data, args);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut names: Vec<String> = v["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        only(&["export", "--type", "campaign"]),
        vec!["early", "late"]
    );
    assert_eq!(
        only(&["export", "--since", "2022-01-01T00:00:00Z"]),
        vec!["late"]
    );
    let bad = geneva(&data, &["export", "--since", "last tuesday"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("last tuesday"));
}

#[test]
fn read_commands_on_a_missing_store_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = geneva(&dir.path().join("nowhere"), &["stats"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("run `geneva import` first"));
}

#[test]
fn serve_answers_and_stops_cleanly_on_sigterm() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    geneva_json(
        &data,
        &[
            "org",
            "add",
            "CH-NCSC",
            "--kind",
            "state",
            "--country",
            "CH",
            "--json",
        ],
    );
    let token = geneva_json(
        &data,
        &[
            "token", "create", "--org", "CH-NCSC", "--scope", "read", "--scope", "submit", "--json",
        ],
    );
    let token = token["token"].as_str().unwrap().to_owned();
    let mut server = Command::new(env!("CARGO_BIN_EXE_geneva"))
        .args([
            "--data",
            dir.path().join("data").to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let base = first_line
        .trim()
        .strip_prefix("listening on ")
        .expect("serve announces its address")
        .to_owned();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let health: Value = reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(health["status"], "ok");
        let anonymous = reqwest::Client::new()
            .post(format!("{base}/api/v1/bundles"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401);
        let posted = reqwest::Client::new()
            .post(format!("{base}/api/v1/bundles"))
            .bearer_auth(&token)
            .body(bundle(vec![campaign(1, "over http")]).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 201);
    });

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = server.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "serve should exit cleanly on SIGTERM: {:?}",
        out.status
    );
    // Structured logs: every line of standard error is a JSON object.
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.lines().count() >= 2, "{logs}");
    for line in logs.lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
    }
    assert!(logs.contains("shutting down"), "{logs}");
    // What was posted is there for the CLI after the server stopped.
    let shown = geneva_json(
        &dir.path().join("data"),
        &["show", "--json", campaign(1, "")["id"].as_str().unwrap()],
    );
    assert_eq!(shown["object"]["name"], "over http");
    assert_eq!(shown["submitted_by"], "CH-NCSC");
    let audit = geneva_json(&dir.path().join("data"), &["audit", "--json"]);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec!["org-add", "token-create", "import", "read"],
        "the show of an AMBER object is a read"
    );
}

#[test]
fn directory_commands_and_token_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    geneva_json(
        &data,
        &[
            "org",
            "add",
            "CH-NCSC",
            "--kind",
            "state",
            "--country",
            "ch",
            "--json",
        ],
    );
    geneva_json(
        &data,
        &["org", "add", "Acme", "--kind", "company", "--json"],
    );
    let dup = geneva(&data, &["org", "add", "Acme", "--kind", "vendor"]);
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let bad_kind = geneva(&data, &["org", "add", "X", "--kind", "pirate"]);
    assert!(!bad_kind.status.success());
    assert!(
        geneva(&data, &["user", "add", "alice", "--org", "CH-NCSC"])
            .status
            .success()
    );
    let no_org = geneva(&data, &["user", "add", "bob", "--org", "Nowhere"]);
    assert!(String::from_utf8_lossy(&no_org.stderr).contains("no organisation named \"Nowhere\""));
    assert!(
        geneva(
            &data,
            &[
                "group", "add", "europe", "--member", "CH-NCSC", "--member", "Acme"
            ]
        )
        .status
        .success()
    );
    let groups = geneva_json(&data, &["group", "list", "--json"]);
    assert_eq!(groups[0]["members"], json!(["Acme", "CH-NCSC"]));

    let created = geneva_json(
        &data,
        &[
            "token", "create", "--org", "CH-NCSC", "--user", "alice", "--scope", "read", "--json",
        ],
    );
    let token = created["token"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    let prefix = format!("gva_{id}_");
    assert!(token.starts_with(&prefix));
    // Only the hash is at rest: the secret appears nowhere in the database files.
    // (The secret is base64url, which has '_' in its alphabet: it is what
    // follows the prefix, not what follows the last '_'.)
    let secret = &token[prefix.len()..];
    assert_eq!(secret.len(), 43, "{token}");
    for entry in std::fs::read_dir(&data).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the token secret is stored in clear"
        );
    }
    let wrong_user = geneva(
        &data,
        &[
            "token", "create", "--org", "Acme", "--user", "alice", "--scope", "read",
        ],
    );
    assert!(String::from_utf8_lossy(&wrong_user.stderr).contains("does not belong"));
    assert!(geneva(&data, &["token", "revoke", id]).status.success());
    let listed = geneva_json(&data, &["token", "list", "--json"]);
    assert!(listed[0]["revoked_at"].is_string());
    assert!(
        !geneva(&data, &["token", "revoke", "000000000000"])
            .status
            .success()
    );
}

#[test]
fn evidence_files_are_kept_by_hash_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sample = dir.path().join("sample.bin");
    std::fs::write(&sample, b"MZ\x90\x00 sample").unwrap();
    let added = geneva_json(
        &data,
        &["evidence", "add", "--json", sample.to_str().unwrap()],
    );
    let sha = added[0]["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha, hex::encode(Sha256::digest(b"MZ\x90\x00 sample")));
    let out = dir.path().join("out.bin");
    assert!(
        geneva(
            &data,
            &["evidence", "get", &sha, "-o", out.to_str().unwrap()]
        )
        .status
        .success()
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"MZ\x90\x00 sample");
    // Altered at rest: refused, never handed out.
    let stored = data
        .join("blobs/sha256")
        .join(&sha[..2])
        .join(&sha[2..4])
        .join(&sha);
    std::fs::write(&stored, b"tampered").unwrap();
    let refused = geneva(&data, &["evidence", "get", &sha]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("corrupt"));
    assert!(
        !geneva(&data, &["evidence", "get", "../../etc/passwd"])
            .status
            .success()
    );
}

/// `geneva feeds add|list|remove`: kept as given, refused with a reason
/// when they could never run.
#[test]
fn feeds_are_added_listed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let added = geneva_json(
        data,
        &[
            "feeds",
            "add",
            "https://cti.example.org/taxii2/feeds/",
            "--collection",
            "91a7b528-80eb-42ed-a74d-c6fbd5a26116",
            "--user",
            "geneva",
            "--every",
            "1h",
            "--tlp",
            "green",
            "--json",
        ],
    );
    assert_eq!(added["every_secs"], 3600);
    assert_eq!(added["password_env"], "GENEVA_TAXII_PASSWORD");
    assert_eq!(added["tlp"], "green");
    assert_eq!(added["resumes_after"], Value::Null);
    let listed = geneva_json(data, &["feeds", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], added["id"]);
    for (bad, why) in [
        (
            vec!["ftp://x.example/", "--collection", "c"],
            "http or https",
        ),
        (
            vec!["https://x.example/", "--collection", "c", "--every", "5w"],
            "unit",
        ),
        (
            vec!["https://x.example/", "--collection", "c", "--as", "Nobody"],
            "no organisation",
        ),
        (
            vec![
                "https://x.example/",
                "--collection",
                "c",
                "--since",
                "yesterday",
            ],
            "--since",
        ),
    ] {
        let mut args = vec!["feeds", "add"];
        args.extend(bad);
        let out = geneva(data, &args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    }
    let id = added["id"].to_string();
    ok(data, &["feeds", "remove", &id]);
    let again = geneva(data, &["feeds", "remove", &id]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("no feed"));
    assert!(ok(data, &["feeds", "list"]).contains("no feeds"));
}
