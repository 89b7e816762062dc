//! The Realtime API over WebSocket: a real WebSocket client (tokio-tungstenite) against the
//! real binary, in front of mock-azure's realtime face. Every inbound form against every
//! upstream kind, every client key form, subprotocols, frames and close codes both ways,
//! handshake refusals, usage, pools and shutdown.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use mock_azure::{Behavior, MockServer, RecordedRequest, WsFrame};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::*;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Handshake = Result<(Ws, http::Response<Option<Vec<u8>>>), Error>;
/// A named way of connecting: path and headers.
type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);

const WAIT: Duration = Duration::from_secs(5);
const DATED: &str = "2025-04-01-preview";

/// The e2e config plus a realtime model on each upstream kind.
fn rt_config(mock: &MockServer) -> Value {
    let mut cfg = config(&mock.base_url());
    let models = cfg["models"].as_array_mut().unwrap();
    models.push(json!({"id": "gpt-realtime", "upstream": "legacy", "targetModel": "rt-azure"}));
    models.push(json!({"id": "rt-v1", "upstream": "v1", "targetModel": "rt-v1dep"}));
    models.push(json!({"id": "rt-engine", "upstream": "engine", "targetModel": "rt-engine-dep"}));
    cfg
}

async fn start() -> (MockServer, Gateway) {
    let mock = mock().await;
    let gw = Gateway::start(&rt_config(&mock)).await;
    (mock, gw)
}

