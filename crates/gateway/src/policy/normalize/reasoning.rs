//! The reasoning-model rules (WIRE-FACTS A8) and the web-search refusal, on a parsed body.

use serde_json::{Map, Value};

use super::{Rules, rename};
use crate::error::GatewayError;

/// Parameters reasoning models refuse, on chat and on Responses (where `verbosity` belongs
/// under `text`). `logprobs`/`top_logprobs` are not here: the rule that sets `logprobs` for
/// `top_logprobs` keeps them working where the deployment allows.
const REFUSED: [&str; 8] = [
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "service_tier",
    "verbosity",
    "top_k",
];

/// `reasoning_effort` values Azure takes (`none` is gpt-5.1's default, `minimal` gpt-5's).
pub const EFFORTS: [&str; 5] = ["none", "minimal", "low", "medium", "high"];

/// Tool types that ask the service itself to search the web.
fn is_web_search(kind: &str) -> bool {
    kind.starts_with("web_search")
}

pub(super) fn chat(
    map: &mut Map<String, Value>,
    rules: &Rules,
    dropped: &mut Vec<&'static str>,
) -> Result<bool, GatewayError> {
    if rules.reject_web_search {
        refuse_web_search(map)?;
    }
    let mut changed = false;
    if rules.max_completion_tokens && map.contains_key("max_tokens") {
        if map.contains_key("max_completion_tokens") {
            map.shift_remove("max_tokens");
            dropped.push("max_tokens");
        } else {
            rename(map, "max_tokens", "max_completion_tokens");
        }
        changed = true;
    }
    if rules.implied_logprobs
        && map.get("top_logprobs").is_some_and(|v| !v.is_null())
        && map.get("logprobs") != Some(&Value::Bool(true))
    {
        map.insert("logprobs".to_owned(), Value::Bool(true));
        changed = true;
    }
    if rules.reasoning_effort {
        // The Responses-style `reasoning: {effort}` some clients send to chat.
        if let Some(Value::Object(reasoning)) = map.get("reasoning") {
            let effort = reasoning.get("effort").cloned();
            let more = reasoning.keys().any(|k| k != "effort");
            if let Some(effort) = effort.filter(|_| !map.contains_key("reasoning_effort")) {
                map.insert("reasoning_effort".to_owned(), effort);
            }
            map.shift_remove("reasoning");
            if more {
                dropped.push("reasoning");
            }
            changed = true;
        }
        if let Some(effort) = map.get_mut("reasoning_effort") {
            changed |= normalize_effort(effort, "reasoning_effort")?;
        }
    }
    if rules.drop_unsupported {
        changed |= drop_refused(map, rules, dropped);
    }
    Ok(changed)
}

pub(super) fn responses(
    map: &mut Map<String, Value>,
    rules: &Rules,
    dropped: &mut Vec<&'static str>,
) -> Result<bool, GatewayError> {
    let mut changed = false;
    if rules.max_completion_tokens {
        for old in ["max_completion_tokens", "max_tokens"] {
            if !map.contains_key(old) {
                continue;
            }
            if map.contains_key("max_output_tokens") {
                map.shift_remove(old);
                dropped.push(old);
            } else {
                rename(map, old, "max_output_tokens");
            }
            changed = true;
        }
    }
    if rules.reasoning_effort {
        // The chat-style `reasoning_effort` some clients send to responses.
        if let Some(effort) = map.shift_remove("reasoning_effort") {
            let reasoning = map
                .entry("reasoning")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(reasoning) = reasoning {
                reasoning.entry("effort").or_insert(effort);
            }
            changed = true;
        }
        if let Some(Value::Object(reasoning)) = map.get_mut("reasoning")
            && let Some(effort) = reasoning.get_mut("effort")
        {
            changed |= normalize_effort(effort, "reasoning.effort")?;
        }
    }
    if rules.drop_unsupported {
        changed |= drop_refused(map, rules, dropped);
    }
    Ok(changed)
}

/// Lower-cases the effort and maps `xhigh` (only gpt-5.1-codex-max takes it) to `high`;
/// anything Azure would refuse is refused here, with the values that work.
fn normalize_effort(effort: &mut Value, param: &'static str) -> Result<bool, GatewayError> {
    let text = match effort {
        Value::Null => return Ok(false),
        Value::String(s) => s,
        _ => return Err(bad_effort(param, &effort.to_string())),
    };
    let lower = text.trim().to_ascii_lowercase();
    let value = if lower == "xhigh" {
        "high".to_owned()
    } else {
        lower
    };
    if !EFFORTS.contains(&value.as_str()) {
        return Err(bad_effort(param, text));
    }
    if *text == value {
        return Ok(false);
    }
    *text = value;
    Ok(true)
}

fn bad_effort(param: &'static str, got: &str) -> GatewayError {
    GatewayError::InvalidRequest {
        message: format!(
            "Invalid value for '{param}': {got}. Supported values are: {}.",
            EFFORTS.map(|e| format!("'{e}'")).join(", ")
        ),
        param: Some(param),
        code: "invalid_value",
    }
}

fn drop_refused(
    map: &mut Map<String, Value>,
    rules: &Rules,
    dropped: &mut Vec<&'static str>,
) -> bool {
    let mut changed = false;
    for name in &REFUSED {
        if rules.keep.iter().any(|k| k == name) {
            continue;
        }
        if map.shift_remove(*name).is_some() {
            dropped.push(name);
            changed = true;
        }
    }
    changed
}

/// Azure's chat completions cannot search the web: say so before the request goes out.
fn refuse_web_search(map: &Map<String, Value>) -> Result<(), GatewayError> {
    let tool_type = |v: &Value| v.get("type").and_then(Value::as_str).map(str::to_owned);
    let in_tools = map
        .get("tools")
        .and_then(Value::as_array)
        .and_then(|tools| {
            tools
                .iter()
                .filter_map(tool_type)
                .find(|t| is_web_search(t))
        });
    let in_choice = map
        .get("tool_choice")
        .and_then(tool_type)
        .filter(|t| is_web_search(t));
    let (param, what) = match (in_tools, in_choice) {
        (Some(kind), _) => ("tools", format!("a `{kind}` tool")),
        (None, Some(kind)) => ("tool_choice", format!("a `{kind}` tool choice")),
        (None, None) if map.contains_key("web_search_options") => {
            ("web_search_options", "`web_search_options`".to_owned())
        }
        (None, None) => return Ok(()),
    };
    Err(GatewayError::InvalidRequest {
        message: format!(
            "This request has {what}, but web search cannot run on Azure OpenAI chat \
             completions. Remove it, or search elsewhere and pass the results in the messages."
        ),
        param: Some(param),
        code: "unsupported_parameter",
    })
}
