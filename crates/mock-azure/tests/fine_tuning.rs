//! Fine-tuning jobs over real HTTP: create, step through the lifecycle by reading, events,
//! checkpoints, result files, cancel and the refusals.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{API, Multipart, get, post, post_form, send_json, server};
use mock_azure::MockServer;
use serde_json::{Value, json};

async fn upload(mock: &MockServer, purpose: &str) -> String {
    let data = b"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n".repeat(10);
    let form = Multipart::new().text("purpose", purpose).file(
        "file",
        "train.jsonl",
        "application/jsonl",
        &data,
    );
    let (status, v) = send_json(post_form(mock, "/v1/files", form)).await;
    assert_eq!(status, 200, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

fn messages(list: &Value) -> Vec<&str> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn lifecycle_to_succeeded() {
    let mock = server().await;
    let training = upload(&mock, "fine-tune").await;
    let validation = upload(&mock, "fine-tune").await;
    let body = json!({
        "model": "gpt-4o-mini-2024-07-18",
        "training_file": training,
        "validation_file": validation,
        "hyperparameters": {"n_epochs": 2},
        "suffix": "mine",
        "seed": 42,
    });
    let response = post(&mock, &format!("/openai/fine_tuning/jobs?{API}"), &body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let job: Value = response.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    assert!(location.ends_with(&format!("/openai/fine_tuning/jobs/{id}")));
    assert!(id.starts_with("ftjob-") && id.len() == 6 + 32, "{id}");
    assert_eq!(job["object"], "fine_tuning.job");
    assert_eq!(job["status"], "pending");
    assert_eq!(job["model"], "gpt-4o-mini-2024-07-18");
    assert_eq!(job["training_file"], training.as_str());
    assert_eq!(job["validation_file"], validation.as_str());
    assert_eq!(
        job["hyperparameters"],
        json!({"n_epochs": 2, "batch_size": -1, "learning_rate_multiplier": -1})
    );
    assert_eq!(job["seed"], 42);
    assert_eq!(job["suffix"], "mine");
    assert_eq!(job["result_files"], json!([]));
    for field in [
        "trained_tokens",
        "fine_tuned_model",
        "estimated_finish",
        "finished_at",
    ] {
        assert!(job[field].is_null(), "{field}");
    }

    let (_, v) = send_json(get(&mock, &format!("/openai/v1/fine_tuning/jobs/{id}"))).await;
    assert_eq!(v["status"], "running");
    let (_, checkpoints) = send_json(get(
        &mock,
        &format!("/v1/fine_tuning/jobs/{id}/checkpoints"),
    ))
    .await;
    assert_eq!(checkpoints["data"], json!([]));

    let (_, done) = send_json(get(&mock, &format!("/v1/fine_tuning/jobs/{id}"))).await;
    assert_eq!(done["status"], "succeeded");
    let model = format!("gpt-4o-mini-2024-07-18.ft-{}-mine", &id[6..]);
    assert_eq!(done["fine_tuned_model"], model.as_str());
    assert!(done["trained_tokens"].as_u64().unwrap() > 0);
    assert!(done["finished_at"].is_u64());
    let results = done["result_files"][0].as_str().unwrap();
    let (_, file) = send_json(get(&mock, &format!("/v1/files/{results}"))).await;
    assert_eq!(file["purpose"], "fine-tune-results");
    let csv = get(&mock, &format!("/v1/files/{results}/content"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("step,train_loss"), "{csv}");

    let (_, events) = send_json(get(&mock, &format!("/v1/fine_tuning/jobs/{id}/events"))).await;
    assert_eq!(
        messages(&events),
        [
            "Job enqueued. Waiting for jobs ahead to complete.",
            "Job started.",
            "Job succeeded."
        ]
    );
    let event = &events["data"][0];
    assert_eq!(event["object"], "fine_tuning.job.event");
    assert!(event["id"].as_str().unwrap().starts_with("ftevent-"));
    assert_eq!(event["level"], "info");
    let (_, page) = send_json(get(
        &mock,
        &format!(
            "/v1/fine_tuning/jobs/{id}/events?limit=1&after={}",
            event["id"].as_str().unwrap()
        ),
    ))
    .await;
    assert_eq!(messages(&page), ["Job started."]);
    assert_eq!(page["has_more"], true);

    let (_, checkpoints) = send_json(get(
        &mock,
        &format!("/openai/fine_tuning/jobs/{id}/checkpoints?{API}"),
    ))
    .await;
    let data = checkpoints["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    assert_eq!(data[0]["object"], "fine_tuning.job.checkpoint");
    assert!(data[0]["id"].as_str().unwrap().starts_with("ftckpt_"));
    assert_eq!(data[0]["fine_tuning_job_id"], id.as_str());
    assert_eq!(data[2]["step_number"], 30);
    assert_eq!(
        data[2]["fine_tuned_model_checkpoint"],
        format!("{model}:ckpt-step-30")
    );
    assert!(data[0]["metrics"]["train_loss"].is_f64());

    let (status, v) = send_json(post(
        &mock,
        &format!("/v1/fine_tuning/jobs/{id}/cancel"),
        &json!({}),
    ))
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        v["error"]["message"],
        "Cannot cancel a job with status 'succeeded'."
    );
}

#[tokio::test]
async fn v1_defaults_cancel_and_list() {
    let mock = server().await;
    let training = upload(&mock, "fine-tune").await;
    let body = json!({"model": "gpt-4.1-mini", "training_file": training});
    let (status, first) = send_json(post(&mock, "/openai/v1/fine_tuning/jobs", &body)).await;
    assert_eq!(status, 200);
    assert_eq!(
        first["hyperparameters"],
        json!({"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"})
    );
    assert!(first["seed"].is_u64());
    let (_, second) = send_json(post(&mock, "/openai/v1/fine_tuning/jobs", &body)).await;
    let id = first["id"].as_str().unwrap();

    let (status, v) = send_json(post(
        &mock,
        &format!("/v1/fine_tuning/jobs/{id}/cancel"),
        &json!({}),
    ))
    .await;
    assert_eq!((status, &v["status"]), (200, &json!("cancelled")));
    let (_, v) = send_json(get(&mock, &format!("/v1/fine_tuning/jobs/{id}"))).await;
    assert_eq!(v["status"], "cancelled", "a cancelled job stays cancelled");
    let (_, events) = send_json(get(&mock, &format!("/v1/fine_tuning/jobs/{id}/events"))).await;
    assert_eq!(messages(&events).last(), Some(&"Job cancelled."));

    let (_, list) = send_json(get(&mock, "/v1/fine_tuning/jobs")).await;
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second["id"].as_str().unwrap(), id]);
    let (_, list) = send_json(get(&mock, "/v1/fine_tuning/jobs?limit=1")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["has_more"], true);
}

#[tokio::test]
async fn create_refusals_and_unknown_jobs() {
    let mock = server().await;
    let training = upload(&mock, "fine-tune").await;
    let batch_file = upload(&mock, "batch").await;
    let path = "/v1/fine_tuning/jobs";
    for (body, param) in [
        (json!({"training_file": training}), "model"),
        (json!({"model": "m"}), "training_file"),
        (
            json!({"model": "m", "training_file": "file-nope"}),
            "training_file",
        ),
        (
            json!({"model": "m", "training_file": batch_file}),
            "training_file",
        ),
        (
            json!({"model": "m", "training_file": training, "validation_file": "file-nope"}),
            "validation_file",
        ),
    ] {
        let (status, v) = send_json(post(&mock, path, &body)).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"], param, "{body}");
    }
    let (status, v) = send_json(post(
        &mock,
        path,
        &json!({"model": "m", "training_file": "file-nope"}),
    ))
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["message"], "invalid training_file: file-nope");
    for suffix in ["", "/events", "/checkpoints"] {
        let (status, v) = send_json(get(&mock, &format!("{path}/ftjob-nope{suffix}"))).await;
        assert_eq!(status, 404, "{suffix}");
        assert_eq!(
            v["error"]["message"],
            "Fine-tuning job with id 'ftjob-nope' not found."
        );
    }
    let response = post(
        &mock,
        path,
        &json!({"model": "m", "training_file": training}),
    )
    .header("x-mock-status", "429")
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 429);
    let v: Value = response.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().starts_with(
        "Requests to the FineTuning_Create Operation under Azure OpenAI API version v1"
    ));
}
