//! The data-plane pipeline: record, route, authenticate, validate, then answer
//! the way the deployment's behaviour (and any `x-mock-*` header) says. The model
//! inference face validates in [`inference`] and comes back here for its answer.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;

use crate::config::{Behavior, DEFAULT_CONTENT_EVENTS};
use crate::fragments::{CHAT_MODEL, EMBEDDINGS_MODEL};
use crate::record::{CancelGuard, Outcome, RecordedRequest, Tracker};
use crate::route::{self, Face, Op, Route};
use crate::state::Shared;
use crate::{
    auth, body, chat, completions, control, embeddings, errors, ids, images, inference, responses,
};

/// Request bodies above this are refused; far beyond any real prompt.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// `api-version` values the v1 face tolerates.
pub(crate) const V1_VERSIONS: [&str; 3] = ["v1", "preview", "latest"];

const APIM_REQUEST_ID: HeaderName = HeaderName::from_static("apim-request-id");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_MS_REGION: HeaderName = HeaderName::from_static("x-ms-region");
const REMAINING_REQUESTS: HeaderName = HeaderName::from_static("x-ratelimit-remaining-requests");
const REMAINING_TOKENS: HeaderName = HeaderName::from_static("x-ratelimit-remaining-tokens");
const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream; charset=utf-8");

/// The body fields the pipeline needs; parsing into it also validates the JSON
/// without building a `Value` tree for large prompts.
#[derive(Deserialize)]
pub(crate) struct Probe<'a> {
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

impl Probe<'_> {
    /// `stream: true`.
    pub(crate) fn streams(&self) -> bool {
        self.stream == Some(true)
    }

    /// `stream_options.include_usage: true`.
    pub(crate) fn include_usage(&self) -> bool {
        self.stream_options.as_ref().and_then(|o| o.include_usage) == Some(true)
    }
}

/// Fallback handler for every path outside `/__mock/`.
pub(crate) async fn data_plane(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut response = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => exchange(&shared, &parts, bytes).await,
        Err(_) => errors::bad_request("The request body could not be read."),
    };
    let success = response.status().is_success();
    decorate(response.headers_mut(), &parts.headers, success);
    response
}

/// Records the request, answers it, and ties the answer's body to the record's outcome.
async fn exchange(shared: &Arc<Shared>, parts: &Parts, body: Bytes) -> Response {
    let parsed = route::parse(parts.uri.path())
        .map(|route| (route, serde_json::from_slice::<Probe<'_>>(&body)));
    let deployment = parsed.as_ref().and_then(|(route, probe)| {
        let from_body = probe.as_ref().ok().and_then(|p| p.model.as_deref());
        match route.face {
            Face::Inference => inference::deployment(shared, parts, route.op, from_body),
            _ => route.deployment.or(from_body).map(str::to_owned),
        }
    });
    let tracker = if shared.record {
        shared.recorder.push(RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts.headers.clone(),
            body: body.clone(),
            deployment: deployment.clone(),
            peer: parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0),
            at: std::time::Instant::now(),
            outcome: Outcome::InProgress,
            frames: Vec::new(),
        })
    } else {
        Tracker::default()
    };
    let guard = CancelGuard(tracker.clone());
    let response = answer(shared, parts, parsed, deployment, &body, tracker).await;
    let (head, inner) = response.into_parts();
    Response::from_parts(head, body::track(inner, guard))
}

async fn answer(
    shared: &Shared,
    parts: &Parts,
    parsed: Option<(Route<'_>, Result<Probe<'_>, serde_json::Error>)>,
    deployment: Option<String>,
    body: &Bytes,
    tracker: Tracker,
) -> Response {
    let Some((route, probe)) = parsed.filter(|(route, _)| parts.method == route.op.method()) else {
        return errors::resource_not_found();
    };
    if !auth::authorized(shared.key.as_deref(), &parts.headers) {
        return errors::unauthorized();
    }
    if route.face == Face::Inference {
        return inference::answer(shared, parts, route.op, probe, deployment, body, tracker).await;
    }
    let api_version =
        route::query_param(parts.uri.query(), "api-version").filter(|v| !v.is_empty());
    match (route.face, api_version) {
        (Face::Legacy, None) => return errors::resource_not_found(),
        (Face::V1, Some(v)) if !V1_VERSIONS.contains(&v) => {
            return errors::bad_request("API version not supported");
        }
        _ => {}
    }
    let probe = match probe {
        Ok(probe) => probe,
        Err(e) => return errors::unparsable_json(&e),
    };
    let Some(deployment) = deployment else {
        return errors::bad_request("model is required");
    };
    if !shared.has_deployment(&deployment) {
        return errors::deployment_not_found();
    }
    let behavior = match behave(shared, &deployment, &parts.headers).await {
        Ok(behavior) => behavior,
        Err(refusal) => return refusal,
    };
    if let Some(error) = errors::forced(&behavior, route.op, api_version.unwrap_or("v1")) {
        return error;
    }
    let reply = Reply {
        op: route.op,
        model: None,
        stream: probe.streams(),
        include_usage: probe.include_usage(),
    };
    success(reply, &behavior, body, tracker)
}

