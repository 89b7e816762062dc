//! Sending one call upstream: build the request, wait for headers, retry what may be retried.
//!
//! Headers are awaited before anything is committed to the client, so a 429 or 5xx keeps its
//! status and `retry-after`. Retries happen only while nothing has been sent to the client and
//! only for a connect failure or a configured status; a first-byte timeout is not retried
//! because the upstream may already be generating (and billing) the first attempt.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::time::Instant;

use crate::call::Call;
use crate::error::{GatewayError, Phase};
use crate::route::Target;
use crate::state::UpstreamPolicy;
use crate::upstream::{client, dialect, headers};

/// Everything needed to (re)send one call.
pub struct Outbound<'a> {
    pub call: &'a Call,
    pub target: &'a Target,
    pub client_headers: &'a HeaderMap,
    pub request_id: &'a HeaderValue,
    pub policy: &'a UpstreamPolicy,
    /// The whole exchange must end by then (`requestTimeoutMs`).
    pub deadline: Instant,
}

/// The delay an upstream asked for: `retry-after-ms` first, then `retry-after` in seconds (the
/// order the official SDKs use).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    get("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// How long to wait before the next attempt; `None` when the upstream asked for a longer pause
/// than `retryMaxMs` allows (retrying sooner would only be throttled again).
fn backoff(policy: &UpstreamPolicy, attempt: u32, asked: Option<Duration>) -> Option<Duration> {
    match asked {
        Some(d) if d > policy.retry_max => None,
        Some(d) => Some(d),
        None => Some(
            policy
                .retry_base
                .saturating_mul(2u32.saturating_pow(attempt))
                .min(policy.retry_max),
        ),
    }
}

fn build_request(out: &Outbound<'_>, body: Bytes) -> Result<Request<Full<Bytes>>, GatewayError> {
    let upstream = &out.target.upstream;
    let uri = upstream.uri(&out.target.path)?;
    let mut hdrs = headers::upstream_request(out.client_headers, out.request_id);
    upstream
        .credential
        .apply(&mut hdrs, &out.call.client, upstream.kind, &upstream.name)?;
    // Set here so the client does not format one per request.
    hdrs.insert(http::header::HOST, upstream.host.clone());
    let mut req = Request::new(Full::new(body));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = uri;
    *req.headers_mut() = hdrs;
    Ok(req)
}

fn classify(err: &hyper_util::client::legacy::Error, out: &Outbound<'_>) -> GatewayError {
    let upstream = out.target.upstream.name.clone();
    if client::is_connect_timeout(err) {
        let ms = u64::try_from(out.target.upstream.connect_timeout.as_millis()).unwrap_or(u64::MAX);
        return GatewayError::UpstreamTimeout {
            upstream,
            phase: Phase::Connect,
            ms,
        };
    }
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    GatewayError::UpstreamUnreachable { upstream, detail }
}

/// Sends the call and returns the upstream response once its headers have arrived.
pub async fn send(out: &Outbound<'_>) -> Result<Response<Incoming>, GatewayError> {
    let body = if out.call.model == *out.target.deployment {
        out.call.body.clone()
    } else {
        dialect::rewrite_model(
            &out.call.body,
            out.call.model_span.clone(),
            &out.target.deployment,
        )
    };
    let mut attempt: u32 = 0;
    loop {
        let req = build_request(out, body.clone())?;
        let first_byte = out
            .policy
            .first_byte
            .min(out.deadline.saturating_duration_since(Instant::now()));
        let result =
            tokio::time::timeout(first_byte, out.target.upstream.client.request(req)).await;
        let may_retry = attempt < out.policy.max_retries;
        let (retry_delay, outcome) = match result {
            Err(_) => {
                let total_hit = Instant::now() >= out.deadline;
                let (phase, limit) = if total_hit {
                    (Phase::Total, out.policy.total)
                } else {
                    (Phase::FirstByte, out.policy.first_byte)
                };
                let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
                return Err(GatewayError::UpstreamTimeout {
                    upstream: out.target.upstream.name.clone(),
                    phase,
                    ms,
                });
            }
            Ok(Err(e)) => {
                let err = classify(&e, out);
                if !(may_retry && err.is_retryable()) {
                    return Err(err);
                }
                (backoff(out.policy, attempt, None), Err(err))
            }
            Ok(Ok(resp)) => {
                let status = resp.status().as_u16();
                if !(may_retry && out.policy.retry_statuses.contains(&status)) {
                    return Ok(resp);
                }
                (
                    backoff(out.policy, attempt, retry_after(resp.headers())),
                    Ok(resp),
                )
            }
        };
        let Some(retry_delay) = retry_delay.filter(|d| Instant::now() + *d < out.deadline) else {
            // No time left for another attempt: the client gets what the upstream said.
            return outcome;
        };
        drop(outcome);
        tracing::debug!(upstream = %out.target.upstream.name, attempt, ?retry_delay, "retrying");
        tokio::time::sleep(retry_delay).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn retry_after_prefers_ms() {
        assert_eq!(
            retry_after(&h(&[("retry-after", "3"), ("retry-after-ms", "1500")])),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(&h(&[("retry-after", "2")])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(retry_after(&h(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&h(&[("retry-after-ms", "-1")])), None);
    }

    #[test]
    fn backoff_is_capped() {
        let policy = UpstreamPolicy {
            first_byte: Duration::from_secs(1),
            idle: Duration::from_secs(1),
            total: Duration::from_secs(1),
            max_retries: 3,
            retry_base: Duration::from_millis(100),
            retry_max: Duration::from_millis(500),
            retry_statuses: vec![429],
        };
        assert_eq!(backoff(&policy, 0, None), Some(Duration::from_millis(100)));
        assert_eq!(backoff(&policy, 2, None), Some(Duration::from_millis(400)));
        assert_eq!(backoff(&policy, 5, None), Some(Duration::from_millis(500)));
        let asked = Some(Duration::from_millis(300));
        assert_eq!(backoff(&policy, 0, asked), asked);
        assert_eq!(backoff(&policy, 0, Some(Duration::from_secs(9))), None);
    }
}
