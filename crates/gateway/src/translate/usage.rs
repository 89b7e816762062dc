//! How a response ended, in each API's terms: token usage and the stop reason.

use serde_json::{Value, json};

/// Responses `usage` → chat `usage`, cached and reasoning tokens included. `None` when the
/// upstream sent no usage object.
pub(super) fn chat_usage(usage: &Value) -> Option<Value> {
    if !usage.is_object() {
        return None;
    }
    let input = count(usage, &["input_tokens"]);
    let output = count(usage, &["output_tokens"]);
    Some(json!({
        "prompt_tokens": input,
        "completion_tokens": output,
        "total_tokens": total(usage, input, output),
        "prompt_tokens_details": {"cached_tokens": count(usage, &["input_tokens_details", "cached_tokens"])},
        "completion_tokens_details": {
            "reasoning_tokens": count(usage, &["output_tokens_details", "reasoning_tokens"]),
        },
    }))
}

/// Chat `usage` → Responses `usage`.
pub(super) fn responses_usage(usage: &Value) -> Option<Value> {
    if !usage.is_object() {
        return None;
    }
    let input = count(usage, &["prompt_tokens"]);
    let output = count(usage, &["completion_tokens"]);
    Some(json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": count(usage, &["prompt_tokens_details", "cached_tokens"])},
        "output_tokens": output,
        "output_tokens_details": {
            "reasoning_tokens": count(usage, &["completion_tokens_details", "reasoning_tokens"]),
        },
        "total_tokens": total(usage, input, output),
    }))
}

/// The chat `finish_reason` for a Responses outcome. A response that called functions ends in
/// `tool_calls`, as a chat completion would, whatever else it says.
pub(super) fn chat_finish_reason(
    status: Option<&str>,
    incomplete_reason: Option<&str>,
    called_functions: bool,
) -> &'static str {
    if called_functions {
        return "tool_calls";
    }
    match (status, incomplete_reason) {
        (Some("incomplete"), Some("max_output_tokens")) => "length",
        (Some("incomplete"), Some("content_filter")) => "content_filter",
        _ => "stop",
    }
}

/// The Responses `incomplete_details.reason` for a chat `finish_reason`; `None`: completed.
pub(super) fn incomplete_reason(finish_reason: Option<&str>) -> Option<&'static str> {
    match finish_reason {
        Some("length") => Some("max_output_tokens"),
        Some("content_filter") => Some("content_filter"),
        _ => None,
    }
}

fn count(usage: &Value, path: &[&str]) -> u64 {
    path.iter()
        .try_fold(usage, |v, key| v.get(key))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn total(usage: &Value, input: u64, output: u64) -> u64 {
    usage
        .get("total_tokens")
        .and_then(Value::as_u64)
        .unwrap_or_else(|| input.saturating_add(output))
}
