//! The connector and the per-worker pools every upstream uses ([`super::pool`]), and
//! hyper-util's general client for the Entra ID token requests.
//!
//! Connections go over rustls (HTTP/2 by ALPN where the upstream offers it, HTTP/1.1
//! keep-alive otherwise). TCP_NODELAY is set on every upstream socket: without it a
//! small request body can sit behind Nagle's algorithm for a delayed-ACK interval (~40 ms).
//! The connect timeout wraps TCP *and* TLS, so it means what it says and nothing more — the
//! seed proxy's "connect" timeout really timed the response headers and re-sent slow requests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use http::uri::{Authority, Scheme};
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tower::Service;

use super::out_body::OutBody;
use super::pool::Pool;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The client type every upstream uses.
pub type HttpClient = Client<TimeoutConnector, OutBody>;

/// Raised when TCP connect plus TLS handshake exceed the configured limit.
#[derive(Debug, thiserror::Error)]
#[error("connect timed out after {0:?}")]
pub struct ConnectTimeout(pub Duration);

/// Wraps the HTTPS connector so the whole connection setup is bounded.
#[derive(Clone, Debug)]
pub struct TimeoutConnector {
    inner: HttpsConnector<HttpConnector>,
    timeout: Duration,
}

impl Service<Uri> for TimeoutConnector {
    type Response = MaybeHttpsStream<TokioIo<TcpStream>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let timeout = self.timeout;
        let connecting = self.inner.call(uri);
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(result) => result,
                Err(_) => Err(Box::new(ConnectTimeout(timeout)) as BoxError),
            }
        })
    }
}

/// Pool and timeout settings for one client.
#[derive(Debug, Clone, Copy)]
pub struct ClientSettings {
    pub connect_timeout: Duration,
    pub pool_idle_timeout: Duration,
    pub pool_max_idle_per_host: usize,
}

/// The trust roots: the platform's store (honours `SSL_CERT_FILE`) plus Mozilla's roots, so
/// both corporate CAs and slim containers without a CA bundle work.
fn root_store() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // A malformed platform certificate is skipped rather than failing startup.
        let _ = roots.add(cert);
    }
    roots
}

/// The TLS configuration shared by all upstream clients.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(root_store())
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// One pool per worker thread (see [`crate::worker`]): a request uses its own thread's
/// connections, so no upstream I/O is handed between threads.
#[derive(Clone, Debug)]
pub struct WorkerClients(Box<[Pool]>);

impl WorkerClients {
    /// Pools for the upstream at `scheme://authority`.
    pub fn build(
        settings: ClientSettings,
        tls: &Arc<rustls::ClientConfig>,
        scheme: &Scheme,
        authority: &Authority,
    ) -> Self {
        let n = crate::worker::count();
        Self(
            (0..n)
                .map(|_| {
                    Pool::new(
                        scheme.clone(),
                        authority.clone(),
                        connector(settings, Arc::clone(tls)),
                        settings,
                    )
                })
                .collect(),
        )
    }

    /// The current worker's pool.
    pub fn get(&self) -> &Pool {
        let i = crate::worker::index();
        // `len` is at least 1: `worker::count` never returns 0.
        &self.0[i % self.0.len().max(1)]
    }
}

/// TCP (with TCP_NODELAY and keep-alive probes), then TLS for `https` with ALPN offering
/// HTTP/2 and HTTP/1.1, all within the connect timeout.
fn connector(settings: ClientSettings, tls: Arc<rustls::ClientConfig>) -> TimeoutConnector {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_keepalive(Some(Duration::from_secs(60)));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*tls).clone())
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    TimeoutConnector {
        inner: https,
        timeout: settings.connect_timeout,
    }
}

/// hyper-util's pooled client over the same connector, for the Entra ID token requests (rare,
/// to several hosts).
pub fn build(settings: ClientSettings, tls: Arc<rustls::ClientConfig>) -> HttpClient {
    Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(settings.pool_idle_timeout)
        .pool_max_idle_per_host(settings.pool_max_idle_per_host)
        .build(connector(settings, tls))
}

/// Whether a client error (or anything it wraps) is our connect timeout.
pub fn is_connect_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if e.is::<ConnectTimeout>() {
            return true;
        }
        current = e.source();
    }
    false
}
