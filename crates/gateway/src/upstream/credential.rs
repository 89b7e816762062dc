//! How the gateway proves itself to an upstream.
//!
//! A static credential becomes one pre-built, sensitive header value at config load, so the hot
//! path only clones it. Passthrough forwards the client's own key in the header the upstream's
//! dialect expects.

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue};

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
    /// An Entra ID mode this build cannot mint tokens for.
    Unavailable(AuthMode),
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
            mode => Ok(Self::Unavailable(mode)),
        }
    }

    /// Adds the credential to an upstream request's headers.
    pub fn apply(
        &self,
        headers: &mut HeaderMap,
        client: &ClientIdentity,
        kind: UpstreamKind,
        upstream: &str,
    ) -> Result<(), GatewayError> {
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
            Self::Unavailable(mode) => {
                return Err(GatewayError::UpstreamAuthUnavailable {
                    upstream: upstream.to_owned(),
                    mode: format!("{mode:?}"),
                });
            }
        }
        Ok(())
    }
}
