//! Geneva's HTTP server: routes, request limits, JSON error bodies, OpenAPI.
//!
//! This crate owns the wire contract of `/api/v1` and `/healthz` and turns
//! requests into calls on `geneva_store::Store` and the STIX engine. It must
//! never contain storage logic or STIX rules of its own (those live in the
//! store and `geneva-stix`), and never talk to a particular database.
#![forbid(unsafe_code)]

mod api;
mod auth;
mod error;

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
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 64 * 1024 * 1024,
            request_timeout: Duration::from_secs(60),
            default_tlp: Tlp::Amber,
        }
    }
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    pub throttle: Arc<auth::FailureThrottle>,
}

/// The whole application as a router, ready to serve or to test.
pub fn router(store: Arc<dyn Store>, config: ServerConfig) -> Router {
    let max_body = config.max_body_bytes;
    let timeout = config.request_timeout;
    let state = AppState {
        store,
        config: Arc::new(config),
        throttle: Arc::default(),
    };
    api::routes()
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
        .layer(TraceLayer::new_for_http())
}

/// Serves until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(store, config);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
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
