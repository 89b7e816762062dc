//! Opening a realtime session upstream: which URL, which headers, which deployment.
//!
//! - **URL.** The model table resolves `realtime` like every operation ([`crate::route`]): a
//!   configured `realtime` route, else the kind's default (`azure`, `azure-v1`:
//!   `/openai/v1/realtime?model=<deployment>`; `openai`: `/v1/realtime?model=<deployment>`). An
//!   `azure` upstream keeps a client that came in on Azure's dated form on that form, with the
//!   client's api-version (`/openai/realtime?api-version=…&deployment=…`). The client's other
//!   query parameters (such as `intent=transcription`) follow; its key never does.
//! - **Headers.** The client's, minus credentials and its own handshake
//!   ([`headers::upstream_upgrade`]), plus the upstream's credential. A browser that asked for
//!   the beta protocol with the `openai-beta.realtime-v1` subprotocol gets the header form,
//!   `OpenAI-Beta: realtime=v1`.
//! - **Retries and failover** follow the HTTP rules ([`super::send`], [`super::failover`]), for
//!   the handshake only: a refused or failed handshake has sent nothing to the client, so one
//!   deployment is retried under `maxRetries` and a pool moves on to another deployment. An open
//!   session stays where it is: its conversation lives on that deployment.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, Uri};
use tokio::time::Instant;

use super::failover::{self, Verdict};
use super::ws::{self, Handshake, UpstreamSocket, WsRequest};
use super::{dialect, headers, retry_after, send};
use crate::call::{ClientApiVersion, ClientIdentity, Operation};
use crate::config::UpstreamKind;
use crate::error::{GatewayError, Phase};
use crate::route::health::Lease;
use crate::route::pool::Pool;
use crate::route::{Route, Target};
use crate::state::UpstreamPolicy;
use crate::telemetry::ModelStats;

const OPENAI_BETA: HeaderName = HeaderName::from_static("openai-beta");

/// One client's request for a session.
pub struct Opening<'a> {
    /// The alias the client named, for errors and logs.
    pub model: &'a str,
    pub client: &'a ClientIdentity,
    pub client_headers: &'a HeaderMap,
    pub request_id: &'a HeaderValue,
    /// The dated api-version of a client on Azure's `/openai/realtime` form.
    pub api_version: Option<&'a ClientApiVersion>,
    /// The client's query parameters that travel on, raw (`a=1&b=2`), or empty.
    pub extra_query: &'a str,
    /// The client offered the `openai-beta.realtime-v1` subprotocol.
    pub beta: bool,
    /// TLS for WebSocket upstreams (ALPN `http/1.1`).
    pub tls: &'a Arc<rustls::ClientConfig>,
    pub policy: &'a UpstreamPolicy,
}

/// An open upstream session.
#[derive(Debug)]
pub struct Session {
    pub socket: Box<UpstreamSocket>,
    /// The headers of the upstream's 101 (request ids, region), for the client's 101.
    pub headers: HeaderMap,
    /// The model's counters, which each `response.done` feeds.
    pub stats: Arc<ModelStats>,
    /// A pooled deployment's hold: in flight for the whole session.
    pub lease: Option<Lease>,
    /// The upstream's name, for logs and the request's record.
    pub upstream: Arc<str>,
    /// The deployment the session runs on.
    pub deployment: Arc<str>,
}

/// How the upstream answered.
#[derive(Debug)]
pub enum Opened {
    Session(Session),
    /// The upstream refused the handshake; its answer goes to the client as it is.
    Refused(Response<Bytes>),
}

/// The path and query for `target`.
fn path(target: &Target, api_version: Option<&ClientApiVersion>, extra_query: &str) -> String {
    let client_path = match api_version {
        Some(version) if target.kind_default => dialect::client_version_path(
            target.upstream.kind,
            Operation::Realtime,
            &target.deployment,
            version,
        ),
        _ => None,
    };
    let mut path = client_path.unwrap_or_else(|| target.path.to_string());
    if !extra_query.is_empty() {
        path.push(if path.contains('?') { '&' } else { '?' });
        path.push_str(extra_query);
    }
    path
}

