//! Auth, api-version, forced errors with Azure's exact bodies, `x-mock-*` overrides.

mod common;

use std::time::{Duration, Instant};

use common::{API, KEY, client, post, send_json, send_text, server};
use mock_azure::{Behavior, MockConfig, MockServer, MockUsage};
use serde_json::json;

const UNAUTHORIZED: &str = r#"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#;

fn chat_url(mock: &MockServer, deployment: &str) -> String {
    format!(
        "{}/openai/deployments/{deployment}/chat/completions?{API}",
        mock.base_url()
    )
}

#[tokio::test]
async fn auth_accepts_either_header_and_rejects_others() {
    let mock = server().await;
    let url = chat_url(&mock, "d");
    let ok = [
        client().post(&url).header("api-key", KEY),
        client().post(&url).bearer_auth(KEY),
    ];
    for request in ok {
        assert_eq!(request.json(&json!({})).send().await.unwrap().status(), 200);
    }
    let bad = [
        client().post(&url),
        client().post(&url).header("api-key", "wrong"),
        client().post(&url).bearer_auth("wrong"),
        client().post(&url).header("api-key", ""),
    ];
    for request in bad {
        let response = request.json(&json!({})).send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key("apim-request-id"));
        assert!(
            !response
                .headers()
                .contains_key("x-ratelimit-remaining-requests")
        );
        assert_eq!(response.text().await.unwrap(), UNAUTHORIZED);
    }
    let url = format!("{}/v1/chat/completions", mock.base_url());
    let request = client()
        .post(&url)
        .bearer_auth("nope")
        .json(&json!({"model": "m"}));
    assert_eq!(send_text(request).await, (401, UNAUTHORIZED.to_owned()));

    let open = MockServer::start(MockConfig::default()).await.unwrap();
    let url = chat_url(&open, "d");
    let request = client()
        .post(&url)
        .header("api-key", "anything")
        .json(&json!({}));
    assert_eq!(request.send().await.unwrap().status(), 200);
    let request = client().post(&url).json(&json!({}));
    assert_eq!(request.send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn legacy_without_api_version_is_resource_not_found() {
    let mock = server().await;
    for path in [
        "/openai/deployments/d/chat/completions",
        "/openai/responses?api-version=",
    ] {
        let (status, text) = send_text(post(&mock, path, &json!({"model": "m"}))).await;
        assert_eq!(status, 404);
        assert_eq!(
            text,
            r#"{"error":{"code":"404","message":"Resource not found"}}"#
        );
    }
}

#[tokio::test]
async fn rate_limit_body_and_retry_headers() {
    let mock = server().await;
    mock.set_behavior(
        "busy",
        Behavior {
            status: Some(429),
            retry_after_secs: Some(7),
            retry_after_ms: Some(6500),
            ..Behavior::default()
        },
    );
    let path = "/openai/deployments/busy/chat/completions?api-version=2024-08-01-preview";
    let response = post(&mock, path, &json!({})).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(response.headers()["retry-after-ms"], "6500");
    assert!(
        !response
            .headers()
            .contains_key("x-ratelimit-remaining-tokens")
    );
    let expected = r#"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-08-01-preview have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 7 seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."}}"#;
    assert_eq!(response.text().await.unwrap(), expected);

    // Without configured retry headers none are sent.
    let path = format!("/openai/deployments/d/embeddings?{API}");
    let response = post(&mock, &path, &json!({"input": "x"}))
        .header("x-mock-status", "429")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(!response.headers().contains_key("retry-after"));
    assert!(!response.headers().contains_key("retry-after-ms"));
    let v: serde_json::Value = response.json().await.unwrap();
    assert!(v["error"].get("type").is_none());
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Requests to the Embeddings_Create")
    );
}

