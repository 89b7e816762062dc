//! `/metrics`: counters, histograms and tokens as JSON and streamed chats flow through the real
//! gateway, the in-flight gauge around an open stream, pooled deployments' health when one is
//! throttled, each auth mode, and the separate metrics port. (The exposition's validity
//! against Prometheus' own parser is checked by e2e/python/test_metrics.py.)

use std::time::{Duration, Instant};

use mock_azure::Behavior;
use serde_json::{Value, json};

use crate::common::*;
use crate::exposition::{Sample, parse, sum, value};

const REQUESTS: &str = "aoai_gateway_requests_total";
const CANCELLED: &str = "aoai_gateway_requests_cancelled_total";
const FILTERED: &str = "aoai_gateway_content_filtered_total";
const TOKENS: &str = "aoai_gateway_tokens_total";
const IN_FLIGHT: &str = "aoai_gateway_requests_in_flight";
const HEALTHY: &str = "aoai_gateway_deployment_healthy";
const COOLDOWN: &str = "aoai_gateway_deployment_cooldown_remaining_seconds";
const LEDGER_DROPPED: &str = "aoai_gateway_ledger_rows_dropped_total";
const LEDGER_WRITTEN: &str = "aoai_gateway_ledger_rows_written_total";
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET url`, with Basic credentials if given; expects a scrape.
async fn scrape_url(url: &str, auth: Option<(&str, &str)>) -> Vec<Sample> {
    let mut req = client().get(url);
    if let Some((user, pass)) = auth {
        req = req.basic_auth(user, Some(pass));
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], CONTENT_TYPE);
    parse(&resp.text().await.unwrap())
}

async fn scrape(gw: &Gateway) -> Vec<Sample> {
    scrape_url(&gw.url("/metrics"), Some(("admin", ADMIN_PASSWORD))).await
}

/// Scrapes until `pred` holds (a request is recorded when its body ends, which can be a moment
/// after the client saw the last byte); returns the last scrape either way.
async fn until(gw: &Gateway, pred: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = scrape(gw).await;
        if pred(&s) || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn stream_body(model: &str) -> Value {
    json!({"model": model, "stream": true, "stream_options": {"include_usage": true},
           "messages": [{"role": "user", "content": "Hello"}]})
}

/// The OpenAI-shaped error code of a refused scrape.
async fn refused(resp: reqwest::Response, status: u16) -> String {
    assert_eq!(resp.status(), status);
    let body: Value = resp.json().await.unwrap();
    body["error"]["code"].as_str().unwrap().to_owned()
}

fn with_metrics(mock_url: &str, metrics: Value) -> Value {
    let mut cfg = config(mock_url);
    cfg["server"]["metrics"] = metrics;
    cfg
}

#[tokio::test]
async fn counters_histograms_and_tokens_follow_json_and_streamed_chats() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let fresh = scrape(&gw).await;
    assert_eq!(sum(&fresh, REQUESTS, &[]), 0.0);
    assert_eq!(value(&fresh, IN_FLIGHT, &[]), Some(0.0));
    assert!(value(&fresh, "aoai_gateway_build_info", &[]).is_some());
    assert!(value(&fresh, "process_resident_memory_bytes", &[]).unwrap() > 0.0);

    let usage = [("x-mock-usage", "11,7,3,2")];
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &usage,
        &chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    resp.bytes().await.unwrap();
    let usage = [("x-mock-usage", "100,50,40,0")];
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &usage,
        &stream_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(!read_all(resp).await.1);
    let filter = [("x-mock-content-filter", "true")];
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &filter,
        &chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 400);
    resp.bytes().await.unwrap();
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("sk-not-a-key")
        .json(&chat_body("gpt-4o-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    let s = until(&gw, |s| sum(s, REQUESTS, &[]) >= 4.0).await;
    let route = [("model", "gpt-4o-mini"), ("deployment", "dep-4o-mini")];
    let ok = [
        route[0],
        route[1],
        ("operation", "chat/completions"),
        ("status", "200"),
        ("error_class", ""),
    ];
    assert_eq!(value(&s, REQUESTS, &ok), Some(2.0));
    assert_eq!(sum(&s, REQUESTS, &[]), 4.0);
    assert_eq!(
        sum(
            &s,
            REQUESTS,
            &[("status", "401"), ("error_class", "policy")]
        ),
        1.0
    );
    let filtered = [route[0], ("status", "400"), ("error_class", "upstream")];
    assert_eq!(sum(&s, REQUESTS, &filtered), 1.0);
    assert_eq!(sum(&s, FILTERED, &[route[0]]), 1.0);
    assert_eq!(sum(&s, CANCELLED, &[]), 0.0);

    let tokens = |kind| value(&s, TOKENS, &[("key", "team-a"), route[0], ("type", kind)]);
    assert_eq!(tokens("prompt"), Some(111.0));
    assert_eq!(tokens("completion"), Some(57.0));
    assert_eq!(tokens("cached"), Some(43.0));
    assert_eq!(tokens("reasoning"), Some(2.0));

    let ttft = "aoai_gateway_time_to_first_token_seconds_count";
    assert_eq!(
        value(&s, ttft, &route),
        Some(1.0),
        "only the stream has a TTFT"
    );
    let upstream = "aoai_gateway_upstream_latency_seconds_count";
    assert_eq!(value(&s, upstream, &route), Some(3.0));
    let duration = "aoai_gateway_request_duration_seconds_count";
    assert_eq!(value(&s, duration, &[route[0]]), Some(3.0));
    let overhead = "aoai_gateway_overhead_seconds_count";
    assert_eq!(value(&s, overhead, &[route[0]]), Some(3.0));
    // Every overhead is counted in some bucket, and the gateway's own time is small.
    let inf = [route[0], ("le", "+Inf")];
    assert_eq!(
        value(&s, "aoai_gateway_overhead_seconds_bucket", &inf),
        Some(3.0)
    );
    let sum_secs = value(&s, "aoai_gateway_overhead_seconds_sum", &[route[0]]).unwrap();
    assert!(sum_secs > 0.0 && sum_secs < 3.0, "{sum_secs}");
    assert_eq!(value(&s, IN_FLIGHT, &[]), Some(0.0));
    // Every request reaches the usage ledger, none is lost.
    let s = until(&gw, |s| value(s, LEDGER_WRITTEN, &[]) >= Some(4.0)).await;
    assert_eq!(value(&s, LEDGER_WRITTEN, &[]), Some(4.0));
    assert_eq!(value(&s, LEDGER_DROPPED, &[]), Some(0.0));
}

#[tokio::test]
async fn in_flight_rises_during_an_open_stream_and_cancelled_streams_are_counted() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let slow = [("x-mock-event-delay-ms", "150"), ("x-mock-events", "12")];
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &slow,
        &stream_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    // The headers are here and the body is still coming.
    assert_eq!(value(&scrape(&gw).await, IN_FLIGHT, &[]), Some(1.0));
    // A stream long enough (7.5 s) to be surely cut when its client leaves below.
    let long = [("x-mock-event-delay-ms", "150"), ("x-mock-events", "50")];
    let second = post_with(
        &gw,
        "/v1/chat/completions",
        &long,
        &stream_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(value(&scrape(&gw).await, IN_FLIGHT, &[]), Some(2.0));
    assert!(!read_all(resp).await.1);
    // The second client goes away mid-stream.
    drop(second);
    let s = until(&gw, |s| {
        value(s, IN_FLIGHT, &[]) == Some(0.0) && sum(s, REQUESTS, &[]) == 2.0
    })
    .await;
    assert_eq!(value(&s, IN_FLIGHT, &[]), Some(0.0));
    assert_eq!(sum(&s, REQUESTS, &[("model", "gpt-4o-mini")]), 2.0);
    assert_eq!(sum(&s, CANCELLED, &[("model", "gpt-4o-mini")]), 1.0);
}

#[tokio::test]
async fn a_throttled_pooled_deployment_reports_unhealthy_with_its_cooldown() {
    let mock = mock().await;
    let mut cfg = config(&mock.base_url());
    cfg["server"]["upstream"]["cooldownMaxMs"] = json!(60_000);
    cfg["models"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "pooled", "deployments": [
            {"upstream": "legacy", "targetModel": "dep-a", "priority": 1},
            {"upstream": "legacy", "targetModel": "dep-b", "priority": 2}
        ]}));
    let gw = Gateway::start(&cfg).await;
    let a = [
        ("model", "pooled"),
        ("upstream", "legacy"),
        ("deployment", "dep-a"),
    ];
    let b = [
        ("model", "pooled"),
        ("upstream", "legacy"),
        ("deployment", "dep-b"),
    ];
    let s = scrape(&gw).await;
    assert_eq!(value(&s, HEALTHY, &a), Some(1.0));
    assert_eq!(value(&s, HEALTHY, &b), Some(1.0));
    assert_eq!(value(&s, COOLDOWN, &a), Some(0.0));
    // Single-deployment models have no health state.
    assert_eq!(sum(&s, HEALTHY, &[("model", "gpt-4o-mini")]), 0.0);

    mock.set_behavior(
        "dep-a",
        Behavior {
            status: Some(429),
            retry_after_ms: Some(30_000),
            ..Behavior::default()
        },
    );
    let resp = post(&gw, "/v1/chat/completions", &chat_body("pooled")).await;
    assert_eq!(resp.status(), 200, "dep-b answers after dep-a's 429");
    resp.bytes().await.unwrap();
    let s = until(&gw, |s| sum(s, REQUESTS, &[]) >= 1.0).await;
    assert_eq!(value(&s, HEALTHY, &a), Some(0.0));
    assert_eq!(value(&s, HEALTHY, &b), Some(1.0));
    let left = value(&s, COOLDOWN, &a).unwrap();
    assert!((20.0..=30.0).contains(&left), "cooldown left: {left}");
    assert_eq!(value(&s, COOLDOWN, &b), Some(0.0));
    let answered = [
        ("model", "pooled"),
        ("deployment", "dep-b"),
        ("status", "200"),
    ];
    assert_eq!(sum(&s, REQUESTS, &answered), 1.0);
}

#[tokio::test]
async fn the_main_port_asks_for_admin_credentials_by_default() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = client().get(gw.url("/metrics")).send().await.unwrap();
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(refused(resp, 401).await, "admin_unauthorized");
    let resp = client()
        .get(gw.url("/metrics"))
        .basic_auth("admin", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused(resp, 401).await, "admin_unauthorized");
    assert!(!scrape(&gw).await.is_empty());

    // No admin password: refused like the admin API, never open.
    let mut cfg = config(&mock.base_url());
    cfg["server"].as_object_mut().unwrap().remove("adminAuth");
    let closed = Gateway::start(&cfg).await;
    let resp = client().get(closed.url("/metrics")).send().await.unwrap();
    assert_eq!(refused(resp, 403).await, "admin_disabled");
}

#[tokio::test]
async fn bearer_mode_takes_the_token_from_the_config_or_the_environment() {
    let mock = mock().await;
    let token = "scrape-token-7f3a";
    let metrics = json!({"auth": "bearer", "bearerToken": token});
    let from_file = Gateway::start(&with_metrics(&mock.base_url(), metrics)).await;
    let from_env = Gateway::start_with_env(
        &config(&mock.base_url()),
        &[("METRICS_BEARER_TOKEN", "env-token-91c2")],
    )
    .await;
    for (gw, token) in [(&from_file, token), (&from_env, "env-token-91c2")] {
        let resp = client().get(gw.url("/metrics")).send().await.unwrap();
        assert_eq!(
            resp.headers()["www-authenticate"],
            "Bearer realm=\"aoai-gateway metrics\""
        );
        assert_eq!(refused(resp, 401).await, "metrics_unauthorized");
        for wrong in ["nope", &format!("{token}x"), &token[..token.len() - 1]] {
            let resp = client()
                .get(gw.url("/metrics"))
                .bearer_auth(wrong)
                .send()
                .await
                .unwrap();
            assert_eq!(refused(resp, 401).await, "metrics_unauthorized");
        }
        // The admin credentials are not the bearer token.
        let resp = client()
            .get(gw.url("/metrics"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(refused(resp, 401).await, "metrics_unauthorized");
        let resp = client()
            .get(gw.url("/metrics"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], CONTENT_TYPE);
    }
}

#[tokio::test]
async fn auth_none_is_open_and_disabled_metrics_are_not_served() {
    let mock = mock().await;
    let open = Gateway::start(&with_metrics(&mock.base_url(), json!({"auth": "none"}))).await;
    assert!(!scrape_url(&open.url("/metrics"), None).await.is_empty());
    let off = Gateway::start(&with_metrics(&mock.base_url(), json!({"enabled": false}))).await;
    let resp = client()
        .get(off.url("/metrics"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(refused(resp, 404).await, "unknown_url");
}

#[tokio::test]
async fn a_separate_port_serves_only_metrics_and_the_main_port_then_404s() {
    let mock = mock().await;
    let gw = Gateway::start(&with_metrics(&mock.base_url(), json!({"port": 0}))).await;
    let url = gw
        .metrics
        .clone()
        .expect("the metrics listener was announced");
    assert_ne!(url, gw.url("/metrics"));
    // Default on its own port: no auth. Traffic on the main port shows there.
    let resp = post(&gw, "/v1/chat/completions", &chat_body("gpt-4o-mini")).await;
    assert_eq!(resp.status(), 200);
    resp.bytes().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while sum(&scrape_url(&url, None).await, REQUESTS, &[]) < 1.0 {
        assert!(Instant::now() < deadline, "the request never showed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let other = url.replace("/metrics", "/v1/models");
    let resp = client()
        .get(&other)
        .bearer_auth(CLIENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(refused(resp, 404).await, "unknown_url");
    let resp = client().post(&url).send().await.unwrap();
    assert_eq!(refused(resp, 405).await, "method_not_allowed");
    let resp = client()
        .get(gw.url("/metrics"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(refused(resp, 404).await, "unknown_url");

    // The auth mode applies on the separate port too.
    let metrics = json!({"port": 0, "auth": "admin"});
    let guarded = Gateway::start(&with_metrics(&mock.base_url(), metrics)).await;
    let url = guarded.metrics.clone().unwrap();
    let resp = client().get(&url).send().await.unwrap();
    assert_eq!(refused(resp, 401).await, "admin_unauthorized");
    scrape_url(&url, Some(("admin", ADMIN_PASSWORD))).await;
    // SIGTERM stops the metrics listener with the workers: a clean, prompt exit.
    guarded.stop().await;
    assert!(client().get(&url).send().await.is_err(), "still listening");
}
