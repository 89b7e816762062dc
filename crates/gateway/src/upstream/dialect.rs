//! Upstream dialects: where an operation lives on each kind of upstream, and the body rewrite
//! that goes with it.

use std::fmt::Write as _;

use bytes::Bytes;

use crate::call::Operation;
use crate::config::UpstreamKind;

/// Percent-encodes a path segment or query value (everything but RFC 3986 unreserved).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Fills `{deployment}` and `{apiVersion}` in a route template.
pub fn fill_template(template: &str, deployment: &str, api_version: &str) -> String {
    template
        .replace("{deployment}", &encode_component(deployment))
        .replace("{apiVersion}", &encode_component(api_version))
}

/// The kind's own path for an operation when no route is configured.
pub fn default_path(
    kind: UpstreamKind,
    op: Operation,
    deployment: &str,
    api_version: &str,
) -> String {
    let key = op.route_key();
    match kind {
        UpstreamKind::Azure if op.is_deployment_scoped() => format!(
            "/openai/deployments/{}/{key}?api-version={}",
            encode_component(deployment),
            encode_component(api_version)
        ),
        // Responses needs api-version 2025-03-01-preview or later on the dated surface; the v1
        // surface serves it on every resource without one, so a dated `apiVersion` chosen for
        // chat never breaks responses.
        UpstreamKind::Azure => format!("/openai/v1/{key}"),
        UpstreamKind::AzureV1 => format!("/openai/v1/{key}"),
        UpstreamKind::Openai => format!("/v1/{key}"),
    }
}

/// Replaces the body's `model` value (at `span`, quotes included) with the deployment name.
///
/// A splice rather than a parse/serialize round trip: the rest of the body is forwarded byte for
/// byte, and the cost is one copy of the body.
pub fn rewrite_model(body: &Bytes, span: std::ops::Range<usize>, deployment: &str) -> Bytes {
    let quoted = match serde_json::to_string(deployment) {
        Ok(q) => q,
        Err(_) => return body.clone(),
    };
    if body.get(span.clone()) == Some(quoted.as_bytes()) {
        return body.clone();
    }
    let mut out = Vec::with_capacity(body.len() + quoted.len());
    out.extend_from_slice(&body[..span.start]);
    out.extend_from_slice(quoted.as_bytes());
    out.extend_from_slice(&body[span.end..]);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_paths_per_kind() {
        let op = Operation::ChatCompletions;
        assert_eq!(
            default_path(UpstreamKind::Azure, op, "my dep", "2024-10-21"),
            "/openai/deployments/my%20dep/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(
            default_path(UpstreamKind::Azure, Operation::Responses, "d", "2024-10-21"),
            "/openai/v1/responses"
        );
        assert_eq!(
            default_path(UpstreamKind::AzureV1, op, "d", "x"),
            "/openai/v1/chat/completions"
        );
        assert_eq!(
            default_path(UpstreamKind::Openai, Operation::Embeddings, "d", "x"),
            "/v1/embeddings"
        );
    }

    #[test]
    fn templates_encode_values() {
        assert_eq!(
            fill_template("/x/{deployment}/y?api-version={apiVersion}", "a/b", "v1"),
            "/x/a%2Fb/y?api-version=v1"
        );
    }

    #[test]
    fn rewrite_splices_only_the_model() {
        let body = Bytes::from_static(br#"{"model":"alias","messages":[{"content":"model"}]}"#);
        let out = rewrite_model(&body, 9..16, "dep\"x");
        assert_eq!(
            &out[..],
            br#"{"model":"dep\"x","messages":[{"content":"model"}]}"#
        );
        let same = rewrite_model(&body, 9..16, "alias");
        assert_eq!(same, body);
    }
}
