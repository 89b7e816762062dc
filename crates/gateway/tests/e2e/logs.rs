//! Logs from the real binary: JSON lines on stdout with the request id, the admin log ring
//! (`GET /admin/api/logs`) and its filters, redaction on both, and the ring's settings.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::common::*;

/// The default config plus a model whose upstream is a closed port (a `warn` inside a request).
fn cfg(mock_url: &str) -> Value {
    let mut cfg = config(mock_url);
    cfg["server"]["upstream"]["maxRetries"] = json!(0);
    cfg["upstreams"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "down", "baseUrl": "http://127.0.0.1:1", "kind": "azure", "apiVersion": "2024-10-21"}));
    cfg["models"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "gone", "upstream": "down"}));
    cfg
}

async fn logs_raw(gw: &Gateway, query: &str) -> reqwest::Response {
    client()
        .get(gw.url(&format!("/admin/api/logs?{query}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
}

async fn logs(gw: &Gateway, query: &str) -> Value {
    let resp = logs_raw(gw, query).await;
    assert_eq!(resp.status(), 200, "{query}");
    resp.json().await.unwrap()
}

/// Polls until `query` matches at least `n` entries (an entry is written when the body ends).
async fn logs_until(gw: &Gateway, query: &str, n: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let page = logs(gw, query).await;
        if page["total"].as_u64().unwrap() >= n || tokio::time::Instant::now() > deadline {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn chat_with_id(gw: &Gateway, model: &str, id: &str) -> u16 {
    let resp = post_with(
        gw,
        "/v1/chat/completions",
        &[("x-request-id", id)],
        &chat_body(model),
    )
    .await;
    let status = resp.status().as_u16();
    let _ = resp.bytes().await;
    status
}

/// Every stdout line (the listening line is not copied) is a JSON object.
fn json_lines(gw: &Gateway) -> Vec<Value> {
    gw.log_text()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test]
async fn json_stdout_and_the_admin_ring_agree_on_each_request() {
    let mock = mock().await;
    let before = SystemTime::now();
    let gw = Gateway::start_logged(&cfg(&mock.base_url()), &[("LOG_FORMAT", "json")]).await;
    assert_eq!(chat_with_id(&gw, "gpt-4o-mini", "e2e-ok-1").await, 200);
    assert_eq!(chat_with_id(&gw, "gone", "e2e-down-1").await, 502);

    // The ring: the request.completed entry for the client's x-request-id.
    let page = logs_until(&gw, "requestId=e2e-ok-1&event=request.completed", 1).await;
    assert_eq!(page["ok"], true);
    assert_eq!(page["total"], 1, "{page}");
    let e = &page["items"][0];
    assert_eq!(e["level"], "info");
    assert_eq!(e["event"], "request.completed");
    assert_eq!(e["requestId"], "e2e-ok-1");
    assert_eq!(e["model"], "gpt-4o-mini");
    assert_eq!(e["route"], "chat/completions");
    assert_eq!(e["status"], 200);
    assert!(e["latencyMs"].is_u64(), "{e}");
    assert!(
        e["id"].is_u64() && e["ts"].as_str().unwrap().ends_with('Z'),
        "{e}"
    );
    assert_eq!(
        e["fields"]["key"], "team-a",
        "the key id label is not redacted"
    );
    assert_eq!(e["fields"]["deployment"], "dep-4o-mini");
    assert_eq!(e["fields"]["upstream"], "legacy");
    assert_eq!(e["fields"]["prompt_tokens"], 11);
    assert_eq!(e["fields"]["completion_tokens"], 7);

    // The failed one is a warning, and so is the upstream failure logged inside its request.
    let failed = logs_until(&gw, "requestId=e2e-down-1", 2).await;
    assert!(
        failed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["level"] == "warn"),
        "{failed}"
    );
    let done = logs(&gw, "requestId=e2e-down-1&event=request.completed").await;
    assert_eq!(done["items"][0]["status"], 502);
    assert_eq!(done["items"][0]["errorCode"], "upstream_unreachable");

    // Filters.
    let warn = logs(&gw, "level=warn,error&limit=500").await;
    let items = warn["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .all(|i| i["level"] == "warn" || i["level"] == "error")
    );
    assert!(items.iter().any(|i| i["requestId"] == "e2e-down-1"));
    assert!(!items.iter().any(|i| i["requestId"] == "e2e-ok-1"));
    let min = logs(&gw, "minLevel=warn").await;
    assert_eq!(min["total"], warn["total"]);
    let prefix = logs(&gw, "event=request&model=gpt-4o-mini").await;
    assert_eq!(prefix["total"], 1, "{prefix}");
    let by_seed_name = logs(&gw, "modelId=gpt-4o-mini&event=request.completed").await;
    assert_eq!(by_seed_name["total"], 1);
    let keyword = logs(&gw, "keyword=DEP-4O-MINI").await;
    assert_eq!(keyword["items"][0]["requestId"], "e2e-ok-1", "{keyword}");
    let all = logs(&gw, "").await;
    assert!(all["total"].as_u64().unwrap() >= 3);
    let ids: Vec<u64> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_u64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let one = logs(&gw, "limit=1").await;
    assert_eq!(one["limit"], 1);
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    assert_eq!(one["total"], all["total"]);
    let ms = before
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert_eq!(
        logs(&gw, &format!("since={ms}")).await["total"],
        all["total"]
    );
    let later = humantime::format_rfc3339(SystemTime::now() + Duration::from_secs(3600));
    assert_eq!(logs(&gw, &format!("since={later}")).await["total"], 0);

    // Bad parameters are OpenAI-shaped 400s that name the parameter.
    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("level=loud", "level"),
        ("since=soon", "since"),
    ] {
        let resp = logs_raw(&gw, query).await;
        assert_eq!(resp.status(), 400, "{query}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["param"], param, "{body}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }

    // Admin auth like the rest of the admin API.
    let anon = client()
        .get(gw.url("/admin/api/logs"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    let wrong = client()
        .get(gw.url("/admin/api/logs"))
        .basic_auth("admin", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    // stdout: JSON lines, each request's lines carrying its id at the top level.
    let lines = json_lines(&gw);
    let completed = lines
        .iter()
        .find(|l| l["event"] == "request.completed" && l["request_id"] == "e2e-ok-1")
        .unwrap_or_else(|| panic!("no request.completed line: {lines:?}"));
    assert_eq!(completed["level"], "info");
    assert_eq!(completed["model"], "gpt-4o-mini");
    assert_eq!(completed["status"], 200);
    let inside = lines
        .iter()
        .find(|l| l["message"] == "upstream call failed")
        .unwrap_or_else(|| panic!("no upstream failure line: {lines:?}"));
    assert_eq!(
        inside["request_id"], "e2e-down-1",
        "the span's id: {inside}"
    );
    assert_eq!(inside["level"], "warn");
}

#[tokio::test]
async fn human_lines_show_the_request_span() {
    let mock = mock().await;
    let gw = Gateway::start_logged(&cfg(&mock.base_url()), &[]).await;
    assert_eq!(chat_with_id(&gw, "gone", "e2e-human-1").await, 502);
    logs_until(&gw, "requestId=e2e-human-1&event=request.completed", 1).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = gw.log_text();
        if text.contains("request completed") || tokio::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let line = text
        .lines()
        .find(|l| l.contains("upstream call failed"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(" WARN request{request_id=e2e-human-1}: "),
        "{line}"
    );
    assert!(!line.starts_with('{'), "human by default: {line}");
}

#[tokio::test]
async fn a_secret_in_a_request_header_is_redacted_on_stdout_and_in_the_api() {
    // A client that put its API key in x-request-id: the id is echoed into the request span
    // and the request.completed event, so it would reach every log line of the request.
    const SECRET: &str = "sk-proj-E2eLeak0123456789abcdef";
    let mock = mock().await;
    let gw = Gateway::start_logged(&cfg(&mock.base_url()), &[("LOG_FORMAT", "json")]).await;
    assert_eq!(chat_with_id(&gw, "gone", SECRET).await, 502);
    let page = logs_until(&gw, "requestId=%5BREDACTED%5D&event=request.completed", 1).await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["model"], "gone");
    let all = logs(&gw, "limit=500").await.to_string();
    assert!(!all.contains("E2eLeak"), "{all}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = gw.log_text();
        if text.contains("request.completed") || tokio::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(text.contains("request.completed"), "{text}");
    assert!(!text.contains("E2eLeak"), "{text}");
    let lines = json_lines(&gw);
    let inside = lines
        .iter()
        .find(|l| l["message"] == "upstream call failed")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(inside["request_id"], "[REDACTED]");
}

#[tokio::test]
async fn the_ring_can_be_turned_off_and_a_bad_size_stops_the_start() {
    let mock = mock().await;
    let gw =
        Gateway::start_with_env(&cfg(&mock.base_url()), &[("ADMIN_LOG_BUFFER_SIZE", "0")]).await;
    assert_eq!(chat_with_id(&gw, "gpt-4o-mini", "e2e-off-1").await, 200);
    stats_until(&gw, |s| s["totals"]["requests"] == 1).await;
    let page = logs(&gw, "").await;
    assert_eq!(page["capacity"], 0);
    assert_eq!(page["total"], 0);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, cfg(&mock.base_url()).to_string()).unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::process::Command::new(bin())
            .args(["serve", "--config"])
            .arg(&path)
            .env("ADMIN_LOG_BUFFER_SIZE", "lots")
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ADMIN_LOG_BUFFER_SIZE") && err.contains("\"lots\""),
        "{err}"
    );
}
