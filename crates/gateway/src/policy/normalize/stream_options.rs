//! `stream_options`: removed where Azure refuses it, and `include_usage` asked for on streams
//! so every stream can be accounted (the usage-only chunk is then kept from the client).

use serde_json::{Map, Value};

use crate::call::Operation;

/// Operations whose streams take `stream_options`.
fn streams(op: Operation) -> bool {
    matches!(
        op,
        Operation::ChatCompletions | Operation::Completions | Operation::Responses
    )
}

/// Azure answers `stream_options` without `stream: true` (or on an operation that does not
/// stream) with a 400; the option means nothing there, so it goes.
pub(super) fn remove_refused(
    op: Operation,
    stream: bool,
    map: &mut Map<String, Value>,
    dropped: &mut Vec<&'static str>,
) -> bool {
    if (streams(op) && stream) || map.shift_remove("stream_options").is_none() {
        return false;
    }
    dropped.push("stream_options");
    true
}

/// Sets `stream_options.include_usage` on a streaming chat or completions request that did
/// not ask for it; `true` when it did so.
pub(super) fn force_usage(op: Operation, stream: bool, map: &mut Map<String, Value>) -> bool {
    if !stream || !matches!(op, Operation::ChatCompletions | Operation::Completions) {
        return false;
    }
    let options = map
        .entry("stream_options")
        .or_insert_with(|| Value::Object(Map::new()));
    if !options.is_object() {
        // `null` or a wrong type: Azure would refuse a non-object; replace it.
        *options = Value::Object(Map::new());
    }
    let Value::Object(options) = options else {
        return false;
    };
    if options.get("include_usage") == Some(&Value::Bool(true)) {
        return false;
    }
    options.insert("include_usage".to_owned(), Value::Bool(true));
    true
}
