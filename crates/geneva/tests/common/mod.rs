//! What the binary's end-to-end tests share: running `geneva` on a data directory.
// Each test file is its own crate and uses a subset of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs `geneva --data DATA ARGS…` to completion.
pub fn geneva(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_geneva"))
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("run geneva")
}

/// Runs a command that must succeed; its standard output.
pub fn ok(data: &Path, args: &[&str]) -> String {
    let out = geneva(data, args);
    assert!(
        out.status.success(),
        "geneva {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}
