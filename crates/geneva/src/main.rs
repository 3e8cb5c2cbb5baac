//! `geneva`: the one binary. Parses the command line, opens the store the user
//! chose, and hands work to the library crates; it owns presentation (progress,
//! tables, `--json`, exit codes) and nothing else.
#![forbid(unsafe_code)]

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

// Import parses and canonicalises every object in parallel; glibc's allocator
// spent a third of that time in page faults and locks (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "geneva",
    version,
    about = "Evidence, attribution and transparency for the Digital Geneva Convention"
)]
struct Cli {
    /// Directory holding Geneva's embedded database.
    #[arg(
        long,
        global = true,
        env = "GENEVA_DATA",
        default_value = "./geneva-data"
    )]
    data: PathBuf,

    /// Use this database instead of the embedded one: postgres://user@host:port/db (or sqlite:PATH).
    #[arg(long, global = true, env = "GENEVA_DATABASE")]
    database: Option<String>,

    /// Where evidence files live: s3://bucket/prefix, file:///dir (default: blobs/ in --data).
    #[arg(long, global = true, env = "GENEVA_BLOBS")]
    blobs: Option<String>,

    /// The transparency log's signing key file (default: log.key in --data; created on first import).
    #[arg(long, global = true, env = "GENEVA_LOG_SIGNING_KEY")]
    log_signing_key: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Import STIX 2.1 (or 2.0) bundles, TAXII envelopes or objects; all or nothing.
    Import(commands::import::Args),
    /// Check files against the STIX 2.1 MUST rules without storing anything.
    Validate(commands::validate::Args),
    /// Write the current objects as one STIX 2.1 bundle.
    Export(commands::export::Args),
    /// Show one object (its current version, or all versions).
    Show(commands::show::Args),
    /// Count what the store holds.
    Stats(commands::stats::Args),
    /// Run the HTTP server (REST API under /api/v1).
    Serve(commands::serve::Args),
    /// Member organisations.
    #[command(subcommand)]
    Org(commands::members::OrgCommand),
    /// Users of member organisations.
    #[command(subcommand)]
    User(commands::members::UserCommand),
    /// Sharing groups: named sets of organisations.
    #[command(subcommand)]
    Group(commands::members::GroupCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(commands::members::TokenCommand),
    /// The append-only audit log of writes and of reads of restricted material.
    Audit(commands::members::AuditArgs),
    /// Copy a whole instance into an empty database (e.g. SQLite to PostgreSQL) and verify it.
    Migrate(commands::migrate::Args),
    /// Evidence files (samples, captures, documents), kept by SHA-256.
    #[command(subcommand)]
    Evidence(commands::evidence::EvidenceCommand),
    /// The transparency log: key, checkpoints, proofs, witnesses, audit.
    #[command(subcommand)]
    Log(commands::log::LogCommand),
    /// Check, offline, a proof file or two checkpoints against the log's public key.
    Verify(commands::verify::Args),
    /// Run a witness: cosign each new checkpoint of a log that extends the last one seen.
    Witness(commands::witness::Args),
    /// What an object or report shares with the rest of the store, and why.
    Correlate(commands::correlate::CorrelateArgs),
    /// Clusters of items joined by strong shared evidence.
    Campaigns(commands::correlate::Options),
    /// Other TAXII 2.1 servers: pull a collection in, push files out.
    #[command(subcommand)]
    Taxii(commands::taxii::TaxiiCommand),
    /// Remote TAXII collections `geneva serve` pulls on a schedule.
    #[command(subcommand)]
    Feeds(commands::feeds::FeedsCommand),
    /// The attribution knowledge base: ATT&CK and the MISP threat-actor galaxy.
    #[command(subcommand)]
    Kb(commands::attribution::KbCommand),
    /// Rank candidate perpetrators of the incident a STIX bundle describes.
    Attribute(commands::attribution::AttributeArgs),
    /// The convention's norms: list them, or show one with its source and criteria.
    #[command(subcommand)]
    Norms(commands::norms::NormsCommand),
    /// Assess an incident against every norm that applies: breach, likely
    /// breach, no breach or cannot assess, with the facts and what is missing.
    Assess(commands::norms::AssessArgs),
    /// Load a realistic scenario into a fresh data directory and serve it.
    Demo(commands::demo::DemoArgs),
    /// The panel's cases: open, assign, note, draft, move, vote, release, publish, show, list.
    #[command(subcommand)]
    Case(commands::case::CaseCommand),
    /// Benchmarks that generate their own load.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let location = commands::StoreLocation {
        data: cli.data.clone(),
        database: cli.database.clone(),
        log_key: cli.log_signing_key.clone(),
    };
    let result = runtime.block_on(async move {
        let data = &location;
        let blobs = cli.blobs;
        match cli.command {
            Command::Import(args) => commands::import::run(data, args).await,
            Command::Validate(args) => commands::validate::run(args),
            Command::Export(args) => commands::export::run(data, args).await,
            Command::Show(args) => commands::show::run(data, args).await,
            Command::Stats(args) => commands::stats::run(data, args).await,
            Command::Serve(args) => commands::serve::run(data, args).await,
            Command::Org(c) => commands::members::org(data, c).await,
            Command::User(c) => commands::members::user(data, c).await,
            Command::Group(c) => commands::members::group(data, c).await,
            Command::Token(c) => commands::members::token(data, c).await,
            Command::Audit(args) => commands::members::audit(data, args).await,
            Command::Migrate(args) => commands::migrate::run(args).await,
            Command::Evidence(c) => commands::evidence::run(data, blobs.as_deref(), c).await,
            Command::Log(c) => commands::log::run(data, c).await,
            Command::Verify(args) => commands::verify::run(args),
            Command::Witness(args) => commands::witness::run(args).await,
            Command::Correlate(args) => commands::correlate::correlate(data, args).await,
            Command::Campaigns(options) => commands::correlate::campaigns(data, options).await,
            Command::Taxii(c) => commands::taxii::run(data, c).await,
            Command::Feeds(c) => commands::feeds::run(data, c).await,
            Command::Kb(c) => commands::attribution::kb(data, c).await,
            Command::Attribute(args) => commands::attribution::attribute(data, args).await,
            Command::Norms(c) => commands::norms::norms(c),
            Command::Assess(args) => commands::norms::assess(data, args).await,
            Command::Case(c) => commands::case::run(data, c).await,
            Command::Demo(args) => commands::demo::run(data, args).await,
            Command::Bench(c) => commands::bench::run(c).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
