//! [`MockServer`]: runs the mock on a TCP listener and exposes its log and knobs.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{Behavior, MockConfig};
use crate::record::{Outcome, RecordedRequest};
use crate::route::Face;
use crate::state::Shared;
use crate::{admin, handler, realtime};

/// A running mock. Dropping it (or [`shutdown`](Self::shutdown)) stops accepting,
/// closes idle keep-alive connections and lets in-flight answers finish.
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl MockServer {
    /// Starts on `127.0.0.1` with an ephemeral port.
    pub async fn start(config: MockConfig) -> std::io::Result<MockServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        Self::start_on(listener, config).await
    }

    /// Starts on a listener the caller bound (fixed port, other host).
    pub async fn start_on(
        listener: TcpListener,
        config: MockConfig,
    ) -> std::io::Result<MockServer> {
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let app = router(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        // Benchmarks measure latency: never let Nagle hold back a small SSE event.
        let listener = listener.tap_io(|socket| {
            let _ = socket.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let signal = async move {
                let _ = stopped.await;
            };
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(signal)
                .await;
        });
        Ok(MockServer {
            addr,
            shared,
            stop: Some(stop),
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything recorded since start or the last [`clear`](Self::clear).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorder.snapshot()
    }

    pub fn clear(&self) {
        self.shared.recorder.clear();
    }

    /// Replaces `deployment`'s default behaviour for subsequent requests.
    pub fn set_behavior(&self, deployment: &str, b: Behavior) {
        self.shared.set_behavior(deployment, b);
    }

    /// Waits until at least `n` requests are recorded, or `timeout` passes;
    /// returns the log either way.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        let recorder = &self.shared.recorder;
        let found = recorder
            .wait_for(timeout, |log| (log.len() >= n).then(|| log.to_vec()))
            .await;
        found.unwrap_or_else(|| recorder.snapshot())
    }

    /// Waits until `check` finds what it looks for in the log (re-checked on every change:
    /// a new request, an outcome, a realtime frame), or `timeout` passes.
    pub async fn wait_for<T>(
        &self,
        timeout: Duration,
        check: impl Fn(&[RecordedRequest]) -> Option<T>,
    ) -> Option<T> {
        self.shared.recorder.wait_for(timeout, check).await
    }

    /// Waits until request `index` has ended; `InProgress` if it did not
    /// (or was never recorded) within `timeout`.
    pub async fn wait_for_outcome(&self, index: usize, timeout: Duration) -> Outcome {
        let ended = |log: &[RecordedRequest]| {
            log.get(index)
                .map(|r| r.outcome)
                .filter(|o| *o != Outcome::InProgress)
        };
        self.shared
            .recorder
            .wait_for(timeout, ended)
            .await
            .unwrap_or(Outcome::InProgress)
    }

    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Drops the listener now; connection tasks wind down on the signal.
        self.task.abort();
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let realtime =
        |face: Face| any(move |state, ws, parts| realtime::handshake(state, face, ws, parts));
    Router::new()
        .route("/__mock/requests", get(admin::list).delete(admin::clear))
        .route("/__mock/health", get(admin::health))
        .route("/openai/realtime", realtime(Face::Legacy))
        .route("/openai/v1/realtime", realtime(Face::V1))
        .route("/v1/realtime", realtime(Face::Engine))
        .fallback(handler::data_plane)
        .with_state(shared)
}
