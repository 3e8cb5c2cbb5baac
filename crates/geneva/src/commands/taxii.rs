//! `geneva taxii pull|push`: other TAXII 2.1 servers, as a client. Pulls are
//! imports like any other (validated whole, all or nothing, into the
//! transparency log); pushes are validated here before anything is sent.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use geneva_stix::{DocumentError, PrepareOptions, Tlp};
use geneva_store::{NewFeed, Store};
use serde_json::json;

use super::{display_name, open_store, read_input};

/// Where the password of `--user` comes from: never the command line.
const PASSWORD_VARIABLE: &str = "GENEVA_TAXII_PASSWORD";

#[derive(Debug, clap::Subcommand)]
pub enum TaxiiCommand {
    /// Import every object version of a remote collection, all or nothing.
    Pull(PullArgs),
    /// Send STIX files to a remote collection as one envelope.
    Push(PushArgs),
}

#[derive(Debug, clap::Args)]
pub struct Remote {
    /// The remote API root, e.g. https://cti.example.org/taxii2/feeds/
    url: String,
    /// The collection's id on the remote server.
    #[arg(long)]
    collection: String,
    /// User name for HTTP Basic; the password is read from GENEVA_TAXII_PASSWORD.
    #[arg(long)]
    user: Option<String>,
    /// Allow private, loopback and link-local addresses (a server on this network).
    #[arg(long)]
    allow_private: bool,
}

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    #[command(flatten)]
    remote: Remote,
    /// Only versions added after this instant (the `last_added` of an earlier pull).
    #[arg(long)]
    since: Option<String>,
    /// Record the objects as this member organisation's submission (default: `local`).
    #[arg(long = "as", value_name = "ORG")]
    organisation: Option<String>,
    /// TLP level recorded for objects that carry no TLP marking.
    #[arg(long, default_value = "amber")]
    tlp: Tlp,
    /// Most objects one pull brings back.
    #[arg(long, default_value_t = 1_000_000)]
    max_objects: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    #[command(flatten)]
    remote: Remote,
    /// STIX bundles, TAXII envelopes or single objects.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub async fn run(data: &super::StoreLocation, command: TaxiiCommand) -> anyhow::Result<ExitCode> {
    match command {
        TaxiiCommand::Pull(args) => pull(data, args).await,
        TaxiiCommand::Push(args) => push(args).await,
    }
}

async fn connect(remote: &Remote) -> anyhow::Result<geneva_feeds::Target> {
    let credentials = match &remote.user {
        None => None,
        Some(user) => Some((
            user.clone(),
            std::env::var(PASSWORD_VARIABLE).with_context(|| {
                format!("--user {user} needs the password in {PASSWORD_VARIABLE}")
            })?,
        )),
    };
    Ok(geneva_feeds::connect(&remote.url, remote.allow_private, credentials).await?)
}

fn explain(error: DocumentError, origin: &str, outcome: &str) -> anyhow::Error {
    match error {
        DocumentError::Invalid { issues, .. } => {
            let shown: Vec<String> = issues
                .iter()
                .take(20)
                .map(|i| {
                    format!(
                        "  {} {}: {} ({})",
                        i.object_id.as_deref().unwrap_or("-"),
                        i.path,
                        i.message,
                        i.rule
                    )
                })
                .collect();
            anyhow::anyhow!(
                "{origin}: {} problems, {outcome}:\n{}",
                issues.len(),
                shown.join("\n")
            )
        }
        other => anyhow::anyhow!("{origin}: {other}"),
    }
}

async fn pull(data: &super::StoreLocation, args: PullArgs) -> anyhow::Result<ExitCode> {
    if let Some(since) = &args.since {
        geneva_stix::Timestamp::parse(since)
            .map_err(|e| anyhow::anyhow!("--since {since}: {e}"))?;
    }
    let password =
        match &args.remote.user {
            None => None,
            Some(user) => Some(std::env::var(PASSWORD_VARIABLE).with_context(|| {
                format!("--user {user} needs the password in {PASSWORD_VARIABLE}")
            })?),
        };
    let feed = NewFeed {
        url: args.remote.url.clone(),
        collection: args.remote.collection.clone(),
        user: args.remote.user.clone(),
        password_env: Some(PASSWORD_VARIABLE.into()),
        every_secs: 1,
        allow_private: args.remote.allow_private,
        organisation: args.organisation.clone(),
        tlp: args.tlp,
        since: args.since.clone(),
    };
    let store: Arc<dyn Store> = open_store(data, true).await?;
    let log = super::log::open_log(data, Arc::clone(&store), true).await?;
    let pulled = geneva_server::feeds::pull_once(
        &store,
        &log,
        &feed,
        password,
        args.since.as_deref(),
        args.max_objects,
    )
    .await?;
    if pulled.objects > 0 {
        super::log::integrate_or_explain(&log, args.json).await?;
    }
    let origin = format!("{} collection {}", args.remote.url, args.remote.collection);
    if args.json {
        println!(
            "{}",
            json!({
                "pages": pulled.pages,
                "objects": pulled.objects,
                "new": pulled.new, "updated": pulled.updated, "unchanged": pulled.unchanged,
                "last_added": pulled.last_added,
            })
        );
    } else {
        println!(
            "{origin}: {} objects in {} pages; {} new, {} updated, {} unchanged; resume with --since {}",
            pulled.objects,
            pulled.pages,
            pulled.new,
            pulled.updated,
            pulled.unchanged,
            pulled
                .last_added
                .as_deref()
                .unwrap_or("(nothing added yet)")
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn push(args: PushArgs) -> anyhow::Result<ExitCode> {
    let mut objects: Vec<serde_json::Value> = Vec::new();
    for path in &args.files {
        let name = display_name(path);
        let bytes = read_input(path, geneva_stix::DEFAULT_MAX_DOCUMENT_BYTES)
            .with_context(|| name.clone())?;
        let options = PrepareOptions::default();
        let checked = bytes.clone();
        tokio::task::spawn_blocking(move || geneva_stix::prepare(&checked, &options))
            .await?
            .map_err(|e| explain(e, &name, "nothing sent"))?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).with_context(|| name.clone())?;
        match value.get("objects").and_then(|o| o.as_array()) {
            Some(list) => objects.extend(list.iter().cloned()),
            None => objects.push(value),
        }
    }
    let target = connect(&args.remote).await?;
    let envelope = serde_json::to_vec(&json!({ "objects": objects }))?;
    let status = geneva_feeds::push(&target, &args.remote.collection, envelope).await?;
    if args.json {
        println!("{}", serde_json::to_string(&status)?);
    } else {
        println!(
            "{}: {} of {} objects accepted, {} refused, {} pending (status {})",
            args.remote.url,
            status.success_count,
            status.total_count,
            status.failure_count,
            status.pending_count,
            status.id
        );
        for failure in status.failures.iter().take(20) {
            println!(
                "  refused {} {}: {}",
                failure.id,
                failure.version,
                failure.message.as_deref().unwrap_or("")
            );
        }
    }
    Ok(if status.failure_count == 0 && status.pending_count == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
