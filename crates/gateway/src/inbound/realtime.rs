//! The Realtime API over WebSocket, in the three forms clients use (WIRE-FACTS A3):
//!
//! - `GET /v1/realtime?model=<alias>`: OpenAI's, for the `openai` SDKs' realtime clients;
//! - `GET /openai/v1/realtime?model=<alias>`: Azure's GA form;
//! - `GET /openai/realtime?api-version=<v>&deployment=<alias>`: Azure's dated form (the
//!   `AzureOpenAI` clients); `api-version` is required, as on Azure, and is passed on to `azure`
//!   upstreams, which are then addressed in the same form.
//!
//! **The client's key** may come as `Authorization: Bearer`, `api-key` or `x-api-key` (server
//! clients), as the `api-key`, `key` or `Authorization` query parameter (Azure's browser form),
//! or as the `openai-insecure-api-key.<key>` subprotocol (OpenAI's browser form). It is checked
//! like any client key and never travels upstream in any of these forms: the upstream gets its
//! own credential. **Subprotocols**: the 101 echoes `realtime` when the client offered it
//! (else `openai-beta.realtime-v1` when offered), never the key; a client on the beta protocol
//! by subprotocol is sent upstream with `OpenAI-Beta: realtime=v1`, and an `OpenAI-Beta` header
//! passes as it is.
//!
//! **The upgrade waits for the upstream.** The upstream handshake runs first
//! ([`crate::upstream::realtime`]); only when it succeeded does the client get its 101. A
//! refusal (401, 404, 429, …) reaches the client as that HTTP answer, status, `retry-after`
//! and body included, not as a 101 followed by a close. Errors the gateway makes itself use
//! the route's dialect ([`super::shapes`]): Azure's bodies on the Azure forms.

use std::borrow::Cow;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use serde_json::json;

use super::shapes::{self, Dialect};
use crate::call::Operation;
use crate::drain::Drain;
use crate::error::GatewayError;
use crate::relay;
use crate::state::{AppState, Runtime};
use crate::telemetry::{Pending, pending};
use crate::trace;
use crate::upstream::headers;
use crate::upstream::realtime::{self as upstream_rt, Opened, Opening};

/// The subprotocol that carries a browser's key (OpenAI's browser clients).
const KEY_PROTOCOL: &str = "openai-insecure-api-key.";
/// The subprotocol a browser on the beta API adds.
const BETA_PROTOCOL: &str = "openai-beta.realtime-v1";
/// Subprotocols the gateway accepts, by preference; the first one the client offered is echoed.
const ECHOED_PROTOCOLS: [&str; 2] = ["realtime", BETA_PROTOCOL];
/// Query parameters that steer the gateway or carry a credential; the rest travel upstream.
const CONSUMED_PARAMS: [&str; 6] = [
    "model",
    "deployment",
    "api-version",
    "api-key",
    "key",
    "authorization",
];

/// Which URL form a client used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    OpenAi,
    AzureV1,
    AzureDated,
}

impl Form {
    fn dialect(self) -> Dialect {
        match self {
            Self::OpenAi => Dialect::OpenAi,
            Self::AzureV1 | Self::AzureDated => Dialect::Azure,
        }
    }
}

pub fn router(drain: Drain) -> Router<Arc<AppState>> {
    let route = |form: Form| {
        let drain = drain.clone();
        get(
            move |State(app): State<Arc<AppState>>,
                  ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
                  uri: Uri,
                  extensions: http::Extensions,
                  headers: HeaderMap| async move {
                let rt = app.runtime.load_full();
                let request_id = trace::request_id_of(&extensions, &headers);
                let mut pending = Some(Pending::start(
                    &app.telemetry,
                    &request_id,
                    Operation::Realtime.route_key(),
                ));
                let client = Client {
                    headers: &headers,
                    request_id: &request_id,
                };
                let result = open(&rt, form, ws, &uri, client, &drain, &mut pending).await;
                pending::settle(pending, &result);
                match result {
                    Ok(response) => response,
                    Err(err) => shapes::in_dialect(form.dialect(), err).into_response(),
                }
            },
        )
    };
    Router::new()
        .route("/v1/realtime", route(Form::OpenAi))
        .route("/openai/v1/realtime", route(Form::AzureV1))
        .route("/openai/realtime", route(Form::AzureDated))
}

/// Every `Sec-WebSocket-Protocol` entry the client offered.
fn offered(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// The query as decoded pairs.
fn decoded(query: Option<&str>) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).collect()
}

fn param<'q>(pairs: &'q [(Cow<'_, str>, Cow<'_, str>)], name: &str) -> Option<&'q str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_ref())
        .filter(|v| !v.is_empty())
}

