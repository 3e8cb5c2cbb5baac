//! The transparency log end to end: real processes, a real database, real
//! HTTP. Each kind of tampering the issue names is detected by `geneva
//! verify`, `geneva log audit` or a witness, with a message that says what is
//! wrong; and a SIGKILL in the middle of a large import leaves store and log
//! in step.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use geneva_tlog::{Checkpoint, KeyKind, SigningKey};
use serde_json::{Value, json};

mod common;
use common::{geneva, ok};

/// Runs a command expected to fail, returning what it printed.
fn refused(data: &Path, args: &[&str]) -> String {
    let out = geneva(data, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "geneva {args:?} should have failed: {text}"
    );
    text
}

fn campaigns(from: usize, to: usize, tag: &str) -> Value {
    let objects: Vec<Value> = (from..to)
        .map(|n| {
            json!({"type": "campaign", "spec_version": "2.1",
                   "id": format!("campaign--{n:08x}-0000-4000-8000-000000000000"),
                   "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
                   "name": format!("{tag} {n}"), "description": "x".repeat(200)})
        })
        .collect();
    json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": objects})
}

fn write_json(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(value).unwrap()).unwrap();
    path
}

fn sql(data: &Path, statements: &str) {
    let conn = rusqlite::Connection::open(data.join("geneva.db")).unwrap();
    conn.execute_batch(statements).unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn geneva_verify_and_the_audit_catch_every_kind_of_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = write_json(dir.path(), "first.json", &campaigns(0, 50, "first"));
    ok(&data, &["import", s(&first)]);
    let key_text = ok(&data, &["log", "key"]);
    let key = key_text.trim();
    // The key file is the owner's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(data.join("log.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let cp50 = dir.path().join("cp50.note");
    std::fs::write(&cp50, ok(&data, &["log", "checkpoint"])).unwrap();

    // A proof verifies offline with nothing but the public key.
    let id = "campaign--00000007-0000-4000-8000-000000000000";
    let proof = dir.path().join("proof.json");
    ok(&data, &["log", "prove", id, "-o", s(&proof)]);
    let verdict = ok(&data, &["verify", "--log-key", key, s(&proof)]);
    assert!(
        verdict.starts_with(&format!(
            "OK: {id} version 2020-01-01T00:00:00.000Z is leaf "
        )),
        "{verdict}"
    );

    // One object altered after it was logged: in a copy, and in the proof file itself.
    let mut bundle: Value = serde_json::from_slice(&std::fs::read(&proof).unwrap()).unwrap();
    let mut object = bundle["object"].clone();
    object["name"] = json!("first 7, rewritten");
    let altered = write_json(dir.path(), "altered.json", &object);
    let out = refused(
        &data,
        &[
            "verify",
            "--log-key",
            key,
            "--object",
            s(&altered),
            s(&proof),
        ],
    );
    assert!(
        out.contains(&format!("FAILED: object {id}: its canonical SHA-256 is"))
            && out.contains("altered after it was logged"),
        "{out}"
    );
    bundle["object"] = object;
    let forged_proof = write_json(dir.path(), "forged-proof.json", &bundle);
    let out = refused(&data, &["verify", "--log-key", key, s(&forged_proof)]);
    assert!(out.contains("altered after it was logged"), "{out}");
    // The leaf's provenance rewritten (another submitter): not in the signed tree.
    let mut bundle: Value = serde_json::from_slice(&std::fs::read(&proof).unwrap()).unwrap();
    bundle["leaf"] = json!(
        bundle["leaf"]
            .as_str()
            .unwrap()
            .replace("\"submitter\":\"local\"", "\"submitter\":\"someone\"")
    );
    let out = refused(
        &data,
        &[
            "verify",
            "--log-key",
            key,
            s(&write_json(dir.path(), "p2.json", &bundle)),
        ],
    );
    assert!(
        out.contains("leaf ") && out.contains("is not in the tree"),
        "{out}"
    );

    // The log grows; the new checkpoint extends the old one.
    let second = write_json(dir.path(), "second.json", &campaigns(50, 80, "second"));
    ok(&data, &["import", s(&second)]);
    let cp80 = dir.path().join("cp80.note");
    std::fs::write(&cp80, ok(&data, &["log", "checkpoint"])).unwrap();
    let consistency = dir.path().join("consistency.json");
    ok(&data, &["log", "consistency", "50", "-o", s(&consistency)]);
    let verdict = ok(&data, &["verify", "--log-key", key, s(&consistency)]);
    assert!(
        verdict.contains("the checkpoint of 80 leaves extends the one of 50 leaves"),
        "{verdict}"
    );
    let api_proof = write_json(dir.path(), "api-proof.json", &{
        let c: Value = serde_json::from_slice(&std::fs::read(&consistency).unwrap()).unwrap();
        json!({"proof": c["proof"]})
    });
    ok(
        &data,
        &[
            "verify",
            "--log-key",
            key,
            s(&cp50),
            s(&cp80),
            "--proof",
            s(&api_proof),
        ],
    );

    // The log truncated: the later checkpoint is smaller.
    let out = refused(&data, &["verify", "--log-key", key, s(&cp80), s(&cp50)]);
    assert!(
        out.contains("the log shrank: a checkpoint of 80 leaves was followed by one of 50"),
        "{out}"
    );

    // A forked checkpoint: same size, another root, signed with the log's own key.
    let log_key = SigningKey::from_private_text(
        std::fs::read_to_string(data.join("log.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let genuine = geneva_tlog::Note::parse(&std::fs::read(&cp80).unwrap()).unwrap();
    let mut forked = Checkpoint::parse_body(&genuine.text).unwrap();
    forked.root.0[0] ^= 1;
    let forked_path = dir.path().join("forked.note");
    std::fs::write(&forked_path, forked.sign(&log_key).to_text()).unwrap();
    let out = refused(
        &data,
        &["verify", "--log-key", key, s(&cp80), s(&forked_path)],
    );
    assert!(
        out.contains("the log forked: two checkpoints of 80 leaves have different roots"),
        "{out}"
    );
    // An extension that does not extend: a bad proof between honest-looking checkpoints.
    let out = refused(
        &data,
        &[
            "verify",
            "--log-key",
            key,
            s(&cp50),
            s(&forked_path),
            "--proof",
            s(&api_proof),
        ],
    );
    assert!(
        out.contains("does not extend the one of 50 leaves"),
        "{out}"
    );

    // A checkpoint signed by another key.
    let impostor = SigningKey::generate(log_key.name(), KeyKind::Note).unwrap();
    let impostor_path = dir.path().join("impostor.note");
    std::fs::write(
        &impostor_path,
        Checkpoint::parse_body(&genuine.text)
            .unwrap()
            .sign(&impostor)
            .to_text(),
    )
    .unwrap();
    let out = refused(
        &data,
        &["verify", "--log-key", key, s(&cp50), s(&impostor_path)],
    );
    assert!(
        out.contains("the checkpoint is not signed by the log's key"),
        "{out}"
    );

    // The stored data itself: the audit finds alteration, deletion and reordering.
    assert!(ok(&data, &["log", "audit"]).starts_with("ok: 80 stored versions, 80 leaves"));
    sql(
        &data,
        "UPDATE object_versions SET canonical = replace(canonical, 'first 3\"', 'first 333\"') WHERE id = 'campaign--00000003-0000-4000-8000-000000000000'",
    );
    sql(
        &data,
        "UPDATE object_versions SET leaf_delta = leaf_delta + 1 WHERE id = 'campaign--00000010-0000-4000-8000-000000000000'; \
                UPDATE object_versions SET leaf_delta = leaf_delta - 1 WHERE id = 'campaign--00000011-0000-4000-8000-000000000000';",
    );
    sql(
        &data,
        "PRAGMA foreign_keys = OFF; DELETE FROM current_objects WHERE id = 'campaign--00000020-0000-4000-8000-000000000000'; \
                DELETE FROM object_versions WHERE id = 'campaign--00000020-0000-4000-8000-000000000000';",
    );
    let out = refused(&data, &["log", "audit"]);
    assert!(out.contains("TAMPERED: object campaign--00000003-0000-4000-8000-000000000000 version 2020-01-01T00:00:00.000Z (leaf 3): its stored JSON no longer has the SHA-256 it was logged with"), "{out}");
    assert!(out.contains("object campaign--00000010-0000-4000-8000-000000000000 version 2020-01-01T00:00:00.000Z claims leaf 17, but leaf 17 of the log is a different item"), "{out}");
    assert!(
        out.contains("leaf 32 has no stored version: a logged item was deleted"),
        "{out}"
    );
    // A proof for the altered object no longer verifies either.
    ok(
        &data,
        &[
            "log",
            "prove",
            "campaign--00000003-0000-4000-8000-000000000000",
            "-o",
            s(&proof),
        ],
    );
    let out = refused(&data, &["verify", "--log-key", key, s(&proof)]);
    assert!(out.contains("FAILED: object campaign--00000003-0000-4000-8000-000000000000: its canonical SHA-256 is") && out.contains("altered after it was logged"), "{out}");
}

/// A server that is stopped however the test ends, panics included.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn listen(data: &Path, extra: &[&str]) -> (Server, String) {
    use std::io::BufRead;
    let mut server = Command::new(env!("CARGO_BIN_EXE_geneva"))
        .arg("--data")
        .arg(data)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-interval-ms",
            "100",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("serve announces its address")
        .to_owned();
    (Server(server), base)
}

fn witness(data: &Path, base: &str, key: &Path, log_key: &str) -> Output {
    geneva(
        data,
        &[
            "witness",
            "--once",
            "--log",
            &format!("{base}/log"),
            "--log-key",
            log_key,
            "--key",
            s(key),
        ],
    )
}

fn text_of(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn witnesses_cosign_over_http_and_refuse_truncation_forks_and_other_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(
        &data,
        &[
            "import",
            s(&write_json(dir.path(), "a.json", &campaigns(0, 300, "a"))),
        ],
    );
    let log_key = ok(&data, &["log", "key"]).trim().to_owned();
    let w1 = dir.path().join("w1.key");
    let w1_public = ok(
        &data,
        &["witness", "--init", "witness.test/w1", "--key", s(&w1)],
    )
    .trim()
    .to_owned();
    ok(&data, &["log", "witness", "add", &w1_public]);
    let (server, base) = listen(&data, &["--require-witnesses", "1"]);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let get = |url: String| runtime.block_on(async { reqwest::get(url).await.unwrap() });
    // Public, cacheable tiles; the checkpoint before any witness.
    let tile = get(format!("{base}/log/tile/0/000"));
    assert_eq!(tile.status(), 200);
    assert!(
        tile.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(runtime.block_on(tile.bytes()).unwrap().len(), 8192);
    assert_eq!(get(format!("{base}/log/tile/0/001.p/44")).status(), 200);
    assert_eq!(get(format!("{base}/log/tile/0/001.p/45")).status(), 404);
    assert_eq!(
        get(format!("{base}/log/tile/0/..%2F..%2Fetc")).status(),
        400
    );
    let proof = get(format!("{base}/log/proof/inclusion?index=5"));
    let proof: Value = runtime.block_on(proof.json()).unwrap();
    assert_eq!(proof["tree_size"], 300);
    assert_eq!(
        get(format!("{base}/log/proof/inclusion?index=300")).status(),
        400
    );
    assert_eq!(
        get(format!("{base}/log/proof/consistency?old=400")).status(),
        400
    );
    let id = "campaign--00000005-0000-4000-8000-000000000000";
    let unwitnessed = get(format!("{base}/api/v1/objects/{id}/proof"));
    // Objects imported by the CLI default to AMBER: anonymous callers may not see them.
    assert_eq!(unwitnessed.status(), 404);

    let out = witness(&data, &base, &w1, &log_key);
    assert!(out.status.success(), "{}", text_of(&out));
    assert!(text_of(&out).contains("cosigned checkpoint of 300 leaves"));
    let served = runtime
        .block_on(get(format!("{base}/log/checkpoint")).text())
        .unwrap();
    let note = geneva_tlog::Note::parse(served.as_bytes()).unwrap();
    assert_eq!(note.signatures.len(), 2, "{served}");
    note.verify(&geneva_tlog::VerifierKey::parse(&w1_public).unwrap())
        .unwrap();

    // The log grows over HTTP; the witness checks consistency and cosigns again.
    ok(&data, &["org", "add", "CH-NCSC", "--kind", "state"]);
    let token = ok(
        &data,
        &[
            "token", "create", "--org", "CH-NCSC", "--scope", "read", "--scope", "submit",
        ],
    )
    .trim()
    .to_owned();
    let posted = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/api/v1/bundles?default_tlp=clear"))
            .bearer_auth(&token)
            .body(campaigns(300, 420, "b").to_string())
            .send()
            .await
            .unwrap()
    });
    assert_eq!(posted.status(), 201);
    let out = witness(&data, &base, &w1, &log_key);
    assert!(
        text_of(&out).contains("cosigned checkpoint of 420 leaves"),
        "{}",
        text_of(&out)
    );
    let id = "campaign--00000150-0000-4000-8000-000000000000";
    let bundle = get(format!("{base}/api/v1/objects/{id}/proof"));
    assert_eq!(bundle.status(), 200);
    assert_eq!(bundle.headers()["x-geneva-witnessed"], "true");
    let bundle_path = dir.path().join("bundle.json");
    std::fs::write(&bundle_path, runtime.block_on(bundle.bytes()).unwrap()).unwrap();
    let verdict = ok(
        &data,
        &[
            "verify",
            "--log-key",
            &log_key,
            "--witness",
            &w1_public,
            s(&bundle_path),
        ],
    );
    assert!(
        verdict.contains("cosigned by 1 of 1 witnesses given (witness.test/w1)"),
        "{verdict}"
    );
    // Leaves found by their hash.
    let bundle_json: Value = serde_json::from_slice(&std::fs::read(&bundle_path).unwrap()).unwrap();
    let leaf = geneva_tlog::leaf_hash(bundle_json["leaf"].as_str().unwrap().as_bytes());
    let by_hash: Value = runtime
        .block_on(get(format!("{base}/log/proof/inclusion?hash={}", leaf.to_hex())).json())
        .unwrap();
    assert_eq!(by_hash["leaf_index"], bundle_json["leaf_index"]);
    assert_eq!(
        get(format!(
            "{base}/log/proof/inclusion?hash={}",
            geneva_tlog::leaf_hash(b"none").to_hex()
        ))
        .status(),
        404
    );
    ok(
        &data,
        &[
            "log",
            "consistency",
            "300",
            "--to",
            "420",
            "-o",
            s(&dir.path().join("c.json")),
        ],
    );

    // Truncated: the operator rolls the log back to 300 leaves.
    sql(
        &data,
        "DROP TRIGGER log_strips_no_delete; DROP TRIGGER log_strips_grow_only; \
                     UPDATE log_state SET size = 300, checkpoint = (SELECT note FROM log_checkpoints WHERE size = 300);",
    );
    let out = witness(&data, &base, &w1, &log_key);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text_of(&out).contains(
            "REFUSED: the log shrank: a checkpoint of 420 leaves was followed by one of 300"
        ),
        "{}",
        text_of(&out)
    );

    // Forked: the same size as the witness saw, another root, the log's own key.
    let signer = SigningKey::from_private_text(
        std::fs::read_to_string(data.join("log.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let at420: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("c.json")).unwrap()).unwrap();
    let mut forked = Checkpoint::parse_body(
        &geneva_tlog::Note::parse(at420["new_checkpoint"].as_str().unwrap().as_bytes())
            .unwrap()
            .text,
    )
    .unwrap();
    forked.root.0[31] ^= 0x55;
    let forged_note = forked.sign(&signer).to_text();
    let conn = rusqlite::Connection::open(data.join("geneva.db")).unwrap();
    conn.execute(
        "UPDATE log_state SET size = 420, checkpoint = ?1",
        [&forged_note],
    )
    .unwrap();
    let out = witness(&data, &base, &w1, &log_key);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text_of(&out).contains(
            "REFUSED: the log forked: two checkpoints of 420 leaves have different roots"
        ),
        "{}",
        text_of(&out)
    );

    // Signed by another key.
    let impostor = SigningKey::generate(signer.name(), KeyKind::Note).unwrap();
    let mut bigger = forked.clone();
    bigger.size = 500;
    conn.execute(
        "UPDATE log_state SET size = 500, checkpoint = ?1",
        [&bigger.sign(&impostor).to_text()],
    )
    .unwrap();
    let out = witness(&data, &base, &w1, &log_key);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text_of(&out).contains("REFUSED: the checkpoint is not signed by the log's key"),
        "{}",
        text_of(&out)
    );

    // A cosignature from nobody the log registered is refused by the server.
    let stranger = SigningKey::generate("witness.test/stranger", KeyKind::Cosignature).unwrap();
    let mut genuine420 =
        geneva_tlog::Note::parse(at420["new_checkpoint"].as_str().unwrap().as_bytes()).unwrap();
    genuine420.signatures.truncate(1); // the log's own, without w1's
    let body = geneva_log::verify::with_signatures(
        &genuine420.to_text(),
        &[stranger.cosign(&genuine420.text, 1_700_000_000).to_line()],
    )
    .unwrap();
    let answer = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/log/cosignatures"))
            .body(body)
            .send()
            .await
            .unwrap()
    });
    assert_eq!(answer.status(), 403);
    let garbage = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/log/cosignatures"))
            .body(vec![0xffu8; 100])
            .send()
            .await
            .unwrap()
    });
    assert_eq!(garbage.status(), 403);
    drop(server);
}