/// The three URL forms for `alias`.
fn forms(alias: &str) -> [(&'static str, String); 3] {
    [
        ("openai", format!("/v1/realtime?model={alias}")),
        ("azure-v1", format!("/openai/v1/realtime?model={alias}")),
        (
            "azure-dated",
            format!("/openai/realtime?api-version={DATED}&deployment={alias}"),
        ),
    ]
}

async fn connect(gw: &Gateway, path: &str, headers: &[(&str, &str)]) -> Handshake {
    let url = format!("{}{path}", gw.base.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().unwrap();
    for (k, v) in headers {
        request.headers_mut().append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("handshake within the timeout")
}

/// Connects with the client key as Bearer.
pub async fn open(gw: &Gateway, path: &str) -> Ws {
    let bearer = format!("Bearer {CLIENT_KEY}");
    connect(gw, path, &[("authorization", &bearer)])
        .await
        .unwrap()
        .0
}

/// The next message, skipping pongs (each hop may answer a ping).
async fn next(ws: &mut Ws) -> Message {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
        {
            Some(Ok(Message::Pong(_))) => {}
            Some(Ok(m)) => return m,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// The next text message as JSON, skipping pings and pongs.
pub async fn event(ws: &mut Ws) -> Value {
    loop {
        match next(ws).await {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Ping(_) => {}
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

async fn send(ws: &mut Ws, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

/// Sends `response.create` and reads up to `response.done`.
async fn respond(ws: &mut Ws) -> Vec<Value> {
    send(ws, json!({"type": "response.create"})).await;
    let mut events = Vec::new();
    loop {
        let e = event(ws).await;
        let done = e["type"] == "response.done";
        events.push(e);
        if done {
            return events;
        }
    }
}

/// Closes from the client side and reads until the connection ends.
async fn hang_up(mut ws: Ws) {
    ws.close(None).await.unwrap();
    while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, ws.next()).await {}
}

fn close_of(m: &Message) -> (u16, String) {
    match m {
        Message::Close(Some(f)) => (u16::from(f.code), f.reason.to_string()),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

fn refused(result: Handshake) -> http::Response<Option<Vec<u8>>> {
    match result {
        Err(Error::Http(response)) => *response,
        other => panic!("expected an HTTP refusal, got {:?}", other.map(|(_, r)| r)),
    }
}

/// Nothing the upstream saw carries the client's key: no header, no query, no subprotocol.
fn assert_no_client_key(r: &RecordedRequest) {
    for (name, value) in &r.headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        assert!(!value.contains(CLIENT_KEY), "{name}: {value}");
    }
    assert!(!r.query.as_deref().unwrap_or("").contains(CLIENT_KEY));
    assert!(r.header("sec-websocket-protocol").is_none());
}

/// A WebSocket handshake over a raw socket, for refusals whose body must be read whole:
/// `(status, head, body)`.
async fn raw_handshake(gw: &Gateway, path: &str, headers: &[(&str, &str)]) -> (u16, String, Value) {
    let addr = gw.base.trim_start_matches("http://");
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let (head, body_start) = loop {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(WAIT, tcp.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed before the head ended");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break (String::from_utf8(buf[..end].to_vec()).unwrap(), end + 4);
        }
    };
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .expect("a content-length");
    while buf.len() < body_start + length {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(WAIT, tcp.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed inside the body");
        buf.extend_from_slice(&chunk[..n]);
    }
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = serde_json::from_slice(&buf[body_start..body_start + length]).unwrap();
    (status, head.to_ascii_lowercase(), body)
}

#[tokio::test]
async fn every_form_reaches_every_upstream_kind() {
    let (mock, gw) = start().await;
    // (alias, deployment, upstream credential header and value)
    let kinds = [
        (
            "gpt-realtime",
            "rt-azure",
            "api-key",
            UPSTREAM_KEY.to_owned(),
        ),
        ("rt-v1", "rt-v1dep", "api-key", UPSTREAM_KEY.to_owned()),
        (
            "rt-engine",
            "rt-engine-dep",
            "authorization",
            "Bearer engine-key".to_owned(),
        ),
    ];
    for (alias, deployment, cred_name, cred_value) in kinds {
        for (form, path) in forms(alias) {
            mock.clear();
            let mut ws = open(&gw, &path).await;
            let created = event(&mut ws).await;
            assert_eq!(created["type"], "session.created", "{form} → {alias}");
            assert_eq!(created["session"]["model"], deployment, "{form} → {alias}");
            let events = respond(&mut ws).await;
            assert_eq!(events[0]["type"], "response.created");
            hang_up(ws).await;
            let r = &mock.requests()[0];
            let (want_path, want_query) = match (alias, form) {
                ("gpt-realtime", "azure-dated") => (
                    "/openai/realtime",
                    format!("api-version={DATED}&deployment={deployment}"),
                ),
                ("rt-engine", _) => ("/v1/realtime", format!("model={deployment}")),
                _ => ("/openai/v1/realtime", format!("model={deployment}")),
            };
            assert_eq!(r.path, want_path, "{form} → {alias}");
            assert_eq!(
                r.query.as_deref(),
                Some(want_query.as_str()),
                "{form} → {alias}"
            );
            assert_eq!(
                r.header(cred_name),
                Some(cred_value.as_str()),
                "{form} → {alias}"
            );
            assert_no_client_key(r);
        }
    }
}

#[tokio::test]
async fn every_client_key_form_is_accepted_and_none_travels_upstream() {
    let (mock, gw) = start().await;
    let bearer = format!("Bearer {CLIENT_KEY}");
    let key_protocol = format!("realtime, openai-insecure-api-key.{CLIENT_KEY}");
    let cases: [Case<'_>; 6] = [
        (
            "authorization header",
            "/v1/realtime?model=gpt-realtime".into(),
            vec![("authorization", bearer.as_str())],
        ),
        (
            "api-key header",
            "/openai/v1/realtime?model=gpt-realtime".into(),
            vec![("api-key", CLIENT_KEY)],
        ),
        (
            "api-key query",
            format!(
                "/openai/realtime?api-version={DATED}&deployment=gpt-realtime&api-key={CLIENT_KEY}"
            ),
            vec![],
        ),
        (
            "key query",
            format!("/v1/realtime?model=gpt-realtime&key={CLIENT_KEY}"),
            vec![],
        ),
        (
            "authorization query",
            format!("/openai/v1/realtime?model=gpt-realtime&Authorization=Bearer%20{CLIENT_KEY}"),
            vec![],
        ),
        (
            "subprotocol",
            "/v1/realtime?model=gpt-realtime".into(),
            vec![("sec-websocket-protocol", key_protocol.as_str())],
        ),
    ];
    for (name, path, headers) in &cases {
        mock.clear();
        let (mut ws, response) = connect(&gw, path, headers)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(response.status(), 101, "{name}");
        assert_eq!(event(&mut ws).await["type"], "session.created", "{name}");
        hang_up(ws).await;
        let r = &mock.requests()[0];
        assert_no_client_key(r);
        assert_eq!(r.header("api-key"), Some(UPSTREAM_KEY), "{name}");
        assert!(r.header("authorization").is_none(), "{name}");
    }
}

#[tokio::test]
async fn bad_or_missing_keys_are_401_without_contacting_the_upstream() {
    let (mock, gw) = start().await;
    let wrong_protocol = "realtime, openai-insecure-api-key.sk-wrong";
    for (path, headers) in [
        ("/v1/realtime?model=gpt-realtime", vec![]),
        (
            "/v1/realtime?model=gpt-realtime",
            vec![("authorization", "Bearer sk-wrong")],
        ),
        ("/v1/realtime?model=gpt-realtime&key=sk-wrong", vec![]),
        (
            "/v1/realtime?model=gpt-realtime",
            vec![("sec-websocket-protocol", wrong_protocol)],
        ),
        (
            "/openai/v1/realtime?model=gpt-realtime&api-key=sk-disabled",
            vec![],
        ),
    ] {
        let response = refused(connect(&gw, path, &headers).await);
        assert_eq!(response.status(), 401, "{path} {headers:?}");
    }
    // Each dialect's own body.
    let (status, _, body) =
        raw_handshake(&gw, "/v1/realtime?model=gpt-realtime", &[("api-key", "x")]).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_api_key");
    let path = format!("/openai/realtime?api-version={DATED}&deployment=gpt-realtime");
    let (status, _, body) = raw_handshake(&gw, &path, &[("api-key", "x")]).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "401");
    assert!(mock.requests().is_empty(), "the upstream was contacted");
}

#[tokio::test]
async fn route_errors_use_the_dialects_shapes() {
    let (mock, gw) = start().await;
    let key = [("api-key", CLIENT_KEY)];
    let (status, _, body) =
        raw_handshake(&gw, "/openai/realtime?deployment=gpt-realtime", &key).await;
    assert_eq!(
        (status, body),
        (
            404,
            json!({"error": {"code": "404", "message": "Resource not found"}})
        )
    );
    let (status, _, body) = raw_handshake(&gw, "/openai/v1/realtime?model=nope", &key).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "DeploymentNotFound");
    let (status, _, body) = raw_handshake(&gw, "/v1/realtime?model=nope", &key).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "model_not_found");
    let (status, _, body) = raw_handshake(&gw, "/v1/realtime", &key).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "model");
    // A plain GET is told to use a WebSocket.
    let plain = client()
        .get(gw.url("/v1/realtime?model=gpt-realtime"))
        .bearer_auth(CLIENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);
    let body: Value = plain.json().await.unwrap();
    assert_eq!(body["error"]["code"], "websocket_upgrade_required");
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn subprotocols_and_the_beta_header() {
    let (mock, gw) = start().await;
    let path = "/v1/realtime?model=gpt-realtime";
    let bearer = format!("Bearer {CLIENT_KEY}");
    // `realtime` is echoed when offered, nothing when nothing is offered.
    let (ws, response) = connect(
        &gw,
        path,
        &[
            ("authorization", &bearer),
            ("sec-websocket-protocol", "realtime"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "realtime");
    hang_up(ws).await;
    let (ws, response) = connect(&gw, path, &[("authorization", &bearer)])
        .await
        .unwrap();
    assert!(!response.headers().contains_key("sec-websocket-protocol"));
    assert!(response.headers().contains_key("x-request-id"));
    hang_up(ws).await;
    // A browser on the beta API: key and beta by subprotocol.
    mock.clear();
    let offered =
        format!("realtime, openai-insecure-api-key.{CLIENT_KEY}, openai-beta.realtime-v1");
    let (mut ws, response) = connect(&gw, path, &[("sec-websocket-protocol", &offered)])
        .await
        .unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "realtime");
    event(&mut ws).await;
    let events = respond(&mut ws).await;
    assert_eq!(
        events[1]["type"], "response.text.delta",
        "the upstream spoke beta"
    );
    hang_up(ws).await;
    assert_eq!(
        mock.requests()[0].header("openai-beta"),
        Some("realtime=v1")
    );
    // The header form passes as it is; without it the session is GA.
    mock.clear();
    let (mut ws, _) = connect(
        &gw,
        path,
        &[("authorization", &bearer), ("openai-beta", "realtime=v1")],
    )
    .await
    .unwrap();
    event(&mut ws).await;
    assert_eq!(respond(&mut ws).await[1]["type"], "response.text.delta");
    hang_up(ws).await;
    assert_eq!(
        mock.requests()[0].header("openai-beta"),
        Some("realtime=v1")
    );
    mock.clear();
    let mut ws = open(&gw, path).await;
    event(&mut ws).await;
    assert_eq!(
        respond(&mut ws).await[1]["type"],
        "response.output_text.delta"
    );
    hang_up(ws).await;
    assert_eq!(mock.requests()[0].header("openai-beta"), None);
}

#[tokio::test]
async fn frames_and_close_codes_cross_both_ways() {
    let (mock, gw) = start().await;
    let mut ws = open(
        &gw,
        "/openai/v1/realtime?model=gpt-realtime&intent=transcription",
    )
    .await;
    assert_eq!(event(&mut ws).await["type"], "session.created");
    // Text both ways.
    send(
        &mut ws,
        json!({"type": "session.update", "session": {"voice": "verse"}}),
    )
    .await;
    let updated = event(&mut ws).await;
    assert_eq!(updated["session"]["voice"], "verse");
    // Binary out, echoed back.
    ws.send(Message::binary(vec![0u8, 159, 146, 150]))
        .await
        .unwrap();
    assert_eq!(
        next(&mut ws).await,
        Message::binary(vec![0u8, 159, 146, 150])
    );
    // Ping and an unsolicited pong to the upstream.
    ws.send(Message::Ping(Bytes::from_static(b"client-ping")))
        .await
        .unwrap();
    ws.send(Message::Pong(Bytes::from_static(b"client-pong")))
        .await
        .unwrap();
    // Ping and pong from the upstream.
    send(
        &mut ws,
        json!({"type": "mock.ping", "payload": "upstream-ping"}),
    )
    .await;
    assert_eq!(
        next(&mut ws).await,
        Message::Ping(Bytes::from_static(b"upstream-ping"))
    );
    send(
        &mut ws,
        json!({"type": "mock.pong", "payload": "upstream-pong"}),
    )
    .await;
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Pong(p))) if &p[..] == b"upstream-pong" => break,
            Some(Ok(Message::Pong(_) | Message::Ping(_))) => {}
            other => panic!("expected the upstream's pong, got {other:?}"),
        }
    }
    // The client's close code reaches the upstream.
    ws.send(Message::Close(Some(CloseFrame {
        code: CloseCode::Library(4100),
        reason: "client done".into(),
    })))
    .await
    .unwrap();
    while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, ws.next()).await {}
    let frames = mock
        .wait_for(WAIT, |log| {
            let r = log.first()?;
            r.frames
                .iter()
                .any(|f| matches!(f, WsFrame::Close(_)))
                .then(|| r.frames.clone())
        })
        .await
        .expect("the upstream saw the close");
    assert_eq!(
        frames.last(),
        Some(&WsFrame::Close(Some((4100, "client done".to_owned()))))
    );
    assert!(frames.contains(&WsFrame::Binary(Bytes::from_static(&[0, 159, 146, 150]))));
    assert!(frames.contains(&WsFrame::Ping(Bytes::from_static(b"client-ping"))));
    assert!(frames.contains(&WsFrame::Pong(Bytes::from_static(b"client-pong"))));
    assert!(frames.contains(&WsFrame::Pong(Bytes::from_static(b"upstream-ping"))));
    // The client's other query parameters travel on.
    assert_eq!(
        mock.requests()[0].query.as_deref(),
        Some("model=rt-azure&intent=transcription")
    );
}

#[tokio::test]
async fn upstream_closes_reach_the_client_with_their_code() {
    let (_mock, gw) = start().await;
    let bearer = format!("Bearer {CLIENT_KEY}");
    let path = "/v1/realtime?model=rt-v1";
    // A behaviour: the upstream closes with 4000 right after session.created.
    let (mut ws, _) = connect(
        &gw,
        path,
        &[("authorization", &bearer), ("x-mock-close", "4000")],
    )
    .await
    .unwrap();
    assert_eq!(event(&mut ws).await["type"], "session.created");
    assert_eq!(
        close_of(&next(&mut ws).await),
        (4000, "x-mock-close".to_owned())
    );
    // On request, with a reason.
    let mut ws = open(&gw, path).await;
    event(&mut ws).await;
    send(
        &mut ws,
        json!({"type": "mock.close", "code": 1008, "reason": "policy"}),
    )
    .await;
    assert_eq!(close_of(&next(&mut ws).await), (1008, "policy".to_owned()));
    // An upstream that drops the connection without a close: 1011.
    let (mut ws, _) = connect(
        &gw,
        path,
        &[("authorization", &bearer), ("x-mock-cut-after", "1")],
    )
    .await
    .unwrap();
    assert_eq!(event(&mut ws).await["type"], "session.created");
    assert_eq!(close_of(&next(&mut ws).await).0, 1011);
}

#[tokio::test]
async fn an_upstream_429_at_handshake_is_an_http_429() {
    let (mock, gw) = start().await;
    let headers = [
        ("api-key", CLIENT_KEY),
        ("x-mock-status", "429"),
        ("x-mock-retry-after", "3"),
        ("x-mock-retry-after-ms", "2500"),
    ];
    let response = refused(connect(&gw, "/openai/v1/realtime?model=gpt-realtime", &headers).await);
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    assert_eq!(response.headers()["retry-after-ms"], "2500");
    assert!(response.headers().contains_key("apim-request-id"));
    // The whole body, as Azure sent it.
    let (status, head, body) =
        raw_handshake(&gw, "/v1/realtime?model=gpt-realtime", &headers).await;
    assert_eq!(status, 429);
    assert!(head.contains("retry-after: 3"), "{head}");
    assert_eq!(body["error"]["code"], "429");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("retry after 3 seconds")
    );
    assert_eq!(
        mock.requests().len(),
        2,
        "one handshake each, no retry by default"
    );
    let stats = stats_until(&gw, |s| s["perModel"]["gpt-realtime"]["errors"] == 2).await;
    assert_eq!(stats["perModel"]["gpt-realtime"]["errors"], 2);
}

#[tokio::test]
async fn usage_from_response_done_shows_in_the_stats() {
    let (_mock, gw) = start().await;
    let bearer = format!("Bearer {CLIENT_KEY}");
    let path = "/openai/v1/realtime?model=rt-engine";
    let (mut ws, _) = connect(
        &gw,
        path,
        &[("authorization", &bearer), ("x-mock-usage", "20,10,5,0")],
    )
    .await
    .unwrap();
    event(&mut ws).await;
    let first = respond(&mut ws).await;
    assert_eq!(
        first.last().unwrap()["response"]["usage"]["total_tokens"],
        30
    );
    respond(&mut ws).await;
    let stats = stats_until(&gw, |s| s["perModel"]["rt-engine"]["requests"] == 2).await;
    let t = &stats["perModel"]["rt-engine"];
    assert_eq!(t["requests"], 2);
    assert_eq!(t["errors"], 0);
    assert_eq!(t["promptTokens"], 40);
    assert_eq!(t["completionTokens"], 20);
    assert_eq!(t["totalTokens"], 60);
    assert_eq!(t["cachedTokens"], 10);
    hang_up(ws).await;
}

#[tokio::test]
async fn a_pool_fails_over_at_handshake_and_holds_the_deployment_for_the_session() {
    let mock = mock().await;
    mock.set_behavior(
        "rt-busy",
        Behavior {
            status: Some(429),
            retry_after_ms: Some(30_000),
            ..Behavior::default()
        },
    );
    let mut cfg = rt_config(&mock);
    cfg["models"].as_array_mut().unwrap().push(json!({
        "id": "rt-pool",
        "deployments": [
            {"upstream": "legacy", "targetModel": "rt-busy", "priority": 0},
            {"upstream": "legacy", "targetModel": "rt-ok", "priority": 1}
        ]
    }));
    let gw = Gateway::start(&cfg).await;
    let mut ws = open(&gw, "/v1/realtime?model=rt-pool").await;
    assert_eq!(event(&mut ws).await["session"]["model"], "rt-ok");
    let seen: Vec<_> = mock
        .requests()
        .iter()
        .map(|r| r.deployment.clone().unwrap())
        .collect();
    assert_eq!(seen, ["rt-busy", "rt-ok"]);
    let member = |name: &'static str| pool_member(&gw, "rt-pool", name);
    assert_eq!(member("rt-busy").await["state"], "cooling");
    assert_eq!(
        member("rt-ok").await["inFlight"],
        1,
        "the session holds its deployment"
    );
    hang_up(ws).await;
}

#[tokio::test]
async fn shutdown_closes_open_sessions_with_1001() {
    let (_mock, gw) = start().await;
    let mut ws = open(&gw, "/v1/realtime?model=gpt-realtime").await;
    assert_eq!(event(&mut ws).await["type"], "session.created");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &gw.pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        close_of(&next(&mut ws).await),
        (1001, "server shutting down".to_owned())
    );
}
