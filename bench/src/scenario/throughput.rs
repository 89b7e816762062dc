//! Throughput at 64 connections, measured by wrk against the mock directly and through the
//! gateway, alternating (direct, gateway, direct, gateway) so drift hits both sides alike.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;

use crate::client::Endpoint;
use crate::procs::Proc;
use crate::report::{Goal, Row};

/// What the wrk script's `done` hook prints, on one line after `BENCH_JSON `.
#[derive(Debug, Deserialize)]
pub struct WrkResult {
    pub requests: u64,
    pub duration_us: u64,
    pub status_errors: u64,
    pub socket_errors: u64,
    pub p50_us: f64,
    pub p99_us: f64,
}

impl WrkResult {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / (self.duration_us.max(1) as f64 / 1e6)
    }
}

/// A wrk script that POSTs `body` with the endpoint's headers and reports as JSON.
fn script(ep: &Endpoint, body: &Bytes) -> String {
    let mut s = String::from("wrk.method = \"POST\"\n");
    s.push_str(&format!(
        "wrk.body = [==[{}]==]\n",
        String::from_utf8_lossy(body)
    ));
    s.push_str("wrk.headers[\"Content-Type\"] = \"application/json\"\n");
    for (k, v) in &ep.headers {
        s.push_str(&format!(
            "wrk.headers[\"{}\"] = [==[{}]==]\n",
            k.as_str(),
            v.to_str().unwrap_or_default()
        ));
    }
    s.push_str(
        r#"function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,"p50_us":%.1f,"p99_us":%.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"#,
    );
    s
}

/// Runs wrk for `secs` with `connections` against `ep`, bounded by a hard timeout.
pub async fn wrk(
    wrk_bin: &Path,
    dir: &Path,
    ep: &Endpoint,
    body: &Bytes,
    connections: usize,
    secs: u64,
) -> Result<WrkResult, String> {
    let path = dir.join(format!("wrk-{}.lua", ep.addr.port()));
    std::fs::write(&path, script(ep, body)).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut cmd = tokio::process::Command::new(wrk_bin);
    cmd.arg("-t2")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{secs}s"))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(&path)
        .arg(ep.url())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(secs + 30), cmd.output())
        .await
        .map_err(|_| "wrk did not finish in time".to_owned())?
        .map_err(|e| format!("cannot run {}: {e}", wrk_bin.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH_JSON "))
        .ok_or_else(|| {
            format!(
                "wrk printed no result (exit {}): {}{}",
                out.status,
                stdout,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    serde_json::from_str(line).map_err(|e| format!("wrk result {line:?}: {e}"))
}

pub struct Plan<'a> {
    /// The bare forwarding proxy in front of the same mock, called with the direct path.
    pub floor: &'a Endpoint,
    /// The TCP byte relay in front of the same mock (the kernel floor), direct path.
    pub relay: &'a Endpoint,
    pub wrk: &'a Path,
    pub dir: &'a Path,
    pub direct: &'a Endpoint,
    pub gateway: &'a Endpoint,
    pub direct_body: &'a Bytes,
    pub gateway_body: &'a Bytes,
    pub secs: u64,
}

/// The processes whose CPU time the scenario reads.
pub struct Procs<'a> {
    pub gateway: &'a Proc,
    pub mock: &'a Proc,
    pub bare: &'a Proc,
    pub relay: &'a Proc,
}

/// One side's runs and the CPU its measured process spent on them.
#[derive(Default)]
struct Side {
    runs: Vec<WrkResult>,
    cpu: Duration,
}

impl Side {
    fn rps(&self) -> f64 {
        self.runs.iter().map(WrkResult::rps).sum::<f64>() / self.runs.len().max(1) as f64
    }

    fn mean(&self, f: fn(&WrkResult) -> f64) -> f64 {
        self.runs.iter().map(f).sum::<f64>() / self.runs.len().max(1) as f64
    }

    /// CPU microseconds per request.
    fn cpu_per_request(&self) -> f64 {
        let n: u64 = self.runs.iter().map(|r| r.requests).sum();
        self.cpu.as_secs_f64() * 1e6 / n.max(1) as f64
    }

    fn errors(&self) -> u64 {
        self.runs
            .iter()
            .map(|r| r.status_errors + r.socket_errors)
            .sum()
    }
}

pub async fn run(plan: &Plan<'_>, procs: &Procs<'_>) -> Result<Vec<Row>, String> {
    const C: usize = 64;
    // A short unmeasured pass through each, so pools and caches are warm.
    let order = [
        (plan.direct, plan.direct_body, procs.mock),
        (plan.gateway, plan.gateway_body, procs.gateway),
        (plan.floor, plan.direct_body, procs.bare),
        (plan.relay, plan.direct_body, procs.relay),
    ];
    for (ep, body, _) in order {
        wrk(plan.wrk, plan.dir, ep, body, C, 1).await?;
    }
    // Interleaved rounds, so drift on a shared machine hits every side alike.
    let mut sides: [Side; 4] = Default::default();
    for _ in 0..2 {
        for ((ep, body, proc), side) in order.iter().zip(&mut sides) {
            let cpu0 = proc.cpu()?;
            let r = wrk(plan.wrk, plan.dir, ep, body, C, plan.secs).await?;
            side.cpu += proc.cpu()?.saturating_sub(cpu0);
            side.runs.push(r);
        }
    }
    let errors: u64 = sides.iter().map(Side::errors).sum();
    if errors > 0 {
        return Err(format!(
            "throughput: {errors} failed requests (wrk status or socket errors)"
        ));
    }
    let [direct, gateway, bare, relay] = &sides;
    let (d, g, f, r) = (direct.rps(), gateway.rps(), bare.rps(), relay.rps());
    let pct = |x: f64, of: f64| 100.0 * x / of.max(1.0);
    const S: &str = "throughput64";
    Ok(vec![
        Row::new(S, "TCP byte relay / direct", "%", pct(r, d)).compare(d, r),
        Row::new(
            S,
            "TCP byte relay CPU per request",
            "µs",
            relay.cpu_per_request(),
        ),
        Row::new(S, "bare hyper proxy / direct", "%", pct(f, d)).compare(d, f),
        Row::new(
            S,
            "bare hyper proxy CPU per request",
            "µs",
            bare.cpu_per_request(),
        ),
        Row::new(S, "gateway / bare hyper proxy", "%", pct(g, f)),
        Row::new(S, "requests per second", "req/s", g).compare(d, g),
        Row::new(S, "gateway / direct", "%", pct(g, d)).goal(Goal::AtLeast(60.0)),
        Row::new(
            S,
            "latency p50 under load",
            "µs",
            gateway.mean(|r| r.p50_us) - direct.mean(|r| r.p50_us),
        )
        .compare(direct.mean(|r| r.p50_us), gateway.mean(|r| r.p50_us)),
        Row::new(
            S,
            "latency p99 under load",
            "µs",
            gateway.mean(|r| r.p99_us) - direct.mean(|r| r.p99_us),
        )
        .compare(direct.mean(|r| r.p99_us), gateway.mean(|r| r.p99_us)),
        Row::new(
            S,
            "gateway CPU per request",
            "µs",
            gateway.cpu_per_request(),
        )
        // The direct column is the mock's own CPU per request: a bare server, for scale.
        .compare(direct.cpu_per_request(), gateway.cpu_per_request())
        .goal(Goal::AtMost(30.0)),
    ])
}
