//! Records for a realtime session: each `response.done` is one billed exchange, so each
//! becomes one [`Record`] (operation `realtime`, the session's request id), timed from the
//! previous one (or from the session's start).

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::{ErrorClass, ModelStats, Record, Telemetry};
use crate::stream::Usage;

/// What the relay needs to record a session's responses.
#[derive(Debug)]
pub struct SessionRecorder {
    sinks: Arc<Telemetry>,
    stats: Arc<ModelStats>,
    base: Record,
    since: Instant,
}

/// How one realtime response ended.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponseDone {
    pub failed: bool,
    pub cancelled: bool,
    pub usage: Option<Usage>,
}

impl SessionRecorder {
    pub(super) fn new(sinks: Arc<Telemetry>, stats: Arc<ModelStats>, base: Record) -> Self {
        Self {
            sinks,
            stats,
            base,
            since: Instant::now(),
        }
    }

    /// A recorder outside any request (tests): records into `stats` and in-memory sinks.
    pub fn detached(stats: Arc<ModelStats>, model: &str) -> Self {
        let mut base = Record::new(SystemTime::now(), Arc::from("detached"), "realtime");
        base.model = Arc::from(model);
        Self::new(Arc::new(Telemetry::in_memory()), stats, base)
    }

    /// Records one `response.done`.
    pub fn response_done(&mut self, done: ResponseDone) {
        let now = Instant::now();
        let mut rec = self.base.clone();
        rec.started = SystemTime::now() - now.saturating_duration_since(self.since);
        rec.latency = now.saturating_duration_since(self.since);
        self.since = now;
        rec.status = 200;
        rec.stream = true;
        rec.usage = done.usage;
        rec.cancelled = done.cancelled;
        if done.failed {
            rec.error_class = ErrorClass::Upstream;
            rec.error_code = Some("realtime_response_failed".into());
        }
        self.sinks.finish(Some(&self.stats), &rec);
    }
}
