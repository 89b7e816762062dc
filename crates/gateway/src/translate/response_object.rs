//! The Responses API's response object and output items, built from a chat completion (whole or
//! streamed), and the part of the client's request that a response object echoes.
//!
//! Ids are derived from the upstream's chat id (`resp_<id>`, `msg_<id>`, `fc_<id>_<n>`), never
//! random: the same upstream bytes always give the same client bytes.

use serde_json::{Map, Value, json};

use super::wire::{Object, fnv64, given, str_at};

/// What a Responses request said that its response object repeats (`instructions`, `tools`,
/// `tool_choice`, `temperature`, `text`, `reasoning`, `metadata`, …). A response object built
/// from a chat completion takes these from here, and the API's defaults for the rest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestEcho {
    fields: Object,
}

/// Request fields a response object echoes. `store` is not among them: the response of a chat
/// upstream is never stored as a Responses object, so the echo always says `store: false`.
const ECHOED: &[&str] = &[
    "instructions",
    "max_output_tokens",
    "max_tool_calls",
    "metadata",
    "parallel_tool_calls",
    "prompt_cache_key",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "truncation",
    "user",
];

impl RequestEcho {
    /// The echoed fields of a Responses request body.
    pub(super) fn from_request(request: &Object) -> Self {
        let fields = ECHOED
            .iter()
            .filter_map(|key| Some(((*key).to_owned(), given(request, key)?.clone())))
            .collect();
        Self { fields }
    }

    fn get(&self, key: &str) -> Option<Value> {
        given(&self.fields, key).cloned()
    }

    fn get_in(&self, key: &str, inner: &str) -> Option<Value> {
        self.fields
            .get(key)?
            .get(inner)
            .filter(|v| !v.is_null())
            .cloned()
    }
}

/// Client-facing ids for one upstream chat completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ids {
    pub response: String,
    base: String,
}

impl Ids {
    /// From the upstream's id, or (none sent) from a hash of `fallback`, the upstream's bytes.
    pub(super) fn new(upstream_id: Option<&str>, fallback: &[u8]) -> Self {
        let base = match upstream_id.filter(|id| !id.is_empty()) {
            Some(id) => id.strip_prefix("resp_").unwrap_or(id).to_owned(),
            None => format!("{:016x}", fnv64(fallback)),
        };
        Self {
            response: format!("resp_{base}"),
            base,
        }
    }

    pub(super) fn message(&self) -> String {
        format!("msg_{}", self.base)
    }

    /// The item id of the chat tool call at `index`.
    pub(super) fn call(&self, index: u64) -> String {
        format!("fc_{}_{index}", self.base)
    }

    /// A `call_id` for an upstream tool call that came without one.
    pub(super) fn call_id(&self, index: u64) -> String {
        format!("call_{}_{index}", self.base)
    }
}

/// What a response object says about where it came from.
#[derive(Debug, Clone)]
pub(super) struct Head {
    pub ids: Ids,
    created_at: Value,
    model: Value,
    pub service_tier: Option<Value>,
}

