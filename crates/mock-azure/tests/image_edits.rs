//! Image edits (every face) and variations (the engine only) over real HTTP.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use base64::Engine as _;
use common::{API, Multipart, awkward_bytes, post_form, send_json, send_text, server};
use serde_json::json;

const NOT_FOUND: &str = r#"{"error":{"code":"404","message":"Resource not found"}}"#;

#[tokio::test]
async fn edits_on_every_face() {
    let mock = server().await;
    let image = awkward_bytes(3000);
    let mask = awkward_bytes(700);
    for (path, form) in [
        (
            format!("/openai/deployments/img/images/edits?{API}"),
            Multipart::new(),
        ),
        (
            "/openai/v1/images/edits".to_owned(),
            Multipart::new().text("model", "img"),
        ),
        (
            "/v1/images/edits".to_owned(),
            Multipart::new().text("model", "img"),
        ),
    ] {
        let form = form
            .file("image", "cat.png", "image/png", &image)
            .file("mask", "mask.png", "image/png", &mask)
            .text("prompt", "add a hat")
            .text("n", "2");
        let (status, v) = send_json(post_form(&mock, &path, form)).await;
        assert_eq!(status, 200, "{path}: {v}");
        assert!(v["created"].is_u64());
        let data = v["data"].as_array().unwrap();
        assert_eq!(data.len(), 2);
        assert_eq!(
            data[0]["revised_prompt"],
            "edited 1 image(s), 3000 bytes, mask 700 bytes, by img: add a hat"
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(data[0]["b64_json"].as_str().unwrap())
            .unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(data[1]["content_filter_results"]["hate"]["filtered"], false);
    }
    let deployments: Vec<_> = mock.requests().into_iter().map(|r| r.deployment).collect();
    assert!(deployments.iter().all(|d| d.as_deref() == Some("img")));
}

#[tokio::test]
async fn gpt_image_takes_several_images() {
    let mock = server().await;
    let form = Multipart::new()
        .text("prompt", "merge")
        .file("image[]", "a.png", "image/png", &awkward_bytes(100))
        .file("image[]", "b.png", "image/png", &awkward_bytes(250))
        .text("model", "gpt-image-1")
        .text("response_format", "url");
    let (status, v) = send_json(post_form(&mock, "/openai/v1/images/edits", form)).await;
    assert_eq!(status, 200, "{v}");
    let entry = &v["data"][0];
    assert_eq!(
        entry["revised_prompt"],
        "edited 2 image(s), 350 bytes, by gpt-image-1: merge"
    );
    assert!(
        entry["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1/")
    );
}

#[tokio::test]
async fn edits_need_an_image_and_a_prompt() {
    let mock = server().await;
    let path = "/v1/images/edits";
    let no_image = Multipart::new().text("model", "img").text("prompt", "x");
    let no_prompt =
        Multipart::new()
            .text("model", "img")
            .file("image", "a.png", "image/png", b"png");
    let bad_n = Multipart::new()
        .text("model", "img")
        .text("prompt", "x")
        .text("n", "11")
        .file("image", "a.png", "image/png", b"png");
    for (form, param) in [
        (no_image, Some("image")),
        (no_prompt, Some("prompt")),
        (bad_n, None),
    ] {
        let (status, v) = send_json(post_form(&mock, path, form)).await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"], json!(param));
    }
}

#[tokio::test]
async fn variations_exist_only_on_the_engine() {
    let mock = server().await;
    let form = || {
        Multipart::new().text("model", "dall-e-2").file(
            "image",
            "a.png",
            "image/png",
            &awkward_bytes(1234),
        )
    };
    let (status, v) = send_json(post_form(&mock, "/v1/images/variations", form())).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["data"][0]["revised_prompt"],
        "variation of 1 image, 1234 bytes, by dall-e-2"
    );
    for path in [
        format!("/openai/deployments/dall-e-2/images/variations?{API}"),
        "/openai/v1/images/variations".to_owned(),
    ] {
        let (status, text) = send_text(post_form(&mock, &path, form())).await;
        assert_eq!((status, text.as_str()), (404, NOT_FOUND), "{path}");
    }
}
