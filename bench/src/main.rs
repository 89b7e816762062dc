//! `aoai-bench`: the gateway against a direct call to the same mock, in one run.
//!
//! `bench/run` builds the release binaries and calls this with their paths. Every process
//! listens on 127.0.0.1; every scenario is bounded in time. The table goes to stdout, the
//! same rows (with machine, commit and command) to the JSON file.

mod client;
mod floor;
mod procs;
mod relay;
mod report;
mod scenario;
mod setup;
mod stats;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use serde_json::json;

use report::Row;
use setup::{Binaries, Rig};

#[derive(Parser)]
#[command(name = "aoai-bench", about = "Gateway vs direct, same mock, same run")]
struct Args {
    /// The gateway binary (release build).
    #[arg(long)]
    gateway: PathBuf,
    /// The mock-azure binary (release build).
    #[arg(long)]
    mock: PathBuf,
    /// The wrk binary.
    #[arg(long, default_value = "wrk")]
    wrk: PathBuf,
    /// Where to write the JSON results.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Measured rounds per side in the sequential and failover scenarios.
    #[arg(long, default_value_t = 3000)]
    rounds: usize,
    /// Seconds per wrk run (the throughput scenario runs four).
    #[arg(long, default_value_t = 8)]
    secs: u64,
    /// Concurrent open streams for the memory scenario.
    #[arg(long, default_value_t = 2000)]
    streams: usize,
    /// Paced streams per side in the streaming scenario.
    #[arg(long, default_value_t = 30)]
    stream_rounds: usize,
    /// Run only these scenarios (sequential, throughput, streaming, open-streams, failover).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Extra environment for the gateway process only, as KEY=VALUE (repeatable), e.g.
    /// `TOKIO_WORKER_THREADS=1`; recorded in the JSON.
    #[arg(long = "gateway-env", value_name = "KEY=VALUE")]
    gateway_env: Vec<String>,
    /// Internal: run as the bare forwarding proxy in front of this address (the throughput
    /// scenario starts one to measure the floor).
    #[arg(long, hide = true)]
    bare_proxy_upstream: Option<std::net::SocketAddr>,
    /// Internal: run as the TCP byte relay in front of this address (the kernel floor).
    #[arg(long, hide = true)]
    relay_upstream: Option<std::net::SocketAddr>,
    /// Recorded in the JSON: the commit measured.
    #[arg(long, default_value = "")]
    commit: String,
    /// Recorded in the JSON: the command that produced it.
    #[arg(long, default_value = "")]
    command: String,
}

impl Args {
    fn wants(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == name)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    async_main(Args::parse()).await
}

