//! OTLP export (`--features otel`): the real binary, built with the feature, exports one span
//! per request to a tiny OTLP/HTTP receiver on 127.0.0.1, with the GenAI conventions' names.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly on purpose"
)]

#[path = "e2e/common.rs"]
#[allow(dead_code, reason = "the e2e harness, of which this test uses a part")]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use http::HeaderMap;
use serde_json::Value;

use common::*;

type Received = Arc<Mutex<Vec<(String, Bytes)>>>;

/// An OTLP/HTTP receiver: keeps each `POST /v1/traces` (content type, body), answers `{}`.
async fn receiver() -> (String, Received) {
    async fn traces(State(got): State<Received>, headers: HeaderMap, body: Bytes) -> &'static str {
        let kind = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        got.lock().unwrap().push((kind, body));
        "{}"
    }
    let got = Received::default();
    let app = Router::new()
        .route("/v1/traces", axum::routing::post(traces))
        .with_state(Arc::clone(&got));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// Every span in the JSON export requests received so far.
fn spans(got: &Received) -> Vec<Value> {
    let mut out = Vec::new();
    for (kind, body) in got.lock().unwrap().iter() {
        assert!(kind.starts_with("application/json"), "{kind}");
        let doc: Value = serde_json::from_slice(body).unwrap();
        for rs in doc["resourceSpans"].as_array().unwrap() {
            for ss in rs["scopeSpans"].as_array().unwrap() {
                out.extend(ss["spans"].as_array().unwrap().iter().cloned());
            }
        }
    }
    out
}

fn attr<'a>(span: &'a Value, key: &str) -> &'a Value {
    let found = span["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {span}"));
    let value = &found["value"];
    value
        .get("stringValue")
        .or_else(|| value.get("intValue"))
        .or_else(|| value.get("boolValue"))
        .unwrap_or(value)
}

/// OTLP JSON writes 64-bit integers as strings; accept either form.
fn as_int(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("not an integer: {v}"))
}

#[tokio::test]
async fn each_request_is_exported_as_a_genai_span() {
    let (otlp, got) = receiver().await;
    let mock = mock().await;
    let gw = Gateway::start_with_env(
        &config(&mock.base_url()),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ],
    )
    .await;
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-request-id", "otel-req-1")],
        &chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let _ = resp.bytes().await.unwrap();
    let missing = post(&gw, "/v1/chat/completions", &chat_body("no-such-model")).await;
    assert_eq!(missing.status(), 404);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let all = loop {
        let all = spans(&got);
        if all.len() >= 2 || tokio::time::Instant::now() > deadline {
            break all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let span = all
        .iter()
        .find(|s| s["name"] == "chat gpt-4o-mini")
        .unwrap_or_else(|| panic!("no `chat gpt-4o-mini` span in {all:?}"));
    assert!(
        span["kind"] == 3 || span["kind"] == "SPAN_KIND_CLIENT",
        "{span}"
    );
    assert_eq!(attr(span, "gen_ai.operation.name"), "chat");
    assert_eq!(attr(span, "gen_ai.provider.name"), "azure.ai.openai");
    assert_eq!(attr(span, "gen_ai.request.model"), "gpt-4o-mini");
    assert_eq!(attr(span, "gen_ai.response.model"), "dep-4o-mini");
    assert_eq!(as_int(attr(span, "gen_ai.usage.input_tokens")), 11);
    assert_eq!(as_int(attr(span, "gen_ai.usage.output_tokens")), 7);
    assert_eq!(as_int(attr(span, "http.response.status_code")), 200);
    assert_eq!(attr(span, "aoai_gateway.request_id"), "otel-req-1");
    assert_eq!(attr(span, "aoai_gateway.upstream"), "legacy");
    let start: u128 = span["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
    let end: u128 = span["endTimeUnixNano"].as_str().unwrap().parse().unwrap();
    assert!(end > start, "{span}");

    let failed = all
        .iter()
        .find(|s| as_int(attr(s, "http.response.status_code")) == 404)
        .unwrap_or_else(|| panic!("no span for the 404 in {all:?}"));
    assert_eq!(attr(failed, "error.type"), "model_not_found");
    assert_eq!(failed["status"]["code"], 2, "{failed}");
}
