//! Chat Completions request → Responses request.
//!
//! Messages become input items one for one, in order. System and developer messages stay
//! role-tagged input messages rather than being folded into `instructions`, which would move
//! them ahead of earlier turns. Parameters with no Responses counterpart are removed and
//! reported; those whose removal would change what the client gets back (several choices, audio
//! output, web search) are refused with a 400 instead. Unknown parameters pass untouched.

use serde_json::{Map, Value, json};

use super::Translated;
use super::tools::{
    append_tools, chat_function_call, chat_functions, chat_tool_choice, chat_tools,
};
use super::wire::{Object, bad, given, invalid, request_object, str_at};
use crate::error::GatewayError;

/// Chat parameters the Responses API has no counterpart for: removed, and listed in `dropped`.
const DROPPED: &[&str] = &[
    "stop",
    "logprobs",
    "top_logprobs",
    "logit_bias",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "prediction",
];

/// Translates a chat completions request body into a Responses request body.
pub fn chat_to_responses_request(body: &[u8]) -> Result<Translated, GatewayError> {
    let request = request_object(body)?;
    let has_max_completion = given(&request, "max_completion_tokens").is_some();
    let has_tool_choice = given(&request, "tool_choice").is_some();
    let include_usage = request
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut out = Object::with_capacity(request.len() + 1);
    if let Some(model) = request.get("model") {
        out.insert("model".into(), model.clone());
    }
    let mut dropped = Vec::new();
    let mut store = false;
    for (key, value) in request {
        if value.is_null() && handled(&key) {
            continue;
        }
        match key.as_str() {
            "model" => {}
            "messages" => {
                let input = messages_to_input(value, &mut dropped)?;
                out.insert("input".into(), input);
            }
            "tools" => append_tools(&mut out, chat_tools(value)?),
            "functions" => append_tools(&mut out, chat_functions(value)?),
            "tool_choice" => {
                out.insert("tool_choice".into(), chat_tool_choice(value)?);
            }
            "function_call" if !has_tool_choice => {
                out.insert("tool_choice".into(), chat_function_call(value)?);
            }
            "response_format" => {
                if let Some(format) = text_format(value)? {
                    set_in(&mut out, "text", "format", format);
                }
            }
            "verbosity" => set_in(&mut out, "text", "verbosity", value),
            "reasoning_effort" => set_in(&mut out, "reasoning", "effort", value),
            "max_completion_tokens" => {
                out.insert("max_output_tokens".into(), value);
            }
            "max_tokens" if !has_max_completion => {
                out.insert("max_output_tokens".into(), value);
            }
            // Chat stores nothing unless asked; Responses stores unless told not to.
            "store" => {
                store = true;
                out.insert("store".into(), json!(value == json!(true)));
            }
            "n" if value.as_f64() == Some(1.0) => dropped.push("n"),
            "n" => return Err(refused("n", "several choices (`n` > 1)")),
            "modalities" if wants_audio(&value) => {
                return Err(refused("modalities", "audio output"));
            }
            "modalities" => dropped.push("modalities"),
            "audio" => return Err(refused("audio", "audio output")),
            "web_search_options" => return Err(refused("web_search_options", "web search")),
            // Responses streams always report usage; `function_call` lost to `tool_choice`;
            // `max_tokens` lost to `max_completion_tokens`; the conversation is `messages`, so
            // a stray `input` must not replace it.
            "stream_options" | "function_call" | "max_tokens" | "input" => {}
            other => match DROPPED.iter().find(|d| **d == other) {
                Some(name) => dropped.push(name),
                None => {
                    out.insert(key, value);
                }
            },
        }
    }
    if !out.contains_key("input") {
        return Err(invalid(
            Some("messages"),
            "missing_required_parameter",
            "Missing required parameter: 'messages'.".into(),
        ));
    }
    if !store {
        out.insert("store".into(), json!(false));
    }
    Ok(Translated {
        body: serde_json::to_vec(&out).unwrap_or_default(),
        dropped,
        include_usage,
    })
}

/// Parameters this translation rewrites or removes; a `null` one counts as not sent.
fn handled(key: &str) -> bool {
    matches!(
        key,
        "messages"
            | "tools"
            | "functions"
            | "tool_choice"
            | "function_call"
            | "response_format"
            | "verbosity"
            | "reasoning_effort"
            | "max_completion_tokens"
            | "max_tokens"
            | "store"
            | "stream_options"
            | "n"
            | "modalities"
            | "audio"
            | "web_search_options"
    ) || DROPPED.contains(&key)
}

fn refused(param: &'static str, what: &str) -> GatewayError {
    invalid(
        Some(param),
        "unsupported_parameter",
        format!(
            "This model is served through the Responses API, which does not support {what} \
             (`{param}`). Remove `{param}` and retry."
        ),
    )
}