#[test]
fn sigkill_in_the_middle_of_large_imports_leaves_store_and_log_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(
        &data,
        &[
            "import",
            s(&write_json(
                dir.path(),
                "base.json",
                &campaigns(0, 1000, "base"),
            )),
        ],
    );
    let mut outcomes = Vec::new();
    // Kill points spread over reading, validating, writing, committing and
    // integrating (a 30,000-object import takes a second or two here).
    for (round, delay_ms) in [15u64, 80, 200, 350, 550, 800, 1100, 1500, 2200]
        .into_iter()
        .enumerate()
    {
        let from = (round + 1) * 100_000;
        let file = write_json(
            dir.path(),
            &format!("round{round}.json"),
            &campaigns(from, from + 30_000, "round"),
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_geneva"))
            .arg("--data")
            .arg(&data)
            .args(["import", "--json", s(&file)])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        outcomes.push(if status.success() {
            "finished"
        } else {
            "killed"
        });
    }
    eprintln!("imports: {outcomes:?}");
    assert!(
        outcomes.contains(&"killed"),
        "no import was interrupted: {outcomes:?}"
    );

    // What a restarted process does first: add whatever is pending.
    ok(&data, &["log", "checkpoint"]);
    let audit: Value = serde_json::from_str(&ok(&data, &["log", "audit", "--json"])).unwrap();
    assert_eq!(audit["problems"], json!([]), "{audit}");
    assert_eq!(audit["pending"], 0);
    assert_eq!(
        audit["versions"], audit["size"],
        "every stored version is a leaf and every leaf a version: {audit}"
    );
    let versions = audit["versions"].as_u64().unwrap();
    assert_eq!(
        (versions - 1000) % 30_000,
        0,
        "imports are all or nothing: {versions}"
    );
    eprintln!(
        "{} of 9 large imports committed before the kill",
        (versions - 1000) / 30_000
    );
}

