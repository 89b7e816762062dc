//! Browser clients: CORS preflights and headers on the API routes, per `server.cors`.

use serde_json::json;

use crate::common::*;

const APP: &str = "https://chat.example.com";

async fn preflight(gw: &Gateway, path: &str, origin: &str) -> reqwest::Response {
    client()
        .request(reqwest::Method::OPTIONS, gw.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,api-key",
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn allowed_origins_get_preflights_and_readable_headers() {
    let mock = mock().await;
    let mut cfg = config(&mock.base_url());
    cfg["server"]["cors"] = json!({"allowedOrigins": [APP]});
    let gw = Gateway::start(&cfg).await;

    for path in [
        "/v1/chat/completions",
        "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21",
        "/models/chat/completions?api-version=2025-04-01",
    ] {
        let resp = preflight(&gw, path, APP).await;
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        let h = resp.headers();
        assert_eq!(h["access-control-allow-origin"], APP, "{path}");
        assert!(
            h["access-control-allow-methods"]
                .to_str()
                .unwrap()
                .contains("POST")
        );
        let allowed = h["access-control-allow-headers"].to_str().unwrap();
        assert!(allowed.contains("authorization") && allowed.contains("api-key"));
        assert_eq!(h["access-control-max-age"], "600");
    }
    assert!(
        mock.requests().is_empty(),
        "a preflight never goes upstream"
    );

    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .header("origin", APP)
        .bearer_auth(CLIENT_KEY)
        .json(&chat_body("gpt-4o-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], APP);
    let exposed = resp.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("retry-after-ms") && exposed.contains("x-request-id"));

    // Another origin is told no by the absence of the header; the request itself still works
    // for non-browser callers.
    let resp = preflight(&gw, "/v1/chat/completions", "https://evil.example").await;
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    // The admin API and the metrics (admin credentials by default) are not opened to other
    // origins.
    for path in ["/admin/api/stats", "/metrics"] {
        let resp = preflight(&gw, path, APP).await;
        assert!(
            resp.headers().get("access-control-allow-origin").is_none(),
            "{path}"
        );
    }
}

#[tokio::test]
async fn without_cors_config_no_origin_is_allowed_and_env_can_set_it() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = preflight(&gw, "/v1/embeddings", APP).await;
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    let gw = Gateway::start_with_env(
        &config(&mock.base_url()),
        &[("CORS_ALLOWED_ORIGINS", "http://localhost:5173, *")],
    )
    .await;
    let resp = preflight(&gw, "/v1/embeddings", "https://any.example").await;
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://any.example"
    );
}
