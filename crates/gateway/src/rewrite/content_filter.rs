//! Azure's content-filter refusal, reshaped for OpenAI clients (WIRE-FACTS A5, A6).
//!
//! Azure sends `{"error":{…,"type":null,"code":"content_filter","status":400,"innererror":…}}`
//! and Model Inference a flat `{"status":400,"code":"content_filter",…}`. OpenAI's SDKs read
//! `error.type` and `error.code`; both shapes become OpenAI's envelope with `type` set, and
//! everything Azure said about the verdict stays under `innererror`.

use serde_json::{Map, Value};

const TYPE: &str = "invalid_request_error";

/// The reshaped body, or `None` when `body` is not a content-filter refusal.
pub fn reshape(body: &[u8]) -> Option<Vec<u8>> {
    let Ok(Value::Object(mut top)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let reshaped = if let Some(Value::Object(error)) = top.get_mut("error") {
        if error.get("code").and_then(Value::as_str) != Some("content_filter") {
            return None;
        }
        if error.get("type").is_none_or(Value::is_null) {
            error.insert("type".to_owned(), Value::from(TYPE));
        }
        error.entry("param").or_insert(Value::Null);
        top
    } else if top.get("code").and_then(Value::as_str) == Some("content_filter") {
        wrap(top)
    } else {
        return None;
    };
    serde_json::to_vec(&reshaped).ok()
}

/// Model Inference's flat shape inside an envelope; its extra fields become `innererror`.
fn wrap(mut flat: Map<String, Value>) -> Map<String, Value> {
    let mut error = Map::new();
    let message = flat
        .shift_remove("message")
        .unwrap_or_else(|| Value::from("The response was filtered"));
    error.insert("message".to_owned(), message);
    flat.shift_remove("type");
    error.insert("type".to_owned(), Value::from(TYPE));
    error.insert(
        "param".to_owned(),
        flat.shift_remove("param").unwrap_or(Value::Null),
    );
    flat.shift_remove("code");
    error.insert("code".to_owned(), Value::from("content_filter"));
    flat.shift_remove("status");
    if !flat.is_empty() {
        error.insert("innererror".to_owned(), Value::Object(flat));
    }
    let mut top = Map::new();
    top.insert("error".to_owned(), Value::Object(error));
    top
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(body: Value) -> Option<Value> {
        reshape(&serde_json::to_vec(&body).unwrap()).map(|b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn azure_envelope_keeps_its_details() {
        let inner = json!({"code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {"hate": {"filtered": true, "severity": "high"}}});
        let got = run(
            json!({"error": {"message": "The response was filtered", "type": null,
            "param": "prompt", "code": "content_filter", "status": 400, "innererror": inner}}),
        );
        assert_eq!(
            got.unwrap(),
            json!({"error": {"message": "The response was filtered", "type": "invalid_request_error",
                "param": "prompt", "code": "content_filter", "status": 400, "innererror": inner}})
        );
    }

    #[test]
    fn inference_flat_shape_is_wrapped() {
        let got = run(json!({"status": 400, "code": "content_filter",
            "message": "The response was filtered", "param": "messages", "type": null}));
        assert_eq!(
            got.unwrap(),
            json!({"error": {"message": "The response was filtered",
                "type": "invalid_request_error", "param": "messages", "code": "content_filter"}})
        );
    }

    #[test]
    fn other_errors_are_left_alone() {
        assert_eq!(
            run(json!({"error": {"code": "429", "message": "slow down"}})),
            None
        );
        assert_eq!(reshape(b"not json"), None);
        assert_eq!(run(json!([1])), None);
    }
}
