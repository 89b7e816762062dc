//! The usage ledger end to end: one row per request with the tokens mock-azure reported
//! (JSON, streams, streams the upstream or the client broke off, refusals), rows that survive
//! a restart, and a stalled database that does not slow requests down.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::common::*;

/// `config()` with the ledger in `dir`.
fn ledger_config(mock_url: &str, dir: &Path) -> Value {
    let mut cfg = config(mock_url);
    cfg["server"]["dataDir"] = json!(dir.to_str().unwrap());
    cfg
}

async fn usage_rows(gw: &Gateway, query: &str) -> Vec<Value> {
    let resp = client()
        .get(gw.url(&format!("/admin/api/usage/requests?{query}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["rows"].as_array().unwrap().clone()
}

/// The row of request `id`, polled for until the writer has stored it.
async fn row_of(gw: &Gateway, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = usage_rows(gw, &format!("requestId={id}")).await;
        if let Some(row) = rows.first() {
            assert_eq!(rows.len(), 1, "{rows:?}");
            return row.clone();
        }
        assert!(Instant::now() < deadline, "no ledger row for {id}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Rows stored so far (all time).
async fn row_count(gw: &Gateway) -> usize {
    usage_rows(gw, "from=2000-01-01&limit=1000").await.len()
}

fn tokens(row: &Value) -> [u64; 5] {
    [
        "promptTokens",
        "completionTokens",
        "totalTokens",
        "cachedTokens",
        "reasoningTokens",
    ]
    .map(|k| row[k].as_u64().unwrap_or_else(|| panic!("{k} in {row}")))
}

fn stream_body(model: &str, include_usage: bool) -> Value {
    let mut body = chat_body(model);
    body["stream"] = json!(true);
    if include_usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

#[tokio::test]
async fn rows_carry_the_tokens_the_upstream_reported() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&ledger_config(&mock.base_url(), dir.path())).await;

    // JSON: every count, both ids, the deployment that answered.
    let headers = [("x-request-id", "led-json"), ("x-mock-usage", "11,7,3,2")];
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &headers,
        &chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-request-id"], "led-json");
    let apim = resp.headers()["apim-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let row = row_of(&gw, "led-json").await;
    assert_eq!(tokens(&row), [11, 7, 18, 3, 2], "{row}");
    assert_eq!(row["upstreamRequestId"], apim.as_str());
    assert_eq!(row["key"], "team-a");
    assert_eq!(row["model"], "gpt-4o-mini");
    assert_eq!(row["deployment"], "dep-4o-mini");
    assert_eq!(row["upstream"], "legacy");
    assert_eq!(row["operation"], "chat/completions");
    assert_eq!(
        (row["status"].as_u64(), row["stream"].as_bool()),
        (Some(200), Some(false))
    );
    assert_eq!(row["errorClass"], "");
    assert_eq!(row["hasUsage"], true);
    assert!(row["ttftMs"].is_null(), "{row}");
    for k in ["latencyMs", "upstreamLatencyMs", "overheadMs"] {
        assert!(row[k].as_f64().is_some_and(|v| v >= 0.0), "{k}: {row}");
    }
    assert!(
        row["latencyMs"].as_f64() >= row["upstreamLatencyMs"].as_f64(),
        "{row}"
    );

    // A stream with usage asked for, and one where the gateway asked for it on the client's
    // behalf: the same counts either way.
    for (id, include) in [("led-sse-usage", true), ("led-sse-forced", false)] {
        let headers = [("x-request-id", id), ("x-mock-usage", "20,5,4,1")];
        let resp = post_with(
            &gw,
            "/v1/chat/completions",
            &headers,
            &stream_body("gpt-4o-mini", include),
        )
        .await;
        let (text, broke) = read_all(resp).await;
        assert!(!broke && text.contains("[DONE]"), "{text}");
        let row = row_of(&gw, id).await;
        assert_eq!(tokens(&row), [20, 5, 25, 4, 1], "{id}: {row}");
        assert_eq!(row["stream"], true);
        assert!(row["ttftMs"].as_f64().is_some(), "{row}");
        assert_eq!(row["errorClass"], "");
    }

    // The upstream breaks the stream off: no usage came, and the row says whose fault it was.
    let headers = [("x-request-id", "led-cut"), ("x-mock-cut-after", "2")];
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &headers,
        &stream_body("gpt-4o-mini", true),
    )
    .await;
    let _ = read_all(resp).await;
    let row = row_of(&gw, "led-cut").await;
    assert_eq!(row["errorClass"], "upstream", "{row}");
    assert_eq!(row["hasUsage"], false);
    assert_eq!(tokens(&row), [0; 5]);

    // The client goes away mid-stream: a cancelled row, no tokens (none were reported).
    let headers = [
        ("x-request-id", "led-gone"),
        ("x-mock-event-delay-ms", "300"),
    ];
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &headers,
        &stream_body("gpt-4o-mini", true),
    )
    .await;
    let mut body = resp.bytes_stream();
    assert!(body.next().await.unwrap().is_ok());
    drop(body);
    let row = row_of(&gw, "led-gone").await;
    assert_eq!(row["cancelled"], true, "{row}");
    assert_eq!(row["errorClass"], "", "{row}");
    assert_eq!(tokens(&row), [0; 5]);

    // Throttled upstream and refused client: classed apart.
    let headers = [("x-request-id", "led-429"), ("x-mock-status", "429")];
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &headers,
        &chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 429);
    let row = row_of(&gw, "led-429").await;
    assert_eq!(
        (row["errorClass"].as_str(), row["errorCode"].as_str()),
        (Some("upstream"), Some("upstream_429"))
    );
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("sk-wrong")
        .header("x-request-id", "led-401")
        .json(&chat_body("gpt-4o-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let row = row_of(&gw, "led-401").await;
    assert_eq!(row["errorClass"], "policy");
    assert_eq!(row["errorCode"], "invalid_api_key");
    assert!(row["key"].is_null(), "{row}");

    // The aggregate agrees with the rows.
    let resp = client()
        .get(gw.url("/admin/api/usage?from=2000-01-01&groupBy=model"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    let report: Value = resp.json().await.unwrap();
    let group = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "gpt-4o-mini")
        .unwrap_or_else(|| panic!("{report}"))
        .clone();
    // The refused client never got as far as naming a model: it is in the "" group.
    assert_eq!(group["requests"], 6, "{report}");
    assert_eq!(report["totals"]["requests"], 7, "{report}");
    assert_eq!(group["promptTokens"], 11 + 20 + 20, "{report}");
    assert_eq!(group["cachedTokens"], 3 + 4 + 4, "{report}");
    assert_eq!(group["errors"], 2, "{report}");
    assert_eq!(group["cancelled"], 1, "{report}");
}

#[tokio::test]
async fn rows_survive_a_restart() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = ledger_config(&mock.base_url(), dir.path());
    let gw = Gateway::start(&cfg).await;
    for i in 0..3 {
        let id = format!("restart-{i}");
        let headers = [("x-request-id", id.as_str()), ("x-mock-usage", "3,2,1,0")];
        let resp = post_with(
            &gw,
            "/v1/chat/completions",
            &headers,
            &chat_body("gpt-4o-mini"),
        )
        .await;
        assert_eq!(resp.status(), 200);
    }
    // Stopped at once: rows still queued are written before the process ends.
    gw.stop().await;
    let gw = Gateway::start(&cfg).await;
    for i in 0..3 {
        let row = row_of(&gw, &format!("restart-{i}")).await;
        assert_eq!(tokens(&row), [3, 2, 5, 1, 0]);
    }
    assert_eq!(row_count(&gw).await, 3);
}

#[tokio::test]
async fn a_stalled_database_does_not_slow_requests() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&ledger_config(&mock.base_url(), dir.path())).await;
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-request-id", "stall-0")],
        &chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    row_of(&gw, "stall-0").await;

    // Another process holds the database's write lock, as a stuck disk or a backup would.
    let db = rusqlite::Connection::open(dir.path().join("usage.db")).unwrap();
    db.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let mut slowest = Duration::ZERO;
    for i in 1..=40 {
        let id = format!("stall-{i}");
        let started = Instant::now();
        let resp = post_with(
            &gw,
            "/v1/chat/completions",
            &[("x-request-id", id.as_str())],
            &chat_body("gpt-4o-mini"),
        )
        .await;
        assert_eq!(resp.status(), 200);
        resp.bytes().await.unwrap();
        slowest = slowest.max(started.elapsed());
    }
    // The writer is stuck (its rows are not in), yet no request waited on it.
    assert_eq!(row_count(&gw).await, 1);
    assert!(
        slowest < Duration::from_millis(500),
        "slowest request took {slowest:?}"
    );
    db.execute_batch("ROLLBACK").unwrap();
    drop(db);
    let deadline = Instant::now() + Duration::from_secs(20);
    while row_count(&gw).await < 41 {
        assert!(Instant::now() < deadline, "rows never reached the database");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
