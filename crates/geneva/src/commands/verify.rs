//! `geneva verify`: offline checks anyone can run with the log's public key:
//! a proof file (an object version in the log), a consistency file, or two
//! checkpoints (does the later extend the earlier?).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use geneva_log::verify::{self, ConsistencyBundle, ProofBundle, VerifyError};
use geneva_tlog::VerifierKey;
use serde_json::json;

/// Largest proof or checkpoint file read.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A proof file (`geneva log prove`, GET /api/v1/objects/{id}/proof), a
    /// consistency file (`geneva log consistency`), or two signed checkpoints, older first.
    #[arg(required = true, num_args = 1..=2)]
    files: Vec<PathBuf>,
    /// The log's public key (name+id+base64), or a file holding it; repeat it
    /// to accept a checkpoint signed by any of them (the old and the new key
    /// after a rotation).
    #[arg(long, env = "GENEVA_LOG_PUBLIC_KEY", required = true)]
    log_key: Vec<String>,
    /// Check this copy of the object instead of the one in the proof file.
    #[arg(long)]
    object: Option<PathBuf>,
    /// With two checkpoints of different sizes: the consistency proof (JSON with "proof", as GET /log/proof/consistency answers).
    #[arg(long)]
    proof: Option<PathBuf>,
    /// A witness's public key: report whether it cosigned the checkpoint (repeatable).
    #[arg(long = "witness")]
    witnesses: Vec<String>,
    #[arg(long)]
    json: bool,
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    super::read_input(path, MAX_FILE_BYTES).with_context(|| format!("{}", path.display()))
}

fn key_arg(text: &str) -> anyhow::Result<VerifierKey> {
    let text = if Path::new(text).is_file() {
        std::fs::read_to_string(text).with_context(|| format!("cannot read key file {text}"))?
    } else {
        text.to_owned()
    };
    VerifierKey::parse(text.trim())
        .context("--log-key / --witness is not a public key (name+id+base64)")
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let log_key = args
        .log_key
        .iter()
        .map(|k| key_arg(k))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let witnesses = args
        .witnesses
        .iter()
        .map(|w| key_arg(w))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let outcome = check(&args, &log_key, &witnesses)?;
    match outcome {
        Ok(message) => {
            if args.json {
                println!("{}", json!({"ok": true, "message": message}));
            } else {
                println!("OK: {message}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if args.json {
                println!("{}", json!({"ok": false, "message": e.to_string()}));
            } else {
                println!("FAILED: {e}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `Err` for files that cannot be read at all; `Ok(Err)` for a verdict of "not verified".
fn check(
    args: &Args,
    log_key: &[VerifierKey],
    witnesses: &[VerifierKey],
) -> anyhow::Result<Result<String, VerifyError>> {
    let first = read(&args.files[0])?;
    if args.files.len() == 2 {
        let second = read(&args.files[1])?;
        let proof = match &args.proof {
            Some(path) => {
                let value: serde_json::Value = serde_json::from_slice(&read(path)?)
                    .with_context(|| format!("{} is not JSON", path.display()))?;
                let list: Vec<String> =
                    serde_json::from_value(value.get("proof").cloned().unwrap_or_default())
                        .with_context(|| {
                            format!("{} has no \"proof\" list of base64 hashes", path.display())
                        })?;
                list
            }
            None => Vec::new(),
        };
        let bundle = ConsistencyBundle {
            format: verify::CONSISTENCY_FORMAT.into(),
            old_checkpoint: String::from_utf8_lossy(&first).into_owned(),
            new_checkpoint: String::from_utf8_lossy(&second).into_owned(),
            proof,
        };
        return Ok(consistency(&bundle, log_key));
    }
    let value: serde_json::Value = serde_json::from_slice(&first).with_context(|| {
        format!(
            "{} is neither a proof file nor a consistency file (not JSON)",
            args.files[0].display()
        )
    })?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(verify::PROOF_FORMAT) => {
            let bundle: ProofBundle = serde_json::from_slice(&first).with_context(|| {
                format!("{} is not a complete proof file", args.files[0].display())
            })?;
            let object = match &args.object {
                Some(path) => Some(read(path)?),
                None => None,
            };
            Ok(
                verify::verify_bundle(&bundle, log_key, object.as_deref(), witnesses).map(|ok| {
                    let mut message = format!(
                        "{} version {} is leaf {} of log {}'s tree of {} leaves, signed by {}",
                        ok.id,
                        ok.version.as_deref().unwrap_or("-"),
                        ok.leaf_index,
                        bundle.log,
                        ok.tree_size,
                        signer_of(&bundle.checkpoint, log_key)
                    );
                    if !witnesses.is_empty() {
                        message.push_str(&format!(
                            "; cosigned by {} of {} witnesses given{}",
                            ok.cosigned_by.len(),
                            witnesses.len(),
                            if ok.cosigned_by.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", ok.cosigned_by.join(", "))
                            }
                        ));
                    }
                    message
                }),
            )
        }
        Some(verify::CONSISTENCY_FORMAT) => {
            let bundle: ConsistencyBundle = serde_json::from_slice(&first).with_context(|| {
                format!(
                    "{} is not a complete consistency file",
                    args.files[0].display()
                )
            })?;
            Ok(consistency(&bundle, log_key))
        }
        other => bail!(
            "{}: format {} is not one geneva verify reads ({} or {})",
            args.files[0].display(),
            other.map_or("(none)".to_owned(), |f| format!("{f:?}")),
            verify::PROOF_FORMAT,
            verify::CONSISTENCY_FORMAT
        ),
    }
}

/// Which of the given log keys signed a checkpoint (for the report).
fn signer_of(note: &str, keys: &[VerifierKey]) -> String {
    let note = geneva_tlog::Note::parse(note.as_bytes()).ok();
    keys.iter()
        .find(|k| note.as_ref().is_some_and(|n| n.verify(k).is_ok()))
        .map(VerifierKey::to_text)
        .unwrap_or_default()
}

fn consistency(bundle: &ConsistencyBundle, log_key: &[VerifierKey]) -> Result<String, VerifyError> {
    verify::verify_consistency_bundle(bundle, log_key).map(|(old, new)| {
        format!(
            "the checkpoint of {} leaves extends the one of {} leaves: log {} is append-only between them",
            new.size, old.size, new.origin
        )
    })
}