/// The deployment's behaviour with the request's `x-mock-*` overrides applied, after
/// sleeping any header delay it asks for. `Err` is the plain 400 for a bad control header.
pub(crate) async fn behave(
    shared: &Shared,
    deployment: &str,
    headers: &HeaderMap,
) -> Result<Behavior, Response> {
    let behavior =
        control::apply(shared.behavior(deployment), headers).map_err(errors::bad_control_header)?;
    if behavior.header_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(behavior.header_delay_ms)).await;
    }
    Ok(behavior)
}

/// What kind of successful answer to build; every face ends here once its own
/// gates have passed.
pub(crate) struct Reply<'a> {
    pub(crate) op: Op,
    /// The model name the answer reports; `None` keeps Azure OpenAI's fixed model names.
    pub(crate) model: Option<&'a str>,
    pub(crate) stream: bool,
    pub(crate) include_usage: bool,
}

/// The success answer, shaped by the behaviour (usage, event count, delays, cuts).
pub(crate) fn success(
    reply: Reply<'_>,
    behavior: &Behavior,
    body: &Bytes,
    tracker: Tracker,
) -> Response {
    let usage = behavior.usage.unwrap_or_default();
    let pieces = behavior.content_events.unwrap_or(DEFAULT_CONTENT_EVENTS);
    let chat_model = reply.model.unwrap_or(CHAT_MODEL);
    let events = match (reply.op, reply.stream) {
        (Op::Chat, true) => Some(chat::events(chat_model, usage, pieces, reply.include_usage)),
        (Op::Completions, true) => Some(completions::events(usage, pieces, reply.include_usage)),
        (Op::Responses, true) => Some(responses::events(usage, pieces)),
        _ => None,
    };
    if let Some(events) = events {
        let delay = Duration::from_millis(behavior.event_delay_ms);
        let body = body::events(events, delay, behavior.cut_after_events, tracker);
        let mut response = Response::new(body);
        response.headers_mut().insert(CONTENT_TYPE, EVENT_STREAM);
        return response;
    }

    let json = match reply.op {
        Op::Chat => Ok(chat::json(chat_model, usage, pieces)),
        Op::Completions => Ok(completions::json(usage, pieces)),
        Op::Responses => Ok(responses::json(usage, pieces)),
        Op::Embeddings => embeddings::reply(body, usage, reply.model.unwrap_or(EMBEDDINGS_MODEL)),
        Op::Images => images::reply(body),
        // Metadata (the inference face) and the realtime handshake (`realtime`) never get here.
        Op::Info | Op::Realtime => return errors::resource_not_found(),
    };
    let json = match json {
        Ok(json) => json,
        Err(message) => return errors::bad_request(&message),
    };
    if behavior.cut_after_events.is_some() {
        // Non-streaming cut: half the JSON, then the connection drops.
        let half = json.len() / 2;
        let halves = vec![json.slice(..half), json.slice(half..)];
        return errors::json(
            StatusCode::OK,
            body::events(halves, Duration::ZERO, Some(1), tracker),
        );
    }
    errors::json(StatusCode::OK, Body::from(json))
}

/// Headers Azure puts on every answer, plus the rate-limit ones on success.
pub(crate) fn decorate(headers: &mut HeaderMap, request: &HeaderMap, success: bool) {
    let apim = HeaderValue::try_from(ids::uuid()).unwrap_or(HeaderValue::from_static("0"));
    let request_id = request
        .get(X_REQUEST_ID)
        .cloned()
        .unwrap_or_else(|| apim.clone());
    headers.insert(APIM_REQUEST_ID, apim);
    headers.insert(X_REQUEST_ID, request_id);
    headers.insert(X_MS_REGION, HeaderValue::from_static("Sweden Central"));
    if success {
        headers.insert(REMAINING_REQUESTS, HeaderValue::from_static("99"));
        headers.insert(REMAINING_TOKENS, HeaderValue::from_static("99000"));
    }
}
