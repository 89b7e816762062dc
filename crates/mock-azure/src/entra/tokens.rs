//! [`TokenAuthority`]: the registry of every token the mock identity provider issued.
//!
//! Tokens look like Entra access tokens (a JWT with `aud`, `iss`, `tid`, `appid`, `oid`,
//! `iat`, `nbf`, `exp`) so a client that peeks at them (expiry, tenant) sees real claims,
//! but the signature is 32 random bytes: the registry, not a signature check, decides
//! whether a token is valid. That makes revocation and "unknown token" exact, which a
//! signature check could not give.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;

/// A token as the mock handed it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: String,
    /// Expiry, Unix seconds.
    pub expires_on: u64,
    /// Lifetime in whole seconds, as `expires_in` reports it.
    pub expires_in: u64,
}

/// What a valid token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenClaims {
    /// The application (client) id the token was issued to.
    pub subject: String,
    pub audience: String,
    pub tenant: String,
    /// Expiry, Unix seconds.
    pub expires_on: u64,
}

/// Why [`TokenAuthority::verify`] refused a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenReject {
    /// Never issued by this authority (or not a token at all).
    Unknown,
    Expired,
    /// Issued before the last [`TokenAuthority::revoke_all`].
    Revoked,
    /// Issued for an audience the verifier does not accept.
    WrongAudience,
}

impl fmt::Display for TokenReject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unknown => "unknown token",
            Self::Expired => "token expired",
            Self::Revoked => "token revoked",
            Self::WrongAudience => "wrong audience",
        })
    }
}

/// One registry entry.
struct Entry {
    claims: TokenClaims,
    /// Precise expiry; `claims.expires_on` is its whole-second form.
    expires_at: SystemTime,
    /// Issue order; entries below [`Registry::revoked_below`] are revoked.
    serial: u64,
}

#[derive(Default)]
struct Registry {
    tokens: HashMap<String, Entry>,
    next_serial: u64,
    revoked_below: u64,
}

#[derive(Default)]
struct Inner {
    registry: Mutex<Registry>,
    rejected: AtomicUsize,
}

/// The registry of issued tokens; cheap to clone (an `Arc` inside), shared between the
/// identity provider ([`EntraServer`](crate::EntraServer)) and the data plane
/// ([`MockConfig::entra`](crate::MockConfig::entra)).
#[derive(Clone, Default)]
pub struct TokenAuthority {
    inner: Arc<Inner>,
}

impl fmt::Debug for TokenAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenAuthority")
            .field("issued", &self.issued_count())
            .field("rejected", &self.rejected_count())
            .finish()
    }
}

