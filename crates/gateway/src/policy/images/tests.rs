//! The whole pipeline: JSON body in, JSON body out.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use image::{DynamicImage, GenericImageView, ImageFormat};
use serde_json::{Value, json};

use super::test_images::*;
use super::*;
use crate::config::ImageFormat as Output;

fn data_url(mime: &str, bytes: &[u8]) -> String {
    format!("data:{mime};base64,{}", STANDARD.encode(bytes))
}

/// Decodes a `data:` URL the gateway wrote: its declared type and the image.
fn open_url(url: &str) -> (String, ImageFormat, DynamicImage) {
    let (head, b64) = url.split_once(',').unwrap();
    let mime = head
        .strip_prefix("data:")
        .and_then(|h| h.strip_suffix(";base64"))
        .unwrap();
    let (format, image) = open(&STANDARD.decode(b64).unwrap());
    (mime.to_owned(), format, image)
}

fn bytes(v: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(v).unwrap())
}

async fn run(body: &Value, s: &Arc<ImageCompression>) -> Result<Value, GatewayError> {
    let out = compress(bytes(body), s).await?;
    Ok(serde_json::from_slice(&out).unwrap())
}

#[tokio::test]
async fn a_large_image_is_recompressed_and_nothing_else_changes() {
    let s = settings(256, 20_000, Output::Jpeg);
    let large = data_url("image/png", &png(&photo(1200, 800)));
    let small = data_url("image/png", &png(&photo(16, 16)));
    let body = json!({
        "model": "gpt-4o",
        "temperature": 0.7,
        "messages": [
            {"role": "system", "content": "Describe."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": large, "detail": "high"}},
                {"type": "image_url", "image_url": small},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
            ]}
        ],
        "stream": false
    });
    let out = run(&body, &s).await.unwrap();
    let url = out["messages"][1]["content"][1]["image_url"]["url"]
        .as_str()
        .unwrap();
    let (mime, format, image) = open_url(url);
    assert_eq!((mime.as_str(), format), ("image/jpeg", ImageFormat::Jpeg));
    assert_eq!(image.dimensions(), (256, 171));
    // Everything else, in the same order, is what the client sent.
    let mut expected = body.clone();
    expected["messages"][1]["content"][1]["image_url"]["url"] = json!(url);
    assert_eq!(out, expected);
    assert_eq!(
        serde_json::to_string(&out).unwrap(),
        serde_json::to_string(&expected).unwrap(),
        "key order"
    );
}

#[tokio::test]
async fn responses_input_images_and_image_base64_fields_are_recompressed() {
    let s = settings(128, 10_000, Output::Webp);
    let photo = png(&photo(640, 480));
    let body = json!({
        "model": "gpt-4o",
        "input": [{"role": "user", "content": [
            {"type": "input_text", "text": "Compare"},
            {"type": "input_image", "image_url": data_url("image/png", &photo)}
        ]}],
        "extra": {"image_base64": STANDARD.encode(&photo)}
    });
    let out = run(&body, &s).await.unwrap();
    let url = out["input"][0]["content"][1]["image_url"].as_str().unwrap();
    let (mime, format, image) = open_url(url);
    assert_eq!((mime.as_str(), format), ("image/webp", ImageFormat::WebP));
    assert_eq!(image.dimensions(), (128, 96));
    // image_base64 stays bare base64.
    let bare = out["extra"]["image_base64"].as_str().unwrap();
    let (format, image) = open(&STANDARD.decode(bare).unwrap());
    assert_eq!((format, image.dimensions()), (ImageFormat::WebP, (128, 96)));
    assert_eq!(
        out["input"][0]["content"][0],
        body["input"][0]["content"][0]
    );
}

