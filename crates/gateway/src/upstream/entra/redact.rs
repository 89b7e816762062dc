//! Scrubbing secrets out of identity-provider error text before it is logged or returned.
//!
//! The texts come from `azure_identity`, the identity provider and the Azure CLI; some echo the
//! request (a form with `client_secret=`, a federated assertion) or carry a token. What is
//! removed: every configured secret verbatim, JWT-shaped strings (all Entra tokens and
//! assertions are JWTs), `Bearer` values, and the values of secret-named form or JSON fields.

const MASK: &str = "[REDACTED]";

/// Field names whose values are secrets wherever they appear as `name=value` or `"name":"value"`.
const SECRET_FIELDS: [&str; 6] = [
    "client_secret",
    "client_assertion",
    "access_token",
    "refresh_token",
    "x-identity-header",
    "api-key",
];

/// `text` with `secrets` (each at least 4 characters) and token-shaped strings masked.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().map(|s| s.trim()).filter(|s| s.len() >= 4) {
        out = out.replace(secret, MASK);
    }
    let out = mask_jwts(&out);
    let out = mask_after(&out, "Bearer ");
    SECRET_FIELDS
        .iter()
        .fold(out, |acc, field| mask_field(&acc, field))
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Masks runs of `xxx.yyy.zzz` base64url segments that start like a JWT header (`eyJ`).
fn mask_jwts(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while let Some(found) = text[i..].find("eyJ") {
        let start = i + found;
        let mut end = start;
        let mut dots = 0;
        while end < bytes.len() && (is_b64url(bytes[end]) || bytes[end] == b'.') {
            dots += usize::from(bytes[end] == b'.');
            end += 1;
        }
        let boundary = start == 0 || !is_b64url(bytes[start - 1]);
        if boundary && dots >= 2 {
            out.push_str(&text[copied..start]);
            out.push_str(MASK);
            copied = end;
        }
        i = end.max(start + 3);
    }
    out.push_str(&text[copied..]);
    out
}

/// Masks the word following each `marker` (up to whitespace, quote, comma or `&`).
fn mask_after(text: &str, marker: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let value_start = at + marker.len();
        out.push_str(&rest[..value_start]);
        let tail = &rest[value_start..];
        let len = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '&' | ';'))
            .unwrap_or(tail.len());
        if len > 0 && !tail[..len].starts_with(MASK) {
            out.push_str(MASK);
        } else {
            out.push_str(&tail[..len]);
        }
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// Masks `field=value` and `"field":"value"` (with optional spaces after the colon).
fn mask_field(text: &str, field: &str) -> String {
    let text = mask_after(text, &format!("{field}="));
    let quoted = format!("\"{field}\":");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(&quoted) {
        let after = at + quoted.len();
        out.push_str(&rest[..after]);
        let tail = &rest[after..];
        let spaces = tail.len() - tail.trim_start().len();
        out.push_str(&tail[..spaces]);
        let tail = &tail[spaces..];
        if let Some(value) = tail.strip_prefix('"') {
            let len = value.find('"').unwrap_or(value.len());
            out.push('"');
            out.push_str(MASK);
            rest = &value[len..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwcyJ9.c2lnbmF0dXJl";

    #[test]
    fn configured_secrets_and_tokens_are_masked() {
        let text = format!(
            "AADSTS7000215: Invalid client secret provided for s3cr3t-value; \
             token {JWT} and Authorization: Bearer abc.def, form client_secret=zzz&scope=x"
        );
        let out = redact(&text, &["s3cr3t-value", ""]);
        assert!(out.starts_with("AADSTS7000215: Invalid client secret provided for [REDACTED];"));
        assert!(!out.contains("s3cr3t-value"), "{out}");
        assert!(!out.contains("eyJ"), "{out}");
        assert!(!out.contains("abc.def"), "{out}");
        assert!(!out.contains("zzz"), "{out}");
        assert!(out.contains("&scope=x"), "{out}");
    }

    #[test]
    fn json_secret_fields_are_masked() {
        let text = r#"The request failed: {"access_token": "opaque-token-1", "resource":"r", "client_assertion":"a"}"#;
        let out = redact(text, &[]);
        assert_eq!(
            out,
            r#"The request failed: {"access_token": "[REDACTED]", "resource":"r", "client_assertion":"[REDACTED]"}"#
        );
    }

    #[test]
    fn ordinary_text_is_untouched() {
        let text =
            "ManagedIdentityCredential authentication failed. connection refused (eyJ alone)";
        assert_eq!(redact(text, &["abc"]), text);
    }
}
