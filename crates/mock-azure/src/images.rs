//! Image generations: `n` tiny PNGs (or placeholder URLs) with Azure's filter results;
//! `image_edits` answers in the same shape.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::fragments::{DELTA_FILTER, PROMPT_VERDICTS};
use crate::ids;

/// A valid 1×1 PNG, base64-encoded.
pub(crate) const PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

const MAX_IMAGES: u64 = 10;

/// The answer for `body`, or the `BadRequest` message explaining what is wrong.
pub(crate) fn reply(body: &[u8]) -> Result<Bytes, String> {
    let request: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let prompt = request
        .get("prompt")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .ok_or("'$.prompt' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.")?;
    let n = match request.get("n") {
        None | Some(Value::Null) => None,
        Some(n) => Some(n.as_u64().ok_or(BAD_COUNT)?),
    };
    let format = request.get("response_format").and_then(Value::as_str);
    build(count(n)?, as_url(format)?, prompt)
}

const BAD_COUNT: &str = "'$.n' must be an integer between 1 and 10.";

/// `n`, 1 when absent.
pub(crate) fn count(n: Option<u64>) -> Result<u64, String> {
    let n = n.unwrap_or(1);
    if (1..=MAX_IMAGES).contains(&n) {
        Ok(n)
    } else {
        Err(BAD_COUNT.to_owned())
    }
}

/// Whether `response_format` asks for URLs rather than base64 (the default).
pub(crate) fn as_url(format: Option<&str>) -> Result<bool, String> {
    match format {
        None | Some("b64_json") => Ok(false),
        Some("url") => Ok(true),
        Some(other) => Err(format!("'{other}' is not a supported response_format.")),
    }
}

/// `n` images, each with `revised_prompt` and Azure's filter results.
pub(crate) fn build(n: u64, as_url: bool, revised_prompt: &str) -> Result<Bytes, String> {
    let content_filter: Value = serde_json::from_str(DELTA_FILTER).map_err(|e| e.to_string())?;
    let prompt_filter: Value = serde_json::from_str(PROMPT_VERDICTS).map_err(|e| e.to_string())?;
    let data: Vec<Value> = (0..n)
        .map(|i| {
            let (key, image) = if as_url {
                let url = format!("http://127.0.0.1/mock-azure/images/{}/{i}.png", ids::uuid());
                ("url", Value::from(url))
            } else {
                ("b64_json", Value::from(PNG_BASE64))
            };
            let mut entry = Map::new();
            entry.insert(key.to_owned(), image);
            entry.insert("revised_prompt".to_owned(), Value::from(revised_prompt));
            entry.insert("content_filter_results".to_owned(), content_filter.clone());
            entry.insert("prompt_filter_results".to_owned(), prompt_filter.clone());
            Value::Object(entry)
        })
        .collect();
    Ok(Bytes::from(
        json!({"created": ids::unix_now(), "data": data}).to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: Value) -> Result<Value, String> {
        reply(body.to_string().as_bytes()).map(|b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn b64_by_default_and_n_images() {
        let v = run(json!({"prompt": "a cat", "n": 2})).unwrap();
        let data = v["data"].as_array().unwrap();
        assert_eq!(data.len(), 2);
        assert_eq!(data[0]["b64_json"], PNG_BASE64);
        assert_eq!(data[0]["revised_prompt"], "a cat");
        assert_eq!(
            data[0]["prompt_filter_results"]["jailbreak"]["detected"],
            false
        );
    }

    #[test]
    fn url_format() {
        let v = run(json!({"prompt": "a cat", "response_format": "url"})).unwrap();
        let url = v["data"][0]["url"].as_str().unwrap();
        assert!(url.starts_with("http://127.0.0.1/"));
        assert!(v["data"][0].get("b64_json").is_none());
    }

    #[test]
    fn rejects_bad_requests() {
        assert!(run(json!({})).is_err());
        assert!(run(json!({"prompt": "x", "n": 11})).is_err());
        assert!(run(json!({"prompt": "x", "response_format": "gif"})).is_err());
    }
}
