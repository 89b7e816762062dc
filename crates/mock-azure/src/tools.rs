//! Function calling: which function the mock model calls, with what arguments, and how
//! its pieces are rendered. Chat nests a tool's `name` and `parameters` under `function`,
//! Responses puts them on the tool itself; both forms are read on both operations.

use std::borrow::Cow;

use memchr::memmem;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::fragments::json_string;
use crate::ids;
use crate::probe::Probe;

/// Streamed argument deltas per call (fewer for very short arguments).
const ARGUMENT_DELTAS: usize = 3;

/// One function call the model makes.
#[derive(Clone, Debug)]
pub(crate) struct ToolCall {
    pub(crate) name: String,
    /// Compact JSON object text: one `"mock-<prop>"` string per required property.
    pub(crate) arguments: String,
    /// `call_<24 alnum>`: chat's `id`, Responses' `call_id`.
    pub(crate) call_id: String,
    /// `fc_…`: the Responses output item's `id`.
    pub(crate) item_id: String,
}

impl ToolCall {
    fn new(name: String, parameters: Option<&Value>) -> Self {
        let required = parameters
            .and_then(|p| p.get("required"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        let arguments: Map<String, Value> = required
            .map(|prop| (prop.to_owned(), Value::from(format!("mock-{prop}"))))
            .collect();
        Self {
            name,
            arguments: Value::Object(arguments).to_string(),
            call_id: ids::token("call_", 24),
            item_id: ids::token("fc_", 48),
        }
    }

    /// The chat `tool_calls[]` entry.
    pub(crate) fn chat_json(&self) -> String {
        format!(
            r#"{{"id":"{}","type":"function","function":{{"name":{},"arguments":{}}}}}"#,
            self.call_id,
            json_string(&self.name),
            json_string(&self.arguments)
        )
    }

    /// The first streamed chat delta: id, name and empty arguments.
    pub(crate) fn chat_opening_delta(&self) -> String {
        format!(
            r#"{{"tool_calls":[{{"index":0,"id":"{}","type":"function","function":{{"name":{},"arguments":""}}}}]}}"#,
            self.call_id,
            json_string(&self.name)
        )
    }

    /// The Responses `function_call` output item, with `arguments` so far.
    pub(crate) fn item(&self, status: &str, arguments: &str) -> String {
        format!(
            r#"{{"id":"{}","type":"function_call","status":"{status}","arguments":{},"call_id":"{}","name":{}}}"#,
            self.item_id,
            json_string(arguments),
            self.call_id,
            json_string(&self.name)
        )
    }

    /// The arguments cut into a few deltas on character boundaries.
    pub(crate) fn argument_pieces(&self) -> Vec<&str> {
        split(&self.arguments, ARGUMENT_DELTAS)
    }
}

/// A streamed chat delta carrying one piece of the arguments.
pub(crate) fn chat_arguments_delta(piece: &str) -> String {
    format!(
        r#"{{"tool_calls":[{{"index":0,"function":{{"arguments":{}}}}}]}}"#,
        json_string(piece)
    )
}

/// The call the model makes, if any: the request offers a `function` tool,
/// `tool_choice` is not `"none"`, and the conversation does not end with a tool's result.
/// `tool_choice` naming a function picks it; otherwise the first function tool.
pub(crate) fn pick(probe: &Probe<'_>, conversation: Option<&RawValue>) -> Option<ToolCall> {
    let raw = probe.tools?.get();
    // Most requests offer no functions; skip the parse for them.
    memmem::find(raw.as_bytes(), b"function")?;
    let tools: Vec<Value> = serde_json::from_str(raw).ok()?;
    let functions: Vec<(&str, Option<&Value>)> = tools
        .iter()
        .filter(|tool| tool.get("type").and_then(Value::as_str) == Some("function"))
        .filter_map(signature)
        .collect();
    let first = *functions.first()?;
    let choice: Option<Value> = probe
        .tool_choice
        .and_then(|raw| serde_json::from_str(raw.get()).ok());
    if choice.as_ref().and_then(Value::as_str) == Some("none") || ends_with_result(conversation) {
        return None;
    }
    let (name, parameters) = match choice.as_ref().and_then(named) {
        Some(wanted) => functions
            .iter()
            .find(|(name, _)| *name == wanted)
            .copied()
            .unwrap_or((wanted, None)),
        None => first,
    };
    Some(ToolCall::new(name.to_owned(), parameters))
}

/// A function tool's name and parameter schema, in either form.
fn signature(tool: &Value) -> Option<(&str, Option<&Value>)> {
    let spec = tool.get("function").unwrap_or(tool);
    let name = spec.get("name")?.as_str()?;
    Some((name, spec.get("parameters")))
}

/// The function a `tool_choice` object names (`{"type":"function","function":{"name"}}`
/// in chat, `{"type":"function","name"}` in Responses).
fn named(choice: &Value) -> Option<&str> {
    if choice.get("type")?.as_str()? != "function" {
        return None;
    }
    let spec = choice.get("function").unwrap_or(choice);
    spec.get("name")?.as_str()
}

/// The last conversation item, as far as telling a tool's result goes.
#[derive(Deserialize)]
struct Tail<'a> {
    #[serde(borrow, default)]
    role: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
}

/// Whether the conversation ends with a function's result (chat `role: tool`, or the
/// legacy `function`; Responses `function_call_output`), which the model answers in text.
fn ends_with_result(conversation: Option<&RawValue>) -> bool {
    let Some(items) =
        conversation.and_then(|raw| serde_json::from_str::<Vec<&RawValue>>(raw.get()).ok())
    else {
        return false;
    };
    let Some(tail) = items
        .last()
        .and_then(|item| serde_json::from_str::<Tail<'_>>(item.get()).ok())
    else {
        return false;
    };
    matches!(tail.role.as_deref(), Some("tool" | "function"))
        || tail.kind.as_deref() == Some("function_call_output")
}

/// `s` cut into at most `parts` non-empty pieces of about equal length in characters.
fn split(s: &str, parts: usize) -> Vec<&str> {
    let mut bounds: Vec<usize> = s.char_indices().map(|(at, _)| at).collect();
    let chars = bounds.len();
    bounds.push(s.len());
    let parts = parts.min(chars).max(1);
    (0..parts)
        .filter_map(|k| s.get(bounds[chars * k / parts]..bounds[chars * (k + 1) / parts]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pick_from(body: Value) -> Option<ToolCall> {
        let text = body.to_string();
        let probe: Probe<'_> = serde_json::from_str(&text).unwrap();
        let conversation = probe.messages.or(probe.input);
        pick(&probe, conversation)
    }

    fn weather() -> Value {
        json!({"type": "function", "function": {"name": "get_weather", "parameters": {
            "type": "object", "properties": {"city": {}, "unit": {}}, "required": ["city", "unit"]}}})
    }

    #[test]
    fn picks_the_first_or_the_named_function() {
        let user = json!([{"role": "user", "content": "hi"}]);
        let call = pick_from(json!({"tools": [weather()], "messages": user})).unwrap();
        assert_eq!(call.name, "get_weather");
        assert_eq!(call.arguments, r#"{"city":"mock-city","unit":"mock-unit"}"#);
        assert!(call.call_id.starts_with("call_") && call.call_id.len() == 29);
        let other = json!({"type": "function", "name": "other", "parameters": {}});
        let body = json!({"tools": [weather(), other], "messages": user,
                          "tool_choice": {"type": "function", "name": "other"}});
        let call = pick_from(body).unwrap();
        assert_eq!(
            (call.name.as_str(), call.arguments.as_str()),
            ("other", "{}")
        );
    }

    #[test]
    fn no_call_without_functions_with_none_or_after_a_result() {
        let user = json!([{"role": "user", "content": "hi"}]);
        let web = json!({"type": "web_search_preview"});
        assert!(pick_from(json!({"tools": [web], "messages": user})).is_none());
        assert!(pick_from(json!({"tools": [], "messages": user})).is_none());
        let body = json!({"tools": [weather()], "messages": user, "tool_choice": "none"});
        assert!(pick_from(body).is_none());
        let after = json!([{"role": "user", "content": "hi"}, {"role": "tool", "content": "20C"}]);
        assert!(pick_from(json!({"tools": [weather()], "messages": after})).is_none());
        let input = json!([{"type": "function_call_output", "call_id": "c", "output": "20C"}]);
        assert!(pick_from(json!({"tools": [weather()], "input": input})).is_none());
        assert!(pick_from(json!({"tools": [weather()], "input": "hi"})).is_some());
    }

    #[test]
    fn split_keeps_characters_whole() {
        assert_eq!(split("{}", 3), ["{", "}"]);
        assert_eq!(split("", 3), [""]);
        let s = r#"{"a":"héllo 🌍"}"#;
        let parts = split(s, 3);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.concat(), s);
        assert!(parts.iter().all(|p| !p.is_empty()));
    }
}
