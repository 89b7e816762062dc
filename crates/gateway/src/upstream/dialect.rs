//! Upstream dialects: where an operation lives on each kind of upstream, and the body rewrite
//! that goes with it.

use std::fmt::Write as _;

use bytes::Bytes;

use crate::call::{ClientApiVersion, Operation};
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
    if op == Operation::Realtime {
        return realtime_path(kind, deployment);
    }
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
        UpstreamKind::Inference => format!("/{key}?api-version={}", encode_component(api_version)),
    }
}

/// Where the Realtime API lives: the deployment is a query parameter, not a path segment.
///
/// `azure` goes to the GA v1 surface (`/openai/v1/realtime?model=`), which serves every realtime
/// model without an api-version; only a client that itself chose a dated version is kept on the
/// preview surface ([`client_version_path`]). Model Inference has no realtime API, so an
/// `inference` upstream gets the OpenAI form, which it answers with its own 404.
fn realtime_path(kind: UpstreamKind, deployment: &str) -> String {
    let model = encode_component(deployment);
    match kind {
        UpstreamKind::Azure | UpstreamKind::AzureV1 => format!("/openai/v1/realtime?model={model}"),
        UpstreamKind::Openai | UpstreamKind::Inference => format!("/v1/realtime?model={model}"),
    }
}

/// The kind's default path with the api-version an Azure-style client chose, when it belongs to
/// the upstream's family; `None` keeps the configured one.
///
/// An Azure OpenAI client's dated version goes to an `azure` upstream on the legacy surface it
/// was written for (responses included, at `/openai/responses`), so the upstream sees what the
/// client would have sent it directly.
pub fn client_version_path(
    kind: UpstreamKind,
    op: Operation,
    deployment: &str,
    version: &ClientApiVersion,
) -> Option<String> {
    match (kind, version) {
        (UpstreamKind::Azure, ClientApiVersion::Azure(v)) if op == Operation::Realtime => {
            Some(format!(
                "/openai/realtime?api-version={}&deployment={}",
                encode_component(v),
                encode_component(deployment)
            ))
        }
        (UpstreamKind::Azure, ClientApiVersion::Azure(v)) if !op.is_deployment_scoped() => {
            Some(format!(
                "/openai/{}?api-version={}",
                op.route_key(),
                encode_component(v)
            ))
        }
        (UpstreamKind::Azure, ClientApiVersion::Azure(v)) => {
            Some(default_path(kind, op, deployment, v))
        }
        (UpstreamKind::Inference, ClientApiVersion::Inference(v)) => {
            Some(default_path(kind, op, deployment, v))
        }
        _ => None,
    }
}

/// Adds `"model":"<deployment>"` as the first member of a JSON object body that has none.
pub fn insert_model(body: &Bytes, deployment: &str) -> Bytes {
    let Ok(quoted) = serde_json::to_string(deployment) else {
        return body.clone();
    };
    let Some(open) = body.iter().position(|b| !b.is_ascii_whitespace()) else {
        return body.clone();
    };
    if body[open] != b'{' {
        return body.clone();
    }
    let rest = &body[open + 1..];
    let empty = rest
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'}');
    let mut out = Vec::with_capacity(body.len() + quoted.len() + 10);
    out.extend_from_slice(&body[..=open]);
    out.extend_from_slice(b"\"model\":");
    out.extend_from_slice(quoted.as_bytes());
    if !empty {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    Bytes::from(out)
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
    fn inference_paths_and_client_versions() {
        assert_eq!(
            default_path(
                UpstreamKind::Inference,
                Operation::Embeddings,
                "d",
                "2025-04-01"
            ),
            "/embeddings?api-version=2025-04-01"
        );
        let azure = ClientApiVersion::Azure("2025-04-01-preview".into());
        assert_eq!(
            client_version_path(UpstreamKind::Azure, Operation::Responses, "d", &azure).as_deref(),
            Some("/openai/responses?api-version=2025-04-01-preview")
        );
        assert_eq!(
            client_version_path(UpstreamKind::Azure, Operation::ChatCompletions, "d", &azure)
                .as_deref(),
            Some("/openai/deployments/d/chat/completions?api-version=2025-04-01-preview")
        );
        let inference = ClientApiVersion::Inference("2024-05-01-preview".into());
        assert_eq!(
            client_version_path(
                UpstreamKind::Inference,
                Operation::ChatCompletions,
                "d",
                &inference
            )
            .as_deref(),
            Some("/chat/completions?api-version=2024-05-01-preview")
        );
        // Another family's version never crosses over.
        assert_eq!(
            client_version_path(
                UpstreamKind::AzureV1,
                Operation::ChatCompletions,
                "d",
                &azure
            ),
            None
        );
        assert_eq!(
            client_version_path(
                UpstreamKind::Azure,
                Operation::ChatCompletions,
                "d",
                &inference
            ),
            None
        );
    }

    #[test]
    fn realtime_paths_put_the_deployment_in_the_query() {
        let op = Operation::Realtime;
        assert_eq!(
            default_path(UpstreamKind::Azure, op, "rt dep", "2024-10-21"),
            "/openai/v1/realtime?model=rt%20dep"
        );
        assert_eq!(
            default_path(UpstreamKind::AzureV1, op, "rt", "x"),
            "/openai/v1/realtime?model=rt"
        );
        assert_eq!(
            default_path(UpstreamKind::Openai, op, "gpt-realtime", "x"),
            "/v1/realtime?model=gpt-realtime"
        );
        let azure = ClientApiVersion::Azure("2025-04-01-preview".into());
        assert_eq!(
            client_version_path(UpstreamKind::Azure, op, "rt", &azure).as_deref(),
            Some("/openai/realtime?api-version=2025-04-01-preview&deployment=rt")
        );
        assert_eq!(
            client_version_path(UpstreamKind::AzureV1, op, "rt", &azure),
            None
        );
    }

    #[test]
    fn insert_model_adds_the_first_member() {
        let out = insert_model(&Bytes::from_static(b" {\"input\":\"x\"}"), "dep");
        assert_eq!(&out[..], br#" {"model":"dep","input":"x"}"#);
        let out = insert_model(&Bytes::from_static(b"{ }"), "d\"q");
        assert_eq!(&out[..], br#"{"model":"d\"q" }"#);
        let not_object = Bytes::from_static(b"[1]");
        assert_eq!(insert_model(&not_object, "dep"), not_object);
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
