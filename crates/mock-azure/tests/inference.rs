//! The Azure AI Model Inference face (WIRE-FACTS A6): routes with and without
//! `/models`, api-version, `extra-parameters`, deployment selection, `/info`,
//! streaming, and this face's own error shapes, over real HTTP.

mod common;

use common::{KEY, client, data, post, send_json, send_text, server, split_events};
use mock_azure::{Behavior, MockConfig, MockServer};
use serde_json::{Value, json};

const GA: &str = "api-version=2025-04-01";
const PREVIEW: &str = "api-version=2024-05-01-preview";
const PREFIXES: [&str; 2] = ["/models", ""];

const MISSING_VERSION: &str =
    r#"{"error":{"code":"BadRequest","message":"Missing required query parameter: api-version"}}"#;
const UNSUPPORTED_VERSION: &str =
    r#"{"error":{"code":"BadRequest","message":"API version not supported"}}"#;
const NOT_FOUND: &str = r#"{"error":{"code":"404","message":"Resource not found"}}"#;
const UNAUTHORIZED: &str = r#"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#;

fn chat_body() -> Value {
    json!({"messages": [{"role": "user", "content": "hi"}]})
}

fn get(mock: &MockServer, path_and_query: &str) -> reqwest::RequestBuilder {
    client()
        .get(format!("{}{path_and_query}", mock.base_url()))
        .header("api-key", KEY)
}

fn with_deployments(names: &[&str]) -> MockConfig {
    MockConfig {
        deployments: Some(names.iter().map(|n| (*n).to_owned()).collect()),
        ..MockConfig::default()
    }
}

#[tokio::test]
async fn every_route_with_and_without_the_models_prefix() {
    let mock = server().await;
    for prefix in PREFIXES {
        let path = format!("{prefix}/chat/completions?{GA}");
        let (status, v) = send_json(post(&mock, &path, &chat_body())).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["model"], "mock-model");
        assert_eq!(
            v["choices"][0]["message"]["content"],
            "Hello from mock-azure — héllo 🌍."
        );
        assert_eq!(v["usage"]["total_tokens"], 18);

        let path = format!("{prefix}/embeddings?{GA}");
        let (status, v) = send_json(post(&mock, &path, &json!({"input": ["a", "b"]}))).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(v["object"], "list");
        assert_eq!(v["model"], "mock-model");
        assert_eq!(v["data"].as_array().unwrap().len(), 2);
        assert_eq!(v["data"][1]["index"], 1);

        let path = format!("{prefix}/info?{GA}");
        let (status, text) = send_text(get(&mock, &path)).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(
            text,
            r#"{"model_name":"mock-model","model_type":"chat-completions","model_provider_name":"Mock"}"#
        );
    }
    let paths: Vec<String> = mock.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/models/chat/completions",
            "/models/embeddings",
            "/models/info",
            "/chat/completions",
            "/embeddings",
            "/info"
        ]
    );
}

#[tokio::test]
async fn wrong_methods_and_near_miss_paths_are_resource_not_found() {
    let mock = server().await;
    for path in [format!("/models/info?{GA}"), format!("/info?{GA}")] {
        let (status, text) = send_text(post(&mock, &path, &json!({}))).await;
        assert_eq!((status, text.as_str()), (404, NOT_FOUND), "POST {path}");
    }
    for path in [
        format!("/models/chat/completions?{GA}"),
        format!("/embeddings?{GA}"),
    ] {
        let (status, text) = send_text(get(&mock, &path)).await;
        assert_eq!((status, text.as_str()), (404, NOT_FOUND), "GET {path}");
    }
    for path in [
        format!("/models/completions?{GA}"),
        format!("/models/images/generations?{GA}"),
        format!("/modelschat/completions?{GA}"),
        format!("/models/models/chat/completions?{GA}"),
    ] {
        let (status, text) = send_text(post(&mock, &path, &chat_body())).await;
        assert_eq!((status, text.as_str()), (404, NOT_FOUND), "{path}");
    }
}

