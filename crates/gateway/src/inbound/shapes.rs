//! Which dialect a request arrived in, and the error bodies that dialect's clients expect.
//!
//! The gateway's own errors are OpenAI-shaped, except where an Azure-style client would see a
//! different body from Azure itself: a missing `api-version`, an unknown deployment or a bad key
//! on the Azure routes, and Model Inference's api-version, extra-parameter and model errors
//! (WIRE-FACTS A1, A5, A6). Those bodies are reproduced here so a client cannot tell the gateway
//! from the service it replaces.

use http::StatusCode;
use serde_json::json;

use crate::error::GatewayError;

/// The client-facing dialect of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `/v1/*`, as api.openai.com serves it.
    OpenAi,
    /// Azure OpenAI: `/openai/deployments/{d}/…`, `/openai/responses`, `/openai/v1/…`.
    Azure,
    /// Azure AI Model Inference: `/chat/completions`, `/embeddings`, `/info`, with or without
    /// the `/models` prefix.
    Inference,
}

/// Azure's answer to a legacy route without `api-version` (yes, a 404: WIRE-FACTS A1).
const RESOURCE_NOT_FOUND: &str = r#"{"error":{"code":"404","message":"Resource not found"}}"#;

const DEPLOYMENT_NOT_FOUND: &str = r#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}"#;

const ACCESS_DENIED: &str = r#"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#;

fn shaped(status: StatusCode, code: &'static str, message: &str, body: String) -> GatewayError {
    GatewayError::Shaped {
        status,
        code,
        message: message.to_owned(),
        body,
    }
}

/// Azure's `{"error":{"code":"BadRequest","message":…}}`.
fn bad_request(code: &'static str, message: &str) -> GatewayError {
    let body = json!({"error": {"code": "BadRequest", "message": message}}).to_string();
    shaped(StatusCode::BAD_REQUEST, code, message, body)
}

/// A legacy Azure route without `api-version`.
pub fn resource_not_found() -> GatewayError {
    shaped(
        StatusCode::NOT_FOUND,
        "resource_not_found",
        "Resource not found",
        RESOURCE_NOT_FOUND.to_owned(),
    )
}

/// Model Inference without `api-version`.
pub fn inference_api_version_missing() -> GatewayError {
    bad_request(
        "missing_api_version",
        "Missing required query parameter: api-version",
    )
}

/// Model Inference with an `api-version` it never had.
pub fn inference_api_version_unsupported() -> GatewayError {
    bad_request("unsupported_api_version", "API version not supported")
}

/// An `extra-parameters` header that is none of the three documented values.
pub fn extra_parameters_header(value: &str) -> GatewayError {
    bad_request(
        "invalid_extra_parameters",
        &format!(
            "Invalid value '{value}' for header 'extra-parameters'; expected 'error', 'drop' or \
             'pass-through'."
        ),
    )
}

/// Model Inference with several models behind the gateway and none named.
pub fn inference_model_required() -> GatewayError {
    bad_request(
        "model_required",
        "This endpoint serves several models: name one in the body's 'model' or in the \
         'azureml-model-deployment' header.",
    )
}

/// `extra-parameters: error` (the default) and parameters the API does not define: Model
/// Inference's 422, naming every extra key and the first one's location and value.
pub fn extra_parameters_not_allowed(
    keys: &[&str],
    first_value: &serde_json::value::RawValue,
) -> GatewayError {
    let listed = keys
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let message = format!(
        "Extra parameters [{listed}] are not allowed when extra-parameters is not set or set to \
         be 'error'. Set extra-parameters to 'pass-through' to pass to the model."
    );
    let input: serde_json::Value =
        serde_json::from_str(first_value.get()).unwrap_or(serde_json::Value::Null);
    let first = keys.first().copied().unwrap_or_default();
    let body = json!({
        "status": 422,
        "code": "extra_parameters_not_allowed",
        "detail": {"loc": ["body", first], "input": input},
        "message": message,
    })
    .to_string();
    shaped(
        StatusCode::UNPROCESSABLE_ENTITY,
        "extra_parameters_not_allowed",
        &message,
        body,
    )
}

/// `err` as a client of `dialect` expects to see it.
pub fn in_dialect(dialect: Dialect, err: GatewayError) -> GatewayError {
    match (dialect, err) {
        (Dialect::Azure, GatewayError::MissingApiKey | GatewayError::InvalidApiKey) => shaped(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "Access denied due to invalid subscription key or wrong API endpoint.",
            ACCESS_DENIED.to_owned(),
        ),
        // On Azure the model a client names is a deployment name.
        (Dialect::Azure, GatewayError::ModelNotFound(_)) => shaped(
            StatusCode::NOT_FOUND,
            "deployment_not_found",
            "The API deployment for this resource does not exist.",
            DEPLOYMENT_NOT_FOUND.to_owned(),
        ),
        (_, err) => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    async fn body(err: GatewayError) -> (StatusCode, serde_json::Value) {
        let response = err.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn azure_bodies_are_azures() {
        let (status, json) = body(resource_not_found()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            json,
            json!({"error": {"code": "404", "message": "Resource not found"}})
        );
        let err = in_dialect(Dialect::Azure, GatewayError::ModelNotFound("x".into()));
        let (status, json) = body(err).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(json["error"]["code"], "DeploymentNotFound");
        let (status, json) = body(in_dialect(Dialect::Azure, GatewayError::InvalidApiKey)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(json["error"]["code"], "401");
        // Other dialects keep OpenAI's envelope.
        let err = in_dialect(Dialect::OpenAi, GatewayError::InvalidApiKey);
        assert_eq!(err.code(), "invalid_api_key");
        assert!(!matches!(err, GatewayError::Shaped { .. }));
    }

    #[tokio::test]
    async fn extra_parameters_422_names_every_key() {
        let raw = serde_json::value::RawValue::from_string("2".to_owned()).unwrap();
        let (status, json) = body(extra_parameters_not_allowed(&["n", "user"], &raw)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(json["status"], 422);
        assert_eq!(json["detail"], json!({"loc": ["body", "n"], "input": 2}));
        assert!(
            json["message"]
                .as_str()
                .unwrap()
                .starts_with("Extra parameters ['n', 'user'] are not allowed")
        );
    }
}
