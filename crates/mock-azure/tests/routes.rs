//! Each route family answers in Azure's shape and is recorded exactly.

mod common;

use base64::Engine as _;
use common::{API, KEY, client, post, send_json, send_text, server};
use mock_azure::{MockConfig, MockServer, Outcome};
use serde_json::json;

#[tokio::test]
async fn legacy_chat_json_shape_headers_and_record() {
    let mock = server().await;
    let body = json!({"messages": [{"role": "user", "content": "hi"}], "model": "ignored"});
    let response = post(
        &mock,
        &format!("/openai/deployments/gpt-4o/chat/completions?{API}"),
        &body,
    )
    .header("x-request-id", "req-123")
    .header("x-custom", "kept")
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let h = response.headers();
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["x-request-id"], "req-123");
    assert_eq!(h["x-ms-region"], "Sweden Central");
    assert_eq!(h["x-ratelimit-remaining-requests"], "99");
    assert_eq!(h["x-ratelimit-remaining-tokens"], "99000");
    let apim = h["apim-request-id"].to_str().unwrap().to_owned();
    assert_eq!(apim.len(), 36);
    let v: serde_json::Value = response.json().await.unwrap();
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "gpt-4o-mini-2024-07-18");
    assert!(v["created"].as_u64().unwrap() > 1_700_000_000);
    assert!(v["system_fingerprint"].is_string());
    let choice = &v["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(
        choice["message"]["content"],
        "Hello from mock-azure — héllo 🌍."
    );
    assert!(choice["message"]["refusal"].is_null());
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["content_filter_results"]["hate"]["severity"], "safe");
    assert_eq!(v["prompt_filter_results"][0]["prompt_index"], 0);
    let usage = &v["usage"];
    assert_eq!(usage["prompt_tokens"], 11);
    assert_eq!(usage["completion_tokens"], 7);
    assert_eq!(usage["total_tokens"], 18);
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 3);
    assert_eq!(usage["prompt_tokens_details"]["audio_tokens"], 0);
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 2);
    assert_eq!(
        usage["completion_tokens_details"]["rejected_prediction_tokens"],
        0
    );

    let records = mock.requests();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/openai/deployments/gpt-4o/chat/completions");
    assert_eq!(r.query.as_deref(), Some(API));
    assert_eq!(r.header("api-key"), Some(KEY));
    assert_eq!(r.header("x-custom"), Some("kept"));
    assert_eq!(
        r.body.as_ref(),
        serde_json::to_vec(&body).unwrap().as_slice()
    );
    assert_eq!(r.json(), Some(body));
    assert_eq!(r.deployment.as_deref(), Some("gpt-4o"));
    assert_eq!(
        mock.wait_for_outcome(0, common::TIMEOUT).await,
        Outcome::Completed
    );
}

#[tokio::test]
async fn request_id_defaults_to_the_apim_id() {
    let mock = server().await;
    let path = format!("/openai/deployments/d/chat/completions?{API}");
    let response = post(&mock, &path, &json!({})).send().await.unwrap();
    let h = response.headers();
    assert_eq!(h["x-request-id"], h["apim-request-id"]);
    let second = post(&mock, &path, &json!({})).send().await.unwrap();
    assert_ne!(second.headers()["apim-request-id"], h["apim-request-id"]);
}

#[tokio::test]
async fn legacy_completions_and_responses() {
    let mock = server().await;
    let path = format!("/openai/deployments/instruct/completions?{API}");
    let (status, v) = send_json(post(&mock, &path, &json!({"prompt": "x"}))).await;
    assert_eq!(status, 200);
    assert_eq!(v["object"], "text_completion");
    assert!(v["choices"][0]["logprobs"].is_null());
    assert_eq!(v["choices"][0]["text"], "Hello from mock-azure — héllo 🌍.");
    assert_eq!(
        v["choices"][0]["content_filter_results"]["violence"]["filtered"],
        false
    );
    assert_eq!(v["usage"]["total_tokens"], 18);

    let path = "/openai/responses?api-version=2025-04-01-preview";
    let (status, v) = send_json(post(
        &mock,
        path,
        &json!({"model": "resp-dep", "input": "hi"}),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    let message = &v["output"][0];
    assert_eq!(message["type"], "message");
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["content"][0]["type"], "output_text");
    assert_eq!(message["content"][0]["annotations"], json!([]));
    assert_eq!(v["usage"]["input_tokens"], 11);
    assert_eq!(v["usage"]["output_tokens"], 7);
    assert_eq!(v["usage"]["total_tokens"], 18);
    assert_eq!(v["usage"]["input_tokens_details"]["cached_tokens"], 3);
    assert_eq!(v["usage"]["output_tokens_details"]["reasoning_tokens"], 2);
    let records = mock.requests();
    assert_eq!(records[1].deployment.as_deref(), Some("resp-dep"));
    assert_eq!(
        records[1].query.as_deref(),
        Some("api-version=2025-04-01-preview")
    );
}

#[tokio::test]
async fn embeddings_float_and_base64() {
    let mock = server().await;
    let path = format!("/openai/deployments/emb/embeddings?{API}");
    let (status, v) = send_json(post(&mock, &path, &json!({"input": ["a", "b", "c"]}))).await;
    assert_eq!(status, 200);
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "text-embedding-3-small");
    assert_eq!(v["usage"], json!({"prompt_tokens": 11, "total_tokens": 11}));
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    assert_eq!(data[2]["object"], "embedding");
    assert_eq!(data[2]["index"], 2);
    assert_eq!(data[0]["embedding"].as_array().unwrap().len(), 8);

    let body = json!({"input": "a", "encoding_format": "base64"});
    let (_, b) = send_json(post(&mock, &path, &body)).await;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    assert_eq!(raw.len(), 8 * 4);
    let first = f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
    assert_eq!(first, data[0]["embedding"][0].as_f64().unwrap() as f32);

    let (status, v) = send_json(post(&mock, &path, &json!({"input": []}))).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "BadRequest");
}