#[tokio::test]
async fn api_version_missing_unknown_and_both_valid() {
    let mock = server().await;
    for (path, expected) in [
        ("/models/chat/completions", MISSING_VERSION),
        ("/embeddings?api-version=", MISSING_VERSION),
        (
            "/models/chat/completions?api-version=2024-10-21",
            UNSUPPORTED_VERSION,
        ),
        ("/chat/completions?api-version=v1", UNSUPPORTED_VERSION),
        (
            "/models/embeddings?api-version=2025-05-01",
            UNSUPPORTED_VERSION,
        ),
    ] {
        let body = json!({"input": "x", "messages": []});
        let (status, text) = send_text(post(&mock, path, &body)).await;
        assert_eq!((status, text.as_str()), (400, expected), "{path}");
    }
    for path in ["/info", "/models/info?api-version=latest"] {
        let (status, text) = send_text(get(&mock, path)).await;
        assert_eq!(status, 400, "{path}");
        assert!(
            text.starts_with(r#"{"error":{"code":"BadRequest""#),
            "{text}"
        );
    }
    for version in [GA, PREVIEW] {
        let path = format!("/models/chat/completions?{version}");
        assert_eq!(send_json(post(&mock, &path, &chat_body())).await.0, 200);
        let path = format!("/embeddings?{version}");
        let body = json!({"input": "x"});
        assert_eq!(send_json(post(&mock, &path, &body)).await.0, 200);
        assert_eq!(
            send_json(get(&mock, &format!("/info?{version}"))).await.0,
            200
        );
    }
}

#[tokio::test]
async fn auth_takes_bearer_or_api_key() {
    let mock = server().await;
    let url = format!("{}/models/chat/completions?{GA}", mock.base_url());
    let ok = [
        client().post(&url).bearer_auth(KEY),
        client().post(&url).header("api-key", KEY),
    ];
    for request in ok {
        assert_eq!(send_json(request.json(&chat_body())).await.0, 200);
    }
    let bad = [
        client().post(&url),
        client().post(&url).bearer_auth("wrong"),
        client().post(&url).header("api-key", "wrong"),
    ];
    for request in bad {
        let (status, text) = send_text(request.json(&chat_body())).await;
        assert_eq!((status, text.as_str()), (401, UNAUTHORIZED));
    }
    let info = format!("{}/info?{GA}", mock.base_url());
    let (status, text) = send_text(client().get(&info)).await;
    assert_eq!((status, text.as_str()), (401, UNAUTHORIZED));
    assert_eq!(send_json(client().get(&info).bearer_auth(KEY)).await.0, 200);
}

#[tokio::test]
async fn extras_are_refused_by_default_with_the_exact_422() {
    let mock = server().await;
    let body = r#"{"messages":[{"role":"user","content":"hi"}],"zeta":{"k":[1,2]},"temperature":0.5,"user":"u-1","n":2}"#;
    let expected = r#"{"status":422,"code":"extra_parameters_not_allowed","detail":{"loc":["body","zeta"],"input":{"k":[1,2]}},"message":"Extra parameters ['zeta', 'user', 'n'] are not allowed when extra-parameters is not set or set to be 'error'. Set extra-parameters to 'pass-through' to pass to the model."}"#;
    for header in [None, Some("error")] {
        let mut request = client()
            .post(format!("{}/models/chat/completions?{GA}", mock.base_url()))
            .header("api-key", KEY)
            .header("content-type", "application/json")
            .body(body);
        if let Some(value) = header {
            request = request.header("extra-parameters", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 422, "{header:?}");
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.text().await.unwrap(), expected);
    }

    let body = json!({"input": "x", "user": "u-1", "dimensions": 4});
    let (status, text) = send_text(post(&mock, &format!("/embeddings?{PREVIEW}"), &body)).await;
    assert_eq!(status, 422);
    assert_eq!(
        text,
        r#"{"status":422,"code":"extra_parameters_not_allowed","detail":{"loc":["body","user"],"input":"u-1"},"message":"Extra parameters ['user'] are not allowed when extra-parameters is not set or set to be 'error'. Set extra-parameters to 'pass-through' to pass to the model."}"#
    );

    // Every known key alone passes, for both operations.
    let chat = json!({"messages": [], "model": "m", "frequency_penalty": 0, "presence_penalty": 0,
        "temperature": 1, "top_p": 1, "max_tokens": null, "modalities": ["text"],
        "response_format": {"type": "text"}, "seed": 1, "stop": ["x"], "stream": false,
        "tool_choice": "auto", "tools": []});
    let path = format!("/models/chat/completions?{GA}");
    assert_eq!(send_json(post(&mock, &path, &chat)).await.0, 200);
    let emb = json!({"input": "x", "model": "m", "dimensions": 4, "encoding_format": "float",
        "input_type": "query"});
    let (status, v) = send_json(post(&mock, &format!("/models/embeddings?{GA}"), &emb)).await;
    assert_eq!(status, 200);
    assert_eq!(v["data"][0]["embedding"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn drop_answers_as_if_the_extras_were_absent() {
    let mock = server().await;
    let path = format!("/models/chat/completions?{GA}");
    let body = json!({"messages": [], "stream": true, "stream_options": {"include_usage": true},
        "user": "u"});
    let response = post(&mock, &path, &body)
        .header("extra-parameters", "drop")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let events = split_events(&text);
    // No usage chunk: `stream_options` was dropped before the "model" saw it.
    assert_eq!(events.len(), 1 + 1 + 5 + 1 + 1);
    assert!(!text.contains("\"usage\""), "{text}");
    assert_eq!(*events.last().unwrap(), "data: [DONE]");

    let emb = json!({"input": "x", "user": "u"});
    let request =
        post(&mock, &format!("/embeddings?{GA}"), &emb).header("extra-parameters", "drop");
    let (status, v) = send_json(request).await;
    assert_eq!(status, 200);
    assert_eq!(v["data"][0]["object"], "embedding");

    // The log keeps the bodies exactly as received, extras included.
    let records = mock.requests();
    assert_eq!(records[0].body.as_ref(), serde_json::to_vec(&body).unwrap());
    assert_eq!(records[1].json(), Some(emb));
    assert_eq!(records[1].header("extra-parameters"), Some("drop"));
}

#[tokio::test]
async fn pass_through_hands_the_extras_to_the_model() {
    let mock = server().await;
    let path = format!("/chat/completions?{PREVIEW}");
    let body = json!({"messages": [], "stream": true, "stream_options": {"include_usage": true},
        "logit_bias": {"1": 2}});
    let response = post(&mock, &path, &body)
        .header("extra-parameters", "pass-through")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let events = split_events(&text);
    assert_eq!(events.len(), 1 + 1 + 5 + 1 + 1 + 1);
    let usage = data(events[events.len() - 2]);
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["total_tokens"], 18);
    assert_eq!(*events.last().unwrap(), "data: [DONE]");

    let emb = json!({"input": ["a"], "truncate": "END"});
    let request = post(&mock, &format!("/models/embeddings?{GA}"), &emb)
        .header("extra-parameters", "pass-through");
    let (status, v) = send_json(request).await;
    assert_eq!(status, 200);
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    assert_eq!(mock.requests()[0].json(), Some(body));
}

#[tokio::test]
async fn unknown_extra_parameters_value_is_a_bad_request() {
    let mock = server().await;
    for (path, body) in [
        (format!("/models/chat/completions?{GA}"), chat_body()),
        (format!("/embeddings?{GA}"), json!({"input": "x"})),
    ] {
        let request = post(&mock, &path, &body).header("extra-parameters", "passthrough");
        let (status, v) = send_json(request).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(v["error"]["code"], "BadRequest");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains("'extra-parameters'"), "{message}");
        assert!(message.contains("'passthrough'"), "{message}");
    }
}

#[tokio::test]
async fn unsupported_embeddings_options_are_422_parameter_not_supported() {
    let mock = server().await;
    let path = format!("/models/embeddings?{GA}");
    let body = json!({"input": "x", "encoding_format": "int8"});
    let (status, text) = send_text(post(&mock, &path, &body)).await;
    assert_eq!(status, 422);
    assert_eq!(
        text,
        r#"{"status":422,"code":"parameter_not_supported","detail":{"loc":["body","encoding_format"],"input":"int8"},"message":"One of the parameters contain invalid values."}"#
    );
    let body = json!({"input": "x", "input_type": "passage"});
    let (status, v) = send_json(post(&mock, &path, &body)).await;
    assert_eq!(
        (status, &v["detail"]["loc"][1]),
        (422, &json!("input_type"))
    );
    let body = json!({"input": "x", "encoding_format": "base64", "input_type": "document"});
    let (status, v) = send_json(post(&mock, &path, &body)).await;
    assert_eq!(status, 200);
    assert!(v["data"][0]["embedding"].is_string());
}

#[tokio::test]
async fn deployment_from_header_then_body_then_the_only_one() {
    let mock = MockServer::start(with_deployments(&["phi-4", "gpt-4o"]))
        .await
        .unwrap();
    let path = format!("/models/chat/completions?{GA}");
    let body = json!({"messages": [], "model": "gpt-4o"});
    let request = post(&mock, &path, &body).header("azureml-model-deployment", "phi-4");
    let (status, v) = send_json(request).await;
    assert_eq!((status, &v["model"]), (200, &json!("phi-4")));
    let (status, v) = send_json(post(&mock, &path, &body)).await;
    assert_eq!((status, &v["model"]), (200, &json!("gpt-4o")));

    // Two deployments and no name: Foundry's no_model_name.
    let (status, v) = send_json(post(&mock, &path, &chat_body())).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "no_model_name");
    // Named but not deployed, by header or body.
    let request = post(&mock, &path, &body).header("azureml-model-deployment", "nope");
    let (status, v) = send_json(request).await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (404, &json!("DeploymentNotFound"))
    );
    let body = json!({"input": "x", "model": "nope"});
    let (status, v) = send_json(post(&mock, &format!("/embeddings?{GA}"), &body)).await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (404, &json!("DeploymentNotFound"))
    );

    let deployments: Vec<Option<String>> =
        mock.requests().into_iter().map(|r| r.deployment).collect();
    let names: Vec<Option<&str>> = deployments.iter().map(Option::as_deref).collect();
    assert_eq!(
        names,
        [
            Some("phi-4"),
            Some("gpt-4o"),
            None,
            Some("nope"),
            Some("nope")
        ]
    );

    let single = MockServer::start(with_deployments(&["Cohere-embed-v3"]))
        .await
        .unwrap();
    let (status, v) = send_json(post(
        &single,
        &format!("/embeddings?{GA}"),
        &json!({"input": "x"}),
    ))
    .await;
    assert_eq!((status, &v["model"]), (200, &json!("Cohere-embed-v3")));
    assert_eq!(
        single.requests()[0].deployment.as_deref(),
        Some("Cohere-embed-v3")
    );
}

