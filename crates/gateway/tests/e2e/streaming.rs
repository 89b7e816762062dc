//! Streams go frame by frame; statuses and headers arrive as the upstream sent them.

use std::time::{Duration, Instant};

use mock_azure::Outcome;
use serde_json::{Value, json};

use crate::common::*;

fn stream_body(model: &str) -> Value {
    json!({"model": model, "stream": true, "stream_options": {"include_usage": true},
           "messages": [{"role": "user", "content": "Hello"}]})
}

#[tokio::test]
async fn events_keep_their_pacing() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let sent = Instant::now();
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-event-delay-ms", "100"), ("x-mock-events", "6")],
        &stream_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let headers_at = sent.elapsed();
    assert!(
        headers_at < Duration::from_millis(90),
        "headers waited for the body: {headers_at:?}"
    );
    let events = sse_events(resp).await.unwrap();
    assert_eq!(events.last().unwrap().1, "[DONE]");
    // Azure's first chunk (empty choices, prompt_filter_results) passes through verbatim.
    let first: Value = serde_json::from_str(&events[0].1).unwrap();
    assert_eq!(first["choices"], json!([]));
    assert!(first["prompt_filter_results"].is_array());
    let content: Vec<_> = events
        .iter()
        .filter(|(_, d)| d.contains("\"content\":\"") && !d.contains("\"content\":\"\""))
        .collect();
    assert_eq!(content.len(), 6);
    let gaps: Vec<Duration> = content.windows(2).map(|w| w[1].0 - w[0].0).collect();
    for gap in &gaps {
        assert!(
            *gap >= Duration::from_millis(60) && *gap <= Duration::from_millis(250),
            "gaps {gaps:?}"
        );
    }
    let text: String = events
        .iter()
        .filter_map(|(_, d)| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!(!text.is_empty());
}

#[tokio::test]
async fn upstream_status_and_headers_pass_through_on_streams() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[
            ("x-mock-status", "429"),
            ("x-mock-retry-after", "7"),
            ("x-mock-retry-after-ms", "6500"),
            ("x-request-id", "trace-42"),
        ],
        &stream_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 429);
    let h = resp.headers().clone();
    assert_eq!(h["retry-after"], "7");
    assert_eq!(h["retry-after-ms"], "6500");
    assert_eq!(h["x-request-id"], "trace-42");
    assert!(!h["apim-request-id"].is_empty());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "429", "Azure's own body, unchanged");
    let apim = mock.requests()[0].header("x-request-id").map(str::to_owned);
    assert_eq!(apim.as_deref(), Some("trace-42"));

    for (status, code) in [
        ("500", "InternalServerError"),
        ("503", "InternalServerError"),
    ] {
        let resp = post_with(
            &gw,
            "/v1/chat/completions",
            &[("x-mock-status", status)],
            &stream_body("gpt-4o-mini"),
        )
        .await;
        assert_eq!(resp.status().as_str(), status);
        assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], code);
    }
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-content-filter", "true")],
        &stream_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "content_filter");
    assert_eq!(
        body["error"]["innererror"]["code"],
        "ResponsibleAIPolicyViolation"
    );
}

#[tokio::test]
async fn client_disconnect_cancels_the_upstream() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-event-delay-ms", "100"), ("x-mock-events", "100")],
        &stream_body("gpt-4o-mini"),
    )
    .await;
    let mut stream = resp.bytes_stream();
    use futures_util::StreamExt;
    let first = stream.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    drop(stream);
    let outcome = mock.wait_for_outcome(0, Duration::from_secs(5)).await;
    assert_eq!(outcome, Outcome::Cancelled);
    let stats = stats_until(&gw, |s| s["totals"]["cancelled"] == 1).await;
    assert_eq!(stats["totals"]["cancelled"], 1, "{stats}");
}

#[tokio::test]
async fn a_cut_stream_is_an_error_not_a_success() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-cut-after", "3")],
        &stream_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(
        sse_events(resp).await.is_err(),
        "a cut upstream must surface as a broken stream"
    );
    let stats = stats_until(&gw, |s| s["totals"]["errors"] == 1).await;
    assert_eq!(stats["perModel"]["gpt-4o-mini"]["errors"], 1, "{stats}");
}

#[tokio::test]
async fn idle_gap_longer_than_the_limit_cuts_the_stream() {
    let mock = mock().await;
    let mut cfg = config(&mock.base_url());
    cfg["server"]["upstream"]["idleTimeoutMs"] = json!(300);
    let gw = Gateway::start(&cfg).await;
    // Pacing under the limit streams fine.
    let ok = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-event-delay-ms", "100")],
        &stream_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(sse_events(ok).await.unwrap().last().unwrap().1, "[DONE]");
    let started = Instant::now();
    let slow = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-event-delay-ms", "1000")],
        &stream_body("gpt-4o-mini"),
    )
    .await;
    assert!(sse_events(slow).await.is_err());
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        mock.wait_for_outcome(1, Duration::from_secs(5)).await,
        Outcome::Cancelled
    );
}

#[tokio::test]
async fn total_timeout_bounds_a_stream() {
    let mock = mock().await;
    let mut cfg = config(&mock.base_url());
    cfg["server"]["upstream"]["requestTimeoutMs"] = json!(500);
    let gw = Gateway::start(&cfg).await;
    let started = Instant::now();
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-event-delay-ms", "100"), ("x-mock-events", "50")],
        &stream_body("gpt-4o-mini"),
    )
    .await;
    assert!(sse_events(resp).await.is_err());
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}
