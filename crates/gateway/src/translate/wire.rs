//! Plumbing the translators share: reading bodies, the errors they return, writing SSE.

use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::error::GatewayError;

pub(super) type Object = Map<String, Value>;

/// A client's request body: a JSON object, else a 400.
pub(super) fn request_object(body: &[u8]) -> Result<Object, GatewayError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid(
            None,
            "invalid_type",
            "The request body must be a JSON object.".into(),
        )),
        Err(e) => Err(GatewayError::InvalidJson(e.to_string())),
    }
}

/// An upstream's 2xx body: a JSON object, else a 502 saying what was wrong with it.
pub(super) fn upstream_object(body: &[u8], api: &str) -> Result<Object, GatewayError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad_upstream(format!(
            "The upstream's {api} response is not a JSON object, so it could not be translated."
        ))),
        Err(e) => Err(bad_upstream(format!(
            "The upstream's {api} response is not valid JSON ({e}), so it could not be translated."
        ))),
    }
}

/// A 400 for a client request that cannot be translated.
pub(super) fn invalid(
    param: Option<&'static str>,
    code: &'static str,
    message: String,
) -> GatewayError {
    GatewayError::InvalidRequest {
        message,
        param,
        code,
    }
}

/// A 400 for a malformed part of a client request; `at` locates it (`messages[2].content[0]`).
pub(super) fn bad(param: &'static str, at: &str, what: &str) -> GatewayError {
    invalid(
        Some(param),
        "invalid_value",
        format!("Invalid '{at}': {what}."),
    )
}

/// A 502: the upstream answered 2xx with something that is not the API's response.
pub(super) fn bad_upstream(message: String) -> GatewayError {
    let body = json!({"error": {
        "message": message, "type": "upstream_error", "param": null, "code": "bad_upstream_response",
    }});
    GatewayError::Shaped {
        status: StatusCode::BAD_GATEWAY,
        code: "bad_upstream_response",
        message,
        body: body.to_string(),
    }
}

/// A 502 carrying the upstream's own error (a 2xx whose response object says it failed):
/// the client sees the upstream's message and code, as it would without translation.
pub(super) fn upstream_failed(error: Option<&Value>) -> GatewayError {
    let message = error
        .and_then(|e| str_at(e, "message"))
        .unwrap_or("The upstream response failed.")
        .to_owned();
    let code = error
        .and_then(|e| e.get("code"))
        .cloned()
        .unwrap_or(Value::Null);
    let body = json!({"error": {
        "message": message, "type": "server_error", "param": null, "code": code,
    }});
    GatewayError::Shaped {
        status: StatusCode::BAD_GATEWAY,
        code: "upstream_response_failed",
        message,
        body: body.to_string(),
    }
}

pub(super) fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// A present, non-null value.
pub(super) fn given<'a>(map: &'a Object, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

/// A whole-number field, tolerating floats (some servers send `created_at` as one).
pub(super) fn uint_at(value: &Value, key: &str) -> Option<u64> {
    let v = value.get(key)?;
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f as u64)
    })
}

/// `data: [DONE]`, the chat stream's end marker.
pub(super) fn is_done(data: &[u8]) -> bool {
    data.trim_ascii() == b"[DONE]"
}

/// Serializes into `out`. Writing a `Value` or `str` into a `Vec` cannot fail.
pub(super) fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let _ = serde_json::to_writer(&mut *out, value);
}

/// `data: <json>` and the blank line.
pub(super) fn write_data(out: &mut Vec<u8>, value: &Value) {
    out.extend_from_slice(b"data: ");
    write_json(out, value);
    out.extend_from_slice(b"\n\n");
}

/// A Responses stream event: `event: <kind>` and its data `{"type":kind,"sequence_number":n,…}`
/// followed by `fields` (an object's members).
pub(super) fn write_event(out: &mut Vec<u8>, kind: &str, seq: u64, fields: &Value) {
    write_event_head(out, kind, seq);
    let start = out.len();
    write_json(out, fields);
    // `fields` was written as `{…}`: its opening brace becomes the separating comma.
    let members = out.len() > start + 2 && out.get(start) == Some(&b'{');
    match out.get_mut(start) {
        Some(brace) if members => *brace = b',',
        _ => {
            out.truncate(start);
            out.push(b'}');
        }
    }
    out.extend_from_slice(b"\n\n");
}

/// `event: <kind>\ndata: {"type":"<kind>","sequence_number":<n>` (the object left open).
pub(super) fn write_event_head(out: &mut Vec<u8>, kind: &str, seq: u64) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\ndata: {\"type\":");
    write_json(out, kind);
    out.extend_from_slice(b",\"sequence_number\":");
    out.extend_from_slice(seq.to_string().as_bytes());
}

/// FNV-1a: a stable id for an upstream answer that came without one (never random, so the
/// same upstream bytes always translate to the same client bytes).
pub(super) fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
