//! The data plane of an Entra-only mock (`MockConfig::entra`): Bearer tokens the authority
//! issued are accepted on every face, resources and the realtime handshake; keys, and
//! missing, unknown, expired, revoked or wrong-audience tokens are refused like Azure does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly on purpose"
)]

mod common;

use std::time::Duration;

use common::{API, client};
use mock_azure::{MockConfig, MockServer, TokenAuthority};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Error;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const COG: &str = "https://cognitiveservices.azure.com";
const KEY_DISABLED: &str = r#"{"error":{"code":"AuthenticationTypeDisabled","message":"Key based authentication is disabled for this resource."}}"#;
const BAD_TOKEN: &str = r#"{"error":{"code":"401","message":"Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."}}"#;

async fn entra_mock(authority: &TokenAuthority) -> MockServer {
    MockServer::start(MockConfig {
        entra: Some(authority.clone()),
        ..MockConfig::default()
    })
    .await
    .unwrap()
}

fn token(authority: &TokenAuthority, audience: &str, lifetime: Duration) -> String {
    authority
        .mint("app-id", "tenant-id", audience, lifetime)
        .access_token
}

fn chat(mock: &MockServer) -> reqwest::RequestBuilder {
    client()
        .post(format!(
            "{}/openai/deployments/gpt/chat/completions?{API}",
            mock.base_url()
        ))
        .json(&json!({"messages": [{"role": "user", "content": "hi"}]}))
}

async fn status_and_text(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_minted_token_is_accepted_on_every_face() {
    let authority = TokenAuthority::new();
    let mock = entra_mock(&authority).await;
    let cog = token(&authority, COG, Duration::from_secs(600));
    let foundry = token(&authority, "https://ai.azure.com", Duration::from_secs(600));
    let base = mock.base_url();
    let body = json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}]});
    let requests = [
        client()
            .post(format!(
                "{base}/openai/deployments/gpt/chat/completions?{API}"
            ))
            .bearer_auth(&cog)
            .json(&body),
        client()
            .post(format!("{base}/openai/v1/chat/completions"))
            .bearer_auth(&foundry)
            .json(&body),
        client()
            .post(format!("{base}/v1/chat/completions"))
            .bearer_auth(&cog)
            .json(&body),
        client()
            .post(format!(
                "{base}/models/chat/completions?api-version=2025-04-01"
            ))
            .bearer_auth(&cog)
            .json(&body),
        client()
            .get(format!("{base}/openai/files?{API}"))
            .bearer_auth(&cog),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        let url = response.url().clone();
        assert_eq!(response.status(), 200, "{url}");
        let body: Value = response.json().await.unwrap();
        assert!(body["object"].is_string(), "{url}: {body}");
    }
    assert_eq!(authority.rejected_count(), 0);
    let log = mock.requests();
    assert_eq!(log.len(), 5);
    assert_eq!(log[0].headers["authorization"], format!("Bearer {cog}"));
    assert_eq!(log[0].deployment.as_deref(), Some("gpt"));

    // The realtime handshake takes the Bearer header too.
    let url = format!("ws://{}/openai/realtime?{API}&deployment=gpt", mock.addr());
    let mut request = url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {cog}").parse().unwrap());
    let (_ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), 101);
}

#[tokio::test]
async fn keys_are_refused_as_disabled() {
    let authority = TokenAuthority::new();
    let mock = entra_mock(&authority).await;
    let (status, text) = status_and_text(chat(&mock).header("api-key", "any-key")).await;
    assert_eq!((status, text.as_str()), (401, KEY_DISABLED));
    // Even next to a valid token.
    let cog = token(&authority, COG, Duration::from_secs(600));
    let request = chat(&mock).header("api-key", "k").bearer_auth(&cog);
    assert_eq!(
        status_and_text(request).await,
        (401, KEY_DISABLED.to_owned())
    );
    let files = client()
        .get(format!("{}/openai/files?{API}", mock.base_url()))
        .header("api-key", "k");
    assert_eq!(status_and_text(files).await, (401, KEY_DISABLED.to_owned()));

    let url = format!(
        "ws://{}/openai/realtime?{API}&deployment=gpt&api-key=k",
        mock.addr()
    );
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(Error::Http(response)) => {
            assert_eq!(response.status(), 401);
            assert_eq!(response.body().as_deref(), Some(KEY_DISABLED.as_bytes()));
        }
        other => panic!(
            "expected a refused handshake, got {:?}",
            other.map(|(_, r)| r)
        ),
    }
    assert_eq!(authority.rejected_count(), 0);
    // Recorded like any request.
    assert_eq!(mock.requests().len(), 4);
}

