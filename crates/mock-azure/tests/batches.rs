//! Batches over real HTTP: create from an uploaded file, step through the lifecycle by
//! reading, fetch the output, cancel, and the refusals.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{API, KEY, Multipart, get, post, post_form, send_json, server};
use mock_azure::{MockConfig, MockServer};
use serde_json::{Value, json};

fn line(custom_id: &str, model: &str) -> String {
    json!({
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": "hi"}]},
    })
    .to_string()
}

async fn upload(mock: &MockServer, purpose: &str, content: &str) -> String {
    let form = Multipart::new().text("purpose", purpose).file(
        "file",
        "input.jsonl",
        "application/jsonl",
        content.as_bytes(),
    );
    let (status, v) = send_json(post_form(mock, "/openai/v1/files", form)).await;
    assert_eq!(status, 200, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

async fn create(mock: &MockServer, path: &str, input: &str) -> Value {
    let body = json!({
        "input_file_id": input,
        "endpoint": "/chat/completions",
        "completion_window": "24h",
        "metadata": {"batch_description": "Evaluation job"},
    });
    let (status, v) = send_json(post(mock, path, &body)).await;
    assert_eq!(status, 200, "{v}");
    v
}

#[tokio::test]
async fn lifecycle_to_completed_with_output_and_errors() {
    let mock = MockServer::start(MockConfig {
        key: Some(KEY.to_owned()),
        deployments: Some(vec!["gpt-4o-batch".to_owned()]),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let content = [
        line("task-1", "gpt-4o-batch"),
        String::new(),
        line("task-2", "gpt-4o-batch"),
        line("task-3", "not-deployed"),
    ]
    .join("\n");
    let input = upload(&mock, "batch", &content).await;
    let batch = create(&mock, &format!("/openai/batches?{API}"), &input).await;
    let id = batch["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("batch_"), "{id}");
    assert_eq!(batch["object"], "batch");
    assert_eq!(batch["status"], "validating");
    assert_eq!(batch["endpoint"], "/chat/completions");
    assert_eq!(batch["input_file_id"], input.as_str());
    assert_eq!(batch["completion_window"], "24h");
    assert_eq!(batch["metadata"]["batch_description"], "Evaluation job");
    assert_eq!(
        batch["request_counts"],
        json!({"total": 0, "completed": 0, "failed": 0})
    );
    assert!(batch["output_file_id"].is_null() && batch["errors"].is_null());
    assert!(batch["in_progress_at"].is_null());
    assert_eq!(
        batch["expires_at"].as_u64().unwrap(),
        batch["created_at"].as_u64().unwrap() + 86_400
    );

    // Each read moves one step; every face reads the same batch.
    let reads = [
        (format!("/openai/batches/{id}?{API}"), "in_progress"),
        (format!("/openai/v1/batches/{id}"), "finalizing"),
        (format!("/v1/batches/{id}"), "completed"),
        (format!("/v1/batches/{id}"), "completed"),
    ];
    let mut last = Value::Null;
    for (path, status) in reads {
        let (code, v) = send_json(get(&mock, &path)).await;
        assert_eq!(
            (code, v["status"].as_str().unwrap()),
            (200, status),
            "{path}"
        );
        last = v;
    }
    assert_eq!(
        last["request_counts"],
        json!({"total": 3, "completed": 2, "failed": 1})
    );
    for field in ["in_progress_at", "finalizing_at", "completed_at"] {
        assert!(last[field].is_u64(), "{field}");
    }
    assert!(last["cancelled_at"].is_null());

    let output = last["output_file_id"].as_str().unwrap();
    let (_, file) = send_json(get(&mock, &format!("/v1/files/{output}"))).await;
    assert_eq!(file["purpose"], "batch_output");
    let text = get(&mock, &format!("/v1/files/{output}/content"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["custom_id"], "task-1");
    assert_eq!(lines[1]["custom_id"], "task-2");
    assert!(lines[0]["id"].as_str().unwrap().starts_with("batch_req_"));
    assert_eq!(lines[0]["response"]["status_code"], 200);
    assert_eq!(lines[0]["response"]["body"]["object"], "chat.completion");
    assert!(lines[0]["error"].is_null());

    let errors = last["error_file_id"].as_str().unwrap();
    let text = get(&mock, &format!("/v1/files/{errors}/content"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let failed: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(failed["custom_id"], "task-3");
    assert_eq!(failed["response"]["status_code"], 404);
    assert_eq!(
        failed["response"]["body"]["error"]["code"],
        "DeploymentNotFound"
    );

    // A finished batch cannot be cancelled.
    let (status, v) = send_json(post(&mock, &format!("/v1/batches/{id}/cancel"), &json!({}))).await;
    assert_eq!(status, 409);
    assert_eq!(
        v["error"]["message"],
        "Cannot cancel a batch with status 'completed'."
    );
}

#[tokio::test]
async fn cancel_goes_through_cancelling() {
    let mock = server().await;
    let input = upload(&mock, "batch", &line("a", "m")).await;
    let batch = create(&mock, "/openai/v1/batches", &input).await;
    let id = batch["id"].as_str().unwrap();
    let cancel = format!("/openai/v1/batches/{id}/cancel");
    let (status, v) = send_json(post(&mock, &cancel, &json!({}))).await;
    assert_eq!(status, 200);
    assert_eq!(v["status"], "cancelling");
    assert!(v["cancelling_at"].is_u64());
    let (_, v) = send_json(get(&mock, &format!("/openai/v1/batches/{id}"))).await;
    assert_eq!(v["status"], "cancelled");
    assert!(v["cancelled_at"].is_u64());
    assert!(v["output_file_id"].is_null());
    // Cancelling again changes nothing.
    let (status, v) = send_json(post(&mock, &cancel, &json!({}))).await;
    assert_eq!((status, v["status"].as_str()), (200, Some("cancelled")));
}

#[tokio::test]
async fn bad_input_files_fail_validation() {
    let mock = server().await;
    let content = format!(
        "{}\nnot json\n{}\n{}",
        line("a", "m"),
        line("a", "m"),
        json!({"custom_id": "e", "method": "POST", "url": "/v1/embeddings", "body": {"model": "m"}})
    );
    let input = upload(&mock, "batch", &content).await;
    let batch = create(&mock, "/v1/batches", &input).await;
    let id = batch["id"].as_str().unwrap();
    let (_, v) = send_json(get(&mock, &format!("/v1/batches/{id}"))).await;
    assert_eq!(v["status"], "failed");
    assert!(v["failed_at"].is_u64());
    let errors = v["errors"]["data"].as_array().unwrap();
    let found: Vec<(&str, u64)> = errors
        .iter()
        .map(|e| (e["code"].as_str().unwrap(), e["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            ("invalid_json_line", 2),
            ("duplicate_custom_id", 3),
            ("invalid_url", 4)
        ]
    );
    // Failed stays failed.
    let (_, v) = send_json(get(&mock, &format!("/v1/batches/{id}"))).await;
    assert_eq!(v["status"], "failed");

    let empty = upload(&mock, "batch", "\n\n").await;
    let batch = create(&mock, "/v1/batches", &empty).await;
    let id = batch["id"].as_str().unwrap();
    let (_, v) = send_json(get(&mock, &format!("/v1/batches/{id}"))).await;
    assert_eq!(v["errors"]["data"][0]["code"], "empty_file");
}

#[tokio::test]
async fn create_refusals() {
    let mock = server().await;
    let tuning = upload(&mock, "fine-tune", &line("a", "m")).await;
    let good = upload(&mock, "batch", &line("a", "m")).await;
    let path = "/openai/v1/batches";
    let (status, v) = send_json(post(
        &mock,
        path,
        &json!({"input_file_id": "file-nope", "endpoint": "/chat/completions", "completion_window": "24h"}),
    ))
    .await;
    assert_eq!(status, 404);
    assert_eq!(v["error"]["message"], "File with id 'file-nope' not found.");
    for (body, param) in [
        (
            json!({"input_file_id": tuning, "endpoint": "/chat/completions", "completion_window": "24h"}),
            "input_file_id",
        ),
        (
            json!({"input_file_id": good, "endpoint": "/images/generations", "completion_window": "24h"}),
            "endpoint",
        ),
        (
            json!({"input_file_id": good, "endpoint": "/v1/chat/completions", "completion_window": "1h"}),
            "completion_window",
        ),
        (
            json!({"endpoint": "/chat/completions", "completion_window": "24h"}),
            "input_file_id",
        ),
    ] {
        let (status, v) = send_json(post(&mock, path, &body)).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(v["error"]["param"], param, "{body}");
    }
    // `/v1/…` endpoints are accepted as OpenAI spells them.
    let body = json!({"input_file_id": good, "endpoint": "/v1/chat/completions", "completion_window": "24h"});
    let (status, v) = send_json(post(&mock, path, &body)).await;
    assert_eq!(
        (status, &v["endpoint"]),
        (200, &json!("/v1/chat/completions"))
    );

    let (status, _) = send_json(get(&mock, "/v1/batches/batch_nope")).await;
    assert_eq!(status, 404);
    let (status, _) = send_json(post(&mock, "/v1/batches/batch_nope/cancel", &json!({}))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn list_newest_first_with_cursor() {
    let mock = server().await;
    let input = upload(&mock, "batch", &line("a", "m")).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let batch = create(&mock, "/v1/batches", &input).await;
        ids.push(batch["id"].as_str().unwrap().to_owned());
    }
    let (_, v) = send_json(get(&mock, "/v1/batches?limit=2")).await;
    let listed: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()]);
    assert_eq!(v["has_more"], true);
    assert_eq!(v["object"], "list");
    let (_, v) = send_json(get(&mock, &format!("/v1/batches?after={}", ids[1]))).await;
    assert_eq!(v["data"][0]["id"], ids[0].as_str());
    assert_eq!(v["has_more"], false);
    // Listing does not move batches along.
    assert!(
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["status"] == "validating")
    );
}
