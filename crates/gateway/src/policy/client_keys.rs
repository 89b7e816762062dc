//! Client keys: `Authorization: Bearer`, `x-api-key` or `api-key`, compared in constant time.
//!
//! Keys are kept only as SHA-256 digests; a presented key is hashed once and compared against
//! every configured digest with `subtle`, so neither the match nor its position leaks through
//! timing.

use std::sync::Arc;

use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::call::ClientIdentity;
use crate::config::{ApiKeyConfig, KeyStatus};
use crate::error::GatewayError;

#[derive(Debug)]
struct Entry {
    id: Arc<str>,
    digest: [u8; 32],
    active: bool,
}

/// The configured client keys, or passthrough mode.
#[derive(Debug)]
pub struct ClientKeys {
    entries: Vec<Entry>,
    passthrough: bool,
}

fn digest(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

/// The key a client presented, from the first of the three headers that carries one.
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        let token = v
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("bearer "))
            .map(|_| v[7..].trim());
        if let Some(t) = token.filter(|t| !t.is_empty()) {
            return Some(t);
        }
    }
    ["x-api-key", "api-key"]
        .into_iter()
        .filter_map(|h| headers.get(h).and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .find(|k| !k.is_empty())
}

impl ClientKeys {
    pub fn new(keys: &[ApiKeyConfig], passthrough: bool) -> Self {
        let entries = keys
            .iter()
            .map(|k| Entry {
                id: Arc::from(k.id.as_str()),
                digest: digest(k.key.as_bytes()),
                active: k.status == KeyStatus::Active,
            })
            .collect();
        Self {
            entries,
            passthrough,
        }
    }

    pub fn authenticate(&self, headers: &HeaderMap) -> Result<ClientIdentity, GatewayError> {
        self.authenticate_key(presented_key(headers))
    }

    /// Checks a key found elsewhere than the headers (the realtime routes also take one from
    /// the query or a WebSocket subprotocol); `None` is a missing key.
    pub fn authenticate_key(&self, key: Option<&str>) -> Result<ClientIdentity, GatewayError> {
        let key = key
            .filter(|k| !k.is_empty())
            .ok_or(GatewayError::MissingApiKey)?;
        if self.passthrough {
            return Ok(ClientIdentity::Passthrough(key.to_owned()));
        }
        let presented = digest(key.as_bytes());
        let mut found: Option<&Entry> = None;
        for entry in &self.entries {
            let hit: bool = entry.digest.ct_eq(&presented).into();
            if hit && found.is_none() {
                found = Some(entry);
            }
        }
        match found {
            Some(e) if e.active => Ok(ClientIdentity::Key(Arc::clone(&e.id))),
            _ => Err(GatewayError::InvalidApiKey),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> ClientKeys {
        ClientKeys::new(
            &[
                ApiKeyConfig {
                    id: "a".into(),
                    key: "sk-a".into(),
                    status: KeyStatus::Active,
                },
                ApiKeyConfig {
                    id: "d".into(),
                    key: "sk-d".into(),
                    status: KeyStatus::Disabled,
                },
            ],
            false,
        )
    }

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
    }

    #[test]
    fn accepts_each_header_form() {
        for (name, value) in [
            ("authorization", "Bearer sk-a"),
            ("x-api-key", "sk-a"),
            ("api-key", "sk-a"),
        ] {
            match keys().authenticate(&headers(name, value)) {
                Ok(ClientIdentity::Key(id)) => assert_eq!(&*id, "a"),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(
            keys()
                .authenticate(&headers("authorization", "bearer   sk-a "))
                .is_ok()
        );
    }

    #[test]
    fn rejects_missing_wrong_and_disabled() {
        let k = keys();
        assert!(matches!(
            k.authenticate(&HeaderMap::new()),
            Err(GatewayError::MissingApiKey)
        ));
        assert!(matches!(
            k.authenticate(&headers("authorization", "Basic sk-a")),
            Err(GatewayError::MissingApiKey)
        ));
        assert!(matches!(
            k.authenticate(&headers("api-key", "sk-b")),
            Err(GatewayError::InvalidApiKey)
        ));
        assert!(matches!(
            k.authenticate(&headers("api-key", "sk-d")),
            Err(GatewayError::InvalidApiKey)
        ));
    }

    #[test]
    fn passthrough_keeps_the_client_key() {
        let k = ClientKeys::new(&[], true);
        match k.authenticate(&headers("api-key", "azure-key")) {
            Ok(ClientIdentity::Passthrough(key)) => assert_eq!(key, "azure-key"),
            other => panic!("{other:?}"),
        }
        assert!(k.authenticate(&HeaderMap::new()).is_err());
    }
}
