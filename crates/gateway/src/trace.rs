//! Request ids and the request scope, outermost around the whole router.
//!
//! Every request gets an id: the client's `x-request-id` when it is a sane token, else a fresh
//! `gw-…` one. It is put in the request's extensions ([`RequestId`]) for the pipeline (which
//! sends it upstream and records it in the ledger), is in scope while the request's future runs
//! (so every log line it emits shows a `request{request_id=…}` span,
//! [`crate::telemetry::logs::scope`]), and goes back to the client on every response (errors, admin and
//! upgrades included). An upstream's own differing `x-request-id` moves to
//! `x-upstream-request-id`, so the client can quote either.
//!
//! Like the CORS gate, this wraps the router as one service rather than via `Router::layer`
//! (which wraps every route, bench/RESULTS.md).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower::Service;

use crate::telemetry::logs::scope::{self, Scoped};

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const X_UPSTREAM_REQUEST_ID: HeaderName = HeaderName::from_static("x-upstream-request-id");

/// The request's id, as found in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

/// The id of a request that went through [`Traced`]; computed from its headers otherwise (a
/// handler called directly, as unit tests do).
pub fn request_id_of(extensions: &http::Extensions, headers: &HeaderMap) -> HeaderValue {
    match extensions.get::<RequestId>() {
        Some(RequestId(id)) => id.clone(),
        None => request_id(headers),
    }
}

/// The client's `x-request-id` when it is a sane token, else a fresh one.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(X_REQUEST_ID)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.to_str().is_ok())
        .cloned()
        .unwrap_or_else(fresh_request_id)
}

/// `gw-` and 16 random hex digits, written without the formatting machinery (per request).
fn fresh_request_id() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = *b"gw-0000000000000000";
    let mut n = rand::random::<u64>();
    for byte in id[3..].iter_mut().rev() {
        *byte = HEX[(n & 0xf) as usize];
        n >>= 4;
    }
    HeaderValue::from_bytes(&id).unwrap_or(HeaderValue::from_static("gw-unknown"))
}

/// Puts `id` on a response, keeping an upstream's different id beside it.
fn tag(headers: &mut HeaderMap, id: HeaderValue) {
    if let Some(theirs) = headers.insert(X_REQUEST_ID, id.clone())
        && theirs != id
    {
        headers.insert(X_UPSTREAM_REQUEST_ID, theirs);
    }
}

/// The service that gives each request its id and scope.
#[derive(Clone)]
pub struct Traced<S> {
    inner: S,
}

impl<S> Traced<S> {
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Traced<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = TracedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let id = request_id(req.headers());
        req.extensions_mut().insert(RequestId(id.clone()));
        let future = scope::in_scope(&id, || self.inner.call(req));
        TracedFuture {
            future: Scoped::new(future, id.clone()),
            id: Some(id),
        }
    }
}

pin_project! {
    /// The inner response future, run in the request's scope.
    pub struct TracedFuture<F> {
        #[pin]
        future: Scoped<F>,
        id: Option<HeaderValue>,
    }
}

impl<F, B, E> Future for TracedFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut result = ready!(this.future.poll(cx));
        if let (Ok(response), Some(id)) = (&mut result, this.id.take()) {
            tag(response.headers_mut(), id);
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_are_hex_and_distinct() {
        let (a, b) = (fresh_request_id(), fresh_request_id());
        let text = a.to_str().unwrap();
        assert_eq!(text.len(), 19);
        assert!(text.starts_with("gw-"));
        assert!(text[3..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        let mut h = HeaderMap::new();
        h.insert(X_REQUEST_ID, HeaderValue::from_static("client-id-1"));
        assert_eq!(request_id(&h), "client-id-1");
        h.insert(X_REQUEST_ID, HeaderValue::from_static(""));
        assert_ne!(request_id(&h), "");
    }

    #[test]
    fn an_upstream_id_that_differs_is_kept_beside_ours() {
        let mut h = HeaderMap::new();
        h.insert(X_REQUEST_ID, HeaderValue::from_static("azure-123"));
        tag(&mut h, HeaderValue::from_static("gw-1"));
        assert_eq!(h[X_REQUEST_ID], "gw-1");
        assert_eq!(h[X_UPSTREAM_REQUEST_ID], "azure-123");
        let mut h = HeaderMap::new();
        h.insert(X_REQUEST_ID, HeaderValue::from_static("gw-1"));
        tag(&mut h, HeaderValue::from_static("gw-1"));
        assert!(!h.contains_key(X_UPSTREAM_REQUEST_ID));
    }
}