fn wants_audio(modalities: &Value) -> bool {
    modalities
        .as_array()
        .is_some_and(|m| m.iter().any(|v| v.as_str() == Some("audio")))
}

fn messages_to_input(
    messages: Value,
    dropped: &mut Vec<&'static str>,
) -> Result<Value, GatewayError> {
    let Value::Array(messages) = messages else {
        return Err(bad("messages", "messages", "expected an array of messages"));
    };
    let mut input = Vec::with_capacity(messages.len());
    // The last legacy `function_call`'s synthesized id, for the `function` message answering it.
    let mut legacy_call: Option<String> = None;
    for (i, message) in messages.into_iter().enumerate() {
        let at = format!("messages[{i}]");
        let Value::Object(mut message) = message else {
            return Err(bad("messages", &at, "expected an object"));
        };
        let role = match message.remove("role") {
            Some(Value::String(role)) => role,
            _ => return Err(bad("messages", &at, "expected a string `role`")),
        };
        if role != "function" && message.contains_key("name") && !dropped.contains(&NAME) {
            dropped.push(NAME);
        }
        match role.as_str() {
            "system" | "developer" | "user" => {
                let content = input_content(message.remove("content"), &at)?;
                input.push(json!({"role": role, "content": content}));
            }
            "assistant" => assistant(message, i, &mut input, &mut legacy_call)?,
            "tool" => {
                let Some(Value::String(call_id)) = message.remove("tool_call_id") else {
                    return Err(bad("messages", &at, "a tool message needs `tool_call_id`"));
                };
                let output = tool_output(message.remove("content"));
                input.push(
                    json!({"type": "function_call_output", "call_id": call_id, "output": output}),
                );
            }
            "function" => {
                let call_id = legacy_call.take().unwrap_or_else(|| format!("call_{i}"));
                let output = tool_output(message.remove("content"));
                input.push(
                    json!({"type": "function_call_output", "call_id": call_id, "output": output}),
                );
            }
            _ => return Err(bad("messages", &at, &format!("unknown role `{role}`"))),
        }
    }
    Ok(Value::Array(input))
}

/// Message `name`s: the Responses API's input messages have no such field.
const NAME: &str = "messages[].name";

