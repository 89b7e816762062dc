//! How the gateway proves itself to an upstream.
//!
//! A static credential becomes one pre-built, sensitive header value at config load, so the hot
//! path only clones it. Passthrough forwards the client's own key in the header the upstream's
//! dialect expects. Entra ID credentials take the current token from their cache
//! ([`super::entra`]), which waits only when it has no usable token.

use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use tokio::time::Instant;

use super::entra::{self, TokenSource};
use crate::call::ClientIdentity;
use crate::config::{AuthConfig, AuthMode, UpstreamKind};
use crate::error::GatewayError;

const API_KEY: HeaderName = HeaderName::from_static("api-key");

#[derive(Debug, Clone)]
pub enum Credential {
    /// A fixed header (`api-key: …` or `Authorization: Bearer …`).
    Static(HeaderName, HeaderValue),
    /// The client's key, in the header this upstream kind expects.
    Passthrough,
    /// Nothing is sent.
    None,
    /// An Entra ID token from a shared cache.
    Entra(Arc<TokenSource>),
}

fn sensitive(value: &str) -> Result<HeaderValue, String> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| "contains characters not allowed in an HTTP header".to_owned())?;
    v.set_sensitive(true);
    Ok(v)
}

/// The header a key travels in for this upstream kind: Azure OpenAI's `api-key`, or Bearer for
/// OpenAI-compatible engines and Model Inference (whose documented scheme is a Bearer key).
fn key_header(kind: UpstreamKind, key: &str) -> Result<(HeaderName, HeaderValue), String> {
    match kind {
        UpstreamKind::Azure | UpstreamKind::AzureV1 => Ok((API_KEY, sensitive(key)?)),
        UpstreamKind::Openai | UpstreamKind::Inference => {
            Ok((AUTHORIZATION, sensitive(&format!("Bearer {key}"))?))
        }
    }
}

impl Credential {
    pub fn from_config(auth: &AuthConfig, kind: UpstreamKind) -> Result<Self, String> {
        match auth.mode {
            AuthMode::ApiKey => {
                let (name, value) = key_header(kind, &auth.api_key)?;
                Ok(Self::Static(name, value))
            }
            AuthMode::Bearer => Ok(Self::Static(
                AUTHORIZATION,
                sensitive(&format!("Bearer {}", auth.token))?,
            )),
            AuthMode::Passthrough => Ok(Self::Passthrough),
            AuthMode::None => Ok(Self::None),
            AuthMode::ServicePrincipal
            | AuthMode::ManagedIdentity
            | AuthMode::WorkloadIdentity
            | AuthMode::AzureCli
            | AuthMode::DefaultChain => entra::source(auth).map(Self::Entra),
        }
    }

    /// The token source, for Entra ID credentials.
    pub fn entra(&self) -> Option<&Arc<TokenSource>> {
        match self {
            Self::Entra(source) => Some(source),
            _ => None,
        }
    }

    /// Adds the credential to an upstream request's headers. For Entra ID, returns the token
    /// sent, so a 401 can replace exactly that one ([`Self::renewed_after`]).
    pub async fn apply(
        &self,
        headers: &mut HeaderMap,
        client: &ClientIdentity,
        kind: UpstreamKind,
        upstream: &str,
        deadline: Instant,
    ) -> Result<Option<HeaderValue>, GatewayError> {
        match self {
            Self::Static(name, value) => {
                headers.insert(name.clone(), value.clone());
            }
            Self::Passthrough => {
                let ClientIdentity::Passthrough(key) = client else {
                    return Err(GatewayError::Internal(format!(
                        "upstream `{upstream}` expects the client's key but none was kept"
                    )));
                };
                let (name, value) =
                    key_header(kind, key).map_err(|_| GatewayError::InvalidApiKey)?;
                headers.insert(name, value);
            }
            Self::None => {}
            Self::Entra(source) => {
                // The identity provider's answer is logged once per mint (`entra::cache`), not
                // once per request that finds no token.
                let token = source.token(deadline).await.map_err(|_| {
                    tracing::debug!(upstream, "no Entra ID token");
                    GatewayError::UpstreamAuthFailed {
                        upstream: upstream.to_owned(),
                        credential: source.spec().mode.as_str(),
                    }
                })?;
                headers.insert(AUTHORIZATION, token.header.clone());
                return Ok(Some(token.header.clone()));
            }
        }
        Ok(None)
    }

    /// Whether an attempt is to be sent once more: the upstream answered 401 (`status`) to a
    /// request that carried the Entra ID token `sent`, and a different token is now in place.
    /// Callers ask once per attempt, so a request is resent at most once.
    pub async fn renewed_after(
        &self,
        sent: Option<&HeaderValue>,
        status: Option<StatusCode>,
        upstream: &str,
        deadline: Instant,
    ) -> bool {
        let (Self::Entra(source), Some(sent), Some(StatusCode::UNAUTHORIZED)) =
            (self, sent, status)
        else {
            return false;
        };
        let renewed = source.replace(sent, deadline).await.is_some();
        tracing::info!(upstream, renewed, "upstream refused the Entra ID token");
        renewed
    }
}