fn unix_secs(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Audiences compare without a trailing slash: Entra issues `https://x/` and `https://x`
/// interchangeably depending on how the resource was asked for.
fn same_audience(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

impl TokenAuthority {
    pub fn new() -> Self {
        Self::default()
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Issues a token for `subject` (an application or managed identity client id) in
    /// `tenant`, for `audience` (e.g. `https://cognitiveservices.azure.com`).
    pub fn mint(
        &self,
        subject: &str,
        tenant: &str,
        audience: &str,
        lifetime: Duration,
    ) -> IssuedToken {
        let now = SystemTime::now();
        let expires_at = now + lifetime;
        let (iat, exp) = (unix_secs(now), unix_secs(expires_at));
        let header = serde_json::json!({
            "typ": "JWT",
            "alg": "RS256",
            "x5t": "mock-azure-entra",
            "kid": "mock-azure-entra",
        });
        let claims = serde_json::json!({
            "aud": audience,
            "iss": format!("https://sts.windows.net/{tenant}/"),
            "iat": iat,
            "nbf": iat,
            "exp": exp,
            "appid": subject,
            "oid": subject,
            "sub": subject,
            "tid": tenant,
            "ver": "1.0",
        });
        let mut signature = [0u8; 32];
        rand::rng().fill(&mut signature);
        let access_token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(signature)
        );
        let mut registry = self.registry();
        let serial = registry.next_serial;
        registry.next_serial += 1;
        registry.tokens.insert(
            access_token.clone(),
            Entry {
                claims: TokenClaims {
                    subject: subject.to_owned(),
                    audience: audience.to_owned(),
                    tenant: tenant.to_owned(),
                    expires_on: exp,
                },
                expires_at,
                serial,
            },
        );
        IssuedToken {
            access_token,
            expires_on: exp,
            expires_in: lifetime.as_secs(),
        }
    }

    /// Every token issued so far is refused from now on; later ones are not affected.
    pub fn revoke_all(&self) {
        let mut registry = self.registry();
        registry.revoked_below = registry.next_serial;
    }

    /// The token's claims if this authority issued it, it is neither revoked nor expired,
    /// and its audience is one of `accepted_audiences`. Does not count rejections: the
    /// data plane does (see [`rejected_count`](Self::rejected_count)).
    pub fn verify(
        &self,
        token: &str,
        accepted_audiences: &[String],
    ) -> Result<TokenClaims, TokenReject> {
        let registry = self.registry();
        let entry = registry.tokens.get(token).ok_or(TokenReject::Unknown)?;
        if entry.serial < registry.revoked_below {
            return Err(TokenReject::Revoked);
        }
        if SystemTime::now() >= entry.expires_at {
            return Err(TokenReject::Expired);
        }
        if !accepted_audiences
            .iter()
            .any(|a| same_audience(a, &entry.claims.audience))
        {
            return Err(TokenReject::WrongAudience);
        }
        Ok(entry.claims.clone())
    }

    /// Tokens issued so far (by [`mint`](Self::mint) and the token endpoints).
    pub fn issued_count(&self) -> usize {
        self.registry().tokens.len()
    }

    /// Data-plane requests refused for a missing or invalid token.
    pub fn rejected_count(&self) -> usize {
        self.inner.rejected.load(Ordering::Relaxed)
    }

    /// Counts one data-plane refusal.
    pub(crate) fn note_rejection(&self) {
        self.inner.rejected.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const COG: &str = "https://cognitiveservices.azure.com";

    fn accepted() -> Vec<String> {
        vec![COG.to_owned()]
    }

    #[test]
    fn minted_token_is_a_jwt_with_entra_claims() {
        let authority = TokenAuthority::new();
        let issued = authority.mint("app", "tenant-1", COG, Duration::from_secs(60));
        let parts: Vec<&str> = issued.access_token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], COG);
        assert_eq!(claims["iss"], "https://sts.windows.net/tenant-1/");
        assert_eq!(claims["tid"], "tenant-1");
        assert_eq!(claims["appid"], "app");
        assert_eq!(claims["exp"], issued.expires_on);
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 32);
        assert_eq!(issued.expires_in, 60);
        let verified = authority.verify(&issued.access_token, &accepted()).unwrap();
        assert_eq!(verified.subject, "app");
        assert_eq!(verified.tenant, "tenant-1");
        assert_eq!(authority.issued_count(), 1);
    }

    #[test]
    fn refusals() {
        let authority = TokenAuthority::new();
        assert_eq!(
            authority.verify("nope", &accepted()),
            Err(TokenReject::Unknown)
        );
        let other = authority.mint("a", "t", "https://ai.azure.com", Duration::from_secs(60));
        assert_eq!(
            authority.verify(&other.access_token, &accepted()),
            Err(TokenReject::WrongAudience)
        );
        let gone = authority.mint("a", "t", COG, Duration::ZERO);
        assert_eq!(
            authority.verify(&gone.access_token, &accepted()),
            Err(TokenReject::Expired)
        );
        let old = authority.mint("a", "t", &format!("{COG}/"), Duration::from_secs(60));
        assert!(authority.verify(&old.access_token, &accepted()).is_ok());
        authority.revoke_all();
        assert_eq!(
            authority.verify(&old.access_token, &accepted()),
            Err(TokenReject::Revoked)
        );
        let fresh = authority.mint("a", "t", COG, Duration::from_secs(60));
        assert!(authority.verify(&fresh.access_token, &accepted()).is_ok());
        assert_eq!(authority.rejected_count(), 0);
    }
}
