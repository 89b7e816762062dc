//! `server.imageCompression`: large inline images reach the upstream downscaled and re-encoded;
//! small images, remote URLs and the rest of the body arrive as the client sent them.

use std::io::Cursor;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use image::{DynamicImage, GenericImageView, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use serde_json::{Value, json};

use crate::common::*;

/// Gradients with a little noise: a screenshot-sized PNG of several MB.
fn photo(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        let n = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)).wrapping_mul(2_654_435_761) >> 28;
        let n = n as u8;
        Rgb([
            (x * 255 / width) as u8 ^ n,
            (y * 255 / height) as u8 ^ n,
            ((x + y) % 256) as u8,
        ])
    }))
}

/// A logo-like image: transparent background, opaque disc.
fn logo(size: u32) -> DynamicImage {
    let c = size as i64 / 2;
    DynamicImage::ImageRgba8(RgbaImage::from_fn(size, size, |x, y| {
        let (dx, dy) = (x as i64 - c, y as i64 - c);
        let inside = dx * dx + dy * dy < c * c * 3 / 4;
        let noise = (x.wrapping_mul(31) ^ y.wrapping_mul(17)) as u8;
        Rgba([noise, 255 - noise, 128, if inside { 255 } else { 0 }])
    }))
}

fn png(image: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

fn data_url(bytes: &[u8]) -> String {
    format!("data:image/png;base64,{}", STANDARD.encode(bytes))
}

/// A data URL the gateway wrote: its declared type, the decoded format, the image.
fn open_url(url: &str) -> (String, ImageFormat, DynamicImage) {
    let (head, b64) = url.split_once(',').unwrap();
    let mime = head.strip_prefix("data:").unwrap().strip_suffix(";base64");
    let bytes = STANDARD.decode(b64).unwrap();
    let format = image::guess_format(&bytes).unwrap();
    let image = image::load_from_memory(&bytes).unwrap();
    (mime.unwrap().to_owned(), format, image)
}

/// The shared config with image compression and a model whose deployment has its own name, so
/// the upstream body is the client's byte for byte when nothing else changes it.
fn compressing(mock_url: &str, settings: Value) -> Value {
    let mut cfg = config(mock_url);
    cfg["server"]["imageCompression"] = settings;
    cfg["models"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "vision", "upstream": "legacy"}));
    cfg
}

#[tokio::test]
async fn a_large_chat_image_is_resized_and_the_rest_arrives_untouched() {
    let mock = mock().await;
    let settings = json!({"enabled": true, "maxSize": 1024, "quality": 0.8, "format": "jpeg"});
    let gw = Gateway::start(&compressing(&mock.base_url(), settings)).await;
    let large = png(&photo(3000, 2000));
    assert!(large.len() > 1 << 20, "{} bytes", large.len());
    let small = data_url(&png(&photo(64, 48)));
    let body = json!({
        "model": "vision",
        "temperature": 0.2,
        "messages": [
            {"role": "system", "content": "You describe images."},
            {"role": "user", "content": [
                {"type": "text", "text": "What differs?"},
                {"type": "image_url", "image_url": {"url": data_url(&large), "detail": "high"}},
                {"type": "image_url", "image_url": {"url": small}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
            ]}
        ],
        "max_tokens": 50,
        "user": "u-1"
    });
    let resp = post(&gw, "/v1/chat/completions", &body).await;
    assert_eq!(resp.status(), 200);
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 1);
    let sent = reqs[0].json().unwrap();
    let url = sent["messages"][1]["content"][1]["image_url"]["url"]
        .as_str()
        .unwrap();
    let (mime, format, image) = open_url(url);
    assert_eq!((mime.as_str(), format), ("image/jpeg", ImageFormat::Jpeg));
    assert_eq!(image.dimensions(), (1024, 683));
    assert!(
        reqs[0].body.len() < large.len() / 4,
        "{} bytes",
        reqs[0].body.len()
    );
    // Everything but that one string is what the client sent, in the client's order.
    let mut expected = body.clone();
    expected["messages"][1]["content"][1]["image_url"]["url"] = json!(url);
    assert_eq!(
        serde_json::to_string(&sent).unwrap(),
        serde_json::to_string(&expected).unwrap()
    );
}

