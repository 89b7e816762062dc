//! The usage ledger through the real binary: `GET /admin/api/usage` and
//! `/admin/api/usage/requests` (auth, parameter errors, JSON and CSV), rows recorded for real
//! requests to mock-azure, and the SQLite file flushed at a graceful stop.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

/// A gateway whose `server.dataDir` is `data` (a temp dir the test keeps).
async fn start(mock_url: &str, data: &Path, usage: Value) -> Gateway {
    let mut cfg = config(mock_url);
    cfg["server"]["dataDir"] = json!(data.to_string_lossy());
    cfg["server"]["usage"] = usage;
    Gateway::start(&cfg).await
}

async fn admin_get(gw: &Gateway, path: &str, accept: Option<&str>) -> reqwest::Response {
    let mut req = client()
        .get(gw.url(path))
        .basic_auth("admin", Some(ADMIN_PASSWORD));
    if let Some(accept) = accept {
        req = req.header("accept", accept);
    }
    req.send().await.unwrap()
}

async fn json_of(gw: &Gateway, path: &str) -> Value {
    let resp = admin_get(gw, path, None).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

/// Asserts a 400 naming `param` (or `code` when no param is named).
async fn bad(gw: &Gateway, path: &str, param: Option<&str>, code: &str) {
    let resp = admin_get(gw, path, None).await;
    assert_eq!(resp.status(), 400, "{path}");
    let body: Value = resp.json().await.unwrap();
    let e = &body["error"];
    assert_eq!(e["type"], "invalid_request_error", "{path}: {body}");
    assert_eq!(e["param"].as_str(), param, "{path}: {body}");
    assert_eq!(e["code"], code, "{path}: {body}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn needs_admin_auth_and_names_the_bad_parameter() {
    let mock = mock().await;
    let data = tempfile::tempdir().unwrap();
    let gw = start(&mock.base_url(), data.path(), json!({})).await;
    assert!(data.path().join("usage.db").exists(), "opened at start");

    for path in ["/admin/api/usage", "/admin/api/usage/requests"] {
        let resp = client().get(gw.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{path}");
        assert!(resp.headers().contains_key("www-authenticate"));
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "admin_unauthorized");
        let resp = client()
            .get(gw.url(path))
            .basic_auth("admin", Some("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{path}");
    }

    let usage = "/admin/api/usage";
    bad(
        &gw,
        &format!("{usage}?groupBy=team"),
        Some("groupBy"),
        "invalid_value",
    )
    .await;
    bad(
        &gw,
        &format!("{usage}?from=yesterday"),
        Some("from"),
        "invalid_value",
    )
    .await;
    bad(
        &gw,
        &format!("{usage}?to=2026-13-01"),
        Some("to"),
        "invalid_value",
    )
    .await;
    bad(
        &gw,
        &format!("{usage}?from=2026-02-01&to=2026-01-01"),
        Some("from"),
        "invalid_value",
    )
    .await;
    bad(
        &gw,
        &format!("{usage}?format=xml"),
        Some("format"),
        "invalid_value",
    )
    .await;
    bad(
        &gw,
        &format!("{usage}?groupby=key"),
        None,
        "unknown_parameter",
    )
    .await;
    let requests = "/admin/api/usage/requests";
    bad(
        &gw,
        &format!("{requests}?limit=0"),
        Some("limit"),
        "invalid_value",
    )
    .await;
    bad(
        &gw,
        &format!("{requests}?limit=1001"),
        Some("limit"),
        "invalid_value",
    )
    .await;
    bad(
        &gw,
        &format!("{requests}?groupBy=day"),
        None,
        "unknown_parameter",
    )
    .await;

    // Every accepted time form; an empty ledger answers an empty, well-formed report.
    let body = json_of(
        &gw,
        &format!("{usage}?from=1767225600&to=2026-01-02T01:00:00%2B01:00&groupBy=day"),
    )
    .await;
    assert_eq!(body["from"], "2026-01-01T00:00:00.000Z");
    assert_eq!(body["to"], "2026-01-02T00:00:00.000Z");
    assert_eq!(body["groupBy"], "day");
    assert_eq!(body["totals"]["requests"], 0);
    assert_eq!(body["rows"], json!([]));
}

#[tokio::test]
async fn a_disabled_ledger_answers_503_after_auth() {
    let mock = mock().await;
    let data = tempfile::tempdir().unwrap();
    let gw = start(&mock.base_url(), data.path(), json!({"enabled": false})).await;
    let resp = client()
        .get(gw.url("/admin/api/usage"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    for path in ["/admin/api/usage", "/admin/api/usage/requests?limit=5"] {
        let resp = admin_get(&gw, path, None).await;
        assert_eq!(resp.status(), 503, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "usage_ledger_disabled", "{body}");
    }
    assert!(!data.path().join("usage.db").exists());
}

/// Polls the aggregate until it counts `n` requests (rows are written in batches, a moment
/// after each response ends).
async fn usage_until(gw: &Gateway, query: &str, n: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let body = json_of(gw, &format!("/admin/api/usage?{query}")).await;
        if body["totals"]["requests"] == n {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never reached {n} requests: {body}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn real_requests_become_rows_in_json_csv_and_the_file() {
    let mock = mock().await;
    let data = tempfile::tempdir().unwrap();
    let gw = start(&mock.base_url(), data.path(), json!({"retentionDays": 30})).await;

    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[
            ("x-mock-usage", "11,7,3,2"),
            ("x-request-id", "usage-e2e-1"),
        ],
        &chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    resp.bytes().await.unwrap();
    let stream = json!({"model": "gpt-4o-mini", "stream": true,
                        "stream_options": {"include_usage": true},
                        "messages": [{"role": "user", "content": "hi"}]});
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-usage", "100,50,40,0")],
        &stream,
    )
    .await;
    assert_eq!(resp.status(), 200);
    resp.bytes().await.unwrap();
    let emb = json!({"model": "text-embedding-3-small", "input": "x"});
    let resp = post_with(&gw, "/v1/embeddings", &[("x-mock-usage", "9,0,0,0")], &emb).await;
    assert_eq!(resp.status(), 200);
    resp.bytes().await.unwrap();
    // Refused before any key is known: a row without a key.
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("sk-wrong")
        .json(&chat_body("gpt-4o-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    let by_model = usage_until(&gw, "groupBy=model", 4).await;
    assert_eq!(by_model["groupBy"], "model");
    assert!(by_model["from"].as_str().unwrap().ends_with('Z'));
    let totals = &by_model["totals"];
    assert_eq!(totals["errors"], 1, "{by_model}");
    assert_eq!(totals["promptTokens"], 120);
    assert_eq!(totals["completionTokens"], 57);
    assert_eq!(totals["cachedTokens"], 43);
    assert_eq!(totals["reasoningTokens"], 2);
    assert!(totals["avgLatencyMs"].as_f64().unwrap() > 0.0);
    assert!(
        totals["avgTtftMs"].as_f64().unwrap() > 0.0,
        "the stream has a TTFT"
    );
    let rows = by_model["rows"].as_array().unwrap();
    let chat = rows.iter().find(|r| r["key"] == "gpt-4o-mini").unwrap();
    assert_eq!(chat["requests"], 2, "{by_model}");
    assert_eq!(chat["promptTokens"], 111);
    // The refused request never got as far as naming its model.
    let refused = rows.iter().find(|r| r["key"] == "").unwrap();
    assert_eq!(
        (refused["requests"].as_u64(), refused["errors"].as_u64()),
        (Some(1), Some(1))
    );
    let emb = rows
        .iter()
        .find(|r| r["key"] == "text-embedding-3-small")
        .unwrap();
    assert_eq!(
        (emb["requests"].as_u64(), emb["promptTokens"].as_u64()),
        (Some(1), Some(9))
    );

    let by_key = json_of(&gw, "/admin/api/usage?groupBy=key").await;
    let keys: Vec<&Value> = by_key["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["key"])
        .collect();
    assert_eq!(keys, [&Value::Null, &json!("team-a")], "{by_key}");
    let by_deployment = json_of(&gw, "/admin/api/usage?groupBy=deployment").await;
    assert!(
        by_deployment["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["key"] == "dep-4o-mini")
    );
    let by_day = json_of(&gw, "/admin/api/usage?groupBy=day").await;
    assert_eq!(by_day["rows"].as_array().unwrap().len(), 1, "{by_day}");

    // One request by the id the client sent.
    let found = json_of(&gw, "/admin/api/usage/requests?requestId=usage-e2e-1").await;
    let row = &found["rows"][0];
    assert_eq!(found["rows"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(row["requestId"], "usage-e2e-1");
    assert_eq!(row["key"], "team-a");
    assert_eq!(row["model"], "gpt-4o-mini");
    assert_eq!(row["deployment"], "dep-4o-mini");
    assert_eq!(row["upstream"], "legacy");
    assert_eq!(row["operation"], "chat/completions");
    assert_eq!(
        (row["status"].as_u64(), row["stream"].as_bool()),
        (Some(200), Some(false))
    );
    assert_eq!(
        (row["hasUsage"].as_bool(), row["totalTokens"].as_u64()),
        (Some(true), Some(18))
    );
    assert!(row["latencyMs"].as_f64().unwrap() > 0.0);
    let newest = json_of(&gw, "/admin/api/usage/requests?limit=1").await;
    assert_eq!(newest["rows"][0]["status"], 401, "newest first: {newest}");

    // CSV, asked for either way.
    for (path, accept) in [
        ("/admin/api/usage?groupBy=model&format=csv", None),
        ("/admin/api/usage?groupBy=model", Some("text/csv")),
    ] {
        let resp = admin_get(&gw, path, accept).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
        let disposition = resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            disposition.starts_with("attachment; filename=\"usage-model-")
                && disposition.ends_with("Z.csv\""),
            "{disposition}"
        );
        let text = resp.text().await.unwrap();
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert!(lines[0].starts_with("model,requests,errors,"), "{text}");
        assert_eq!(lines.len(), 1 + rows.len(), "{text}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("gpt-4o-mini,2,0,0,0,111,57,168,43,2,")),
            "{text}"
        );
    }
    let resp = admin_get(&gw, "/admin/api/usage/requests?format=csv", None).await;
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        resp.text().await.unwrap().split_terminator("\r\n").count(),
        5
    );

    // Rows of the last moment reach the file at a graceful stop (no polling first).
    for _ in 0..3 {
        let resp = post(&gw, "/v1/chat/completions", &chat_body("gpt-4o-mini")).await;
        resp.bytes().await.unwrap();
    }
    gw.stop().await;
    let conn = rusqlite::Connection::open(data.path().join("usage.db")).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM requests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 7);
}