#[tokio::test]
async fn info_by_model_query_or_header() {
    let mock = MockServer::start(with_deployments(&["phi-4", "text-Embedding-3"]))
        .await
        .unwrap();
    let (status, text) = send_text(get(&mock, &format!("/models/info?{GA}&model=phi-4"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        text,
        r#"{"model_name":"phi-4","model_type":"chat-completions","model_provider_name":"Mock"}"#
    );
    let request =
        get(&mock, &format!("/info?{GA}")).header("azureml-model-deployment", "text-Embedding-3");
    let (status, v) = send_json(request).await;
    assert_eq!(status, 200);
    assert_eq!(
        v,
        json!({"model_name": "text-Embedding-3", "model_type": "embeddings",
               "model_provider_name": "Mock"})
    );
    // The header wins over the query.
    let request = get(&mock, &format!("/info?{GA}&model=phi-4"))
        .header("azureml-model-deployment", "text-Embedding-3");
    assert_eq!(send_json(request).await.1["model_name"], "text-Embedding-3");
    // `model` arrived with 2025-04-01; the preview ignores it.
    let (status, v) = send_json(get(&mock, &format!("/info?model=phi-4&{PREVIEW}"))).await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (400, &json!("no_model_name"))
    );
    let (status, v) = send_json(get(&mock, &format!("/info?{GA}&model=gone"))).await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (404, &json!("DeploymentNotFound"))
    );
    let r = &mock.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.deployment.as_deref()),
        ("GET", Some("phi-4"))
    );
    assert_eq!(
        r.query.as_deref(),
        Some("api-version=2025-04-01&model=phi-4")
    );
}