async fn async_main(args: Args) -> ExitCode {
    if let Some(upstream) = args.relay_upstream {
        let ran = tokio::task::spawn_blocking(move || relay::run(upstream))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
        return match ran {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("relay: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(upstream) = args.bare_proxy_upstream {
        return match floor::run(upstream).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bare-proxy: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match run(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("aoai-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// This binary in the hidden mode `--{mode}-upstream` (the bare proxy or the byte relay), in
/// front of the rig's mock.
async fn start_floor(args: &Args, rig: &Rig, mode: &'static str) -> Result<procs::Proc, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = procs::command(&exe);
    cmd.arg("--gateway")
        .arg(&args.gateway)
        .arg("--mock")
        .arg(&args.mock)
        .arg(format!("--{mode}-upstream"))
        .arg(rig.mock.addr.to_string());
    procs::Proc::start(mode, cmd).await
}

/// Runs every wanted scenario; `Ok(false)` when one of them could not complete.
async fn run(args: &Args) -> Result<bool, String> {
    for (what, path) in [("gateway", &args.gateway), ("mock", &args.mock)] {
        if !path.is_file() {
            return Err(format!("{what} binary not found at {}", path.display()));
        }
    }
    let gateway_env = args
        .gateway_env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| format!("--gateway-env {kv:?}: expected KEY=VALUE"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bins = Binaries {
        gateway: args.gateway.clone(),
        mock: args.mock.clone(),
        gateway_env,
    };
    let rig = Rig::start(&bins, args.wants("failover")).await?;
    let work = std::env::temp_dir().join(format!("aoai-bench-wrk-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = rig.gateway.rss()?;

    let direct = rig.direct(setup::DEPLOYMENT);
    let gateway = rig.gateway();
    let body = setup::chat_body("gpt-4o-mini", false);
    let stream_body = setup::chat_body("gpt-4o-mini", true);
    let mut rows: Vec<Row> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut record = |name: &str, result: Result<Vec<Row>, String>| {
        eprintln!("aoai-bench: {name} done");
        match result {
            Ok(r) => rows.extend(r),
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    };

    if args.wants("sequential") {
        let sides = scenario::sequential::Sides {
            direct: &direct,
            gateway: &gateway,
            direct_body: &body,
            gateway_body: &body,
        };
        record(
            "sequential",
            scenario::sequential::run(&sides, &rig.gateway, &rig.mock, args.rounds).await,
        );
    }
    if args.wants("throughput") {
        let bare = start_floor(args, &rig, "bare-proxy").await?;
        let relay = start_floor(args, &rig, "relay").await?;
        let floor = client::Endpoint {
            addr: bare.addr,
            ..direct.clone()
        };
        let relayed = client::Endpoint {
            addr: relay.addr,
            ..direct.clone()
        };
        let plan = scenario::throughput::Plan {
            floor: &floor,
            relay: &relayed,
            wrk: &args.wrk,
            dir: &work,
            direct: &direct,
            gateway: &gateway,
            direct_body: &body,
            gateway_body: &body,
            secs: args.secs,
        };
        record(
            "throughput",
            scenario::throughput::run(
                &plan,
                &scenario::throughput::Procs {
                    gateway: &rig.gateway,
                    mock: &rig.mock,
                    bare: &bare,
                    relay: &relay,
                },
            )
            .await,
        );
        bare.stop().await;
        relay.stop().await;
    }
    if args.wants("streaming") {
        let plan = scenario::streaming::Plan {
            direct: &direct,
            gateway: &gateway,
            direct_body: &stream_body,
            gateway_body: &stream_body,
            rounds: args.stream_rounds,
        };
        record(
            "streaming",
            scenario::streaming::run(&plan, &rig.gateway).await,
        );
    }
    if args.wants("open-streams") {
        let bare = start_floor(args, &rig, "bare-proxy").await?;
        let floor = client::Endpoint {
            addr: bare.addr,
            ..direct.clone()
        };
        let result = scenario::open_streams::run(
            (&gateway, &rig.gateway),
            (&floor, &bare),
            &stream_body,
            args.streams,
            idle_rss,
        )
        .await;
        bare.stop().await;
        record("open-streams", result);
    }
    if args.wants("failover") {
        let healthy = rig.direct(setup::HEALTHY);
        let pool_body = setup::chat_body("pool", false);
        let plan = scenario::failover::Plan {
            wrk: &args.wrk,
            dir: &work,
            direct: &healthy,
            gateway: &gateway,
            direct_body: &body,
            gateway_body: &pool_body,
            rounds: args.rounds,
            secs: args.secs.min(5),
        };
        record(
            "failover",
            scenario::failover::run(&plan, &rig.gateway, &rig.mock).await,
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_after = rig.gateway.rss()? as f64 / (1024.0 * 1024.0);
    // Reported without a target: the allocator keeps pages freed after the open-streams peak
    // until the next allocation on their thread, and an idle gateway makes none.
    rows.push(Row::new(
        "idle",
        "gateway RSS after the run",
        "MiB",
        idle_after,
    ));
    rig.stop().await;
    let _ = std::fs::remove_dir_all(&work);

    let table = report::table(&rows);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(table.as_bytes());
    for e in &errors {
        let _ = writeln!(out, "FAILED {e}");
    }
    let _ = out.flush();
    if let Some(path) = &args.out {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let doc = json!({
            "commit": args.commit,
            "command": args.command,
            "unix_time": unix,
            "machine": procs::machine(),
            "settings": {
                "rounds": args.rounds, "secs": args.secs, "streams": args.streams,
                "stream_rounds": args.stream_rounds, "gateway_env": args.gateway_env,
            },
            "rows": rows,
            "errors": errors,
        });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(errors.is_empty())
}
