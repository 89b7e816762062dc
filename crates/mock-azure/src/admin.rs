//! `/__mock/*`: the request log and a health check over HTTP, for the binary.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Serialize;

use crate::errors;
use crate::record::{RecordedRequest, WsFrame};
use crate::state::Shared;

/// One record as JSON; headers become an object (repeated names joined by ", ")
/// and the body a lossy UTF-8 string.
#[derive(Serialize)]
struct RecordView<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    headers: BTreeMap<&'a str, String>,
    body: String,
    deployment: Option<&'a str>,
    peer: Option<String>,
    outcome: &'static str,
    /// A realtime session's client messages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    frames: Vec<FrameView>,
}

/// One realtime message as JSON: `{"text": …}`, `{"binary": <bytes, lossy UTF-8>}`,
/// `{"ping": …}`, `{"pong": …}` or `{"close": {"code", "reason"} | null}`.
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum FrameView {
    Text(String),
    Binary(String),
    Ping(String),
    Pong(String),
    Close(Option<CloseView>),
}

#[derive(Serialize)]
struct CloseView {
    code: u16,
    reason: String,
}

impl From<&WsFrame> for FrameView {
    fn from(f: &WsFrame) -> Self {
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match f {
            WsFrame::Text(t) => Self::Text(t.clone()),
            WsFrame::Binary(b) => Self::Binary(lossy(b)),
            WsFrame::Ping(b) => Self::Ping(lossy(b)),
            WsFrame::Pong(b) => Self::Pong(lossy(b)),
            WsFrame::Close(c) => Self::Close(c.as_ref().map(|(code, reason)| CloseView {
                code: *code,
                reason: reason.clone(),
            })),
        }
    }
}

impl<'a> From<&'a RecordedRequest> for RecordView<'a> {
    fn from(r: &'a RecordedRequest) -> Self {
        let mut headers: BTreeMap<&str, String> = BTreeMap::new();
        for (name, value) in &r.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            headers
                .entry(name.as_str())
                .and_modify(|joined| {
                    joined.push_str(", ");
                    joined.push_str(&value);
                })
                .or_insert_with(|| value.into_owned());
        }
        Self {
            method: &r.method,
            path: &r.path,
            query: r.query.as_deref(),
            headers,
            body: String::from_utf8_lossy(&r.body).into_owned(),
            deployment: r.deployment.as_deref(),
            peer: r.peer.map(|p| p.to_string()),
            outcome: r.outcome.as_str(),
            frames: r.frames.iter().map(FrameView::from).collect(),
        }
    }
}

/// `GET /__mock/requests`
pub(crate) async fn list(State(shared): State<Arc<Shared>>) -> Response {
    let records = shared.recorder.snapshot();
    let views: Vec<RecordView<'_>> = records.iter().map(RecordView::from).collect();
    match serde_json::to_vec(&views) {
        Ok(json) => errors::json(StatusCode::OK, json),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `DELETE /__mock/requests`
pub(crate) async fn clear(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.recorder.clear();
    StatusCode::NO_CONTENT
}

/// `GET /__mock/health`
pub(crate) async fn health() -> &'static str {
    "ok"
}
