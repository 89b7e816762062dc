//! The upstream connection pool: one per upstream and worker thread, so every connection in it
//! goes to the same origin and is used from one thread.
//!
//! It replaces hyper-util's general-purpose pool, which hashed its `(scheme, authority)` key
//! with SipHash byte by byte twice per request, set connection info into every response's
//! extensions and ran a checkout future: together about 3% of the gateway's instructions per
//! request (bench/RESULTS.md), for a pool that only ever holds one key here.
//!
//! - HTTP/1.1: idle connections are kept newest first, so a quiet period lets the oldest ones
//!   reach the idle timeout and close. A connection goes back to the pool as soon as hyper says
//!   it is ready for another request: at once when the answer's body already arrived with its
//!   head, otherwise from a small task that waits for the body to be read.
//! - HTTP/2 (negotiated by ALPN over TLS): one shared connection carries every request.
//! - A request that hyper hands back unsent because a reused connection closed under it (the
//!   upstream timed out the idle connection) is sent again on another; nothing sent is resent.
//! - A reaper task closes connections idle longer than the idle timeout.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use http::uri::{Authority, Scheme};
use http::{Request, Response, Uri};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::client::legacy::connect::Connection as _;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::time::Instant;
use tower::{Service, ServiceExt as _};

use super::client::{ClientSettings, TimeoutConnector};
use super::out_body::OutBody;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a request got no response head.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// TCP connect or TLS handshake failed (or timed out: see [`super::client::ConnectTimeout`]).
    #[error("connect error")]
    Connect(#[source] BoxError),
    /// The HTTP handshake on a new connection failed.
    #[error("handshake error")]
    Handshake(#[source] hyper::Error),
    /// Sending the request or reading the response head failed.
    #[error("request error")]
    Send(#[source] hyper::Error),
    /// The request names another origin than this pool's (a gateway bug, refused rather than
    /// sent over a connection to the wrong host).
    #[error("request for {0} on the pool for another origin")]
    WrongOrigin(String),
}

/// An idle HTTP/1.1 connection.
struct Idle {
    tx: http1::SendRequest<OutBody>,
    since: Instant,
}

struct State {
    /// Oldest first; taken from the back.
    idle: VecDeque<Idle>,
    h2: Option<http2::SendRequest<OutBody>>,
    reaper: bool,
}

struct Inner {
    scheme: Scheme,
    authority: Authority,
    connector: TimeoutConnector,
    idle_timeout: Duration,
    max_idle: usize,
    state: Mutex<State>,
}

/// The connections of one upstream on one worker.
#[derive(Clone)]
pub struct Pool(Arc<Inner>);

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field(
                "origin",
                &format_args!("{}://{}", self.0.scheme, self.0.authority),
            )
            .finish_non_exhaustive()
    }
}

/// A connection taken from the pool or just made.
enum Conn {
    H1 {
        tx: http1::SendRequest<OutBody>,
        reused: bool,
    },
    H2 {
        tx: http2::SendRequest<OutBody>,
        reused: bool,
    },
}

impl Pool {
    pub fn new(
        scheme: Scheme,
        authority: Authority,
        connector: TimeoutConnector,
        settings: ClientSettings,
    ) -> Self {
        Self(Arc::new(Inner {
            scheme,
            authority,
            connector,
            idle_timeout: settings.pool_idle_timeout,
            max_idle: settings.pool_max_idle_per_host,
            state: Mutex::new(State {
                idle: VecDeque::new(),
                h2: None,
                reaper: false,
            }),
        }))
    }

    /// Sends `req` (an absolute URI on this pool's origin) and returns the response head; the
    /// body streams from the connection as it is read.
    pub async fn request(
        &self,
        mut req: Request<OutBody>,
    ) -> Result<Response<Incoming>, ClientError> {
        let inner = &*self.0;
        if req.uri().scheme() != Some(&inner.scheme)
            || req.uri().authority() != Some(&inner.authority)
        {
            return Err(ClientError::WrongOrigin(req.uri().to_string()));
        }
        let absolute = req.uri().clone();
        loop {
            let conn = match inner.checkout() {
                Some(conn) => conn,
                // Boxed: the handshakes' futures are kilobytes, and kept inline they would
                // make every request's future that large, copied each time it moves.
                None => Box::pin(inner.connect()).await?,
            };
            match conn {
                Conn::H2 { mut tx, reused } => {
                    *req.uri_mut() = absolute.clone();
                    return match tx.try_send_request(req).await {
                        Ok(resp) => Ok(resp),
                        Err(mut e) => match e.take_message() {
                            // The shared connection closed before taking it: another
                            // (`checkout` forgets a closed one).
                            Some(back) if reused && tx.is_closed() => {
                                req = back;
                                continue;
                            }
                            _ => Err(ClientError::Send(e.into_error())),
                        },
                    };
                }
                Conn::H1 { mut tx, reused } => {
                    *req.uri_mut() = origin_form(&absolute);
                    match tx.try_send_request(req).await {
                        Ok(resp) => {
                            self.release(tx);
                            return Ok(resp);
                        }
                        Err(mut e) => match e.take_message() {
                            // Never written: the reused connection had closed under it.
                            Some(back) if reused => req = back,
                            _ => return Err(ClientError::Send(e.into_error())),
                        },
                    }
                }
            }
        }
    }

