//! `geneva serve`: the HTTP server on the embedded store.

use std::net::SocketAddr;

use std::process::ExitCode;

use std::time::Duration;

use anyhow::Context;
use geneva_server::ServerConfig;
use geneva_stix::Tlp;

use super::open_store;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "GENEVA_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    max_body_bytes: usize,
    /// Seconds allowed for one request.
    #[arg(long, default_value_t = 60)]
    request_timeout: u64,
    /// Log format: human-readable text or one JSON object per line.
    #[arg(long, value_enum, env = "GENEVA_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    /// TLP level recorded for submitted objects without a TLP marking.
    #[arg(long, default_value = "amber")]
    tlp: Tlp,
    /// Witness cosignatures a checkpoint needs before what it covers counts as published.
    #[arg(long, env = "GENEVA_REQUIRE_WITNESSES", default_value_t = 0)]
    require_witnesses: usize,
    /// Milliseconds between looks for log leaves left pending (by a crash or another process).
    #[arg(long, default_value_t = 2000)]
    log_interval_ms: u64,
    /// How often feeds (`geneva feeds add`) are looked at for runs due, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    feed_check_ms: u64,
    /// More correlation warning lists: files of IP addresses, ranges, domains or hashes, one a line.
    #[arg(long = "warning-list", value_name = "FILE")]
    warning_lists: Vec<std::path::PathBuf>,
    /// Megabytes of memory for TAXII object pages kept between requests
    /// (emptied by any write to what they list); 0 turns the cache off.
    #[arg(long, env = "GENEVA_PAGE_CACHE_MB", default_value_t = 128)]
    page_cache_mb: usize,
}

pub async fn run(data: &super::StoreLocation, args: Args) -> anyhow::Result<ExitCode> {
    init_logging(args.log_format);
    let store = open_store(data, true).await?;
    let (log, created) = super::log::open_log_reporting(data, store.clone(), true).await?;
    if let Some(message) = created {
        tracing::info!("{message}");
    }
    if log.signer().is_none() {
        tracing::warn!(key = %super::log::key_path(data).display(), "no transparency-log key: new leaves wait for a process that has it");
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data = %data.data.display(), database = data.database.is_some(), "geneva listening");
    // Scripts and tests read this line to find the port when `--listen` ends in :0.
    println!("listening on http://{addr}");
    let config = ServerConfig {
        max_body_bytes: args.max_body_bytes,
        request_timeout: Duration::from_secs(args.request_timeout),
        default_tlp: args.tlp,
        log_signer: log.signer().cloned(),
        require_witnesses: args.require_witnesses,
        log_interval: Duration::from_millis(args.log_interval_ms.max(10)),
        correlation: geneva_correlate::Config::default(),
        warning_lists: geneva_analysis::warning_lists(&args.warning_lists)
            .map_err(anyhow::Error::msg)?,
        correlation_dir: Some(super::index_dir(data)),
        feed_tick: Duration::from_millis(args.feed_check_ms.max(10)),
        page_cache_bytes: args.page_cache_mb.saturating_mul(1024 * 1024),
    };
    geneva_server::serve(listener, store, config, geneva_server::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
