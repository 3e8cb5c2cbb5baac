//! `geneva import`: every file is validated before anything is written, and
//! everything is written in one transaction, so a bad file leaves the store as it was.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use geneva_stix::{DEFAULT_MAX_DOCUMENT_BYTES, DocumentError, PrepareOptions, Severity, Tlp};
use geneva_store::{ImportMessage, Provenance, Store};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::{display_name, open_store, read_input};

/// Errors printed per file before the rest are only counted.
const SHOWN_ISSUES: usize = 20;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files to import: STIX bundles, TAXII envelopes or single objects, JSON or gzip; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Largest file accepted, in bytes, after decompression.
    #[arg(long, env = "GENEVA_MAX_IMPORT_BYTES", default_value_t = DEFAULT_MAX_DOCUMENT_BYTES)]
    max_bytes: u64,
    /// TLP level recorded for objects that carry no TLP marking.
    #[arg(long, default_value = "amber")]
    tlp: Tlp,
    /// Submit on behalf of this member organisation (default: the instance's own operators, `local`).
    #[arg(long = "as", value_name = "ORG")]
    organisation: Option<String>,
    /// Release AMBER and AMBER+STRICT objects to this organisation, or AMBER to this sharing group (repeatable).
    #[arg(long = "share-with", value_name = "ORG|GROUP")]
    share_with: Vec<String>,
    /// Release RED objects to this user (repeatable).
    #[arg(long = "share-with-user", value_name = "USER")]
    share_with_users: Vec<String>,
}

struct FileReport {
    name: String,
    objects: usize,
    upgraded: usize,
    warnings: usize,
    error: Option<String>,
    invalid_objects: usize,
    issues: Vec<geneva_stix::Issue>,
}