#[tokio::test]
async fn unchanged_bodies_are_the_same_bytes() {
    let s = settings(256, 20_000, Output::Jpeg);
    let small = data_url("image/png", &png(&photo(16, 16)));
    let pad = "x".repeat(100_000);
    let cases = [
        // Small image, long text: parsed, nothing to do.
        json!({"messages": [{"content": [{"image_url": {"url": small}}, {"text": pad}]}]}),
        // No image at all.
        json!({"messages": [{"content": pad}]}),
        // A large image that would only grow, and an animation.
        json!({"a": {"image_url": data_url("image/jpeg", &jpeg(&photo(250, 250), 10))},
               "b": {"image_base64": STANDARD.encode(gif_of(200, 200, 2))},
               "pad": pad}),
    ];
    for body in cases {
        let input = bytes(&body);
        let out = compress(input.clone(), &s).await.unwrap();
        assert_eq!(out.as_ptr(), input.as_ptr(), "same buffer");
    }
    // Not JSON: left for the pipeline's parser.
    let junk = Bytes::from(format!("{{\"image_base64\": {pad}"));
    let out = compress(junk.clone(), &s).await.unwrap();
    assert_eq!(out.as_ptr(), junk.as_ptr());
}

#[tokio::test]
async fn a_large_image_that_cannot_be_read_is_a_400_naming_where_it_is() {
    let s = settings(256, 1_000, Output::Jpeg);
    let good = png(&photo(300, 200));
    let cases = [
        (
            json!({"image_url": format!("data:image/png;base64,{}!!", "A".repeat(4_000))}),
            "image_url",
            "not valid base64",
        ),
        (
            json!({"messages": [{"content": [{"type": "text"},
                {"type": "image_url", "image_url": {"url": data_url("image/png", &good[..good.len() / 2])}}]}]}),
            "messages[0].content[1].image_url.url",
            "could not be decoded",
        ),
        (
            json!({"x": [{"image_base64": STANDARD.encode([bomb(100_000, 100_000), vec![0; 4_000]].concat())}]}),
            "x[0].image_base64",
            "too large to decode",
        ),
        (
            json!({"image_url": data_url("image/tiff", &good)}),
            "image_url",
            "`image/tiff` is not a supported image type",
        ),
        (
            json!({"image_url": format!("data:image/svg+xml,<svg>{}</svg>", "x".repeat(4_000))}),
            "image_url",
            "`image/svg+xml` is not a supported image type",
        ),
        (
            json!({"image_url": format!("data:image/png,{}", "x".repeat(4_000))}),
            "image_url",
            "must be base64",
        ),
    ];
    for (body, param, reason) in cases {
        match run(&body, &s).await {
            Err(GatewayError::InvalidImage { message, param: at }) => {
                assert_eq!(at, param);
                assert!(message.contains(reason), "{message}");
                assert!(message.contains(param), "{message}");
            }
            other => panic!("{param}: expected invalid_image, got {other:?}"),
        }
    }
    // The same bytes under the threshold are not the gateway's business.
    let s = settings(256, 1_000_000, Output::Jpeg);
    let body = json!({"image_url": data_url("image/png", &good[..good.len() / 2])});
    let input = bytes(&body);
    assert_eq!(compress(input.clone(), &s).await.unwrap(), input);
}

#[tokio::test]
async fn a_bomb_is_refused_as_too_large() {
    let s = settings(256, 10, Output::Jpeg);
    let body = json!({"image_base64": STANDARD.encode(bomb(100_000, 100_000))});
    match run(&body, &s).await {
        Err(GatewayError::InvalidImage { message, .. }) => {
            assert!(message.contains("too large to decode"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn several_images_in_one_request_are_all_recompressed() {
    let s = settings(64, 5_000, Output::Jpeg);
    let a = data_url("image/png", &png(&photo(300, 300)));
    let b = data_url("image/png", &png(&transparent(200, 100)));
    let body = json!({"messages": [
        {"content": [{"image_url": {"url": a}}]},
        {"content": [{"image_url": {"url": b}}]}
    ]});
    let out = run(&body, &s).await.unwrap();
    let first = open_url(
        out["messages"][0]["content"][0]["image_url"]["url"]
            .as_str()
            .unwrap(),
    );
    let second = open_url(
        out["messages"][1]["content"][0]["image_url"]["url"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        (first.1, first.2.dimensions()),
        (ImageFormat::Jpeg, (64, 64))
    );
    assert_eq!(
        (second.0.as_str(), second.2.dimensions()),
        ("image/png", (64, 32))
    );
    assert!(second.2.color().has_alpha());
}