#[tokio::test]
async fn images_b64_and_url() {
    let mock = server().await;
    let path = format!("/openai/deployments/dalle/images/generations?{API}");
    let (status, v) = send_json(post(&mock, &path, &json!({"prompt": "a cat", "n": 2}))).await;
    assert_eq!(status, 200);
    assert!(v["created"].is_u64());
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    let png = base64::engine::general_purpose::STANDARD
        .decode(data[0]["b64_json"].as_str().unwrap())
        .unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(data[0]["revised_prompt"], "a cat");
    assert_eq!(
        data[0]["content_filter_results"]["sexual"]["filtered"],
        false
    );
    assert_eq!(
        data[0]["prompt_filter_results"]["jailbreak"]["detected"],
        false
    );

    let body = json!({"prompt": "a cat", "response_format": "url"});
    let (_, v) = send_json(post(&mock, &path, &body)).await;
    assert!(
        v["data"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1/")
    );
}

#[tokio::test]
async fn v1_face_takes_model_from_body_and_bearer_key() {
    let mock = server().await;
    let url = format!("{}/openai/v1/chat/completions", mock.base_url());
    let request = client()
        .post(&url)
        .bearer_auth(KEY)
        .json(&json!({"model": "my-dep"}));
    let (status, v) = send_json(request).await;
    assert_eq!(status, 200);
    assert_eq!(v["object"], "chat.completion");
    let r = &mock.requests()[0];
    assert_eq!(r.deployment.as_deref(), Some("my-dep"));
    assert_eq!(r.query, None);
    assert_eq!(r.header("authorization"), Some("Bearer test-key"));

    for version in ["v1", "preview"] {
        let path = format!("/openai/v1/embeddings?api-version={version}");
        let (status, _) = send_json(post(&mock, &path, &json!({"model": "e", "input": "x"}))).await;
        assert_eq!(status, 200, "{version}");
    }
    let path = format!("/openai/v1/responses?{API}");
    let (status, v) = send_json(post(&mock, &path, &json!({"model": "m"}))).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "BadRequest");

    let (status, text) = send_text(post(&mock, "/openai/v1/chat/completions", &json!({}))).await;
    assert_eq!(status, 400);
    assert_eq!(
        text,
        r#"{"error":{"code":"BadRequest","message":"model is required"}}"#
    );
    let (status, _) = send_json(post(
        &mock,
        "/openai/v1/images/generations",
        &json!({"model": "i", "prompt": "p"}),
    ))
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn engine_face() {
    let mock = server().await;
    for (op, body) in [
        ("chat/completions", json!({"model": "llama"})),
        ("completions", json!({"model": "llama", "prompt": "x"})),
        ("embeddings", json!({"model": "llama", "input": "x"})),
        ("responses", json!({"model": "llama", "input": "x"})),
        (
            "images/generations",
            json!({"model": "llama", "prompt": "x"}),
        ),
    ] {
        let url = format!("{}/v1/{op}", mock.base_url());
        let (status, _) = send_json(client().post(&url).bearer_auth(KEY).json(&body)).await;
        assert_eq!(status, 200, "{op}");
    }
    let records = mock.requests();
    assert_eq!(records.len(), 5);
    assert!(
        records
            .iter()
            .all(|r| r.deployment.as_deref() == Some("llama"))
    );
    assert_eq!(records[3].path, "/v1/responses");
}

#[tokio::test]
async fn unknown_paths_methods_and_deployments() {
    let mock = MockServer::start(MockConfig {
        deployments: Some(vec!["known".to_owned()]),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let not_found = r#"{"error":{"code":"404","message":"Resource not found"}}"#;
    for path in [
        "/openai/deployments/known/audio/unknown",
        "/nope",
        "/openai/v1/models",
    ] {
        let (status, text) = send_text(post(&mock, path, &json!({}))).await;
        assert_eq!((status, text.as_str()), (404, not_found), "{path}");
    }
    let url = format!(
        "{}/openai/deployments/known/chat/completions?{API}",
        mock.base_url()
    );
    let response = client()
        .get(&url)
        .header("api-key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    let path = format!("/openai/deployments/known/chat/completions?{API}");
    assert_eq!(send_json(post(&mock, &path, &json!({}))).await.0, 200);
    let path = format!("/openai/deployments/other/chat/completions?{API}");
    let (status, v) = send_json(post(&mock, &path, &json!({}))).await;
    assert_eq!(status, 404);
    assert_eq!(v["error"]["code"], "DeploymentNotFound");
    let (status, v) = send_json(post(
        &mock,
        "/openai/v1/chat/completions",
        &json!({"model": "x"}),
    ))
    .await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (404, &json!("DeploymentNotFound"))
    );
    // Unknown paths are recorded too, so tests can see stray calls.
    assert_eq!(
        mock.requests()[0].path,
        "/openai/deployments/known/audio/unknown"
    );
}

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let mock = server().await;
    let url = format!(
        "{}/openai/deployments/d/chat/completions?{API}",
        mock.base_url()
    );
    let request = client().post(&url).header("api-key", KEY).body("{not json");
    let (status, v) = send_json(request).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "BadRequest");
    assert!(v["error"]["message"].as_str().unwrap().contains("JSON"));
    assert_eq!(mock.requests()[0].body.as_ref(), b"{not json");
}
