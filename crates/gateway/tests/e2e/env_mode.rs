//! Env-only mode (no file, as the seed gyarbij/azure-oai-proxy runs), env overrides, the demo.

use std::time::Duration;

use serde_json::json;
use tokio::process::Command;

use crate::common::*;

async fn env_gateway(env: &[(&str, &str)]) -> Gateway {
    let mut cmd = Command::new(bin());
    cmd.arg("serve");
    Gateway::spawn(cmd, env, tempfile::tempdir().unwrap()).await
}

#[tokio::test]
async fn env_only_mode_passes_the_client_key_through() {
    let mock = mock().await;
    let url = mock.base_url();
    let gw = env_gateway(&[
        ("AZURE_OPENAI_ENDPOINT", url.as_str()),
        ("AZURE_OPENAI_APIVERSION", "2025-04-01-preview"),
        (
            "AZURE_OPENAI_MODEL_MAPPER",
            "GPT-4o=prod-4o, gpt-35-turbo=gpt35",
        ),
        ("AZURE_OPENAI_PROXY_ADDRESS", "127.0.0.1:0"),
    ])
    .await;
    // Mapped, case-insensitively.
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .header("api-key", "users-azure-key")
        .json(&chat_body("gpt-4O"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let r = mock.requests().pop().unwrap();
    assert_eq!(r.path, "/openai/deployments/prod-4o/chat/completions");
    assert_eq!(r.query.as_deref(), Some("api-version=2025-04-01-preview"));
    assert_eq!(r.header("api-key"), Some("users-azure-key"));
    // Unmapped: the model name is the deployment name.
    let resp = client()
        .post(gw.url("/v1/embeddings"))
        .bearer_auth("users-azure-key")
        .json(&json!({"model": "text-embedding-ada-002", "input": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let r = mock.requests().pop().unwrap();
    assert_eq!(
        r.path,
        "/openai/deployments/text-embedding-ada-002/embeddings"
    );
    assert_eq!(r.header("api-key"), Some("users-azure-key"));
    assert_eq!(r.header("authorization"), None);
    // The mapped aliases are listed.
    let models: serde_json::Value = client()
        .get(gw.url("/v1/models"))
        .bearer_auth("k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"GPT-4o") && ids.contains(&"gpt-35-turbo"),
        "{models}"
    );
}

#[tokio::test]
async fn env_only_mode_with_gateway_keys_uses_the_server_key() {
    let mock = mock().await;
    let url = mock.base_url();
    let gw = env_gateway(&[
        ("AZURE_OPENAI_ENDPOINT", url.as_str()),
        ("AZURE_OPENAI_API_KEY", "server-side-key"),
        ("GATEWAY_API_KEYS", "sk-one,sk-two"),
        ("AZURE_OPENAI_PROXY_ADDRESS", "127.0.0.1:0"),
    ])
    .await;
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("sk-two")
        .json(&chat_body("gpt-4o"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        mock.requests().pop().unwrap().header("api-key"),
        Some("server-side-key")
    );
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("sk-three")
        .json(&chat_body("gpt-4o"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn env_overrides_beat_the_file() {
    let mock = mock().await;
    let cfg = config(&mock.base_url());
    let gw = Gateway::start_with_env(&cfg, &[("UPSTREAM_FIRST_BYTE_TIMEOUT_MS", "200")]).await;
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-header-delay-ms", "1000")],
        &chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 504);
}

#[tokio::test]
async fn config_path_env_is_used_by_serve() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("elsewhere.json");
    std::fs::write(&path, config(&mock.base_url()).to_string()).unwrap();
    let mut cmd = Command::new(bin());
    cmd.arg("serve");
    let gw = Gateway::spawn(cmd, &[("CONFIG_PATH", path.to_str().unwrap())], dir).await;
    assert_eq!(
        post(&gw, "/v1/chat/completions", &chat_body("gpt-4o-mini"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn serve_without_any_config_explains_itself() {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        Command::new(bin())
            .arg("serve")
            .current_dir(dir.path())
            .env_remove("AZURE_OPENAI_ENDPOINT")
            .env_remove("CONFIG_PATH")
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CONFIG_PATH") && err.contains("AZURE_OPENAI_ENDPOINT"),
        "{err}"
    );
}

#[tokio::test]
async fn demo_works_out_of_the_box() {
    let mut cmd = Command::new(bin());
    cmd.args(["demo", "--port", "0", "--key", "sk-demo-test"]);
    let gw = Gateway::spawn(cmd, &[], tempfile::tempdir().unwrap()).await;
    let c = client();
    for (path, body) in [
        ("/v1/chat/completions", chat_body("gpt-4o-mini")),
        ("/v1/chat/completions", chat_body("gpt-5-mini")),
        (
            "/v1/responses",
            json!({"model": "gpt-5-mini", "input": "hi"}),
        ),
        (
            "/v1/embeddings",
            json!({"model": "text-embedding-3-small", "input": "hi"}),
        ),
        (
            "/v1/images/generations",
            json!({"model": "dall-e-3", "prompt": "a cat"}),
        ),
    ] {
        let resp = c
            .post(gw.url(path))
            .bearer_auth("sk-demo-test")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path} {body}");
    }
    let resp = c
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("sk-demo-test")
        .json(&json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    let events = sse_events(resp).await.unwrap();
    assert_eq!(events.last().unwrap().1, "[DONE]");
    let models: serde_json::Value = c
        .get(gw.url("/v1/models"))
        .bearer_auth("sk-demo-test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"].as_array().unwrap().len(), 4);
}
