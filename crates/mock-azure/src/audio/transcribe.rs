//! Transcriptions and translations. The mock cannot hear, so the text says what arrived:
//! `transcribed <filename>: <n> bytes, sha256 <first 16 hex>, by <deployment>` (SHA-256 from
//! `sha2`, already in the tree), which lets a test check that an upload reached the
//! deployment intact.
//!
//! Deployments whose name contains `transcribe` (gpt-4o-transcribe, gpt-4o-mini-transcribe)
//! behave like those models: token usage, only `json` and `text`, and SSE with
//! `stream=true`. Any other deployment behaves like whisper: duration usage, every format,
//! and `stream` ignored, as OpenAI documents for whisper-1.

use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::Behavior;
use crate::errors;
use crate::handler::{self, EVENT_STREAM};
use crate::multipart::Form;
use crate::record::Tracker;
use crate::route::Op;

const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

/// Bytes per second assumed for audio the mock cannot measure (128 kbit/s, a common MP3 rate).
const ASSUMED_BYTE_RATE: f64 = 16_000.0;

/// Audio tokens per second of audio for the token-billed models.
const AUDIO_TOKENS_PER_SECOND: f64 = 10.0;

pub(crate) fn transcribe(
    op: Op,
    form: &Form,
    deployment: &str,
    behavior: &Behavior,
    tracker: Tracker,
) -> Response {
    let Some(file) = form.part("file") else {
        return errors::invalid_field("Missing required parameter: 'file'.", "file");
    };
    if file.data.is_empty() {
        return errors::invalid_field("The audio file is empty.", "file");
    }
    let translate = op == Op::Translations;
    let tokens = !translate && deployment.to_ascii_lowercase().contains("transcribe");
    let format = form.text("response_format").unwrap_or("json");
    match format {
        "json" | "text" => {}
        "verbose_json" | "srt" | "vtt" if !tokens => {}
        "verbose_json" | "srt" | "vtt" => {
            let message = format!(
                "response_format '{format}' is not compatible with model '{deployment}'. Use 'json' \
                 or 'text' instead."
            );
            return errors::invalid_request(
                StatusCode::BAD_REQUEST,
                &message,
                Some("response_format"),
                Some("unsupported_value"),
            );
        }
        other => {
            let message = format!(
                "Invalid 'response_format': '{other}'. Expected one of json, text, srt, \
                 verbose_json, vtt."
            );
            return errors::invalid_field(&message, "response_format");
        }
    }
    let digest = Sha256::digest(&file.data);
    let fingerprint: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let text = format!(
        "{} {}: {} bytes, sha256 {fingerprint}, by {deployment}",
        if translate {
            "translated"
        } else {
            "transcribed"
        },
        file.filename.as_deref().unwrap_or("file"),
        file.data.len(),
    );
    let duration = duration(&file.data);
    let usage = if tokens {
        token_usage(behavior, duration, form.text("prompt"), &text)
    } else {
        json!({"type": "duration", "seconds": duration.ceil() as u64})
    };
    let streams = tokens
        && form
            .text("stream")
            .is_some_and(|s| s.eq_ignore_ascii_case("true"));
    if streams {
        return handler::send_stream(EVENT_STREAM, events(&text, usage), behavior, tracker);
    }
    let whole = |content_type, body: String| {
        handler::send_whole(
            StatusCode::OK,
            content_type,
            Bytes::from(body),
            behavior,
            tracker,
        )
    };
    match format {
        "text" => whole(TEXT, format!("{text}\n")),
        "srt" => whole(
            TEXT,
            format!(
                "1\n00:00:00,000 --> {}\n{text}\n\n",
                timestamp(duration, ',')
            ),
        ),
        "vtt" => whole(
            TEXT,
            format!(
                "WEBVTT\n\n00:00:00.000 --> {}\n{text}\n\n",
                timestamp(duration, '.')
            ),
        ),
        "verbose_json" => {
            let language = if translate {
                "english"
            } else {
                form.text("language").unwrap_or("english")
            };
            let words = form
                .parts("timestamp_granularities[]")
                .any(|p| p.data.as_ref() == b"word");
            let body = verbose(translate, language, duration, &text, words, usage);
            whole(handler::JSON, body.to_string())
        }
        _ => whole(
            handler::JSON,
            json!({"text": text, "usage": usage}).to_string(),
        ),
    }
}

/// Seconds of audio: exact for a PCM WAV file, else estimated from the size.
fn duration(data: &[u8]) -> f64 {
    let seconds = wav_seconds(data).unwrap_or(data.len() as f64 / ASSUMED_BYTE_RATE);
    (seconds * 100.0).round() / 100.0
}

/// `data` chunk size over the `fmt ` chunk's byte rate, if this is a RIFF/WAVE file.
fn wav_seconds(data: &[u8]) -> Option<f64> {
    if data.get(..4)? != b"RIFF" || data.get(8..12)? != b"WAVE" {
        return None;
    }
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
    };
    let (mut at, mut byte_rate) = (12, None);
    while let Some(id) = data.get(at..at + 4) {
        let size = u32_at(at + 4)? as usize;
        match id {
            b"fmt " => byte_rate = u32_at(at + 16).filter(|r| *r > 0),
            b"data" => return Some(size as f64 / f64::from(byte_rate?)),
            _ => {}
        }
        at += 8 + size + size % 2;
    }
    None
}

