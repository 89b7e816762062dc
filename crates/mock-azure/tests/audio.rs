//! Audio over real HTTP: multipart transcriptions and translations on every face, their
//! formats, usage and stream; speech bytes, formats and the WAV header.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{
    API, KEY, Multipart, awkward_bytes, client, post, post_form, send_json, send_text, server,
    sha256_16, split_events,
};
use futures_util::StreamExt;
use mock_azure::{MockConfig, MockServer, Outcome};
use serde_json::{Value, json};

fn audio(len: usize) -> Vec<u8> {
    awkward_bytes(len)
}

fn expected(verb: &str, filename: &str, data: &[u8], deployment: &str) -> String {
    format!(
        "{verb} {filename}: {} bytes, sha256 {}, by {deployment}",
        data.len(),
        sha256_16(data)
    )
}

#[tokio::test]
async fn transcription_on_every_face_with_model_before_or_after_the_file() {
    let mock = server().await;
    let data = audio(40_000);
    let legacy = format!("/openai/deployments/whisper/audio/transcriptions?{API}");
    let form = Multipart::new().file("file", "a.mp3", "audio/mpeg", &data);
    let (status, v) = send_json(post_form(&mock, &legacy, form)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["text"],
        expected("transcribed", "a.mp3", &data, "whisper")
    );
    assert_eq!(v["usage"], json!({"type": "duration", "seconds": 3}));

    let before =
        Multipart::new()
            .text("model", "whisper-v1")
            .file("file", "b.mp3", "audio/mpeg", &data);
    let after = Multipart::new()
        .file("file", "b.mp3", "audio/mpeg", &data)
        .text("model", "whisper-v1");
    for (path, form) in [
        ("/openai/v1/audio/transcriptions", before),
        ("/v1/audio/transcriptions", after),
    ] {
        let (status, v) = send_json(post_form(&mock, path, form)).await;
        assert_eq!(status, 200, "{path}: {v}");
        assert_eq!(
            v["text"],
            expected("transcribed", "b.mp3", &data, "whisper-v1"),
            "{path}"
        );
    }
    let records = mock.requests();
    assert_eq!(records.len(), 3);
    let deployments: Vec<_> = records.iter().map(|r| r.deployment.clone()).collect();
    assert_eq!(
        deployments,
        [
            Some("whisper".to_owned()),
            Some("whisper-v1".to_owned()),
            Some("whisper-v1".to_owned())
        ]
    );
    // The recorded body is the multipart body as sent.
    let (_, sent) = Multipart::new()
        .file("file", "b.mp3", "audio/mpeg", &data)
        .text("model", "whisper-v1")
        .finish();
    assert_eq!(records[2].body.as_ref(), sent.as_slice());
    assert_eq!(
        mock.wait_for_outcome(2, common::TIMEOUT).await,
        Outcome::Completed
    );
}

#[tokio::test]
async fn translation_on_every_face() {
    let mock = server().await;
    let data = audio(1000);
    for (path, form) in [
        (
            format!("/openai/deployments/wh/audio/translations?{API}"),
            Multipart::new(),
        ),
        (
            "/openai/v1/audio/translations".to_owned(),
            Multipart::new().text("model", "wh"),
        ),
        (
            "/v1/audio/translations".to_owned(),
            Multipart::new().text("model", "wh"),
        ),
    ] {
        let form = form
            .file("file", "de.wav", "audio/wav", &data)
            .text("response_format", "verbose_json");
        let (status, v) = send_json(post_form(&mock, &path, form)).await;
        assert_eq!(status, 200, "{path}: {v}");
        assert_eq!(v["task"], "translate");
        assert_eq!(v["language"], "english");
        assert_eq!(v["text"], expected("translated", "de.wav", &data, "wh"));
    }
}

#[tokio::test]
async fn response_formats() {
    let mock = server().await;
    let path = "/v1/audio/transcriptions";
    // A real WAV header: 1.5 s of 24 kHz 16-bit mono.
    let mut wav = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0".to_vec();
    wav.extend(24_000u32.to_le_bytes());
    wav.extend(48_000u32.to_le_bytes());
    wav.extend(b"\x02\0\x10\0data");
    wav.extend(72_000u32.to_le_bytes());
    wav.extend(vec![0u8; 72_000]);
    let text = expected("transcribed", "x.wav", &wav, "w");
    let form = |format: &str| {
        Multipart::new()
            .text("model", "w")
            .text("response_format", format)
            .text("language", "de")
            .text("timestamp_granularities[]", "word")
            .file("file", "x.wav", "audio/wav", &wav)
    };

    let (status, v) = send_json(post_form(&mock, path, form("verbose_json"))).await;
    assert_eq!(status, 200);
    assert_eq!(v["task"], "transcribe");
    assert_eq!(v["language"], "de");
    assert_eq!(v["duration"], 1.5);
    assert_eq!(v["text"], text);
    assert_eq!(v["segments"][0]["end"], 1.5);
    assert_eq!(v["segments"][0]["text"], text);
    assert_eq!(v["usage"], json!({"type": "duration", "seconds": 2}));
    let words = v["words"].as_array().unwrap();
    assert_eq!(words.len(), text.split_whitespace().count());
    assert_eq!(words.last().unwrap()["end"], 1.5);

    for (format, body) in [
        ("text", format!("{text}\n")),
        (
            "srt",
            format!("1\n00:00:00,000 --> 00:00:01,500\n{text}\n\n"),
        ),
        (
            "vtt",
            format!("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n{text}\n\n"),
        ),
    ] {
        let response = post_form(&mock, path, form(format)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );
        assert_eq!(response.text().await.unwrap(), body, "{format}");
    }
    let (status, v) = send_json(post_form(&mock, path, form("xml"))).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["param"], "response_format");
}

