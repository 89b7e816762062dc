//! Sending one call upstream: build the request, wait for headers, retry what may be retried.
//!
//! Headers are awaited before anything is committed to the client, so a 429 or 5xx keeps its
//! status and `retry-after`. [`attempt`] is one request; [`send`] is the loop for a model with
//! one deployment. Retries happen only while nothing has been sent to the client and only for a
//! connect failure or a configured status; a first-byte timeout is not retried because the
//! upstream may already be generating (and billing) the first attempt. Pools go through
//! [`super::failover`] instead, which moves on to another deployment.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response};
use hyper::body::Incoming;
use tokio::time::Instant;

use crate::call::{BodyModel, Call};
use crate::config::UpstreamKind;
use crate::error::{GatewayError, Phase};
use crate::multipart::Edit;
use crate::route::Target;
use crate::state::UpstreamPolicy;
use crate::upstream::pool::ClientError;
use crate::upstream::{OutBody, client, dialect, headers, retry_after};

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

/// How long to wait before the next attempt; `None` when the upstream asked for a longer pause
/// than `retryMaxMs` allows (retrying sooner would only be throttled again).
pub(crate) fn backoff(
    policy: &UpstreamPolicy,
    attempt: u32,
    asked: Option<Duration>,
) -> Option<Duration> {
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

/// The request for one attempt, and the Entra ID token it carries (if any).
async fn build_request(
    out: &Outbound<'_>,
    body: OutBody,
) -> Result<(Request<OutBody>, Option<HeaderValue>), GatewayError> {
    let upstream = &out.target.upstream;
    let client_path = match &out.call.api_version {
        Some(version) if out.target.kind_default => dialect::client_version_path(
            upstream.kind,
            out.call.op,
            &out.target.deployment,
            version,
        ),
        _ => None,
    };
    let uri = match (client_path, &out.target.uri) {
        (None, Some(uri)) => uri.clone(),
        (client_path, _) => upstream.uri(client_path.as_deref().unwrap_or(&out.target.path))?,
    };
    let mut hdrs = headers::upstream_request(out.client_headers, out.request_id);
    if upstream.kind == UpstreamKind::Inference {
        // The gateway already applied the client's own extra-parameters policy; whatever is
        // left in the body (OpenAI parameters included) is meant for the model.
        hdrs.insert(
            headers::EXTRA_PARAMETERS,
            HeaderValue::from_static("pass-through"),
        );
    }
    if let Some(form) = &out.call.form {
        hdrs.insert(http::header::CONTENT_TYPE, form.content_type.clone());
    }
    let token = upstream
        .credential
        .apply(
            &mut hdrs,
            &out.call.client,
            upstream.kind,
            &upstream.name,
            out.deadline,
        )
        .await?;
    // Set here so the client does not format one per request.
    hdrs.insert(http::header::HOST, upstream.host.clone());
    let mut req = Request::new(body);
    *req.method_mut() = Method::POST;
    *req.uri_mut() = uri;
    *req.headers_mut() = hdrs;
    Ok((req, token))
}

fn classify(err: &ClientError, out: &Outbound<'_>) -> GatewayError {
    upstream_error(err, &out.target.upstream)
}

/// A client error toward `target` as the gateway reports it: a connect timeout, or the upstream
/// unreachable with the whole cause chain.
pub(crate) fn upstream_error(
    err: &ClientError,
    target: &crate::upstream::Upstream,
) -> GatewayError {
    let upstream = target.name.to_string();
    if client::is_connect_timeout(err) {
        let ms = u64::try_from(target.connect_timeout.as_millis()).unwrap_or(u64::MAX);
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

/// How the body for one deployment differs from the client's.
enum Splice {
    Keep,
    /// The `model` value at this span becomes the deployment.
    Replace(std::ops::Range<usize>),
    /// A `model` naming the deployment is added.
    Insert,
}

fn splice(call: &Call, deployment: &str, kind: UpstreamKind) -> Splice {
    match &call.body_model {
        BodyModel::Alias(_) if call.model == deployment => Splice::Keep,
        BodyModel::Alias(span) | BodyModel::Other(span) => Splice::Replace(span.clone()),
        // Azure's legacy surface names the deployment in the path.
        BodyModel::Absent if kind == UpstreamKind::Azure && call.op.is_deployment_scoped() => {
            Splice::Keep
        }
        BodyModel::Absent => Splice::Insert,
    }
}

/// The JSON body for `deployment` on an upstream of `kind`: the client's bytes, with `model`
/// spliced in when it differs, or added when the body has none and the upstream reads it from
/// the body. Empty for a multipart call, whose body [`out_body`] replays from its spool.
pub fn body_for(call: &Call, deployment: &str, kind: UpstreamKind) -> Bytes {
    if call.form.is_some() {
        return Bytes::new();
    }
    match splice(call, deployment, kind) {
        Splice::Keep => call.body.clone(),
        Splice::Replace(span) => dialect::rewrite_model(&call.body, span, deployment),
        Splice::Insert => dialect::insert_model(&call.body, deployment),
    }
}

/// The body of one attempt: `json` (from [`body_for`]), or the multipart upload replayed with
/// the same `model` treatment.
pub fn out_body(call: &Call, deployment: &str, kind: UpstreamKind, json: &Bytes) -> OutBody {
    let Some(form) = &call.form else {
        return OutBody::full(json.clone());
    };
    let edit = match splice(call, deployment, kind) {
        Splice::Keep => Edit::None,
        Splice::Replace(span) => Edit::Replace(span, deployment),
        Splice::Insert => Edit::Insert(deployment),
    };
    form.body(&edit)
}

/// One request to `out.target`: its response once the headers arrived, or why none came
/// (connect failure, first-byte timeout, or the total deadline). `body` makes the request body;
/// it is called again when an Entra ID token is refused (401) and the request is sent once
/// more with a new token (nothing has reached the client yet).
pub async fn attempt(
    out: &Outbound<'_>,
    body: impl Fn() -> OutBody,
) -> Result<Response<Incoming>, GatewayError> {
    let upstream = &out.target.upstream;
    let (req, token) = build_request(out, body()).await?;
    let result = exchange(out, req).await;
    let status = result.as_ref().ok().map(Response::status);
    if !upstream
        .credential
        .renewed_after(token.as_ref(), status, &upstream.name, out.deadline)
        .await
    {
        return result;
    }
    drop(result);
    let (req, _) = build_request(out, body()).await?;
    exchange(out, req).await
}

async fn exchange(
    out: &Outbound<'_>,
    req: Request<OutBody>,
) -> Result<Response<Incoming>, GatewayError> {
    let first_byte = out
        .policy
        .first_byte
        .min(out.deadline.saturating_duration_since(Instant::now()));
    match tokio::time::timeout(first_byte, out.target.upstream.client.get().request(req)).await {
        Ok(Ok(resp)) => Ok(resp),
        Ok(Err(e)) => Err(classify(&e, out)),
        Err(_) => {
            let (phase, limit) = if Instant::now() >= out.deadline {
                (Phase::Total, out.policy.total)
            } else {
                (Phase::FirstByte, out.policy.first_byte)
            };
            Err(GatewayError::UpstreamTimeout {
                upstream: out.target.upstream.name.to_string(),
                phase,
                ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            })
        }
    }
}

/// The pause before another attempt at the same upstream, or `None` when `result` is final:
/// a retryable error or a `retryStatuses` answer while `maxRetries` allows, after the upstream's
/// `retry-after` (or the backoff), and only if that still ends before `deadline`.
pub(crate) fn retry_delay(
    policy: &UpstreamPolicy,
    attempt_no: u32,
    deadline: Instant,
    result: &Result<Response<Incoming>, GatewayError>,
) -> Option<Duration> {
    if attempt_no >= policy.max_retries {
        return None;
    }
    let delay = match result {
        Err(err) if err.is_retryable() => backoff(policy, attempt_no, None),
        Ok(resp) if policy.retry_statuses.contains(&resp.status().as_u16()) => {
            let asked = retry_after::parse(resp.headers(), SystemTime::now());
            backoff(policy, attempt_no, asked)
        }
        _ => None,
    };
    // No time left for another attempt: the client gets what the upstream said.
    delay.filter(|d| Instant::now() + *d < deadline)
}

/// Sends the call to its one deployment and returns the upstream response once its headers
/// have arrived, retrying (same deployment, after a pause) what `maxRetries` allows.
pub async fn send(out: &Outbound<'_>) -> Result<Response<Incoming>, GatewayError> {
    let body = body_for(out.call, &out.target.deployment, out.target.upstream.kind);
    let mut attempt_no: u32 = 0;
    loop {
        let result = attempt(out, || {
            out_body(
                out.call,
                &out.target.deployment,
                out.target.upstream.kind,
                &body,
            )
        })
        .await;
        let Some(retry_delay) = retry_delay(out.policy, attempt_no, out.deadline, &result) else {
            return result;
        };
        drop(result);
        tracing::debug!(upstream = %out.target.upstream.name, attempt = attempt_no, ?retry_delay, "retrying");
        tokio::time::sleep(retry_delay).await;
        attempt_no += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            max_attempts: 1,
            failover_statuses: vec![],
        };
        assert_eq!(backoff(&policy, 0, None), Some(Duration::from_millis(100)));
        assert_eq!(backoff(&policy, 2, None), Some(Duration::from_millis(400)));
        assert_eq!(backoff(&policy, 5, None), Some(Duration::from_millis(500)));
        let asked = Some(Duration::from_millis(300));
        assert_eq!(backoff(&policy, 0, asked), asked);
        assert_eq!(backoff(&policy, 0, Some(Duration::from_secs(9))), None);
    }
}
