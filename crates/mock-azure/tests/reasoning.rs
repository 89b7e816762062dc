//! Azure's request checks: reasoning deployments' parameter refusals, operations a
//! model does not serve, and the cross-parameter rules every deployment follows.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{API, KEY, data, post, send_json, send_text, server, split_events, stream_text};
use mock_azure::{MockConfig, MockServer};
use serde_json::{Value, json};

fn chat(deployment: &str) -> String {
    format!("/openai/deployments/{deployment}/chat/completions?{API}")
}

fn user() -> Value {
    json!([{"role": "user", "content": "hi"}])
}

/// The `invalid_request_error` envelope, exactly.
fn invalid(message: &str, param: Option<&str>, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": "invalid_request_error", "param": param,
                     "code": code}})
}

async fn refused(mock: &MockServer, path: &str, body: Value) -> Value {
    let (status, v) = send_json(post(mock, path, &body)).await;
    assert_eq!(status, 400, "{body}: {v}");
    v
}

async fn accepted(mock: &MockServer, path: &str, body: Value) -> Value {
    let (status, v) = send_json(post(mock, path, &body)).await;
    assert_eq!(status, 200, "{body}: {v}");
    v
}

#[tokio::test]
async fn max_tokens_is_refused_but_max_completion_tokens_accepted() {
    let mock = server().await;
    let path = chat("gpt-5-mini");
    let v = refused(&mock, &path, json!({"messages": user(), "max_tokens": 50})).await;
    let message = "Unsupported parameter: 'max_tokens' is not supported with this model. Use \
                   'max_completion_tokens' instead.";
    assert_eq!(
        v,
        invalid(message, Some("max_tokens"), Some("unsupported_parameter"))
    );
    let v = accepted(
        &mock,
        &path,
        json!({"messages": user(), "max_completion_tokens": 50}),
    )
    .await;
    assert_eq!(
        v["usage"]["completion_tokens_details"]["reasoning_tokens"],
        2
    );
    // Not a reasoning model: max_tokens is fine.
    accepted(
        &mock,
        &chat("gpt-4o"),
        json!({"messages": user(), "max_tokens": 50}),
    )
    .await;
    accepted(
        &mock,
        &chat("gpt-5-chat"),
        json!({"messages": user(), "max_tokens": 50, "temperature": 0.2}),
    )
    .await;
}

#[tokio::test]
async fn every_azure_face_checks_reasoning_deployments() {
    let mock = server().await;
    let body = |model: &str| json!({"model": model, "messages": user(), "max_tokens": 5});
    for (path, model) in [
        (chat("o3-mini"), "x"),
        ("/openai/v1/chat/completions".to_owned(), "o4-mini"),
        ("/v1/chat/completions".to_owned(), "O1"),
        ("/v1/chat/completions".to_owned(), "gpt-5.1"),
    ] {
        let v = refused(&mock, &path, body(model)).await;
        assert_eq!(v["error"]["code"], "unsupported_parameter", "{path}");
    }
    // The model inference face has its own rules.
    let request = post(
        &mock,
        "/models/chat/completions?api-version=2025-04-01",
        &body("o3"),
    );
    assert_eq!(send_json(request).await.0, 200);
}

#[tokio::test]
async fn sampling_parameters_only_at_their_defaults() {
    let mock = server().await;
    let path = chat("o3");
    for (param, value, default) in [
        ("temperature", json!(0.5), "1"),
        ("top_p", json!(0.9), "1"),
        ("presence_penalty", json!(0.5), "0"),
        ("frequency_penalty", json!(-1), "0"),
    ] {
        let mut body = json!({"messages": user()});
        body[param] = value.clone();
        let v = refused(&mock, &path, body).await;
        let message = format!(
            "Unsupported value: '{param}' does not support {value} with this model. Only the \
             default ({default}) value is supported."
        );
        assert_eq!(v, invalid(&message, Some(param), Some("unsupported_value")));
    }
    let defaults = json!({"messages": user(), "temperature": 1, "top_p": 1.0,
                          "presence_penalty": 0, "frequency_penalty": 0.0});
    accepted(&mock, &path, defaults).await;
    let v = refused(&mock, &path, json!({"messages": user(), "logit_bias": {}})).await;
    let message = "Unsupported parameter: 'logit_bias' is not supported with this model.";
    assert_eq!(
        v,
        invalid(message, Some("logit_bias"), Some("unsupported_parameter"))
    );
    let v = refused(&mock, &path, json!({"messages": user(), "top_k": 40})).await;
    assert_eq!(
        v,
        invalid("Unrecognized request argument supplied: top_k", None, None)
    );
    let v = refused(
        &mock,
        &path,
        json!({"messages": user(), "service_tier": "auto"}),
    )
    .await;
    let message = "Unsupported parameter: 'service_tier' is not supported with this model.";
    assert_eq!(
        v,
        invalid(message, Some("service_tier"), Some("unsupported_parameter"))
    );
}