#[tokio::test]
async fn missing_and_unknown_tokens_are_rejected_and_counted() {
    let authority = TokenAuthority::new();
    let mock = entra_mock(&authority).await;
    assert_eq!(
        status_and_text(chat(&mock)).await,
        (401, BAD_TOKEN.to_owned())
    );
    let forged = chat(&mock).bearer_auth("eyJ0eXAiOiJKV1QifQ.e30.c2ln");
    assert_eq!(status_and_text(forged).await, (401, BAD_TOKEN.to_owned()));
    let url = format!("ws://{}/openai/v1/realtime?model=gpt", mock.addr());
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!(
            "expected a refused handshake, got {:?}",
            other.map(|(_, r)| r)
        ),
    }
    assert_eq!(authority.rejected_count(), 3);
}

#[tokio::test]
async fn expired_tokens_are_rejected() {
    let authority = TokenAuthority::new();
    let mock = entra_mock(&authority).await;
    let short = token(&authority, COG, Duration::from_secs(1));
    let (status, _) = status_and_text(chat(&mock).bearer_auth(&short)).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        status_and_text(chat(&mock).bearer_auth(&short)).await,
        (401, BAD_TOKEN.to_owned())
    );
    assert_eq!(authority.rejected_count(), 1);
}

#[tokio::test]
async fn revoked_tokens_are_rejected_and_new_ones_work() {
    let authority = TokenAuthority::new();
    let mock = entra_mock(&authority).await;
    let old = token(&authority, COG, Duration::from_secs(600));
    assert_eq!(status_and_text(chat(&mock).bearer_auth(&old)).await.0, 200);
    authority.revoke_all();
    assert_eq!(
        status_and_text(chat(&mock).bearer_auth(&old)).await,
        (401, BAD_TOKEN.to_owned())
    );
    let fresh = token(&authority, COG, Duration::from_secs(600));
    assert_eq!(
        status_and_text(chat(&mock).bearer_auth(&fresh)).await.0,
        200
    );
    assert_eq!(authority.rejected_count(), 1);
    assert_eq!(authority.issued_count(), 2);
}

#[tokio::test]
async fn wrong_audience_is_rejected_and_audiences_are_configurable() {
    let authority = TokenAuthority::new();
    let mock = entra_mock(&authority).await;
    let storage = token(
        &authority,
        "https://storage.azure.com",
        Duration::from_secs(600),
    );
    assert_eq!(
        status_and_text(chat(&mock).bearer_auth(&storage)).await,
        (401, BAD_TOKEN.to_owned())
    );
    assert_eq!(authority.rejected_count(), 1);

    let custom = MockServer::start(MockConfig {
        entra: Some(authority.clone()),
        token_audiences: vec!["https://storage.azure.com".to_owned()],
        ..MockConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(
        status_and_text(chat(&custom).bearer_auth(&storage)).await.0,
        200
    );
    let cog = token(&authority, COG, Duration::from_secs(600));
    assert_eq!(
        status_and_text(chat(&custom).bearer_auth(&cog)).await.0,
        401
    );
    assert_eq!(authority.rejected_count(), 2);
}

#[tokio::test]
async fn without_entra_the_key_rules_are_unchanged() {
    let mock = MockServer::start(MockConfig {
        key: Some("k".to_owned()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(
        status_and_text(chat(&mock).header("api-key", "k")).await.0,
        200
    );
    assert_eq!(status_and_text(chat(&mock).bearer_auth("k")).await.0, 200);
    let (status, text) = status_and_text(chat(&mock).header("api-key", "x")).await;
    assert_eq!(status, 401);
    assert!(text.contains("invalid subscription key"), "{text}");
}
