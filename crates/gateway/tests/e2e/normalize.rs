//! Request normalization, one golden test per rule: the exact body mock-azure recorded, and
//! what the client was told (`x-aoai-gateway-dropped-params`, early 400s).

use serde_json::{Value, json};

use crate::common::*;

const DROPPED: &str = "x-aoai-gateway-dropped-params";

/// The base config plus models that exercise family inference and per-model switches.
fn normalize_config(mock_url: &str) -> Value {
    let mut cfg = config(mock_url);
    let models = cfg["models"].as_array_mut().unwrap();
    models.extend([
        // The alias says nothing; the configured family decides.
        json!({"id": "house-reasoner", "upstream": "v1", "targetModel": "prod-thinker",
               "family": "reasoning"}),
        // The deployment's name says reasoning.
        json!({"id": "house-default", "upstream": "v1", "targetModel": "o4-mini"}),
        // A chat variant of gpt-5 takes sampling parameters.
        json!({"id": "gpt-5-chat", "upstream": "v1", "targetModel": "gpt-5-chat"}),
        // Rules switched one by one.
        json!({"id": "o3-custom", "upstream": "v1", "targetModel": "o3",
               "normalize": {"maxCompletionTokens": false, "keepParams": ["verbosity"]}}),
        json!({"id": "o3-raw", "upstream": "v1", "targetModel": "o3",
               "normalize": {"enabled": false}}),
        json!({"id": "gpt-4o-drop", "upstream": "v1", "targetModel": "gpt-4o",
               "normalize": {"annotations": "drop", "streamUsage": false}}),
    ]);
    cfg
}

async fn setup() -> (mock_azure::MockServer, Gateway) {
    let mock = mock().await;
    let gw = Gateway::start(&normalize_config(&mock.base_url())).await;
    (mock, gw)
}

/// Sends `body` verbatim; returns the response and the body mock-azure recorded (as text).
async fn exchange(
    gw: &Gateway,
    mock: &mock_azure::MockServer,
    path: &str,
    body: &str,
) -> (reqwest::Response, Option<String>) {
    mock.clear();
    let resp = post_raw(gw, path, body.to_owned()).await;
    let recorded = mock
        .requests()
        .last()
        .map(|r| String::from_utf8(r.body.to_vec()).unwrap());
    (resp, recorded)
}

fn dropped(resp: &reqwest::Response) -> Option<&str> {
    resp.headers().get(DROPPED).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn reasoning_chat_golden() {
    let (mock, gw) = setup().await;
    let body = r#"{"model":"gpt-5-mini","max_tokens":50,"messages":[{"role":"user","content":"hi"}],"temperature":0.2,"top_p":0.9,"presence_penalty":0.1,"frequency_penalty":0.1,"logit_bias":{"50256":-100},"top_logprobs":2,"reasoning_effort":"XHIGH","service_tier":"auto","verbosity":"low","top_k":5}"#;
    let (resp, sent) = exchange(&gw, &mock, "/v1/chat/completions", body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        dropped(&resp),
        Some(
            "temperature, top_p, presence_penalty, frequency_penalty, logit_bias, service_tier, verbosity, top_k"
        )
    );
    assert_eq!(
        sent.unwrap(),
        r#"{"model":"dep-gpt5","max_completion_tokens":50,"messages":[{"role":"user","content":"hi"}],"top_logprobs":2,"reasoning_effort":"high","logprobs":true}"#
    );
}

#[tokio::test]
async fn accepted_efforts_pass_byte_for_byte() {
    let (mock, gw) = setup().await;
    for effort in ["minimal", "none", "low", "medium", "high"] {
        let body = format!(
            r#"{{"model":"gpt-5-mini","messages":[{{"role":"user","content":"hi"}}],"reasoning_effort":"{effort}","max_completion_tokens":9}}"#
        );
        let (resp, sent) = exchange(&gw, &mock, "/v1/chat/completions", &body).await;
        assert_eq!(resp.status(), 200, "{effort}");
        assert_eq!(dropped(&resp), None);
        assert_eq!(sent.unwrap(), body.replace("gpt-5-mini", "dep-gpt5"));
    }
}

#[tokio::test]
async fn unknown_effort_is_refused_before_upstream() {
    let (mock, gw) = setup().await;
    let body = r#"{"model":"gpt-5-mini","messages":[],"reasoning_effort":"ultra"}"#;
    let (resp, sent) = exchange(&gw, &mock, "/v1/chat/completions", body).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(sent, None, "nothing reached Azure");
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "invalid_value");
    assert_eq!(err["error"]["param"], "reasoning_effort");
    assert_eq!(err["error"]["type"], "invalid_request_error");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("'minimal'") && message.contains("ultra"),
        "{message}"
    );
}