#[tokio::test]
async fn reasoning_effort_values() {
    let mock = server().await;
    let path = chat("gpt-5");
    for effort in ["none", "minimal", "low", "medium", "high"] {
        accepted(
            &mock,
            &path,
            json!({"messages": user(), "reasoning_effort": effort}),
        )
        .await;
    }
    let v = refused(
        &mock,
        &path,
        json!({"messages": user(), "reasoning_effort": "xhigh"}),
    )
    .await;
    let message = "Invalid value: 'xhigh'. Supported values are: 'none', 'minimal', 'low', \
                   'medium', and 'high'.";
    assert_eq!(
        v,
        invalid(message, Some("reasoning_effort"), Some("invalid_value"))
    );
    // Responses: `reasoning.effort`, and temperature as an unsupported parameter.
    let responses = "/openai/v1/responses";
    accepted(
        &mock,
        responses,
        json!({"model": "gpt-5", "input": "hi", "reasoning": {"effort": "minimal"}}),
    )
    .await;
    let v = refused(
        &mock,
        responses,
        json!({"model": "gpt-5", "input": "hi", "reasoning": {"effort": "xhigh"}}),
    )
    .await;
    assert_eq!(
        v,
        invalid(message, Some("reasoning.effort"), Some("invalid_value"))
    );
    for param in ["temperature", "top_p"] {
        let mut body = json!({"model": "o4-mini", "input": "hi"});
        body[param] = json!(0.2);
        let v = refused(&mock, responses, body).await;
        let message = format!("Unsupported parameter: '{param}' is not supported with this model.");
        assert_eq!(
            v,
            invalid(&message, Some(param), Some("unsupported_parameter"))
        );
    }
    accepted(
        &mock,
        responses,
        json!({"model": "o4-mini", "input": "hi", "temperature": 1}),
    )
    .await;
    accepted(
        &mock,
        responses,
        json!({"model": "gpt-4o", "input": "hi", "temperature": 0.2}),
    )
    .await;
}

#[tokio::test]
async fn first_problem_wins_in_a_fixed_order() {
    let mock = server().await;
    let body = json!({"messages": user(), "temperature": 0.5, "max_tokens": 3,
                      "stream_options": {"include_usage": true}});
    let v = refused(&mock, &chat("o1"), body).await;
    assert_eq!(v["error"]["param"], "stream_options");
    let body = json!({"messages": user(), "temperature": 0.5, "max_tokens": 3});
    let v = refused(&mock, &chat("o1"), body).await;
    assert_eq!(v["error"]["param"], "max_tokens");
}

