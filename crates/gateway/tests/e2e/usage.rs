//! Usage totals from JSON bodies and from both SSE dialects.

use serde_json::{Value, json};

use crate::common::*;

/// Sends with mock-azure told which token counts to report; expects success.
async fn send(gw: &Gateway, path: &str, body: Value, usage: &str) {
    let resp = post_with(gw, path, &[("x-mock-usage", usage)], &body).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.bytes().await.unwrap();
}

#[tokio::test]
async fn totals_from_json_and_sse() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    // Chat JSON: 11 + 7, cached 3, reasoning 2.
    send(
        &gw,
        "/v1/chat/completions",
        chat_body("gpt-4o-mini"),
        "11,7,3,2",
    )
    .await;
    // Chat SSE with include_usage: the usage chunk before [DONE].
    send(
        &gw,
        "/v1/chat/completions",
        json!({"model": "gpt-4o-mini", "stream": true, "stream_options": {"include_usage": true},
               "messages": [{"role": "user", "content": "hé 🌍"}]}),
        "100,50,40,0",
    )
    .await;
    // Responses SSE: usage inside response.completed.
    send(
        &gw,
        "/v1/responses",
        json!({"model": "gpt-5-mini", "stream": true, "input": "hi"}),
        "20,30,5,12",
    )
    .await;
    // Responses JSON.
    send(
        &gw,
        "/v1/responses",
        json!({"model": "gpt-5-mini", "input": "hi"}),
        "1,2,0,1",
    )
    .await;
    // Embeddings JSON.
    send(
        &gw,
        "/v1/embeddings",
        json!({"model": "text-embedding-3-small", "input": "x"}),
        "9,0,0,0",
    )
    .await;

    let stats = stats_until(&gw, |s| s["totals"]["requests"] == 5).await;
    let chat = &stats["perModel"]["gpt-4o-mini"];
    assert_eq!(chat["requests"], 2, "{stats}");
    assert_eq!(chat["promptTokens"], 111);
    assert_eq!(chat["completionTokens"], 57);
    assert_eq!(chat["totalTokens"], 168);
    assert_eq!(chat["cachedTokens"], 43);
    assert_eq!(chat["reasoningTokens"], 2);
    let gpt5 = &stats["perModel"]["gpt-5-mini"];
    assert_eq!(gpt5["promptTokens"], 21);
    assert_eq!(gpt5["completionTokens"], 32);
    assert_eq!(gpt5["cachedTokens"], 5);
    assert_eq!(gpt5["reasoningTokens"], 13);
    assert_eq!(
        stats["perModel"]["text-embedding-3-small"]["promptTokens"],
        9
    );
    assert_eq!(stats["totals"]["errors"], 0);
    assert_eq!(stats["totals"]["promptTokens"], 141);
}

#[tokio::test]
async fn errors_are_counted_per_model() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-status", "500")],
        &chat_body("gpt-5-mini"),
    )
    .await;
    assert_eq!(resp.status(), 500);
    resp.bytes().await.unwrap();
    assert_eq!(
        post(&gw, "/v1/chat/completions", &chat_body("gpt-5-mini"))
            .await
            .status(),
        200
    );
    let stats = stats_until(&gw, |s| s["totals"]["requests"] == 2).await;
    assert_eq!(stats["perModel"]["gpt-5-mini"]["requests"], 2, "{stats}");
    assert_eq!(stats["perModel"]["gpt-5-mini"]["errors"], 1);
    assert!(stats["startedAt"].as_str().unwrap().ends_with('Z'));
}
