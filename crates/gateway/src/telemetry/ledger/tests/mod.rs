//! Ledger tests on real files in temp directories: what is written comes back, survives a
//! restart and retention; queries group correctly; a stalled disk never slows `push`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

mod batch;
mod query;
mod stall;
mod write;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

use super::writer::Settings;
use super::{Ledger, Options};
use crate::config::UsageConfig;
use crate::stream::Usage;
use crate::telemetry::{ErrorClass, Record};

/// Fast retries and short lingers, so tests do not wait on production timings.
fn options() -> Options {
    Options {
        capacity: 50_000,
        busy_timeout: Duration::from_millis(50),
        writer: Settings {
            linger: Duration::from_millis(5),
            retry_first: Duration::from_millis(5),
            retry_max: Duration::from_millis(20),
            close_budget: Duration::from_millis(300),
            ..Settings::default()
        },
    }
}

fn config(retention_days: u32) -> UsageConfig {
    UsageConfig {
        enabled: true,
        retention_days,
        path: None,
    }
}

fn open(dir: &Path) -> Ledger {
    Ledger::open_with(&config(0), dir, options()).unwrap()
}

fn at_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap())
}

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A record with every field set.
fn full(id: &str, started: SystemTime) -> Record {
    Record {
        started,
        request_id: Arc::from(id),
        upstream_request_id: Some(Arc::from("apim-1")),
        key: Some(Arc::from("team-a")),
        model: Arc::from("gpt-4o"),
        deployment: Some(Arc::from("dep-4o")),
        upstream: Some(Arc::from("east")),
        operation: "chat/completions",
        status: 200,
        error_class: ErrorClass::None,
        error_code: None,
        stream: true,
        cancelled: false,
        content_filtered: false,
        usage: Some(Usage {
            prompt: 11,
            completion: 7,
            total: 18,
            cached: 3,
            reasoning: 2,
        }),
        latency: Duration::from_micros(120_500),
        ttft: Some(Duration::from_micros(40_250)),
        upstream_latency: Some(Duration::from_micros(30_000)),
        overhead: Some(Duration::from_micros(350)),
    }
}

/// A refused request: no key, no deployment, no usage.
fn refused(id: &str, started: SystemTime) -> Record {
    let mut r = Record::new(started, Arc::from(id), "chat/completions");
    r.status = 401;
    r.error_class = ErrorClass::Policy;
    r.error_code = Some(Cow::Borrowed("invalid_api_key"));
    r.latency = Duration::from_micros(900);
    r
}

/// Polls (bounded) until `cond` holds.
fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Rows in the file, counted on a connection of its own.
fn rows_in(dir: &Path) -> i64 {
    let conn = Connection::open(dir.join("usage.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.query_row("SELECT COUNT(*) FROM requests", [], |r| r.get(0))
        .unwrap()
}