#[tokio::test]
async fn configured_names_extend_the_families() {
    let mock = MockServer::start(MockConfig {
        key: Some(KEY.to_owned()),
        reasoning: vec!["dep-gpt5".to_owned()],
        responses_only: vec!["dep-resp".to_owned()],
        chat_only: vec!["dep-chat".to_owned(), "gpt-5-codex".to_owned()],
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let v = refused(
        &mock,
        &chat("dep-gpt5"),
        json!({"messages": user(), "max_tokens": 9}),
    )
    .await;
    assert_eq!(v["error"]["code"], "unsupported_parameter");
    let v = refused(&mock, &chat("dep-resp"), json!({"messages": user()})).await;
    assert_eq!(v["error"]["code"], "OperationNotSupported");
    // chat_only wins over a Responses-only name, and also holds on the engine face.
    accepted(&mock, &chat("gpt-5-codex"), json!({"messages": user()})).await;
    for path in ["/openai/v1/responses", "/v1/responses"] {
        let (status, text) = send_text(post(
            &mock,
            path,
            &json!({"model": "dep-chat", "input": "hi"}),
        ))
        .await;
        assert_eq!(status, 400);
        let expected = r#"{"error":{"code":"OperationNotSupported","message":"The responses operation does not work with the specified model, dep-chat. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993."}}"#;
        assert_eq!(text, expected, "{path}");
    }
}

#[tokio::test]
async fn responses_only_deployments_refuse_chat() {
    let mock = server().await;
    for name in [
        "gpt-5-codex",
        "gpt-5.1-codex-mini",
        "codex-mini",
        "gpt-5-pro",
        "o3-pro",
    ] {
        let (status, text) =
            send_text(post(&mock, &chat(name), &json!({"messages": user()}))).await;
        assert_eq!(status, 400, "{name}");
        let expected = format!(
            r#"{{"error":{{"code":"OperationNotSupported","message":"The chatCompletion operation does not work with the specified model, {name}. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993."}}}}"#
        );
        assert_eq!(text, expected);
        accepted(
            &mock,
            "/openai/v1/responses",
            json!({"model": name, "input": "hi"}),
        )
        .await;
    }
    let request = post(
        &mock,
        "/v1/chat/completions",
        &json!({"model": "gpt-5-codex", "messages": user()}),
    );
    assert_eq!(
        send_json(request).await.1["error"]["code"],
        "OperationNotSupported"
    );
}

#[tokio::test]
async fn rules_for_every_deployment() {
    let mock = server().await;
    let message = "The 'stream_options' parameter is only allowed when 'stream' is enabled.";
    let stream_options = invalid(message, Some("stream_options"), Some("invalid_value"));
    let completions = format!("/openai/deployments/gpt-4o/completions?{API}");
    for (path, stream) in [
        (chat("gpt-4o"), json!(false)),
        (chat("gpt-4o"), json!(null)),
        (completions.clone(), json!(false)),
    ] {
        let body = json!({"messages": user(), "prompt": "x", "stream": stream,
                          "stream_options": {"include_usage": true}});
        assert_eq!(refused(&mock, &path, body).await, stream_options, "{path}");
    }
    let unknown = invalid(
        "Unknown parameter: 'stream_options'.",
        Some("stream_options"),
        Some("unknown_parameter"),
    );
    for (path, body) in [
        (
            format!("/openai/deployments/emb/embeddings?{API}"),
            json!({"input": "x", "stream_options": {}}),
        ),
        (
            format!("/openai/deployments/img/images/generations?{API}"),
            json!({"prompt": "x", "stream_options": {"include_usage": true}}),
        ),
    ] {
        assert_eq!(refused(&mock, &path, body).await, unknown, "{path}");
    }

    let v = refused(
        &mock,
        &chat("gpt-4o"),
        json!({"messages": user(), "top_logprobs": 2}),
    )
    .await;
    let message = "'logprobs' must be set to true if 'top_logprobs' is used.";
    assert_eq!(
        v,
        invalid(message, Some("top_logprobs"), Some("invalid_value"))
    );
    accepted(
        &mock,
        &chat("gpt-4o"),
        json!({"messages": user(), "top_logprobs": 2, "logprobs": true}),
    )
    .await;

    for kind in [
        "web_search",
        "web_search_preview",
        "web_search_preview_2025_03_11",
    ] {
        let body = json!({"messages": user(), "tools": [{"type": kind}]});
        let v = refused(&mock, &chat("gpt-4o"), body).await;
        let message =
            format!("Invalid value: '{kind}'. web search is not supported in chat completions.");
        assert_eq!(v, invalid(&message, Some("tools"), Some("invalid_value")));
    }
    // Responses takes web search.
    let body = json!({"model": "gpt-4o", "input": "hi", "tools": [{"type": "web_search"}]});
    accepted(&mock, "/openai/v1/responses", body).await;
}

#[tokio::test]
async fn reasoning_responses_carry_a_reasoning_item() {
    let mock = server().await;
    let v = accepted(
        &mock,
        "/openai/v1/responses",
        json!({"model": "gpt-5", "input": "hi"}),
    )
    .await;
    let output = v["output"].as_array().unwrap();
    assert_eq!(output.len(), 2);
    assert_eq!(output[0]["type"], "reasoning");
    assert_eq!(output[0]["summary"], json!([]));
    assert!(output[0]["id"].as_str().unwrap().starts_with("rs_"));
    assert_eq!(output[1]["type"], "message");
    assert_eq!(v["usage"]["output_tokens_details"]["reasoning_tokens"], 2);

    let text = stream_text(
        &mock,
        "/openai/v1/responses",
        json!({"model": "gpt-5", "input": "hi", "stream": true}),
    )
    .await;
    let events: Vec<Value> = split_events(&text).iter().map(|e| data(e)).collect();
    for (n, event) in events.iter().enumerate() {
        assert_eq!(event["sequence_number"], n);
    }
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds[..5],
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.output_item.done",
            "response.output_item.added",
        ]
    );
    let reasoning = &events[2]["item"];
    assert_eq!(reasoning["type"], "reasoning");
    assert_eq!(
        (
            events[2]["output_index"].as_u64(),
            events[4]["output_index"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert_eq!(events[3]["item"], *reasoning);
    assert_eq!(events[4]["item"]["type"], "message");
    let completed = events.last().unwrap();
    assert_eq!(completed["type"], "response.completed");
    assert_eq!(completed["response"]["output"][0], *reasoning);
    assert_eq!(
        completed["response"]["output"][1]["id"],
        events[4]["item"]["id"]
    );
}
