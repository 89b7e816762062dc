//! Stored responses over real HTTP: retrieve, delete, cancel, input items, background
//! progress, `store: false`, and separate stores per mock instance.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{API, delete, get, post, send_json, send_text, server, split_events, stream_text};
use mock_azure::MockServer;
use serde_json::{Value, json};

async fn create(mock: &MockServer, path: &str, body: Value) -> Value {
    let (status, v) = send_json(post(mock, path, &body)).await;
    assert_eq!(status, 200, "{v}");
    v
}

fn not_found(id: &str) -> Value {
    json!({"error": {
        "message": format!("Response with id '{id}' not found."),
        "type": "invalid_request_error",
        "param": null,
        "code": null,
    }})
}

#[tokio::test]
async fn retrieve_list_items_and_delete_on_every_face() {
    let mock = server().await;
    let created = create(
        &mock,
        "/openai/v1/responses",
        json!({"model": "m", "input": "Tell me a joke"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("resp_"));
    assert_eq!(created["store"], true);
    for path in [
        format!("/openai/responses/{id}?api-version=2025-04-01-preview"),
        format!("/openai/v1/responses/{id}"),
        format!("/v1/responses/{id}"),
    ] {
        let (status, v) = send_json(get(&mock, &path)).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(v, created, "{path}");
    }
    // Legacy needs its api-version here too.
    let (status, text) = send_text(get(&mock, &format!("/openai/responses/{id}"))).await;
    assert_eq!(
        (status, text.as_str()),
        (
            404,
            r#"{"error":{"code":"404","message":"Resource not found"}}"#
        )
    );

    let (status, items) = send_json(get(&mock, &format!("/v1/responses/{id}/input_items"))).await;
    assert_eq!(status, 200);
    assert_eq!(items["object"], "list");
    assert_eq!(items["has_more"], false);
    let data = items["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    let item = &data[0];
    assert_eq!(item["type"], "message");
    assert_eq!(item["role"], "user");
    assert!(item["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        item["content"],
        json!([{"type": "input_text", "text": "Tell me a joke"}])
    );
    assert_eq!(items["first_id"], item["id"]);
    assert_eq!(items["last_id"], item["id"]);

    let (status, v) = send_json(delete(&mock, &format!("/openai/responses/{id}?{API}"))).await;
    assert_eq!(status, 200);
    assert_eq!(v, json!({"id": id, "object": "response", "deleted": true}));
    for path in [
        format!("/v1/responses/{id}"),
        format!("/v1/responses/{id}/input_items"),
    ] {
        let (status, v) = send_json(get(&mock, &path)).await;
        assert_eq!((status, v), (404, not_found(id)), "{path}");
    }
    let (status, _) = send_json(delete(&mock, &format!("/v1/responses/{id}"))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn array_input_items_in_both_orders() {
    let mock = server().await;
    let input = json!([
        {"role": "system", "content": "Be brief."},
        {"role": "assistant", "content": "Earlier answer."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Q?"}]},
        {"type": "function_call_output", "call_id": "call_1", "output": "42"},
    ]);
    let created = create(
        &mock,
        "/v1/responses",
        json!({"model": "m", "input": input}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let (_, asc) = send_json(get(
        &mock,
        &format!("/v1/responses/{id}/input_items?order=asc"),
    ))
    .await;
    let data = asc["data"].as_array().unwrap();
    assert_eq!(data.len(), 4);
    assert_eq!(data[0]["role"], "system");
    assert_eq!(
        data[0]["content"][0],
        json!({"type": "input_text", "text": "Be brief."})
    );
    assert_eq!(data[1]["content"][0]["type"], "output_text");
    assert_eq!(data[2]["content"][0]["text"], "Q?");
    assert_eq!(data[3]["type"], "function_call_output");
    assert_eq!(data[3]["output"], "42");
    assert!(data.iter().all(|item| item["id"].is_string()));
    // Newest first by default, with a cursor.
    let (_, desc) = send_json(get(
        &mock,
        &format!("/v1/responses/{id}/input_items?limit=2"),
    ))
    .await;
    assert_eq!(desc["data"][0], data[3]);
    assert_eq!(desc["data"][1], data[2]);
    assert_eq!(desc["has_more"], true);
}

#[tokio::test]
async fn store_false_is_not_kept() {
    let mock = server().await;
    let created = create(
        &mock,
        "/v1/responses",
        json!({"model": "m", "input": "x", "store": false}),
    )
    .await;
    assert_eq!(created["store"], false);
    let id = created["id"].as_str().unwrap();
    let (status, v) = send_json(get(&mock, &format!("/v1/responses/{id}"))).await;
    assert_eq!((status, v), (404, not_found(id)));
    // Nor can it be continued.
    let body = json!({"model": "m", "input": "y", "previous_response_id": id});
    let (status, v) = send_json(post(&mock, "/v1/responses", &body)).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "previous_response_not_found");
    assert_eq!(v["error"]["param"], "previous_response_id");
    let (status, _) = send_json(post(
        &mock,
        "/v1/responses",
        &json!({"model": "m", "background": true, "store": false}),
    ))
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn streamed_responses_are_kept() {
    let mock = server().await;
    let text = stream_text(
        &mock,
        "/openai/v1/responses",
        json!({"model": "m", "input": "hi", "stream": true}),
    )
    .await;
    let events = split_events(&text);
    let completed = common::data(events.last().unwrap());
    assert_eq!(completed["type"], "response.completed");
    let id = completed["response"]["id"].as_str().unwrap();
    let (status, v) = send_json(get(&mock, &format!("/v1/responses/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(v, completed["response"]);
    // A follow-up can point at it.
    let body = json!({"model": "m", "input": "more", "previous_response_id": id});
    let next = create(&mock, "/v1/responses", body).await;
    assert_eq!(next["previous_response_id"], id);
}

#[tokio::test]
async fn background_progress_and_cancel() {
    let mock = server().await;
    let body = json!({"model": "m", "input": "long job", "background": true});
    let queued = create(&mock, "/openai/v1/responses", body.clone()).await;
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["background"], true);
    assert_eq!(queued["output"], json!([]));
    assert!(queued["usage"].is_null());
    let id = queued["id"].as_str().unwrap();
    let path = format!("/openai/v1/responses/{id}");
    let (_, v) = send_json(get(&mock, &path)).await;
    assert_eq!(v["status"], "in_progress");
    let (_, v) = send_json(get(&mock, &path)).await;
    assert_eq!(v["status"], "completed");
    assert_eq!(v["output"][0]["type"], "message");
    assert_eq!(v["usage"]["total_tokens"], 18);
    assert_eq!(v["id"], queued["id"]);
    let (status, v) = send_json(post(&mock, &format!("{path}/cancel"), &json!({}))).await;
    assert_eq!(status, 400, "a completed response cannot be cancelled: {v}");

    let queued = create(&mock, "/v1/responses", body).await;
    let id = queued["id"].as_str().unwrap();
    let cancel = format!("/v1/responses/{id}/cancel");
    let (status, v) = send_json(post(&mock, &cancel, &json!({}))).await;
    assert_eq!(status, 200);
    assert_eq!(v["status"], "cancelled");
    assert_eq!(v["id"], id);
    let (_, v) = send_json(get(&mock, &format!("/v1/responses/{id}"))).await;
    assert_eq!(
        v["status"], "cancelled",
        "a cancelled response stays cancelled"
    );
    let (status, v) = send_json(post(&mock, &cancel, &json!({}))).await;
    assert_eq!((status, &v["status"]), (200, &json!("cancelled")));
}

#[tokio::test]
async fn only_background_responses_can_be_cancelled() {
    let mock = server().await;
    let created = create(&mock, "/v1/responses", json!({"model": "m", "input": "x"})).await;
    let id = created["id"].as_str().unwrap();
    let (status, v) = send_json(post(
        &mock,
        &format!("/v1/responses/{id}/cancel"),
        &json!({}),
    ))
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Only background responses can be cancelled")
    );
    let (status, v) = send_json(post(&mock, "/v1/responses/resp_nope/cancel", &json!({}))).await;
    assert_eq!((status, v), (404, not_found("resp_nope")));
}

#[tokio::test]
async fn each_mock_is_its_own_resource() {
    let (a, b) = (server().await, server().await);
    let from_a = create(&a, "/v1/responses", json!({"model": "m", "input": "x"})).await;
    let from_b = create(&b, "/v1/responses", json!({"model": "m", "input": "x"})).await;
    assert_ne!(from_a["id"], from_b["id"]);
    let id = from_a["id"].as_str().unwrap();
    let (status, v) = send_json(get(&b, &format!("/v1/responses/{id}"))).await;
    assert_eq!((status, v), (404, not_found(id)));
    let (status, _) = send_json(get(&a, &format!("/v1/responses/{id}"))).await;
    assert_eq!(status, 200);
    let body = json!({"model": "m", "input": "y", "previous_response_id": id});
    let (status, _) = send_json(post(&b, "/v1/responses", &body)).await;
    assert_eq!(status, 400);

    // The store keeps fault controls and recording like every other route.
    let response = get(&a, &format!("/v1/responses/{id}"))
        .header("x-mock-status", "429")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let v: Value = response.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Requests to the Responses_Get Operation")
    );
    let records = a.requests();
    assert_eq!(records.last().unwrap().path, format!("/v1/responses/{id}"));
    assert_eq!(records.last().unwrap().method, "GET");
}
