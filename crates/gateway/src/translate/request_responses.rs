//! Responses request → Chat Completions request, for engines that speak only chat.
//!
//! Stateless by necessity: a chat upstream stores nothing, so what needs stored state
//! (`previous_response_id`, `conversation`, stored `prompt`s, `background`) is refused with a
//! 400 rather than silently answered without the context the client meant to send.

use serde_json::{Value, json};

use super::Translated;
use super::response_object::RequestEcho;
use super::tools::{responses_tool_choice, responses_tools};
use super::wire::{Object, bad, given, invalid, request_object, str_at};
use crate::error::GatewayError;

/// Responses parameters a chat request has no counterpart for: removed, listed in `dropped`.
const DROPPED: &[&str] = &[
    "store",
    "include",
    "truncation",
    "max_tool_calls",
    "prompt_cache_retention",
    "context_management",
    "top_logprobs",
];

/// Translates a Responses request body into a chat completions request body, and returns what
/// the response object must echo of it ([`super::chat_to_responses_response`],
/// [`super::ChatToResponsesStream`]).
pub fn responses_to_chat_request(body: &[u8]) -> Result<(Translated, RequestEcho), GatewayError> {
    let request = request_object(body)?;
    refuse_stateful(&request)?;
    let echo = RequestEcho::from_request(&request);
    let mut messages = Vec::new();
    match request.get("instructions") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => messages.push(json!({"role": "system", "content": text})),
        Some(_) => {
            return Err(invalid(
                Some("instructions"),
                "invalid_type",
                "Invalid 'instructions': expected a string.".into(),
            ));
        }
    }
    let mut out = Object::with_capacity(request.len() + 2);
    if let Some(model) = request.get("model") {
        out.insert("model".into(), model.clone());
    }
    let mut dropped = Vec::new();
    for (key, value) in request {
        match key.as_str() {
            "model" | "previous_response_id" | "conversation" | "prompt" | "background" => {}
            "instructions" | "input" => {
                // A placeholder, so `messages` sits where the client put its conversation.
                if !out.contains_key("messages") {
                    out.insert("messages".into(), Value::Null);
                }
                if key == "input" {
                    input_to_messages(value, &mut messages)?;
                }
            }
            "tools" if !value.is_null() => {
                out.insert("tools".into(), responses_tools(value)?);
            }
            "tool_choice" if !value.is_null() => {
                out.insert("tool_choice".into(), responses_tool_choice(value)?);
            }
            "max_output_tokens" => {
                out.insert("max_completion_tokens".into(), value);
            }
            "reasoning" => reasoning(value, &mut out, &mut dropped)?,
            "text" => text(value, &mut out)?,
            "stream" => {
                let on = value == json!(true);
                out.insert("stream".into(), value);
                // The client's closing `response.completed` carries usage: ask for it.
                if on {
                    out.insert("stream_options".into(), json!({"include_usage": true}));
                }
            }
            "stream_options" | "tools" | "tool_choice" => {}
            other => match DROPPED.iter().find(|d| **d == other) {
                Some(name) if !value.is_null() => dropped.push(name),
                Some(_) => {}
                None => {
                    out.insert(key, value);
                }
            },
        }
    }
    if messages.is_empty() {
        return Err(invalid(
            Some("input"),
            "missing_required_parameter",
            "Missing required parameter: 'input'.".into(),
        ));
    }
    out.insert("messages".into(), Value::Array(messages));
    let translated = Translated {
        body: serde_json::to_vec(&out).unwrap_or_default(),
        dropped,
        include_usage: false,
    };
    Ok((translated, echo))
}

fn refuse_stateful(request: &Object) -> Result<(), GatewayError> {
    const WHOLE: &str = "Send the whole conversation in `input` instead.";
    let stateful = [
        (
            "previous_response_id",
            "continuing a stored response",
            WHOLE,
        ),
        ("conversation", "conversations", WHOLE),
        (
            "prompt",
            "stored prompts",
            "Send the prompt's text in `instructions` and `input` instead.",
        ),
    ];
    for (param, what, instead) in stateful {
        if given(request, param).is_some() {
            return Err(unsupported(param, what, instead));
        }
    }
    if request.get("background") == Some(&json!(true)) {
        let instead = "Send the request without it (and `stream: true` for long answers).";
        return Err(unsupported("background", "background responses", instead));
    }
    Ok(())
}

fn unsupported(param: &'static str, what: &str, instead: &str) -> GatewayError {
    invalid(
        Some(param),
        "unsupported_parameter",
        format!(
            "This model is served through the Chat Completions API, which keeps no state: \
             {what} (`{param}`) cannot work. {instead}"
        ),
    )
}

fn input_to_messages(input: Value, messages: &mut Vec<Value>) -> Result<(), GatewayError> {
    match input {
        Value::Null => Ok(()),
        Value::String(text) => {
            messages.push(json!({"role": "user", "content": text}));
            Ok(())
        }
        Value::Array(items) => {
            // Whether the last message is an assistant turn that a function call joins.
            let mut open_turn = false;
            for (i, item) in items.into_iter().enumerate() {
                item_to_messages(item, &format!("input[{i}]"), messages, &mut open_turn)?;
            }
            Ok(())
        }
        _ => Err(bad(
            "input",
            "input",
            "expected a string or an array of items",
        )),
    }
}

