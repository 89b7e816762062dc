//! Chat ⇄ Responses translation over the wire: frames split anywhere (multi-byte characters
//! included), broken streams, upstream errors, pools and accounting. The SDK round trips are
//! in `e2e/python/test_translation.py`.

use mock_azure::{MockConfig, MockServer};
use serde_json::{Value, json};

use crate::common::*;

async fn setup() -> (MockServer, Gateway) {
    let mock = MockServer::start(MockConfig {
        chat_only: vec!["chat-only".to_owned()],
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let mut cfg = config(&mock.base_url());
    cfg["models"].as_array_mut().unwrap().extend([
        json!({"id": "codex", "upstream": "v1", "targetModel": "gpt-5-codex",
               "routes": {"chat/completions": "responses"}}),
        json!({"id": "engine-chat", "upstream": "engine", "targetModel": "chat-only",
               "routes": {"responses": "chat/completions"}}),
        json!({"id": "codex-pool", "routes": {"chat/completions": "responses"},
               "deployments": [{"upstream": "v1", "targetModel": "gpt-5-codex"},
                               {"upstream": "legacy", "targetModel": "gpt-5.1-codex"}]}),
    ]);
    let gw = Gateway::start(&cfg).await;
    (mock, gw)
}

fn text_of_chat(events: &[(std::time::Instant, String)]) -> String {
    events
        .iter()
        .filter_map(|(_, d)| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test]
async fn the_responses_only_deployment_refuses_chat_without_translation() {
    let (mock, gw) = setup().await;
    // Straight to the deployment (no route override): Azure's refusal.
    let mut cfg = config(&mock.base_url());
    cfg["models"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "codex-direct", "upstream": "v1", "targetModel": "gpt-5-codex"}));
    let direct = Gateway::start(&cfg).await;
    let resp = post(&direct, "/v1/chat/completions", &chat_body("codex-direct")).await;
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "OperationNotSupported");
    // Through the override: answered.
    let resp = post(&gw, "/v1/chat/completions", &chat_body("codex")).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Hello from mock-azure — héllo 🌍."
    );
}

