//! Pools: balancing, priority tiers, failover inside one request, Retry-After cooldowns,
//! circuit breaking, the all-throttled answer, broken streams, and in-flight accounting —
//! the real gateway over TCP in front of mock-azure, one deployment name per pool member.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mock_azure::{Behavior, MockServer, Outcome};
use serde_json::{Value, json};

use crate::common::*;

const MODEL: &str = "pooled";

/// A member of the pool on the mock's legacy upstream.
fn dep(name: &str, weight: u32, priority: u32) -> Value {
    json!({"upstream": "legacy", "targetModel": name, "weight": weight, "priority": priority})
}

/// The e2e config plus model `pooled` over `deployments`; `policy` is merged into
/// `server.upstream`.
fn pool_config(mock: &MockServer, strategy: &str, deployments: &[Value], policy: Value) -> Value {
    let mut cfg = config(&mock.base_url());
    let up = cfg["server"]["upstream"].as_object_mut().unwrap();
    for (k, v) in policy.as_object().unwrap() {
        up.insert(k.clone(), v.clone());
    }
    cfg["models"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": MODEL, "strategy": strategy, "deployments": deployments}));
    cfg
}

fn throttling(retry_after_ms: u64) -> Behavior {
    Behavior {
        status: Some(429),
        retry_after_ms: Some(retry_after_ms),
        retry_after_secs: Some(retry_after_ms.div_ceil(1000)),
        ..Behavior::default()
    }
}

fn failing(status: u16) -> Behavior {
    Behavior {
        status: Some(status),
        ..Behavior::default()
    }
}

/// Deployment names the mock saw, in arrival order.
fn seen(mock: &MockServer) -> Vec<String> {
    mock.requests()
        .iter()
        .map(|r| r.deployment.clone().unwrap_or_default())
        .collect()
}

fn hits(mock: &MockServer, name: &str) -> usize {
    seen(mock).iter().filter(|d| *d == name).count()
}

/// A chat request with a marker, so a failed-over body can be matched to its first try.
fn marked(marker: &str) -> Value {
    json!({"model": MODEL, "messages": [{"role": "user", "content": marker}]})
}

async fn chat(gw: &Gateway) -> reqwest::Response {
    post(gw, "/v1/chat/completions", &chat_body(MODEL)).await
}

/// Sends a chat request and reads it to the end; returns the status.
async fn chat_status(gw: &Gateway) -> u16 {
    let resp = chat(gw).await;
    let status = resp.status().as_u16();
    resp.bytes().await.unwrap();
    status
}

/// One deployment's entry of this file's pool in `/admin/api/deployments`.
async fn member(gw: &Gateway, name: &str) -> Value {
    pool_member(gw, MODEL, name).await
}

/// Polls the admin API until `pred` holds for `name` (leases end when bodies end, which can be
/// a moment after the client read the last byte).
async fn member_until(gw: &Gateway, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let m = member(gw, name).await;
        if pred(&m) || Instant::now() > deadline {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn ms(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[tokio::test]
async fn a_throttling_deployment_is_invisible_to_clients_and_left_alone_while_it_cools() {
    let mock = mock().await;
    mock.set_behavior("dep-a", throttling(400));
    let deps = [dep("dep-a", 1, 1), dep("dep-b", 1, 1)];
    let gw = Gateway::start(&pool_config(&mock, "weighted", &deps, json!({}))).await;
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < Duration::from_millis(1300) {
        let marker = format!("request-{i}");
        let resp = post(&gw, "/v1/chat/completions", &marked(&marker)).await;
        assert_eq!(resp.status(), 200, "{marker}: a client saw the 429");
        resp.bytes().await.unwrap();
        i += 1;
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    let log = mock.requests();
    let to_a: Vec<_> = log
        .iter()
        .enumerate()
        .filter(|(_, r)| r.deployment.as_deref() == Some("dep-a"))
        .collect();
    assert!(
        to_a.len() >= 2,
        "the cooldown never ended: {:?}",
        seen(&mock)
    );
    for pair in to_a.windows(2) {
        let gap = pair[1].1.at - pair[0].1.at;
        assert!(
            gap >= Duration::from_millis(400),
            "dep-a got a request {gap:?} into its 400 ms cooldown"
        );
    }
    // Each 429 was answered by dep-b, with the very same request body (model aside).
    for (k, r) in &to_a {
        let next = &log[k + 1];
        assert_eq!(next.deployment.as_deref(), Some("dep-b"));
        let (first, again) = (r.json().unwrap(), next.json().unwrap());
        assert_eq!(first["messages"], again["messages"]);
        assert_eq!(
            (first["model"].as_str(), again["model"].as_str()),
            (Some("dep-a"), Some("dep-b"))
        );
    }
    let a = member(&gw, "dep-a").await;
    assert_eq!(ms(&a["throttled"]), to_a.len() as u64, "{a}");
    assert_eq!(ms(&a["successes"]), 0);
    let b = member(&gw, "dep-b").await;
    assert_eq!(ms(&b["successes"]), i as u64, "{b}");
    assert_eq!(b["state"], "available");
}

#[tokio::test]
async fn cooldowns_follow_x_ms_retry_after_ms_and_http_dates_within_the_cap() {
    let mock = mock().await;
    mock.set_behavior(
        "dep-ms",
        Behavior {
            status: Some(429),
            x_ms_retry_after_ms: Some(300),
            ..Behavior::default()
        },
    );
    mock.set_behavior(
        "dep-date",
        Behavior {
            status: Some(429),
            retry_after_secs: Some(3),
            retry_after_as_date: true,
            ..Behavior::default()
        },
    );
    mock.set_behavior(
        "dep-day",
        Behavior {
            status: Some(429),
            retry_after_secs: Some(86_400),
            ..Behavior::default()
        },
    );
    let deps = [
        dep("dep-ms", 1, 1),
        dep("dep-date", 1, 1),
        dep("dep-day", 1, 1),
        dep("dep-spare", 1, 2),
    ];
    let policy = json!({"maxAttempts": 4, "cooldownMaxMs": 5000});
    let gw = Gateway::start(&pool_config(&mock, "weighted", &deps, policy)).await;
    assert_eq!(chat_status(&gw).await, 200);
    let mut order = seen(&mock);
    assert_eq!(order.pop().as_deref(), Some("dep-spare"));
    order.sort();
    assert_eq!(order, ["dep-date", "dep-day", "dep-ms"]);

    let in_ms = |m: &Value| ms(&m["availableInMs"]);
    let m = member(&gw, "dep-ms").await;
    assert_eq!(m["state"], "cooling", "{m}");
    assert!((100..=300).contains(&in_ms(&m)), "{m}");
    let d = member(&gw, "dep-date").await;
    assert!(
        (1000..=3000).contains(&in_ms(&d)),
        "an HTTP date 3 s ahead: {d}"
    );
    assert!(d["cooldownUntil"].as_str().unwrap().ends_with('Z'));
    let day = member(&gw, "dep-day").await;
    assert!(
        (4000..=5000).contains(&in_ms(&day)),
        "capped by cooldownMaxMs: {day}"
    );

    // While they cool, the spare takes requests directly.
    mock.clear();
    assert_eq!(chat_status(&gw).await, 200);
    assert_eq!(seen(&mock), ["dep-spare"]);
    // dep-ms is back after its 300 ms.
    tokio::time::sleep(Duration::from_millis(350)).await;
    mock.clear();
    assert_eq!(chat_status(&gw).await, 200);
    assert_eq!(seen(&mock), ["dep-ms", "dep-spare"]);
}

#[tokio::test]
async fn weights_hold_over_2000_requests_and_lower_tiers_stay_idle() {
    let mock = mock().await;
    let deps = [dep("dep-a", 3, 1), dep("dep-b", 1, 1), dep("dep-c", 5, 2)];
    let gw = std::sync::Arc::new(
        Gateway::start(&pool_config(&mock, "weighted", &deps, json!({}))).await,
    );
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let gw = std::sync::Arc::clone(&gw);
            tokio::spawn(async move {
                let c = client();
                for _ in 0..250 {
                    let resp = c
                        .post(gw.url("/v1/chat/completions"))
                        .bearer_auth(CLIENT_KEY)
                        .json(&chat_body(MODEL))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(resp.status(), 200);
                    resp.bytes().await.unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let (a, b, c) = (
        hits(&mock, "dep-a"),
        hits(&mock, "dep-b"),
        hits(&mock, "dep-c"),
    );
    assert_eq!(a + b + c, 2000);
    let share = a as f64 / 2000.0;
    assert!((share - 0.75).abs() <= 0.05, "dep-a {a}, dep-b {b}");
    assert_eq!(
        c, 0,
        "the second tier took traffic while the first was healthy"
    );
    let admin = member(&gw, "dep-a").await;
    assert_eq!(ms(&admin["successes"]), a as u64);
    assert!(admin["latencyMs"].as_f64().unwrap() > 0.0, "{admin}");
}

#[tokio::test]
async fn priority_spills_over_while_throttled_and_returns_after() {
    let mock = mock().await;
    let deps = [dep("dep-ptu", 1, 1), dep("dep-paygo", 1, 2)];
    let gw = Gateway::start(&pool_config(&mock, "weighted", &deps, json!({}))).await;
    for _ in 0..5 {
        assert_eq!(chat_status(&gw).await, 200);
    }
    assert_eq!(seen(&mock), ["dep-ptu"; 5]);

    mock.set_behavior("dep-ptu", throttling(700));
    mock.clear();
    assert_eq!(chat_status(&gw).await, 200);
    assert_eq!(seen(&mock), ["dep-ptu", "dep-paygo"]);
    let throttled_at = mock.requests()[0].at;
    assert_eq!(member(&gw, "dep-ptu").await["state"], "cooling");
    // Recovered upstream, but the cooldown it asked for still holds.
    mock.set_behavior("dep-ptu", Behavior::default());
    let mut spilled = 0;
    while throttled_at.elapsed() < Duration::from_millis(500) {
        assert_eq!(chat_status(&gw).await, 200);
        spilled += 1;
    }
    assert!(spilled >= 1);
    assert_eq!(hits(&mock, "dep-ptu"), 1, "{:?}", seen(&mock));
    assert_eq!(hits(&mock, "dep-paygo"), spilled + 1);

    let back = throttled_at + Duration::from_millis(760);
    tokio::time::sleep_until(back.into()).await;
    mock.clear();
    for _ in 0..5 {
        assert_eq!(chat_status(&gw).await, 200);
    }
    assert_eq!(seen(&mock), ["dep-ptu"; 5], "traffic did not return");
}

#[tokio::test]
async fn everything_throttled_gets_a_429_with_the_soonest_retry_after() {
    let mock = mock().await;
    mock.set_behavior("dep-a", throttling(900));
    mock.set_behavior("dep-b", throttling(400));
    mock.set_behavior("dep-solo", throttling(400));
    let deps = [dep("dep-a", 1, 1), dep("dep-b", 1, 1)];
    let mut cfg = pool_config(&mock, "weighted", &deps, json!({}));
    // One deployment, written as a pool of one: the fast path, Azure's 429 unchanged.
    cfg["models"].as_array_mut().unwrap().push(json!(
        {"id": "solo", "deployments": [{"upstream": "legacy", "targetModel": "dep-solo"}]}
    ));
    let gw = Gateway::start(&cfg).await;

    let resp = chat(&gw).await;
    assert_eq!(resp.status(), 429);
    let retry_ms: u64 = resp.headers()["retry-after-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (250..=400).contains(&retry_ms),
        "soonest is dep-b's 400 ms: {retry_ms}"
    );
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`pooled`"),
        "{body}"
    );
    assert_eq!(mock.requests().len(), 2);

    // While both cool, nothing is sent upstream at all.
    let resp = chat(&gw).await;
    assert_eq!(resp.status(), 429);
    let again: u64 = resp.headers()["retry-after-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(again <= retry_ms);
    assert_eq!(mock.requests().len(), 2);

    // When dep-b's window ends, it is tried again.
    mock.set_behavior("dep-b", Behavior::default());
    tokio::time::sleep(Duration::from_millis(again + 30)).await;
    assert_eq!(chat_status(&gw).await, 200);
    assert_eq!(seen(&mock)[2..], ["dep-b"]);

    // The single deployment passes Azure's own answer through, and keeps no cooldown.
    for _ in 0..2 {
        let resp = post(&gw, "/v1/chat/completions", &chat_body("solo")).await;
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after-ms"], "400");
        assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], "429");
    }
    assert_eq!(hits(&mock, "dep-solo"), 2);
    let listed = deployments(&gw).await;
    assert_eq!(listed["models"].as_array().unwrap().len(), 1, "{listed}");
}

#[tokio::test]
async fn max_retries_waits_for_the_soonest_recovery_then_starts_a_new_round() {
    let mock = mock().await;
    mock.set_behavior("dep-a", throttling(600));
    mock.set_behavior("dep-b", throttling(250));
    let deps = [dep("dep-a", 1, 1), dep("dep-b", 1, 2)];
    let policy = json!({"maxRetries": 1, "retryMaxMs": 1000});
    let gw =
        std::sync::Arc::new(Gateway::start(&pool_config(&mock, "weighted", &deps, policy)).await);
    let started = Instant::now();
    let request = tokio::spawn({
        let gw = std::sync::Arc::clone(&gw);
        async move { chat_status(&gw).await }
    });
    mock.wait_for_requests(2, Duration::from_secs(5)).await;
    // dep-b recovers while the request waits out the 250 ms it asked for.
    mock.set_behavior("dep-b", Behavior::default());
    assert_eq!(request.await.unwrap(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(240),
        "{:?}",
        started.elapsed()
    );
    // Round two skipped dep-a, still cooling.
    assert_eq!(seen(&mock), ["dep-a", "dep-b", "dep-b"]);

    // A pause longer than retryMaxMs is not waited for: the pool's 429 comes at once.
    mock.set_behavior("dep-a", throttling(5000));
    mock.set_behavior("dep-b", throttling(5000));
    tokio::time::sleep(Duration::from_millis(600)).await;
    mock.clear();
    let started = Instant::now();
    let resp = chat(&gw).await;
    assert_eq!(resp.status(), 429);
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn the_breaker_opens_then_half_opens_for_exactly_one_probe() {
    let mock = mock().await;
    mock.set_behavior("dep-a", failing(500));
    let deps = [dep("dep-a", 1, 1), dep("dep-b", 1, 2)];
    let policy = json!({"breakerFailures": 2, "breakerOpenMs": 500});
    let gw = Gateway::start(&pool_config(&mock, "weighted", &deps, policy)).await;
    for _ in 0..2 {
        assert_eq!(chat_status(&gw).await, 200);
    }
    assert_eq!(seen(&mock), ["dep-a", "dep-b", "dep-a", "dep-b"]);
    let opened_at = mock.requests()[2].at;
    let a = member(&gw, "dep-a").await;
    assert_eq!(
        (a["state"].as_str(), a["breaker"].as_str()),
        (Some("breaker-open"), Some("open")),
        "{a}"
    );
    assert_eq!((ms(&a["failures"]), ms(&a["consecutiveFailures"])), (2, 2));

    // Open: dep-a gets nothing.
    mock.clear();
    while opened_at.elapsed() < Duration::from_millis(350) {
        assert_eq!(chat_status(&gw).await, 200);
    }
    assert!(
        seen(&mock).iter().all(|d| d == "dep-b"),
        "{:?}",
        seen(&mock)
    );

    // Half-open: of several concurrent requests exactly one probes dep-a (slow, still failing).
    tokio::time::sleep_until((opened_at + Duration::from_millis(560)).into()).await;
    assert_eq!(member(&gw, "dep-a").await["state"], "half-open");
    mock.set_behavior(
        "dep-a",
        Behavior {
            header_delay_ms: 300,
            ..failing(500)
        },
    );
    mock.clear();
    let burst: Vec<_> = (0..4).map(|_| chat_status(&gw)).collect();
    for status in futures_util::future::join_all(burst).await {
        assert_eq!(status, 200);
    }
    assert_eq!(hits(&mock, "dep-a"), 1, "{:?}", seen(&mock));
    let a = member(&gw, "dep-a").await;
    assert_eq!(
        a["state"], "breaker-open",
        "the failed probe re-opens it: {a}"
    );
    let reopened = Instant::now();

    // The next probe succeeds: closed, and dep-a takes the traffic again.
    mock.set_behavior("dep-a", Behavior::default());
    tokio::time::sleep_until((reopened + Duration::from_millis(520)).into()).await;
    mock.clear();
    for _ in 0..3 {
        assert_eq!(chat_status(&gw).await, 200);
    }
    assert_eq!(seen(&mock), ["dep-a"; 3]);
    let a = member(&gw, "dep-a").await;
    assert_eq!(
        (a["state"].as_str(), a["breaker"].as_str()),
        (Some("available"), Some("closed")),
        "{a}"
    );
    assert_eq!(ms(&a["consecutiveFailures"]), 0);
}

#[tokio::test]
async fn attempts_are_capped_and_open_breakers_answer_503() {
    let mock = mock().await;
    for name in ["dep-a", "dep-b", "dep-c"] {
        mock.set_behavior(name, failing(502));
    }
    let deps = [dep("dep-a", 1, 1), dep("dep-b", 1, 1), dep("dep-c", 1, 1)];
    let policy = json!({"maxAttempts": 2, "breakerFailures": 1, "breakerOpenMs": 10000});
    let gw = Gateway::start(&pool_config(&mock, "weighted", &deps, policy)).await;
    // Two attempts, then the last upstream answer as it was (one deployment is still closed).
    let resp = chat(&gw).await;
    assert_eq!(resp.status(), 502);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["code"],
        "InternalServerError"
    );
    assert_eq!(mock.requests().len(), 2);
    // The third deployment fails too: every breaker is open now.
    let resp = chat(&gw).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(mock.requests().len(), 3);
    let retry_ms: u64 = resp.headers()["retry-after-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((9000..=10_000).contains(&retry_ms), "{retry_ms}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "no_deployment_available");
}

#[tokio::test]
async fn connect_errors_and_first_byte_timeouts_fail_over() {
    let mock = mock().await;
    mock.set_behavior(
        "dep-slow",
        Behavior {
            header_delay_ms: 3000,
            ..Behavior::default()
        },
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let deps = [
        json!({"upstream": "dead", "targetModel": "dep-dead", "priority": 1}),
        dep("dep-slow", 1, 2),
        dep("dep-ok", 1, 3),
    ];
    let policy = json!({"firstByteTimeoutMs": 300});
    let mut cfg = pool_config(&mock, "weighted", &deps, policy);
    cfg["upstreams"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "dead", "baseUrl": format!("http://127.0.0.1:{closed}")}));
    let gw = Gateway::start(&cfg).await;
    let started = Instant::now();
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-events", "3")],
        &json!({"model": MODEL, "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let events = sse_events(resp).await.unwrap();
    assert_eq!(events.last().unwrap().1, "[DONE]");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    assert_eq!(seen(&mock), ["dep-slow", "dep-ok"]);
    // The abandoned attempt was cancelled upstream, not left running.
    assert_eq!(
        mock.wait_for_outcome(0, Duration::from_secs(5)).await,
        Outcome::Cancelled
    );
    for name in ["dep-dead", "dep-slow"] {
        let m = member(&gw, name).await;
        assert_eq!(ms(&m["failures"]), 1, "{m}");
    }
    assert_eq!(ms(&member(&gw, "dep-ok").await["successes"]), 1);
}

/// Reads a body to its end: the bytes that arrived, and whether it ended in an error.
#[tokio::test]
async fn a_broken_stream_is_not_replayed_and_ends_with_an_sse_error_event() {
    let mock = mock().await;
    let deps = [dep("dep-a", 1, 1), dep("dep-b", 1, 2)];
    let gw = Gateway::start(&pool_config(&mock, "weighted", &deps, json!({}))).await;
    let body =
        json!({"model": MODEL, "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    for model in [MODEL, "gpt-4o-mini"] {
        mock.clear();
        let mut body = body.clone();
        body["model"] = json!(model);
        let resp = post_with(
            &gw,
            "/v1/chat/completions",
            &[("x-mock-cut-after", "3")],
            &body,
        )
        .await;
        assert_eq!(resp.status(), 200);
        let (text, broken) = read_all(resp).await;
        assert!(
            broken,
            "{model}: the cut must still be visible as a broken body"
        );
        let events: Vec<&str> = text.split_terminator("\n\n").collect();
        assert_eq!(
            events.len(),
            4,
            "{model}: three upstream events and ours: {text}"
        );
        let last: Value = serde_json::from_str(events[3].strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(last["error"]["code"], "upstream_stream_error", "{last}");
        assert_eq!(last["error"]["type"], "upstream_error");
        assert_eq!(
            mock.requests().len(),
            1,
            "{model}: a stream that began is never replayed"
        );
    }
    assert_eq!(seen(&mock), ["dep-4o-mini"]);
    let a = member_until(&gw, "dep-a", |m| m["brokenStreams"] == 1).await;
    assert_eq!((ms(&a["brokenStreams"]), ms(&a["inFlight"])), (1, 0), "{a}");
    assert_eq!(hits(&mock, "dep-b"), 0);
    let stats = stats_until(&gw, |s| s["perModel"][MODEL]["errors"] == 1).await;
    assert_eq!(stats["perModel"][MODEL]["errors"], 1, "{stats}");
}

fn stream_request() -> Value {
    json!({"model": MODEL, "stream": true, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn least_busy_counts_streams_until_they_end() {
    let mock = mock().await;
    let deps = [dep("dep-a", 1, 1), dep("dep-b", 1, 1)];
    let gw = Gateway::start(&pool_config(&mock, "least-busy", &deps, json!({}))).await;
    let slow = [("x-mock-event-delay-ms", "100"), ("x-mock-events", "20")];

    // One long stream holds one deployment…
    let held = post_with(&gw, "/v1/chat/completions", &slow, &stream_request()).await;
    let mut held = held.bytes_stream();
    assert!(!held.next().await.unwrap().unwrap().is_empty());
    let busy = seen(&mock)[0].clone();
    let idle = if busy == "dep-a" { "dep-b" } else { "dep-a" };
    assert_eq!(ms(&member(&gw, &busy).await["inFlight"]), 1);
    // …so quick requests all go to the other one (round-robin would alternate).
    mock.clear();
    for _ in 0..6 {
        assert_eq!(chat_status(&gw).await, 200);
    }
    assert_eq!(seen(&mock), vec![idle; 6]);
    // A client that walks away releases its deployment too.
    drop(held);
    let freed = member_until(&gw, &busy, |m| m["inFlight"] == 0).await;
    assert_eq!(ms(&freed["inFlight"]), 0, "{freed}");

    // Parallel streams spread evenly and stay counted until each ends.
    mock.clear();
    let request = stream_request();
    let opening: Vec<_> = (0..8)
        .map(|_| post_with(&gw, "/v1/chat/completions", &slow[..1], &request))
        .collect();
    let open = futures_util::future::join_all(opening).await;
    let (a, b) = (member(&gw, "dep-a").await, member(&gw, "dep-b").await);
    let (in_a, in_b) = (ms(&a["inFlight"]), ms(&b["inFlight"]));
    assert_eq!(in_a + in_b, 8, "{a} {b}");
    assert!((3..=5).contains(&in_a), "uneven: {in_a} vs {in_b}");
    for resp in open {
        assert_eq!(sse_events(resp).await.unwrap().last().unwrap().1, "[DONE]");
    }
    for name in ["dep-a", "dep-b"] {
        let m = member_until(&gw, name, |m| m["inFlight"] == 0).await;
        assert_eq!(ms(&m["inFlight"]), 0, "{m}");
    }
    assert_eq!(hits(&mock, "dep-a") as u64, in_a);
}

#[tokio::test]
async fn latency_aware_prefers_the_faster_deployment() {
    let mock = mock().await;
    mock.set_behavior(
        "dep-far",
        Behavior {
            header_delay_ms: 150,
            ..Behavior::default()
        },
    );
    let deps = [dep("dep-far", 1, 1), dep("dep-near", 1, 1)];
    let gw = Gateway::start(&pool_config(&mock, "latency", &deps, json!({}))).await;
    for _ in 0..10 {
        assert_eq!(chat_status(&gw).await, 200);
    }
    // Each is measured once, then the near one keeps the traffic.
    assert_eq!(hits(&mock, "dep-far"), 1, "{:?}", seen(&mock));
    assert_eq!(hits(&mock, "dep-near"), 9);
    let far = member(&gw, "dep-far").await;
    assert!(far["latencyMs"].as_f64().unwrap() >= 150.0, "{far}");
    let listed = deployments(&gw).await;
    assert_eq!(listed["models"][0]["strategy"], "latency");
}
