//! The processes under test: start them, find their port, and read their CPU time and memory
//! from `/proc` (the kernel's own accounting, so the numbers cover every thread and allocator).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A child process that is killed when dropped, so a failed run leaves nothing behind.
pub struct Proc {
    pub name: &'static str,
    pub addr: SocketAddr,
    child: Child,
    pid: u32,
}

impl Proc {
    /// Starts `cmd` and waits (bounded) for its `… listening on http://ADDR` line on stdout.
    pub async fn start(name: &'static str, mut cmd: Command) -> Result<Self, String> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{name}: cannot start: {e}"))?;
        let pid = child
            .id()
            .ok_or_else(|| format!("{name}: exited at once"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| format!("{name}: no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let wait = async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.split("listening on http://").nth(1) {
                    return url.trim().parse::<SocketAddr>().ok();
                }
            }
            None
        };
        let addr = tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .ok()
            .flatten()
            .ok_or_else(|| format!("{name}: no `listening on` line within 30 s"))?;
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            name,
            addr,
            child,
            pid,
        })
    }

    /// CPU time (user + system) of every thread, from `/proc/PID/task/*/schedstat` (ns).
    pub fn cpu(&self) -> Result<Duration, String> {
        cpu_of(self.pid).map_err(|e| format!("{}: {e}", self.name))
    }

    /// Resident set size now, in bytes (`VmRSS`).
    pub fn rss(&self) -> Result<u64, String> {
        status_kb(self.pid, "VmRSS:")
            .map(|kb| kb * 1024)
            .map_err(|e| format!("{}: {e}", self.name))
    }

    /// Stops the process and waits for it, so its port and memory are free for what follows.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

fn cpu_of(pid: u32) -> std::io::Result<Duration> {
    let mut total: u64 = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        // A thread may end between the listing and the read; it no longer counts.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let ns = text
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        total = total.saturating_add(ns);
    }
    Ok(Duration::from_nanos(total))
}

fn status_kb(pid: u32, key: &str) -> std::io::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no {key} in /proc/{pid}/status")))
}

/// The machine, for the record: cores, memory, CPU model, kernel.
pub fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    serde_json::json!({
        "cores": cores,
        "memory_mib": mem_kb / 1024,
        "cpu": model,
        "kernel": kernel.trim(),
    })
}

/// A command with a clean environment for the gateway: no inherited Azure or gateway settings.
pub fn command(bin: &Path) -> Command {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE_")
            || k.starts_with("UPSTREAM_")
            || k.starts_with("GATEWAY_")
            || k == "CONFIG_PATH"
        {
            cmd.env_remove(k);
        }
    }
    cmd
}
