//! Managed identity: the App Service / Container Apps endpoint (`GET /msi/token`, header
//! `x-identity-header`) and an IMDS stand-in (`GET /metadata/identity/oauth2/token`, header
//! `Metadata: true`), with the reply shapes `azure_identity` parses: `expires_on` (and on
//! IMDS `expires_in`, `not_before`) as numeric *strings* (WIRE-FACTS A4).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::json;

use super::{EntraState, TokenEndpoint, TokenRequest};
use crate::{errors, ids};

/// A refusal: status, the code recorded in [`TokenRequest::error_code`], and the body.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    body: serde_json::Value,
}

/// The query string's parameters, percent-decoded, first value winning.
fn params(query: Option<&str>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        out.entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    out
}

/// The client id of the identity asked for: a configured user-assigned one when
/// `client_id` is given, else the system-assigned one if enabled. Other selectors
/// (`object_id`, `principal_id`, `mi_res_id`, `msi_res_id`) name nothing this mock knows.
fn identity(state: &EntraState, params: &HashMap<String, String>) -> Option<String> {
    let other = ["object_id", "principal_id", "mi_res_id", "msi_res_id"];
    if other.iter().any(|name| params.contains_key(*name)) {
        return None;
    }
    match params.get("client_id") {
        Some(id) => state
            .user_identities
            .iter()
            .find(|known| known.eq_ignore_ascii_case(id))
            .cloned(),
        None => state
            .system_identity
            .then(|| state.system_client_id.clone()),
    }
}

/// Records the request, sleeps the configured delay and sends the answer.
async fn finish(
    state: &EntraState,
    endpoint: TokenEndpoint,
    params: &HashMap<String, String>,
    outcome: Result<serde_json::Value, Refusal>,
) -> Response {
    state.delay().await;
    state.record(TokenRequest {
        endpoint,
        client_id: params.get("client_id").cloned(),
        scope_or_resource: params.get("resource").cloned().unwrap_or_default(),
        grant: "managed_identity".to_owned(),
        ok: outcome.is_ok(),
        error_code: outcome.as_ref().err().map(|r| r.code.to_owned()),
    });
    match outcome {
        Ok(body) => errors::json(StatusCode::OK, body.to_string()),
        Err(refusal) => errors::json(refusal.status, refusal.body.to_string()),
    }
}

/// App Service's error shape: `{"statusCode","message","correlationId"}`.
fn app_service_refusal(status: StatusCode, code: &'static str, message: &str) -> Refusal {
    Refusal {
        status,
        code,
        body: json!({
            "statusCode": status.as_u16(),
            "message": message,
            "correlationId": ids::uuid(),
        }),
    }
}

/// `GET /msi/token?api-version=2019-08-01&resource=…[&client_id=…]`.
pub(super) async fn app_service(
    State(state): State<Arc<EntraState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = params(query.as_deref());
    let outcome = app_service_token(&state, &params, &headers);
    finish(&state, TokenEndpoint::AppService, &params, outcome).await
}

fn app_service_token(
    state: &EntraState,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<serde_json::Value, Refusal> {
    let presented = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok());
    if presented != Some(state.identity_header.as_str()) {
        return Err(app_service_refusal(
            StatusCode::UNAUTHORIZED,
            "UnauthorizedRequest",
            "The X-IDENTITY-HEADER header is missing or does not match this environment's \
             IDENTITY_HEADER.",
        ));
    }
    if params.get("api-version").is_none_or(String::is_empty) {
        return Err(app_service_refusal(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The api-version query parameter is required.",
        ));
    }
    let Some(resource) = params.get("resource").filter(|r| !r.is_empty()) else {
        return Err(app_service_refusal(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The resource query parameter is required.",
        ));
    };
    let Some(client_id) = identity(state, params) else {
        return Err(app_service_refusal(
            StatusCode::BAD_REQUEST,
            "IdentityNotFound",
            "No User Assigned or Delegated Managed Identity found for specified \
             ClientId/ResourceId/PrincipalId.",
        ));
    };
    let issued = state.authority.mint(
        &client_id,
        &state.identity_tenant,
        resource,
        state.lifetime(),
    );
    Ok(json!({
        "access_token": issued.access_token,
        "expires_on": issued.expires_on.to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": client_id,
    }))
}

/// IMDS's error shape: `{"error","error_description"}`.
fn imds_refusal(description: &str) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_request",
        body: json!({"error": "invalid_request", "error_description": description}),
    }
}

/// `GET /metadata/identity/oauth2/token?api-version=…&resource=…[&client_id=…]`.
pub(super) async fn imds(
    State(state): State<Arc<EntraState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = params(query.as_deref());
    let outcome = imds_token(&state, &params, &headers);
    finish(&state, TokenEndpoint::Imds, &params, outcome).await
}

fn imds_token(
    state: &EntraState,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<serde_json::Value, Refusal> {
    let metadata = headers.get("metadata").and_then(|v| v.to_str().ok());
    if !metadata.is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(imds_refusal("Required metadata header not specified"));
    }
    if params.get("api-version").is_none_or(String::is_empty) {
        return Err(imds_refusal(
            "Required query variable 'api-version' is missing",
        ));
    }
    let Some(resource) = params.get("resource").filter(|r| !r.is_empty()) else {
        return Err(imds_refusal(
            "Required query variable 'resource' is missing",
        ));
    };
    let Some(client_id) = identity(state, params) else {
        return Err(imds_refusal("Identity not found"));
    };
    let issued = state.authority.mint(
        &client_id,
        &state.identity_tenant,
        resource,
        state.lifetime(),
    );
    let not_before = issued.expires_on.saturating_sub(issued.expires_in);
    Ok(json!({
        "access_token": issued.access_token,
        "refresh_token": "",
        "expires_in": issued.expires_in.to_string(),
        "expires_on": issued.expires_on.to_string(),
        "not_before": not_before.to_string(),
        "resource": resource,
        "token_type": "Bearer",
    }))
}
