//! `geneva norms list|show` and `geneva assess` end to end: the shipped
//! catalogue, incident files, a stored incident, and bad input.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

mod common;
use common::geneva;

fn json_of(data: &Path, args: &[&str]) -> Value {
    let out = geneva(data, args);
    assert!(
        out.status.success(),
        "geneva {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn fails(data: &Path, args: &[&str], says: &str) {
    let out = geneva(data, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(
        stderr.contains(says),
        "{args:?}: {stderr} does not say {says:?}"
    );
}

/// A fixture's bundle written to its own file, and its expected verdicts.
fn fixture(dir: &Path, name: &str) -> (PathBuf, Vec<(String, String)>) {
    let (fixture, expected) = geneva_testkit::norm_fixture(name);
    let out = dir.join(format!("{name}.json"));
    std::fs::write(&out, serde_json::to_vec(&fixture["bundle"]).unwrap()).unwrap();
    (out, expected)
}

fn verdicts(report: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = report["norms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["norm"].as_str().unwrap().to_owned(),
                n["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_catalogue_is_listed_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let listed = json_of(&data, &["norms", "list", "--json"]);
    assert_eq!(listed["norms"].as_array().unwrap().len(), 39);
    assert!(listed["version"].as_str().is_some());
    let shown = json_of(&data, &["norms", "show", "gge-2015-f", "--json"]);
    assert_eq!(shown["article"], "paragraph 13(f)");
    assert!(
        shown["breach"]
            .as_str()
            .unwrap()
            .contains("victim.critical-infrastructure")
    );
    assert!(
        shown["source"]["title"]
            .as_str()
            .unwrap()
            .contains("A/70/174")
    );
    fails(&data, &["norms", "show", "gge-2015-z"], "geneva norms list");
}

#[test]
fn an_incident_file_and_the_same_incident_stored_get_the_same_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (file, expected) = fixture(dir.path(), "triton-2017");
    let file = file.to_str().unwrap();
    let from_file = json_of(&data, &["assess", file, "--json"]);
    assert_eq!(verdicts(&from_file), expected);
    assert_eq!(from_file["attributed_state"], "RU");
    assert_eq!(from_file["intensity"]["band"], "high");

    // Stored, then assessed from the store: the same facts, the same verdicts.
    json_of(&data, &["import", "--tlp", "green", "--json", file]);
    let id = from_file["subject"].as_str().unwrap();
    let stored = json_of(&data, &["assess", "--incident", id, "--json"]);
    assert_eq!(verdicts(&stored), expected);
    assert_eq!(stored["facts"], from_file["facts"]);
    let audit = json_of(&data, &["audit", "--json"]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "assess" && e["target"] == id),
        "{audit:#}"
    );
    let text =
        String::from_utf8_lossy(&geneva(&data, &["assess", "--incident", id]).stdout).into_owned();
    assert!(text.contains("BREACH (6)"), "{text}");
    assert!(text.contains("gge-2015-f"), "{text}");
    fails(
        &data,
        &[
            "assess",
            "--incident",
            "incident--00000000-0000-4000-8000-0000000000ff",
        ],
        "no object",
    );
}

#[test]
fn bad_incident_files_are_refused_with_the_file_the_object_and_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let write = |name: &str, body: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let garbage = write("garbage.json", b"{\"type\": \"bundle\", \"objects\": [");
    fails(&data, &["assess", &garbage], "garbage.json");
    let empty = write("no-incident.json", br#"{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": []}"#);
    fails(&data, &["assess", &empty], "no incident or campaign");
    let bad = json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": [
        {"type": "incident", "spec_version": "2.1", "id": "incident--00000000-0000-4000-8000-000000000001",
         "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": "x",
         "extensions": {geneva_norms::GENEVA_FACTS_EXTENSION: {"facts": {"actor.type": "pirate"}}}}]});
    let bad = write("bad-facts.json", bad.to_string().as_bytes());
    let out = geneva(&data, &["assess", &bad, "--no-attribution"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    for part in [
        "bad-facts.json",
        "incident--00000000-0000-4000-8000-000000000001",
        "facts.actor.type",
        "one of state",
    ] {
        assert!(stderr.contains(part), "{stderr} lacks {part}");
    }
}
