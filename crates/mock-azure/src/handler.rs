//! The data-plane pipeline: record, route, authenticate, validate, then answer
//! the way the deployment's behaviour (and any `x-mock-*` header) says. The model
//! inference face validates in [`inference`] and comes back here for its answer;
//! resource-level paths (files, batches, fine-tuning, stored responses) go to [`store`].

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::config::Behavior;
use crate::fragments::{CHAT_MODEL, EMBEDDINGS_MODEL};
use crate::multipart::Form;
use crate::probe::Probe;
use crate::record::{CancelGuard, Outcome, RecordedRequest, Tracker};
use crate::route::{self, Face, Op, Route};
use crate::script::Script;
use crate::state::Shared;
use crate::store::{self, Action};
use crate::{
    audio, auth, body, chat, completions, control, embeddings, errors, ids, image_edits, images,
    inference, validate,
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
pub(crate) const JSON: HeaderValue = HeaderValue::from_static("application/json");
pub(crate) const EVENT_STREAM: HeaderValue =
    HeaderValue::from_static("text/event-stream; charset=utf-8");

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

/// What a path names: a deployment operation with its parsed body, or a resource.
// One per request, on the stack; boxing the probe would add an allocation to the hot path.
#[allow(clippy::large_enum_variant)]
enum Target<'a> {
    Op(Route<'a>, Payload<'a>),
    Resource(Face, Action<'a>),
}

/// A deployment operation's body, parsed the way the operation reads it.
#[allow(clippy::large_enum_variant)]
enum Payload<'a> {
    Json(Result<Probe<'a>, serde_json::Error>),
    Form(Result<Form, String>),
}

impl Payload<'_> {
    /// The body's `model` (a JSON field or a form field).
    fn model(&self) -> Option<&str> {
        match self {
            Self::Json(probe) => probe.as_ref().ok()?.model.as_deref(),
            Self::Form(form) => form.as_ref().ok()?.text("model"),
        }
    }
}