#[tokio::test]
async fn responses_images_and_image_base64_fields_are_recompressed() {
    let mock = mock().await;
    let settings = json!({"maxSize": 512, "format": "webp", "minBytes": 100000});
    let gw = Gateway::start(&compressing(&mock.base_url(), settings)).await;
    let large = png(&photo(1600, 1200));
    let badge = png(&logo(900));
    assert!(badge.len() > 100_000, "{} bytes", badge.len());
    let body = json!({
        "model": "gpt-5-mini",
        "input": [{"role": "user", "content": [
            {"type": "input_text", "text": "Compare"},
            {"type": "input_image", "image_url": data_url(&large)},
            {"type": "input_image", "image_url": "https://example.com/b.png"}
        ]}],
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"},
                   "examples": [{"image_base64": STANDARD.encode(&badge)}]}]
    });
    let resp = post(&gw, "/v1/responses", &body).await;
    assert_eq!(resp.status(), 200);
    let sent = mock.requests()[0].json().unwrap();
    let content = &sent["input"][0]["content"];
    let (mime, format, image) = open_url(content[1]["image_url"].as_str().unwrap());
    assert_eq!((mime.as_str(), format), ("image/webp", ImageFormat::WebP));
    assert_eq!(image.dimensions(), (512, 384));
    assert_eq!(content[2], body["input"][0]["content"][2]);
    assert_eq!(content[0], body["input"][0]["content"][0]);
    // Bare base64 stays bare; the transparent background survives lossy WebP.
    let bare = sent["tools"][0]["examples"][0]["image_base64"]
        .as_str()
        .unwrap();
    let bytes = STANDARD.decode(bare).unwrap();
    assert_eq!(image::guess_format(&bytes).unwrap(), ImageFormat::WebP);
    let badge = image::load_from_memory(&bytes).unwrap();
    assert_eq!(badge.dimensions(), (512, 512));
    assert!(
        badge.to_rgba8().get_pixel(2, 2).0[3] < 16,
        "corner stays clear"
    );
    assert_eq!(badge.to_rgba8().get_pixel(256, 256).0[3], 255);
    assert_eq!(sent["model"], "dep-gpt5");
}

#[tokio::test]
async fn a_corrupt_large_image_is_a_400_and_nothing_goes_upstream() {
    let mock = mock().await;
    let settings = json!({"enabled": true, "minBytes": 1000});
    let gw = Gateway::start(&compressing(&mock.base_url(), settings)).await;
    let large = png(&photo(400, 300));
    let body = json!({
        "model": "vision",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Look"},
            {"type": "image_url", "image_url": {"url": data_url(&large[..large.len() / 2])}}
        ]}]
    });
    let resp = post(&gw, "/v1/chat/completions", &body).await;
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "invalid_image");
    assert_eq!(err["error"]["type"], "invalid_request_error");
    assert_eq!(
        err["error"]["param"],
        "messages[0].content[1].image_url.url"
    );
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.contains("could not be decoded"), "{message}");
    // The Azure face answers the same way, and the gateway keeps serving.
    let azure = client()
        .post(gw.url("/openai/deployments/vision/chat/completions?api-version=2024-10-21"))
        .header("api-key", CLIENT_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(azure.status(), 400);
    assert!(mock.requests().is_empty(), "nothing reached the upstream");
    let ok = post(&gw, "/v1/chat/completions", &chat_body("vision")).await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn bodies_are_forwarded_byte_for_byte_when_compression_is_off_or_has_nothing_to_do() {
    let mock = mock().await;
    let image = png(&photo(1200, 900));
    // Spacing, an exponent and an escaped slash that re-serializing would all change.
    let body = format!(
        r#"{{ "model": "vision",
  "messages": [{{"role": "user", "content": [
    {{"type": "image_url", "image_url": {{"url": "data:image\/png;base64,{}"}}}}]}}],
  "temperature": 1.0e0 }}"#,
        STANDARD.encode(&image)
    );
    let at_threshold = json!({"minBytes": image.len()});
    for settings in [Value::Null, json!({"enabled": false}), at_threshold] {
        let cfg = compressing(&mock.base_url(), settings.clone());
        let gw = Gateway::start(&cfg).await;
        let resp = post_raw(&gw, "/v1/chat/completions", body.clone()).await;
        assert_eq!(resp.status(), 200, "{settings}");
        let reqs = mock.requests();
        let last = reqs.last().unwrap();
        assert!(
            last.body == body.as_bytes(),
            "{settings}: upstream body differs"
        );
    }
    // One byte lower, the same image is recompressed (and the body re-serialized).
    let cfg = compressing(&mock.base_url(), json!({"minBytes": image.len() - 1}));
    let gw = Gateway::start(&cfg).await;
    let resp = post_raw(&gw, "/v1/chat/completions", body.clone()).await;
    assert_eq!(resp.status(), 200);
    let sent = mock.requests().last().unwrap().json().unwrap();
    let url = sent["messages"][0]["content"][0]["image_url"]["url"]
        .as_str()
        .unwrap();
    assert_eq!(
        open_url(url).2.dimensions(),
        (1200, 900),
        "fits: only re-encoded"
    );
    assert_eq!(sent["temperature"], 1.0);
}
