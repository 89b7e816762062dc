//! `GET /metrics`: on the main router, or alone on its own listener (`server.metrics.port`).
//!
//! Where it is served is fixed at start; who may read it is read from the request's runtime
//! snapshot, so a reload changes the auth mode or the token without a restart. The default
//! mode follows where the endpoint *is* served (`admin` on the main port, `none` on its own
//! port), not the reloaded config's `port`: a reload that adds a port (which needs a restart
//! to take effect) must not open the main port's `/metrics` to everyone.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

use crate::admin;
use crate::config::{MetricsAuth, MetricsConfig};
use crate::error::GatewayError;
use crate::server;
use crate::state::AppState;

/// Where `/metrics` is served, which decides its default auth mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// On the main port, beside the API: default `admin`.
    MainPort,
    /// On `server.metrics.port`, alone: default `none` (meant for an internal network).
    OwnPort,
}

/// The auth mode in force for `cfg` at `placement`.
pub fn auth_mode(cfg: &MetricsConfig, placement: Placement) -> MetricsAuth {
    cfg.auth.unwrap_or(match placement {
        Placement::MainPort => MetricsAuth::Admin,
        Placement::OwnPort => MetricsAuth::None,
    })
}

/// The `/metrics` route for the main router: present when metrics are enabled and have no
/// port of their own (as configured at start).
pub fn main_port_routes(app: &AppState) -> Router<Arc<AppState>> {
    let rt = app.runtime.load();
    let m = &rt.config.server.metrics;
    let router = Router::new();
    if m.enabled && m.port.is_none() {
        router.route(
            "/metrics",
            get(|State(app), headers| scrape(app, headers, Placement::MainPort)),
        )
    } else {
        router
    }
}

/// The separate listener's whole router: `/metrics`, and OpenAI-shaped 404/405 elsewhere.
pub fn own_port_router(app: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(app), headers| scrape(app, headers, Placement::OwnPort)),
        )
        .fallback(server::not_found)
        .method_not_allowed_fallback(server::method_not_allowed)
        .with_state(app)
}

/// Serves [`own_port_router`] on `listener` until `shutdown` resolves. Scrapes are short, so
/// the caller bounds the drain instead of a grace period here.
pub async fn serve(
    listener: TcpListener,
    app: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(listener, own_port_router(app))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn scrape(app: Arc<AppState>, headers: HeaderMap, placement: Placement) -> Response {
    let rt = app.runtime.load();
    let cfg = &rt.config.server.metrics;
    let allowed = match auth_mode(cfg, placement) {
        MetricsAuth::None => Ok(()),
        MetricsAuth::Admin => admin::auth::check(rt.admin.as_ref(), &headers),
        MetricsAuth::Bearer => check_bearer(cfg.bearer_token.as_deref(), &headers),
    };
    if let Err(e) = allowed {
        return e.into_response();
    }
    let telemetry = &app.telemetry;
    let body = telemetry.metrics.render(&rt.models, &telemetry.ledger);
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(super::CONTENT_TYPE),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `Authorization: Bearer {token}`. Both sides are hashed before the constant-time compare, so
/// neither the token's content nor its length leaks through timing. No token configured (the
/// validator refuses that config, but a library user could build one) refuses everyone.
fn check_bearer(expected: Option<&str>, headers: &HeaderMap) -> Result<(), GatewayError> {
    let expected = expected
        .filter(|t| !t.trim().is_empty())
        .ok_or(GatewayError::MetricsUnauthorized)?;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or(GatewayError::MetricsUnauthorized)?;
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    if bool::from(a.as_slice().ct_eq(b.as_slice())) {
        Ok(())
    } else {
        Err(GatewayError::MetricsUnauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn bearer_needs_the_exact_token() {
        let token = Some("scrape-token-1");
        assert!(check_bearer(token, &bearer("Bearer scrape-token-1")).is_ok());
        assert!(check_bearer(token, &bearer("bearer scrape-token-1")).is_ok());
        assert!(check_bearer(token, &bearer("Bearer scrape-token-2")).is_err());
        assert!(check_bearer(token, &bearer("Bearer scrape-token-1x")).is_err());
        assert!(check_bearer(token, &bearer("Basic c2NyYXBlOng=")).is_err());
        assert!(check_bearer(token, &HeaderMap::new()).is_err());
        // No token configured: nobody gets in, not even with an empty one.
        assert!(check_bearer(None, &bearer("Bearer ")).is_err());
        assert!(check_bearer(Some(""), &bearer("Bearer ")).is_err());
    }

    #[test]
    fn the_default_mode_follows_where_metrics_are_served() {
        let mut cfg = MetricsConfig::default();
        assert_eq!(auth_mode(&cfg, Placement::MainPort), MetricsAuth::Admin);
        assert_eq!(auth_mode(&cfg, Placement::OwnPort), MetricsAuth::None);
        // A reloaded config that names a port does not open the main port.
        cfg.port = Some(9100);
        assert_eq!(auth_mode(&cfg, Placement::MainPort), MetricsAuth::Admin);
        cfg.auth = Some(MetricsAuth::Bearer);
        assert_eq!(auth_mode(&cfg, Placement::OwnPort), MetricsAuth::Bearer);
    }
}
