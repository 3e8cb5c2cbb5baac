//! `geneva validate`: the import's checks, with warnings, and nothing stored.

use std::path::PathBuf;
use std::process::ExitCode;

use geneva_stix::{DEFAULT_MAX_DOCUMENT_BYTES, PrepareOptions, Severity};
use serde_json::json;

use super::{display_name, read_input};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files to check; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Hold every object to STIX 2.1 as written, as `stix2_validator --version 2.1`
    /// does, instead of upgrading STIX 2.0 objects first as `geneva import` does.
    #[arg(long)]
    no_upgrade: bool,
    /// Print findings as JSON (one document for all files).
    #[arg(long)]
    json: bool,
    /// Largest file accepted, in bytes, after decompression.
    #[arg(long, env = "GENEVA_MAX_IMPORT_BYTES", default_value_t = DEFAULT_MAX_DOCUMENT_BYTES)]
    max_bytes: u64,
    /// Do not print warnings.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = PrepareOptions {
        max_document_bytes: args.max_bytes,
        upgrade_stix20: !args.no_upgrade,
    };
    let mut all_valid = true;
    let mut results = Vec::new();
    for path in &args.files {
        let name = display_name(path);
        let outcome = read_input(path, args.max_bytes)
            .map_err(|e| format!("{e:#}"))
            .and_then(|bytes| {
                geneva_stix::validate_document(&bytes, &options).map_err(|e| e.to_string())
            });
        let (valid, issues, error) = match outcome {
            Ok(issues) => (
                !issues.iter().any(|i| i.severity == Severity::Error),
                issues,
                None,
            ),
            Err(e) => (false, Vec::new(), Some(e)),
        };
        all_valid &= valid;
        if args.json {
            let issues: Vec<_> = issues
                .iter()
                .filter(|i| !(args.quiet && i.severity == Severity::Warning))
                .map(|i| {
                    json!({"severity": if i.severity == Severity::Error {"error"} else {"warning"},
                           "object_index": i.object_index, "object_id": i.object_id, "line": i.line,
                           "path": i.path, "rule": i.rule, "message": i.message})
                })
                .collect();
            results.push(json!({"file": name, "valid": valid, "error": error, "issues": issues}));
            continue;
        }
        if let Some(e) = &error {
            println!("{name}: invalid: {e}");
            continue;
        }
        for issue in &issues {
            match issue.severity {
                Severity::Error => println!("{name}: error: {issue}"),
                Severity::Warning if !args.quiet => println!("{name}: warning: {issue}"),
                Severity::Warning => {}
            }
        }
        println!("{name}: {}", if valid { "valid" } else { "invalid" });
    }
    if args.json {
        println!("{}", json!({"valid": all_valid, "files": results}));
    }
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