#[test]
fn a_rotated_key_signs_on_and_verifiers_holding_both_keys_follow() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(&data, &["log", "init", "--origin", "geneva.test/rotating"]);
    // A log keeps its key: a second init is refused.
    assert!(refused(&data, &["log", "init"]).contains("already exists"));
    ok(
        &data,
        &[
            "import",
            s(&write_json(dir.path(), "a.json", &campaigns(0, 40, "a"))),
        ],
    );
    let old_key = ok(&data, &["log", "key"]).trim().to_owned();
    assert!(old_key.starts_with("geneva.test/rotating+"));
    let before = dir.path().join("before.note");
    std::fs::write(&before, ok(&data, &["log", "checkpoint"])).unwrap();

    let new_file = dir.path().join("new.key");
    let new_key = ok(&data, &["log", "rotate-key", s(&new_file), "--create"])
        .trim()
        .to_owned();
    assert_ne!(new_key, old_key);
    assert!(new_key.starts_with("geneva.test/rotating+"));
    // The old key file no longer signs this log: the import stands, its leaves wait.
    let out = geneva(
        &data,
        &[
            "import",
            s(&write_json(dir.path(), "b.json", &campaigns(40, 60, "b"))),
        ],
    );
    assert!(out.status.success());
    let warning = String::from_utf8_lossy(&out.stderr);
    assert!(
        warning.contains(
            "imported, but the transparency log was not extended: the log is signed with key"
        ),
        "{warning}"
    );
    assert_eq!(ok(&data, &["log", "key"]).trim(), new_key);
    let note = ok(
        &data,
        &["--log-signing-key", s(&new_file), "log", "checkpoint"],
    );
    assert!(note.starts_with("geneva.test/rotating\n60\n"), "{note}");
    let after = dir.path().join("after.note");
    std::fs::write(&after, &note).unwrap();
    let consistency = dir.path().join("c.json");
    ok(
        &data,
        &[
            "--log-signing-key",
            s(&new_file),
            "log",
            "consistency",
            "40",
            "-o",
            s(&consistency),
        ],
    );

    // Holding only the old key, the new checkpoint is refused; with both, accepted.
    let out = refused(&data, &["verify", "--log-key", &old_key, s(&consistency)]);
    assert!(out.contains("not signed by the log's key"), "{out}");
    let out = ok(
        &data,
        &[
            "verify",
            "--log-key",
            &old_key,
            "--log-key",
            &new_key,
            s(&consistency),
        ],
    );
    assert!(
        out.contains("the checkpoint of 60 leaves extends the one of 40 leaves"),
        "{out}"
    );
    // A key file readable by others is refused, with the fix.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&new_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = refused(
            &data,
            &["--log-signing-key", s(&new_file), "log", "checkpoint"],
        );
        assert!(
            out.contains("is readable by other users") && out.contains("chmod 600"),
            "{out}"
        );
    }
}
