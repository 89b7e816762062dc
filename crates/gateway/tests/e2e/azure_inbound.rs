//! Azure-style clients: `/openai/deployments/{d}/…?api-version`, `/openai/responses`,
//! `/openai/v1/…`, with the key as `api-key` or Bearer.

use serde_json::{Value, json};

use crate::common::*;

/// POST with the client key in Azure's `api-key` header.
async fn post_azure(gw: &Gateway, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(gw.url(path))
        .header("api-key", CLIENT_KEY)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn deployment_route_passes_the_clients_api_version_to_azure() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = post_azure(
        &gw,
        "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2025-04-01-preview",
        &chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    let r = &mock.requests()[0];
    assert_eq!(r.path, "/openai/deployments/dep-4o-mini/chat/completions");
    assert_eq!(r.query.as_deref(), Some("api-version=2025-04-01-preview"));
    assert_eq!(r.header("api-key"), Some(UPSTREAM_KEY));
    assert_eq!(r.json().unwrap()["model"], "dep-4o-mini");
}

#[tokio::test]
async fn the_path_deployment_wins_over_the_body_model() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    // Node's AzureOpenAI with `deployment` set puts it in the path and keeps the body's model.
    let resp = post_azure(
        &gw,
        "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21",
        &json!({"model": "something-else", "input": ["a", "b"]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    let r = &mock.requests()[0];
    assert_eq!(r.path, "/openai/deployments/emb/embeddings");
    assert_eq!(r.json().unwrap()["model"], "emb");
}

#[tokio::test]
async fn missing_api_version_is_azures_404_and_nothing_goes_upstream() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    for path in [
        "/openai/deployments/gpt-4o-mini/chat/completions",
        "/openai/deployments/gpt-4o-mini/chat/completions?api-version=",
        "/openai/responses",
    ] {
        let resp = post_azure(&gw, path, &chat_body("gpt-4o-mini")).await;
        assert_eq!(resp.status(), 404, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body,
            json!({"error": {"code": "404", "message": "Resource not found"}})
        );
    }
    assert!(mock.requests().is_empty());
    // A client without a valid key learns nothing about the route.
    let resp = client()
        .post(gw.url("/openai/deployments/gpt-4o-mini/chat/completions"))
        .header("api-key", "wrong")
        .json(&chat_body("gpt-4o-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "401");
}

#[tokio::test]
async fn unknown_deployment_is_azures_deployment_not_found() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = post_azure(
        &gw,
        "/openai/deployments/nope/chat/completions?api-version=2024-10-21",
        &chat_body("nope"),
    )
    .await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "DeploymentNotFound");
    let resp = post(&gw, "/openai/v1/chat/completions", &chat_body("nope")).await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "DeploymentNotFound");
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn legacy_responses_reach_azure_on_the_legacy_surface() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = post_azure(
        &gw,
        "/openai/responses?api-version=2025-04-01-preview",
        &json!({"model": "gpt-4o-mini", "input": "hi"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["object"], "response");
    let r = &mock.requests()[0];
    assert_eq!(r.path, "/openai/responses");
    assert_eq!(r.query.as_deref(), Some("api-version=2025-04-01-preview"));
    assert_eq!(r.json().unwrap()["model"], "dep-4o-mini");
}

#[tokio::test]
async fn v1_accepts_the_key_as_bearer_and_ignores_api_version() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    // The stock OpenAI client at an Azure v1 base URL sends the key as Bearer.
    let resp = post(
        &gw,
        "/openai/v1/chat/completions?api-version=preview",
        &chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let resp = post_azure(
        &gw,
        "/openai/v1/embeddings",
        &json!({"model": "text-embedding-3-small", "input": "x"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let reqs = mock.requests();
    // The upstream is the legacy kind: the configured version, not the client's `preview`.
    assert_eq!(
        reqs[0].path,
        "/openai/deployments/dep-4o-mini/chat/completions"
    );
    assert_eq!(reqs[0].query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(reqs[1].path, "/openai/deployments/emb/embeddings");
    let models: Value = get(&gw, "/openai/v1/models").await.json().await.unwrap();
    assert_eq!(models["object"], "list");
    assert!(
        models["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "gpt-4o-mini")
    );
}

#[tokio::test]
async fn azure_clients_reach_an_openai_compatible_engine() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    // No `model` in the body: Azure's deployment routes do not need one; the engine does.
    let resp = post_azure(
        &gw,
        "/openai/deployments/llama/chat/completions?api-version=2024-10-21",
        &json!({"messages": [{"role": "user", "content": "hi"}], "stream": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let events = sse_events(resp).await.unwrap();
    assert_eq!(events.last().unwrap().1, "[DONE]");
    let r = &mock.requests()[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.query, None, "an engine gets no api-version");
    assert_eq!(r.header("authorization"), Some("Bearer engine-key"));
    let sent = r.json().unwrap();
    assert_eq!(sent["model"], "meta-llama/Llama-3.1-8B");
    assert_eq!(sent["stream"], true);
}

#[tokio::test]
async fn images_and_completions_on_deployment_routes() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = post_azure(
        &gw,
        "/openai/deployments/dall-e-3/images/generations?api-version=2024-10-21",
        &json!({"prompt": "a cat", "n": 1}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body["data"].is_array());
    let resp = post_azure(
        &gw,
        "/openai/deployments/gpt-4o-mini/completions?api-version=2024-10-21",
        &json!({"prompt": "Say hi"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let reqs = mock.requests();
    assert_eq!(reqs[0].path, "/openai/deployments/img/images/generations");
    assert_eq!(
        reqs[0].body.as_ref(),
        br#"{"prompt":"a cat","n":1}"#,
        "a body without model stays byte for byte on Azure's deployment routes"
    );
    assert_eq!(reqs[1].path, "/openai/deployments/dep-4o-mini/completions");
}

#[tokio::test]
async fn legacy_model_list_needs_api_version() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = client()
        .get(gw.url("/openai/models?api-version=2024-10-21"))
        .header("api-key", CLIENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"][0]["object"], "model");
    let resp = get(&gw, "/openai/models").await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["message"], "Resource not found");
}
