//! Redaction: the one place that decides what a log line may not show. Both sinks (stdout and
//! the admin ring) get their values through [`super::fields`], which calls in here, so a secret
//! masked on one is masked on the other.
//!
//! Two rules:
//! - a field whose *name* is a secret ([`is_secret_name`]) is replaced whole;
//! - inside any string value, credential-shaped text is masked ([`redact`]): `Bearer`/`Basic`
//!   credentials, JWTs, `sk-…` keys, and the values of secret-named `name=value`,
//!   `"name":"value"` and `Header: value` pairs (connection strings, query strings, form
//!   bodies, JSON, echoed headers).
//!
//! Values are then cut to [`MAX_CHARS`] characters. The scan is one pass over the bytes that
//! allocates only when it masks or cuts something, so the short ids and names on the request
//! path cost a few nanoseconds.

use std::borrow::Cow;

/// What a secret is replaced with.
pub const MASK: &str = "[REDACTED]";

/// Longest value kept, in characters; longer ones are cut and the cut is marked.
pub const MAX_CHARS: usize = 4000;

/// Input beyond this many bytes is dropped before scanning, so one huge value cannot cost a
/// large scan (it is cut far shorter afterwards anyway).
const SCAN_LIMIT: usize = 64 * 1024;

/// Names are compared lowercase with `-` read as `_`; longer names are never exact matches.
const NAME_BUF: usize = 32;

/// Whether a field named `name` holds a secret: compared case-insensitively, `-` and `_` alike.
/// `key` alone is *not* one: it is the client key's configured id, a label.
pub fn is_secret_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.len() > NAME_BUF {
        return false;
    }
    let mut buf = [0u8; NAME_BUF];
    for (slot, &b) in buf.iter_mut().zip(bytes) {
        *slot = if b == b'-' {
            b'_'
        } else {
            b.to_ascii_lowercase()
        };
    }
    let n = &buf[..bytes.len()];
    matches!(
        n,
        b"authorization"
            | b"proxy_authorization"
            | b"api_key"
            | b"apikey"
            | b"x_api_key"
            | b"ocp_apim_subscription_key"
            | b"subscription_key"
            | b"password"
            | b"passwd"
            | b"pwd"
            | b"secret"
            | b"client_secret"
            | b"client_assertion"
            | b"token"
            | b"access_token"
            | b"refresh_token"
            | b"id_token"
            | b"sas"
            | b"sig"
            | b"sas_token"
            | b"account_key"
            | b"accountkey"
            | b"sharedaccesssignature"
            | b"sharedaccesskey"
            | b"cookie"
            | b"set_cookie"
            | b"x_identity_header"
    ) || n.ends_with(b"_secret")
        || n.ends_with(b"_password")
        || n.ends_with(b"_token")
        || n.ends_with(b"_api_key")
}

/// Header names whose whole value (to the end of the line) is a credential in `Name: value`.
fn is_secret_header(name: &str) -> bool {
    const HEADERS: [&str; 7] = [
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "ocp-apim-subscription-key",
        "cookie",
        "set-cookie",
    ];
    let same = |a: u8, b: u8| {
        let fold = |c: u8| {
            if c == b'_' {
                b'-'
            } else {
                c.to_ascii_lowercase()
            }
        };
        fold(a) == fold(b)
    };
    HEADERS
        .iter()
        .any(|h| h.len() == name.len() && h.bytes().zip(name.bytes()).all(|(a, b)| same(a, b)))
}

/// `value` with secrets masked and cut to [`MAX_CHARS`] characters. Borrowed when unchanged.
pub fn redact(value: &str) -> Cow<'_, str> {
    let scanned = if value.len() > SCAN_LIMIT {
        Cow::Owned(mask(cut_bytes(value, SCAN_LIMIT)).into_owned())
    } else {
        mask(value)
    };
    if scanned.len() <= MAX_CHARS {
        return scanned;
    }
    match scanned.char_indices().nth(MAX_CHARS) {
        None => scanned,
        Some((at, _)) => {
            let total = value.chars().count();
            let mut out = String::with_capacity(at + 40);
            out.push_str(&scanned[..at]);
            out.push_str(&format!("…[truncated: {total} characters]"));
            Cow::Owned(out)
        }
    }
}

/// The longest prefix of at most `limit` bytes that ends on a character boundary.
fn cut_bytes(s: &str, limit: usize) -> &str {
    let mut end = limit.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Characters of an HTTP auth credential (RFC 9110 token68).
fn is_token68(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

/// Where an unquoted `name=value` value ends.
fn ends_value(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'&' | b';' | b',' | b'"' | b'\'' | b')' | b'>' | b']')
}

/// Whether a word looks like a credential rather than prose: long enough, and with a digit or
/// both cases ("authentication" is not masked after `Basic `; `dXNlcjpwYXNz` is).
fn looks_secret(word: &[u8]) -> bool {
    let digit = word.iter().any(u8::is_ascii_digit);
    let upper = word.iter().any(u8::is_ascii_uppercase);
    let lower = word.iter().any(u8::is_ascii_lowercase);
    word.len() >= 8 && (digit || (upper && lower))
}

/// A span of `text` to replace with [`MASK`], found at some position.
struct Hit {
    start: usize,
    end: usize,
}

fn mask(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        let hit = match b[i] {
            b'=' => after_name(text, i, Sep::Equals),
            b':' => after_name(text, i, Sep::Colon),
            b'e' => jwt(b, i),
            b's' => sk_key(b, i),
            b'b' | b'B' => auth_scheme(b, i),
            _ => None,
        };
        match hit {
            Some(Hit { start, end }) if start >= copied && end > start => {
                let s = out.get_or_insert_with(|| String::with_capacity(text.len()));
                s.push_str(&text[copied..start]);
                s.push_str(MASK);
                copied = end;
                i = end;
            }
            _ => i += 1,
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut s) => {
            s.push_str(&text[copied..]);
            Cow::Owned(s)
        }
    }
}

