//! The one error type at the HTTP boundary.
//!
//! Every error the gateway makes itself leaves as OpenAI's envelope
//! `{"error":{"message","type","param","code"}}` with a stable `code`, so SDKs surface it the
//! same way they surface api.openai.com's own errors. Upstream errors are never rewritten: they
//! pass through with their status, headers and body.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

/// Where a failure came from; drives retries and what operators are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connect,
    FirstByte,
    Total,
}

impl Phase {
    fn describe(self) -> &'static str {
        match self {
            Self::Connect => "connecting to",
            Self::FirstByte => "waiting for response headers from",
            Self::Total => "waiting for the whole response from",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("We could not parse the JSON body of your request: {0}")]
    InvalidJson(String),
    #[error("{message}")]
    InvalidRequest {
        message: String,
        param: Option<&'static str>,
        code: &'static str,
    },
    /// An inline request image the gateway had to decode and could not. Its own variant because
    /// `param` names where the image sits (`messages[0].content[1].image_url.url`), which no
    /// static string can.
    #[error("{message}")]
    InvalidImage { message: String, param: String },
    #[error(
        "You didn't provide an API key. Send it as `Authorization: Bearer KEY`, `api-key: KEY` \
         or `x-api-key: KEY`."
    )]
    MissingApiKey,
    #[error("Incorrect API key provided.")]
    InvalidApiKey,
    #[error("The model `{0}` does not exist or you do not have access to it.")]
    ModelNotFound(String),
    #[error("Invalid URL ({method} {path})")]
    NotFound { method: String, path: String },
    #[error("Method {method} is not allowed for {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error("Request body is larger than the limit of {limit} bytes.")]
    PayloadTooLarge { limit: u64 },
    #[error("The upstream `{upstream}` could not be reached: {detail}")]
    UpstreamUnreachable { upstream: String, detail: String },
    #[error("Timed out {} the upstream `{upstream}` after {ms} ms.", phase.describe())]
    UpstreamTimeout {
        upstream: String,
        phase: Phase,
        ms: u64,
    },
    #[error(
        "Could not get an Entra ID token for upstream `{upstream}` ({credential} credential). \
         The gateway log has the identity provider's answer; POST /admin/api/verify-auth \
         checks every upstream's credential."
    )]
    UpstreamAuthFailed {
        upstream: String,
        credential: &'static str,
    },
    #[error(
        "All deployments of model `{model}` are rate limited; retry after {} ms.",
        retry_after.as_millis()
    )]
    PoolThrottled {
        model: String,
        retry_after: Duration,
    },
    #[error(
        "No deployment of model `{model}` is available (their circuit breakers are open); \
         retry after {} ms.",
        retry_after.as_millis()
    )]
    PoolUnavailable {
        model: String,
        retry_after: Duration,
    },
    #[error("{0}")]
    NotSupported(String),
    #[error(
        "The admin API is disabled: set server.adminAuth.password (or GATEWAY_ADMIN_PASSWORD)."
    )]
    AdminDisabled,
    #[error("Admin credentials are missing or wrong.")]
    AdminUnauthorized,
    /// `/metrics` with `server.metrics.auth: bearer` and no or the wrong token.
    #[error("The metrics bearer token is missing or wrong.")]
    MetricsUnauthorized,
    #[error(
        "The usage ledger is disabled: set server.usage.enabled to true and restart the gateway."
    )]
    UsageLedgerDisabled,
    #[error("Internal error: {0}")]
    Internal(String),
    /// An error in the client dialect's own shape: Azure's and Model Inference's bodies differ
    /// from OpenAI's, and their SDKs and users expect them byte for byte
    /// ([`crate::inbound::shapes`]). `code` is the stable name for logs and tests.
    #[error("{message}")]
    Shaped {
        status: StatusCode,
        code: &'static str,
        message: String,
        body: String,
    },
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    message: String,
    #[serde(rename = "type")]
    kind: &'static str,
    param: Option<&'a str>,
    code: &'static str,
}

