//! The request log: what arrived, and how each exchange ended.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How an exchange ended, as seen from the mock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The response (or its body) is still being produced.
    InProgress,
    /// The whole response was handed to the connection.
    Completed,
    /// The client went away before the body finished.
    Cancelled,
    /// The mock aborted the connection on purpose (`cut_after_events`).
    Cut,
}

impl Outcome {
    /// Snake-case name used by `GET /__mock/requests`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Cut => "cut",
        }
    }
}

/// One WebSocket message the mock received on a realtime session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsFrame {
    Text(String),
    Binary(Bytes),
    Ping(Bytes),
    Pong(Bytes),
    /// A close frame: its code and reason, if it had them.
    Close(Option<(u16, String)>),
}

impl WsFrame {
    /// The text, for a text frame.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The event's `type`, for a text frame holding a JSON event.
    pub fn event_type(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_str(self.text()?).ok()?;
        value.get("type")?.as_str().map(str::to_owned)
    }
}

/// One data-plane request exactly as it arrived.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// Raw path, not percent-decoded.
    pub path: String,
    /// Raw query string without `?`.
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// From the path (legacy routes) or the body `model` (v1 and OpenAI-style routes);
    /// on model inference routes the `azureml-model-deployment` header, the body `model`
    /// (`/info`: the `model` query), else the only configured deployment or `mock-model`.
    pub deployment: Option<String>,
    /// The TCP peer: requests from one pooled connection share it, so tests can see reuse.
    pub peer: Option<std::net::SocketAddr>,
    /// When the request (headers and body) had arrived, so tests can check spacing in time.
    pub at: std::time::Instant,
    /// Snapshot taken when the log was read.
    pub outcome: Outcome,
    /// A realtime session's messages from the client, in order (empty for HTTP requests).
    pub frames: Vec<WsFrame>,
}

impl RecordedRequest {
    /// The first value of header `name`, if it is valid visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Entries plus the sequence number of `entries[0]`, so exchanges still running
/// across a `clear()` cannot update somebody else's record.
#[derive(Default)]
struct Log {
    base: u64,
    entries: Vec<RecordedRequest>,
}

/// Shared request log; waiters are woken on every change.
#[derive(Default)]
pub(crate) struct Recorder {
    log: Mutex<Log>,
    changed: Notify,
}

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends a request and returns a tracker for its outcome.
    pub(crate) fn push(self: &Arc<Self>, request: RecordedRequest) -> Tracker {
        let seq = {
            let mut log = self.lock();
            log.entries.push(request);
            log.base + log.entries.len() as u64 - 1
        };
        self.changed.notify_waiters();
        Tracker(Some((Arc::clone(self), seq)))
    }

    fn finish(&self, seq: u64, outcome: Outcome) {
        {
            let mut log = self.lock();
            let Some(index) = seq.checked_sub(log.base) else {
                return;
            };
            match log.entries.get_mut(index as usize) {
                Some(entry) if entry.outcome == Outcome::InProgress => entry.outcome = outcome,
                _ => return,
            }
        }
        self.changed.notify_waiters();
    }

    fn frame(&self, seq: u64, frame: WsFrame) {
        {
            let mut log = self.lock();
            let Some(index) = seq.checked_sub(log.base) else {
                return;
            };
            match log.entries.get_mut(index as usize) {
                Some(entry) => entry.frames.push(frame),
                None => return,
            }
        }
        self.changed.notify_waiters();
    }

    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        self.lock().entries.clone()
    }

    pub(crate) fn clear(&self) {
        {
            let mut log = self.lock();
            log.base += log.entries.len() as u64;
            log.entries.clear();
        }
        self.changed.notify_waiters();
    }

    /// Re-evaluates `check` on every change until it yields or `timeout` passes.
    pub(crate) async fn wait_for<T>(
        &self,
        timeout: Duration,
        check: impl Fn(&[RecordedRequest]) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Register before checking so a change in between is not missed.
            notified.as_mut().enable();
            if let Some(found) = check(&self.lock().entries) {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

/// Handle for setting one exchange's outcome; a no-op when recording is off.
#[derive(Clone, Default)]
pub(crate) struct Tracker(Option<(Arc<Recorder>, u64)>);

impl Tracker {
    /// Sets the outcome unless one was already set: the first ending wins.
    pub(crate) fn finish(&self, outcome: Outcome) {
        if let Some((recorder, seq)) = &self.0 {
            recorder.finish(*seq, outcome);
        }
    }

    /// Appends a message received on the exchange's WebSocket.
    pub(crate) fn frame(&self, frame: WsFrame) {
        if let Some((recorder, seq)) = &self.0 {
            recorder.frame(*seq, frame);
        }
    }

    pub(crate) fn is_active(&self) -> bool {
        self.0.is_some()
    }
}

/// Marks the exchange `Cancelled` when dropped before anything else ended it,
/// e.g. when hyper drops the handler or the body because the client left.
pub(crate) struct CancelGuard(pub(crate) Tracker);

impl CancelGuard {
    pub(crate) fn finish(&self, outcome: Outcome) {
        self.0.finish(outcome);
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        self.0.finish(Outcome::Cancelled);
    }
}