/// `eyJ…`.`…`.`…` (every JWT's header starts `{"` in base64url), on a word boundary.
fn jwt(b: &[u8], i: usize) -> Option<Hit> {
    if !b[i..].starts_with(b"eyJ") || (i > 0 && is_b64url(b[i - 1])) {
        return None;
    }
    let mut end = i;
    let mut dots = 0;
    while end < b.len() && (is_b64url(b[end]) || b[end] == b'.') {
        dots += usize::from(b[end] == b'.');
        end += 1;
    }
    (dots >= 2).then_some(Hit { start: i, end })
}

/// `sk-` and at least 8 key characters (OpenAI-style keys: `sk-…`, `sk-proj-…`).
fn sk_key(b: &[u8], i: usize) -> Option<Hit> {
    if !b[i..].starts_with(b"sk-") || (i > 0 && is_b64url(b[i - 1])) {
        return None;
    }
    let body = b[i + 3..].iter().take_while(|&&c| is_b64url(c)).count();
    (body >= 8).then_some(Hit {
        start: i,
        end: i + 3 + body,
    })
}

/// `Bearer <credential>` / `Basic <credential>`: the credential is masked, the scheme kept.
fn auth_scheme(b: &[u8], i: usize) -> Option<Hit> {
    if i > 0 && b[i - 1].is_ascii_alphanumeric() {
        return None;
    }
    let rest = &b[i..];
    let scheme = [&b"bearer"[..], &b"basic"[..]]
        .into_iter()
        .find(|s| rest.len() > s.len() && rest[..s.len()].eq_ignore_ascii_case(s))?;
    let mut start = i + scheme.len();
    if b[start] != b' ' {
        return None;
    }
    while start < b.len() && b[start] == b' ' {
        start += 1;
    }
    let len = b[start..].iter().take_while(|&&c| is_token68(c)).count();
    looks_secret(&b[start..start + len]).then_some(Hit {
        start,
        end: start + len,
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Sep {
    Equals,
    Colon,
}

/// At a `=` or `:`: if the name before it is a secret, the value after it.
fn after_name(text: &str, at: usize, sep: Sep) -> Option<Hit> {
    let b = text.as_bytes();
    // The name: `name=`, `"name":` or `Name:`.
    let quoted = sep == Sep::Colon && at > 0 && b[at - 1] == b'"';
    let name_end = if quoted { at - 1 } else { at };
    let name_start = b[..name_end]
        .iter()
        .rposition(|&c| !is_ident(c))
        .map_or(0, |p| p + 1);
    if name_start == name_end {
        return None;
    }
    if quoted && (name_start == 0 || b[name_start - 1] != b'"') {
        return None;
    }
    let name = &text[name_start..name_end];
    let before = name_start.checked_sub(1).map(|p| b[p]);
    let in_query = matches!(before, Some(b'?' | b'&'));
    let secret = is_secret_name(name)
        || (in_query && (name.eq_ignore_ascii_case("code") || name.eq_ignore_ascii_case("sig")));
    let mut start = at + 1;
    match sep {
        Sep::Equals if secret => {
            // Connection-string parts run to `;` (a SAS token itself contains `&`).
            let conn = name.eq_ignore_ascii_case("SharedAccessSignature")
                || name.eq_ignore_ascii_case("AccountKey")
                || name.eq_ignore_ascii_case("SharedAccessKey");
            let len = b[start..]
                .iter()
                .take_while(|&&c| {
                    if conn {
                        !(c == b';' || c == b'"' || c == b'\'' || c.is_ascii_whitespace())
                    } else {
                        !ends_value(c)
                    }
                })
                .count();
            unmasked(text, start, start + len)
        }
        Sep::Colon if quoted && secret => {
            while start < b.len() && b[start] == b' ' {
                start += 1;
            }
            if b.get(start) != Some(&b'"') {
                return None;
            }
            start += 1;
            let mut end = start;
            while end < b.len() && b[end] != b'"' {
                // An escape takes the next character with it, whatever its width.
                end += if b[end] == b'\\' { 2 } else { 1 };
                while end < b.len() && !text.is_char_boundary(end) {
                    end += 1;
                }
            }
            unmasked(text, start, end.min(b.len()))
        }
        Sep::Colon if !quoted && b.get(start) == Some(&b' ') => {
            while start < b.len() && b[start] == b' ' {
                start += 1;
            }
            if is_secret_header(name) {
                // An echoed header: the whole value, to the end of the line.
                let len = b[start..]
                    .iter()
                    .take_while(|&&c| !matches!(c, b'\n' | b'\r' | b'"' | b'\''))
                    .count();
                unmasked(text, start, start + len)
            } else if secret {
                // `password: hunter22`: one word, when it looks like a credential.
                let len = b[start..].iter().take_while(|&&c| !ends_value(c)).count();
                if looks_secret(&b[start..start + len]) {
                    unmasked(text, start, start + len)
                } else {
                    None
                }
            } else {
                None
            }
        }
        _ => None,
    }
}

/// A hit over `text[start..end]` unless it is empty or already masked.
fn unmasked(text: &str, start: usize, end: usize) -> Option<Hit> {
    (end > start && !text[start..].starts_with(MASK)).then_some(Hit { start, end })
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
