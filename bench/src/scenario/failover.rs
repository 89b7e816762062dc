//! Failover: a pool of two deployments, one always answering 429 with a retry-after. Clients
//! must never see the 429; the cost is the occasional extra hop when the throttled deployment's
//! cooldown ends and it is tried again.

use bytes::Bytes;

use crate::client::Endpoint;
use crate::procs::Proc;
use crate::report::{Goal, Row};
use crate::scenario::sequential::{self, Sides};
use crate::scenario::throughput;

pub struct Plan<'a> {
    pub wrk: &'a std::path::Path,
    pub dir: &'a std::path::Path,
    /// The healthy deployment, called directly.
    pub direct: &'a Endpoint,
    /// The pool's alias through the gateway.
    pub gateway: &'a Endpoint,
    pub direct_body: &'a Bytes,
    pub gateway_body: &'a Bytes,
    pub rounds: usize,
    pub secs: u64,
}

pub async fn run(plan: &Plan<'_>, gw: &Proc, mock: &Proc) -> Result<Vec<Row>, String> {
    let sides = Sides {
        direct: plan.direct,
        gateway: plan.gateway,
        direct_body: plan.direct_body,
        gateway_body: plan.gateway_body,
    };
    let seq = sequential::interleave(&sides, gw, mock, plan.rounds, 20).await?;
    if seq.direct_errors > 0 {
        return Err(format!(
            "failover: the healthy deployment failed {} times when called directly",
            seq.direct_errors
        ));
    }
    let load = throughput::wrk(
        plan.wrk,
        plan.dir,
        plan.gateway,
        plan.gateway_body,
        16,
        plan.secs,
    )
    .await?;
    const S: &str = "failover";
    Ok(vec![
        Row::new(
            S,
            "client-visible errors, sequential",
            "count",
            seq.gateway_errors as f64,
        )
        .goal(Goal::AtMost(0.0)),
        Row::new(
            S,
            "client-visible errors, 16 connections",
            "count",
            (load.status_errors + load.socket_errors) as f64,
        )
        .goal(Goal::AtMost(0.0)),
        Row::new(
            S,
            "requests through the pool",
            "count",
            (seq.gateway.n as u64 + load.requests) as f64,
        ),
        Row::added(
            S,
            "added latency p50",
            seq.direct.p50_us,
            seq.gateway.p50_us,
        ),
        Row::added(
            S,
            "added latency p99",
            seq.direct.p99_us,
            seq.gateway.p99_us,
        ),
    ])
}
