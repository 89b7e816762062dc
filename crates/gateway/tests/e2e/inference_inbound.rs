//! Azure AI Model Inference clients: `/chat/completions`, `/embeddings`, `/info` (also under
//! `/models`), served by any upstream kind.

use serde_json::{Value, json};

use crate::common::*;

const V: &str = "api-version=2025-04-01";

async fn post_inference(
    gw: &Gateway,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> reqwest::Response {
    post_with(gw, path, headers, body).await
}

#[tokio::test]
async fn chat_through_the_models_prefix_reaches_an_engine() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    for path in ["/models/chat/completions", "/chat/completions"] {
        let resp = post_inference(
            &gw,
            &format!("{path}?{V}"),
            &[],
            &json!({"model": "llama", "messages": [{"role": "user", "content": "hi"}],
                    "temperature": 0.2}),
        )
        .await;
        assert_eq!(resp.status(), 200, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["object"], "chat.completion");
    }
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2);
    for r in reqs {
        assert_eq!(r.path, "/v1/chat/completions");
        assert_eq!(r.query, None);
        assert_eq!(r.json().unwrap()["model"], "meta-llama/Llama-3.1-8B");
        assert_eq!(r.json().unwrap()["temperature"], 0.2);
        assert_eq!(r.header("extra-parameters"), None);
    }
}

#[tokio::test]
async fn api_version_is_required_and_checked() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let body = json!({"model": "llama", "messages": []});
    let resp = post_inference(&gw, "/models/chat/completions", &[], &body).await;
    assert_eq!(resp.status(), 400);
    let json: Value = resp.json().await.unwrap();
    assert_eq!(json["error"]["code"], "BadRequest");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api-version")
    );
    let resp = post_inference(
        &gw,
        "/embeddings?api-version=2024-10-21",
        &[],
        &json!({"model": "llama", "input": "x"}),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let json: Value = resp.json().await.unwrap();
    assert_eq!(json["error"]["message"], "API version not supported");
    let resp = post_inference(
        &gw,
        "/models/chat/completions?api-version=2024-05-01-preview",
        &[],
        &body,
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn extra_parameters_error_drop_and_pass_through() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let body = json!({"model": "llama", "messages": [{"role": "user", "content": "hi"}],
                      "n": 2, "safe_prompt": true});
    let path = format!("/models/chat/completions?{V}");
    let resp = post_inference(&gw, &path, &[], &body).await;
    assert_eq!(resp.status(), 422);
    let json: Value = resp.json().await.unwrap();
    assert_eq!(json["status"], 422);
    assert_eq!(json["code"], "extra_parameters_not_allowed");
    assert_eq!(json["detail"]["loc"], json!(["body", "n"]));
    assert_eq!(json["detail"]["input"], 2);
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("['n', 'safe_prompt']")
    );
    assert!(mock.requests().is_empty(), "a refused request goes nowhere");

    let resp = post_inference(&gw, &path, &[("extra-parameters", "drop")], &body).await;
    assert_eq!(resp.status(), 200);
    let resp = post_inference(&gw, &path, &[("extra-parameters", "pass-through")], &body).await;
    assert_eq!(resp.status(), 200);
    let resp = post_inference(&gw, &path, &[("extra-parameters", "maybe")], &body).await;
    assert_eq!(resp.status(), 400);

    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2);
    let dropped = reqs[0].json().unwrap();
    assert!(dropped.get("n").is_none() && dropped.get("safe_prompt").is_none());
    assert_eq!(dropped["messages"][0]["content"], "hi");
    let passed = reqs[1].json().unwrap();
    assert_eq!(
        (passed["n"].clone(), passed["safe_prompt"].clone()),
        (json!(2), json!(true))
    );
    // The policy is the gateway's; the header itself never goes to an OpenAI-style engine.
    assert_eq!(reqs[1].header("extra-parameters"), None);
}

