//! Agreement with the OASIS reference validator (PyPI `stix2-validator`,
//! `--version 2.1`): on every file of a generated corpus, Geneva and the
//! reference both say valid or both say invalid, except for the deliberate
//! differences listed in ARCHITECTURE.md, which are checked to differ exactly
//! as documented.

mod corpus;

use std::path::{Path, PathBuf};

use geneva_stix::{PrepareOptions, prepare};
use serde_json::{Value, json};

/// Number of random ATT&CK mutations; the seed makes every run judge the same files.
const MUTATIONS: usize = 700;
const SEED: u64 = 20_261_125;

fn geneva_verdict(path: &Path) -> (bool, String) {
    let bytes = std::fs::read(path).unwrap();
    match prepare(&bytes, &PrepareOptions::default()) {
        Ok(_) => (true, String::new()),
        Err(e) => (false, e.to_string()),
    }
}

#[test]
fn geneva_agrees_with_stix2_validator() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<(PathBuf, Option<bool>)> = Vec::new();
    let mut write = |name: &str, text: String, expected_geneva: Option<bool>| {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.path().join(format!("{safe}.json"));
        std::fs::write(&path, text).unwrap();
        files.push((path, expected_geneva));
    };
    let bundle = |o: &Value| {
        json!({"type": "bundle", "id": corpus::id("bundle"), "objects": [o]}).to_string()
    };
    let valid = corpus::valid_objects();
    let invalid = corpus::invalid_objects();
    for (name, o) in &valid {
        write(name, bundle(o), None);
        write(&format!("{name}-alone"), o.to_string(), None);
    }
    // All valid objects together: ids made distinct, as one producer's bundle would have them.
    let together: Vec<Value> = valid
        .iter()
        .enumerate()
        .map(|(i, (_, o))| {
            let mut o = o.clone();
            if let Some(id) = o["id"]
                .as_str()
                .filter(|id| !id.starts_with("marking-definition--"))
            {
                let renumbered = format!("{}{:012x}", &id[..id.len() - 12], i);
                o["id"] = json!(renumbered);
            }
            o
        })
        .collect();
    write(
        "valid-all-in-one-bundle",
        json!({"type": "bundle", "id": corpus::id("bundle"), "objects": together}).to_string(),
        None,
    );
    for (name, o) in &invalid {
        write(name, bundle(o), None);
    }
    for (name, text, geneva) in corpus::deliberate_differences() {
        write(&name, text, Some(geneva));
    }
    if let Some(attack) = geneva_testkit::shared_data("attack/enterprise-attack-15.1.json") {
        let doc: Value = serde_json::from_slice(&std::fs::read(attack).unwrap()).unwrap();
        let objects = doc["objects"].as_array().unwrap();
        for (name, text) in corpus::attack_mutations(objects, MUTATIONS, SEED) {
            write(&name, text, None);
        }
    }

    let paths: Vec<PathBuf> = files.iter().map(|f| f.0.clone()).collect();
    let Some(reference) = geneva_testkit::stix2_validator_verdicts(&paths) else {
        return;
    };
    let mut disagreements = Vec::new();
    let (mut agreed, mut valid_count) = (0, 0);
    for (path, expected_geneva) in &files {
        let (theirs, their_errors) = reference
            .get(path)
            .cloned()
            .unwrap_or((false, json!(["no verdict"])));
        let (ours, our_error) = geneva_verdict(path);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        match expected_geneva {
            Some(expected) => {
                if ours != *expected || theirs == *expected {
                    disagreements.push(format!(
                        "{name}: documented difference no longer holds (geneva {ours}, stix2-validator {theirs}, expected geneva {expected} and the reference the opposite)\n    geneva: {our_error}\n    reference: {their_errors}"
                    ));
                }
            }
            None if ours == theirs => {
                agreed += 1;
                valid_count += usize::from(ours);
            }
            None => disagreements.push(format!(
                "{name}: geneva says {}, stix2-validator says {}\n    geneva: {our_error}\n    reference: {their_errors}",
                if ours { "valid" } else { "invalid" },
                if theirs { "valid" } else { "invalid" },
            )),
        }
    }
    eprintln!(
        "{agreed} files agreed ({valid_count} valid, {} invalid); {} disagreements",
        agreed - valid_count,
        disagreements.len()
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    // The corpus must exercise both verdicts, or agreement would prove nothing.
    assert!(
        valid_count > 100 && agreed - valid_count > 150,
        "corpus too one-sided: {valid_count} valid of {agreed}"
    );
}

#[test]
fn every_invalid_case_is_invalid_and_every_valid_case_valid() {
    for (name, o) in corpus::valid_objects() {
        let text =
            json!({"type": "bundle", "id": corpus::id("bundle"), "objects": [o]}).to_string();
        if let Err(e) = prepare(text.as_bytes(), &PrepareOptions::default()) {
            panic!("{name} should be valid: {e}");
        }
    }
    for (name, o) in corpus::invalid_objects() {
        let text =
            json!({"type": "bundle", "id": corpus::id("bundle"), "objects": [o]}).to_string();
        assert!(
            prepare(text.as_bytes(), &PrepareOptions::default()).is_err(),
            "{name} should be invalid"
        );
    }
}
