//! Tests for the translators: one file per direction and piece, realistic upstream streams in
//! `fixtures`, property tests in `props`.

mod fixtures;
mod json_answers;
mod props;
mod requests_from_chat;
mod requests_from_responses;
mod stream_to_chat;
mod stream_to_responses;

use serde_json::Value;

use super::EventTranslator;
use crate::error::GatewayError;
use crate::stream::events::EventSplitter;

/// Feeds `frames` through the splitter and `translator`, as the proxy does; then `finish`.
fn run(translator: &mut dyn EventTranslator, frames: &[&[u8]], complete: bool) -> Vec<u8> {
    let mut splitter = EventSplitter::new();
    let mut out = Vec::new();
    for frame in frames {
        splitter.push(frame);
        while let Some(event) = splitter.next() {
            translator.event(&event, &mut out);
        }
    }
    if let Some(event) = splitter.finish() {
        translator.event(&event, &mut out);
    }
    translator.finish(complete, &mut out);
    out
}

/// The client's SSE as `(event name, data)`; data parsed as JSON, `[DONE]` as that string.
/// Asserts the framing is exactly `event: …\n` (optional) `data: …\n\n`.
fn parse_sse(out: &[u8]) -> Vec<(Option<String>, Value)> {
    let text = std::str::from_utf8(out).expect("output is UTF-8");
    assert!(text.is_empty() || text.ends_with("\n\n"), "{text}");
    text.split_terminator("\n\n")
        .map(|block| {
            let mut lines = block.split('\n');
            let mut line = lines.next().unwrap_or_default();
            let name = match line.strip_prefix("event: ") {
                Some(name) => {
                    line = lines.next().unwrap_or_default();
                    Some(name.to_owned())
                }
                None => None,
            };
            let data = line.strip_prefix("data: ").expect("a data line");
            assert_eq!(lines.next(), None, "one data line per event: {block}");
            let value = if data == "[DONE]" {
                Value::String(data.into())
            } else {
                serde_json::from_str(data).expect("data is JSON")
            };
            (name, value)
        })
        .collect()
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

/// `(param, code, message)` of a 400, panicking on anything else.
fn rejected(result: Result<impl std::fmt::Debug, GatewayError>) -> (Option<&'static str>, String) {
    match result {
        Err(GatewayError::InvalidRequest {
            param,
            message,
            code,
        }) => {
            assert_ne!(code, "", "{message}");
            (param, message)
        }
        other => panic!("expected a 400, got {other:?}"),
    }
}
