//! Pooled deployments' health, computed at scrape time from the current runtime's pools (the
//! balancer's own atomics, as `/admin/api/deployments` reads them), so a gauge is never stale
//! and a config reload's new pools show at the next scrape. Models with one deployment have no
//! health state (nothing to balance) and are not listed.

use std::collections::HashSet;

use tokio::time::Instant;

use super::text::{Kind, Text, Value};
use crate::route::ModelTable;
use crate::route::health::{Availability, Blocked};

pub(super) const HEALTHY: &str = "aoai_gateway_deployment_healthy";
pub(super) const COOLDOWN: &str = "aoai_gateway_deployment_cooldown_remaining_seconds";

/// One pooled deployment's state.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    model: String,
    upstream: String,
    deployment: String,
    healthy: bool,
    /// Until it takes traffic again; 0 when it does now.
    remaining_ns: u128,
}

fn rows(models: &ModelTable, now: Instant) -> Vec<Row> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for entry in models.models() {
        let Some(pool) = entry.pool() else { continue };
        for m in pool.members() {
            let target = m.any_target();
            let key = (
                entry.id.clone(),
                target.upstream.name.to_string(),
                target.deployment.to_string(),
            );
            // The same deployment listed twice in one pool would be a duplicate series.
            if !seen.insert(key.clone()) {
                continue;
            }
            let availability = m.health.availability(now);
            let until = match availability {
                Availability::Blocked(Blocked { until: Some(t), .. }) => Some(t),
                _ => None,
            };
            out.push(Row {
                model: key.0,
                upstream: key.1,
                deployment: key.2,
                // A half-open deployment (one probe may go) is not healthy yet: its breaker
                // opened and has not seen a success since.
                healthy: availability == Availability::Ready,
                remaining_ns: until.map_or(0, |t| t.saturating_duration_since(now).as_nanos()),
            });
        }
    }
    out
}

pub(super) fn render(t: &mut Text, models: &ModelTable) {
    let rows = rows(models, Instant::now());
    t.family(
        HEALTHY,
        Kind::Gauge,
        "1 when a pooled deployment takes traffic, 0 while it cools down after a 429 or its \
         circuit breaker is open or half-open.",
    );
    for r in &rows {
        let labels = [
            ("model", r.model.as_str()),
            ("upstream", r.upstream.as_str()),
            ("deployment", r.deployment.as_str()),
        ];
        t.sample(HEALTHY, &labels, Value::Int(u64::from(r.healthy)));
    }
    t.family(
        COOLDOWN,
        Kind::Gauge,
        "Seconds until a pooled deployment takes traffic again (the later of its 429 cooldown \
         and its open breaker); 0 when it takes traffic now.",
    );
    for r in &rows {
        let labels = [
            ("model", r.model.as_str()),
            ("upstream", r.upstream.as_str()),
            ("deployment", r.deployment.as_str()),
        ];
        t.sample(COOLDOWN, &labels, Value::Seconds(r.remaining_ns));
    }
}
