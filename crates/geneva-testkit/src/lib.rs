//! Test support: finding the shared data sets and the Python reference tools.
//!
//! Owns one policy: under CI (`CI=true`) a missing data file or judge is a test
//! failure; elsewhere the test prints a clear skip and passes. It must never be
//! a dependency of anything but tests.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

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
