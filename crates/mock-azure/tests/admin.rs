//! The log over HTTP and in-process, recording off, shutdown, and the binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{API, TIMEOUT, client, post, send_json, server};
use mock_azure::{MockConfig, MockServer, Outcome};
use serde_json::json;

#[tokio::test]
async fn log_over_http() {
    let mock = server().await;
    let path = format!("/openai/deployments/d/chat/completions?{API}");
    post(&mock, &path, &json!({"x": "é"}))
        .header("x-trace", "t1")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    mock.wait_for_outcome(0, TIMEOUT).await;

    let url = format!("{}/__mock/requests", mock.base_url());
    let (status, v) = send_json(client().get(&url)).await;
    assert_eq!(status, 200);
    let records = v.as_array().unwrap();
    assert_eq!(records.len(), 1, "admin calls are not recorded");
    let r = &records[0];
    assert_eq!(r["method"], "POST");
    assert_eq!(r["path"], "/openai/deployments/d/chat/completions");
    assert_eq!(r["query"], API);
    assert_eq!(r["headers"]["x-trace"], "t1");
    assert_eq!(r["headers"]["api-key"], common::KEY);
    assert_eq!(r["body"], r#"{"x":"é"}"#);
    assert_eq!(r["deployment"], "d");
    assert_eq!(r["outcome"], "completed");

    // In-process records carry their arrival time, in order.
    let before = std::time::Instant::now();
    send_json(post(&mock, &path, &json!({}))).await;
    let log = mock.requests();
    assert!(log[0].at < before && before <= log[1].at);

    let response = client().delete(&url).send().await.unwrap();
    assert!(response.status().is_success());
    let (_, v) = send_json(client().get(&url)).await;
    assert_eq!(v, json!([]));
    assert!(mock.requests().is_empty());

    let health = client()
        .get(format!("{}/__mock/health", mock.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn waiting_and_clearing_in_process() {
    let mock = server().await;
    let path = format!("/openai/deployments/d/chat/completions?{API}");
    assert!(
        mock.wait_for_requests(1, Duration::from_millis(100))
            .await
            .is_empty()
    );
    assert_eq!(
        mock.wait_for_outcome(0, Duration::from_millis(50)).await,
        Outcome::InProgress
    );

    // A request still running across clear() must not touch newer records.
    let slow = tokio::spawn(
        post(&mock, &path, &json!({}))
            .header("x-mock-header-delay-ms", "300")
            .send(),
    );
    assert_eq!(mock.wait_for_requests(1, TIMEOUT).await.len(), 1);
    mock.clear();
    let fast = tokio::spawn(
        post(&mock, &path, &json!({}))
            .header("x-mock-header-delay-ms", "600")
            .send(),
    );
    let records = mock.wait_for_requests(1, TIMEOUT).await;
    assert_eq!(records.len(), 1);
    slow.await.unwrap().unwrap();
    assert_eq!(mock.requests()[0].outcome, Outcome::InProgress);
    fast.await.unwrap().unwrap();
    assert_eq!(mock.wait_for_outcome(0, TIMEOUT).await, Outcome::Completed);
}

#[tokio::test]
async fn recording_off_keeps_nothing() {
    let mock = MockServer::start(MockConfig {
        record: false,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let path = format!("/openai/deployments/d/chat/completions?{API}");
    let (status, _) = send_json(post(&mock, &path, &json!({}))).await;
    assert_eq!(status, 200);
    let text = post(&mock, &path, &json!({"stream": true}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn shutdown_closes_listener_and_idle_connections() {
    let mock = server().await;
    let base = mock.base_url();
    assert!(base.starts_with("http://127.0.0.1:"));
    assert!(!base.ends_with('/'));
    let http = client();
    let url = format!("{base}/openai/deployments/d/chat/completions?{API}");
    let request = || {
        http.post(&url)
            .header("api-key", common::KEY)
            .json(&json!({}))
    };
    assert_eq!(request().send().await.unwrap().status(), 200);
    mock.shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The pooled keep-alive connection is gone too, not just the listener.
    assert!(request().send().await.is_err());
}

#[test]
fn binary_prints_its_address_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-azure"))
        .args(["--port", "0", "--key", "bin-key", "--no-record"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim_end()
        .strip_prefix("mock-azure listening on ")
        .unwrap_or_else(|| panic!("unexpected startup line {line:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(async {
        let url = format!("{base}/openai/v1/chat/completions");
        let ok = client()
            .post(&url)
            .bearer_auth("bin-key")
            .json(&json!({"model": "m"}))
            .send()
            .await?;
        let denied = client()
            .post(&url)
            .bearer_auth("other")
            .json(&json!({"model": "m"}))
            .send()
            .await?;
        let log = client()
            .get(format!("{base}/__mock/requests"))
            .send()
            .await?
            .text()
            .await?;
        Ok::<_, reqwest::Error>((ok.status(), denied.status(), log))
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let (ok, denied, log) = result.unwrap();
    assert_eq!((ok.as_u16(), denied.as_u16()), (200, 401));
    assert_eq!(log, "[]");
}
