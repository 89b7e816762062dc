//! The Realtime API over WebSocket (WIRE-FACTS A3), on the three faces that serve it:
//!
//! - legacy `GET /openai/realtime?api-version=…&deployment=…` (`api-version` required);
//! - v1 `GET /openai/v1/realtime?model=…`;
//! - engine `GET /v1/realtime?model=…`, an OpenAI-compatible server.
//!
//! The handshake is checked like any data-plane request (record, auth, api-version,
//! deployment, behaviour) before the upgrade is answered, so a behaviour's status (e.g.
//! `x-mock-status: 429`) refuses the handshake with Azure's own error answer. The key may be the
//! `api-key` or Bearer header, Azure's `api-key` query parameter, or OpenAI's
//! `openai-insecure-api-key.<key>` subprotocol; an Entra-only mock takes only the Bearer
//! header. The 101 echoes `realtime` when offered. The
//! session itself is [`session`].

mod events;
mod session;

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Method};

use crate::handler::{V1_VERSIONS, behave, decorate};
use crate::record::{Outcome, RecordedRequest, Tracker};
use crate::route::{Face, Op, query_param};
use crate::state::Shared;
use crate::{auth, errors};

/// The subprotocol OpenAI's browser clients carry their key in.
const KEY_PROTOCOL: &str = "openai-insecure-api-key.";

/// `…/realtime` on `face`; any method reaches here, so a wrong one gets Azure's 404.
pub(crate) async fn handshake(
    State(shared): State<Arc<Shared>>,
    face: Face,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    parts: Parts,
) -> Response {
    let tracker = record(&shared, face, &parts);
    let mut response = answer(&shared, face, ws, &parts, tracker.clone()).await;
    if !response.status().is_informational() {
        // Refused: the exchange is over.
        tracker.finish(Outcome::Completed);
    }
    let success = response.status().is_informational();
    decorate(response.headers_mut(), &parts.headers, success);
    response
}

/// The deployment the handshake names: `deployment` on the legacy face, else `model`.
fn deployment(face: Face, query: Option<&str>) -> Option<&str> {
    let name = match face {
        Face::Legacy => query_param(query, "deployment"),
        _ => query_param(query, "model"),
    };
    name.filter(|n| !n.is_empty())
}

fn record(shared: &Arc<Shared>, face: Face, parts: &Parts) -> Tracker {
    if !shared.record {
        return Tracker::default();
    }
    shared.recorder.push(RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers.clone(),
        body: Bytes::new(),
        deployment: deployment(face, parts.uri.query()).map(str::to_owned),
        peer: parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0),
        at: std::time::Instant::now(),
        outcome: Outcome::InProgress,
        frames: Vec::new(),
    })
}

/// Every `Sec-WebSocket-Protocol` entry offered.
fn offered(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// A key in the `api-key` query parameter or the key subprotocol.
fn key_elsewhere(parts: &Parts) -> Option<&str> {
    query_param(parts.uri.query(), "api-key")
        .or_else(|| offered(&parts.headers).find_map(|p| p.strip_prefix(KEY_PROTOCOL)))
}

/// With keys: a header key, else the `api-key` query parameter, else the key subprotocol.
/// Entra-only: a key anywhere is refused as disabled, else the Bearer header is checked
/// like any data-plane request's. `Some` is the refusal.
fn gate(shared: &Shared, parts: &Parts) -> Option<Response> {
    if shared.entra.is_some() {
        if key_elsewhere(parts).is_some() {
            return Some(errors::key_auth_disabled());
        }
        return auth::gate(shared, &parts.headers);
    }
    if auth::authorized(shared.key.as_deref(), &parts.headers) {
        return None;
    }
    let accepted = match key_elsewhere(parts) {
        Some(key) if !key.is_empty() => shared.key.as_deref().is_none_or(|want| want == key),
        _ => false,
    };
    (!accepted).then(errors::unauthorized)
}

async fn answer(
    shared: &Arc<Shared>,
    face: Face,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    parts: &Parts,
    tracker: Tracker,
) -> Response {
    if parts.method != Method::GET {
        return errors::resource_not_found();
    }
    if let Some(refusal) = gate(shared, parts) {
        return refusal;
    }
    let api_version = query_param(parts.uri.query(), "api-version").filter(|v| !v.is_empty());
    match (face, api_version) {
        (Face::Legacy, None) => return errors::resource_not_found(),
        (Face::V1, Some(v)) if !V1_VERSIONS.contains(&v) => {
            return errors::bad_request("API version not supported");
        }
        _ => {}
    }
    let Some(deployment) = deployment(face, parts.uri.query()) else {
        let name = if face == Face::Legacy {
            "deployment"
        } else {
            "model"
        };
        return errors::bad_request(&format!("Missing required query parameter: {name}"));
    };
    if !shared.has_deployment(deployment) {
        return errors::deployment_not_found();
    }
    let behavior = match behave(shared, deployment, &parts.headers).await {
        Ok(behavior) => behavior,
        Err(refusal) => return refusal,
    };
    let version = api_version.unwrap_or("v1");
    if let Some(error) = errors::forced(&behavior, Op::Realtime.operation_id(), version) {
        return error;
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(_) => return errors::bad_request("Expected a WebSocket upgrade request."),
    };
    let beta = parts
        .headers
        .get("openai-beta")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("realtime=v1"));
    let failed = tracker.clone();
    let session = session::Session::new(deployment.to_owned(), behavior, beta, tracker);
    ws.protocols(["realtime"])
        .on_failed_upgrade(move |_| failed.finish(Outcome::Cancelled))
        .on_upgrade(move |socket| session.run(socket))
}