fn input_content(content: Option<Value>, at: &str) -> Result<Value, GatewayError> {
    match content {
        Some(Value::String(text)) => Ok(Value::String(text)),
        Some(Value::Array(parts)) => parts
            .into_iter()
            .enumerate()
            .map(|(j, part)| input_part(part, &format!("{at}.content[{j}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        _ => Err(bad(
            "messages",
            at,
            "expected `content` as a string or an array of parts",
        )),
    }
}

fn input_part(part: Value, at: &str) -> Result<Value, GatewayError> {
    let Value::Object(mut part) = part else {
        return Err(bad("messages", at, "expected an object"));
    };
    match str_at_map(&part, "type") {
        Some("text") => {
            let text = part.remove("text").unwrap_or_else(|| json!(""));
            Ok(json!({"type": "input_text", "text": text}))
        }
        Some("image_url") => {
            let (url, detail) = match part.remove("image_url") {
                Some(Value::String(url)) => (Value::String(url), None),
                Some(Value::Object(mut image)) => (
                    image.remove("url").unwrap_or(Value::Null),
                    image.remove("detail"),
                ),
                _ => (Value::Null, None),
            };
            if !url.is_string() {
                return Err(bad(
                    "messages",
                    at,
                    "an image_url part needs `image_url.url`",
                ));
            }
            let detail = detail
                .filter(Value::is_string)
                .unwrap_or_else(|| json!("auto"));
            Ok(json!({"type": "input_image", "image_url": url, "detail": detail}))
        }
        Some("file") => {
            let Some(Value::Object(file)) = part.remove("file") else {
                return Err(bad("messages", at, "a file part needs `file`"));
            };
            let mut item = Map::with_capacity(4);
            item.insert("type".into(), json!("input_file"));
            for key in ["file_id", "file_data", "filename"] {
                if let Some(v) = given(&file, key) {
                    item.insert(key.into(), v.clone());
                }
            }
            Ok(Value::Object(item))
        }
        Some("input_audio") => Err(invalid(
            Some("messages"),
            "unsupported_value",
            format!(
                "Invalid '{at}': audio input is not supported: this model is served through the \
                 Responses API, which takes text, image and file input only."
            ),
        )),
        _ => Ok(Value::Object(part)),
    }
}

fn str_at_map<'a>(map: &'a Object, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// An assistant turn: its text and refusal as one output message, then one `function_call`
/// item per tool call (chat puts the text first too).
fn assistant(
    mut message: Object,
    i: usize,
    input: &mut Vec<Value>,
    legacy_call: &mut Option<String>,
) -> Result<(), GatewayError> {
    let at = format!("messages[{i}]");
    let calls = match message.remove("tool_calls") {
        Some(Value::Array(calls)) => calls,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(bad("messages", &at, "`tool_calls` must be an array")),
    };
    let legacy = message.remove("function_call").filter(|v| !v.is_null());
    let refusal = match message.remove("refusal") {
        Some(Value::String(refusal)) => Some(refusal),
        _ => None,
    };
    let bare = calls.is_empty() && legacy.is_none() && refusal.is_none();
    let mut parts = Vec::new();
    match message.remove("content") {
        Some(Value::String(text)) if !text.is_empty() || bare => parts.push(output_text(text)),
        Some(Value::Array(items)) => {
            for item in items {
                match (str_at(&item, "type"), item.get("text"), item.get("refusal")) {
                    (Some("text"), Some(Value::String(text)), _) => {
                        parts.push(output_text(text.clone()));
                    }
                    (Some("refusal"), _, Some(Value::String(refusal))) => {
                        parts.push(json!({"type": "refusal", "refusal": refusal}));
                    }
                    _ => parts.push(item),
                }
            }
        }
        None | Some(Value::Null | Value::String(_)) => {}
        Some(_) => {
            return Err(bad(
                "messages",
                &at,
                "`content` must be a string or an array",
            ));
        }
    }
    if let Some(refusal) = refusal {
        parts.push(json!({"type": "refusal", "refusal": refusal}));
    }
    if !parts.is_empty() {
        input.push(json!({"role": "assistant", "content": parts}));
    }
    for (j, call) in calls.into_iter().enumerate() {
        let at = format!("{at}.tool_calls[{j}]");
        let Value::Object(mut call) = call else {
            return Err(bad("messages", &at, "expected an object"));
        };
        match str_at_map(&call, "type") {
            None | Some("function") => {}
            Some(other) => {
                return Err(invalid(
                    Some("messages"),
                    "unsupported_value",
                    format!(
                        "Invalid '{at}': `{other}` tool calls are not supported: this model is \
                         served through the Responses API and only function tools translate."
                    ),
                ));
            }
        }
        let Some(Value::String(id)) = call.remove("id") else {
            return Err(bad("messages", &at, "a tool call needs `id`"));
        };
        let Some(Value::Object(function)) = call.remove("function") else {
            return Err(bad("messages", &at, "a tool call needs `function`"));
        };
        input.push(function_call(id, function, &at)?);
    }
    if let Some(Value::Object(function)) = legacy {
        let call_id = format!("call_{i}");
        input.push(function_call(call_id.clone(), function, &at)?);
        *legacy_call = Some(call_id);
    }
    Ok(())
}

fn output_text(text: String) -> Value {
    json!({"type": "output_text", "text": text})
}

fn function_call(call_id: String, mut function: Object, at: &str) -> Result<Value, GatewayError> {
    let Some(Value::String(name)) = function.remove("name") else {
        return Err(bad("messages", at, "a function call needs `name`"));
    };
    let arguments = match function.remove("arguments") {
        Some(Value::String(arguments)) => arguments,
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    };
    Ok(json!({"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}))
}

/// A tool message's content as the `output` string: text parts joined.
fn tool_output(content: Option<Value>) -> Value {
    match content {
        Some(Value::String(text)) => Value::String(text),
        Some(Value::Array(parts)) => Value::String(
            parts
                .iter()
                .filter_map(|p| str_at(p, "text"))
                .collect::<String>(),
        ),
        None | Some(Value::Null) => json!(""),
        Some(other) => Value::String(other.to_string()),
    }
}

/// `response_format` → `text.format`; `None` for plain text (the Responses default).
fn text_format(format: Value) -> Result<Option<Value>, GatewayError> {
    let Value::Object(mut format) = format else {
        return Err(bad(
            "response_format",
            "response_format",
            "expected an object",
        ));
    };
    match str_at_map(&format, "type") {
        Some("text") => Ok(None),
        Some("json_object") => Ok(Some(json!({"type": "json_object"}))),
        Some("json_schema") => {
            let Some(Value::Object(mut schema)) = format.remove("json_schema") else {
                return Err(bad(
                    "response_format",
                    "response_format",
                    "needs `json_schema`",
                ));
            };
            let mut flat = Map::with_capacity(5);
            flat.insert("type".into(), json!("json_schema"));
            for key in ["name", "description", "schema", "strict"] {
                if let Some(v) = schema.remove(key).filter(|v| !v.is_null()) {
                    flat.insert(key.into(), v);
                }
            }
            Ok(Some(Value::Object(flat)))
        }
        _ => Ok(Some(Value::Object(format))),
    }
}

/// Sets `out[outer][key]`, creating `out[outer]` (at the end) when absent.
fn set_in(out: &mut Object, outer: &str, key: &str, value: Value) {
    if let Some(Value::Object(inner)) = out.get_mut(outer) {
        inner.insert(key.into(), value);
        return;
    }
    let mut inner = Map::new();
    inner.insert(key.into(), value);
    out.insert(outer.into(), Value::Object(inner));
}
