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

/// `geneva serve` on DATA at a free local port, stopped when dropped.
pub struct Served {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`, as the server announced it.
    pub base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve(data: &Path) -> Served {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_geneva"))
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start geneva serve");
    let mut first_line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first_line)
        .expect("serve announces its address");
    let base = first_line
        .trim()
        .strip_prefix("listening on ")
        .expect("serve announces its address")
        .to_owned();
    Served { child, base }
}