/// The client's key: headers first, then the query, then the subprotocol.
fn client_key<'a>(
    headers: &'a HeaderMap,
    pairs: &'a [(Cow<'_, str>, Cow<'_, str>)],
) -> Option<&'a str> {
    if let Some(key) = crate::policy::client_keys::presented_key(headers) {
        return Some(key);
    }
    let from_query = param(pairs, "api-key").or_else(|| param(pairs, "key"));
    if let Some(key) = from_query.map(str::trim).filter(|k| !k.is_empty()) {
        return Some(key);
    }
    // Node's browser client puts an Entra token here as `Bearer <token>`.
    let bearer = param(pairs, "authorization").and_then(|v| {
        v.trim()
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("bearer "))
            .map(|_| v.trim()[7..].trim())
    });
    if let Some(key) = bearer.filter(|k| !k.is_empty()) {
        return Some(key);
    }
    offered(headers).find_map(|p| p.strip_prefix(KEY_PROTOCOL).filter(|k| !k.is_empty()))
}

/// The client's query parameters that travel upstream, raw.
fn extra_query(query: Option<&str>) -> String {
    let mut out = String::new();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let raw_key = pair.split_once('=').map_or(pair, |(k, _)| k);
        let key: String = url::form_urlencoded::parse(raw_key.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default();
        if CONSUMED_PARAMS
            .iter()
            .any(|c| c.eq_ignore_ascii_case(key.trim()))
        {
            continue;
        }
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(pair);
    }
    out
}

fn not_an_upgrade(rejection: &WebSocketUpgradeRejection) -> GatewayError {
    let message = match rejection {
        WebSocketUpgradeRejection::MethodNotGet(_)
        | WebSocketUpgradeRejection::InvalidConnectionHeader(_)
        | WebSocketUpgradeRejection::InvalidUpgradeHeader(_) => {
            "This endpoint speaks the Realtime API over WebSocket: connect with a WebSocket \
             client (ws:// or wss://)."
                .to_owned()
        }
        other => format!("Bad WebSocket handshake: {}", other.body_text()),
    };
    GatewayError::InvalidRequest {
        message,
        param: None,
        code: "websocket_upgrade_required",
    }
}

/// The client's side of a handshake.
struct Client<'a> {
    headers: &'a HeaderMap,
    request_id: &'a HeaderValue,
}

/// Authenticates, resolves, opens the upstream session, and answers the upgrade. A session
/// that opens takes the request's record (`slot`) to record each of its responses.
async fn open(
    rt: &Runtime,
    form: Form,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    uri: &Uri,
    from: Client<'_>,
    drain: &Drain,
    slot: &mut Option<Pending>,
) -> Result<Response, GatewayError> {
    let (client_headers, request_id) = (from.headers, from.request_id);
    let pairs = decoded(uri.query());
    let client = rt
        .keys
        .authenticate_key(client_key(client_headers, &pairs))?;
    if let Some(p) = slot.as_mut() {
        p.client(&client);
    }
    let api_version = match form {
        Form::AzureDated => Some(super::azure::dated_version(uri.query())?),
        Form::OpenAi | Form::AzureV1 => None,
    };
    let ws = ws.map_err(|r| not_an_upgrade(&r))?;
    let alias = match form {
        Form::AzureDated => param(&pairs, "deployment").or_else(|| param(&pairs, "model")),
        Form::OpenAi | Form::AzureV1 => param(&pairs, "model"),
    };
    let Some(alias) = alias else {
        let (name, message) = match form {
            Form::AzureDated => (
                "deployment",
                "you must provide a deployment query parameter",
            ),
            _ => ("model", "you must provide a model query parameter"),
        };
        return Err(GatewayError::InvalidRequest {
            message: message.to_owned(),
            param: Some(name),
            code: "missing_required_parameter",
        });
    };
    let route = rt.models.resolve(Operation::Realtime, alias)?;
    if let Some(p) = slot.as_mut() {
        p.model(alias, Arc::clone(route.stats()));
        p.body_read();
        p.sending();
    }
    let extra = extra_query(uri.query());
    let opening = Opening {
        model: alias,
        client: &client,
        client_headers,
        request_id,
        api_version: api_version.as_ref(),
        extra_query: &extra,
        beta: offered(client_headers).any(|p| p == BETA_PROTOCOL),
        tls: &rt.ws_tls,
        policy: &rt.policy,
    };
    let session = match upstream_rt::open(&opening, route).await? {
        Opened::Session(session) => session,
        Opened::Refused(refusal) => {
            if let Some(p) = slot.as_mut() {
                p.answered(None, None, refusal.headers());
            }
            return Ok(refused(refusal, request_id));
        }
    };
    let Some(mut pending) = slot.take() else {
        return Err(GatewayError::Internal(
            "request record taken twice".to_owned(),
        ));
    };
    pending.answered(
        Some(&session.upstream),
        Some(&session.deployment),
        &session.headers,
    );
    pending.responded(StatusCode::SWITCHING_PROTOCOLS.as_u16());
    let session_headers = session.headers;
    let ctx = relay::Context {
        recorder: pending.into_session(session.stats),
        lease: session.lease,
        session: drain.session(),
        model: alias.to_owned(),
        upstream: session.upstream,
    };
    let socket = session.socket;
    let mut response = ws
        .protocols(ECHOED_PROTOCOLS)
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "realtime: client upgrade failed"))
        .on_upgrade(move |client| {
            relay::run(
                relay::axum_side(client),
                relay::tungstenite_side(socket),
                ctx,
            )
        });
    copy_upstream_headers(&mut response, session_headers);
    Ok(response)
}

