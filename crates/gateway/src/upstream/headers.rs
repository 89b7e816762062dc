//! Header hygiene in both directions.
//!
//! Upstream requests carry the client's headers minus hop-by-hop headers, the client's
//! credentials (never forwarded: the credential is the gateway's own, or re-issued in
//! passthrough), cookies, and `accept-encoding` (the gateway asks for identity so the side
//! scanner can read usage). Responses carry everything the upstream sent — status meaning,
//! `retry-after`, `retry-after-ms`, `apim-request-id`, `x-request-id`, rate-limit headers —
//! minus hop-by-hop headers.

use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue};

/// RFC 9110 §7.6.1 connection-specific headers plus the de-facto ones. Names, not strings:
/// comparing standard names is an enum compare, and removing by name skips re-parsing it.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::TE,
    header::TRAILER,
    header::PROXY_AUTHORIZATION,
];

/// Model Inference's policy for body parameters it does not define.
pub const EXTRA_PARAMETERS: HeaderName = HeaderName::from_static("extra-parameters");
/// Model Inference's deployment selector; the gateway routes by it, so it never goes upstream.
pub const AZUREML_MODEL_DEPLOYMENT: HeaderName =
    HeaderName::from_static("azureml-model-deployment");

/// Client headers that carry a credential, are recomputed for the upstream request, or steer
/// the gateway itself (Model Inference's deployment selector and extra-parameters policy, which
/// the gateway has already applied).
const NEVER_FORWARDED: [HeaderName; 11] = [
    header::HOST,
    // `100-continue` is settled between the client and the gateway (hyper answers it when the
    // body is first read); the upstream gets the body at once.
    header::EXPECT,
    header::CONTENT_LENGTH,
    header::AUTHORIZATION,
    HeaderName::from_static("api-key"),
    HeaderName::from_static("x-api-key"),
    HeaderName::from_static("ocp-apim-subscription-key"),
    header::COOKIE,
    header::ACCEPT_ENCODING,
    EXTRA_PARAMETERS,
    AZUREML_MODEL_DEPLOYMENT,
];

fn connection_listed(headers: &HeaderMap, name: &HeaderName) -> bool {
    headers.get_all(header::CONNECTION).iter().any(|v| {
        v.to_str()
            .map(|s| {
                s.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case(name.as_str()))
            })
            .unwrap_or(false)
    })
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(name)
}

/// The client's headers that may travel upstream, plus `extra` spare capacity. `skip` drops
/// more of them.
fn forwarded(client: &HeaderMap, extra: usize, skip: impl Fn(&HeaderName) -> bool) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(client.len() + extra);
    let has_connection = client.contains_key(header::CONNECTION);
    for (name, value) in client {
        if is_hop_by_hop(name)
            || NEVER_FORWARDED.contains(name)
            || skip(name)
            || (has_connection && connection_listed(client, name))
        {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// The headers to send upstream, before the credential is added.
pub fn upstream_request(client: &HeaderMap, request_id: &HeaderValue) -> HeaderMap {
    let mut out = forwarded(client, 3, |_| false);
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    out.insert(HeaderName::from_static("x-request-id"), request_id.clone());
    out
}

/// The headers of a WebSocket handshake that may travel upstream, before the credential and
/// the gateway's own handshake headers are added: as for JSON requests, minus the client's
/// `Sec-WebSocket-*` (the upstream handshake is the gateway's; its subprotocols carry the
/// client's key) and `Origin` (a browser's origin means nothing to the upstream, which might
/// refuse it).
pub fn upstream_upgrade(client: &HeaderMap, request_id: &HeaderValue) -> HeaderMap {
    let mut out = forwarded(client, 8, |name| {
        name == header::ORIGIN || name.as_str().starts_with("sec-websocket-")
    });
    out.insert(HeaderName::from_static("x-request-id"), request_id.clone());
    out
}

/// Removes hop-by-hop headers from an upstream response in place.
pub fn clean_response(headers: &mut HeaderMap) {
    if !headers.keys().any(is_hop_by_hop) {
        // The usual case (HTTP/1.1 keep-alive upstreams send none): nothing to remove.
        return;
    }
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    for name in listed {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_credentials_and_hop_by_hop() {
        let mut client = HeaderMap::new();
        for (k, v) in [
            ("authorization", "Bearer sk-client"),
            ("api-key", "k"),
            ("x-api-key", "k"),
            ("ocp-apim-subscription-key", "k"),
            ("connection", "keep-alive, x-private"),
            ("x-private", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("host", "gw"),
            ("content-length", "5"),
            ("accept-encoding", "gzip"),
            ("cookie", "a=b"),
            ("user-agent", "OpenAI/Python 1.0"),
            ("traceparent", "00-abc-def-01"),
            ("x-mock-status", "429"),
        ] {
            client.append(k, HeaderValue::from_static(v));
        }
        let out = upstream_request(&client, &HeaderValue::from_static("req-1"));
        let names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        for gone in [
            "authorization",
            "api-key",
            "x-api-key",
            "ocp-apim-subscription-key",
            "connection",
            "x-private",
            "keep-alive",
            "te",
            "host",
            "content-length",
            "cookie",
        ] {
            assert!(!names.contains(&gone), "{gone} was forwarded");
        }
        assert_eq!(out["user-agent"], "OpenAI/Python 1.0");
        assert_eq!(out["traceparent"], "00-abc-def-01");
        assert_eq!(out["x-mock-status"], "429");
        assert_eq!(out["accept-encoding"], "identity");
        assert_eq!(out["x-request-id"], "req-1");
    }

    #[test]
    fn upgrade_headers_drop_the_clients_handshake() {
        let mut client = HeaderMap::new();
        for (k, v) in [
            ("authorization", "Bearer sk-client"),
            ("api-key", "sk-client"),
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("sec-websocket-version", "13"),
            (
                "sec-websocket-protocol",
                "realtime, openai-insecure-api-key.sk-client",
            ),
            ("sec-websocket-extensions", "permessage-deflate"),
            ("origin", "https://app.example"),
            ("host", "gw"),
            ("openai-beta", "realtime=v1"),
            ("user-agent", "websockets/15"),
        ] {
            client.append(k, HeaderValue::from_static(v));
        }
        let out = upstream_upgrade(&client, &HeaderValue::from_static("req-2"));
        let mut names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["openai-beta", "user-agent", "x-request-id"]);
        assert!(
            out.values()
                .all(|v| !v.to_str().unwrap().contains("sk-client"))
        );
    }

    #[test]
    fn response_keeps_retry_and_ids() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("retry-after", "2"),
            ("retry-after-ms", "1500"),
            ("apim-request-id", "abc"),
            ("x-request-id", "def"),
            ("transfer-encoding", "chunked"),
            ("connection", "close"),
        ] {
            h.append(k, HeaderValue::from_static(v));
        }
        clean_response(&mut h);
        assert_eq!(h["retry-after"], "2");
        assert_eq!(h["retry-after-ms"], "1500");
        assert_eq!(h["apim-request-id"], "abc");
        assert_eq!(h["x-request-id"], "def");
        assert!(!h.contains_key("transfer-encoding"));
        assert!(!h.contains_key("connection"));
    }
}
