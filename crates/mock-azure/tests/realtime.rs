//! The realtime WebSocket face, with a real WebSocket client over TCP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly on purpose"
)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{KEY, TIMEOUT, server};
use futures_util::{SinkExt, StreamExt};
use mock_azure::{Behavior, MockConfig, MockServer, MockUsage, Outcome, WsFrame};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Handshake = Result<(Ws, http::Response<Option<Vec<u8>>>), Error>;

/// Connects to `path` with `headers`; the handshake's answer or its refusal.
async fn connect(mock: &MockServer, path: &str, headers: &[(&str, &str)]) -> Handshake {
    let url = format!("ws://{}{path}", mock.addr());
    let mut request = url.into_client_request().unwrap();
    for (k, v) in headers {
        request.headers_mut().append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(request))
        .await
        .expect("handshake within the timeout")
}

async fn open(mock: &MockServer, path: &str) -> Ws {
    connect(mock, path, &[("api-key", KEY)]).await.unwrap().0
}

/// The next text message as JSON, skipping pings and pongs.
async fn event(ws: &mut Ws) -> Value {
    loop {
        let message = tokio::time::timeout(TIMEOUT, ws.next())
            .await
            .expect("a message within the timeout");
        match message {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).unwrap(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

async fn send(ws: &mut Ws, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

/// The HTTP status of a refused handshake.
fn refused(result: Handshake) -> http::Response<Option<Vec<u8>>> {
    match result {
        Err(Error::Http(response)) => *response,
        other => panic!(
            "expected a refused handshake, got {:?}",
            other.map(|(_, r)| r)
        ),
    }
}

#[tokio::test]
async fn every_face_speaks_the_event_protocol() {
    let mock = server().await;
    mock.set_behavior(
        "rt",
        Behavior {
            usage: Some(MockUsage {
                prompt: 31,
                completion: 9,
                cached: 4,
                reasoning: 0,
            }),
            content_events: Some(3),
            ..Behavior::default()
        },
    );
    for path in [
        "/openai/realtime?api-version=2025-04-01-preview&deployment=rt",
        "/openai/v1/realtime?model=rt",
        "/v1/realtime?model=rt",
    ] {
        mock.clear();
        let mut ws = open(&mock, path).await;
        let created = event(&mut ws).await;
        assert_eq!(created["type"], "session.created", "{path}");
        assert_eq!(created["session"]["model"], "rt");
        send(
            &mut ws,
            json!({"type": "session.update", "session": {"instructions": "Be brief."}}),
        )
        .await;
        let updated = event(&mut ws).await;
        assert_eq!(updated["type"], "session.updated");
        assert_eq!(updated["session"]["instructions"], "Be brief.");
        send(&mut ws, json!({"type": "response.create"})).await;
        let mut kinds = Vec::new();
        let done = loop {
            let e = event(&mut ws).await;
            kinds.push(e["type"].as_str().unwrap().to_owned());
            if e["type"] == "response.done" {
                break e;
            }
        };
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.done"
            ]
        );
        let usage = &done["response"]["usage"];
        assert_eq!(usage["input_tokens"], 31);
        assert_eq!(usage["output_tokens"], 9);
        assert_eq!(usage["total_tokens"], 40);
        assert_eq!(usage["input_token_details"]["cached_tokens"], 4);
        ws.close(None).await.unwrap();
        while ws.next().await.is_some() {}
        assert_eq!(
            mock.wait_for_outcome(0, TIMEOUT).await,
            Outcome::Completed,
            "{path}"
        );
        let r = &mock.requests()[0];
        assert_eq!(r.method, "GET");
        assert_eq!(path, format!("{}?{}", r.path, r.query.as_deref().unwrap()));
        assert_eq!(r.deployment.as_deref(), Some("rt"));
        assert_eq!(r.header("api-key"), Some(KEY));
        let types: Vec<String> = r.frames.iter().filter_map(WsFrame::event_type).collect();
        assert_eq!(types, ["session.update", "response.create"]);
        assert_eq!(r.frames.last(), Some(&WsFrame::Close(None)));
    }
}

#[tokio::test]
async fn keys_in_headers_query_or_subprotocol_and_realtime_is_echoed() {
    let mock = server().await;
    let path = "/openai/v1/realtime?model=rt";
    let (_, response) = connect(&mock, path, &[("authorization", &format!("Bearer {KEY}"))])
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    let query =
        format!("/openai/realtime?api-version=2025-04-01-preview&deployment=rt&api-key={KEY}");
    assert!(connect(&mock, &query, &[]).await.is_ok());
    let protocols = format!("realtime, openai-insecure-api-key.{KEY}");
    let (_, response) = connect(
        &mock,
        "/v1/realtime?model=rt",
        &[("sec-websocket-protocol", &protocols)],
    )
    .await
    .unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "realtime");
    for (path, headers) in [
        (path, vec![]),
        (path, vec![("api-key", "wrong")]),
        (
            "/v1/realtime?model=rt",
            vec![(
                "sec-websocket-protocol",
                "realtime, openai-insecure-api-key.wrong",
            )],
        ),
    ] {
        let response = refused(connect(&mock, path, &headers).await);
        assert_eq!(response.status(), 401, "{path} {headers:?}");
    }
}

#[tokio::test]
async fn handshake_errors_are_azures() {
    let mock = MockServer::start(MockConfig {
        key: Some(KEY.to_owned()),
        deployments: Some(vec!["rt".to_owned()]),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let key = [("api-key", KEY)];
    let response = refused(connect(&mock, "/openai/realtime?deployment=rt", &key).await);
    assert_eq!(response.status(), 404);
    let response = refused(connect(&mock, "/openai/v1/realtime?model=nope", &key).await);
    assert_eq!(response.status(), 404);
    let response = refused(connect(&mock, "/v1/realtime", &key).await);
    assert_eq!(response.status(), 400);
    let throttled = [
        ("api-key", KEY),
        ("x-mock-status", "429"),
        ("x-mock-retry-after", "3"),
        ("x-mock-retry-after-ms", "2500"),
    ];
    let response = refused(connect(&mock, "/openai/v1/realtime?model=rt", &throttled).await);
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    assert_eq!(response.headers()["retry-after-ms"], "2500");
    assert!(response.headers().contains_key("apim-request-id"));
    // A plain GET is not a handshake.
    let plain = common::client()
        .get(format!("{}/openai/v1/realtime?model=rt", mock.base_url()))
        .header("api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);
    assert!(
        mock.requests()
            .iter()
            .all(|r| r.outcome == Outcome::Completed)
    );
}

#[tokio::test]
async fn binary_pings_controls_and_errors() {
    let mock = server().await;
    let mut ws = open(&mock, "/v1/realtime?model=rt").await;
    event(&mut ws).await;
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::binary(vec![1u8, 2, 3])
    );
    ws.send(Message::Ping(Bytes::from_static(b"hb")))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Pong(Bytes::from_static(b"hb"))
    );
    send(
        &mut ws,
        json!({"type": "mock.ping", "payload": "from-mock"}),
    )
    .await;
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Ping(Bytes::from_static(b"from-mock"))
    );
    send(&mut ws, json!({"type": "no.such.event", "event_id": "e1"})).await;
    let error = event(&mut ws).await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["code"], "invalid_value");
    assert_eq!(error["error"]["event_id"], "e1");
    ws.send(Message::text("not json")).await.unwrap();
    assert_eq!(event(&mut ws).await["error"]["code"], "invalid_json");
    send(
        &mut ws,
        json!({"type": "mock.close", "code": 4003, "reason": "bye"}),
    )
    .await;
    match ws.next().await.unwrap().unwrap() {
        Message::Close(Some(f)) => {
            assert_eq!(u16::from(f.code), 4003);
            assert_eq!(f.reason, "bye");
        }
        other => panic!("expected a close, got {other:?}"),
    }
    while ws.next().await.is_some() {}
    assert_eq!(mock.wait_for_outcome(0, TIMEOUT).await, Outcome::Completed);
    let frames = &mock.requests()[0].frames;
    assert!(frames.contains(&WsFrame::Binary(Bytes::from_static(&[1, 2, 3]))));
    assert!(frames.contains(&WsFrame::Ping(Bytes::from_static(b"hb"))));
    assert!(frames.contains(&WsFrame::Pong(Bytes::from_static(b"from-mock"))));
}

