//! `GET /admin/api/deployments`: every pooled deployment's health, as the balancer sees it.
//!
//! Per model with a pool: its strategy, and per deployment (in tier order) its state —
//! `available`, `cooling` (after a 429, with the time it comes back), `breaker-open`, or
//! `half-open` (one probe may go, or is under way) — requests in flight, the recent time to
//! first byte, and counts of successes, 429s, failures and broken streams since the config was
//! loaded. Models with a single deployment have nothing to balance and are not listed (their
//! totals are in `/admin/api/stats`).

use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::time::Instant;

use crate::config::Strategy;
use crate::route::ModelTable;
use crate::route::health::{Availability, Blocked};
use crate::route::pool::Member;

#[derive(Debug, Serialize)]
pub struct DeploymentsView {
    pub models: Vec<PoolView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolView {
    pub model: String,
    pub strategy: Strategy,
    pub deployments: Vec<MemberView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub upstream: String,
    pub deployment: String,
    pub priority: u32,
    pub weight: u32,
    /// `available`, `cooling`, `breaker-open` or `half-open`.
    pub state: &'static str,
    /// When it takes traffic again (RFC 3339, UTC), while it is out of rotation.
    pub available_at: Option<String>,
    pub available_in_ms: Option<u64>,
    /// The end of a running cooldown (it may outlast an open breaker, or the other way round).
    pub cooldown_until: Option<String>,
    /// `closed`, `open` or `half-open`.
    pub breaker: &'static str,
    pub consecutive_failures: u32,
    pub in_flight: u32,
    /// Time to first byte, moving average; `null` before the first answer.
    pub latency_ms: Option<f64>,
    pub successes: u64,
    pub throttled: u64,
    pub failures: u64,
    pub broken_streams: u64,
}

/// Wall-clock time of a future `Instant`, for people reading the API.
fn wall(at: Instant, now: Instant, wall_now: SystemTime) -> String {
    let time = wall_now + at.saturating_duration_since(now);
    humantime::format_rfc3339_millis(time).to_string()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn member(m: &Member, now: Instant, wall_now: SystemTime) -> MemberView {
    let v = m.health.view(now);
    let target = m.any_target();
    let (state, until) = match v.availability {
        Availability::Ready => ("available", None),
        Availability::Probe
        | Availability::Blocked(Blocked {
            until: None,
            throttled: false,
        }) => ("half-open", None),
        Availability::Blocked(Blocked {
            until,
            throttled: true,
        }) => ("cooling", until),
        Availability::Blocked(Blocked { until, .. }) => ("breaker-open", until),
    };
    let breaker = match v.breaker_open_until {
        None => "closed",
        Some(t) if t > now => "open",
        Some(_) => "half-open",
    };
    MemberView {
        upstream: target.upstream.name.to_string(),
        deployment: target.deployment.to_string(),
        priority: m.priority,
        weight: m.weight,
        state,
        available_at: until.map(|t| wall(t, now, wall_now)),
        available_in_ms: until.map(|t| millis(t.saturating_duration_since(now))),
        cooldown_until: v.cooldown_until.map(|t| wall(t, now, wall_now)),
        breaker,
        consecutive_failures: v.consecutive_failures,
        in_flight: v.in_flight,
        latency_ms: v
            .latency
            .map(|d| (d.as_secs_f64() * 10_000.0).round() / 10.0),
        successes: v.successes,
        throttled: v.throttled,
        failures: v.failures,
        broken_streams: v.broken_streams,
    }
}

pub fn view(models: &ModelTable) -> DeploymentsView {
    let (now, wall_now) = (Instant::now(), SystemTime::now());
    let models = models
        .models()
        .iter()
        .filter_map(|entry| {
            let pool = entry.pool()?;
            Some(PoolView {
                model: entry.id.clone(),
                strategy: pool.strategy(),
                deployments: pool
                    .members()
                    .iter()
                    .map(|m| member(m, now, wall_now))
                    .collect(),
            })
        })
        .collect();
    DeploymentsView { models }
}
