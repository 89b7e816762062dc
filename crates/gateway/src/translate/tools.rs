//! Function tools and `tool_choice` in each API's shape. Chat nests the function
//! (`{type:"function", function:{name,…}}`), Responses flattens it (`{type:"function", name,…}`).
//! Only function tools translate: the other API has no counterpart for the rest (custom tools
//! on chat; web search, file search, code interpreter, MCP and the other built-in tools on
//! Responses), so those are refused with a 400 naming the tool.

use serde_json::{Map, Value, json};

use super::wire::{Object, bad, invalid, str_at};
use crate::error::GatewayError;

// Chat → Responses.

/// Adds to `out.tools`: chat's `tools` and legacy `functions` both land there.
pub(super) fn append_tools(out: &mut Object, tools: Vec<Value>) {
    match out.get_mut("tools") {
        Some(Value::Array(existing)) => existing.extend(tools),
        _ => {
            out.insert("tools".into(), Value::Array(tools));
        }
    }
}

/// `{type:function, function:{…}}` → `{type:function, name, …}`; other tool types → 400.
pub(super) fn chat_tools(tools: Value) -> Result<Vec<Value>, GatewayError> {
    let Value::Array(tools) = tools else {
        return Err(bad("tools", "tools", "expected an array"));
    };
    let mut out = Vec::with_capacity(tools.len());
    for (i, tool) in tools.into_iter().enumerate() {
        let at = format!("tools[{i}]");
        let Value::Object(mut tool) = tool else {
            return Err(bad("tools", &at, "expected an object"));
        };
        match str_at_obj(&tool, "type") {
            None | Some("function") => {}
            Some(other) => {
                return Err(invalid(
                    Some("tools"),
                    "unsupported_value",
                    format!(
                        "Invalid '{at}': `{other}` tools are not supported: this model is served \
                         through the Responses API and only function tools translate."
                    ),
                ));
            }
        }
        let Some(Value::Object(function)) = tool.remove("function") else {
            return Err(bad("tools", &at, "a function tool needs `function`"));
        };
        out.push(flat_function(function, "tools", &at)?);
    }
    Ok(out)
}

pub(super) fn chat_functions(functions: Value) -> Result<Vec<Value>, GatewayError> {
    let Value::Array(functions) = functions else {
        return Err(bad("functions", "functions", "expected an array"));
    };
    functions
        .into_iter()
        .enumerate()
        .map(|(i, function)| match function {
            Value::Object(function) => {
                flat_function(function, "functions", &format!("functions[{i}]"))
            }
            _ => Err(bad(
                "functions",
                &format!("functions[{i}]"),
                "expected an object",
            )),
        })
        .collect()
}

/// A chat function definition as a Responses function tool. Responses makes tools strict
/// unless told otherwise and requires `parameters`; chat's defaults are kept explicit.
fn flat_function(
    mut function: Object,
    param: &'static str,
    at: &str,
) -> Result<Value, GatewayError> {
    let Some(Value::String(name)) = function.remove("name") else {
        return Err(bad(param, at, "a function needs `name`"));
    };
    let mut tool = Map::with_capacity(5);
    tool.insert("type".into(), json!("function"));
    tool.insert("name".into(), json!(name));
    if let Some(description) = function.remove("description").filter(|v| !v.is_null()) {
        tool.insert("description".into(), description);
    }
    let parameters = function.remove("parameters").filter(|v| !v.is_null());
    tool.insert(
        "parameters".into(),
        parameters.unwrap_or_else(|| json!({"type": "object", "properties": {}})),
    );
    let strict = function.remove("strict").filter(|v| !v.is_null());
    tool.insert("strict".into(), strict.unwrap_or(json!(false)));
    Ok(Value::Object(tool))
}

pub(super) fn chat_tool_choice(choice: Value) -> Result<Value, GatewayError> {
    let Value::Object(mut choice) = choice else {
        return match choice {
            Value::String(_) => Ok(choice),
            _ => Err(bad(
                "tool_choice",
                "tool_choice",
                "expected a string or an object",
            )),
        };
    };
    match str_at_obj(&choice, "type") {
        Some("function") => {
            let name = choice.get("function").and_then(|f| f.get("name"));
            match name {
                Some(Value::String(name)) => Ok(json!({"type": "function", "name": name})),
                _ => Err(bad("tool_choice", "tool_choice", "needs `function.name`")),
            }
        }
        Some("allowed_tools") => {
            let Some(Value::Object(mut allowed)) = choice.remove("allowed_tools") else {
                return Err(bad("tool_choice", "tool_choice", "needs `allowed_tools`"));
            };
            let mode = allowed.remove("mode").unwrap_or_else(|| json!("auto"));
            let Some(Value::Array(list)) = allowed.remove("tools") else {
                return Err(bad(
                    "tool_choice",
                    "tool_choice",
                    "needs `allowed_tools.tools`",
                ));
            };
            let tools = list
                .iter()
                .map(
                    |tool| match tool.get("function").and_then(|f| f.get("name")) {
                        Some(Value::String(name)) => Ok(json!({"type": "function", "name": name})),
                        _ => Err(unsupported_choice()),
                    },
                )
                .collect::<Result<Vec<_>, _>>()?;
            Ok(json!({"type": "allowed_tools", "mode": mode, "tools": tools}))
        }
        _ => Err(unsupported_choice()),
    }
}