#[tokio::test]
async fn gpt4o_transcribe_bills_tokens_and_streams() {
    let mock = server().await;
    let data = audio(32_000);
    let text = expected("transcribed", "s.mp3", &data, "gpt-4o-mini-transcribe");
    let path = "/openai/v1/audio/transcriptions";
    let form = || {
        Multipart::new()
            .text("model", "gpt-4o-mini-transcribe")
            .text("prompt", "three prompt words")
            .file("file", "s.mp3", "audio/mpeg", &data)
    };
    let (status, v) = send_json(post_form(&mock, path, form())).await;
    assert_eq!(status, 200);
    assert_eq!(v["text"], text);
    let usage = json!({
        "type": "tokens",
        "input_tokens": 23,
        "input_token_details": {"audio_tokens": 20, "text_tokens": 3},
        "output_tokens": text.split_whitespace().count(),
        "total_tokens": 23 + text.split_whitespace().count(),
    });
    assert_eq!(v["usage"], usage);

    let response = post_form(&mock, path, form().text("stream", "true"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    let body = response.text().await.unwrap();
    let events: Vec<Value> = split_events(&body)
        .iter()
        .map(|e| common::data(e))
        .collect();
    assert!(events.len() > 3, "{body}");
    let (done, deltas) = events.split_last().unwrap();
    assert!(deltas.iter().all(|e| e["type"] == "transcript.text.delta"));
    let joined: String = deltas
        .iter()
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(joined, text);
    assert_eq!(done["type"], "transcript.text.done");
    assert_eq!(done["text"], text);
    assert_eq!(done["usage"], usage);

    // These models only speak json and text.
    let form = form().text("response_format", "verbose_json");
    let (status, v) = send_json(post_form(&mock, path, form)).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "unsupported_value");

    // whisper ignores `stream`, as OpenAI documents.
    let form = Multipart::new()
        .text("model", "whisper")
        .text("stream", "true")
        .file("file", "s.mp3", "audio/mpeg", &data);
    let response = post_form(&mock, path, form).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn malformed_uploads_are_bad_requests() {
    let mock = server().await;
    let data = audio(100);
    let legacy = format!("/openai/deployments/whisper/audio/transcriptions?{API}");

    // No `file` part.
    let form = Multipart::new().text("language", "en");
    let (status, v) = send_json(post_form(&mock, &legacy, form)).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["param"], "file");

    // JSON instead of multipart.
    let (status, v) = send_json(post(&mock, &legacy, &json!({"file": "x"}))).await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("multipart/form-data"),
        "{v}"
    );

    // Truncated: no closing boundary.
    let (content_type, mut body) = Multipart::new()
        .file("file", "a.mp3", "audio/mpeg", &data)
        .finish();
    body.truncate(body.len() - 10);
    let request = client()
        .post(format!("{}{legacy}", mock.base_url()))
        .header("api-key", KEY)
        .header("content-type", content_type)
        .body(body);
    let (status, v) = send_json(request).await;
    assert_eq!(status, 400);
    assert!(v["error"]["message"].as_str().unwrap().contains("boundary"));

    // v1 and the engine need `model`.
    for path in ["/openai/v1/audio/transcriptions", "/v1/audio/translations"] {
        let form = Multipart::new().file("file", "a.mp3", "audio/mpeg", &data);
        let (status, text) = send_text(post_form(&mock, path, form)).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(
            text,
            r#"{"error":{"code":"BadRequest","message":"model is required"}}"#
        );
    }

    // Legacy without api-version: Azure's 404.
    let path = "/openai/deployments/whisper/audio/transcriptions";
    let form = Multipart::new().file("file", "a.mp3", "audio/mpeg", &data);
    let (status, text) = send_text(post_form(&mock, path, form)).await;
    assert_eq!(status, 404);
    assert_eq!(
        text,
        r#"{"error":{"code":"404","message":"Resource not found"}}"#
    );
}