    /// Gives an HTTP/1.1 connection back once it can take another request: now, when the
    /// answer's body already arrived; else after it has been read.
    fn release(&self, mut tx: http1::SendRequest<OutBody>) {
        if tx.is_ready() {
            self.0.checkin(tx);
            return;
        }
        if tx.is_closed() {
            return;
        }
        let pool = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            if tx.ready().await.is_ok()
                && let Some(inner) = pool.upgrade()
            {
                inner.checkin(tx);
            }
        });
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The shared HTTP/2 connection, else the newest idle HTTP/1.1 one still open and in time.
    fn checkout(&self) -> Option<Conn> {
        let mut state = self.lock();
        if let Some(h2) = &state.h2 {
            if !h2.is_closed() {
                return Some(Conn::H2 {
                    tx: h2.clone(),
                    reused: true,
                });
            }
            state.h2 = None;
        }
        let now = Instant::now();
        while let Some(idle) = state.idle.pop_back() {
            // Closed (or closing) under us: the upstream ended it.
            if idle.tx.is_closed() || !idle.tx.is_ready() {
                continue;
            }
            if now.saturating_duration_since(idle.since) >= self.idle_timeout {
                // The ones behind it waited longer still.
                state.idle.clear();
                return None;
            }
            return Some(Conn::H1 {
                tx: idle.tx,
                reused: true,
            });
        }
        None
    }

    fn checkin(self: &Arc<Self>, tx: http1::SendRequest<OutBody>) {
        let mut state = self.lock();
        if state.idle.len() >= self.max_idle || tx.is_closed() {
            return;
        }
        state.idle.push_back(Idle {
            tx,
            since: Instant::now(),
        });
        if !state.reaper {
            state.reaper = true;
            drop(state);
            tokio::spawn(reap(Arc::downgrade(self)));
        }
    }

    /// A new connection: TCP (and TLS, with ALPN choosing HTTP/2 or HTTP/1.1), then hyper's
    /// handshake; the connection itself runs as its own task.
    async fn connect(&self) -> Result<Conn, ClientError> {
        let origin = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| ClientError::Connect(Box::new(e)))?;
        let mut connector = self.connector.clone();
        let io = connector
            .ready()
            .await
            .map_err(ClientError::Connect)?
            .call(origin)
            .await
            .map_err(ClientError::Connect)?;
        if io.connected().is_negotiated_h2() {
            let (tx, conn) = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .handshake(io)
                .await
                .map_err(ClientError::Handshake)?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "upstream HTTP/2 connection ended");
                }
            });
            self.lock().h2 = Some(tx.clone());
            return Ok(Conn::H2 { tx, reused: false });
        }
        let (tx, conn) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(ClientError::Handshake)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "upstream connection ended");
            }
        });
        Ok(Conn::H1 { tx, reused: false })
    }
}

/// Closes idle connections past the idle timeout, until the pool is gone (a config reload
/// replaced its upstream).
async fn reap(pool: Weak<Inner>) {
    loop {
        let every = match pool.upgrade() {
            Some(inner) => (inner.idle_timeout / 2).max(Duration::from_millis(100)),
            None => return,
        };
        tokio::time::sleep(every).await;
        let Some(inner) = pool.upgrade() else {
            return;
        };
        let expired: Vec<Idle> = {
            let mut state = inner.lock();
            let now = Instant::now();
            let keep = state
                .idle
                .iter()
                .position(|i| {
                    now.saturating_duration_since(i.since) < inner.idle_timeout && !i.tx.is_closed()
                })
                .unwrap_or(state.idle.len());
            state.idle.drain(..keep).collect()
        };
        // Dropping a sender ends its connection; done outside the lock.
        drop(expired);
    }
}

/// `/path?query` for an HTTP/1.1 request line.
fn origin_form(uri: &Uri) -> Uri {
    match uri.path_and_query() {
        Some(pq) if pq.as_str() != "/" => {
            let mut parts = http::uri::Parts::default();
            parts.path_and_query = Some(pq.clone());
            Uri::from_parts(parts).unwrap_or_default()
        }
        _ => Uri::default(),
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