/// Adds the upstream 101's headers to the client's 101 (its ids, `apim-request-id`,
/// `x-request-id` and region, correlate the session), minus the handshake's own.
fn copy_upstream_headers(response: &mut Response, mut upstream: HeaderMap) {
    headers::clean_response(&mut upstream);
    let ours: Vec<HeaderName> = response.headers().keys().cloned().collect();
    let mut last: Option<HeaderName> = None;
    for (name, value) in upstream {
        // Repeated values come without their name.
        let Some(name) = name.or_else(|| last.clone()) else {
            continue;
        };
        last = Some(name.clone());
        let skip = name == header::CONTENT_LENGTH
            || name == header::DATE
            || name.as_str().starts_with("sec-websocket-")
            || ours.contains(&name);
        if !skip {
            response.headers_mut().append(name, value);
        }
    }
}

/// The upstream's refusal as the client's answer: status, headers and body as they came
/// (hop-by-hop headers aside); an empty body becomes an OpenAI-shaped error.
fn refused(refusal: http::Response<Bytes>, request_id: &HeaderValue) -> Response {
    let (mut head, body) = refusal.into_parts();
    headers::clean_response(&mut head.headers);
    head.headers.remove(header::CONTENT_LENGTH);
    let body = if body.is_empty() {
        let message = format!(
            "The upstream refused the realtime connection with HTTP {}.",
            head.status
        );
        head.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let envelope = json!({"error": {
            "message": message,
            "type": "upstream_error",
            "param": null,
            "code": "upstream_refused",
        }});
        Bytes::from(envelope.to_string())
    } else {
        body
    };
    if !head.headers.contains_key(trace::X_REQUEST_ID) {
        head.headers.insert(trace::X_REQUEST_ID, request_id.clone());
    }
    Response::from_parts(head, axum::body::Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn keys_come_from_headers_query_or_subprotocol() {
        let none = decoded(None);
        let h = headers(&[("authorization", "Bearer sk-h")]);
        assert_eq!(client_key(&h, &none), Some("sk-h"));
        let q = decoded(Some("model=m&api-key=sk%2Dq"));
        assert_eq!(client_key(&HeaderMap::new(), &q), Some("sk-q"));
        let q = decoded(Some("key=sk-k"));
        assert_eq!(client_key(&HeaderMap::new(), &q), Some("sk-k"));
        let q = decoded(Some("Authorization=Bearer%20tok"));
        assert_eq!(client_key(&HeaderMap::new(), &q), Some("tok"));
        let h = headers(&[(
            "sec-websocket-protocol",
            "realtime, openai-insecure-api-key.sk-p, openai-beta.realtime-v1",
        )]);
        assert_eq!(client_key(&h, &none), Some("sk-p"));
        // Headers win over the query.
        let h = headers(&[("api-key", "sk-h")]);
        assert_eq!(client_key(&h, &decoded(Some("key=sk-q"))), Some("sk-h"));
        let h = headers(&[(
            "sec-websocket-protocol",
            "realtime, openai-insecure-api-key.",
        )]);
        assert_eq!(client_key(&h, &none), None);
    }

    #[test]
    fn extra_query_drops_what_the_gateway_consumes() {
        assert_eq!(
            extra_query(Some(
                "model=m&api-key=k&intent=transcription&KEY=x&Authorization=Bearer%20t&a=%20b&"
            )),
            "intent=transcription&a=%20b"
        );
        assert_eq!(
            extra_query(Some("api-version=2025-04-01-preview&deployment=d")),
            ""
        );
        assert_eq!(extra_query(None), "");
        // An encoded name is still recognized.
        assert_eq!(extra_query(Some("api%2Dkey=k&x=1")), "x=1");
    }

    #[tokio::test]
    async fn an_empty_refusal_gets_an_openai_body() {
        let refusal = http::Response::builder()
            .status(429)
            .header("retry-after", "7")
            .header("connection", "close")
            .body(Bytes::new())
            .unwrap();
        let response = refused(refusal, &HeaderValue::from_static("req-9"));
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "7");
        assert_eq!(response.headers()["x-request-id"], "req-9");
        assert!(!response.headers().contains_key("connection"));
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["code"], "upstream_refused");
    }
}