fn item_to_messages(
    item: Value,
    at: &str,
    messages: &mut Vec<Value>,
    open_turn: &mut bool,
) -> Result<(), GatewayError> {
    let Value::Object(mut item) = item else {
        return Err(bad("input", at, "expected an object"));
    };
    let kind = match item.get("type") {
        None | Some(Value::Null) => "message".to_owned(),
        Some(Value::String(kind)) => kind.clone(),
        Some(_) => return Err(bad("input", at, "`type` must be a string")),
    };
    match kind.as_str() {
        "message" => {
            let message = message(item, at)?;
            *open_turn = str_at(&message, "role") == Some("assistant");
            messages.push(message);
        }
        "function_call" => {
            let (Some(Value::String(call_id)), Some(Value::String(name))) =
                (item.remove("call_id"), item.remove("name"))
            else {
                return Err(bad(
                    "input",
                    at,
                    "a function_call needs `call_id` and `name`",
                ));
            };
            let arguments = match item.remove("arguments") {
                Some(Value::String(arguments)) => arguments,
                None | Some(Value::Null) => String::new(),
                Some(other) => other.to_string(),
            };
            let call = json!({
                "id": call_id, "type": "function",
                "function": {"name": name, "arguments": arguments},
            });
            // Calls made in one turn are one assistant message with several tool calls.
            match messages.last_mut() {
                Some(Value::Object(last)) if *open_turn => match last.get_mut("tool_calls") {
                    Some(Value::Array(calls)) => calls.push(call),
                    _ => {
                        last.insert("tool_calls".into(), json!([call]));
                    }
                },
                _ => {
                    messages
                        .push(json!({"role": "assistant", "content": null, "tool_calls": [call]}));
                    *open_turn = true;
                }
            }
        }
        "function_call_output" => {
            let Some(Value::String(call_id)) = item.remove("call_id") else {
                return Err(bad("input", at, "a function_call_output needs `call_id`"));
            };
            let output = tool_output(item.remove("output"), at)?;
            messages.push(json!({"role": "tool", "tool_call_id": call_id, "content": output}));
            *open_turn = false;
        }
        // Reasoning is the upstream model's own; a chat engine cannot take it back.
        "reasoning" => {}
        "item_reference" => {
            return Err(invalid(
                Some("input"),
                "unsupported_value",
                format!(
                    "Invalid '{at}': `item_reference` points at a stored item, and this model is \
                     served through the Chat Completions API, which stores none. Send the item \
                     itself."
                ),
            ));
        }
        other => {
            return Err(invalid(
                Some("input"),
                "unsupported_value",
                format!(
                    "Invalid '{at}': `{other}` items belong to the Responses API's built-in \
                     tools, which this model (served through Chat Completions) does not have."
                ),
            ));
        }
    }
    Ok(())
}

fn message(mut item: Object, at: &str) -> Result<Value, GatewayError> {
    let role = match item.remove("role") {
        Some(Value::String(role)) => role,
        _ => return Err(bad("input", at, "a message needs a string `role`")),
    };
    let content = item.remove("content");
    match role.as_str() {
        "assistant" => Ok(assistant(content, at)?),
        "user" | "system" | "developer" => {
            let content = match content {
                Some(Value::String(text)) => Value::String(text),
                Some(Value::Array(parts)) => Value::Array(
                    parts
                        .into_iter()
                        .enumerate()
                        .map(|(j, part)| part_to_chat(part, &format!("{at}.content[{j}]")))
                        .collect::<Result<_, _>>()?,
                ),
                _ => {
                    return Err(bad(
                        "input",
                        at,
                        "expected `content` as a string or an array",
                    ));
                }
            };
            Ok(json!({"role": role, "content": content}))
        }
        _ => Err(bad("input", at, &format!("unknown role `{role}`"))),
    }
}

/// An assistant message: its text parts joined into `content`, its refusals into `refusal`.
fn assistant(content: Option<Value>, at: &str) -> Result<Value, GatewayError> {
    let (text, refusal) = match content {
        Some(Value::String(text)) => (Some(text), None),
        Some(Value::Array(parts)) => {
            let mut text: Option<String> = None;
            let mut refusal: Option<String> = None;
            for part in &parts {
                match (
                    str_at(part, "type"),
                    str_at(part, "text"),
                    str_at(part, "refusal"),
                ) {
                    (Some("output_text" | "input_text" | "text"), Some(t), _) => {
                        text.get_or_insert_default().push_str(t);
                    }
                    (Some("refusal"), _, Some(r)) => refusal.get_or_insert_default().push_str(r),
                    _ => {
                        return Err(bad(
                            "input",
                            at,
                            "assistant content takes text and refusals",
                        ));
                    }
                }
            }
            (text, refusal)
        }
        None | Some(Value::Null) => (None, None),
        Some(_) => {
            return Err(bad(
                "input",
                at,
                "expected `content` as a string or an array",
            ));
        }
    };
    let content = match (text, &refusal) {
        (Some(text), _) => json!(text),
        (None, Some(_)) => Value::Null,
        (None, None) => json!(""),
    };
    let mut message = json!({"role": "assistant", "content": content});
    if let (Some(refusal), Value::Object(m)) = (refusal, &mut message) {
        m.insert("refusal".into(), json!(refusal));
    }
    Ok(message)
}