#[tokio::test]
async fn streaming_chat_in_azure_order_ending_with_done() {
    let mock = server().await;
    let path = format!("/models/chat/completions?{GA}");
    let body = json!({"messages": [], "stream": true, "model": "my-dep"});
    let request = post(&mock, &path, &body).header("x-mock-events", "3");
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    let events = split_events(&text);
    assert_eq!(events.len(), 1 + 1 + 3 + 1 + 1);
    assert_eq!(data(events[0])["choices"], json!([]));
    let content: String = events[2..5]
        .iter()
        .map(|e| {
            let chunk = data(e);
            assert_eq!(chunk["model"], "my-dep");
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(content, "Hello from mock-azure");
    assert_eq!(data(events[5])["choices"][0]["finish_reason"], "stop");
    assert_eq!(*events.last().unwrap(), "data: [DONE]");
}

#[tokio::test]
async fn content_filter_is_flat_on_this_face() {
    let mock = server().await;
    mock.set_behavior(
        "filtered",
        Behavior {
            content_filter: true,
            ..Behavior::default()
        },
    );
    let chat = r#"{"status":400,"code":"content_filter","message":"The response was filtered","param":"messages","type":null}"#;
    let path = format!("/models/chat/completions?{GA}");
    let body = json!({"messages": [], "model": "filtered"});
    assert_eq!(
        send_text(post(&mock, &path, &body)).await,
        (400, chat.to_owned())
    );
    let request = post(&mock, &format!("/chat/completions?{GA}"), &chat_body())
        .header("x-mock-status", "400");
    assert_eq!(send_text(request).await, (400, chat.to_owned()));
    let request = post(&mock, &format!("/embeddings?{GA}"), &json!({"input": "x"}))
        .header("x-mock-content-filter", "true");
    let (status, v) = send_json(request).await;
    assert_eq!(status, 400);
    assert_eq!(
        v,
        json!({"status": 400, "code": "content_filter", "message": "The response was filtered",
               "param": "input", "type": null})
    );
}

#[tokio::test]
async fn rate_limit_is_flat_with_error_code_and_retry_headers() {
    let mock = server().await;
    let path = format!("/models/chat/completions?{GA}");
    let response = post(&mock, &path, &chat_body())
        .header("x-mock-status", "429")
        .header("x-mock-retry-after", "7")
        .header("x-mock-retry-after-ms", "6500")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let h = response.headers();
    assert_eq!(h["x-ms-error-code"], "RateLimitExceeded");
    assert_eq!(h["retry-after"], "7");
    assert_eq!(h["retry-after-ms"], "6500");
    assert_eq!(h["content-type"], "application/json");
    assert!(h.contains_key("apim-request-id"));
    assert!(!h.contains_key("x-ratelimit-remaining-requests"));
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"Too Many Requests","message":"Rate limit is exceeded. Try again in 7 seconds.","status":429}"#
    );

    // Configured on the deployment, seconds rounded up from the ms hint.
    mock.set_behavior(
        "busy",
        Behavior {
            status: Some(429),
            retry_after_ms: Some(1200),
            ..Behavior::default()
        },
    );
    let body = json!({"input": "x"});
    let request =
        post(&mock, &format!("/embeddings?{GA}"), &body).header("azureml-model-deployment", "busy");
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert!(!response.headers().contains_key("retry-after"));
    assert_eq!(response.headers()["retry-after-ms"], "1200");
    let v: Value = response.json().await.unwrap();
    assert_eq!(
        v["message"],
        "Rate limit is exceeded. Try again in 2 seconds."
    );

    // Server errors keep Azure's classic body.
    let request = post(&mock, &path, &chat_body()).header("x-mock-status", "503");
    let (status, v) = send_json(request).await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (503, &json!("InternalServerError"))
    );
}

#[tokio::test]
async fn the_log_over_http_shows_this_face() {
    let mock = server().await;
    let path = format!("/models/chat/completions?{GA}");
    let request = post(&mock, &path, &chat_body()).header("azureml-model-deployment", "dep-a");
    assert_eq!(send_json(request).await.0, 200);
    mock.wait_for_outcome(0, common::TIMEOUT).await;
    let url = format!("{}/__mock/requests", mock.base_url());
    let (_, v) = send_json(client().get(&url)).await;
    let r = &v[0];
    assert_eq!(r["method"], "POST");
    assert_eq!(r["path"], "/models/chat/completions");
    assert_eq!(r["query"], GA);
    assert_eq!(r["deployment"], "dep-a");
    assert_eq!(r["headers"]["azureml-model-deployment"], "dep-a");
    assert_eq!(r["body"], chat_body().to_string());
    assert_eq!(r["outcome"], "completed");
}