#[tokio::test]
async fn azure_ms_header_and_http_date_retry_after() {
    let mock = server().await;
    mock.set_behavior(
        "busy",
        Behavior {
            status: Some(429),
            x_ms_retry_after_ms: Some(2500),
            ..Behavior::default()
        },
    );
    let path = format!("/openai/deployments/busy/chat/completions?{API}");
    let response = post(&mock, &path, &json!({})).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["x-ms-retry-after-ms"], "2500");
    assert!(!response.headers().contains_key("retry-after"));
    assert!(!response.headers().contains_key("retry-after-ms"));
    let v: serde_json::Value = response.json().await.unwrap();
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("retry after 3 seconds"), "{message}");

    // Per request: retry-after as an HTTP date, 30 s ahead.
    let response = post(
        &mock,
        &format!("/openai/deployments/d/chat/completions?{API}"),
        &json!({}),
    )
    .header("x-mock-status", "503")
    .header("x-mock-retry-after", "30")
    .header("x-mock-retry-after-date", "true")
    .header("x-mock-ms-retry-after-ms", "700")
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["x-ms-retry-after-ms"], "700");
    let date = response.headers()["retry-after"].to_str().unwrap();
    let at = httpdate::parse_http_date(date).unwrap();
    let ahead = at
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    assert!(
        ahead > Duration::from_secs(27) && ahead <= Duration::from_secs(30),
        "{date}: {ahead:?}"
    );
}

#[tokio::test]
async fn server_errors() {
    let mock = server().await;
    let body = r#"{"error":{"code":"InternalServerError","message":"The server had an error while processing your request. Sorry about that!"}}"#;
    for status in ["500", "502", "503"] {
        let response = post(
            &mock,
            &format!("/openai/deployments/d/chat/completions?{API}"),
            &json!({}),
        )
        .header("x-mock-status", status)
        .header("x-mock-retry-after", "2")
        .send()
        .await
        .unwrap();
        assert_eq!(response.status().as_str(), status);
        assert_eq!(response.headers()["retry-after"], "2");
        assert_eq!(response.text().await.unwrap(), body);
    }
    let response = post(
        &mock,
        &format!("/openai/deployments/d/chat/completions?{API}"),
        &json!({}),
    )
    .header("x-mock-status", "418")
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 418);
    let v: serde_json::Value = response.json().await.unwrap();
    assert_eq!(v["error"]["code"], "418");
}

#[tokio::test]
async fn content_filter_composite_body() {
    let mock = server().await;
    mock.set_behavior(
        "filtered",
        Behavior {
            content_filter: true,
            ..Behavior::default()
        },
    );
    let check = |v: serde_json::Value| {
        let e = &v["error"];
        assert_eq!(e["code"], "content_filter");
        assert_eq!(e["param"], "prompt");
        assert_eq!(e["status"], 400);
        assert!(e["type"].is_null() && e.get("type").is_some());
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .starts_with("The response was filtered")
        );
        assert_eq!(e["innererror"]["code"], "ResponsibleAIPolicyViolation");
        let r = &e["innererror"]["content_filter_result"];
        assert_eq!(r["hate"], json!({"filtered": true, "severity": "high"}));
        assert_eq!(
            r["violence"],
            json!({"filtered": true, "severity": "medium"})
        );
        assert_eq!(r["self_harm"]["severity"], "safe");
        assert_eq!(
            r["jailbreak"],
            json!({"filtered": false, "detected": false})
        );
    };
    let path = format!("/openai/deployments/filtered/chat/completions?{API}");
    let (status, v) = send_json(post(&mock, &path, &json!({}))).await;
    assert_eq!(status, 400);
    check(v);
    for (name, value) in [("x-mock-content-filter", "true"), ("x-mock-status", "400")] {
        let request =
            post(&mock, "/openai/v1/responses", &json!({"model": "clean"})).header(name, value);
        let (status, v) = send_json(request).await;
        assert_eq!(status, 400, "{name}");
        check(v);
    }
    // A header can also switch the deployment's filter off.
    let request = post(&mock, &path, &json!({})).header("x-mock-content-filter", "false");
    assert_eq!(send_json(request).await.0, 200);
}

