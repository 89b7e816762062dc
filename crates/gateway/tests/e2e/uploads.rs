//! Multipart uploads (audio transcriptions and translations, image edits and variations) and
//! speech: the `model` form field routes them, the upstream gets the client's multipart body
//! byte for byte apart from that value, and large uploads are spooled rather than held in
//! memory.

use std::time::Duration;

use mock_azure::Behavior;
use serde_json::{Value, json};

use crate::common::*;

const BOUNDARY: &str = "gw-test-boundary-7MA4YWxkTrZu0gW";

/// One part of a hand-built form: `(name, filename, content)`.
type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// A `multipart/form-data` body, built by hand so tests know every byte.
fn form(parts: &[Part<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, filename, content) in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match filename {
            Some(f) => out.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// A WAV-looking payload of `n` bytes with a recognisable pattern.
fn audio(n: usize) -> Vec<u8> {
    let mut v = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
    v.extend((0..n.saturating_sub(16)).map(|i| (i * 31 % 251) as u8));
    v
}

async fn upload(gw: &Gateway, path: &str, body: Vec<u8>) -> reqwest::Response {
    client()
        .post(gw.url(path))
        .header("api-key", CLIENT_KEY)
        .header("content-type", content_type())
        .body(body)
        .send()
        .await
        .unwrap()
}

fn upload_config(mock_url: &str) -> Value {
    let mut cfg = config(mock_url);
    let models = cfg["models"].as_array_mut().unwrap();
    models.push(json!({"id": "whisper", "upstream": "legacy", "targetModel": "dep-whisper"}));
    models.push(json!({"id": "whisper-v1", "upstream": "v1", "targetModel": "dep-whisper-v1"}));
    models.push(
        json!({"id": "gpt-4o-transcribe", "upstream": "v1", "targetModel": "dep-4o-transcribe"}),
    );
    models.push(json!({"id": "tts", "upstream": "legacy", "targetModel": "dep-tts"}));
    models.push(json!({"id": "gpt-image-1", "upstream": "v1", "targetModel": "dep-image"}));
    models.push(json!({"id": "dall-e-2", "upstream": "engine", "targetModel": "dall-e-2"}));
    models.push(json!({"id": "whisper-pool", "deployments": [
        {"upstream": "legacy", "targetModel": "dep-throttled", "priority": 0},
        {"upstream": "v1", "targetModel": "dep-spare", "priority": 1}
    ]}));
    cfg
}

#[tokio::test]
async fn the_model_field_routes_a_transcription_to_the_legacy_deployment_path() {
    let mock = mock().await;
    let gw = Gateway::start(&upload_config(&mock.base_url())).await;
    let file = audio(4000);
    let body = form(&[
        ("model", None, b"whisper"),
        ("file", Some("hello.wav"), &file),
        ("response_format", None, b"json"),
    ]);
    // curl sends `Expect: 100-continue` with uploads; the gateway settles it with the client.
    let resp = client()
        .post(gw.url("/v1/audio/transcriptions"))
        .header("api-key", CLIENT_KEY)
        .header("content-type", content_type())
        .header("expect", "100-continue")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text: Value = resp.json().await.unwrap();
    assert!(
        text["text"].as_str().unwrap().contains("dep-whisper"),
        "{text}"
    );
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    // The seed gyarbij proxy sent this to `/openai/deployments//audio/transcriptions`.
    assert_eq!(
        r.path,
        "/openai/deployments/dep-whisper/audio/transcriptions"
    );
    assert_eq!(r.query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(r.header("content-type"), Some(content_type().as_str()));
    assert_eq!(r.header("api-key"), Some(UPSTREAM_KEY));
    assert_eq!(r.header("expect"), None);
    let expected = form(&[
        ("model", None, b"dep-whisper"),
        ("file", Some("hello.wav"), &file),
        ("response_format", None, b"json"),
    ]);
    assert!(r.body[..] == expected[..], "the multipart body changed");
    assert_eq!(
        r.header("content-length"),
        Some(expected.len().to_string().as_str())
    );
}

#[tokio::test]
async fn a_model_field_after_the_file_reaches_a_v1_upstream_renamed() {
    let mock = mock().await;
    let gw = Gateway::start(&upload_config(&mock.base_url())).await;
    let file = audio(3000);
    let body = form(&[
        ("file", Some("late.wav"), &file),
        ("model", None, b"whisper-v1"),
    ]);
    let resp = upload(&gw, "/openai/v1/audio/translations", body).await;
    assert_eq!(resp.status(), 200);
    let r = &mock.requests()[0];
    assert_eq!(r.path, "/openai/v1/audio/translations");
    let expected = form(&[
        ("file", Some("late.wav"), &file),
        ("model", None, b"dep-whisper-v1"),
    ]);
    assert!(r.body[..] == expected[..]);
}

#[tokio::test]
async fn the_azure_deployment_route_needs_no_model_field() {
    let mock = mock().await;
    let gw = Gateway::start(&upload_config(&mock.base_url())).await;
    let file = audio(2000);
    let body = form(&[("file", Some("a.wav"), &file)]);
    // To a legacy upstream: the deployment is in the path, the body is untouched.
    let resp = upload(
        &gw,
        "/openai/deployments/whisper/audio/transcriptions?api-version=2025-04-01-preview",
        body.clone(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    // To a v1 upstream: the deployment must be in the body, so a `model` part is added.
    let resp = upload(
        &gw,
        "/openai/deployments/whisper-v1/audio/transcriptions?api-version=2025-04-01-preview",
        body.clone(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[0].path,
        "/openai/deployments/dep-whisper/audio/transcriptions"
    );
    assert_eq!(
        reqs[0].query.as_deref(),
        Some("api-version=2025-04-01-preview")
    );
    assert!(reqs[0].body[..] == body[..]);
    assert_eq!(reqs[1].path, "/openai/v1/audio/transcriptions");
    let with_model = form(&[
        ("model", None, b"dep-whisper-v1"),
        ("file", Some("a.wav"), &file),
    ]);
    assert!(reqs[1].body[..] == with_model[..]);
    // Without api-version the legacy route is Azure's 404, and nothing goes upstream.
    let resp = upload(
        &gw,
        "/openai/deployments/whisper/audio/transcriptions",
        body,
    )
    .await;
    assert_eq!(resp.status(), 404);
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn bad_uploads_get_openai_errors_and_never_reach_the_upstream() {
    let mock = mock().await;
    let mut cfg = upload_config(&mock.base_url());
    cfg["server"]["maxUploadBytes"] = json!(10_000);
    let gw = Gateway::start(&cfg).await;
    let file = audio(500);
    let cases: Vec<(Vec<u8>, Option<&str>, u16, &str)> = vec![
        // No model at all on the OpenAI route.
        (
            form(&[("file", Some("a.wav"), &file)]),
            None,
            400,
            "missing_required_parameter",
        ),
        // An empty model (the seed's empty-deployment bug).
        (
            form(&[("model", None, b""), ("file", Some("a.wav"), &file)]),
            None,
            400,
            "invalid_value",
        ),
        // JSON where a form belongs.
        (
            br#"{"model":"whisper"}"#.to_vec(),
            Some("application/json"),
            400,
            "invalid_content_type",
        ),
        // A form cut short before its closing boundary.
        (
            form(&[("model", None, b"whisper"), ("file", Some("a.wav"), &file)])[..300].to_vec(),
            None,
            400,
            "invalid_multipart",
        ),
        // Over maxUploadBytes.
        (
            form(&[
                ("model", None, b"whisper"),
                ("file", Some("a.wav"), &audio(20_000)),
            ]),
            None,
            413,
            "request_too_large",
        ),
        // An alias nobody configured.
        (
            form(&[("model", None, b"nope"), ("file", Some("a.wav"), &file)]),
            None,
            404,
            "model_not_found",
        ),
    ];
    for (body, ct, status, code) in cases {
        let resp = client()
            .post(gw.url("/v1/audio/transcriptions"))
            .bearer_auth(CLIENT_KEY)
            .header("content-type", ct.map_or_else(content_type, str::to_owned))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{code}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"]["code"], code, "{err}");
    }
    // A wrong key is refused before the body is read.
    let resp = client()
        .post(gw.url("/v1/audio/transcriptions"))
        .bearer_auth("sk-wrong")
        .header("content-type", content_type())
        .body(form(&[
            ("model", None, b"whisper"),
            ("file", Some("a.wav"), &file),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(mock.requests().is_empty());
}

/// Peak resident memory of a process, from `/proc`.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn a_large_upload_is_spooled_not_held_in_memory_and_replayed_on_failover() {
    let mock = mock().await;
    // The preferred deployment always throttles: the spooled body must be sent twice, whole.
    mock.set_behavior(
        "dep-throttled",
        Behavior {
            status: Some(429),
            retry_after_secs: Some(30),
            ..Default::default()
        },
    );
    let gw = Gateway::start(&upload_config(&mock.base_url())).await;
    // Warm up so the baseline includes the gateway's steady-state allocations.
    let small = form(&[
        ("model", None, b"whisper"),
        ("file", Some("s.wav"), &audio(1000)),
    ]);
    assert_eq!(
        upload(&gw, "/v1/audio/transcriptions", small)
            .await
            .status(),
        200
    );
    let before = peak_rss_kib(gw.pid);
    let file = audio(48 * 1024 * 1024);
    let body = form(&[
        ("file", Some("big.wav"), &file),
        ("model", None, b"whisper-pool"),
    ]);
    let resp = upload(&gw, "/v1/audio/transcriptions", body).await;
    assert_eq!(resp.status(), 200);
    let growth_mib = (peak_rss_kib(gw.pid) - before) / 1024;
    // Holding the upload (48 MiB) in memory even once would show here.
    assert!(growth_mib < 24, "peak RSS grew by {growth_mib} MiB");
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(
        reqs[1].path,
        "/openai/deployments/dep-throttled/audio/transcriptions"
    );
    assert_eq!(reqs[2].path, "/openai/v1/audio/transcriptions");
    let throttled = form(&[
        ("file", Some("big.wav"), &file),
        ("model", None, b"dep-throttled"),
    ]);
    let spare = form(&[
        ("file", Some("big.wav"), &file),
        ("model", None, b"dep-spare"),
    ]);
    assert!(reqs[1].body[..] == throttled[..]);
    assert!(reqs[2].body[..] == spare[..]);
}

#[tokio::test]
async fn image_edits_and_variations_are_routed_by_their_form() {
    let mock = mock().await;
    let gw = Gateway::start(&upload_config(&mock.base_url())).await;
    let png = b"\x89PNG\r\n\x1a\n fake image bytes".to_vec();
    let edit = form(&[
        ("image", Some("in.png"), &png),
        ("prompt", None, b"add a hat"),
        ("model", None, b"gpt-image-1"),
    ]);
    let resp = upload(&gw, "/v1/images/edits", edit).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body["data"][0]["b64_json"].is_string(), "{body}");
    let variation = form(&[
        ("image", Some("in.png"), &png),
        ("model", None, b"dall-e-2"),
    ]);
    let resp = upload(&gw, "/v1/images/variations", variation.clone()).await;
    assert_eq!(resp.status(), 200);
    let reqs = mock.requests();
    assert_eq!(reqs[0].path, "/openai/v1/images/edits");
    assert_eq!(reqs[1].path, "/v1/images/variations");
    assert_eq!(reqs[1].header("authorization"), Some("Bearer engine-key"));
    assert!(reqs[1].body[..] == variation[..]);
}

#[tokio::test]
async fn speech_streams_audio_bytes_with_the_upstream_content_type() {
    let mock = mock().await;
    let gw = Gateway::start(&upload_config(&mock.base_url())).await;
    let ask =
        json!({"model": "tts", "input": "Hello there", "voice": "alloy", "response_format": "wav"});
    let resp = post(&gw, "/v1/audio/speech", &ask).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "audio/wav");
    let via_gateway = resp.bytes().await.unwrap();
    assert!(via_gateway.starts_with(b"RIFF"));
    let r = &mock.requests()[0];
    assert_eq!(r.path, "/openai/deployments/dep-tts/audio/speech");
    assert_eq!(r.json().unwrap()["model"], "dep-tts");
    // The same request straight at the mock gives the same bytes.
    let direct = client()
        .post(format!(
            "{}/openai/deployments/dep-tts/audio/speech?api-version=2024-10-21",
            mock.base_url()
        ))
        .header("api-key", UPSTREAM_KEY)
        .json(&json!({"model": "dep-tts", "input": "Hello there", "voice": "alloy", "response_format": "wav"}))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 200);
    assert_eq!(direct.bytes().await.unwrap(), via_gateway);
    // Azure's deployment route for speech, with the client's api-version.
    let resp = client()
        .post(gw.url("/openai/deployments/tts/audio/speech?api-version=2025-04-01-preview"))
        .header("api-key", CLIENT_KEY)
        .json(&json!({"input": "Hi", "voice": "alloy"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "audio/mpeg");
    assert!(!resp.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_streamed_transcription_passes_its_events_through() {
    let mock = mock().await;
    let gw = Gateway::start(&upload_config(&mock.base_url())).await;
    let body = form(&[
        ("model", None, b"gpt-4o-transcribe"),
        ("stream", None, b"true"),
        ("file", Some("a.wav"), &audio(1000)),
    ]);
    let resp = upload(&gw, "/v1/audio/transcriptions", body).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = tokio::time::timeout(Duration::from_secs(10), resp.text())
        .await
        .unwrap()
        .unwrap();
    assert!(text.contains("transcript.text.delta"), "{text}");
    assert!(text.contains("transcript.text.done"), "{text}");
    assert!(text.contains("dep-4o-transcribe"), "{text}");
    // A stream that ends with `transcript.text.done` is complete, not broken, and its usage
    // counts.
    let stats = stats_until(&gw, |s| {
        s["perModel"]["gpt-4o-transcribe"]["requests"].as_u64() == Some(1)
    })
    .await;
    let model = &stats["perModel"]["gpt-4o-transcribe"];
    assert_eq!(model["errors"], 0, "{model}");
    assert!(model["totalTokens"].as_u64().unwrap() > 0, "{model}");
}
