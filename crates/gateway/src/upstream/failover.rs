//! The attempt loop for a model with a pool of deployments.
//!
//! Every attempt asks the balancer ([`Pool::select`]) for a deployment, sends the kept request
//! body there ([`send::attempt`]), and tells the deployment's health what happened. While
//! nothing has been sent to the client, a failed attempt moves on:
//! - a 429 cools its deployment down for what the upstream asked (`retry-after-ms`, else
//!   `x-ms-retry-after-ms`, else `retry-after`, capped by `cooldownMaxMs`);
//! - a status in `failoverStatuses`, a connect error or a first-byte timeout counts toward the
//!   deployment's circuit breaker (and a retry-after on a 5xx cools it down too);
//! - then, while `maxAttempts` allows, the request goes at once to a deployment it has not
//!   tried yet (a first-byte timeout is failed over too: the operator chose that timeout, and a
//!   different deployment cannot double-bill the same generation);
//! - that is one round. When it ends (no untried deployment available, or `maxAttempts`
//!   spent), up to `maxRetries` more rounds may follow, each after a pause — exactly the
//!   single-deployment rule, where a round is one attempt: wait for the soonest recovery in
//!   the pool (else the exponential backoff), only if that is at most `retryMaxMs` and fits
//!   the deadline, and only after a failure `retryStatuses` (or a connect error) allows. So a
//!   request makes at most `maxAttempts × (1 + maxRetries)` upstream requests;
//! - when even that is over: if every deployment is out of rotation the client gets the
//!   gateway's own 429 (or 503 when only breakers are open) with `retry-after` and
//!   `retry-after-ms` set to the soonest recovery; otherwise the last upstream answer passes
//!   through unchanged.
//!
//! Once response headers go to the client nothing is replayed: a stream that breaks later ends
//! with an SSE error event ([`crate::body`]) and counts against its deployment.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use hyper::body::Incoming;
use tokio::time::Instant;

use crate::call::Call;
use crate::error::{GatewayError, Phase};
use crate::route::Target;
use crate::route::health::Lease;
use crate::route::pool::Pool;
use crate::state::UpstreamPolicy;
use crate::upstream::retry_after;
use crate::upstream::send::{self, Outbound};

/// One client request bound for a pool.
pub struct PoolRequest<'a> {
    pub call: &'a Call,
    pub client_headers: &'a HeaderMap,
    pub request_id: &'a HeaderValue,
    pub policy: &'a UpstreamPolicy,
    /// The whole exchange must end by then (`requestTimeoutMs`); no attempt starts after it.
    pub deadline: Instant,
    pub pool: &'a Pool,
    /// The operation's index into each member's targets.
    pub op: usize,
    /// A member to use whenever it is available and untried, ahead of the balancer: a
    /// Responses continuation goes to the resource that stored the previous response.
    pub prefer: Option<usize>,
}

/// The answer that goes to the client, with the deployment it came from and the lease that
/// keeps that deployment's in-flight count until the body ends.
#[derive(Debug)]
pub struct Delivered<'a> {
    pub response: Response<Incoming>,
    pub target: &'a Target,
    pub lease: Lease,
}

/// One attempt's outcome with its deployment and lease.
struct Outcome<'a> {
    result: Result<Response<Incoming>, GatewayError>,
    target: &'a Target,
    lease: Lease,
}

impl<'a> Outcome<'a> {
    fn deliver(self) -> Result<Delivered<'a>, GatewayError> {
        let Self {
            result,
            target,
            lease,
        } = self;
        result.map(|response| Delivered {
            response,
            target,
            lease,
        })
    }
}

/// What becomes of one attempt.
pub(crate) enum Verdict {
    /// Goes to the client: an answer, or an error no other deployment would change.
    Deliver,
    /// Try elsewhere; `wait_ok` says whether a `maxRetries` pause may follow.
    FailOver { wait_ok: bool },
}

/// Judges an attempt and records it in the deployment's health.
fn judge(
    policy: &UpstreamPolicy,
    result: &Result<Response<Incoming>, GatewayError>,
    lease: &mut Lease,
    now: Instant,
    ttfb: Duration,
) -> Verdict {
    match result {
        Ok(resp) => judge_status(policy, resp.status(), resp.headers(), lease, now, ttfb),
        Err(err) => judge_error(err, lease, now),
    }
}

/// Judges an upstream answer by its status (the realtime handshake shares these rules).
pub(crate) fn judge_status(
    policy: &UpstreamPolicy,
    status: StatusCode,
    headers: &HeaderMap,
    lease: &mut Lease,
    now: Instant,
    ttfb: Duration,
) -> Verdict {
    let code = status.as_u16();
    let fails_over = policy.failover_statuses.contains(&code);
    if status == StatusCode::TOO_MANY_REQUESTS {
        lease.throttled(now, retry_after::parse(headers, SystemTime::now()));
    } else if fails_over {
        lease.failed(now, retry_after::parse(headers, SystemTime::now()));
    } else {
        lease.answered(now, ttfb);
    }
    if fails_over {
        let wait_ok = policy.retry_statuses.contains(&code);
        Verdict::FailOver { wait_ok }
    } else {
        Verdict::Deliver
    }
}