fn unsupported_choice() -> GatewayError {
    invalid(
        Some("tool_choice"),
        "unsupported_value",
        "This model is served through the Responses API: `tool_choice` can name function tools \
         only."
            .into(),
    )
}

/// Legacy `function_call`: `"none"`/`"auto"` or `{name}`.
pub(super) fn chat_function_call(choice: Value) -> Result<Value, GatewayError> {
    match choice {
        Value::String(_) => Ok(choice),
        Value::Object(choice) => match choice.get("name") {
            Some(Value::String(name)) => Ok(json!({"type": "function", "name": name})),
            _ => Err(bad("function_call", "function_call", "needs `name`")),
        },
        _ => Err(bad(
            "function_call",
            "function_call",
            "expected a string or an object",
        )),
    }
}

// Responses → chat.

/// Flat function tools → chat's nested ones; built-in tools → 400 naming the tool.
pub(super) fn responses_tools(tools: Value) -> Result<Value, GatewayError> {
    let Value::Array(tools) = tools else {
        return Err(bad("tools", "tools", "expected an array"));
    };
    let mut out = Vec::with_capacity(tools.len());
    for (i, tool) in tools.into_iter().enumerate() {
        let at = format!("tools[{i}]");
        let Value::Object(mut tool) = tool else {
            return Err(bad("tools", &at, "expected an object"));
        };
        match tool.get("type").and_then(Value::as_str) {
            Some("function") => {}
            Some(other) => {
                return Err(invalid(
                    Some("tools"),
                    "unsupported_value",
                    format!(
                        "Invalid '{at}': the built-in tool `{other}` is not available: this \
                         model is served through the Chat Completions API, which has function \
                         tools only."
                    ),
                ));
            }
            None => return Err(bad("tools", &at, "a tool needs `type`")),
        }
        let Some(name @ Value::String(_)) = tool.remove("name") else {
            return Err(bad("tools", &at, "a function tool needs `name`"));
        };
        let mut function = Object::with_capacity(4);
        function.insert("name".into(), name);
        for key in ["description", "parameters", "strict"] {
            if let Some(v) = tool.remove(key).filter(|v| !v.is_null()) {
                function.insert(key.into(), v);
            }
        }
        out.push(json!({"type": "function", "function": function}));
    }
    Ok(Value::Array(out))
}

pub(super) fn responses_tool_choice(choice: Value) -> Result<Value, GatewayError> {
    let Value::Object(choice) = choice else {
        return match choice {
            Value::String(_) => Ok(choice),
            _ => Err(bad(
                "tool_choice",
                "tool_choice",
                "expected a string or an object",
            )),
        };
    };
    match (str_at_obj(&choice, "type"), choice.get("name")) {
        (Some("function"), Some(name @ Value::String(_))) => {
            Ok(json!({"type": "function", "function": {"name": name}}))
        }
        (Some("allowed_tools"), _) => {
            let mode = choice.get("mode").cloned().unwrap_or_else(|| json!("auto"));
            let Some(list) = choice.get("tools").and_then(Value::as_array) else {
                return Err(bad("tool_choice", "tool_choice", "needs `tools`"));
            };
            let tools = list
                .iter()
                .map(|tool| match (str_at(tool, "type"), tool.get("name")) {
                    (Some("function"), Some(name @ Value::String(_))) => {
                        Ok(json!({"type": "function", "function": {"name": name}}))
                    }
                    _ => Err(hosted_choice(str_at(tool, "type").unwrap_or("?"))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(json!({"type": "allowed_tools", "allowed_tools": {"mode": mode, "tools": tools}}))
        }
        (Some("function"), _) => Err(bad("tool_choice", "tool_choice", "needs `name`")),
        (kind, _) => Err(hosted_choice(kind.unwrap_or("?"))),
    }
}

fn hosted_choice(kind: &str) -> GatewayError {
    invalid(
        Some("tool_choice"),
        "unsupported_value",
        format!(
            "Invalid 'tool_choice': `{kind}` is not available: this model is served through the \
             Chat Completions API, which has function tools only."
        ),
    )
}

fn str_at_obj<'a>(map: &'a Object, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}
