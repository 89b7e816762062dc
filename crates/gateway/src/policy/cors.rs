//! CORS for browser clients (chat UIs served from another origin).
//!
//! The gate wraps the whole router as one service ([`crate::server::service`]); attaching the
//! layer with `Router::layer` wrapped every route and cost about 30 KiB of resident memory per
//! open stream (bench/RESULTS.md). Only requests that carry an `Origin` header (browsers) go
//! through tower-http's CORS service; SDKs and servers, which never send one, go straight to
//! the router.
//!
//! The allowed origins are read from the request's runtime snapshot, so a config reload changes
//! them without a restart. Preflights are answered before routing; an origin that is not
//! allowed (and any origin on the admin API, `/healthz` or `/metrics`) simply gets no
//! `access-control-allow-origin`, which is how browsers are told no. The key travels in `Authorization`/`api-key` headers, never in cookies, so credentialed
//! CORS is not needed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, Request, Response, header};
use pin_project_lite::pin_project;
use tower::util::Oneshot;
use tower::{Layer, Service, ServiceExt};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer, ExposeHeaders};

use crate::state::AppState;

/// How long a browser may cache a preflight answer.
const MAX_AGE: Duration = Duration::from_secs(600);

/// Response headers a browser script may read: throttling and correlation.
const EXPOSED: [HeaderName; 10] = [
    HeaderName::from_static("retry-after"),
    HeaderName::from_static("retry-after-ms"),
    HeaderName::from_static("x-request-id"),
    HeaderName::from_static("x-upstream-request-id"),
    HeaderName::from_static("apim-request-id"),
    HeaderName::from_static("x-ratelimit-remaining-requests"),
    HeaderName::from_static("x-ratelimit-remaining-tokens"),
    HeaderName::from_static("x-ratelimit-limit-tokens"),
    HeaderName::from_static("x-ratelimit-reset-tokens"),
    HeaderName::from_static("x-ms-region"),
];

/// tower-http's CORS layer with the gateway's rules.
fn browser_layer(app: Arc<AppState>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(
            move |origin: &HeaderValue, parts: &http::request::Parts| {
                let path = parts.uri.path();
                if path.starts_with("/admin") || path == "/healthz" || path == "/metrics" {
                    return false;
                }
                let rt = app.runtime.load();
                rt.config
                    .server
                    .cors
                    .as_ref()
                    .is_some_and(|c| c.allows(origin.as_bytes()))
            },
        ))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(ExposeHeaders::list(EXPOSED))
        .max_age(MAX_AGE)
}

/// Wraps the router: browser requests get CORS handling, the rest pass straight through.
#[derive(Clone)]
pub struct Cors {
    browser: Arc<CorsLayer>,
}

/// The layer for the whole router.
pub fn layer(app: Arc<AppState>) -> Cors {
    Cors {
        browser: Arc::new(browser_layer(app)),
    }
}

impl<S: Clone> Layer<S> for Cors {
    type Service = OriginGate<S>;

    fn layer(&self, inner: S) -> OriginGate<S> {
        OriginGate {
            inner,
            browser: Arc::clone(&self.browser),
        }
    }
}

/// Sends requests with an `Origin` through a CORS service and the rest to `inner`.
///
/// axum clones the service for every request, so the gate holds only `inner` and an `Arc`:
/// the CORS service (whose clone allocates) is built for browser requests alone.
#[derive(Clone)]
pub struct OriginGate<S> {
    inner: S,
    browser: Arc<CorsLayer>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for OriginGate<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = GateFuture<S::Future, Oneshot<tower_http::cors::Cors<S>, Request<ReqBody>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if req.headers().contains_key(header::ORIGIN) {
            GateFuture::Browser {
                future: self.browser.layer(self.inner.clone()).oneshot(req),
            }
        } else {
            GateFuture::Plain {
                future: self.inner.call(req),
            }
        }
    }
}

pin_project! {
    /// Either path's response future.
    #[project = GateProj]
    pub enum GateFuture<P, B> {
        Plain { #[pin] future: P },
        Browser { #[pin] future: B },
    }
}

impl<P, B, T> Future for GateFuture<P, B>
where
    P: Future<Output = T>,
    B: Future<Output = T>,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.project() {
            GateProj::Plain { future } => future.poll(cx),
            GateProj::Browser { future } => future.poll(cx),
        }
    }
}
