//! Embeddings: one deterministic 8-float vector per input, as floats or base64.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::config::MockUsage;

/// Vector length unless the request asks for `dimensions`.
const DEFAULT_DIMENSIONS: usize = 8;
/// Upper bound on `dimensions`, matching text-embedding-3-large.
pub(crate) const MAX_DIMENSIONS: usize = 3072;
/// `encoding_format` values the mock can produce.
pub(crate) const ENCODINGS: [&str; 2] = ["float", "base64"];

const INVALID_INPUT: &str = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.";

/// The answer for `body`, reporting `model`, or the `BadRequest` message explaining
/// what is wrong.
pub(crate) fn reply(body: &[u8], usage: MockUsage, model: &str) -> Result<Bytes, String> {
    let request: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let inputs = inputs(request.get("input")).ok_or(INVALID_INPUT)?;
    let dims = match request.get("dimensions") {
        None | Some(Value::Null) => DEFAULT_DIMENSIONS,
        Some(d) => d
            .as_u64()
            .and_then(|d| usize::try_from(d).ok())
            .filter(|d| (1..=MAX_DIMENSIONS).contains(d))
            .ok_or("'$.dimensions' must be an integer between 1 and 3072.")?,
    };
    let base64 = match request.get("encoding_format").and_then(Value::as_str) {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => return Err(format!("'{other}' is not a supported encoding_format.")),
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            let vector = vector(input, dims);
            let embedding = if base64 {
                json!(encode(&vector))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let answer = json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": usage.prompt, "total_tokens": usage.prompt},
    });
    Ok(Bytes::from(answer.to_string()))
}

/// Splits `input` into the items that each get a vector: a string or a token
/// array is one item; an array of strings or token arrays is one item each.
fn inputs(input: Option<&Value>) -> Option<Vec<&Value>> {
    match input? {
        text @ Value::String(_) => Some(vec![text]),
        Value::Array(items) if items.is_empty() => None,
        tokens @ Value::Array(items) if items.iter().all(Value::is_u64) => Some(vec![tokens]),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(_) => Some(item),
                Value::Array(tokens) if !tokens.is_empty() && tokens.iter().all(Value::is_u64) => {
                    Some(item)
                }
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// FNV-1a over the input's JSON, expanded by SplitMix64 into values in [-1, 1).
fn vector(input: &Value, dims: usize) -> Vec<f32> {
    let mut state = input
        .to_string()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    (0..dims)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            // 24 random bits map exactly onto an f32 mantissa.
            (z >> 40) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// Little-endian f32 bytes, base64, as OpenAI's `encoding_format: base64`.
fn encode(vector: &[f32]) -> String {
    let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: Value) -> Result<Value, String> {
        reply(body.to_string().as_bytes(), MockUsage::default(), "e")
            .map(|b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn one_vector_per_input_and_deterministic() {
        let v = run(json!({"input": ["a", "b"], "model": "e"})).unwrap();
        let data = v["data"].as_array().unwrap();
        assert_eq!(data.len(), 2);
        assert_eq!(data[1]["index"], 1);
        assert_eq!(data[0]["embedding"].as_array().unwrap().len(), 8);
        assert_ne!(data[0]["embedding"], data[1]["embedding"]);
        let again = run(json!({"input": "a"})).unwrap();
        assert_eq!(again["data"][0]["embedding"], data[0]["embedding"]);
        assert_eq!(v["usage"]["total_tokens"], 11);
        for x in data[0]["embedding"].as_array().unwrap() {
            let x = x.as_f64().unwrap();
            assert!((-1.0..1.0).contains(&x));
        }
    }

    #[test]
    fn token_arrays() {
        assert_eq!(
            run(json!({"input": [1, 2, 3]})).unwrap()["data"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let v = run(json!({"input": [[1, 2], [3]]})).unwrap();
        assert_eq!(v["data"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn base64_round_trips() {
        let floats = run(json!({"input": "x"})).unwrap();
        let b64 = run(json!({"input": "x", "encoding_format": "base64"})).unwrap();
        let raw = STANDARD
            .decode(b64["data"][0]["embedding"].as_str().unwrap())
            .unwrap();
        let decoded: Vec<f32> = raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let expected: Vec<f32> = floats["data"][0]["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(decoded, expected);
    }

    #[test]
    fn rejects_bad_input() {
        for body in [
            json!({}),
            json!({"input": []}),
            json!({"input": 5}),
            json!({"input": ["a", 5]}),
            json!({"input": "a", "encoding_format": "hex"}),
            json!({"input": "a", "dimensions": 0}),
        ] {
            assert!(run(body).is_err());
        }
    }
}
