//! Sequential, interleaved rounds of a small non-streaming chat: direct, gateway, direct, …
//! on one warm connection each, so both sides see the same machine state. The difference of
//! the percentiles is the latency the gateway adds; its CPU time over the loop, divided by the
//! requests it served, is its CPU cost per request (the gateway is idle during direct calls).

use std::time::Duration;

use bytes::Bytes;

use crate::client::{Conn, Endpoint};
use crate::procs::Proc;
use crate::report::{Goal, Row};
use crate::stats::Summary;

pub struct Sides<'a> {
    pub direct: &'a Endpoint,
    pub gateway: &'a Endpoint,
    pub direct_body: &'a Bytes,
    pub gateway_body: &'a Bytes,
}

/// Per-side latencies and the gateway's non-2xx count over `rounds` interleaved rounds.
pub struct Interleaved {
    pub direct: Summary,
    pub gateway: Summary,
    pub gateway_errors: usize,
    pub direct_errors: usize,
    pub gateway_cpu_per_request: Duration,
    /// The mock served both sides' requests; its CPU per request is the reference for what a
    /// minimal HTTP server costs on this machine in the same pattern.
    pub mock_cpu_per_request: Duration,
}

/// Runs `warmup` unmeasured rounds, then `rounds` measured ones.
pub async fn interleave(
    sides: &Sides<'_>,
    gw: &Proc,
    mock: &Proc,
    rounds: usize,
    warmup: usize,
) -> Result<Interleaved, String> {
    let mut d = Conn::open(sides.direct.addr).await?;
    let mut g = Conn::open(sides.gateway.addr).await?;
    for _ in 0..warmup {
        d.exchange(sides.direct, sides.direct_body, &[]).await?;
        g.exchange(sides.gateway, sides.gateway_body, &[]).await?;
    }
    let mut direct = Vec::with_capacity(rounds);
    let mut gateway = Vec::with_capacity(rounds);
    let (mut direct_errors, mut gateway_errors) = (0, 0);
    let cpu0 = gw.cpu()?;
    let mock0 = mock.cpu()?;
    for _ in 0..rounds {
        let x = d.exchange(sides.direct, sides.direct_body, &[]).await?;
        direct_errors += usize::from(x.status != 200);
        direct.push(x.done_at);
        let x = g.exchange(sides.gateway, sides.gateway_body, &[]).await?;
        gateway_errors += usize::from(x.status != 200);
        gateway.push(x.done_at);
    }
    let cpu = gw.cpu()?.saturating_sub(cpu0);
    let mock_cpu = mock.cpu()?.saturating_sub(mock0);
    let n = u32::try_from(rounds.max(1)).unwrap_or(u32::MAX);
    Ok(Interleaved {
        direct: Summary::of(&direct),
        gateway: Summary::of(&gateway),
        gateway_errors,
        direct_errors,
        gateway_cpu_per_request: cpu / n,
        mock_cpu_per_request: mock_cpu / n.saturating_mul(2),
    })
}

pub async fn run(
    sides: &Sides<'_>,
    gw: &Proc,
    mock: &Proc,
    rounds: usize,
) -> Result<Vec<Row>, String> {
    let r = interleave(sides, gw, mock, rounds, rounds / 10 + 50).await?;
    if r.gateway_errors + r.direct_errors > 0 {
        return Err(format!(
            "sequential: {} direct and {} gateway answers were not 200",
            r.direct_errors, r.gateway_errors
        ));
    }
    const S: &str = "sequential";
    Ok(vec![
        Row::added(S, "added latency p50", r.direct.p50_us, r.gateway.p50_us)
            .goal(Goal::AtMost(150.0)),
        Row::added(S, "added latency p99", r.direct.p99_us, r.gateway.p99_us)
            .goal(Goal::AtMost(1000.0)),
        Row::added(S, "added latency mean", r.direct.mean_us, r.gateway.mean_us),
        // One request at a time, every process sleeps and wakes per request; the mock's
        // figure shows what that costs a bare server here.
        Row::new(
            S,
            "gateway CPU per request (idle→busy)",
            "µs",
            r.gateway_cpu_per_request.as_secs_f64() * 1e6,
        )
        .compare(
            r.mock_cpu_per_request.as_secs_f64() * 1e6,
            r.gateway_cpu_per_request.as_secs_f64() * 1e6,
        ),
    ])
}
