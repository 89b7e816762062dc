//! HTTP Basic credentials for the admin API, compared in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use subtle::ConstantTimeEq;

use crate::error::GatewayError;
use crate::state::AdminCredentials;

fn ct_eq(a: &str, b: &str) -> bool {
    // Length differences leak only the length, which a Basic-auth password cannot hide anyway.
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

pub fn check(creds: Option<&AdminCredentials>, headers: &HeaderMap) -> Result<(), GatewayError> {
    let creds = creds.ok_or(GatewayError::AdminDisabled)?;
    let given = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .ok_or(GatewayError::AdminUnauthorized)?;
    let (user, pass) = given
        .split_once(':')
        .ok_or(GatewayError::AdminUnauthorized)?;
    let user_ok = ct_eq(user, &creds.username);
    let pass_ok = ct_eq(pass, &creds.password);
    if user_ok & pass_ok {
        Ok(())
    } else {
        Err(GatewayError::AdminUnauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            format!("Basic {}", STANDARD.encode(v)).parse().unwrap(),
        );
        h
    }

    #[test]
    fn checks_user_and_password() {
        let creds = AdminCredentials {
            username: "admin".into(),
            password: "s3cret-pass".into(),
        };
        assert!(check(Some(&creds), &basic("admin:s3cret-pass")).is_ok());
        assert!(check(Some(&creds), &basic("admin:wrong")).is_err());
        assert!(check(Some(&creds), &basic("root:s3cret-pass")).is_err());
        assert!(check(Some(&creds), &HeaderMap::new()).is_err());
        assert!(matches!(
            check(None, &basic("admin:s3cret-pass")),
            Err(GatewayError::AdminDisabled)
        ));
    }
}
