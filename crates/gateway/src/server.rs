//! Listener, router and shutdown.
//!
//! The CORS gate ([`crate::policy::cors`], `server.cors`) wraps the whole router, so it answers
//! browsers' preflights before routing (a route would answer 405); it never allows an origin on
//! `/admin`, `/healthz` or `/metrics`, and requests without `Origin` skip it. The router, outermost first:
//! 1. `/healthz` — no auth, no state; for load balancers and Caddy's health checks.
//! 2. The client dialects; each handler authenticates the client and runs the shared pipeline
//!    ([`crate::proxy`]):
//!    - `/v1/*` — OpenAI ([`crate::inbound::openai`]); the multipart operations (audio
//!      transcriptions and translations, image edits and variations) take the same pipeline
//!      with a spooled body ([`crate::multipart`]);
//!    - `/openai/deployments/*`, `/openai/responses`, `/openai/v1/*` — Azure OpenAI
//!      ([`crate::inbound::azure`]);
//!    - `/chat/completions`, `/embeddings`, `/info`, also under `/models` — Azure AI Model
//!      Inference ([`crate::inbound::inference`]);
//!    - `GET /v1/realtime`, `/openai/v1/realtime`, `/openai/realtime` — the Realtime API over
//!      WebSocket ([`crate::inbound::realtime`]);
//!    - `files…`, `batches…`, `fine_tuning/…` and `responses/{id}…` under `/v1/`,
//!      `/openai/v1/` and `/openai/` (`?api-version=`) — resource-level APIs, which go to
//!      `resources.upstream` or to the upstream that stored the response
//!      ([`crate::resources`]).
//! 3. `/admin/api/*` — Basic-auth admin API ([`crate::admin`]).
//! 4. `/metrics` — Prometheus ([`crate::telemetry::metrics::endpoint`]), when
//!    `server.metrics.enabled` and it has no port of its own (then [`crate::listen`] serves it
//!    there, and the main port answers 404).
//! 5. Fallbacks — unknown paths and wrong methods get OpenAI-shaped 404/405 errors.
//!
//! There is deliberately no buffering or body-limit layer: the pipeline reads request bodies
//! itself (to answer 413 in OpenAI's shape) and never buffers responses; multipart uploads are
//! spooled to a temp file beyond 1 MiB, never held whole in memory.
//! Shutdown: hyper drains HTTP connections; realtime sessions, which left hyper when they were
//! upgraded, are told to close and waited for through [`crate::drain`], within the same grace.
//! Accepted sockets get TCP_NODELAY (axum's `serve` leaves it off; a Nagle stall costs ~40 ms).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::OriginalUri;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use http::Method;
use serde_json::json;
use tokio::net::TcpListener;
use tower::Layer as _;

use crate::drain::{self, Drain};
use crate::error::GatewayError;
use crate::state::AppState;
use crate::telemetry::metrics;
use crate::{admin, inbound, policy, resources, trace};

/// How long in-flight requests (streams included) get to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// What `serve` runs: the router behind the CORS gate, inside the request-id service
/// ([`crate::trace`]), which tags every response with the request's id.
///
/// The gate wraps the router as one service rather than through `Router::layer`, which would
/// wrap every route and cost about 30 KiB of resident memory per open stream (bench/RESULTS.md).
pub fn service(
    app: Arc<AppState>,
    drain: Drain,
) -> trace::Traced<policy::cors::OriginGate<Router>> {
    trace::Traced::new(policy::cors::layer(Arc::clone(&app)).layer(router(app, drain)))
}

/// The whole router; `drain` tracks the realtime sessions it opens.
pub fn router(app: Arc<AppState>, drain: Drain) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .merge(inbound::openai::router())
        .merge(inbound::azure::router())
        .merge(inbound::inference::router())
        .merge(inbound::realtime::router(drain))
        .merge(resources::router())
        .merge(admin::router())
        .merge(metrics::endpoint::main_port_routes(&app))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

pub(crate) async fn not_found(method: Method, OriginalUri(uri): OriginalUri) -> Response {
    GatewayError::NotFound {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
    .into_response()
}

pub(crate) async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> Response {
    GatewayError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
    .into_response()
}

/// Binds the listening socket (`port` 0 picks a free port).
pub async fn bind(host: &str, port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind((host, port)).await
}

/// Serves until `shutdown` resolves, then drains for at most [`SHUTDOWN_GRACE`]: HTTP
/// connections through hyper, realtime sessions through [`crate::drain`].
pub async fn serve(
    listener: TcpListener,
    app: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (drain_tx, drain_rx) = tokio::sync::oneshot::channel::<()>();
    let (sessions_drain, closer, mut sessions) = drain::channel();
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    let server = axum::serve(
        listener,
        axum::ServiceExt::<axum::extract::Request>::into_make_service(service(app, sessions_drain)),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        closer.close();
        let _ = drain_tx.send(());
    });
    let server = async move {
        let result = server.await;
        sessions.idle().await;
        result
    };
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result,
        _ = async {
            let _ = drain_rx.await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
            Ok(())
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
