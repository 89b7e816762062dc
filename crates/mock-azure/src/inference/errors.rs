//! Error bodies of the model inference face. Unlike Azure OpenAI's `{"error":{…}}`
//! envelope, this API answers validation failures with a flat 422 `{status, code,
//! detail, message}`, the content filter with a flat 400, and 4xx like 429 with
//! `{error, message, status}` plus `x-ms-error-code` (WIRE-FACTS A6). Keys are written
//! in the service's order, so tests can compare bodies byte for byte.

use axum::response::Response;
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::Value;

use super::extras::python_list;
use crate::config::Behavior;
use crate::errors::{bad_request, json, retry_headers, retry_secs};
use crate::fragments::json_string;
use crate::route::Op;

const X_MS_ERROR_CODE: HeaderName = HeaderName::from_static("x-ms-error-code");

/// A6: the prompt filter's verdict on chat names `messages`.
const CONTENT_FILTER_CHAT: &str = r#"{"status":400,"code":"content_filter","message":"The response was filtered","param":"messages","type":null}"#;
/// The same for embeddings, whose prompt is `input`.
const CONTENT_FILTER_EMBEDDINGS: &str = r#"{"status":400,"code":"content_filter","message":"The response was filtered","param":"input","type":null}"#;

/// Foundry's answer when a multi-deployment endpoint is not told which one (field:
/// microsoft/AI-Red-Teaming-Playground-Labs#14, microsoft/semantic-kernel#10339).
const NO_MODEL_NAME: &str = r#"{"error":{"code":"no_model_name","message":"No model specified in request. Please provide a model name in the request body or as a x-ms-model-mesh-model-name header.","details":"No model specified in request. Please provide a model name in the request body or as a x-ms-model-mesh-model-name header."}}"#;

pub(crate) fn missing_api_version() -> Response {
    bad_request("Missing required query parameter: api-version")
}

/// An `extra-parameters` value other than `error`, `drop`, `pass-through`.
pub(crate) fn bad_extra_parameters(value: &str) -> Response {
    bad_request(&format!(
        "Invalid value '{value}' for header 'extra-parameters'. \
         Supported values: 'pass-through', 'drop', 'error'."
    ))
}

pub(crate) fn no_model_name() -> Response {
    json(StatusCode::BAD_REQUEST, NO_MODEL_NAME)
}

/// 422 for body keys outside the schema under `extra-parameters: error`; `detail`
/// points at the first one, the message lists them all in body order.
pub(crate) fn extra_parameters_not_allowed(extras: &[(String, Value)]) -> Response {
    let Some((first, input)) = extras.first() else {
        return bad_request("no extra parameters");
    };
    let message = format!(
        "Extra parameters {} are not allowed when extra-parameters is not set or set to be \
         'error'. Set extra-parameters to 'pass-through' to pass to the model.",
        python_list(extras.iter().map(|(key, _)| key.as_str()))
    );
    unprocessable("extra_parameters_not_allowed", first, input, &message)
}

/// 422 for an option value the model does not support (A6's example body).
pub(crate) fn parameter_not_supported(param: &str, input: &Value) -> Response {
    let message = "One of the parameters contain invalid values.";
    unprocessable("parameter_not_supported", param, input, message)
}

fn unprocessable(code: &str, param: &str, input: &Value, message: &str) -> Response {
    let body = format!(
        r#"{{"status":422,"code":"{code}","detail":{{"loc":["body",{}],"input":{input}}},"message":{}}}"#,
        json_string(param),
        json_string(message)
    );
    json(StatusCode::UNPROCESSABLE_ENTITY, body)
}

/// The error the behaviour forces, in this face's shapes: flat content filter, flat
/// 4xx with `x-ms-error-code`; 5xx keep Azure's classic body (A6 shows no other).
pub(crate) fn forced(behavior: &Behavior, op: Op, api_version: &str) -> Option<Response> {
    let filtered = match behavior.status {
        None | Some(200) => behavior.content_filter,
        Some(status) => status == 400,
    };
    if filtered {
        let body = match op {
            Op::Embeddings => CONTENT_FILTER_EMBEDDINGS,
            _ => CONTENT_FILTER_CHAT,
        };
        return Some(json(StatusCode::BAD_REQUEST, body));
    }
    let status = StatusCode::from_u16(behavior.status?).ok()?;
    if !status.is_client_error() {
        return crate::errors::forced(behavior, op.operation_id(), api_version);
    }
    let reason = status.canonical_reason().unwrap_or("Error");
    let throttled = status == StatusCode::TOO_MANY_REQUESTS;
    let message = if throttled {
        let secs = retry_secs(behavior);
        format!("Rate limit is exceeded. Try again in {secs} seconds.")
    } else {
        reason.to_owned()
    };
    let body = format!(
        r#"{{"error":{},"message":{},"status":{}}}"#,
        json_string(reason),
        json_string(&message),
        status.as_u16()
    );
    let mut response = json(status, body);
    let headers = response.headers_mut();
    let code: String = if throttled {
        "RateLimitExceeded".to_owned()
    } else {
        reason.chars().filter(char::is_ascii_alphanumeric).collect()
    };
    if let Ok(code) = HeaderValue::try_from(code) {
        headers.insert(X_MS_ERROR_CODE, code);
    }
    if throttled {
        retry_headers(headers, behavior);
    }
    Some(response)
}
