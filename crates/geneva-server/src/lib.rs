//! Geneva's HTTP server: routes, request limits, JSON error bodies, OpenAPI.
//!
//! This crate owns the wire contract of `/api/v1`, `/taxii2/`, `/log/`,
//! `/healthz`, the public portal (`/`, `/portal/`, `/findings`) and the
//! members' workspace (`/ui/`), and turns requests into calls on
//! `geneva_store::Store`, the STIX engine and the analyses; the pages'
//! markup is `geneva-portal`'s and `geneva-workspace`'s. It must
//! never contain storage logic or STIX rules of its own (those live in the
//! store and `geneva-stix`), and never talk to a particular database.
#![forbid(unsafe_code)]

mod api;
mod assessment;
mod attribution;
mod auth;
mod cases;
mod error;
pub mod feeds;
mod findings;
mod log;
mod page_cache;
mod taxii;
mod workspace;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use geneva_stix::Tlp;
use geneva_store::Store;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use api::ROUTES;
pub use error::ApiError;

/// The OpenAPI 3.1 document served at `/api/v1/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Time allowed for one request, end to end.
    pub request_timeout: Duration,
    /// TLP level for submitted objects that carry no TLP marking.
    pub default_tlp: Tlp,
    /// The key that signs the transparency log's checkpoints; without it,
    /// new leaves wait for a process that has it.
    pub log_signer: Option<geneva_tlog::SigningKey>,
    /// Cosignatures a checkpoint needs before what it covers counts as published.
    pub require_witnesses: usize,
    /// How often pending leaves are looked for (other processes may leave some).
    pub log_interval: Duration,
    /// Correlation thresholds and the warning lists that keep noise out.
    pub correlation: geneva_correlate::Config,
    pub warning_lists: geneva_correlate::WarningLists,
    /// Where the correlation index keeps its files; `None` keeps it in
    /// memory only, rebuilt from the store's feed after each start.
    pub correlation_dir: Option<std::path::PathBuf>,
    /// How often the feeds (`geneva feeds add`) are looked at for runs due.
    pub feed_tick: Duration,
    /// Memory for serialised TAXII object pages kept between requests
    /// (emptied by any write to what they list); 0 turns the cache off.
    pub page_cache_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 64 * 1024 * 1024,
            request_timeout: Duration::from_secs(60),
            default_tlp: Tlp::Amber,
            log_signer: None,
            require_witnesses: 0,
            log_interval: Duration::from_secs(2),
            correlation: geneva_correlate::Config::default(),
            warning_lists: geneva_correlate::WarningLists::builtin(),
            correlation_dir: None,
            feed_tick: Duration::from_secs(5),
            // ATT&CK's 19,981 objects are 30 MB of pages; room for a few
            // viewers' walks of a collection that size.
            page_cache_bytes: 128 * 1024 * 1024,
        }
    }
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    pub throttle: Arc<auth::FailureThrottle>,
    pub tokens: Arc<auth::ResolvedTokens>,
    pub log: Arc<geneva_log::TransparencyLog>,
    pub index: Arc<geneva_postings::PostingIndex>,
    pub attribution: Arc<crate::attribution::Cache>,
    pub pages: Arc<page_cache::PageCache>,
    pub findings: Arc<findings::Cache>,
}

/// The correlation index in `config.correlation_dir`, or in memory. A
/// directory that cannot be opened is reported and the index kept in memory:
/// correlation then starts again from the feed, which is slower, not wrong.
fn open_index(store: &Arc<dyn Store>, config: &ServerConfig) -> Arc<geneva_postings::PostingIndex> {
    use geneva_postings::{Opened, PostingIndex};
    let Some(dir) = &config.correlation_dir else {
        return Arc::new(PostingIndex::in_memory(store.clone()));
    };
    match PostingIndex::open(dir, store.clone()) {
        Ok((index, Opened::Writing)) => Arc::new(index),
        Ok((index, Opened::ReadOnly)) => {
            tracing::warn!(dir = %dir.display(), "another process writes the correlation index; this one keeps its own in memory");
            Arc::new(index)
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot open the correlation index; keeping it in memory");
            Arc::new(PostingIndex::in_memory(store.clone()))
        }
    }
}

/// The whole application as a router, ready to serve or to test.
pub fn router(store: Arc<dyn Store>, config: ServerConfig) -> Router {
    let log = Arc::new(geneva_log::TransparencyLog::new(
        store.clone(),
        config.log_signer.clone(),
    ));
    router_with_log(store, log, config)
}

fn router_with_log(
    store: Arc<dyn Store>,
    log: Arc<geneva_log::TransparencyLog>,
    config: ServerConfig,
) -> Router {
    let index = open_index(&store, &config);
    router_with(store, log, index, config)
}

fn router_with(
    store: Arc<dyn Store>,
    log: Arc<geneva_log::TransparencyLog>,
    index: Arc<geneva_postings::PostingIndex>,
    config: ServerConfig,
) -> Router {
    let max_body = config.max_body_bytes;
    let timeout = config.request_timeout;
    let state = AppState {
        store,
        pages: Arc::new(page_cache::PageCache::new(config.page_cache_bytes)),
        config: Arc::new(config),
        throttle: Arc::default(),
        tokens: Arc::default(),
        log,
        index,
        attribution: Arc::default(),
        findings: Arc::default(),
    };
    api::routes()
        .merge(cases::routes())
        .merge(taxii::routes())
        .merge(workspace::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .with_state(state)
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::from_fn(taxii::errors_as_taxii))
        .layer(TraceLayer::new_for_http())
}

/// Serves until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let log = Arc::new(geneva_log::TransparencyLog::new(
        store.clone(),
        config.log_signer.clone(),
    ));
    // Leaves left pending by a crash, or by another process without the key,
    // are added now and then every `log_interval`.
    {
        let log = log.clone();
        tokio::spawn(async move {
            match log.warm().await {
                Ok(strips) => tracing::debug!(strips, "transparency log's upper strata in memory"),
                Err(e) => tracing::warn!(error = %e, "cannot preload the transparency log"),
            }
        });
    }
    if log.signer().is_some() {
        let log = log.clone();
        let interval = config.log_interval;
        tokio::spawn(async move {
            loop {
                integrate_pending(&log).await;
                tokio::time::sleep(interval).await;
            }
        });
    }
    // The correlation index is read (and brought up to date from the feed)
    // now, so the first query does not wait for it.
    let index = open_index(&store, &config);
    {
        let index = index.clone();
        tokio::spawn(async move {
            match geneva_analysis::index_pending(&index).await {
                Ok(read) => tracing::info!(read, "correlation index up to date"),
                Err(e) => {
                    tracing::error!(error = %e, "cannot bring the correlation index up to date")
                }
            }
        });
    }
    feeds::spawn(store.clone(), log.clone(), config.feed_tick);
    let app = router_with(store, log, index, config);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Adds pending leaves to the log; failures are logged, not fatal: the
/// leaves stay pending and the next round tries again.
pub(crate) async fn integrate_pending(log: &geneva_log::TransparencyLog) {
    match log.integrate().await {
        Ok(done) if done.appended > 0 => {
            tracing::info!(
                appended = done.appended,
                size = done.size,
                "transparency log grew"
            )
        }
        Ok(_) | Err(geneva_log::LogError::NoKey) => {}
        Err(e) => tracing::error!(error = %e, "cannot add pending leaves to the transparency log"),
    }
}

/// Resolves on Ctrl-C or SIGTERM: what a service manager sends to stop us.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
