//! The files store over real HTTP: upload, list, retrieve, content, delete, on every face.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{
    API, KEY, Multipart, awkward_bytes, client, delete, get, post_form, send_json, send_text,
    server,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// `(collection path, query suffix)` per face.
const FACES: [(&str, &str); 3] = [
    ("/openai/files", "?api-version=2024-10-21"),
    ("/openai/v1/files", ""),
    ("/v1/files", ""),
];

fn upload(purpose: &str, name: &str, data: &[u8]) -> Multipart {
    Multipart::new()
        .text("purpose", purpose)
        .file("file", name, "application/octet-stream", data)
}

#[tokio::test]
async fn lifecycle_on_every_face() {
    let mock = server().await;
    for (base, query) in FACES {
        let data = awkward_bytes(50_000);
        let url = format!("{base}{query}");
        let response = post_form(&mock, &url, upload("fine-tune", "train.jsonl", &data))
            .send()
            .await
            .unwrap();
        let legacy = base == "/openai/files";
        assert_eq!(response.status(), if legacy { 201 } else { 200 }, "{base}");
        let location = response.headers().get("location").cloned();
        let file: Value = response.json().await.unwrap();
        let id = file["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("file-") && id.len() == 37, "{id}");
        assert!(id[5..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(file["object"], "file");
        assert_eq!(file["bytes"], 50_000);
        assert_eq!(file["filename"], "train.jsonl");
        assert_eq!(file["purpose"], "fine-tune");
        assert_eq!(file["status"], "processed");
        assert!(file["status_details"].is_null());
        assert!(file["created_at"].as_u64().unwrap() > 1_700_000_000);
        if legacy {
            let location = location.unwrap();
            assert!(
                location
                    .to_str()
                    .unwrap()
                    .ends_with(&format!("/openai/files/{id}"))
            );
        }

        let (status, list) = send_json(get(&mock, &url)).await;
        assert_eq!(status, 200);
        assert_eq!(list["object"], "list");
        assert_eq!(list["data"][0], file);
        assert_eq!(list["first_id"], id.as_str());
        assert_eq!(list["has_more"], false);

        let (status, got) = send_json(get(&mock, &format!("{base}/{id}{query}"))).await;
        assert_eq!((status, &got), (200, &file));

        let response = get(&mock, &format!("{base}/{id}/content{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/octet-stream"
        );
        let mut frames = 0;
        let mut content = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            content.extend_from_slice(&chunk.unwrap());
            frames += 1;
        }
        assert_eq!(content, data, "{base}");
        assert!(frames > 1, "content is streamed");

        let (status, deleted) = send_json(delete(&mock, &format!("{base}/{id}{query}"))).await;
        assert_eq!(status, 200);
        assert_eq!(
            deleted,
            json!({"id": id, "object": "file", "deleted": true})
        );
        for path in [
            format!("{base}/{id}{query}"),
            format!("{base}/{id}/content{query}"),
        ] {
            let (status, v) = send_json(get(&mock, &path)).await;
            assert_eq!(status, 404, "{path}");
            assert_eq!(
                v,
                json!({"error": {
                    "message": format!("File with id '{id}' not found."),
                    "type": "invalid_request_error",
                    "param": null,
                    "code": null,
                }})
            );
        }
        let (status, _) = send_json(delete(&mock, &format!("{base}/{id}{query}"))).await;
        assert_eq!(status, 404);
        let (_, list) = send_json(get(&mock, &url)).await;
        assert_eq!(list["data"], json!([]));
    }
    // Every request was recorded, none with a deployment.
    let records = mock.requests();
    assert_eq!(records.len(), 3 * 9);
    assert!(records.iter().all(|r| r.deployment.is_none()));
    assert_eq!(records[0].method, "POST");
    assert_eq!(records[0].path, "/openai/files");
}

#[tokio::test]
async fn list_filters_orders_and_pages() {
    let mock = server().await;
    let mut ids = Vec::new();
    for (i, purpose) in ["batch", "fine-tune", "batch", "assistants"]
        .iter()
        .enumerate()
    {
        let form = upload(purpose, &format!("f{i}"), b"x");
        let (_, v) = send_json(post_form(&mock, "/v1/files", form)).await;
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    let listed = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, v) = send_json(get(&mock, "/v1/files")).await;
    assert_eq!(
        listed(&v),
        [
            ids[3].clone(),
            ids[2].clone(),
            ids[1].clone(),
            ids[0].clone()
        ]
    );
    let (_, v) = send_json(get(&mock, "/v1/files?purpose=batch&order=asc")).await;
    assert_eq!(listed(&v), [ids[0].clone(), ids[2].clone()]);
    let (_, v) = send_json(get(&mock, "/v1/files?limit=2")).await;
    assert_eq!(listed(&v), [ids[3].clone(), ids[2].clone()]);
    assert_eq!(v["has_more"], true);
    assert_eq!(v["last_id"], ids[2].as_str());
    let (_, v) = send_json(get(&mock, &format!("/v1/files?limit=2&after={}", ids[2]))).await;
    assert_eq!(listed(&v), [ids[1].clone(), ids[0].clone()]);
    assert_eq!(v["has_more"], false);
    let (status, v) = send_json(get(&mock, "/v1/files?limit=0")).await;
    assert_eq!((status, &v["error"]["param"]), (400, &json!("limit")));
}

#[tokio::test]
async fn upload_validation_and_expiry() {
    let mock = server().await;
    let path = "/openai/v1/files";
    let cases = [
        (
            Multipart::new().file("file", "a", "text/plain", b"x"),
            "purpose",
        ),
        (Multipart::new().text("purpose", "batch"), "file"),
        (upload("cats", "a", b"x"), "purpose"),
        (
            upload("batch", "a", b"x").text("expires_after[anchor]", "created_at"),
            "expires_after[seconds]",
        ),
        (
            upload("batch", "a", b"x")
                .text("expires_after[anchor]", "created_at")
                .text("expires_after[seconds]", "60"),
            "expires_after[seconds]",
        ),
        (
            upload("batch", "a", b"x")
                .text("expires_after[anchor]", "last_active_at")
                .text("expires_after[seconds]", "1209600"),
            "expires_after[anchor]",
        ),
    ];
    for (form, param) in cases {
        let (status, v) = send_json(post_form(&mock, path, form)).await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"], param);
    }
    // Both spellings of expires_after.
    for (anchor, seconds) in [
        ("expires_after[anchor]", "expires_after[seconds]"),
        ("expires_after.anchor", "expires_after.seconds"),
    ] {
        let form = upload("batch", "b.jsonl", b"{}")
            .text(anchor, "created_at")
            .text(seconds, "1209600");
        let (status, v) = send_json(post_form(&mock, path, form)).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            v["expires_at"].as_u64().unwrap(),
            v["created_at"].as_u64().unwrap() + 1_209_600
        );
    }
    let (status, v) = send_json(post_form(&mock, path, upload("batch", "c", b"{}"))).await;
    assert_eq!(status, 200);
    assert!(v.get("expires_at").is_none());
}

#[tokio::test]
async fn gates_faults_and_separate_resources() {
    let mock = server().await;
    let (status, text) = send_text(get(&mock, "/openai/files")).await;
    assert_eq!(
        (status, text.as_str()),
        (
            404,
            r#"{"error":{"code":"404","message":"Resource not found"}}"#
        )
    );
    let (status, _) = send_json(get(&mock, "/openai/v1/files?api-version=2024-10-21")).await;
    assert_eq!(status, 400);
    let response = client()
        .get(format!("{}/v1/files", mock.base_url()))
        .header("api-key", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // Methods and paths the API does not have.
    let response = client()
        .put(format!("{}/v1/files", mock.base_url()))
        .header("api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    let response = post_form(
        &mock,
        &format!("/openai/files?{API}"),
        upload("batch", "a", b"x"),
    )
    .header("x-mock-status", "429")
    .header("x-mock-retry-after", "4")
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "4");
    let v: Value = response.json().await.unwrap();
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Requests to the Files_Upload Operation under Azure OpenAI API version 2024-10-21"
        ),
        "{message}"
    );
    let (status, v) = send_json(get(&mock, "/v1/files").header("x-mock-status", "500")).await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (500, &json!("InternalServerError"))
    );
    // Nothing was stored by the refused upload.
    let (_, v) = send_json(get(&mock, "/v1/files")).await;
    assert_eq!(v["data"], json!([]));

    // Two mocks are two Azure resources.
    let (_, v) = send_json(post_form(&mock, "/v1/files", upload("batch", "a", b"x"))).await;
    let id = v["id"].as_str().unwrap();
    let other = server().await;
    let (status, _) = send_json(get(&other, &format!("/v1/files/{id}"))).await;
    assert_eq!(status, 404);
    let (status, _) = send_json(get(&mock, &format!("/v1/files/{id}"))).await;
    assert_eq!(status, 200);
}