#[tokio::test]
async fn client_close_codes_are_recorded() {
    let mock = server().await;
    let mut ws = open(&mock, "/openai/v1/realtime?model=rt").await;
    event(&mut ws).await;
    ws.send(Message::Close(Some(CloseFrame {
        code: CloseCode::Library(4100),
        reason: "done here".into(),
    })))
    .await
    .unwrap();
    while ws.next().await.is_some() {}
    let frame = mock
        .wait_for(TIMEOUT, |log| {
            log.first()?
                .frames
                .iter()
                .find(|f| matches!(f, WsFrame::Close(_)))
                .cloned()
        })
        .await;
    assert_eq!(
        frame,
        Some(WsFrame::Close(Some((4100, "done here".to_owned()))))
    );
}

#[tokio::test]
async fn behaviours_close_with_a_code_or_cut_the_connection() {
    let mock = server().await;
    let headers = [("api-key", KEY), ("x-mock-close", "4000")];
    let (mut ws, _) = connect(&mock, "/v1/realtime?model=rt", &headers)
        .await
        .unwrap();
    assert_eq!(event(&mut ws).await["type"], "session.created");
    match ws.next().await.unwrap().unwrap() {
        Message::Close(Some(f)) => assert_eq!(u16::from(f.code), 4000),
        other => panic!("expected a close, got {other:?}"),
    }
    while ws.next().await.is_some() {}
    assert_eq!(mock.wait_for_outcome(0, TIMEOUT).await, Outcome::Completed);

    let headers = [("api-key", KEY), ("x-mock-cut-after", "1")];
    let (mut ws, _) = connect(&mock, "/v1/realtime?model=rt", &headers)
        .await
        .unwrap();
    assert_eq!(event(&mut ws).await["type"], "session.created");
    // No close frame: the connection just ends.
    let rest = tokio::time::timeout(Duration::from_secs(3), ws.next())
        .await
        .unwrap();
    assert!(
        !matches!(rest, Some(Ok(Message::Close(_)))),
        "a cut is not a close: {rest:?}"
    );
    assert_eq!(mock.wait_for_outcome(1, TIMEOUT).await, Outcome::Cut);
}
