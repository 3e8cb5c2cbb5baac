//! `geneva kb import|list` and `geneva attribute` end to end: the real
//! knowledge-base files, a real database, the real binary.

use std::path::Path;

use serde_json::{Value, json};

mod common;
use common::{geneva, ok};

fn json_of(data: &Path, args: &[&str]) -> Value {
    let out = geneva(data, args);
    assert!(
        out.status.success(),
        "geneva {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn incident(dir: &Path) -> std::path::PathBuf {
    let bundle = json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": [
        {"type": "incident", "spec_version": "2.1", "id": "incident--00000000-0000-4000-8000-000000000001",
         "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": "ministry mail"},
        {"type": "attack-pattern", "spec_version": "2.1", "id": "attack-pattern--00000000-0000-4000-8000-000000000002",
         "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": "whatever",
         "external_references": [{"source_name": "mitre-attack", "external_id": "T1566.002"}]},
        {"type": "relationship", "spec_version": "2.1", "id": "relationship--00000000-0000-4000-8000-000000000003",
         "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "relationship_type": "uses",
         "source_ref": "incident--00000000-0000-4000-8000-000000000001", "target_ref": "attack-pattern--00000000-0000-4000-8000-000000000002"},
        {"type": "relationship", "spec_version": "2.1", "id": "relationship--00000000-0000-4000-8000-000000000004",
         "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "relationship_type": "uses",
         "source_ref": "incident--00000000-0000-4000-8000-000000000001", "target_ref": "malware--a4f57468-fbd5-49e4-8476-52088220b92d"}
    ]});
    let path = dir.join("incident.json");
    std::fs::write(&path, serde_json::to_vec(&bundle).unwrap()).unwrap();
    path
}

