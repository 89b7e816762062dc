//! Stored responses: `GET`/`DELETE /responses/{id}`, `…/cancel` and `…/input_items` reach the
//! upstream that created the response, an unknown id is looked for in config order, and a
//! continuation (`previous_response_id`) stays on the resource that stored its start.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::common::*;
use crate::recorder::{Recorder, Seen, json};

/// An upstream named `name` that creates responses `resp_{name}{n}` (JSON, or SSE when the body
/// asks to stream) and knows exactly the ids that start with `resp_{name}`.
async fn store(name: &'static str) -> Recorder {
    let next = Arc::new(AtomicU32::new(1));
    Recorder::start(move |seen: &Seen| {
        let path = seen.uri.split('?').next().unwrap_or_default();
        if seen.method == "POST" && path.ends_with("/responses") {
            let id = format!("resp_{name}{}", next.fetch_add(1, Ordering::SeqCst));
            let object = json!({"id": id, "object": "response", "status": "completed",
                                "model": seen.json()["model"]});
            if seen.json()["stream"] == true {
                let created = json!({"type": "response.created", "sequence_number": 0,
                                     "response": object});
                let sse = format!(
                    "event: response.created\ndata: {created}\n\n\
                     event: response.completed\ndata: {{\"type\":\"response.completed\",\"response\":{object}}}\n\n"
                );
                return ([("content-type", "text/event-stream")], sse).into_response();
            }
            return json(200, object);
        }
        let id = path.split("/responses/").nth(1).unwrap_or_default();
        let id = id.split('/').next().unwrap_or_default();
        if id.starts_with(&format!("resp_{name}")) {
            json(200, json!({"id": id, "served_by": name, "method": seen.method}))
        } else {
            json(404, json!({"error": {"message": format!("No response {id} on {name}"),
                                       "type": "invalid_request_error", "code": "not_found"}}))
        }
    })
    .await
}

/// Upstreams in this order: `inf` (inference, which has no stored responses), `a` (azure), `b`
/// (openai). Models: `ma` on a, `mb` on b, `mp` a pool over both.
fn config(inf: &Recorder, a: &Recorder, b: &Recorder) -> Value {
    json!({
        "server": {
            "host": "127.0.0.1", "port": 0,
            "adminAuth": {"enabled": true, "username": "admin", "password": ADMIN_PASSWORD},
            "upstream": {"firstByteTimeoutMs": 5000, "idleTimeoutMs": 5000, "requestTimeoutMs": 20000}
        },
        "auth": {"mode": "apiKey", "apiKey": UPSTREAM_KEY},
        "apiKeys": [{"id": "team-a", "key": CLIENT_KEY}],
        "upstreams": [
            {"name": "inf", "baseUrl": inf.url, "kind": "inference"},
            {"name": "a", "baseUrl": a.url, "kind": "azure", "apiVersion": "2024-10-21"},
            {"name": "b", "baseUrl": b.url, "kind": "openai",
             "auth": {"mode": "apiKey", "apiKey": "engine-key"}}
        ],
        "models": [
            {"id": "mi", "upstream": "inf"},
            {"id": "ma", "upstream": "a", "targetModel": "dep-a"},
            {"id": "mb", "upstream": "b", "targetModel": "dep-b"},
            {"id": "mp", "deployments": [
                {"upstream": "a", "targetModel": "dep-a"},
                {"upstream": "b", "targetModel": "dep-b"}
            ]}
        ]
    })
}

async fn start() -> (Recorder, Recorder, Recorder, Gateway) {
    let (inf, a, b) = (store("inf").await, store("a").await, store("b").await);
    let gw = Gateway::start(&config(&inf, &a, &b)).await;
    (inf, a, b, gw)
}