#[tokio::test]
async fn family_from_config_and_names() {
    let (mock, gw) = setup().await;
    let body = |model: &str| {
        format!(r#"{{"model":"{model}","messages":[],"max_tokens":7,"temperature":0.5}}"#)
    };
    for (alias, deployment) in [
        ("house-reasoner", "prod-thinker"),
        ("house-default", "o4-mini"),
    ] {
        let (resp, sent) = exchange(&gw, &mock, "/v1/chat/completions", &body(alias)).await;
        assert_eq!(resp.status(), 200, "{alias}");
        assert_eq!(dropped(&resp), Some("temperature"), "{alias}");
        assert_eq!(
            sent.unwrap(),
            format!(r#"{{"model":"{deployment}","messages":[],"max_completion_tokens":7}}"#)
        );
    }
    for alias in ["gpt-5-chat", "gpt-4o-mini"] {
        let (resp, sent) = exchange(&gw, &mock, "/v1/chat/completions", &body(alias)).await;
        assert_eq!(resp.status(), 200, "{alias}");
        assert_eq!(dropped(&resp), None, "{alias} is a chat model");
        let sent: Value = serde_json::from_str(&sent.unwrap()).unwrap();
        assert_eq!(sent["max_tokens"], 7);
        assert_eq!(sent["temperature"], 0.5);
    }
}

#[tokio::test]
async fn rules_switch_off_per_model() {
    let (mock, gw) = setup().await;
    let body = r#"{"model":"o3-custom","messages":[],"max_tokens":7,"verbosity":"low","top_p":1}"#;
    let (resp, sent) = exchange(&gw, &mock, "/v1/chat/completions", body).await;
    assert_eq!(dropped(&resp), Some("top_p"));
    assert_eq!(
        sent.unwrap(),
        r#"{"model":"o3","messages":[],"max_tokens":7,"verbosity":"low"}"#
    );
    let body = r#"{"model":"o3-raw","messages":[],"max_tokens":7,"temperature":0.1,"stream_options":{"include_usage":true},"reasoning_effort":"xhigh"}"#;
    let (resp, sent) = exchange(&gw, &mock, "/v1/chat/completions", body).await;
    assert_eq!(dropped(&resp), None);
    assert_eq!(sent.unwrap(), body.replace("o3-raw", "o3"), "untouched");
}

#[tokio::test]
async fn reasoning_responses_golden() {
    let (mock, gw) = setup().await;
    let body = r#"{"model":"gpt-5-mini","input":"hi","max_tokens":40,"temperature":0.3,"reasoning":{"effort":"xhigh","summary":"auto"},"top_p":0.5}"#;
    let (resp, sent) = exchange(&gw, &mock, "/v1/responses", body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(dropped(&resp), Some("temperature, top_p"));
    assert_eq!(
        sent.unwrap(),
        r#"{"model":"dep-gpt5","input":"hi","max_output_tokens":40,"reasoning":{"effort":"high","summary":"auto"}}"#
    );
}

#[tokio::test]
async fn web_search_gets_an_early_400() {
    let (mock, gw) = setup().await;
    for (body, param) in [
        (
            r#"{"model":"gpt-4o-mini","messages":[],"tools":[{"type":"web_search_preview"}]}"#,
            "tools",
        ),
        (
            r#"{"model":"gpt-5-mini","messages":[],"web_search_options":{}}"#,
            "web_search_options",
        ),
    ] {
        let (resp, sent) = exchange(&gw, &mock, "/v1/chat/completions", body).await;
        assert_eq!(resp.status(), 400);
        assert_eq!(sent, None);
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"]["param"], param);
        assert_eq!(err["error"]["code"], "unsupported_parameter");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("web search cannot run on Azure OpenAI"),
            "{err}"
        );
    }
    // An OpenAI-compatible engine may run it: passed on.
    let body = r#"{"model":"llama","messages":[],"tools":[{"type":"web_search_preview"}]}"#;
    let (_, sent) = exchange(&gw, &mock, "/v1/chat/completions", body).await;
    assert!(sent.unwrap().contains("web_search_preview"));
}

#[tokio::test]
async fn stream_options_removed_where_refused() {
    let (mock, gw) = setup().await;
    let body = r#"{"model":"gpt-4o-mini","messages":[],"stream_options":{"include_usage":true}}"#;
    let (resp, sent) = exchange(&gw, &mock, "/v1/chat/completions", body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(dropped(&resp), Some("stream_options"));
    assert_eq!(sent.unwrap(), r#"{"model":"dep-4o-mini","messages":[]}"#);
    let body = r#"{"model":"text-embedding-3-small","input":"x","stream_options":null}"#;
    let (resp, sent) = exchange(&gw, &mock, "/v1/embeddings", body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(sent.unwrap(), r#"{"model":"emb","input":"x"}"#);
    // Streaming and asked for: kept as sent.
    let body = r#"{"model":"gpt-4o-mini","stream":true,"messages":[],"stream_options":{"include_usage":true}}"#;
    let (resp, sent) = exchange(&gw, &mock, "/v1/chat/completions", body).await;
    assert_eq!(dropped(&resp), None);
    assert_eq!(sent.unwrap(), body.replace("gpt-4o-mini", "dep-4o-mini"));
    let events = sse_events(resp).await.unwrap();
    let usage = &events[events.len() - 2].1;
    assert!(usage.contains(r#""choices":[]"#) && usage.contains(r#""usage":{"#));
}

#[tokio::test]
async fn usage_is_asked_for_and_its_chunk_kept_from_the_client() {
    let (mock, gw) = setup().await;
    let body =
        r#"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    mock.clear();
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-usage", "31,17,8,0")],
        &serde_json::from_str(body).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(dropped(&resp), None);
    let events = sse_events(resp).await.unwrap();
    let sent = mock.requests()[0].json().unwrap();
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));
    assert_eq!(events.last().unwrap().1, "[DONE]");
    for (_, data) in &events[..events.len() - 1] {
        let chunk: Value = serde_json::from_str(data).unwrap();
        let usage_only = chunk["choices"] == json!([]) && chunk["usage"].is_object();
        assert!(!usage_only, "the usage chunk reached the client: {data}");
    }
    // Content and finish chunks all came through (prompt filter, role, 5 deltas, finish).
    assert_eq!(events.len(), 1 + 1 + 5 + 1 + 1);
    // Accounting still saw the usage.
    let stats = stats_until(&gw, |s| s["totals"]["promptTokens"] == 31).await;
    assert_eq!(stats["totals"]["promptTokens"], 31);
    assert_eq!(stats["totals"]["completionTokens"], 17);
    assert_eq!(stats["totals"]["cachedTokens"], 8);

    // Switched off for a model: the stream goes as the client asked.
    mock.clear();
    let body = json!({"model": "gpt-4o-drop", "stream": true, "messages": []});
    let resp = post(&gw, "/v1/chat/completions", &body).await;
    sse_events(resp).await.unwrap();
    assert!(
        mock.requests()[0]
            .json()
            .unwrap()
            .get("stream_options")
            .is_none()
    );
}

#[tokio::test]
async fn content_filter_refusal_is_openai_shaped_and_counted() {
    let (mock, gw) = setup().await;
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-content-filter", "true")],
        &chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "content_filter");
    assert_eq!(err["error"]["type"], "invalid_request_error");
    assert_eq!(err["error"]["param"], "prompt");
    assert_eq!(
        err["error"]["innererror"]["code"],
        "ResponsibleAIPolicyViolation"
    );
    assert!(err["error"]["innererror"]["content_filter_result"]["hate"]["filtered"].is_boolean());
    let stats = stats_until(&gw, |s| s["totals"]["contentFiltered"] == 1).await;
    assert_eq!(stats["totals"]["contentFiltered"], 1);
    drop(mock);
}

#[tokio::test]
async fn without_the_rules_azure_refuses() {
    let (mock, gw) = setup().await;
    // o3-raw has normalization off: the reasoning deployment answers as Azure does.
    let body = r#"{"model":"o3-raw","messages":[],"max_tokens":7}"#;
    let (resp, _) = exchange(&gw, &mock, "/v1/chat/completions", body).await;
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "unsupported_parameter");
    assert_eq!(err["error"]["param"], "max_tokens");
    // The same request through the rules is answered.
    let body = r#"{"model":"house-default","messages":[],"max_tokens":7,"temperature":0.3,"reasoning_effort":"minimal"}"#;
    let (resp, _) = exchange(&gw, &mock, "/v1/chat/completions", body).await;
    assert_eq!(resp.status(), 200);
}

/// Data payloads of an SSE response, split into annotations and the rest.
async fn annotations_and_rest(resp: reqwest::Response) -> (usize, Vec<String>) {
    let events = sse_events(resp).await.unwrap();
    let mut annotations = 0;
    let mut rest = Vec::new();
    for (_, data) in events {
        if data.contains("content_filter_offsets") {
            annotations += 1;
        } else {
            rest.push(data);
        }
    }
    (annotations, rest)
}

#[tokio::test]
async fn annotation_events_pass_or_are_dropped() {
    let (_mock, gw) = setup().await;
    let headers = [("x-mock-async-filter", "true"), ("x-mock-split", "7")];
    let body = |model: &str| json!({"model": model, "stream": true, "messages": []});
    let resp = post_with(&gw, "/v1/chat/completions", &headers, &body("gpt-4o-mini")).await;
    assert_eq!(resp.status(), 200);
    let (passed, kept) = annotations_and_rest(resp).await;
    // Five deltas: one annotation after every two, and one after the finish chunk.
    assert_eq!(passed, 3);
    let resp = post_with(&gw, "/v1/chat/completions", &headers, &body("gpt-4o-drop")).await;
    let (dropped_count, rest) = annotations_and_rest(resp).await;
    assert_eq!(dropped_count, 0);
    assert_eq!(rest.len(), kept.len(), "everything else still arrives");
    assert_eq!(rest.last().unwrap(), "[DONE]");
    let text: String = rest
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, "Hello from mock-azure — héllo 🌍.");
}

#[tokio::test]
async fn filtered_completions_are_counted() {
    let (_mock, gw) = setup().await;
    let headers = [("x-mock-filter-finish", "true")];
    let body = json!({"model": "gpt-4o-mini", "stream": true, "messages": []});
    let resp = post_with(&gw, "/v1/chat/completions", &headers, &body).await;
    let events = sse_events(resp).await.unwrap();
    assert!(
        events
            .iter()
            .any(|(_, d)| d.contains(r#""finish_reason":"content_filter""#))
    );
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &headers,
        &chat_body("gpt-4o-mini"),
    )
    .await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "content_filter");
    let stats = stats_until(&gw, |s| s["totals"]["contentFiltered"] == 2).await;
    assert_eq!(stats["totals"]["contentFiltered"], 2);
    assert_eq!(stats["perModel"]["gpt-4o-mini"]["contentFiltered"], 2);
}
