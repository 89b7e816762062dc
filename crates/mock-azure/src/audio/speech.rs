//! Speech: `{model, input, voice, response_format?, speed?}` in, audio out, streamed in
//! 1 KiB frames. The audio is 24 kHz 16-bit mono, a short tone per input character between
//! 50 ms of silence on each side, so it is deterministic and grows with the input
//! (4800 + 320 bytes per character at speed 1). `wav` (RIFF header) and `pcm` decode as
//! that audio; `mp3`, `opus`, `aac` and `flac` carry their format's magic bytes followed
//! by the same samples, enough for a client to sniff the type but not to decode.

use axum::response::Response;
use bytes::Bytes;
use http::HeaderValue;
use serde::Deserialize;
use serde_json::Value;

use crate::config::Behavior;
use crate::errors;
use crate::handler;
use crate::record::Tracker;

const SAMPLE_RATE: u32 = 24_000;
/// 50 ms of silence before and after the tones.
const SILENCE: usize = 1_200;
/// Samples per input character at speed 1.
const PER_CHAR: f64 = 160.0;
const AMPLITUDE: i32 = 6_000;
/// OpenAI's limit on `input`.
const MAX_INPUT_CHARS: usize = 4_096;
const FRAME: usize = 1024;

#[derive(Deserialize)]
struct SpeechRequest {
    input: Option<String>,
    voice: Option<Value>,
    response_format: Option<String>,
    speed: Option<f64>,
}

pub(crate) fn speech(body: &Bytes, behavior: &Behavior, tracker: Tracker) -> Response {
    let request: SpeechRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return errors::unparsable_json(&e),
    };
    let Some(input) = request.input.filter(|i| !i.is_empty()) else {
        return errors::invalid_field("Missing required parameter: 'input'.", "input");
    };
    if input.chars().count() > MAX_INPUT_CHARS {
        let message = format!(
            "Invalid 'input': string too long. Expected at most {MAX_INPUT_CHARS} characters."
        );
        return errors::invalid_field(&message, "input");
    }
    let voiced = match &request.voice {
        Some(Value::String(v)) => !v.is_empty(),
        Some(Value::Object(custom)) => custom.get("id").is_some_and(Value::is_string),
        _ => false,
    };
    if !voiced {
        return errors::invalid_field("Missing required parameter: 'voice'.", "voice");
    }
    let speed = request.speed.unwrap_or(1.0);
    if !(0.25..=4.0).contains(&speed) {
        return errors::invalid_field(
            "Invalid 'speed': expected a number between 0.25 and 4.0.",
            "speed",
        );
    }
    let format = request.response_format.as_deref().unwrap_or("mp3");
    let Some(content_type) = content_type(format) else {
        let message = format!(
            "Invalid 'response_format': '{format}'. Expected one of mp3, opus, aac, flac, wav, pcm."
        );
        return errors::invalid_field(&message, "response_format");
    };
    let pcm = samples(&input, speed);
    let audio = encode(format, &pcm);
    let frames = (0..audio.len())
        .step_by(FRAME)
        .map(|at| audio.slice(at..audio.len().min(at + FRAME)))
        .collect();
    handler::send_stream(content_type, frames, behavior, tracker)
}

fn content_type(format: &str) -> Option<HeaderValue> {
    Some(HeaderValue::from_static(match format {
        "mp3" => "audio/mpeg",
        "opus" => "audio/opus",
        "aac" => "audio/aac",
        "flac" => "audio/flac",
        "wav" => "audio/wav",
        "pcm" => "audio/pcm",
        _ => return None,
    }))
}

/// 16-bit little-endian samples: silence, a triangle wave per character (its pitch from
/// the character), silence.
fn samples(input: &str, speed: f64) -> Vec<u8> {
    let per_char = (PER_CHAR / speed).round() as usize;
    let total = 2 * SILENCE + per_char * input.chars().count();
    let mut out = Vec::with_capacity(total * 2);
    out.resize(SILENCE * 2, 0);
    for c in input.chars() {
        let half = 4 + (u32::from(c) % 28) as i32;
        for i in 0..per_char as i32 {
            let phase = i % (2 * half);
            let rising = if phase < half {
                phase
            } else {
                2 * half - phase
            };
            let sample = (AMPLITUDE * (2 * rising - half) / half) as i16;
            out.extend_from_slice(&sample.to_le_bytes());
        }
    }
    out.resize(total * 2, 0);
    out
}

/// `pcm` as the container `format` asks for.
fn encode(format: &str, pcm: &[u8]) -> Bytes {
    let head: Vec<u8> = match format {
        "pcm" => Vec::new(),
        "wav" => wav_header(pcm.len() as u32),
        // ID3v2.4 tag header with an empty tag, as many MP3 encoders start.
        "mp3" => b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec(),
        "opus" => b"OggS\x00\x02".to_vec(),
        // An ADTS frame sync word.
        "aac" => b"\xFF\xF1".to_vec(),
        _ => b"fLaC".to_vec(),
    };
    Bytes::from([head.as_slice(), pcm].concat())
}

/// The 44-byte RIFF/WAVE header of 24 kHz 16-bit mono PCM with `data` bytes.
fn wav_header(data: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // PCM
    h.extend_from_slice(&1u16.to_le_bytes()); // mono
    h.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    h.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes()); // byte rate
    h.extend_from_slice(&2u16.to_le_bytes()); // block align
    h.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_scale_with_input_and_speed() {
        assert_eq!(samples("hello", 1.0).len(), 4800 + 5 * 320);
        assert_eq!(samples("hello", 2.0).len(), 4800 + 5 * 160);
        assert_eq!(samples("", 1.0).len(), 4800);
        assert_eq!(samples("abc", 1.0), samples("abc", 1.0));
        assert_ne!(samples("abc", 1.0), samples("abd", 1.0));
    }

    #[test]
    fn wav_header_is_valid() {
        let wav = encode("wav", &samples("hi", 1.0));
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        let riff = u32::from_le_bytes(wav[4..8].try_into().unwrap()) as usize;
        assert_eq!(riff, wav.len() - 8);
        let data = u32::from_le_bytes(wav[40..44].try_into().unwrap()) as usize;
        assert_eq!(data, wav.len() - 44);
        assert_eq!(&wav[36..40], b"data");
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(&encode("mp3", b"x")[..3], b"ID3");
        assert_eq!(&encode("flac", b"x")[..4], b"fLaC");
        assert_eq!(&encode("opus", b"x")[..4], b"OggS");
        assert_eq!(encode("pcm", b"xy").as_ref(), b"xy");
        assert!(content_type("ogg").is_none());
    }
}
