//! `geneva log …`: the transparency log from the operator's side: its key,
//! checkpoints, proofs, witnesses and the audit of the store against it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use geneva_log::verify::{CONSISTENCY_FORMAT, ConsistencyBundle, encode_hashes};
use geneva_log::{TransparencyLog, key};
use geneva_store::{Store, Viewer};
use geneva_tlog::{KeyKind, SigningKey, VerifierKey};
use serde_json::json;

use super::{StoreLocation, open_store, write_output};

#[derive(Debug, clap::Subcommand)]
pub enum LogCommand {
    /// Create the log's signing key (a new file, mode 0600) and print its public key.
    Init {
        /// The log's name in its checkpoints (C2SP origin), e.g. geneva.example.org/log.
        #[arg(long, env = "GENEVA_LOG_ORIGIN")]
        origin: Option<String>,
    },
    /// Print the log's public (verifier) key.
    Key,
    /// Add pending leaves, then print the latest signed checkpoint with its cosignatures.
    Checkpoint {
        #[arg(long)]
        json: bool,
    },
    /// Write the proof that an object version is in the log (for `geneva verify`).
    Prove {
        /// The object's STIX id.
        id: String,
        /// Which version (its `modified`); default: the current one.
        #[arg(long)]
        version: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Write the proof that the log of OLD leaves is a prefix of the current one (or of --to).
    Consistency {
        old: u64,
        #[arg(long)]
        to: Option<u64>,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Check every stored version against the log, and every leaf against the store.
    Audit {
        #[arg(long)]
        json: bool,
    },
    /// Witnesses whose cosignatures the log accepts.
    #[command(subcommand)]
    Witness(WitnessCommand),
    /// Sign future checkpoints with a new key (same log name); witnesses must be told its public key.
    RotateKey {
        /// A new key file, created by `geneva witness`-style `geneva log init` elsewhere or `--create`.
        new_key: PathBuf,
        /// Create NEW_KEY (mode 0600) with the log's name first.
        #[arg(long)]
        create: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum WitnessCommand {
    /// Register a witness by its public key (name+id+base64, as `geneva witness --init` prints it).
    Add { public_key: String },
    List {
        #[arg(long)]
        json: bool,
    },
}

/// The signing key's file: `--log-signing-key`, else `log.key` beside the
/// embedded database (in the data directory, or beside a `sqlite:PATH`).
pub fn key_path(location: &StoreLocation) -> PathBuf {
    if let Some(path) = &location.log_key {
        return path.clone();
    }
    match location
        .database
        .as_deref()
        .and_then(|url| url.strip_prefix("sqlite:"))
    {
        Some(db) => Path::new(db)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("log.key"),
        None => location.data.join("log.key"),
    }
}

/// Whether the store is the embedded SQLite one, which is this machine's alone.
fn embedded(location: &StoreLocation) -> bool {
    location
        .database
        .as_deref()
        .is_none_or(|url| url.starts_with("sqlite:"))
}

/// The log over `store`, with its signing key if this process has it. On an
/// embedded log with no key yet, and `create`, a key is made in the data
/// directory, and a sentence saying so is returned for the caller to show. A
/// shared database gets its key only from `geneva log init`: several servers
/// starting at once must not each invent one.
pub async fn open_log_reporting(
    location: &StoreLocation,
    store: Arc<dyn Store>,
    create: bool,
) -> anyhow::Result<(TransparencyLog, Option<String>)> {
    let path = key_path(location);
    let mut created = None;
    let signer = if path.exists() {
        Some(key::load(&path)?)
    } else if create && embedded(location) && store.log_state().await?.public_key.is_none() {
        let origin = match std::env::var("GENEVA_LOG_ORIGIN") {
            Ok(origin) if !origin.is_empty() => origin,
            _ => key::default_origin()?,
        };
        let key = key::create(&path, &origin, KeyKind::Note)?;
        created = Some(format!(
            "created the transparency log's signing key {} for log {origin}; keep a backup of it",
            path.display()
        ));
        Some(key)
    } else {
        None
    };
    Ok((TransparencyLog::new(store, signer), created))
}

/// [`open_log_reporting`] for commands that tell the user on standard error.
pub async fn open_log(
    location: &StoreLocation,
    store: Arc<dyn Store>,
    create: bool,
) -> anyhow::Result<TransparencyLog> {
    let (log, created) = open_log_reporting(location, store, create).await?;
    if let Some(message) = created {
        eprintln!("{message}");
    }
    Ok(log)
}

/// Adds pending leaves if this process holds the key; says so if it does not.
pub async fn integrate_or_explain(
    log: &TransparencyLog,
    quiet: bool,
) -> anyhow::Result<Option<geneva_log::Integration>> {
    if log.signer().is_none() {
        let pending = log.store().log_state().await?.pending;
        if pending > 0 && !quiet {
            eprintln!(
                "note: {pending} leaves wait to join the transparency log: no signing key here (--log-signing-key)"
            );
        }
        return Ok(None);
    }
    Ok(Some(log.integrate().await?))
}

pub async fn run(location: &StoreLocation, command: LogCommand) -> anyhow::Result<ExitCode> {
    match command {
        LogCommand::Init { origin } => {
            let store = open_store(location, true).await?;
            let path = key_path(location);
            if path.exists() {
                bail!(
                    "{} already exists; a log keeps its key (see `geneva log rotate-key`)",
                    path.display()
                );
            }
            if let Some(existing) = store.log_state().await?.public_key {
                bail!(
                    "this log is already signed by {existing}; use its key file with --log-signing-key"
                );
            }
            let origin = match origin {
                Some(o) => o,
                None => key::default_origin()?,
            };
            let key = key::create(&path, &origin, KeyKind::Note)?;
            println!("{}", key.verifier().to_text());
            eprintln!("wrote {} (mode 0600); keep a backup of it", path.display());
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Key => {
            let store = open_store(location, false).await?;
            let key = match store.log_state().await?.public_key {
                Some(k) => k,
                None => key::load(&key_path(location))?.verifier().to_text(),
            };
            println!("{key}");
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Checkpoint { json } => {
            let store = open_store(location, false).await?;
            let log = open_log(location, store.clone(), true).await?;
            integrate_or_explain(&log, json).await?;
            let state = store.log_state().await?;
            let Some(note) = log.checkpoint().await? else {
                bail!("the log has no checkpoint yet: nothing has been imported");
            };
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "size": state.size,
                        "pending": state.pending,
                        "public_key": state.public_key,
                        "checkpoint": note,
                    }))?
                );
            } else {
                print!("{note}");
            }
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Prove {
            id,
            version,
            output,
        } => {
            let store = open_store(location, false).await?;
            let log = open_log(location, store.clone(), false).await?;
            integrate_or_explain(&log, true).await?;
            let versions = store.versions(&id, &Viewer::Operator).await?;
            let chosen = match &version {
                None => versions.iter().find(|v| v.current).or(versions.last()),
                Some(wanted) => versions
                    .iter()
                    .rev()
                    .find(|v| v.version.as_deref() == Some(wanted)),
            };
            let Some(chosen) = chosen else {
                match version {
                    None => bail!("no object {id}"),
                    Some(v) => bail!("object {id} has no version {v}"),
                }
            };
            let bundle = log.prove(chosen).await?;
            write_output(output.as_deref(), &serde_json::to_vec_pretty(&bundle)?)?;
            if chosen.tlp >= geneva_stix::Tlp::Amber {
                store
                    .audit(vec![geneva_store::NewAuditEntry {
                        at: geneva_stix::timestamp::now_rfc3339(),
                        actor: super::members::cli_actor(),
                        action: "read".into(),
                        channel: "cli".into(),
                        target: Some(chosen.id.clone()),
                        detail: format!("log proof with the object, {}", chosen.tlp),
                    }])
                    .await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Consistency { old, to, output } => {
            let store = open_store(location, false).await?;
            let log = open_log(location, store, false).await?;
            let (new, proof) = log.consistency_proof(old, to).await?;
            let old_checkpoint = log
                .checkpoint_at(old)
                .await?
                .with_context(|| format!("the log signed no checkpoint of exactly {old} leaves"))?;
            let new_checkpoint = log
                .checkpoint_at(new)
                .await?
                .with_context(|| format!("the log signed no checkpoint of exactly {new} leaves"))?;
            let bundle = ConsistencyBundle {
                format: CONSISTENCY_FORMAT.into(),
                old_checkpoint,
                new_checkpoint,
                proof: encode_hashes(&proof),
            };
            write_output(output.as_deref(), &serde_json::to_vec_pretty(&bundle)?)?;
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Audit { json } => {
            let store = open_store(location, false).await?;
            let log = open_log(location, store, false).await?;
            let report = log.audit(None).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "size": report.size,
                        "versions": report.versions,
                        "pending": report.pending,
                        "problems": report.problems,
                    }))?
                );
            } else if report.problems.is_empty() {
                println!(
                    "ok: {} stored versions, {} leaves, {} pending; every version matches its leaf and every leaf has its version",
                    report.versions, report.size, report.pending
                );
            } else {
                for p in &report.problems {
                    println!("TAMPERED: {p}");
                }
            }
            Ok(if report.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        LogCommand::Witness(WitnessCommand::Add { public_key }) => {
            let store = open_store(location, false).await?;
            let log = TransparencyLog::new(store, None);
            let witness = log.add_witness(&public_key).await?;
            println!("witness {} registered", witness.name);
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::Witness(WitnessCommand::List { json }) => {
            let store = open_store(location, false).await?;
            let witnesses = store.log_witnesses().await?;
            if json {
                let list: Vec<_> = witnesses
                    .iter()
                    .map(|w| json!({"name": w.name, "public_key": w.public_key, "added_at": w.added_at}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for w in witnesses {
                    println!("{}\t{}\t{}", w.name, w.public_key, w.added_at);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        LogCommand::RotateKey { new_key, create } => rotate_key(location, &new_key, create).await,
    }
}

async fn rotate_key(
    location: &StoreLocation,
    new_path: &Path,
    create: bool,
) -> anyhow::Result<ExitCode> {
    let store = open_store(location, false).await?;
    let old = key::load(&key_path(location)).context("the current key is needed to rotate it")?;
    let new: SigningKey = if create {
        key::create(new_path, old.name(), KeyKind::Note)?
    } else {
        key::load(new_path)?
    };
    if new.name() != old.name() {
        bail!(
            "the new key is named {:?} but the log is {:?}: a key's name is the log's origin",
            new.name(),
            old.name()
        );
    }
    let (old_text, new_text) = (old.verifier().to_text(), new.verifier().to_text());
    if !store.log_rotate_key(&old_text, &new_text).await? {
        bail!("the log is not signed by {old_text}; nothing changed");
    }
    let _ = VerifierKey::parse(&new_text)?;
    println!("{new_text}");
    eprintln!(
        "checkpoints from now on are signed by the key in {}; give witnesses and verifiers this public key, and use --log-signing-key {} from now on",
        new_path.display(),
        new_path.display()
    );
    Ok(ExitCode::SUCCESS)
}
