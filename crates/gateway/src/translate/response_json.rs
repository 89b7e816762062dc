//! Whole (non-streamed) 2xx answers, both directions: a Responses object → a chat completion,
//! and a chat completion → a Responses object.

use serde_json::{Map, Value, json};

use super::response_object::{
    Head, RequestEcho, Status, annotations, call_item, message_item, refusal_part, response_object,
    text_part,
};
use super::usage::{chat_finish_reason, chat_usage, incomplete_reason, responses_usage};
use super::wire::{Object, str_at, upstream_failed, upstream_object};
use crate::error::GatewayError;

/// Translates an upstream Responses object into the chat completion the client asked for.
/// Malformed JSON, or a response that says it failed, is an `Err` (a 502 for the client).
pub fn responses_to_chat_response(body: &[u8]) -> Result<Vec<u8>, GatewayError> {
    let response = upstream_object(body, "Responses")?;
    let status = response.get("status").and_then(Value::as_str);
    let error = response.get("error").filter(|e| e.is_object());
    if status == Some("failed") || (error.is_some() && !response.contains_key("output")) {
        return Err(upstream_failed(error));
    }
    let mut text: Option<String> = None;
    let mut refusal: Option<String> = None;
    let mut calls = Vec::new();
    let items = response.get("output").and_then(Value::as_array);
    for item in items.into_iter().flatten() {
        match str_at(item, "type") {
            Some("message") => {
                let parts = item.get("content").and_then(Value::as_array);
                for part in parts.into_iter().flatten() {
                    match (
                        str_at(part, "type"),
                        str_at(part, "text"),
                        str_at(part, "refusal"),
                    ) {
                        (Some("output_text"), Some(t), _) => {
                            text.get_or_insert_default().push_str(t)
                        }
                        (Some("refusal"), _, Some(r)) => {
                            refusal.get_or_insert_default().push_str(r)
                        }
                        _ => {}
                    }
                }
            }
            Some("function_call") => calls.push(json!({
                "id": str_at(item, "call_id").unwrap_or_default(),
                "type": "function",
                "function": {
                    "name": str_at(item, "name").unwrap_or_default(),
                    "arguments": str_at(item, "arguments").unwrap_or_default(),
                },
            })),
            _ => {}
        }
    }
    let reason = response
        .get("incomplete_details")
        .and_then(|d| str_at(d, "reason"));
    let finish = chat_finish_reason(status, reason, !calls.is_empty());
    let mut message = Map::with_capacity(4);
    message.insert("role".into(), json!("assistant"));
    message.insert("content".into(), json!(text));
    message.insert("refusal".into(), json!(refusal));
    if !calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(calls));
    }
    let mut out = Map::with_capacity(8);
    out.insert(
        "id".into(),
        json!(
            response
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
        ),
    );
    out.insert("object".into(), json!("chat.completion"));
    out.insert("created".into(), json!(created(&response).unwrap_or(0)));
    out.insert(
        "model".into(),
        json!(
            response
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or_default()
        ),
    );
    out.insert(
        "choices".into(),
        json!([{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}]),
    );
    if let Some(usage) = response.get("usage").and_then(chat_usage) {
        out.insert("usage".into(), usage);
    }
    if let Some(tier) = response.get("service_tier").filter(|t| t.is_string()) {
        out.insert("service_tier".into(), tier.clone());
    }
    out.insert("system_fingerprint".into(), Value::Null);
    Ok(serde_json::to_vec(&out).unwrap_or_default())
}

fn created(response: &Object) -> Option<u64> {
    let v = response.get("created_at")?;
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f as u64)
    })
}

/// Translates an upstream chat completion into the Responses object the client asked for;
/// `echo` is what the client's request said ([`super::responses_to_chat_request`]).
pub fn chat_to_responses_response(
    body: &[u8],
    echo: &RequestEcho,
) -> Result<Vec<u8>, GatewayError> {
    let chat = upstream_object(body, "Chat Completions")?;
    let error = chat.get("error").filter(|e| e.is_object());
    if error.is_some() && !chat.contains_key("choices") {
        return Err(upstream_failed(error));
    }
    let head = Head::from_chat(Some(&chat), body);
    let choices = chat.get("choices").and_then(Value::as_array);
    let choice = choices.and_then(|c| {
        c.iter()
            .find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
    });
    let finish = choice.and_then(|c| str_at(c, "finish_reason"));
    let status = Status::from_incomplete(incomplete_reason(finish));
    let item_status = match status {
        Status::Incomplete(_) => "incomplete",
        _ => "completed",
    };
    let output = match choice.and_then(|c| c.get("message")) {
        Some(message) => output_items(&head, message, item_status),
        None => Vec::new(),
    };
    let usage = chat.get("usage").and_then(responses_usage);
    let response = response_object(&head, &status, output, usage, echo);
    Ok(serde_json::to_vec(&response).unwrap_or_default())
}

/// A chat message as output items: one message (text, then refusal), one `function_call` per
/// tool call.
fn output_items(head: &Head, message: &Value, status: &str) -> Vec<Value> {
    let text = match message.get("content") {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Array(parts)) => Some(parts.iter().filter_map(|p| str_at(p, "text")).collect()),
        _ => None,
    };
    let refusal = str_at(message, "refusal");
    let calls: &[Value] = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let mut content = Vec::with_capacity(2);
    if let Some(text) = text.filter(|t| !t.is_empty() || (calls.is_empty() && refusal.is_none())) {
        content.push(text_part(&text, annotations(message)));
    }
    if let Some(refusal) = refusal {
        content.push(refusal_part(refusal));
    }
    let mut items = Vec::with_capacity(calls.len() + 1);
    if !content.is_empty() {
        items.push(message_item(&head.ids.message(), status, content));
    }
    for (index, call) in (0u64..).zip(calls) {
        let function = call.get("function");
        let field = |key| function.and_then(|f| str_at(f, key)).unwrap_or_default();
        let call_id = match str_at(call, "id").filter(|id| !id.is_empty()) {
            Some(id) => id.to_owned(),
            None => head.ids.call_id(index),
        };
        items.push(call_item(
            &head.ids.call(index),
            &call_id,
            field("name"),
            field("arguments"),
            status,
        ));
    }
    items
}