#[tokio::test]
async fn deployment_header_picks_the_alias_and_stays_home() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = post_inference(
        &gw,
        &format!("/models/embeddings?{V}"),
        &[("azureml-model-deployment", "text-embedding-3-small")],
        &json!({"input": ["a"], "input_type": "query"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"][0]["object"], "embedding");
    let r = &mock.requests()[0];
    assert_eq!(r.path, "/openai/deployments/emb/embeddings");
    assert_eq!(r.header("azureml-model-deployment"), None);
}

#[tokio::test]
async fn several_models_and_none_named_is_a_400() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = post_inference(
        &gw,
        &format!("/chat/completions?{V}"),
        &[],
        &json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("azureml-model-deployment")
    );
    assert!(mock.requests().is_empty());
}

/// A gateway serving one model, on an OpenAI-compatible engine: the seed's use case.
fn one_engine_model(mock_url: &str) -> Value {
    let mut cfg = config(mock_url);
    cfg["models"] = json!([
        {"id": "Phi-4", "upstream": "engine", "targetModel": "microsoft/Phi-4",
         "provider": "Microsoft (via vLLM)"}
    ]);
    cfg
}

#[tokio::test]
async fn one_model_needs_no_model_field_and_info_describes_it() {
    let mock = mock().await;
    let gw = Gateway::start(&one_engine_model(&mock.base_url())).await;
    let resp = post_inference(
        &gw,
        &format!("/models/chat/completions?{V}"),
        &[],
        &json!({"messages": [{"role": "user", "content": "hi"}], "stream": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let events = sse_events(resp).await.unwrap();
    assert_eq!(events.last().unwrap().1, "[DONE]");
    let sent = mock.requests()[0].json().unwrap();
    assert_eq!(
        sent["model"], "microsoft/Phi-4",
        "the engine needs a model: added"
    );

    let info: Value = get(&gw, &format!("/models/info?{V}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        info,
        json!({"model_name": "Phi-4", "model_type": "chat-completions",
               "model_provider_name": "Microsoft (via vLLM)"})
    );
    let resp = get(&gw, "/info").await;
    assert_eq!(resp.status(), 400, "info needs api-version too");
}

#[tokio::test]
async fn info_by_query_or_header() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let info: Value = get(&gw, &format!("/info?{V}&model=text-embedding-3-small"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["model_type"], "embeddings");
    assert_eq!(info["model_provider_name"], "OpenAI");
    let resp = client()
        .get(gw.url(&format!("/models/info?{V}")))
        .bearer_auth(CLIENT_KEY)
        .header("azureml-model-deployment", "llama")
        .send()
        .await
        .unwrap();
    let info: Value = resp.json().await.unwrap();
    assert_eq!(info["model_name"], "llama");
    assert_eq!(info["model_provider_name"], "Meta");
    let resp = get(&gw, &format!("/models/info?{V}")).await;
    assert_eq!(resp.status(), 400, "several models and none named");
    let resp = get(&gw, &format!("/models/info?{V}&model=nope")).await;
    assert_eq!(resp.status(), 404);
    let resp = client()
        .get(gw.url(&format!("/models/info?{V}&model=llama")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

/// The config plus a Foundry `/models` upstream (`kind: inference`) serving `Phi-4`.
fn with_foundry(mock_url: &str) -> Value {
    let mut cfg = config(mock_url);
    cfg["upstreams"].as_array_mut().unwrap().push(json!(
        {"name": "foundry", "baseUrl": format!("{mock_url}/models"), "kind": "inference"}
    ));
    cfg["models"].as_array_mut().unwrap().push(json!(
        {"id": "phi", "upstream": "foundry", "targetModel": "Phi-4"}
    ));
    cfg
}

#[tokio::test]
async fn openai_clients_reach_a_foundry_models_endpoint() {
    let mock = mock().await;
    let gw = Gateway::start(&with_foundry(&mock.base_url())).await;
    // OpenAI-only parameters (`n`, `user`, `stream_options`) would be a 422 from Foundry
    // without `extra-parameters: pass-through`.
    let resp = post(
        &gw,
        "/v1/chat/completions",
        &json!({"model": "phi", "messages": [{"role": "user", "content": "hi"}],
                "n": 1, "user": "u1", "stream": true,
                "stream_options": {"include_usage": true}}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let events = sse_events(resp).await.unwrap();
    assert_eq!(events.last().unwrap().1, "[DONE]");
    let usage_chunk: Value = serde_json::from_str(&events[events.len() - 2].1).unwrap();
    assert!(usage_chunk["usage"]["total_tokens"].as_u64().unwrap() > 0);
    let r = &mock.requests()[0];
    assert_eq!(r.path, "/models/chat/completions");
    assert_eq!(r.query.as_deref(), Some("api-version=2025-04-01"));
    assert_eq!(
        r.header("authorization"),
        Some(&*format!("Bearer {UPSTREAM_KEY}"))
    );
    assert_eq!(r.header("api-key"), None);
    assert_eq!(r.header("extra-parameters"), Some("pass-through"));
    assert_eq!(r.json().unwrap()["model"], "Phi-4");
}

#[tokio::test]
async fn inference_clients_keep_their_api_version_on_a_foundry_upstream() {
    let mock = mock().await;
    let gw = Gateway::start(&with_foundry(&mock.base_url())).await;
    let resp = post_inference(
        &gw,
        "/models/chat/completions?api-version=2024-05-01-preview",
        &[("azureml-model-deployment", "phi")],
        &json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["model"], "Phi-4");
    let r = &mock.requests()[0];
    assert_eq!(r.query.as_deref(), Some("api-version=2024-05-01-preview"));
    assert_eq!(r.header("azureml-model-deployment"), None);
    assert_eq!(
        r.json().unwrap()["model"],
        "Phi-4",
        "the deployment, added to the body"
    );
    // An Azure OpenAI client's dated version is not Model Inference's: the configured one goes.
    let resp = post_inference(
        &gw,
        "/openai/deployments/phi/chat/completions?api-version=2024-10-21",
        &[],
        &json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        mock.requests()[1].query.as_deref(),
        Some("api-version=2025-04-01")
    );
}