/// Creates a response through `model`, optionally streamed; returns its id.
async fn create(gw: &Gateway, model: &str, stream: bool) -> String {
    let resp = post(
        gw,
        "/v1/responses",
        &json!({"model": model, "input": "Hi", "stream": stream}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    if stream {
        let events = sse_events(resp).await.unwrap();
        let created: Value = serde_json::from_str(&events[0].1).unwrap();
        created["response"]["id"].as_str().unwrap().to_owned()
    } else {
        resp.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// `method` on `/…/responses/{id}{suffix}` through `face` (legacy: with `api-version`).
async fn call(
    gw: &Gateway,
    face: &str,
    method: &str,
    id: &str,
    suffix: &str,
    query: &str,
) -> reqwest::Response {
    let mut params: Vec<String> = Vec::new();
    if face == "/openai/" {
        params.push("api-version=2025-04-01-preview".to_owned());
    }
    if !query.is_empty() {
        params.push(query.to_owned());
    }
    let url = gw.url(&format!(
        "{face}responses/{id}{suffix}?{}",
        params.join("&")
    ));
    client()
        .request(method.parse().unwrap(), url)
        .header("api-key", CLIENT_KEY)
        .send()
        .await
        .unwrap()
}

const INPUT_ITEMS_QUERY: &str =
    "limit=5&order=asc&after=msg_1&include%5B%5D=message.input_image.image_url";

#[tokio::test]
async fn stored_responses_go_back_to_the_upstream_that_created_them() {
    let (inf, a, b, gw) = start().await;
    let on_a = create(&gw, "ma", false).await;
    let on_b = create(&gw, "mb", true).await;
    assert_eq!((on_a.as_str(), on_b.as_str()), ("resp_a1", "resp_b1"));
    let calls = [
        ("GET", "", ""),
        ("POST", "/cancel", ""),
        ("GET", "/input_items", INPUT_ITEMS_QUERY),
        (
            "GET",
            "",
            "include%5B%5D=reasoning.encrypted_content&stream=false",
        ),
    ];
    for face in ["/v1/", "/openai/v1/", "/openai/"] {
        for (method, suffix, query) in calls {
            let (before_a, before_b) = (a.count(), b.count());
            let resp = call(&gw, face, method, &on_a, suffix, query).await;
            assert_eq!(resp.status(), 200, "{face} {method} {suffix}");
            assert_eq!(resp.json::<Value>().await.unwrap()["served_by"], "a");
            // The v1 surface on azure, unless the client chose a dated version.
            let want = match face {
                "/openai/" => format!(
                    "/openai/responses/{on_a}{suffix}?api-version=2025-04-01-preview{}",
                    if query.is_empty() {
                        String::new()
                    } else {
                        format!("&{query}")
                    }
                ),
                _ => format!(
                    "/openai/v1/responses/{on_a}{suffix}{}",
                    if query.is_empty() {
                        String::new()
                    } else {
                        format!("?{query}")
                    }
                ),
            };
            let seen = a.last();
            assert_eq!(
                (seen.method.as_str(), seen.uri.as_str()),
                (method, want.as_str())
            );
            assert_eq!(seen.header("api-key"), Some(UPSTREAM_KEY));
            assert_eq!(
                (a.count(), b.count()),
                (before_a + 1, before_b),
                "{face}: no probing"
            );

            let resp = call(&gw, face, method, &on_b, suffix, query).await;
            assert_eq!(resp.status(), 200, "{face} {method} {suffix}");
            assert_eq!(resp.json::<Value>().await.unwrap()["served_by"], "b");
            let want = format!(
                "/v1/responses/{on_b}{suffix}{}",
                if query.is_empty() {
                    String::new()
                } else {
                    format!("?{query}")
                }
            );
            let seen = b.last();
            assert_eq!(
                (seen.method.as_str(), seen.uri.as_str()),
                (method, want.as_str())
            );
            assert_eq!(seen.header("authorization"), Some("Bearer engine-key"));
            assert_eq!((a.count(), b.count()), (before_a + 1, before_b + 1));
        }
    }
    // DELETE goes to the owner too, and then the id is forgotten: the next call looks for it
    // in config order (a, then b), skipping the inference upstream.
    let resp = call(&gw, "/v1/", "DELETE", &on_b, "", "").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(b.last().method, "DELETE");
    let before_a = a.count();
    let resp = call(&gw, "/v1/", "GET", &on_b, "", "").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(a.count(), before_a + 1);
    assert_eq!(a.last().uri, format!("/openai/v1/responses/{on_b}"));
    // The inference upstream has no stored responses: it is never asked.
    assert_eq!(inf.count(), 0, "{:?}", inf.calls());
}

#[tokio::test]
async fn unknown_ids_are_looked_for_in_config_order() {
    let (inf, a, b, gw) = start().await;
    // Known to b only (the gateway never saw it created).
    let resp = get(&gw, "/v1/responses/resp_b77").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["served_by"], "b");
    assert_eq!(a.calls(), ["GET /openai/v1/responses/resp_b77"]);
    assert_eq!(b.calls(), ["GET /v1/responses/resp_b77"]);
    // Found once, remembered: the next call goes straight to b.
    let resp = get(&gw, "/v1/responses/resp_b77/input_items?limit=1").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(a.count(), 1);
    assert_eq!(b.last().uri, "/v1/responses/resp_b77/input_items?limit=1");
    // Nowhere: the last upstream's 404 reaches the client as it was.
    let resp = get(&gw, "/v1/responses/resp_zz").await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["message"], "No response resp_zz on b");
    assert_eq!((a.count(), b.count()), (2, 3));
    // The legacy face still needs its api-version (Azure's 404), before any lookup.
    let resp = client()
        .get(gw.url("/openai/responses/resp_b77"))
        .header("api-key", CLIENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["message"],
        "Resource not found"
    );
    assert_eq!((a.count(), b.count()), (2, 3));
    assert_eq!(inf.count(), 0, "{:?}", inf.calls());
    let stats = stats_until(&gw, |s| s["perModel"]["(responses)"]["requests"] == 3).await;
    assert_eq!(stats["perModel"]["(responses)"]["requests"], 3, "{stats}");
}

#[tokio::test]
async fn continuations_stay_on_the_resource_that_stored_the_previous_response() {
    let (_inf, a, b, gw) = start().await;
    let on_a = create(&gw, "ma", false).await;
    let on_b = create(&gw, "mb", true).await;
    let posts = |r: &Recorder| r.seen().iter().filter(|s| s.method == "POST").count();
    let pool_post = |previous: Option<&str>| {
        let mut body = json!({"model": "mp", "input": "and then?"});
        if let Some(p) = previous {
            body["previous_response_id"] = json!(p);
        }
        body
    };
    // Without a previous response the pool spreads requests over both members…
    let (a0, b0) = (posts(&a), posts(&b));
    for _ in 0..4 {
        assert_eq!(
            post(&gw, "/v1/responses", &pool_post(None)).await.status(),
            200
        );
    }
    assert_eq!((posts(&a) - a0, posts(&b) - b0), (2, 2));
    // …with one, every continuation goes where that response is stored.
    for (previous, owner, other, deployment) in [(&on_a, &a, &b, "dep-a"), (&on_b, &b, &a, "dep-b")]
    {
        let (mine, theirs) = (posts(owner), posts(other));
        for _ in 0..5 {
            let resp = post(&gw, "/v1/responses", &pool_post(Some(previous))).await;
            assert_eq!(resp.status(), 200);
            let seen = owner.last();
            assert_eq!(seen.json()["previous_response_id"], previous.as_str());
            assert_eq!(seen.json()["model"], deployment);
        }
        assert_eq!(
            (posts(owner) - mine, posts(other) - theirs),
            (5, 0),
            "{previous}"
        );
    }
    // The Azure legacy face pins the same way.
    let resp = client()
        .post(gw.url("/openai/responses?api-version=2025-04-01-preview"))
        .header("api-key", CLIENT_KEY)
        .json(&pool_post(Some(&on_b)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(b.last().uri, "/v1/responses");
    // A response created through the pool is remembered too.
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = (a.count(), b.count());
    assert_eq!(get(&gw, &format!("/v1/responses/{id}")).await.status(), 200);
    assert_eq!((a.count(), b.count()), (before.0, before.1 + 1));
}
