//! Data-plane authentication. With keys (the default), Azure accepts the key as `api-key`
//! or as `Authorization: Bearer`. With [`MockConfig::entra`](crate::MockConfig::entra) set,
//! the resource behaves like one with local auth disabled: only an Entra Bearer token the
//! mock's [`TokenAuthority`](crate::TokenAuthority) issued is accepted.

use axum::response::Response;
use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::errors;
use crate::state::Shared;

/// The key the client presented. `api-key` wins when both headers are present,
/// so a test can tell which one the gateway sent.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get("api-key") {
        return value.to_str().ok().map(str::trim);
    }
    bearer(headers)
}

/// The `Authorization: Bearer` credential, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// `expected: None` accepts any non-empty key.
pub(crate) fn authorized(expected: Option<&str>, headers: &HeaderMap) -> bool {
    match presented_key(headers) {
        Some(key) if !key.is_empty() => expected.is_none_or(|want| want == key),
        _ => false,
    }
}

/// The data plane's auth check: `None` lets the request through, `Some` is Azure's 401.
pub(crate) fn gate(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let Some(authority) = &shared.entra else {
        return (!authorized(shared.key.as_deref(), headers)).then(errors::unauthorized);
    };
    if headers.contains_key("api-key") {
        return Some(errors::key_auth_disabled());
    }
    let token = bearer(headers).filter(|t| !t.is_empty());
    match token.map(|t| authority.verify(t, &shared.token_audiences)) {
        Some(Ok(_)) => None,
        Some(Err(_)) | None => {
            authority.note_rejection();
            Some(errors::token_unauthorized())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, http::HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn accepts_either_header() {
        assert!(authorized(Some("k"), &headers(&[("api-key", "k")])));
        assert!(authorized(
            Some("k"),
            &headers(&[("authorization", "Bearer k")])
        ));
        assert!(authorized(
            None,
            &headers(&[("authorization", "bearer any")])
        ));
    }

    #[test]
    fn rejects_missing_wrong_or_empty() {
        assert!(!authorized(None, &headers(&[])));
        assert!(!authorized(None, &headers(&[("api-key", "")])));
        assert!(!authorized(Some("k"), &headers(&[("api-key", "x")])));
        assert!(!authorized(
            Some("k"),
            &headers(&[("authorization", "Basic k")])
        ));
        assert!(!authorized(
            Some("k"),
            &headers(&[("api-key", "x"), ("authorization", "Bearer k")])
        ));
    }
}
