//! The STIX pattern fuzz target (`fuzz/fuzz_targets/pattern.rs`), run by
//! libFuzzer for a bounded time: under CI (`CI=true`) for 30 seconds, or for
//! `GENEVA_FUZZ_SECONDS` when set; elsewhere a printed skip, since building
//! the instrumented target takes a couple of minutes. A crash, a panic or a
//! failed assertion in the target fails this test, and libFuzzer leaves the
//! input in `fuzz/artifacts/pattern/`.

use std::path::Path;
use std::process::Command;

#[test]
fn pattern_fuzz_target_runs_clean_for_a_bounded_time() {
    let seconds = match std::env::var("GENEVA_FUZZ_SECONDS") {
        Ok(s) => s,
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => "30".to_owned(),
        Err(_) => {
            eprintln!(
                "SKIPPED: the pattern fuzz target runs under CI=true or with GENEVA_FUZZ_SECONDS=N (or: tools/fuzz pattern 60)"
            );
            return;
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = Command::new(root.join("tools/fuzz"))
        .args(["pattern", &seconds])
        .current_dir(&root)
        .output()
        .expect("tools/fuzz runs");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the fuzz target failed:\n{}",
        log.lines()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // It really ran: libFuzzer's closing statistics report the inputs tried.
    let runs: u64 = log
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("libFuzzer's final statistics");
    assert!(runs > 1_000, "only {runs} inputs tried");
}