fn part_to_chat(part: Value, at: &str) -> Result<Value, GatewayError> {
    let Value::Object(mut part) = part else {
        return Err(bad("input", at, "expected an object"));
    };
    let kind = part.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "input_text" | "output_text" | "text" => {
            let text = part.remove("text").unwrap_or_else(|| json!(""));
            Ok(json!({"type": "text", "text": text}))
        }
        "input_image" => {
            let Some(Value::String(url)) = part.remove("image_url") else {
                return Err(invalid(
                    Some("input"),
                    "unsupported_value",
                    format!(
                        "Invalid '{at}': images must be sent as `image_url` (a URL or a data \
                         URL); this model is served through Chat Completions, which cannot read \
                         uploaded files by `file_id`."
                    ),
                ));
            };
            let mut image = json!({"url": url});
            if let (Some(detail @ Value::String(_)), Value::Object(m)) =
                (part.remove("detail"), &mut image)
            {
                m.insert("detail".into(), detail);
            }
            Ok(json!({"type": "image_url", "image_url": image}))
        }
        "input_file" => {
            if given(&part, "file_url").is_some() {
                return Err(invalid(
                    Some("input"),
                    "unsupported_value",
                    format!(
                        "Invalid '{at}': files by `file_url` are not supported through Chat \
                         Completions; send `file_id` or `file_data`."
                    ),
                ));
            }
            let mut file = Object::new();
            for key in ["file_id", "file_data", "filename"] {
                if let Some(v) = given(&part, key) {
                    file.insert(key.into(), v.clone());
                }
            }
            Ok(json!({"type": "file", "file": file}))
        }
        _ => Ok(Value::Object(part)),
    }
}

/// A function call's output as a tool message's content: text parts joined (chat tool
/// messages carry text only).
fn tool_output(output: Option<Value>, at: &str) -> Result<Value, GatewayError> {
    match output {
        Some(Value::String(text)) => Ok(Value::String(text)),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for part in &parts {
                match (str_at(part, "type"), str_at(part, "text")) {
                    (Some("input_text" | "output_text" | "text"), Some(t)) => text.push_str(t),
                    _ => {
                        return Err(invalid(
                            Some("input"),
                            "unsupported_value",
                            format!(
                                "Invalid '{at}.output': only text output translates to Chat \
                                 Completions tool messages."
                            ),
                        ));
                    }
                }
            }
            Ok(Value::String(text))
        }
        None | Some(Value::Null) => Ok(json!("")),
        Some(other) => Ok(Value::String(other.to_string())),
    }
}

/// `reasoning.effort` → `reasoning_effort`; summaries have no chat counterpart.
fn reasoning(
    value: Value,
    out: &mut Object,
    dropped: &mut Vec<&'static str>,
) -> Result<(), GatewayError> {
    match value {
        Value::Null => Ok(()),
        Value::Object(reasoning) => {
            if let Some(effort) = given(&reasoning, "effort") {
                out.insert("reasoning_effort".into(), effort.clone());
            }
            if given(&reasoning, "summary").is_some()
                || given(&reasoning, "generate_summary").is_some()
            {
                dropped.push("reasoning.summary");
            }
            Ok(())
        }
        _ => Err(bad("reasoning", "reasoning", "expected an object")),
    }
}

/// `text.format` → `response_format`, `text.verbosity` → `verbosity`.
fn text(value: Value, out: &mut Object) -> Result<(), GatewayError> {
    let text = match value {
        Value::Null => return Ok(()),
        Value::Object(text) => text,
        _ => return Err(bad("text", "text", "expected an object")),
    };
    if let Some(format) = given(&text, "format") {
        let Some(kind) = str_at(format, "type") else {
            return Err(bad("text", "text.format", "needs `type`"));
        };
        match kind {
            "text" => {}
            "json_object" => {
                out.insert("response_format".into(), json!({"type": "json_object"}));
            }
            "json_schema" => {
                let mut schema = Object::with_capacity(4);
                for key in ["name", "description", "schema", "strict"] {
                    if let Some(v) = format.get(key).filter(|v| !v.is_null()) {
                        schema.insert(key.into(), v.clone());
                    }
                }
                let format = json!({"type": "json_schema", "json_schema": schema});
                out.insert("response_format".into(), format);
            }
            _ => {
                out.insert("response_format".into(), format.clone());
            }
        }
    }
    if let Some(verbosity) = given(&text, "verbosity") {
        out.insert("verbosity".into(), verbosity.clone());
    }
    Ok(())
}