/// One handshake with `target`; sent once more with a new token if an Entra ID token is
/// refused (401).
async fn attempt(o: &Opening<'_>, target: &Target) -> Result<Handshake, GatewayError> {
    let upstream = &target.upstream;
    if upstream.kind == UpstreamKind::Inference && target.kind_default {
        return Err(GatewayError::NotSupported(format!(
            "Model `{}` is served by the Model Inference upstream `{}`, which has no realtime \
             API; configure a `realtime` route for it if it does.",
            o.model, upstream.name
        )));
    }
    let uri: Uri = upstream.uri(&path(target, o.api_version, o.extra_query))?;
    let deadline = Instant::now() + o.policy.total;
    let (result, token) = handshake(o, target, &uri, deadline).await?;
    let status = match &result {
        Ok(Handshake::Refused(r)) => Some(r.status()),
        _ => None,
    };
    if !upstream
        .credential
        .renewed_after(token.as_ref(), status, &upstream.name, deadline)
        .await
    {
        return result;
    }
    drop(result);
    handshake(o, target, &uri, deadline).await?.0
}

type Attempted = (Result<Handshake, GatewayError>, Option<HeaderValue>);

async fn handshake(
    o: &Opening<'_>,
    target: &Target,
    uri: &Uri,
    deadline: Instant,
) -> Result<Attempted, GatewayError> {
    let upstream = &target.upstream;
    let mut hdrs = headers::upstream_upgrade(o.client_headers, o.request_id);
    if o.beta && !hdrs.contains_key(&OPENAI_BETA) {
        hdrs.insert(OPENAI_BETA, HeaderValue::from_static("realtime=v1"));
    }
    let token = upstream
        .credential
        .apply(&mut hdrs, o.client, upstream.kind, &upstream.name, deadline)
        .await?;
    let result = ws::open(WsRequest {
        uri,
        headers: hdrs,
        tls: o.tls,
        connect_timeout: upstream.connect_timeout,
        answer_timeout: o.policy.first_byte,
        upstream: &upstream.name,
    })
    .await;
    Ok((result, token))
}

/// What the client gets from the last attempt; failures are counted against the model.
fn finish(
    result: Result<Handshake, GatewayError>,
    target: &Target,
    stats: &Arc<ModelStats>,
    lease: Option<Lease>,
) -> Result<Opened, GatewayError> {
    match result {
        Ok(Handshake::Open { socket, headers }) => Ok(Opened::Session(Session {
            socket,
            headers,
            stats: Arc::clone(stats),
            lease,
            upstream: target.upstream.name.clone(),
            deployment: Arc::clone(&target.deployment),
        })),
        Ok(Handshake::Refused(response)) => {
            tracing::debug!(
                upstream = %target.upstream.name,
                status = %response.status(),
                "realtime handshake refused"
            );
            Ok(Opened::Refused(response))
        }
        Err(err) => {
            tracing::warn!(upstream = %target.upstream.name, error = %err, "realtime handshake failed");
            Err(err)
        }
    }
}

/// Opens a session on the route's deployment (a pool: the balancer's choice).
pub async fn open(o: &Opening<'_>, route: Route<'_>) -> Result<Opened, GatewayError> {
    match route {
        Route::One(target) => one(o, &target).await,
        Route::Pool { pool, op, stats } => pooled(o, pool, op, stats).await,
    }
}

/// One deployment: retried after a pause as `maxRetries` allows.
async fn one(o: &Opening<'_>, target: &Target) -> Result<Opened, GatewayError> {
    let policy = o.policy;
    let deadline = Instant::now() + policy.total;
    let mut retries = 0u32;
    loop {
        let result = attempt(o, target).await;
        let may_retry = retries < policy.max_retries;
        let delay = match &result {
            Err(err) if may_retry && err.is_retryable() => send::backoff(policy, retries, None),
            Ok(Handshake::Refused(r))
                if may_retry && policy.retry_statuses.contains(&r.status().as_u16()) =>
            {
                let asked = retry_after::parse(r.headers(), SystemTime::now());
                send::backoff(policy, retries, asked)
            }
            _ => None,
        };
        let Some(delay) = delay.filter(|d| Instant::now() + *d < deadline) else {
            return finish(result, target, &target.stats, None);
        };
        drop(result);
        tokio::time::sleep(delay).await;
        retries += 1;
    }
}