#[tokio::test]
async fn azure_clients_are_translated_too() {
    let (mock, gw) = setup().await;
    let resp = client()
        .post(gw.url("/openai/deployments/codex/chat/completions?api-version=2024-10-21"))
        .header("api-key", CLIENT_KEY)
        .json(&json!({"messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    let r = mock.requests().pop().unwrap();
    // The client's dated version was for chat; responses go to the v1 surface.
    assert_eq!(r.path, "/openai/v1/responses");
    assert_eq!(r.json().unwrap()["model"], "gpt-5-codex");
}

#[tokio::test]
async fn frames_split_anywhere_translate_the_same() {
    let (_mock, gw) = setup().await;
    let body = json!({"model": "codex", "stream": true,
                      "stream_options": {"include_usage": true},
                      "messages": [{"role": "user", "content": "hi"}]});
    for split in ["1", "3", "7", "64"] {
        let resp = post_with(
            &gw,
            "/v1/chat/completions",
            &[("x-mock-split", split)],
            &body,
        )
        .await;
        assert_eq!(resp.status(), 200);
        assert!(resp.headers().get("content-length").is_none());
        let events = sse_events(resp).await.unwrap();
        assert_eq!(
            text_of_chat(&events),
            "Hello from mock-azure — héllo 🌍.",
            "split {split}"
        );
        assert_eq!(events.last().unwrap().1, "[DONE]");
        let usage: Value = serde_json::from_str(&events[events.len() - 2].1).unwrap();
        assert_eq!(usage["usage"]["total_tokens"], 18, "split {split}");
    }
    // The other way, Responses events from chat chunks.
    let body = json!({"model": "engine-chat", "stream": true, "input": "hi"});
    for split in ["2", "5"] {
        let resp = post_with(&gw, "/v1/responses", &[("x-mock-split", split)], &body).await;
        let events = sse_events(resp).await.unwrap();
        let text: String = events
            .iter()
            .filter_map(|(_, d)| serde_json::from_str::<Value>(d).ok())
            .filter(|v| v["type"] == "response.output_text.delta")
            .map(|v| v["delta"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(text, "Hello from mock-azure — héllo 🌍.");
        let last: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
        assert_eq!(last["type"], "response.completed");
        assert_eq!(last["response"]["usage"]["total_tokens"], 18);
    }
}

#[tokio::test]
async fn a_broken_translated_stream_ends_with_an_error_event() {
    let (_mock, gw) = setup().await;
    let body = json!({"model": "codex", "stream": true, "messages": []});
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-cut-after", "4")],
        &body,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let (text, broken) = read_all(resp).await;
    assert!(broken, "the cut is visible as a broken body");
    let events = sse_data(&text);
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "upstream_stream_error", "{last}");
    assert!(
        events.iter().all(|d| d != "[DONE]"),
        "never presented as complete"
    );

    let body = json!({"model": "engine-chat", "stream": true, "input": "hi"});
    let resp = post_with(&gw, "/v1/responses", &[("x-mock-cut-after", "3")], &body).await;
    let (text, broken) = read_all(resp).await;
    assert!(broken);
    let types: Vec<String> = sse_data(&text)
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .map(|v| v["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        !types.contains(&"response.completed".to_owned()),
        "{types:?}"
    );
    assert_eq!(types.last().map(String::as_str), Some("error"), "{types:?}");
    assert!(
        text.contains("event: error\n"),
        "a Responses client gets a typed error event"
    );
}

#[tokio::test]
async fn an_answer_that_cannot_be_translated_is_a_502_not_a_cut_200() {
    let (_mock, gw) = setup().await;
    // mock-azure sends half of the JSON answer, then drops the connection.
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-cut-after", "1")],
        &chat_body("codex"),
    )
    .await;
    assert_eq!(resp.status(), 502);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "upstream_unreachable", "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("broke off"),
        "{err}"
    );
    // A whole translated answer has its length.
    let resp = post(
        &gw,
        "/v1/responses",
        &json!({"model": "engine-chat", "input": "hi"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let length: usize = resp.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(resp.bytes().await.unwrap().len(), length);
    let stats = stats_until(&gw, |s| s["perModel"]["codex"]["errors"] == 1).await;
    assert_eq!(stats["perModel"]["codex"]["errors"], 1);
}

#[tokio::test]
async fn upstream_errors_pass_untranslated() {
    let (_mock, gw) = setup().await;
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-status", "429"), ("x-mock-retry-after-ms", "1500")],
        &chat_body("codex"),
    )
    .await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after-ms"], "1500");
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "429");
    let resp = post_with(
        &gw,
        "/v1/responses",
        &[("x-mock-content-filter", "true")],
        &json!({"model": "engine-chat", "input": "hi"}),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "content_filter");
    assert_eq!(err["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn pools_translate_on_every_deployment_and_usage_is_counted() {
    let (mock, gw) = setup().await;
    for _ in 0..4 {
        let resp = post_with(
            &gw,
            "/v1/chat/completions",
            &[("x-mock-usage", "10,5,2,1")],
            &chat_body("codex-pool"),
        )
        .await;
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 2);
        assert_eq!(
            v["usage"]["completion_tokens_details"]["reasoning_tokens"],
            1
        );
    }
    let paths: Vec<String> = mock.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths
            .iter()
            .filter(|p| *p == "/openai/v1/responses")
            .count(),
        4,
        "{paths:?}"
    );
    let stats = stats_until(&gw, |s| s["perModel"]["codex-pool"]["promptTokens"] == 40).await;
    assert_eq!(stats["perModel"]["codex-pool"]["promptTokens"], 40);
    assert_eq!(stats["perModel"]["codex-pool"]["reasoningTokens"], 4);
}