#[tokio::test]
async fn content_filter_body_is_byte_exact_on_every_operation() {
    let mock = server().await;
    let expected = r#"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=21298766","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":true,"severity":"high"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"medium"},"jailbreak":{"filtered":false,"detected":false}}}}}"#;
    for (path, body) in [
        (
            format!("/openai/deployments/d/chat/completions?{API}"),
            json!({"messages": []}),
        ),
        (
            format!("/openai/deployments/d/completions?{API}"),
            json!({"prompt": "x"}),
        ),
        (format!("/openai/responses?{API}"), json!({"model": "d"})),
        (
            "/openai/v1/chat/completions".to_owned(),
            json!({"model": "d"}),
        ),
        ("/openai/v1/responses".to_owned(), json!({"model": "d"})),
    ] {
        let request = post(&mock, &path, &body).header("x-mock-content-filter", "true");
        assert_eq!(
            send_text(request).await,
            (400, expected.to_owned()),
            "{path}"
        );
    }
}

#[tokio::test]
async fn header_overrides_win_field_by_field() {
    let mock = server().await;
    mock.set_behavior(
        "d",
        Behavior {
            usage: Some(MockUsage {
                prompt: 100,
                completion: 50,
                cached: 0,
                reasoning: 0,
            }),
            content_events: Some(1),
            ..Behavior::default()
        },
    );
    let path = format!("/openai/deployments/d/chat/completions?{API}");
    let (_, v) = send_json(post(&mock, &path, &json!({}))).await;
    assert_eq!(v["usage"]["total_tokens"], 150);
    assert_eq!(v["choices"][0]["message"]["content"], "Hello");
    let request = post(&mock, &path, &json!({})).header("x-mock-usage", "1,2,3,4");
    let (_, v) = send_json(request).await;
    assert_eq!(v["usage"]["prompt_tokens"], 1);
    assert_eq!(v["usage"]["completion_tokens"], 2);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 3);
    assert_eq!(
        v["usage"]["completion_tokens_details"]["reasoning_tokens"],
        4
    );
    assert_eq!(
        v["choices"][0]["message"]["content"], "Hello",
        "events kept from config"
    );
    let request = post(&mock, &path, &json!({})).header("x-mock-events", "3");
    let (_, v) = send_json(request).await;
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Hello from mock-azure"
    );
    assert_eq!(v["usage"]["total_tokens"], 150, "usage kept from config");
}

#[tokio::test]
async fn invalid_control_headers_are_plain_400s() {
    let mock = server().await;
    let path = format!("/openai/deployments/d/chat/completions?{API}");
    for (name, value) in [
        ("x-mock-status", "teapot"),
        ("x-mock-retry-after", "-1"),
        ("x-mock-retry-after-ms", "1.5"),
        ("x-mock-content-filter", "1"),
        ("x-mock-header-delay-ms", "x"),
        ("x-mock-event-delay-ms", ""),
        ("x-mock-cut-after", "many"),
        ("x-mock-events", "-3"),
        ("x-mock-usage", "1,2"),
        ("x-mock-refusal", "yes"),
        ("x-mock-filter-finish", "1"),
        ("x-mock-async-filter", "on"),
        ("x-mock-split", "0"),
    ] {
        let response = post(&mock, &path, &json!({}))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{name}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert!(response.text().await.unwrap().starts_with(name));
    }
}

#[tokio::test]
async fn header_delay_holds_back_the_headers() {
    let mock = server().await;
    let path = format!("/openai/deployments/d/chat/completions?{API}");
    let started = Instant::now();
    let response = post(&mock, &path, &json!({}))
        .header("x-mock-header-delay-ms", "250")
        .send()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), 200);
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_millis(1500), "{waited:?}");

    let started = Instant::now();
    post(&mock, &path, &json!({})).send().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "no delay without a header"
    );
}