#[test]
fn knowledge_base_is_imported_listed_and_attributed_against() {
    let Some(attack) = geneva_testkit::shared_data("attack/enterprise-attack-15.1.json") else {
        return;
    };
    let Some(galaxy) = geneva_testkit::shared_data("misp-galaxy/threat-actor.json") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (attack, galaxy) = (attack.to_str().unwrap(), galaxy.to_str().unwrap());
    let incident = incident(dir.path());
    let incident = incident.to_str().unwrap();

    // The galaxy merges into ATT&CK's actors: alone it is refused.
    let out = geneva(&data, &["kb", "import", galaxy]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ATT&CK bundle imported first"));

    let out = geneva(&data, &["attribute", incident]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("geneva kb import"));

    let imported = json_of(&data, &["kb", "import", attack, galaxy, "--json"]);
    assert_eq!(imported[0]["kind"], "attack");
    assert_eq!(imported[0]["actors"], 148);
    assert_eq!(imported[0]["changed"], true);
    assert_eq!(imported[1]["kind"], "misp-galaxy");
    let again = json_of(&data, &["kb", "import", attack, "--json"]);
    assert_eq!(again[0]["changed"], false);
    // The same release gzipped is the same source.
    let gzipped = dir.path().join("enterprise-attack.json.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &std::fs::read(attack).unwrap()).unwrap();
    std::fs::write(&gzipped, gz.finish().unwrap()).unwrap();
    let again = json_of(
        &data,
        &["kb", "import", gzipped.to_str().unwrap(), "--json"],
    );
    assert_eq!(
        (&again[0]["kind"], &again[0]["changed"]),
        (&json!("attack"), &json!(false))
    );
    let listed = json_of(&data, &["kb", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["size"], std::fs::metadata(attack).unwrap().len());

    let result = json_of(&data, &["attribute", incident, "--json"]);
    assert_eq!(result["candidates"][0]["actor"], "APT28", "{result:#}");
    // The galaxy's sponsor reaches the candidate.
    assert!(
        result["candidates"][0]["sponsor"]
            .as_str()
            .is_some_and(|s| s.contains("Russia"))
    );
    let text = ok(&data, &["attribute", incident]);
    assert!(
        text.contains("APT28") && text.contains("Confidence in the evidence base"),
        "{text}"
    );
    assert!(text.contains("Analysis of competing hypotheses"));

    // Hostile files: refused with the file named, nothing kept changes.
    for (name, bytes) in [
        (
            "truncated.json",
            &b"{\"type\": \"bundle\", \"objects\": ["[..],
        ),
        (
            "galaxy-of-tools.json",
            &br#"{"type": "tool", "values": []}"#[..],
        ),
        ("list.json", &b"[1, 2, 3]"[..]),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = geneva(&data, &["kb", "import", path.to_str().unwrap()]);
        assert!(!out.status.success(), "{name}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(name),
            "{name}"
        );
    }
    assert_eq!(json_of(&data, &["kb", "list", "--json"]), listed);

    // Hostile incident files: refused with the file and the place named.
    let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
    for (name, bytes, says) in [
        ("empty.json", &b""[..], "empty"),
        (
            "duplicate.json",
            &br#"{"type":"bundle","objects":[{"type":"incident","id":"incident--1","name":"a","name":"b"}]}"#[..],
            "duplicate key",
        ),
        (
            "deep.json",
            deep.as_bytes(),
            "deep",
        ),
        (
            "two.json",
            &br#"[{"type":"incident","id":"incident--1"},{"type":"campaign","id":"campaign--2"}]"#[..],
            "name the one",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = geneva(&data, &["attribute", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}");
        assert!(stderr.contains(name) && stderr.contains(says), "{name}: {stderr}");
    }
    let two = dir.path().join("two.json");
    let picked = json_of(
        &data,
        &[
            "attribute",
            two.to_str().unwrap(),
            "--subject",
            "campaign--2",
            "--json",
        ],
    );
    assert_eq!(picked["evidence"]["subject"], "campaign--2");
}

#[test]
fn a_stored_incident_is_attributed_with_the_infrastructure_it_shares() {
    let Some(attack) = geneva_testkit::shared_data("attack/enterprise-attack-15.1.json") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let t = "2026-01-01T00:00:00.000Z";
    let ip = "ipv4-addr--2b1f0c1e-7a63-5c3b-9a9f-0e6d1f0b6a10";
    let (old, new) = (
        "incident--00000000-0000-4000-8000-0000000000a1",
        "incident--00000000-0000-4000-8000-0000000000b2",
    );
    let lazarus = "intrusion-set--00000000-0000-4000-8000-0000000000c3";
    let rel = |n: u32, kind: &str, from: &str, to: &str| {
        json!({"type": "relationship", "spec_version": "2.1",
               "id": format!("relationship--00000000-0000-4000-8000-{n:012x}"),
               "created": t, "modified": t, "relationship_type": kind, "source_ref": from, "target_ref": to})
    };
    let bundle = json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": [
        {"type": "ipv4-addr", "spec_version": "2.1", "id": ip, "value": "45.133.1.20"},
        {"type": "incident", "spec_version": "2.1", "id": old, "created": t, "modified": t,
         "name": "last year's intrusion", "object_refs": [ip]},
        {"type": "intrusion-set", "spec_version": "2.1", "id": lazarus, "created": t, "modified": t, "name": "Lazarus Group"},
        rel(1, "attributed-to", old, lazarus),
        {"type": "incident", "spec_version": "2.1", "id": new, "created": t, "modified": t,
         "name": "this week's intrusion", "object_refs": [ip]},
        // CHOPSTICK by ATT&CK's STIX id: not stored here, known to the knowledge base.
        rel(2, "uses", new, "malware--ccd61dfc-b03f-4689-8c18-7c97eab08472"),
    ]});
    let file = dir.path().join("incidents.json");
    std::fs::write(&file, serde_json::to_vec(&bundle).unwrap()).unwrap();
    ok(&data, &["import", file.to_str().unwrap(), "--tlp", "green"]);
    ok(&data, &["kb", "import", attack.to_str().unwrap()]);

    let result = json_of(&data, &["attribute", "--incident", new, "--json"]);
    let evidence = &result["evidence"];
    assert_eq!(evidence["software"], json!(["S0023"]), "{evidence:#}");
    let link = &evidence["infrastructure"][0];
    assert_eq!(link["actor"], "Lazarus Group", "{evidence:#}");
    assert_eq!(link["incident"], old);
    assert!(
        link["reason"].as_str().unwrap().contains("45.133.1.20"),
        "{link}"
    );
    let top: Vec<&str> = result["candidates"].as_array().unwrap()[..2]
        .iter()
        .map(|c| c["actor"].as_str().unwrap())
        .collect();
    assert!(
        top.contains(&"Lazarus Group") && top.contains(&"APT28"),
        "{top:?}"
    );
    assert!(
        result["warnings"][0]
            .as_str()
            .unwrap()
            .contains("false flag"),
        "{:#}",
        result["warnings"]
    );
    let out = geneva(
        &data,
        &[
            "attribute",
            "--incident",
            "incident--00000000-0000-4000-8000-00000000dead",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no object with id"));
}

/// An incident that does not say who acted: `geneva assess` takes the
/// attribution's leading candidate, with its sponsor and the attribution's
/// confidence, and says so; with --no-attribution it leaves it unknown.
#[test]
fn assess_takes_who_acted_from_attribution_when_the_incident_is_silent() {
    let Some(attack) = geneva_testkit::shared_data("attack/enterprise-attack-15.1.json") else {
        return;
    };
    let Some(galaxy) = geneva_testkit::shared_data("misp-galaxy/threat-actor.json") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = incident(dir.path());
    let mut bundle: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let inc = "incident--00000000-0000-4000-8000-000000000001";
    let objects = bundle["objects"].as_array_mut().unwrap();
    objects[0]["extensions"] = json!({geneva_norms::GENEVA_FACTS_EXTENSION: {
        "extension_type": "property-extension", "effects": ["espionage", "data-theft"],
        "effects_complete": true, "facts": {"context": "peacetime"}}});
    for (i, name) in ["Zebrocy", "XTunnel"].iter().enumerate() {
        let id = format!("malware--00000000-0000-4000-8000-00000000010{i}");
        objects.push(json!({"type": "malware", "spec_version": "2.1", "id": id,
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": name, "is_family": true}));
        objects.push(json!({"type": "relationship", "spec_version": "2.1",
            "id": format!("relationship--00000000-0000-4000-8000-00000000020{i}"),
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "relationship_type": "uses", "source_ref": inc, "target_ref": id}));
    }
    std::fs::write(&path, serde_json::to_vec(&bundle).unwrap()).unwrap();
    let path = path.to_str().unwrap();

    // No knowledge base: the assessment stands on the incident alone.
    let alone = json_of(&data, &["assess", path, "--json"]);
    assert!(alone["from_attribution"].is_null());
    assert!(
        alone["attribution_note"]
            .as_str()
            .unwrap()
            .contains("no knowledge base")
    );
    assert!(alone["facts"].get("actor.type").is_none());

    ok(
        &data,
        &[
            "kb",
            "import",
            attack.to_str().unwrap(),
            galaxy.to_str().unwrap(),
        ],
    );
    let assessed = json_of(&data, &["assess", path, "--json"]);
    let from = &assessed["from_attribution"];
    assert_eq!(from["actor"], "APT28", "{assessed:#}");
    assert!(from["sponsor"].as_str().unwrap().contains("Russia"));
    assert!(from["probability"].as_f64().unwrap() >= 0.55);
    assert_eq!(assessed["facts"]["actor.type"], "state-affiliated");
    assert_eq!(
        assessed["facts"]["attribution.confidence"],
        from["confidence"]
    );
    let verdict = |report: &Value, norm: &str| {
        report["norms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["norm"] == norm)
            .map(|n| n["verdict"].as_str().unwrap().to_owned())
    };
    // Espionage alone breaks no norm on intellectual property, whoever did it.
    assert_eq!(verdict(&assessed, "ms-art-4").as_deref(), Some("no breach"));

    let silent = json_of(&data, &["assess", path, "--no-attribution", "--json"]);
    assert!(silent["from_attribution"].is_null());
    assert_eq!(
        verdict(&silent, "ms-rsa-3").as_deref(),
        Some("cannot assess")
    );
}

/// A candidate actor's suspected sponsor is a party to the case: examining
/// a case attributes its subject, and the member from that state is
/// recused automatically.
#[test]
fn examining_a_case_recuses_members_from_a_candidate_actors_sponsor_state() {
    let Some(attack) = geneva_testkit::shared_data("attack/enterprise-attack-15.1.json") else {
        return;
    };
    let Some(galaxy) = geneva_testkit::shared_data("misp-galaxy/threat-actor.json") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = incident(dir.path());
    ok(&data, &["import", "--tlp", "clear", path.to_str().unwrap()]);
    ok(
        &data,
        &[
            "kb",
            "import",
            attack.to_str().unwrap(),
            galaxy.to_str().unwrap(),
        ],
    );
    for (name, country) in [("ru", "RU"), ("ch", "CH")] {
        let org = format!("panel-{name}");
        ok(
            &data,
            &["org", "add", &org, "--kind", "state", "--country", country],
        );
        ok(&data, &["user", "add", name, "--org", &org]);
    }
    let inc = "incident--00000000-0000-4000-8000-000000000001";
    let opened = json_of(
        &data,
        &["case", "open", "--title", "ministry mail", inc, "--json"],
    );
    let case = opened["case"].as_str().unwrap();
    assert!(
        opened["parties"]["suspected_sponsors"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let assigned = ok(&data, &["case", "assign", case, "ru", "ch"]);
    assert!(!assigned.contains("recused"), "{assigned}");
    ok(&data, &["case", "move", case, "analysis"]);
    ok(&data, &["case", "examine", case]);
    let shown = json_of(&data, &["case", "show", case, "--json"]);
    assert_eq!(
        shown["analyses"][0]["attribution"]["candidates"][0]["actor"],
        "APT28"
    );
    assert!(
        shown["parties"]["suspected_sponsors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "RU"),
        "{shown:#}"
    );
    let recused: Vec<&str> = shown["recusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["member"].as_str().unwrap())
        .collect();
    assert_eq!(recused, vec!["ru"]);
}