impl Head {
    /// From a chat completion or chunk (`None`: the upstream sent none); `fallback` names it
    /// when it has no id.
    pub(super) fn from_chat(chat: Option<&Object>, fallback: &[u8]) -> Self {
        let field = |key: &str| chat.and_then(|c| c.get(key));
        Self {
            ids: Ids::new(field("id").and_then(Value::as_str), fallback),
            created_at: field("created")
                .filter(|v| v.is_number())
                .cloned()
                .unwrap_or(json!(0)),
            model: field("model")
                .filter(|v| v.is_string())
                .cloned()
                .unwrap_or(json!("")),
            service_tier: field("service_tier").filter(|v| v.is_string()).cloned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Status {
    InProgress,
    Completed,
    /// `incomplete_details.reason`.
    Incomplete(&'static str),
    /// The `error` object.
    Failed(Value),
}

impl Status {
    pub(super) fn from_incomplete(reason: Option<&'static str>) -> Self {
        reason.map_or(Self::Completed, Self::Incomplete)
    }
}

/// A whole response object, keys in the order the API sends them.
pub(super) fn response_object(
    head: &Head,
    status: &Status,
    output: Vec<Value>,
    usage: Option<Value>,
    echo: &RequestEcho,
) -> Value {
    let (status, error, incomplete) = match status {
        Status::InProgress => ("in_progress", Value::Null, Value::Null),
        Status::Completed => ("completed", Value::Null, Value::Null),
        Status::Incomplete(reason) => ("incomplete", Value::Null, json!({"reason": reason})),
        Status::Failed(error) => ("failed", error.clone(), Value::Null),
    };
    let or = |key: &str, default: Value| echo.get(key).unwrap_or(default);
    let mut o = Map::with_capacity(30);
    o.insert("id".into(), json!(head.ids.response));
    o.insert("object".into(), json!("response"));
    o.insert("created_at".into(), head.created_at.clone());
    o.insert("status".into(), json!(status));
    o.insert("background".into(), json!(false));
    o.insert("error".into(), error);
    o.insert("incomplete_details".into(), incomplete);
    o.insert("instructions".into(), or("instructions", Value::Null));
    o.insert(
        "max_output_tokens".into(),
        or("max_output_tokens", Value::Null),
    );
    o.insert("max_tool_calls".into(), or("max_tool_calls", Value::Null));
    o.insert("model".into(), head.model.clone());
    o.insert("output".into(), Value::Array(output));
    o.insert(
        "parallel_tool_calls".into(),
        or("parallel_tool_calls", json!(true)),
    );
    o.insert("previous_response_id".into(), Value::Null);
    o.insert(
        "prompt_cache_key".into(),
        or("prompt_cache_key", Value::Null),
    );
    o.insert(
        "reasoning".into(),
        json!({
            "effort": echo.get_in("reasoning", "effort"),
            "summary": echo.get_in("reasoning", "summary"),
        }),
    );
    o.insert(
        "safety_identifier".into(),
        or("safety_identifier", Value::Null),
    );
    let tier = head
        .service_tier
        .clone()
        .or_else(|| echo.get("service_tier"));
    o.insert("service_tier".into(), tier.unwrap_or(json!("default")));
    o.insert("store".into(), json!(false));
    o.insert("temperature".into(), or("temperature", json!(1.0)));
    o.insert(
        "text".into(),
        json!({
            "format": echo.get_in("text", "format").unwrap_or(json!({"type": "text"})),
            "verbosity": echo.get_in("text", "verbosity").unwrap_or(json!("medium")),
        }),
    );
    o.insert("tool_choice".into(), or("tool_choice", json!("auto")));
    o.insert("tools".into(), or("tools", json!([])));
    o.insert("top_logprobs".into(), or("top_logprobs", json!(0)));
    o.insert("top_p".into(), or("top_p", json!(1.0)));
    o.insert("truncation".into(), or("truncation", json!("disabled")));
    o.insert("usage".into(), usage.unwrap_or(Value::Null));
    o.insert("user".into(), or("user", Value::Null));
    o.insert("metadata".into(), or("metadata", json!({})));
    Value::Object(o)
}

pub(super) fn message_item(id: &str, status: &str, content: Vec<Value>) -> Value {
    json!({"id": id, "type": "message", "status": status, "role": "assistant", "content": content})
}

pub(super) fn text_part(text: &str, annotations: Vec<Value>) -> Value {
    json!({"type": "output_text", "text": text, "annotations": annotations})
}

pub(super) fn refusal_part(refusal: &str) -> Value {
    json!({"type": "refusal", "refusal": refusal})
}

pub(super) fn call_item(
    id: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
    status: &str,
) -> Value {
    json!({
        "type": "function_call", "id": id, "call_id": call_id, "name": name,
        "arguments": arguments, "status": status,
    })
}

/// Chat `url_citation` annotations (`{type, url_citation:{…}}`) → Responses ones (flat).
pub(super) fn annotations(message: &Value) -> Vec<Value> {
    let Some(list) = message.get("annotations").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter(|a| str_at(a, "type") == Some("url_citation"))
        .filter_map(|a| {
            let citation = a.get("url_citation")?.as_object()?;
            let mut flat = Map::with_capacity(citation.len() + 1);
            flat.insert("type".into(), json!("url_citation"));
            flat.extend(citation.iter().map(|(k, v)| (k.clone(), v.clone())));
            Some(Value::Object(flat))
        })
        .collect()
}
