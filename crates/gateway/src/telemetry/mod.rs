//! What the gateway records about the traffic it carries. Every request ends in one
//! [`Record`], handed to [`Telemetry::finish`], which feeds each sink:
//! - [`stats`]: in-memory per-model totals for the admin dashboard;
//! - [`metrics`]: Prometheus counters, histograms and gauges for `/metrics`;
//! - [`ledger`]: the persistent SQLite usage ledger, written in batches off the request path;
//! - [`logs`]: the `request.completed` log event, which reaches stdout and the admin log ring;
//! - `otel` (cargo feature `otel`): one OpenTelemetry span per request, exported over OTLP.

pub mod ledger;
pub mod logs;
pub mod metrics;
#[cfg(feature = "otel")]
pub mod otel;
pub mod pending;
pub mod record;
pub mod session;
pub mod stats;

use std::sync::Arc;

pub use ledger::Ledger;
pub use logs::LogBuffer;
pub use metrics::Metrics;
pub use pending::{BodyEnd, Pending};
pub use record::{ErrorClass, Record};
pub use session::{ResponseDone, SessionRecorder};
pub use stats::{ModelStats, Stats, StatsSnapshot};

use stats::RequestRecord;

/// The sinks, shared by every request for the life of the process (across config reloads).
#[derive(Debug)]
pub struct Telemetry {
    pub stats: Arc<Stats>,
    pub metrics: Arc<Metrics>,
    pub ledger: Ledger,
    pub logs: Arc<LogBuffer>,
}

impl Telemetry {
    pub fn new(ledger: Ledger, logs: Arc<LogBuffer>) -> Self {
        Self {
            stats: Arc::new(Stats::default()),
            metrics: Arc::new(Metrics::new()),
            ledger,
            logs,
        }
    }

    /// Sinks that keep nothing on disk (the demo, library users).
    pub fn in_memory() -> Self {
        Self::new(Ledger::disabled(), Arc::new(LogBuffer::default()))
    }

    /// Records one finished request in every sink. `model` is the alias's counters, which the
    /// request already holds (no map lookup here); `None` before a model was resolved, which
    /// the per-model stats do not count.
    pub fn finish(&self, model: Option<&ModelStats>, rec: &Record) {
        if let Some(model) = model {
            model.record(RequestRecord {
                error: rec.is_error(),
                cancelled: rec.cancelled,
                usage: rec.usage,
                content_filtered: rec.content_filtered,
            });
        }
        self.metrics.observe(rec);
        logs::completed(rec);
        #[cfg(feature = "otel")]
        otel::export(rec);
        self.ledger.push(rec);
    }
}