fn target<'a>(parts: &'a Parts, body: &'a Bytes) -> Option<Target<'a>> {
    let path = parts.uri.path();
    if let Some(route) = route::parse(path) {
        let payload = if route.op.multipart() {
            Payload::Form(Form::parse(&parts.headers, body))
        } else {
            Payload::Json(serde_json::from_slice::<Probe<'_>>(body))
        };
        return Some(Target::Op(route, payload));
    }
    let (face, rest) = route::resource(path)?;
    store::route::parse(&parts.method, rest).map(|action| Target::Resource(face, action))
}

/// Records the request, answers it, and ties the answer's body to the record's outcome.
async fn exchange(shared: &Arc<Shared>, parts: &Parts, body: Bytes) -> Response {
    let target = target(parts, &body);
    let deployment = match &target {
        Some(Target::Op(route, payload)) => match route.face {
            Face::Inference => inference::deployment(shared, parts, route.op, payload.model()),
            _ => route.deployment.or(payload.model()).map(str::to_owned),
        },
        _ => None,
    };
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
    let response = match target {
        Some(Target::Resource(face, action)) => {
            store::answer(shared, parts, face, action, &body, tracker).await
        }
        Some(Target::Op(route, payload)) => {
            answer(shared, parts, route, payload, deployment, &body, tracker).await
        }
        None => errors::resource_not_found(),
    };
    let (head, inner) = response.into_parts();
    Response::from_parts(head, body::track(inner, guard))
}

/// The api-version rules of the Azure OpenAI faces: required on legacy paths (Azure's
/// 404 without it), one of [`V1_VERSIONS`] if present on v1, ignored by the engine.
pub(crate) fn version_gate(
    face: Face,
    query: Option<&str>,
) -> Result<Option<&str>, errors::Refusal> {
    let api_version = route::query_param(query, "api-version").filter(|v| !v.is_empty());
    match (face, api_version) {
        (Face::Legacy, None) => Err(Box::new(errors::resource_not_found())),
        (Face::V1, Some(v)) if !V1_VERSIONS.contains(&v) => {
            Err(Box::new(errors::bad_request("API version not supported")))
        }
        _ => Ok(api_version),
    }
}

/// Gates in order: method, auth, api-version, body, deployment, the behaviour's forced
/// errors (test control wins), Azure's request checks ([`validate`]), then the answer.
async fn answer(
    shared: &Shared,
    parts: &Parts,
    route: Route<'_>,
    payload: Payload<'_>,
    deployment: Option<String>,
    body: &Bytes,
    tracker: Tracker,
) -> Response {
    if parts.method != route.op.method() {
        return errors::resource_not_found();
    }
    if let Some(refusal) = auth::gate(shared, &parts.headers) {
        return refusal;
    }
    if route.face == Face::Inference {
        let Payload::Json(probe) = payload else {
            return errors::resource_not_found();
        };
        return inference::answer(shared, parts, route.op, probe, deployment, body, tracker).await;
    }
    let api_version = match version_gate(route.face, parts.uri.query()) {
        Ok(v) => v,
        Err(refusal) => return *refusal,
    };
    match &payload {
        Payload::Json(Err(e)) => return errors::unparsable_json(e),
        Payload::Form(Err(message)) => {
            return errors::invalid_request(StatusCode::BAD_REQUEST, message, None, None);
        }
        Payload::Json(Ok(_)) | Payload::Form(Ok(_)) => {}
    }
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
    let operation = route.op.operation_id();
    if let Some(error) = errors::forced(&behavior, operation, api_version.unwrap_or("v1")) {
        return error;
    }
    let kind = shared.kind(&deployment);
    if let Payload::Json(Ok(probe)) = &payload
        && let Some(refusal) = validate::check(route.op, &deployment, kind, probe)
    {
        return refusal;
    }
    match (route.op, payload) {
        (op @ (Op::ImageEdits | Op::ImageVariations), Payload::Form(Ok(form))) => {
            image_edits::answer(op, &form, &deployment, &behavior, tracker)
        }
        (op, Payload::Form(Ok(form))) => {
            audio::transcribe(op, &form, &deployment, &behavior, tracker)
        }
        (Op::Responses, Payload::Json(Ok(probe))) => {
            let script = Script::read(&probe, Op::Responses, &behavior, kind.reasoning);
            store::responses::create(shared, &probe, script, &behavior, body, tracker)
        }
        (Op::Speech, _) => audio::speech(body, &behavior, tracker),
        (op, Payload::Json(Ok(probe))) => {
            let reply = Reply {
                op,
                model: None,
                stream: probe.streams(),
                include_usage: probe.include_usage(),
                script: Script::read(&probe, op, &behavior, kind.reasoning),
            };
            success(reply, &behavior, body, tracker)
        }
        // Refused above.
        (_, Payload::Json(Err(_)) | Payload::Form(Err(_))) => errors::resource_not_found(),
    }
}

/// The deployment's behaviour with the request's `x-mock-*` overrides applied, after
/// sleeping any header delay it asks for. `Err` is the plain 400 for a bad control header.
pub(crate) async fn behave(
    shared: &Shared,
    deployment: &str,
    headers: &HeaderMap,
) -> Result<Behavior, Response> {
    behave_from(shared.behavior(deployment), headers).await
}

/// [`behave`] for operations without a deployment, starting from `base`.
pub(crate) async fn behave_from(base: Behavior, headers: &HeaderMap) -> Result<Behavior, Response> {
    let behavior = control::apply(base, headers).map_err(errors::bad_control_header)?;
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
    /// What the model says (chat, completions).
    pub(crate) script: Script,
}

/// The success answer, shaped by the behaviour (usage, event count, delays, cuts).
pub(crate) fn success(
    reply: Reply<'_>,
    behavior: &Behavior,
    body: &Bytes,
    tracker: Tracker,
) -> Response {
    let usage = behavior.usage.unwrap_or_default();
    let script = &reply.script;
    let chat_model = reply.model.unwrap_or(CHAT_MODEL);
    let events = match (reply.op, reply.stream) {
        (Op::Chat, true) => Some(chat::events(chat_model, usage, script, reply.include_usage)),
        (Op::Completions, true) => Some(completions::events(usage, script, reply.include_usage)),
        _ => None,
    };
    if let Some(events) = events {
        return send_stream(EVENT_STREAM, events, behavior, tracker);
    }

    let json = match reply.op {
        Op::Chat => Ok(chat::json(chat_model, usage, script)),
        Op::Completions => Ok(completions::json(usage, script)),
        Op::Embeddings => embeddings::reply(body, usage, reply.model.unwrap_or(EMBEDDINGS_MODEL)),
        Op::Images => images::reply(body),
        // Each of these has its own answer (`store`, `audio`, `image_edits`, `inference`,
        // `realtime`); none gets here.
        _ => return errors::resource_not_found(),
    };
    match json {
        Ok(json) => send_json(StatusCode::OK, json, behavior, tracker),
        Err(message) => errors::bad_request(&message),
    }
}

/// A JSON answer; see [`send_whole`].
pub(crate) fn send_json(
    status: StatusCode,
    json: Bytes,
    behavior: &Behavior,
    tracker: Tracker,
) -> Response {
    send_whole(status, JSON, json, behavior, tracker)
}

/// A complete answer; with a cut in the behaviour, half of it and then the connection drops.
pub(crate) fn send_whole(
    status: StatusCode,
    content_type: HeaderValue,
    bytes: Bytes,
    behavior: &Behavior,
    tracker: Tracker,
) -> Response {
    let body = if behavior.cut_after_events.is_some() {
        let half = bytes.len() / 2;
        let halves = vec![bytes.slice(..half), bytes.slice(half..)];
        body::events(halves, Duration::ZERO, Some(1), None, tracker)
    } else {
        Body::from(bytes)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response
}

/// A streamed answer, one body frame per item (or re-cut frames), with the behaviour's
/// delays and cut.
pub(crate) fn send_stream(
    content_type: HeaderValue,
    frames: Vec<Bytes>,
    behavior: &Behavior,
    tracker: Tracker,
) -> Response {
    let delay = Duration::from_millis(behavior.event_delay_ms);
    let cut = behavior.cut_after_events;
    let body = body::events(frames, delay, cut, behavior.split_bytes, tracker);
    let mut response = Response::new(body);
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response
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