pub async fn run(data: &super::StoreLocation, args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let progress = progress_bar(args.json);
    let options = PrepareOptions {
        max_document_bytes: args.max_bytes,
        ..PrepareOptions::default()
    };
    let store: Arc<dyn Store> = open_store(data, true).await?;
    // The key is made (on a new log) before anything is stored, so that a
    // key-file problem stops the import instead of leaving leaves unsigned.
    let log = super::log::open_log(data, Arc::clone(&store), true).await?;
    let (organisation, organisation_id) =
        super::submitter(store.as_ref(), args.organisation.as_deref()).await?;
    let recipients =
        geneva_store::resolve_recipients(store.as_ref(), &args.share_with, &args.share_with_users)
            .await?;
    let provenance = Provenance {
        organisation: organisation.clone(),
        organisation_id,
        submitted_at: geneva_stix::timestamp::now_rfc3339(),
        default_tlp: args.tlp,
        recipients,
    };
    // The store writes chunks while later ones are still being validated; it
    // commits only if every object of every file passes (see `prepare_files`).
    let (batches, received) = tokio::sync::mpsc::channel(2);
    let writer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.import_stream(received, provenance).await })
    };
    let files = args.files.clone();
    let bar = progress.clone();
    let reports =
        tokio::task::spawn_blocking(move || prepare_files(&files, &options, &batches, &bar))
            .await?;
    let stored = writer.await?;
    if let Ok(summary) = &stored {
        let files: Vec<&str> = reports.iter().map(|r| r.name.as_str()).collect();
        store
            .audit(vec![geneva_store::NewAuditEntry {
                at: geneva_stix::timestamp::now_rfc3339(),
                actor: format!("{} as {organisation}", super::members::cli_actor()),
                action: "import".into(),
                channel: "cli".into(),
                target: Some(files.join(",")),
                detail: format!(
                    "{} new, {} updated, {} unchanged",
                    summary.new, summary.updated, summary.unchanged
                ),
            }])
            .await?;
    }
    // The committed versions join the log: a tree update and one signed
    // checkpoint per batch. If this is interrupted they stay pending, and the
    // next `geneva log checkpoint`, import or server adds them.
    // The import is committed whatever happens here: a log failure is told,
    // not turned into a failed import, and the leaves wait for the next try.
    let mut log_error = None;
    let logged = if stored.is_ok() {
        match super::log::integrate_or_explain(&log, args.json).await {
            Ok(done) => Some(done),
            Err(e) => {
                log_error = Some(format!("{e:#}"));
                None
            }
        }
    } else {
        None
    };
    drop(log);
    drop(store); // closing checkpoints the WAL into the database: part of the import's cost
    progress.finish_and_clear();

    let rejected: usize = reports.iter().map(|r| r.invalid_objects).sum();
    if reports.iter().any(|r| r.error.is_some()) {
        print_failure(&reports, rejected, args.json);
        return Ok(ExitCode::FAILURE);
    }
    let summary = match stored {
        Ok(s) => s,
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    json!({"ok": false, "error": e.to_string(), "stored": false})
                );
            } else {
                eprintln!("error: {e}");
                eprintln!("nothing was imported (imports are all or nothing)");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let elapsed = started.elapsed();
    if args.json {
        let files: Vec<_> = reports
            .iter()
            .map(|r| json!({"file": r.name, "objects": r.objects, "upgraded_from_stix20": r.upgraded, "warnings": r.warnings}))
            .collect();
        println!(
            "{}",
            json!({
                "ok": true, "files": files, "new": summary.new, "updated": summary.updated,
                "unchanged": summary.unchanged, "rejected": 0, "seconds": elapsed.as_secs_f64(),
                "log_size": logged.flatten().map(|l| l.size),
                "log_error": log_error,
            })
        );
    } else {
        let upgraded: usize = reports.iter().map(|r| r.upgraded).sum();
        let warnings: usize = reports.iter().map(|r| r.warnings).sum();
        println!(
            "imported {} objects from {} file{} in {}",
            summary.total(),
            reports.len(),
            if reports.len() == 1 { "" } else { "s" },
            format_duration(elapsed)
        );
        println!("  new        {:>8}", summary.new);
        println!("  updated    {:>8}", summary.updated);
        println!("  unchanged  {:>8}", summary.unchanged);
        println!("  rejected   {:>8}", 0);
        if upgraded > 0 {
            println!("  ({upgraded} upgraded from STIX 2.0)");
        }
        if warnings > 0 {
            println!("  ({warnings} warnings; `geneva validate` lists them)");
        }
        if let Some(error) = &log_error {
            eprintln!("warning: imported, but the transparency log was not extended: {error}");
            eprintln!(
                "         the new versions' leaves wait; `geneva log checkpoint` with the log's key adds them"
            );
        }
        if let Some(Some(log)) = logged
            && log.appended > 0
        {
            println!(
                "  logged   {:>8} leaves; the transparency log now has {}",
                log.appended, log.size
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Validates every file, sending valid chunks to the writer until the first
/// invalid object anywhere; after that every file is still checked, so that all
/// errors are reported, but nothing more is sent and no commit follows.
fn prepare_files(
    files: &[PathBuf],
    options: &PrepareOptions,
    batches: &tokio::sync::mpsc::Sender<ImportMessage>,
    progress: &ProgressBar,
) -> Vec<FileReport> {
    let mut reports = Vec::with_capacity(files.len());
    let mut failed = false;
    let mut writer_gone = false;
    for path in files {
        let name = display_name(path);
        progress.set_message(name.clone());
        progress.set_position(0);
        let outcome = read_input(path, options.max_document_bytes)
            .map_err(|e| DocumentError::Shape(format!("{e:#}")))
            .and_then(|bytes| {
                geneva_stix::prepare_in_chunks(
                    &bytes,
                    options,
                    geneva_stix::prepare::DEFAULT_CHUNK,
                    |chunk| {
                        if failed {
                            return true;
                        }
                        writer_gone = batches
                            .blocking_send(ImportMessage::Objects(chunk))
                            .is_err();
                        !writer_gone
                    },
                    |checked, total| {
                        progress.set_length(total as u64);
                        progress.set_position(checked as u64);
                    },
                )
            });
        match outcome {
            Ok(outline) => reports.push(FileReport {
                name,
                objects: outline.objects,
                upgraded: outline.upgraded,
                warnings: outline.warnings.len(),
                error: None,
                invalid_objects: 0,
                issues: outline.warnings,
            }),
            Err(e) => {
                failed = true;
                let invalid_objects = match &e {
                    DocumentError::Invalid {
                        invalid_objects, ..
                    } => *invalid_objects,
                    _ => 0,
                };
                reports.push(FileReport {
                    name,
                    objects: 0,
                    upgraded: 0,
                    warnings: 0,
                    error: Some(e.to_string()),
                    invalid_objects,
                    issues: e.issues().to_vec(),
                });
            }
        }
        if writer_gone {
            // The store refused a batch; its error says why. Nothing will be committed.
            break;
        }
    }
    if !failed && !writer_gone {
        let _ = batches.blocking_send(ImportMessage::Commit);
    }
    reports
}

fn print_failure(reports: &[FileReport], rejected: usize, as_json: bool) {
    if as_json {
        let files: Vec<_> = reports
            .iter()
            .map(|r| {
                let issues: Vec<_> = r
                    .issues
                    .iter()
                    .filter(|i| i.severity == Severity::Error)
                    .take(1000)
                    .map(|i| {
                        json!({"object_index": i.object_index, "object_id": i.object_id, "line": i.line,
                               "path": i.path, "rule": i.rule, "message": i.message})
                    })
                    .collect();
                json!({"file": r.name, "error": r.error, "invalid_objects": r.invalid_objects, "issues": issues})
            })
            .collect();
        println!(
            "{}",
            json!({"ok": false, "stored": false, "new": 0, "updated": 0, "unchanged": 0, "rejected": rejected, "files": files})
        );
        return;
    }
    for r in reports.iter().filter(|r| r.error.is_some()) {
        let errors: Vec<_> = r
            .issues
            .iter()
            .filter(|i| i.severity == Severity::Error)
            .collect();
        if errors.is_empty() {
            eprintln!(
                "error: {}: {}",
                r.name,
                r.error.as_deref().unwrap_or_default()
            );
            continue;
        }
        let objects = if r.invalid_objects == 1 {
            "object breaks"
        } else {
            "objects break"
        };
        eprintln!(
            "error: {}: {} {objects} STIX 2.1 rules",
            r.name, r.invalid_objects
        );
        for issue in errors.iter().take(SHOWN_ISSUES) {
            eprintln!("  {}: {issue}", r.name);
        }
        if errors.len() > SHOWN_ISSUES {
            eprintln!(
                "  … and {} more (use --json for all)",
                errors.len() - SHOWN_ISSUES
            );
        }
    }
    match rejected {
        0 => eprintln!("nothing was imported (imports are all or nothing)"),
        1 => eprintln!("rejected 1 object; nothing was imported (imports are all or nothing)"),
        n => eprintln!("rejected {n} objects; nothing was imported (imports are all or nothing)"),
    }
}

fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    // indicatif draws only when standard error is a terminal.
    let bar = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} objects [{elapsed}]")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

pub fn format_duration(d: Duration) -> String {
    if d.as_secs() >= 1 {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}
