//! The STS token endpoint, `POST /{tenant}/oauth2/v2.0/token` (client credentials), with
//! Entra's success body and its error bodies (`error`, `error_description` ending in the
//! trace/correlation/timestamp line, `error_codes`, `error_uri`), because `azure_identity`
//! surfaces `error_description` to the gateway's logs and tests match on the AADSTS code.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;

use super::{EntraApp, EntraState, TokenEndpoint, TokenRequest};
use crate::{errors, ids};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A refusal: HTTP status, OAuth `error`, AADSTS number and message (without the prefix).
struct Refusal {
    status: StatusCode,
    error: &'static str,
    code: u32,
    message: String,
}

fn refuse(status: StatusCode, error: &'static str, code: u32, message: String) -> Refusal {
    Refusal {
        status,
        error,
        code,
        message,
    }
}

fn missing(field: &str) -> Refusal {
    refuse(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900_144,
        format!("The request body must contain the following parameter: '{field}'."),
    )
}

/// The form body, first value of each field winning.
fn form(body: &[u8]) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        fields
            .entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    fields
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(super) async fn token(
    State(state): State<Arc<EntraState>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let fields = form(&body);
    let field = |name: &str| fields.get(name).map(String::as_str);
    let grant = if field("client_assertion").is_some() {
        "client_assertion"
    } else if field("client_secret").is_some() {
        "client_secret"
    } else {
        "none"
    };
    let outcome = issue(&state, &tenant, &fields);
    state.delay().await;
    state.record(TokenRequest {
        endpoint: TokenEndpoint::Sts,
        client_id: field("client_id").map(str::to_owned),
        scope_or_resource: field("scope").unwrap_or_default().to_owned(),
        grant: grant.to_owned(),
        ok: outcome.is_ok(),
        error_code: outcome.as_ref().err().map(|r| format!("AADSTS{}", r.code)),
    });
    match outcome {
        Ok(body) => errors::json(StatusCode::OK, body),
        Err(refusal) => error_answer(&refusal),
    }
}

/// Checks the request the way Entra does (grant, scope, tenant, app, credential) and
/// issues the token; `Ok` is the success body.
fn issue(
    state: &EntraState,
    tenant: &str,
    fields: &HashMap<String, String>,
) -> Result<String, Refusal> {
    let field = |name: &str| fields.get(name).map(String::as_str);
    let grant_type = field("grant_type").unwrap_or_default();
    if grant_type != "client_credentials" {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70_003,
            format!("The app requested an unsupported grant type '{grant_type}'."),
        ));
    }
    let audience = audience(field("scope"))?;
    let client_id = field("client_id").ok_or_else(|| missing("client_id"))?;
    let app = find_app(state, tenant, client_id)?;
    if let Some(assertion) = field("client_assertion") {
        if field("client_assertion_type") != Some(JWT_BEARER) {
            return Err(missing("client_assertion_type"));
        }
        if !state.assertion_matches(client_id, assertion) {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "invalid_client",
                70_021,
                "No matching federated identity record found for presented assertion. \
                 Please check your federated identity credential Subject, Audience and Issuer \
                 against the presented assertion."
                    .to_owned(),
            ));
        }
    } else if let Some(secret) = field("client_secret") {
        if app.secret.as_deref() != Some(secret) {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7_000_215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the \
                     request is the client secret value, not the client secret ID, for a \
                     secret added to app '{client_id}'."
                ),
            ));
        }
    } else {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_218,
            "The request body must contain the following parameter: 'client_assertion' or \
             'client_secret'."
                .to_owned(),
        ));
    }
    let lifetime = state.lifetime();
    let issued = state
        .authority
        .mint(client_id, &app.tenant, audience, lifetime);
    let body = serde_json::json!({
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "ext_expires_in": issued.expires_in,
        "access_token": issued.access_token,
    });
    Ok(body.to_string())
}

/// The audience of the one `…/.default` scope a client-credentials request may carry.
fn audience(scope: Option<&str>) -> Result<&str, Refusal> {
    let scope = scope.map(str::trim).unwrap_or_default();
    let mut scopes = scope.split_whitespace();
    let (Some(only), None) = (scopes.next(), scopes.next()) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70_011,
            format!(
                "The provided request must include a 'scope' input parameter. The provided \
                 value for the input parameter 'scope' is not valid. The scope '{scope}' is \
                 not valid."
            ),
        ));
    };
    match only.strip_suffix("/.default") {
        Some(audience) if !audience.is_empty() => Ok(audience),
        _ => Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1_002_012,
            format!(
                "The provided value for scope {only} is not valid. Client credential flows \
                 must have a scope value with /.default suffixed to the resource identifier \
                 (application ID URI)."
            ),
        )),
    }
}

/// The app registration `client_id` in `tenant` (tenants compare case-insensitively).
fn find_app<'a>(
    state: &'a EntraState,
    tenant: &str,
    client_id: &str,
) -> Result<&'a EntraApp, Refusal> {
    let mut in_tenant = state
        .apps
        .iter()
        .filter(|app| app.tenant.eq_ignore_ascii_case(tenant))
        .peekable();
    if in_tenant.peek().is_none() {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90_002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant \
                 ID and are signing into the correct cloud. Check with your subscription \
                 administrator, this may happen if there are no active subscriptions for the \
                 tenant."
            ),
        ));
    }
    in_tenant
        .find(|app| app.client_id.eq_ignore_ascii_case(client_id))
        .ok_or_else(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                700_016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory \
                     '{tenant}'. This can happen if the application has not been installed by \
                     the administrator of the tenant or consented to by any user in the \
                     tenant. You may have sent your authentication request to the wrong \
                     tenant."
                ),
            )
        })
}

/// Entra's error body, with fresh trace and correlation ids and the current time.
fn error_answer(refusal: &Refusal) -> Response {
    let (trace, correlation) = (ids::uuid(), ids::uuid());
    let timestamp = timestamp(ids::unix_now());
    let code = refusal.code;
    let description = format!(
        "AADSTS{code}: {} \r\nTrace ID: {trace} Correlation ID: {correlation} Timestamp: {timestamp}",
        refusal.message
    );
    let body = serde_json::json!({
        "error": refusal.error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    errors::json(refusal.status, body.to_string())
}

/// `yyyy-mm-dd hh:mm:ssZ` (UTC), Entra's `timestamp` format.
fn timestamp(unix: u64) -> String {
    let (days, secs) = (unix / 86_400, unix % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00Z");
        // 2025-04-04 21:10:04Z, the timestamp in WIRE-FACTS A4's sample.
        assert_eq!(timestamp(1_743_801_004), "2025-04-04 21:10:04Z");
        assert_eq!(timestamp(951_782_400), "2000-02-29 00:00:00Z");
    }

    #[test]
    fn scope_rules() {
        let cog = Some("https://cognitiveservices.azure.com/.default");
        assert_eq!(
            audience(cog).ok(),
            Some("https://cognitiveservices.azure.com")
        );
        assert_eq!(audience(None).err().map(|r| r.code), Some(70_011));
        assert_eq!(
            audience(Some("a/.default b/.default"))
                .err()
                .map(|r| r.code),
            Some(70_011)
        );
        assert_eq!(
            audience(Some("https://ai.azure.com")).err().map(|r| r.code),
            Some(1_002_012)
        );
    }
}