#[tokio::test]
async fn audio_honours_keys_deployments_and_fault_controls() {
    let mock = MockServer::start(MockConfig {
        key: Some(KEY.to_owned()),
        deployments: Some(vec!["whisper".to_owned(), "tts".to_owned()]),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let data = audio(100);
    let form = || Multipart::new().file("file", "a.mp3", "audio/mpeg", &data);
    let path = format!("/openai/deployments/whisper/audio/transcriptions?{API}");

    let (content_type, body) = form().finish();
    let response = client()
        .post(format!("{}{path}", mock.base_url()))
        .header("api-key", "wrong")
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let other = format!("/openai/deployments/nope/audio/translations?{API}");
    let (status, v) = send_json(post_form(&mock, &other, form())).await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (404, &json!("DeploymentNotFound"))
    );

    let response = post_form(&mock, &path, form())
        .header("x-mock-status", "429")
        .header("x-mock-retry-after-ms", "1500")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after-ms"], "1500");
    let v: Value = response.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().starts_with(
        "Requests to the Transcriptions_Create Operation under Azure OpenAI API version 2024-10-21"
    ));

    let speech = format!("/openai/deployments/tts/audio/speech?{API}");
    let body = json!({"input": "hi", "voice": "alloy"});
    let response = post(&mock, &speech, &body)
        .header("x-mock-status", "503")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let started = std::time::Instant::now();
    let response = post(&mock, &speech, &body)
        .header("x-mock-header-delay-ms", "150")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
}

#[tokio::test]
async fn speech_on_every_face_in_every_format() {
    let mock = server().await;
    let paths = [
        format!("/openai/deployments/tts/audio/speech?{API}"),
        "/openai/v1/audio/speech".to_owned(),
        "/v1/audio/speech".to_owned(),
    ];
    let mut lengths = Vec::new();
    for path in &paths {
        let body = json!({"model": "tts", "input": "Hello there", "voice": "alloy"});
        let response = post(&mock, path, &body).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], "audio/mpeg");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(&bytes[..3], b"ID3");
        lengths.push(bytes.len());
    }
    assert!(
        lengths.iter().all(|l| *l == lengths[0] && *l > 4096),
        "{lengths:?}"
    );

    let path = "/v1/audio/speech";
    for (format, content_type) in [
        ("mp3", "audio/mpeg"),
        ("opus", "audio/opus"),
        ("aac", "audio/aac"),
        ("flac", "audio/flac"),
        ("wav", "audio/wav"),
        ("pcm", "audio/pcm"),
    ] {
        let body =
            json!({"model": "tts", "input": "abc", "voice": "nova", "response_format": format});
        let response = post(&mock, path, &body).send().await.unwrap();
        assert_eq!(response.status(), 200, "{format}");
        assert_eq!(response.headers()["content-type"], content_type);
    }
}

#[tokio::test]
async fn speech_wav_is_valid_streamed_and_scales_with_input() {
    let mock = server().await;
    let path = "/openai/v1/audio/speech";
    let wav = |input: &str| json!({"model": "tts", "input": input, "voice": "alloy", "response_format": "wav"});

    let response = post(&mock, path, &wav("short")).send().await.unwrap();
    assert!(
        response.headers().get("content-length").is_none(),
        "a streamed body has no length up front"
    );
    let mut stream = response.bytes_stream();
    let mut frames = 0;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
        frames += 1;
    }
    assert!(frames > 1, "one buffer, not a stream");
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(&bytes[8..12], b"WAVE");
    assert_eq!(&bytes[12..16], b"fmt ");
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(u32_at(4) as usize, bytes.len() - 8);
    assert_eq!(u16_at(20), 1, "PCM");
    assert_eq!(u16_at(22), 1, "mono");
    assert_eq!(u32_at(24), 24_000);
    assert_eq!(u32_at(28), 48_000);
    assert_eq!(u16_at(34), 16);
    assert_eq!(&bytes[36..40], b"data");
    assert_eq!(u32_at(40) as usize, bytes.len() - 44);
    // Not silence all through.
    assert!(bytes[44..].iter().any(|b| *b != 0));

    let again = post(&mock, path, &wav("short")).send().await.unwrap();
    assert_eq!(again.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let longer = post(&mock, path, &wav("a much longer input sentence"))
        .send()
        .await
        .unwrap();
    let longer = longer.bytes().await.unwrap();
    assert_eq!(longer.len() - bytes.len(), (28 - 5) * 320);
}

#[tokio::test]
async fn speech_needs_input_and_voice() {
    let mock = server().await;
    let path = "/openai/v1/audio/speech";
    for (body, param) in [
        (json!({"model": "tts", "voice": "alloy"}), "input"),
        (
            json!({"model": "tts", "input": "", "voice": "alloy"}),
            "input",
        ),
        (json!({"model": "tts", "input": "hi"}), "voice"),
        (
            json!({"model": "tts", "input": "hi", "voice": "alloy", "response_format": "ogg"}),
            "response_format",
        ),
        (
            json!({"model": "tts", "input": "hi", "voice": "alloy", "speed": 9}),
            "speed",
        ),
    ] {
        let (status, v) = send_json(post(&mock, path, &body)).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"], param, "{body}");
    }
    let (status, text) =
        send_text(post(&mock, path, &json!({"input": "hi", "voice": "alloy"}))).await;
    assert_eq!(status, 400);
    assert!(text.contains("model is required"));
}