/// gpt-4o-transcribe's usage: audio (and prompt text) in, transcript out; `x-mock-usage`
/// replaces the counts (input as all audio).
fn token_usage(behavior: &Behavior, seconds: f64, prompt: Option<&str>, text: &str) -> Value {
    let (audio, prompt_tokens, output) = match behavior.usage {
        Some(u) => (u.prompt, 0, u.completion),
        None => (
            ((seconds * AUDIO_TOKENS_PER_SECOND).ceil() as u64).max(1),
            prompt.map_or(0, |p| p.split_whitespace().count() as u64),
            text.split_whitespace().count() as u64,
        ),
    };
    json!({
        "type": "tokens",
        "input_tokens": audio + prompt_tokens,
        "input_token_details": {"audio_tokens": audio, "text_tokens": prompt_tokens},
        "output_tokens": output,
        "total_tokens": audio + prompt_tokens + output,
    })
}

/// `HH:MM:SS<sep>mmm`, as SRT (`,`) and WebVTT (`.`) write times.
fn timestamp(seconds: f64, separator: char) -> String {
    let ms = (seconds * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{separator}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

fn verbose(
    translate: bool,
    language: &str,
    duration: f64,
    text: &str,
    words: bool,
    usage: Value,
) -> Value {
    let count = text.split_whitespace().count();
    let mut v = json!({
        "task": if translate { "translate" } else { "transcribe" },
        "language": language,
        "duration": duration,
        "text": text,
        "segments": [{
            "id": 0,
            "seek": 0,
            "start": 0.0,
            "end": duration,
            "text": text,
            "tokens": (0..count as u64).map(|i| 50_364 + i).collect::<Vec<_>>(),
            "temperature": 0.0,
            "avg_logprob": -0.25,
            "compression_ratio": 1.2,
            "no_speech_prob": 0.01,
        }],
        "usage": usage,
    });
    if words {
        let step = duration / count.max(1) as f64;
        let round = |s: f64| (s * 100.0).round() / 100.0;
        v["words"] = text
            .split_whitespace()
            .enumerate()
            .map(|(i, word)| {
                json!({"word": word, "start": round(step * i as f64), "end": round(step * (i + 1) as f64)})
            })
            .collect();
    }
    v
}

/// gpt-4o-transcribe's stream: one `transcript.text.delta` per word, then
/// `transcript.text.done` with the whole text and the usage. No `[DONE]`.
fn events(text: &str, usage: Value) -> Vec<Bytes> {
    let frame = |event: Value| Bytes::from(format!("data: {event}\n\n"));
    let mut events: Vec<Bytes> = text
        .split_inclusive(' ')
        .map(|delta| frame(json!({"type": "transcript.text.delta", "delta": delta})))
        .collect();
    events.push(frame(
        json!({"type": "transcript.text.done", "text": text, "usage": usage}),
    ));
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(data_bytes: u32, byte_rate: u32) -> Vec<u8> {
        let mut v = b"RIFF\0\0\0\0WAVE".to_vec();
        v.extend(b"LIST\x03\0\0\0abc\0");
        v.extend(b"fmt \x10\0\0\0\x01\0\x01\0");
        v.extend((byte_rate / 2).to_le_bytes());
        v.extend(byte_rate.to_le_bytes());
        v.extend(b"\x02\0\x10\0data");
        v.extend(data_bytes.to_le_bytes());
        v
    }

    #[test]
    fn durations() {
        assert_eq!(duration(&wav(72_000, 48_000)), 1.5);
        assert_eq!(duration(&[0; 8000]), 0.5);
        assert_eq!(wav_seconds(b"RIFF\0\0\0\0WAVEdata"), None);
        assert_eq!(wav_seconds(&wav(10, 0)), None);
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(3725.5, ','), "01:02:05,500");
        assert_eq!(timestamp(0.25, '.'), "00:00:00.250");
    }

    #[test]
    fn token_usage_adds_up() {
        let u = token_usage(&Behavior::default(), 2.5, Some("two words"), "a b c");
        assert_eq!(u["input_token_details"]["audio_tokens"], 25);
        assert_eq!(u["input_token_details"]["text_tokens"], 2);
        assert_eq!(u["input_tokens"], 27);
        assert_eq!(u["output_tokens"], 3);
        assert_eq!(u["total_tokens"], 30);
    }

    #[test]
    fn stream_deltas_rebuild_the_text() {
        let events = events("a bc d", json!(null));
        assert_eq!(events.len(), 4);
        let deltas: String = events[..3]
            .iter()
            .map(|e| {
                let s = std::str::from_utf8(e).unwrap();
                let v: Value =
                    serde_json::from_str(s.strip_prefix("data: ").unwrap().trim()).unwrap();
                v["delta"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(deltas, "a bc d");
    }
}
