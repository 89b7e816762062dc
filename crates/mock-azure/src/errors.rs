//! Azure's error answers, byte for byte where the wire facts pin them down.

use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::response::Response;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::config::Behavior;

const JSON: HeaderValue = HeaderValue::from_static("application/json");

const NOT_FOUND: &str = r#"{"error":{"code":"404","message":"Resource not found"}}"#;

const UNAUTHORIZED: &str = r#"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#;

/// A resource with local auth disabled, presented with a key.
const KEY_AUTH_DISABLED: &str = r#"{"error":{"code":"AuthenticationTypeDisabled","message":"Key based authentication is disabled for this resource."}}"#;

/// An Entra-only resource, presented with a missing or unacceptable token.
const TOKEN_UNAUTHORIZED: &str = r#"{"error":{"code":"401","message":"Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."}}"#;

const DEPLOYMENT_NOT_FOUND: &str = r#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}"#;

const SERVER_ERROR: &str = r#"{"error":{"code":"InternalServerError","message":"The server had an error while processing your request. Sorry about that!"}}"#;

/// WIRE-FACTS A5 composite: prompt rejected by the content filter.
const CONTENT_FILTER: &str = concat!(
    r#"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=21298766","#,
    r#""type":null,"param":"prompt","code":"content_filter","status":400,"#,
    r#""innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"#,
    r#""hate":{"filtered":true,"severity":"high"},"self_harm":{"filtered":false,"severity":"safe"},"#,
    r#""sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"medium"},"#,
    r#""jailbreak":{"filtered":false,"detected":false}}}}}"#
);

/// An error answer decided early, boxed so a `Result` carrying it stays small.
pub(crate) type Refusal = Box<Response>;

/// A JSON answer with a fixed or freshly built body.
pub(crate) fn json(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, JSON);
    response
}

pub(crate) fn resource_not_found() -> Response {
    json(StatusCode::NOT_FOUND, NOT_FOUND)
}

pub(crate) fn unauthorized() -> Response {
    json(StatusCode::UNAUTHORIZED, UNAUTHORIZED)
}

pub(crate) fn key_auth_disabled() -> Response {
    json(StatusCode::UNAUTHORIZED, KEY_AUTH_DISABLED)
}

pub(crate) fn token_unauthorized() -> Response {
    json(StatusCode::UNAUTHORIZED, TOKEN_UNAUTHORIZED)
}

pub(crate) fn deployment_not_found() -> Response {
    json(StatusCode::NOT_FOUND, DEPLOYMENT_NOT_FOUND)
}

pub(crate) fn content_filter() -> Response {
    json(StatusCode::BAD_REQUEST, CONTENT_FILTER)
}

/// Azure-style `BadRequest` with a free-form message.
pub(crate) fn bad_request(message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": "BadRequest", "message": message}});
    json(StatusCode::BAD_REQUEST, body.to_string())
}

/// The OpenAI-shaped error Azure's newer APIs (v1, files, batches, responses) send:
/// `{"error":{"message","type":"invalid_request_error","param","code"}}`.
pub(crate) fn invalid_request(
    status: StatusCode,
    message: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    let body = serde_json::json!({"error": {
        "message": message,
        "type": "invalid_request_error",
        "param": param,
        "code": code,
    }});
    json(status, body.to_string())
}

/// A 400 about one request field.
pub(crate) fn invalid_field(message: &str, param: &str) -> Response {
    invalid_request(StatusCode::BAD_REQUEST, message, Some(param), None)
}

/// The 404 for a stored object (`kind` is "File", "Batch", …) this resource does not have.
pub(crate) fn object_not_found(kind: &str, id: &str) -> Response {
    let message = format!("{kind} with id '{id}' not found.");
    invalid_request(StatusCode::NOT_FOUND, &message, None, None)
}

/// The 400 for a body that is not the JSON the operation expects.
pub(crate) fn unparsable_json(e: &serde_json::Error) -> Response {
    bad_request(&format!(
        "We could not parse the JSON body of your request: {e}"
    ))
}

/// Plain-text 400 for malformed `x-mock-*` headers: a test-tool error, not Azure's.
pub(crate) fn bad_control_header(message: String) -> Response {
    let mut response = Response::new(Body::from(message));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The error the behaviour asks for, or `None` for a normal answer; `operation` is
/// Azure's operation id, quoted in the 429 message.
pub(crate) fn forced(behavior: &Behavior, operation: &str, api_version: &str) -> Option<Response> {
    let status = match behavior.status {
        Some(200) | None if behavior.content_filter => return Some(content_filter()),
        Some(200) | None => return None,
        Some(code) => StatusCode::from_u16(code).ok()?,
    };
    let mut response = match status.as_u16() {
        400 => return Some(content_filter()),
        429 => json(status, rate_limited(behavior, operation, api_version)),
        500..=599 => json(status, SERVER_ERROR),
        _ => {
            let reason = status.canonical_reason().unwrap_or("Error");
            let body = serde_json::json!({"error": {"code": status.as_str(), "message": reason}});
            return Some(json(status, body.to_string()));
        }
    };
    retry_headers(response.headers_mut(), behavior);
    Some(response)
}

/// The `retry-after`, `retry-after-ms` and `x-ms-retry-after-ms` headers the behaviour
/// asks for; shared by every face's 429 and 5xx answers.
pub(crate) fn retry_headers(headers: &mut HeaderMap, behavior: &Behavior) {
    if let Some(secs) = behavior.retry_after_secs {
        let value = if behavior.retry_after_as_date {
            let at = SystemTime::now() + Duration::from_secs(secs);
            HeaderValue::try_from(httpdate::fmt_http_date(at)).ok()
        } else {
            Some(HeaderValue::from(secs))
        };
        if let Some(value) = value {
            headers.insert("retry-after", value);
        }
    }
    if let Some(ms) = behavior.retry_after_ms {
        headers.insert("retry-after-ms", HeaderValue::from(ms));
    }
    if let Some(ms) = behavior.x_ms_retry_after_ms {
        headers.insert("x-ms-retry-after-ms", HeaderValue::from(ms));
    }
}

/// The wait a 429 message quotes, in whole seconds: the configured retry-after,
/// else the millisecond hints rounded up, else 1.
pub(crate) fn retry_secs(behavior: &Behavior) -> u64 {
    behavior
        .retry_after_secs
        .or(behavior
            .retry_after_ms
            .or(behavior.x_ms_retry_after_ms)
            .map(|ms| ms.div_ceil(1000)))
        .unwrap_or(1)
}

/// Azure's classic 429: `code` is the string "429" and there is no `type`.
fn rate_limited(behavior: &Behavior, operation: &str, api_version: &str) -> String {
    let secs = retry_secs(behavior);
    let message = format!(
        "Requests to the {operation} Operation under Azure OpenAI API version {api_version} have \
         exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after \
         {secs} seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to \
         further increase the default rate limit."
    );
    serde_json::json!({"error": {"code": "429", "message": message}}).to_string()
}
