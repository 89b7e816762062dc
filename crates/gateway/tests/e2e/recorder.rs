//! A small upstream for tests that must see exactly what the gateway sent: it records every
//! request (method, path and query, headers, body length and SHA-256, the body itself when it is
//! small) and answers with what the test's function returns. Bytes received so far are counted
//! as they arrive, so a test can tell a streamed upload from a buffered one.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Bodies up to this size are kept whole.
const KEPT: usize = 1 << 20;

/// One request as the upstream received it.
#[derive(Debug)]
pub struct Seen {
    pub method: String,
    /// Path and query, as sent.
    pub uri: String,
    pub headers: HeaderMap,
    pub len: u64,
    pub sha256: String,
    /// The body when at most 1 MiB, else empty.
    pub body: Vec<u8>,
    /// The body ended cleanly (an aborted upload does not).
    pub complete: bool,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

type Reply = dyn Fn(&Seen) -> Response + Send + Sync;

#[derive(Clone)]
struct Shared {
    seen: Arc<Mutex<Vec<Arc<Seen>>>>,
    progress: Arc<AtomicU64>,
    reply: Arc<Reply>,
}

pub struct Recorder {
    pub url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A JSON answer.
pub fn json(status: u16, value: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        value.to_string(),
    )
        .into_response()
}

async fn record(State(shared): State<Shared>, req: Request<Body>) -> Response {
    let (parts, mut body) = req.into_parts();
    let mut hasher = Sha256::new();
    let mut kept = Vec::new();
    let mut len = 0u64;
    let mut complete = true;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            complete = false;
            break;
        };
        if let Some(data) = frame.data_ref() {
            hasher.update(data);
            len += data.len() as u64;
            shared
                .progress
                .fetch_add(data.len() as u64, Ordering::SeqCst);
            if kept.len() + data.len() <= KEPT {
                kept.extend_from_slice(data);
            }
        }
    }
    if len as usize > KEPT {
        kept.clear();
    }
    let seen = Arc::new(Seen {
        method: parts.method.to_string(),
        uri: parts
            .uri
            .path_and_query()
            .map(ToString::to_string)
            .unwrap_or_default(),
        headers: parts.headers,
        len,
        sha256: hex(&hasher.finalize()),
        body: kept,
        complete,
    });
    shared.seen.lock().unwrap().push(Arc::clone(&seen));
    (shared.reply)(&seen)
}

impl Recorder {
    /// Starts on 127.0.0.1, port 0.
    pub async fn start(reply: impl Fn(&Seen) -> Response + Send + Sync + 'static) -> Self {
        let shared = Shared {
            seen: Arc::default(),
            progress: Arc::default(),
            reply: Arc::new(reply),
        };
        let app = axum::Router::new()
            .fallback(record)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}"),
            shared,
            task,
        }
    }

    /// Every request so far, oldest first.
    pub fn seen(&self) -> Vec<Arc<Seen>> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn last(&self) -> Arc<Seen> {
        self.seen()
            .last()
            .cloned()
            .expect("the upstream saw no request")
    }

    pub fn count(&self) -> usize {
        self.shared.seen.lock().unwrap().len()
    }

    /// `METHOD uri` of every request so far.
    pub fn calls(&self) -> Vec<String> {
        self.seen()
            .iter()
            .map(|s| format!("{} {}", s.method, s.uri))
            .collect()
    }

    /// Body bytes received so far, counted as they arrive.
    pub fn progress(&self) -> u64 {
        self.shared.progress.load(Ordering::SeqCst)
    }
}
