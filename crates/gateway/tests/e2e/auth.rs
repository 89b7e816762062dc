//! Client keys in, the gateway's own credential out.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn each_key_header_is_accepted_and_never_forwarded() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    for (name, value) in [
        ("authorization", format!("Bearer {CLIENT_KEY}")),
        ("x-api-key", CLIENT_KEY.to_owned()),
        ("api-key", CLIENT_KEY.to_owned()),
    ] {
        let resp = client()
            .post(gw.url("/v1/chat/completions"))
            .header(name, value)
            .json(&chat_body("gpt-4o-mini"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{name}");
        let r = mock.requests().pop().unwrap();
        assert_eq!(r.header("api-key"), Some(UPSTREAM_KEY), "{name}");
        assert_eq!(r.header("x-api-key"), None, "{name}");
        assert_eq!(r.header("authorization"), None, "{name}");
    }
}

#[tokio::test]
async fn missing_wrong_and_disabled_keys_get_401() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let cases: [Option<(&str, &str)>; 4] = [
        None,
        Some(("authorization", "Bearer sk-wrong")),
        Some(("api-key", "sk-disabled")),
        Some(("authorization", "Basic c2stdGVzdA==")),
    ];
    for case in cases {
        let mut req = client()
            .post(gw.url("/v1/chat/completions"))
            .json(&chat_body("gpt-4o-mini"));
        if let Some((k, v)) = case {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{case:?}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_api_key", "{case:?}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
    let models = client().get(gw.url("/v1/models")).send().await.unwrap();
    assert_eq!(models.status(), 401);
    assert!(
        mock.requests().is_empty(),
        "rejected calls must not reach the upstream"
    );
}

#[tokio::test]
async fn passthrough_forwards_the_clients_own_key() {
    let mock = mock().await;
    let mut cfg = config(&mock.base_url());
    cfg["auth"] = json!({"mode": "passthrough"});
    cfg["apiKeys"] = json!([]);
    cfg["upstreams"][2]["auth"] = json!({"mode": "passthrough"});
    let gw = Gateway::start(&cfg).await;
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("my-azure-key")
        .json(&chat_body("gpt-4o-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let r = mock.requests().pop().unwrap();
    assert_eq!(r.header("api-key"), Some("my-azure-key"));
    assert_eq!(r.header("authorization"), None);
    // The engine kind gets it as Bearer.
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .header("api-key", "engine-user-key")
        .json(&chat_body("llama"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        mock.requests().pop().unwrap().header("authorization"),
        Some("Bearer engine-user-key")
    );
    // No key at all is still a 401.
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&chat_body("gpt-4o-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn admin_api_needs_basic_auth_and_a_configured_password() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let url = gw.url("/admin/api/stats");
    let none = client().get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(
        none.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let wrong = client()
        .get(&url)
        .basic_auth("admin", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let client_key = client()
        .get(&url)
        .bearer_auth(CLIENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(client_key.status(), 401);
    let ok = client()
        .get(&url)
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let mut cfg = config(&mock.base_url());
    cfg["server"]["adminAuth"] = json!({"enabled": true, "username": "admin", "password": ""});
    let gw = Gateway::start(&cfg).await;
    let refused = client()
        .get(gw.url("/admin/api/stats"))
        .basic_auth("admin", Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "admin_disabled"
    );
}
