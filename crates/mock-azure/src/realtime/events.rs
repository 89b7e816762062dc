//! Server events of the Realtime API, GA names by default and the beta (`OpenAI-Beta:
//! realtime=v1`) names where they differ (`response.text.delta` for
//! `response.output_text.delta`, `text` for `output_text` content).

use serde_json::{Map, Value, json};

use crate::config::MockUsage;
use crate::ids;

/// Text pieces of a response, cycled.
const PIECES: [&str; 6] = ["Hello", " from", " the", " realtime", " mock", "."];

fn event_id() -> String {
    ids::token("event_", 20)
}

/// Every event carries a fresh `event_id`.
fn event(kind: &str, mut fields: Map<String, Value>) -> String {
    fields.insert("type".to_owned(), kind.into());
    fields.insert("event_id".to_owned(), event_id().into());
    Value::Object(fields).to_string()
}

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The session object a new session starts with.
pub(super) fn initial_session(deployment: &str, beta: bool) -> Map<String, Value> {
    let modalities = if beta {
        "modalities"
    } else {
        "output_modalities"
    };
    let mut session = fields(json!({
        "object": "realtime.session",
        "id": ids::token("sess_", 20),
        "model": deployment,
        "instructions": "",
        "voice": "alloy",
    }));
    session.insert(modalities.to_owned(), json!(["text", "audio"]));
    if !beta {
        session.insert("type".to_owned(), "realtime".into());
    }
    session
}

pub(super) fn session_created(session: &Map<String, Value>) -> String {
    event("session.created", fields(json!({"session": session})))
}

pub(super) fn session_updated(session: &Map<String, Value>) -> String {
    event("session.updated", fields(json!({"session": session})))
}

pub(super) fn item_created(item: Value) -> String {
    let mut item = fields(item);
    item.entry("id")
        .or_insert_with(|| ids::token("item_", 20).into());
    item.insert("object".to_owned(), "realtime.item".into());
    event(
        "conversation.item.created",
        fields(json!({"previous_item_id": null, "item": item})),
    )
}

/// A bare acknowledgement (`input_audio_buffer.committed`, `…cleared`).
pub(super) fn ack(kind: &str) -> String {
    event(kind, Map::new())
}

/// Azure's answer to an event it does not know or cannot parse.
pub(super) fn error(code: &str, message: &str, client_event_id: Option<&str>) -> String {
    event(
        "error",
        fields(json!({"error": {
            "type": "invalid_request_error",
            "code": code,
            "message": message,
            "param": null,
            "event_id": client_event_id,
        }})),
    )
}

/// A response's events: `response.created`, `pieces` text deltas, the text's `done`, and
/// `response.done` with `usage` from the behaviour.
pub(super) fn response(usage: MockUsage, pieces: usize, beta: bool) -> Vec<String> {
    let response_id = ids::token("resp_", 20);
    let item_id = ids::token("item_", 20);
    let (delta, done, content) = if beta {
        ("response.text.delta", "response.text.done", "text")
    } else {
        (
            "response.output_text.delta",
            "response.output_text.done",
            "output_text",
        )
    };
    let text: String = PIECES.iter().cycle().take(pieces).copied().collect();
    let mut out = Vec::with_capacity(pieces + 3);
    out.push(event(
        "response.created",
        fields(json!({"response": {
            "object": "realtime.response",
            "id": response_id,
            "status": "in_progress",
            "status_details": null,
            "output": [],
            "usage": null,
        }})),
    ));
    for piece in PIECES.iter().cycle().take(pieces) {
        out.push(event(
            delta,
            fields(json!({
                "response_id": response_id,
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
                "delta": piece,
            })),
        ));
    }
    out.push(event(
        done,
        fields(json!({
            "response_id": response_id,
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "text": text,
        })),
    ));
    out.push(event(
        "response.done",
        fields(json!({"response": {
            "object": "realtime.response",
            "id": response_id,
            "status": "completed",
            "status_details": null,
            "output": [{
                "id": item_id,
                "object": "realtime.item",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": content, "text": text}],
            }],
            "usage": {
                "total_tokens": usage.total(),
                "input_tokens": usage.prompt,
                "output_tokens": usage.completion,
                "input_token_details": {
                    "cached_tokens": usage.cached,
                    "text_tokens": usage.prompt,
                    "audio_tokens": 0,
                    "cached_tokens_details": {"text_tokens": usage.cached, "audio_tokens": 0},
                },
                "output_token_details": {"text_tokens": usage.completion, "audio_tokens": 0},
            },
        }})),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn a_response_ends_with_usage() {
        let usage = MockUsage {
            prompt: 20,
            completion: 8,
            cached: 5,
            reasoning: 0,
        };
        let events: Vec<Value> = response(usage, 2, false).iter().map(|e| parse(e)).collect();
        let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.done"
            ]
        );
        let done = &events[4]["response"];
        assert_eq!(done["usage"]["total_tokens"], 28);
        assert_eq!(done["usage"]["input_token_details"]["cached_tokens"], 5);
        assert_eq!(done["output"][0]["content"][0]["text"], "Hello from");
        assert_eq!(events[1]["response_id"], done["id"]);
        let beta: Vec<Value> = response(usage, 1, true).iter().map(|e| parse(e)).collect();
        assert_eq!(beta[1]["type"], "response.text.delta");
        assert!(events.iter().all(|e| e["event_id"].is_string()));
    }
}
