//! Test support: finding the shared data sets and the Python reference tools.
//!
//! Owns one policy: under CI (`CI=true`) a missing data file or judge is a test
//! failure; elsewhere the test prints a clear skip and passes. It must never be
//! a dependency of anything but tests.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Whether we run under CI, where nothing may be skipped.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root exists")
}

fn skip_or_fail(what: &str, hint: &str) -> Option<PathBuf> {
    if under_ci() {
        panic!("{what} is missing and CI=true: {hint}");
    }
    eprintln!("SKIPPED: {what} is missing ({hint})");
    None
}

/// A file under the shared data directory (`$GENEVA_SHARED_DATA`, else `../shared/data` beside the workspace).
pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let base = std::env::var_os("GENEVA_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/data"));
    let path = base.join(relative);
    if path.is_file() {
        Some(path)
    } else {
        skip_or_fail(
            &format!("shared data file {}", path.display()),
            "set GENEVA_SHARED_DATA to the directory holding attack/ and misp-galaxy/",
        )
    }
}

/// A Python interpreter that can import `module`: `$GENEVA_PYTHON`, else the
/// workspace's `.venv` (made by `.ci/run` or `tools/setup-python-judges.sh`).
pub fn python_with(module: &str) -> Option<PathBuf> {
    let candidate = std::env::var_os("GENEVA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    let works = Command::new(&candidate)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        Some(candidate)
    } else {
        skip_or_fail(
            &format!(
                "a Python with `{module}` ({} does not import it)",
                candidate.display()
            ),
            "run tools/setup-python-judges.sh or set GENEVA_PYTHON",
        )
    }
}

/// ChromeDriver and the Chromium it drives, for the browser tests:
/// `$GENEVA_CHROMEDRIVER`, else Debian's `/usr/bin/chromedriver` (packages
/// `chromium` and `chromium-driver`, which `.ci/run` installs).
pub fn chromedriver() -> Option<PathBuf> {
    let candidate = std::env::var_os("GENEVA_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    let works = Command::new(&candidate)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        Some(candidate)
    } else {
        skip_or_fail(
            &format!("ChromeDriver ({} does not run)", candidate.display()),
            "apt-get install chromium chromium-driver, or set GENEVA_CHROMEDRIVER",
        )
    }
}

/// Where the browser tests leave their screenshots: `target/screenshots/`.
pub fn screenshots_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// The OASIS reference validator's verdict on each file (`stix2_validator
/// --version 2.1`, through `tools/stix2_judge.py`): valid or not, and its first
/// errors. `None` (after a printed skip) when no Python has `stix2validator`.
pub fn stix2_validator_verdicts(
    files: &[PathBuf],
) -> Option<HashMap<PathBuf, (bool, serde_json::Value)>> {
    let python = python_with("stix2validator")?;
    let judge = workspace_root().join("tools/stix2_judge.py");
    let mut child = Command::new(python)
        .arg(judge)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the Python judge");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for f in files {
            writeln!(stdin, "{}", f.display()).expect("write file list");
        }
    }
    let out = child.wait_with_output().expect("judge output");
    assert!(out.status.success(), "the judge failed");
    let verdicts = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let v: serde_json::Value =
                serde_json::from_str(line).expect("the judge prints JSON lines");
            let file = PathBuf::from(v["file"].as_str().expect("file"));
            (
                file,
                (v["valid"].as_bool().expect("valid"), v["errors"].clone()),
            )
        })
        .collect();
    Some(verdicts)
}

/// The public-incident fixtures of the norm assessment
/// (`crates/geneva-norms/fixtures/*.json`), by name, sorted.
pub fn norm_fixture_names() -> Vec<String> {
    let dir = workspace_root().join("crates/geneva-norms/fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("the norm fixtures")
        .filter_map(|e| {
            let path = e.ok()?.path();
            if path.extension()? != "json" {
                return None;
            }
            Some(path.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

/// One norm fixture: the whole document, and its expected verdicts as
/// sorted (norm id, verdict) pairs.
pub fn norm_fixture(name: &str) -> (serde_json::Value, Vec<(String, String)>) {
    let path = workspace_root().join(format!("crates/geneva-norms/fixtures/{name}.json"));
    let text = std::fs::read_to_string(&path).expect("a norm fixture");
    let fixture: serde_json::Value = serde_json::from_str(&text).expect("fixture JSON");
    let mut expected = Vec::new();
    for (verdict, body) in fixture["expected"].as_object().expect("expected") {
        let norms: Vec<String> = if verdict == "no breach" {
            body["norms"]
                .as_array()
                .expect("no-breach norms")
                .iter()
                .map(|n| n.as_str().expect("norm id").to_owned())
                .collect()
        } else {
            body.as_object()
                .expect("norms with reasons")
                .keys()
                .cloned()
                .collect()
        };
        expected.extend(norms.into_iter().map(|n| (n, verdict.clone())));
    }
    expected.sort();
    (fixture, expected)
}

/// The id of the incident a norm fixture's bundle describes.
pub fn norm_fixture_incident(fixture: &serde_json::Value) -> String {
    fixture["bundle"]["objects"]
        .as_array()
        .expect("a bundle")
        .iter()
        .find(|o| o["type"] == "incident")
        .and_then(|o| o["id"].as_str())
        .expect("an incident")
        .to_owned()
}
