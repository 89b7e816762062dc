//! Each upstream dialect receives exactly the request Azure (or an engine) expects.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn legacy_azure_chat_goes_to_the_deployment_path_with_api_version() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[
            ("x-request-id", "client-req-1"),
            ("user-agent", "OpenAI/Python 3.54.0"),
        ],
        &chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/openai/deployments/dep-4o-mini/chat/completions");
    assert_eq!(r.query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(r.header("api-key"), Some(UPSTREAM_KEY));
    assert_eq!(
        r.header("authorization"),
        None,
        "client credentials must not be forwarded"
    );
    assert_eq!(r.header("x-request-id"), Some("client-req-1"));
    assert_eq!(r.header("user-agent"), Some("OpenAI/Python 3.54.0"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    // The body's model is set to the deployment; everything else is byte-identical.
    let sent = r.json().unwrap();
    assert_eq!(sent["model"], "dep-4o-mini");
    assert_eq!(sent["messages"], chat_body("x")["messages"]);
}

#[tokio::test]
async fn azure_v1_sets_body_model_and_has_no_api_version() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = post(
        &gw,
        "/v1/responses",
        &json!({"model": "gpt-5-mini", "input": "hi"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let r = &mock.requests()[0];
    assert_eq!(r.path, "/openai/v1/responses");
    assert_eq!(r.query, None);
    assert_eq!(r.json().unwrap()["model"], "dep-gpt5");
    assert_eq!(r.json().unwrap()["input"], "hi");
    assert_eq!(r.header("api-key"), Some(UPSTREAM_KEY));
}

#[tokio::test]
async fn openai_kind_uses_v1_paths_and_bearer() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = post(&gw, "/v1/chat/completions", &chat_body("llama")).await;
    assert_eq!(resp.status(), 200);
    let r = &mock.requests()[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.header("authorization"), Some("Bearer engine-key"));
    assert_eq!(r.header("api-key"), None);
    assert_eq!(r.json().unwrap()["model"], "meta-llama/Llama-3.1-8B");
}

#[tokio::test]
async fn every_operation_reaches_its_legacy_path() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let cases = [
        (
            "/v1/chat/completions",
            chat_body("gpt-4o-mini"),
            "/openai/deployments/dep-4o-mini/chat/completions",
        ),
        (
            "/v1/completions",
            json!({"model": "gpt-4o-mini", "prompt": "Say"}),
            "/openai/deployments/dep-4o-mini/completions",
        ),
        (
            "/v1/embeddings",
            json!({"model": "text-embedding-3-small", "input": ["a", "b"]}),
            "/openai/deployments/emb/embeddings",
        ),
        (
            "/v1/images/generations",
            json!({"model": "dall-e-3", "prompt": "a cat"}),
            "/openai/deployments/img/images/generations",
        ),
    ];
    for (path, body, upstream_path) in &cases {
        let resp = post(&gw, path, body).await;
        assert_eq!(resp.status(), 200, "{path}");
        let json: serde_json::Value = resp.json().await.unwrap();
        assert!(json.get("error").is_none(), "{path}: {json}");
        let last = mock.requests().pop().unwrap();
        assert_eq!(&last.path, upstream_path, "{path}");
        assert_eq!(
            last.query.as_deref(),
            Some("api-version=2024-10-21"),
            "{path}"
        );
    }
    // Responses lives on the v1 surface even for a dated-api-version upstream.
    assert_eq!(
        post(
            &gw,
            "/v1/responses",
            &json!({"model": "gpt-4o-mini", "input": "hi"})
        )
        .await
        .status(),
        200
    );
    let last = mock.requests().pop().unwrap();
    assert_eq!(
        (last.path.as_str(), last.query.as_deref()),
        ("/openai/v1/responses", None)
    );
    assert_eq!(last.json().unwrap()["model"], "dep-4o-mini");
    let emb: serde_json::Value = post(
        &gw,
        "/v1/embeddings",
        &json!({"model": "text-embedding-3-small", "input": ["a", "b"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(emb["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn route_overrides_literal_paths_and_route_keys() {
    let mock = mock().await;
    let mut cfg = config(&mock.base_url());
    cfg["upstreams"][0]["routes"] = json!({
        "chat/completions-preview": "/openai/deployments/{deployment}/chat/completions?api-version=2025-04-01-preview",
        "embeddings": "/openai/deployments/{deployment}/embeddings?api-version={apiVersion}&x=1"
    });
    cfg["models"] = json!([
        {"id": "literal", "upstream": "legacy", "targetModel": "dep a",
         "routes": {"chat/completions": "/openai/deployments/{deployment}/chat/completions?api-version=2024-06-01"}},
        {"id": "keyed", "upstream": "legacy", "targetModel": "dep-k",
         "routes": {"chat/completions": "chat/completions-preview"}},
        {"id": "templated", "upstream": "legacy", "targetModel": "emb"},
        {"id": "codex", "upstream": "legacy", "targetModel": "codex", "routes": {"*": "responses"}}
    ]);
    let gw = Gateway::start(&cfg).await;
    assert_eq!(
        post(&gw, "/v1/chat/completions", &chat_body("literal"))
            .await
            .status(),
        200
    );
    let r = mock.requests().pop().unwrap();
    assert_eq!(r.path, "/openai/deployments/dep%20a/chat/completions");
    assert_eq!(r.query.as_deref(), Some("api-version=2024-06-01"));

    assert_eq!(
        post(&gw, "/v1/chat/completions", &chat_body("keyed"))
            .await
            .status(),
        200
    );
    let r = mock.requests().pop().unwrap();
    assert_eq!(r.path, "/openai/deployments/dep-k/chat/completions");
    assert_eq!(r.query.as_deref(), Some("api-version=2025-04-01-preview"));

    let emb = json!({"model": "templated", "input": "x"});
    assert_eq!(post(&gw, "/v1/embeddings", &emb).await.status(), 200);
    let r = mock.requests().pop().unwrap();
    assert_eq!(r.query.as_deref(), Some("api-version=2024-10-21&x=1"));

    // `*` → responses: the codex model's responses calls go through unchanged ...
    assert_eq!(
        post(
            &gw,
            "/v1/responses",
            &json!({"model": "codex", "input": "hi"})
        )
        .await
        .status(),
        200
    );
    // ... chat is translated to responses ...
    let resp = post(&gw, "/v1/chat/completions", &chat_body("codex")).await;
    assert_eq!(resp.status(), 200);
    let r = mock.requests().pop().unwrap();
    assert_eq!(r.path, "/openai/v1/responses");
    // ... and embeddings, which cannot be, are refused clearly rather than mangled.
    let before = mock.requests().len();
    let emb = json!({"model": "codex", "input": "x"});
    let resp = post(&gw, "/v1/embeddings", &emb).await;
    assert_eq!(resp.status(), 501);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "not_supported");
    assert_eq!(mock.requests().len(), before);
}

#[tokio::test]
async fn models_list_and_get_come_from_aliases() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let list: serde_json::Value = get(&gw, "/v1/models").await.json().await.unwrap();
    assert_eq!(list["object"], "list");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "gpt-4o-mini",
            "gpt-5-mini",
            "llama",
            "text-embedding-3-small",
            "dall-e-3"
        ]
    );
    for m in list["data"].as_array().unwrap() {
        assert_eq!(m["object"], "model");
        assert!(m["created"].as_u64().unwrap() > 1_700_000_000);
        assert!(m["owned_by"].is_string());
    }
    let one = get(&gw, "/v1/models/llama").await;
    assert_eq!(one.status(), 200);
    assert_eq!(
        one.json::<serde_json::Value>().await.unwrap()["id"],
        "llama"
    );
    let missing = get(&gw, "/v1/models/nope").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "model_not_found"
    );
    // No upstream traffic for model listing.
    assert!(mock.requests().is_empty());
    // Health needs no key.
    let health = client().get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );
}

#[tokio::test]
async fn seed_shaped_config_passes_traffic() {
    // The seed AOAI Foundry Proxy's shape, pointed at the mock with its apiKey auth mode.
    let mock = mock().await;
    let text = std::fs::read_to_string(fixture("seed_sample_config.json")).unwrap();
    let mut cfg: serde_json::Value = serde_json::from_str(&text).unwrap();
    cfg["server"]["host"] = json!("127.0.0.1");
    cfg["server"]["port"] = json!(0);
    cfg["auth"] = json!({"mode": "apiKey", "apiKey": UPSTREAM_KEY});
    cfg["upstreams"][0]["baseUrl"] = json!(format!("{}/", mock.base_url()));
    let gw = Gateway::start(&cfg).await;
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .header("x-api-key", "CHANGEME")
        .json(&chat_body("gpt-5-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let r = mock.requests().pop().unwrap();
    assert_eq!(r.path, "/openai/v1/chat/completions");
    assert_eq!(r.json().unwrap()["model"], "gpt-5-mini");
    let resp = client()
        .post(gw.url("/v1/responses"))
        .header("x-api-key", "CHANGEME")
        .json(&json!({"model": "gpt-5.2-codex", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(mock.requests().pop().unwrap().path, "/openai/v1/responses");
}