/// Judges an attempt that got no answer.
pub(crate) fn judge_error(err: &GatewayError, lease: &mut Lease, now: Instant) -> Verdict {
    match err {
        GatewayError::UpstreamTimeout {
            phase: Phase::FirstByte,
            ..
        } => {
            lease.failed(now, None);
            // Never paused and resent: the first deployment may still be generating.
            Verdict::FailOver { wait_ok: false }
        }
        // No token for this upstream: another upstream may have a working credential.
        GatewayError::UpstreamAuthFailed { .. } => {
            lease.failed(now, None);
            Verdict::FailOver { wait_ok: false }
        }
        err if err.is_retryable() => {
            lease.failed(now, None);
            Verdict::FailOver { wait_ok: true }
        }
        _ => Verdict::Deliver,
    }
}

/// The gateway's own answer when every deployment of `model`'s pool is out of rotation.
pub(crate) fn pool_exhausted(pool: &Pool, model: &str, now: Instant) -> Option<GatewayError> {
    let exhausted = pool.exhausted(now)?;
    let model = model.to_owned();
    let retry_after = exhausted.retry_after;
    Some(if exhausted.throttled {
        GatewayError::PoolThrottled { model, retry_after }
    } else {
        GatewayError::PoolUnavailable { model, retry_after }
    })
}

/// Sends the request to the pool; see the module docs for the rules.
pub async fn send<'a>(req: &PoolRequest<'a>) -> Result<Delivered<'a>, GatewayError> {
    let policy = req.policy;
    let mut tried = 0u64;
    let mut attempts = 0u32;
    let mut waits = 0u32;
    let mut wait_ok = true;
    // The body for the last deployment name used; members often share a name.
    let mut body: Option<(&str, Bytes)> = None;
    // The last failed answer, with its deployment and lease, for when nothing better comes.
    let mut last: Option<Outcome<'a>> = None;
    loop {
        let now = Instant::now();
        let may_attempt = now < req.deadline && attempts < policy.max_attempts;
        let pick = if may_attempt {
            req.prefer
                .and_then(|i| req.pool.take(now, i, tried))
                .or_else(|| req.pool.select(now, tried))
        } else {
            None
        };
        let Some(pick) = pick else {
            if wait_ok && waits < policy.max_retries {
                let asked = req.pool.exhausted(now).map(|e| e.retry_after);
                let delay = send::backoff(policy, waits, asked).filter(|d| now + *d < req.deadline);
                if let Some(delay) = delay {
                    tracing::debug!(model = %req.call.model, ?delay, "pool: waiting to retry");
                    tokio::time::sleep(delay).await;
                    // A new round: every deployment may be tried again.
                    waits += 1;
                    tried = 0;
                    attempts = 0;
                    continue;
                }
            }
            return give_up(req, last, now);
        };
        let Some(target) = req
            .pool
            .member(pick.index)
            .and_then(|m| m.targets.get(req.op))
        else {
            return give_up(req, last, now);
        };
        attempts += 1;
        tried |= 1u64 << pick.index;
        let bytes = match &body {
            Some((name, bytes)) if *name == &*target.deployment => bytes.clone(),
            _ => {
                let bytes = send::body_for(req.call, &target.deployment, target.upstream.kind);
                body = Some((&target.deployment, bytes.clone()));
                bytes
            }
        };
        let out = Outbound {
            call: req.call,
            target,
            client_headers: req.client_headers,
            request_id: req.request_id,
            policy,
            deadline: req.deadline,
        };
        let started = Instant::now();
        let result = send::attempt(&out, || {
            send::out_body(req.call, &target.deployment, target.upstream.kind, &bytes)
        })
        .await;
        let now = Instant::now();
        let mut outcome = Outcome {
            result,
            target,
            lease: pick.lease,
        };
        match judge(
            policy,
            &outcome.result,
            &mut outcome.lease,
            now,
            now - started,
        ) {
            Verdict::Deliver => return outcome.deliver(),
            Verdict::FailOver { wait_ok: ok } => {
                tracing::debug!(
                    model = %req.call.model,
                    upstream = %target.upstream.name,
                    deployment = %target.deployment,
                    status = ?outcome.result.as_ref().map(Response::status).ok(),
                    "pool: failing over"
                );
                wait_ok = ok;
                last = Some(outcome);
            }
        }
    }
}

/// No further attempt: the gateway's own answer when the whole pool is out of rotation, else
/// the last upstream answer (or error) as it was.
fn give_up<'a>(
    req: &PoolRequest<'a>,
    last: Option<Outcome<'a>>,
    now: Instant,
) -> Result<Delivered<'a>, GatewayError> {
    if let Some(err) = pool_exhausted(req.pool, &req.call.model, now) {
        return Err(err);
    }
    match last {
        Some(outcome) => outcome.deliver(),
        None => Err(GatewayError::UpstreamTimeout {
            upstream: req.call.model.clone(),
            phase: Phase::Total,
            ms: u64::try_from(req.policy.total.as_millis()).unwrap_or(u64::MAX),
        }),
    }
}
