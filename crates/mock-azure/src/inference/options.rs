//! Embeddings options whose values this API checks before the model runs (WIRE-FACTS A6:
//! `input_type`, `encoding_format` and `dimensions` each return 422 if unsupported). The
//! mock's model supports what the shared embeddings generator produces.

use serde::Deserialize;
use serde_json::Value;

use crate::embeddings::{ENCODINGS, MAX_DIMENSIONS};

/// `input_type` values in the API's schema.
const INPUT_TYPES: [&str; 3] = ["text", "query", "document"];

/// The options as sent; `null` counts as absent, like the service's schema.
#[derive(Deserialize)]
struct Options {
    #[serde(default)]
    encoding_format: Option<Value>,
    #[serde(default)]
    input_type: Option<Value>,
    #[serde(default)]
    dimensions: Option<Value>,
}

/// The first option with a value the model does not support, and that value.
pub(crate) fn unsupported(body: &[u8]) -> Option<(&'static str, Value)> {
    let options: Options = serde_json::from_slice(body).ok()?;
    let one_of = |allowed: &[&str], v: &Value| v.as_str().is_some_and(|s| allowed.contains(&s));
    if let Some(v) = options.encoding_format.filter(|v| !one_of(&ENCODINGS, v)) {
        return Some(("encoding_format", v));
    }
    if let Some(v) = options.input_type.filter(|v| !one_of(&INPUT_TYPES, v)) {
        return Some(("input_type", v));
    }
    let in_range = |v: &Value| {
        v.as_u64()
            .and_then(|d| usize::try_from(d).ok())
            .is_some_and(|d| (1..=MAX_DIMENSIONS).contains(&d))
    };
    if let Some(v) = options.dimensions.filter(|v| !in_range(v)) {
        return Some(("dimensions", v));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(body: Value) -> Option<(&'static str, Value)> {
        unsupported(body.to_string().as_bytes())
    }

    #[test]
    fn accepts_supported_and_null_values() {
        assert_eq!(check(json!({"input": "x"})), None);
        assert_eq!(
            check(
                json!({"input": "x", "encoding_format": "base64", "input_type": "query",
                         "dimensions": 3072})
            ),
            None
        );
        assert_eq!(
            check(json!({"encoding_format": null, "input_type": null, "dimensions": null})),
            None
        );
    }

    #[test]
    fn names_the_unsupported_option() {
        assert_eq!(
            check(json!({"encoding_format": "int8"})),
            Some(("encoding_format", json!("int8")))
        );
        assert_eq!(
            check(json!({"input_type": "passage"})),
            Some(("input_type", json!("passage")))
        );
        assert_eq!(
            check(json!({"dimensions": 0})),
            Some(("dimensions", json!(0)))
        );
        assert_eq!(
            check(json!({"dimensions": "8"})),
            Some(("dimensions", json!("8")))
        );
    }
}
