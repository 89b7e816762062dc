//! The standard `process_*` metrics (the names every Prometheus client library exports, so
//! existing dashboards and alerts work unchanged), read from `/proc` at scrape time. Linux
//! only: elsewhere the families are left out. A file that cannot be read leaves out its
//! metrics rather than failing the scrape.

use super::text::{Kind, Text, Value};

/// Linux's user-visible clock tick (`USER_HZ`), the unit of `/proc/*/stat` times. It is 100 on
/// every architecture Linux supports; reading `sysconf(_SC_CLK_TCK)` would need `unsafe` libc
/// calls, which this crate forbids.
const USER_HZ_NS: u128 = 10_000_000;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Process {
    cpu_ns: Option<u128>,
    start_ns: Option<u128>,
    resident: Option<u64>,
    virtual_bytes: Option<u64>,
    open_fds: Option<u64>,
    max_fds: Option<u64>,
}

pub(super) fn render(t: &mut Text) {
    let p = read();
    let metrics = [
        (
            "process_cpu_seconds_total",
            Kind::Counter,
            "Total user and system CPU time spent in seconds.",
            p.cpu_ns.map(Value::Seconds),
        ),
        (
            "process_start_time_seconds",
            Kind::Gauge,
            "Start time of the process since unix epoch in seconds.",
            p.start_ns.map(Value::Seconds),
        ),
        (
            "process_resident_memory_bytes",
            Kind::Gauge,
            "Resident memory size in bytes.",
            p.resident.map(Value::Int),
        ),
        (
            "process_virtual_memory_bytes",
            Kind::Gauge,
            "Virtual memory size in bytes.",
            p.virtual_bytes.map(Value::Int),
        ),
        (
            "process_open_fds",
            Kind::Gauge,
            "Number of open file descriptors.",
            p.open_fds.map(Value::Int),
        ),
        (
            "process_max_fds",
            Kind::Gauge,
            "Maximum number of open file descriptors.",
            p.max_fds.map(Value::Int),
        ),
    ];
    for (name, kind, help, value) in metrics {
        if let Some(v) = value {
            t.family(name, kind, help);
            t.sample(name, &[], v);
        }
    }
}

#[cfg(target_os = "linux")]
fn read() -> Process {
    let file = |path: &str| std::fs::read_to_string(path).ok();
    let mut p = Process::default();
    if let Some(stat) = file("/proc/self/stat") {
        let boot = file("/proc/stat").and_then(|s| boot_time(&s));
        (p.cpu_ns, p.start_ns) = stat_times(&stat, boot);
    }
    if let Some(status) = file("/proc/self/status") {
        p.resident = status_kb(&status, "VmRSS:").map(|kb| kb * 1024);
        p.virtual_bytes = status_kb(&status, "VmSize:").map(|kb| kb * 1024);
    }
    p.open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as u64);
    p.max_fds = file("/proc/self/limits").and_then(|s| max_open_files(&s));
    p
}

#[cfg(not(target_os = "linux"))]
fn read() -> Process {
    Process::default()
}

/// CPU time (user + system) and start time (since the epoch, given the boot time in seconds)
/// from `/proc/self/stat`. The command name (field 2) may hold spaces and parentheses, so
/// fields are counted after its last `)`.
fn stat_times(stat: &str, boot_secs: Option<u64>) -> (Option<u128>, Option<u128>) {
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return (None, None);
    };
    // `rest` starts at field 3 (state): field n is at index n - 3.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u128>().ok());
    let cpu = ticks(14)
        .zip(ticks(15))
        .map(|(user, system)| (user + system) * USER_HZ_NS);
    let start = ticks(22)
        .zip(boot_secs)
        .map(|(t, boot)| u128::from(boot) * 1_000_000_000 + t * USER_HZ_NS);
    (cpu, start)
}

/// `btime` in `/proc/stat`: boot time, seconds since the epoch.
fn boot_time(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// A `Name:   123 kB` line of `/proc/self/status`.
fn status_kb(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The soft limit of `Max open files` in `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_a_strange_command_name() {
        let stat = "4242 (aoai gw) (x)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 \
                    250 50 0 0 20 0 9 0 123456 1000000 500 18446744073709551615";
        let (cpu, start) = stat_times(stat, Some(1_700_000_000));
        assert_eq!(cpu, Some(3_000_000_000)); // 300 ticks
        assert_eq!(start, Some(1_700_000_000_000_000_000 + 1_234_560_000_000));
        assert_eq!(stat_times("garbage", None), (None, None));
    }

    #[test]
    fn parses_status_and_limits() {
        let status = "Name:\taoai-gateway\nVmSize:\t  100 kB\nVmRSS:\t    12 kB\n";
        assert_eq!(status_kb(status, "VmRSS:"), Some(12));
        assert_eq!(status_kb(status, "VmSize:"), Some(100));
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 4096                 files\n";
        assert_eq!(max_open_files(limits), Some(1024));
        assert_eq!(
            boot_time("cpu 1 2\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let p = read();
        assert!(p.resident.is_some_and(|b| b > 0));
        assert!(p.open_fds.is_some_and(|n| n > 0));
        assert!(p.cpu_ns.is_some());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        // Started within the last day, and not in the future (tick rounding aside).
        assert!(
            p.start_ns
                .is_some_and(|s| s <= now + 1_000_000_000 && s + 86_400_000_000_000 > now)
        );
    }
}