impl GatewayError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidJson(_) | Self::InvalidRequest { .. } | Self::InvalidImage { .. } => {
                StatusCode::BAD_REQUEST
            }
            Self::MissingApiKey
            | Self::InvalidApiKey
            | Self::AdminUnauthorized
            | Self::MetricsUnauthorized => StatusCode::UNAUTHORIZED,
            Self::AdminDisabled => StatusCode::FORBIDDEN,
            Self::ModelNotFound(_) | Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UpstreamUnreachable { .. } | Self::UpstreamAuthFailed { .. } => {
                StatusCode::BAD_GATEWAY
            }
            Self::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::PoolThrottled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PoolUnavailable { .. } | Self::UsageLedgerDisabled => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::NotSupported(_) => StatusCode::NOT_IMPLEMENTED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Shaped { status, .. } => *status,
        }
    }

    /// OpenAI's `type` field.
    fn kind(&self) -> &'static str {
        match self {
            Self::UpstreamUnreachable { .. }
            | Self::UpstreamTimeout { .. }
            | Self::UpstreamAuthFailed { .. }
            | Self::PoolUnavailable { .. } => "upstream_error",
            Self::PoolThrottled { .. } => "rate_limit_error",
            Self::Internal(_) | Self::UsageLedgerDisabled => "server_error",
            Self::AdminDisabled | Self::AdminUnauthorized | Self::MetricsUnauthorized => {
                "authentication_error"
            }
            _ => "invalid_request_error",
        }
    }

    /// The stable machine-readable `code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson(_) => "invalid_json",
            Self::InvalidRequest { code, .. } => code,
            Self::InvalidImage { .. } => "invalid_image",
            Self::MissingApiKey | Self::InvalidApiKey => "invalid_api_key",
            Self::ModelNotFound(_) => "model_not_found",
            Self::NotFound { .. } => "unknown_url",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::PayloadTooLarge { .. } => "request_too_large",
            Self::UpstreamUnreachable { .. } => "upstream_unreachable",
            Self::UpstreamTimeout {
                phase: Phase::Connect,
                ..
            } => "upstream_connect_timeout",
            Self::UpstreamTimeout {
                phase: Phase::FirstByte,
                ..
            } => "upstream_first_byte_timeout",
            Self::UpstreamTimeout {
                phase: Phase::Total,
                ..
            } => "upstream_timeout",
            Self::UpstreamAuthFailed { .. } => "upstream_auth_failed",
            Self::PoolThrottled { .. } => "rate_limit_exceeded",
            Self::PoolUnavailable { .. } => "no_deployment_available",
            Self::NotSupported(_) => "not_supported",
            Self::AdminDisabled => "admin_disabled",
            Self::AdminUnauthorized => "admin_unauthorized",
            Self::MetricsUnauthorized => "metrics_unauthorized",
            Self::UsageLedgerDisabled => "usage_ledger_disabled",
            Self::Internal(_) => "internal_error",
            Self::Shaped { code, .. } => code,
        }
    }

    fn param(&self) -> Option<&str> {
        match self {
            Self::InvalidRequest { param, .. } => *param,
            Self::InvalidImage { param, .. } => Some(param),
            Self::ModelNotFound(_) => Some("model"),
            _ => None,
        }
    }

    /// Whether the failure lies with an upstream (unreachable, timed out, throttled, refused
    /// the gateway's credential) rather than with the request or the gateway's own policy.
    pub fn is_upstream(&self) -> bool {
        match self {
            Self::UpstreamUnreachable { .. }
            | Self::UpstreamTimeout { .. }
            | Self::UpstreamAuthFailed { .. }
            | Self::PoolThrottled { .. }
            | Self::PoolUnavailable { .. } => true,
            Self::Shaped { status, .. } => status.is_server_error(),
            _ => false,
        }
    }

    /// Whether the same request may succeed on another attempt (nothing reached the upstream
    /// application yet).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::UpstreamUnreachable { .. }
                | Self::UpstreamTimeout {
                    phase: Phase::Connect,
                    ..
                }
        )
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Shaped { body, .. } = self {
            let mut response = (status, body).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            return response;
        }
        let envelope = Envelope {
            error: Body {
                message: self.to_string(),
                kind: self.kind(),
                param: self.param(),
                code: self.code(),
            },
        };
        let body = serde_json::to_vec(&envelope).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Self::PoolThrottled { retry_after, .. } | Self::PoolUnavailable { retry_after, .. } =
            &self
        {
            // Both forms, as Azure sends them: the SDKs read `retry-after-ms` first.
            let ms = u64::try_from(retry_after.as_millis())
                .unwrap_or(u64::MAX)
                .max(1);
            headers.insert("retry-after-ms", HeaderValue::from(ms));
            headers.insert("retry-after", HeaderValue::from(ms.div_ceil(1000)));
        }
        if matches!(self, Self::AdminUnauthorized) {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"aoai-gateway admin\", charset=\"UTF-8\""),
            );
        }
        if matches!(self, Self::MetricsUnauthorized) {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"aoai-gateway metrics\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(err: GatewayError) -> (StatusCode, serde_json::Value) {
        let response = err.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn envelope_is_openai_shaped() {
        let (status, json) = body_json(GatewayError::ModelNotFound("nope".into())).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(json["error"]["code"], "model_not_found");
        assert_eq!(json["error"]["type"], "invalid_request_error");
        assert_eq!(json["error"]["param"], "model");
        assert!(json["error"]["message"].as_str().unwrap().contains("nope"));
    }

    #[tokio::test]
    async fn an_exhausted_pool_says_when_to_come_back() {
        let err = GatewayError::PoolThrottled {
            model: "gpt-4o".into(),
            retry_after: Duration::from_millis(1234),
        };
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after-ms"], "1234");
        assert_eq!(response.headers()["retry-after"], "2");
        let err = GatewayError::PoolUnavailable {
            model: "gpt-4o".into(),
            retry_after: Duration::ZERO,
        };
        assert_eq!(err.code(), "no_deployment_available");
        let (status, json) = body_json(err).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("`gpt-4o`")
        );
    }

    #[tokio::test]
    async fn an_invalid_image_names_where_it_sits() {
        let err = GatewayError::InvalidImage {
            message: "bad".into(),
            param: "messages[0].content[1].image_url.url".into(),
        };
        let (status, json) = body_json(err).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json["error"]["code"], "invalid_image");
        assert_eq!(json["error"]["type"], "invalid_request_error");
        assert_eq!(
            json["error"]["param"],
            "messages[0].content[1].image_url.url"
        );
    }

    #[tokio::test]
    async fn timeouts_name_their_phase() {
        let err = GatewayError::UpstreamTimeout {
            upstream: "east".into(),
            phase: Phase::FirstByte,
            ms: 50,
        };
        let (status, json) = body_json(err).await;
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(json["error"]["code"], "upstream_first_byte_timeout");
        assert_eq!(json["error"]["param"], serde_json::Value::Null);
    }
}
