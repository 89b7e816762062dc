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
    pub wrk: &'a Path,
    pub dir: &'a Path,
    pub direct: &'a Endpoint,
    pub gateway: &'a Endpoint,
    pub direct_body: &'a Bytes,
    pub gateway_body: &'a Bytes,
    pub secs: u64,
}

pub async fn run(plan: &Plan<'_>, gw: &Proc, mock: &Proc, bare: &Proc) -> Result<Vec<Row>, String> {
    const C: usize = 64;
    // A short unmeasured pass through both, so pools and caches are warm.
    wrk(plan.wrk, plan.dir, plan.direct, plan.direct_body, C, 1).await?;
    wrk(plan.wrk, plan.dir, plan.gateway, plan.gateway_body, C, 1).await?;
    let (mut direct, mut gateway) = (Vec::new(), Vec::new());
    let mut gw_cpu = Duration::ZERO;
    let mut gw_requests = 0u64;
    let (mut mock_cpu, mut mock_requests) = (Duration::ZERO, 0u64);
    let (mut floor, mut bare_cpu, mut bare_requests) = (Vec::new(), Duration::ZERO, 0u64);
    for _ in 0..2 {
        let m0 = mock.cpu()?;
        let d = wrk(
            plan.wrk,
            plan.dir,
            plan.direct,
            plan.direct_body,
            C,
            plan.secs,
        )
        .await?;
        mock_cpu += mock.cpu()?.saturating_sub(m0);
        mock_requests += d.requests;
        direct.push(d);
        let cpu0 = gw.cpu()?;
        let g = wrk(
            plan.wrk,
            plan.dir,
            plan.gateway,
            plan.gateway_body,
            C,
            plan.secs,
        )
        .await?;
        gw_cpu += gw.cpu()?.saturating_sub(cpu0);
        gw_requests += g.requests;
        gateway.push(g);
        let b0 = bare.cpu()?;
        let f = wrk(
            plan.wrk,
            plan.dir,
            plan.floor,
            plan.direct_body,
            C,
            plan.secs,
        )
        .await?;
        bare_cpu += bare.cpu()?.saturating_sub(b0);
        bare_requests += f.requests;
        floor.push(f);
    }
    let errors: u64 = direct
        .iter()
        .chain(&gateway)
        .chain(&floor)
        .map(|r| r.status_errors + r.socket_errors)
        .sum();
    if errors > 0 {
        return Err(format!(
            "throughput: {errors} failed requests (wrk status or socket errors)"
        ));
    }
    let rps = |v: &[WrkResult]| v.iter().map(WrkResult::rps).sum::<f64>() / v.len() as f64;
    let p =
        |v: &[WrkResult], f: fn(&WrkResult) -> f64| v.iter().map(f).sum::<f64>() / v.len() as f64;
    let (d, g, f) = (rps(&direct), rps(&gateway), rps(&floor));
    let per_request = |cpu: Duration, n: u64| cpu.as_secs_f64() * 1e6 / n.max(1) as f64;
    const S: &str = "throughput64";
    Ok(vec![
        Row::new(S, "bare hyper proxy / direct", "%", 100.0 * f / d.max(1.0)).compare(d, f),
        Row::new(
            S,
            "bare hyper proxy CPU per request",
            "µs",
            per_request(bare_cpu, bare_requests),
        ),
        Row::new(S, "gateway / bare hyper proxy", "%", 100.0 * g / f.max(1.0)),
        Row::new(S, "requests per second", "req/s", g).compare(d, g),
        Row::new(S, "gateway / direct", "%", 100.0 * g / d.max(1.0)).goal(Goal::AtLeast(60.0)),
        Row::new(
            S,
            "latency p50 under load",
            "µs",
            p(&gateway, |r| r.p50_us) - p(&direct, |r| r.p50_us),
        )
        .compare(p(&direct, |r| r.p50_us), p(&gateway, |r| r.p50_us)),
        Row::new(
            S,
            "latency p99 under load",
            "µs",
            p(&gateway, |r| r.p99_us) - p(&direct, |r| r.p99_us),
        )
        .compare(p(&direct, |r| r.p99_us), p(&gateway, |r| r.p99_us)),
        Row::new(
            S,
            "gateway CPU per request",
            "µs",
            gw_cpu.as_secs_f64() * 1e6 / gw_requests.max(1) as f64,
        )
        // The direct column is the mock's own CPU per request: a bare server, for scale.
        .compare(
            mock_cpu.as_secs_f64() * 1e6 / mock_requests.max(1) as f64,
            gw_cpu.as_secs_f64() * 1e6 / gw_requests.max(1) as f64,
        )
        .goal(Goal::AtMost(30.0)),
    ])
}