/// A pool: the failover loop's rules, applied to handshakes.
async fn pooled(
    o: &Opening<'_>,
    pool: &Pool,
    op: usize,
    stats: &Arc<ModelStats>,
) -> Result<Opened, GatewayError> {
    let policy = o.policy;
    let deadline = Instant::now() + policy.total;
    let (mut tried, mut attempts, mut waits, mut wait_ok) = (0u64, 0u32, 0u32, true);
    let mut last: Option<(Result<Handshake, GatewayError>, &Target)> = None;
    loop {
        let now = Instant::now();
        let pick = if now < deadline && attempts < policy.max_attempts {
            pool.select(now, tried)
        } else {
            None
        };
        let target = pick
            .as_ref()
            .and_then(|p| pool.member(p.index))
            .and_then(|m| m.targets.get(op));
        let (Some(pick), Some(target)) = (pick, target) else {
            if wait_ok && waits < policy.max_retries {
                let asked = pool.exhausted(now).map(|e| e.retry_after);
                let delay = send::backoff(policy, waits, asked).filter(|d| now + *d < deadline);
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                    (waits, tried, attempts) = (waits + 1, 0, 0);
                    continue;
                }
            }
            if let Some(err) = failover::pool_exhausted(pool, o.model, now) {
                return Err(err);
            }
            return match last {
                Some((result, target)) => finish(result, target, stats, None),
                None => Err(GatewayError::UpstreamTimeout {
                    upstream: o.model.to_owned(),
                    phase: Phase::Total,
                    ms: u64::try_from(policy.total.as_millis()).unwrap_or(u64::MAX),
                }),
            };
        };
        attempts += 1;
        tried |= 1u64 << pick.index;
        let started = Instant::now();
        let result = attempt(o, target).await;
        let now = Instant::now();
        let mut lease = pick.lease;
        let ttfb: Duration = now - started;
        let verdict = match &result {
            // The session counts as answered (and in flight) until it ends.
            Ok(Handshake::Open { .. }) => {
                lease.answered(now, ttfb);
                Verdict::Deliver
            }
            Ok(Handshake::Refused(r)) => {
                failover::judge_status(policy, r.status(), r.headers(), &mut lease, now, ttfb)
            }
            Err(err) => failover::judge_error(err, &mut lease, now),
        };
        match verdict {
            Verdict::Deliver => return finish(result, target, stats, Some(lease)),
            Verdict::FailOver { wait_ok: ok } => {
                tracing::debug!(
                    model = %o.model,
                    upstream = %target.upstream.name,
                    "realtime: failing over"
                );
                wait_ok = ok;
                last = Some((result, target));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::table::test_target;

    #[test]
    fn paths_keep_the_clients_form_and_extras() {
        let mut target = test_target("rt-dep");
        target.path = Arc::from("/openai/v1/realtime?model=rt-dep");
        target.kind_default = true;
        assert_eq!(path(&target, None, ""), "/openai/v1/realtime?model=rt-dep");
        let dated = ClientApiVersion::Azure("2025-04-01-preview".into());
        assert_eq!(
            path(&target, Some(&dated), "intent=transcription"),
            "/openai/realtime?api-version=2025-04-01-preview&deployment=rt-dep\
             &intent=transcription"
        );
        // A configured route is the operator's: the client's version does not replace it.
        target.kind_default = false;
        target.path = Arc::from("/custom/realtime");
        assert_eq!(
            path(&target, Some(&dated), "intent=transcription"),
            "/custom/realtime?intent=transcription"
        );
    }
}
