use super::*;

const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwcyJ9.c2lnbmF0dXJlLXZhbHVl";

/// `text` redacted must not contain `secret` and must contain `kept`.
#[track_caller]
fn masks(text: &str, secret: &str, kept: &str) {
    let out = redact(text);
    assert!(!out.contains(secret), "{secret:?} survived in {out:?}");
    assert!(out.contains(MASK), "nothing masked in {out:?}");
    assert!(out.contains(kept), "{kept:?} lost in {out:?}");
}

#[test]
fn secret_field_names_in_every_spelling() {
    for name in [
        "authorization",
        "Authorization",
        "proxy-authorization",
        "Proxy_Authorization",
        "api-key",
        "api_key",
        "API_KEY",
        "apikey",
        "x-api-key",
        "X_API_KEY",
        "ocp-apim-subscription-key",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "client-secret",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "sas",
        "sig",
        "account_key",
        "AccountKey",
        "cookie",
        "set-cookie",
        "Set-Cookie",
        "upstream_api_key",
        "db_password",
        "session_token",
    ] {
        assert!(is_secret_name(name), "{name} should be secret");
    }
}

#[test]
fn labels_and_counts_are_not_secret_names() {
    for name in [
        "key",
        "key_id",
        "tokens",
        "total_tokens",
        "prompt_tokens",
        "model",
        "request_id",
        "upstream",
        "message",
        "signal",
        "a_name_that_is_much_longer_than_thirty_two_bytes_token",
    ] {
        assert!(!is_secret_name(name), "{name} should not be secret");
    }
}

#[test]
fn bearer_and_basic_credentials() {
    masks(
        "upstream said: Authorization: Bearer abc123DEF456ghi",
        "abc123DEF456ghi",
        "upstream said",
    );
    masks(
        "sent bearer Zm9vYmFyOTg3NjU0",
        "Zm9vYmFyOTg3NjU0",
        "sent bearer ",
    );
    masks(
        "auth Basic dXNlcjpwYXNzd29yZA== failed",
        "dXNlcjpwYXNzd29yZA",
        "failed",
    );
    // Prose after the scheme names is not a credential.
    let prose = "Basic authentication is off; a Bearer token is required";
    assert_eq!(redact(prose), prose);
}

#[test]
fn jwts() {
    masks(&format!("token {JWT} expired"), "c2lnbmF0dXJl", "expired");
    masks(JWT, "eyJhdWQi", "");
    // Not three segments: not a JWT.
    assert_eq!(redact("eyJ alone, eyJabc.def"), "eyJ alone, eyJabc.def");
}

#[test]
fn sk_style_keys() {
    masks(
        "client used sk-proj-AbCdEf0123456789",
        "AbCdEf0123456789",
        "client used ",
    );
    masks("key=sk-abcdefgh12345678", "abcdefgh12345678", "key=");
    // Too short to be a key, or part of a longer word.
    assert_eq!(redact("task-list, sk-a"), "task-list, sk-a");
}

#[test]
fn connection_strings() {
    let conn = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9v+YmFy/YmF6==;EndpointSuffix=core.windows.net";
    masks(conn, "Zm9v+YmFy", "AccountName=acct;");
    let out = redact(conn);
    assert!(out.contains("EndpointSuffix=core.windows.net"), "{out}");
    let sas = "BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&sig=AbC%2Bdef;";
    masks(
        sas,
        "AbC%2Bdef",
        "BlobEndpoint=https://a.blob.core.windows.net/;",
    );
    assert!(!redact(sas).contains("ss=b"), "the whole SAS token goes");
}

#[test]
fn query_strings_and_forms() {
    masks(
        "GET https://a.blob.core.windows.net/c/b?sv=2022-11-02&se=2030&sig=s1gn4ture%3D&sp=r",
        "s1gn4ture",
        "&sp=r",
    );
    masks(
        "/callback?code=0.AAAbbbCCC&state=xyz",
        "0.AAAbbbCCC",
        "&state=xyz",
    );
    masks(
        "grant_type=client_credentials&client_secret=Sh~h.secret&scope=x",
        "Sh~h",
        "&scope=x",
    );
    masks(
        "https://host/openai/realtime?api-key=0123abcd&deployment=d",
        "0123abcd",
        "deployment=d",
    );
    masks("url?api_key=0123abcd", "0123abcd", "url?api_key=");
    masks(
        "Server=db;User Id=sa;Password=Hunter2!;",
        "Hunter2!",
        "User Id=sa;",
    );
    masks("login password=hunter2 ok", "hunter2", " ok");
    // `code=` outside a query string is ordinary text.
    assert_eq!(redact("exit code=137"), "exit code=137");
    assert_eq!(redact("passcode=1234 is a name"), "passcode=1234 is a name");
}

#[test]
fn json_and_header_echoes() {
    masks(
        r#"body {"model":"gpt-4o","api_key": "abc-123","n":1}"#,
        "abc-123",
        r#""model":"gpt-4o""#,
    );
    masks(r#"{"client_secret":"a\"b"}"#, r#"a\"b"#, "client_secret");
    masks(
        "headers:\napi-key: 0123456789abcdef\nx: y",
        "0123456789abcdef",
        "x: y",
    );
    masks("ocp-apim-subscription-key: abc", "abc", "ocp-apim");
    masks("Cookie: session=abc; other=def", "session=abc", "Cookie: ");
    masks("password: Hunter22x", "Hunter22x", "password: ");
    assert_eq!(redact("password: must be set"), "password: must be set");
}

#[test]
fn ordinary_text_is_borrowed_untouched() {
    for text in [
        "",
        "request completed",
        "gpt-4o-mini",
        "chat/completions",
        "gw-0123456789abcdef",
        "team-a",
        "config loaded: 3 upstreams, key id team-a",
        "upstream `east` refused: 429 Too Many Requests (retry after 2 s)",
        "http://127.0.0.1:8080/v1/chat/completions?api-version=2024-10-21",
        "héllo 🌍 wörld",
    ] {
        assert!(
            matches!(redact(text), Cow::Borrowed(t) if t == text),
            "{text}"
        );
    }
}

#[test]
fn redaction_is_idempotent() {
    let once = redact("Authorization: Bearer abc123DEF456 and api-key=zzz").into_owned();
    assert_eq!(redact(&once), once);
}

#[test]
fn long_values_are_cut_and_marked() {
    let long = "é".repeat(MAX_CHARS + 10);
    let out = redact(&long);
    assert!(out.starts_with(&"é".repeat(MAX_CHARS)));
    assert!(
        out.ends_with("…[truncated: 4010 characters]"),
        "{}",
        &out[out.len() - 40..]
    );
    assert_eq!(
        out.chars().count(),
        MAX_CHARS + "…[truncated: 4010 characters]".len() - 2
    );
    let exact = "a".repeat(MAX_CHARS);
    assert_eq!(redact(&exact), exact);
    // A secret beyond the cut is gone; one before it is masked.
    let text = format!(
        "api-key=abc123 {} Bearer abc123DEF456",
        "x".repeat(MAX_CHARS)
    );
    let out = redact(&text);
    assert!(!out.contains("abc123"), "{}", &out[..40]);
    // Huge input is bounded before the scan.
    let huge = format!("{}{JWT}", "y".repeat(SCAN_LIMIT * 2));
    assert!(!redact(&huge).contains("eyJ"));
}
