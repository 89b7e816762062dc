//! CORS for browser clients (chat UIs served from another origin).
//!
//! The allowed origins are read from the request's runtime snapshot, so a config reload changes
//! them without a restart. Preflights are answered before routing; an origin that is not
//! allowed (and any origin on the admin API) simply gets no `access-control-allow-origin`, which
//! is how browsers are told no. The key travels in `Authorization`/`api-key` headers, never in cookies, so credentialed
//! CORS is not needed.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer, ExposeHeaders};

use crate::state::AppState;

/// How long a browser may cache a preflight answer.
const MAX_AGE: Duration = Duration::from_secs(600);

/// Response headers a browser script may read: throttling and correlation.
const EXPOSED: [HeaderName; 9] = [
    HeaderName::from_static("retry-after"),
    HeaderName::from_static("retry-after-ms"),
    HeaderName::from_static("x-request-id"),
    HeaderName::from_static("apim-request-id"),
    HeaderName::from_static("x-ratelimit-remaining-requests"),
    HeaderName::from_static("x-ratelimit-remaining-tokens"),
    HeaderName::from_static("x-ratelimit-limit-tokens"),
    HeaderName::from_static("x-ratelimit-reset-tokens"),
    HeaderName::from_static("x-ms-region"),
];

/// The layer for the API routes.
pub fn layer(app: Arc<AppState>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(
            move |origin: &HeaderValue, parts: &http::request::Parts| {
                let path = parts.uri.path();
                if path.starts_with("/admin") || path == "/healthz" {
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
