//! One ledger row: what [`Ledger::push`](super::Ledger::push) copies out of a [`Record`] on
//! the request path, and how the writer binds it to the insert.
//!
//! The copy is deliberately dumb (reference-count bumps and integer conversions): the request
//! path pays for it, the writer thread does everything else.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use rusqlite::{Statement, params};

use crate::stream::Usage;
use crate::telemetry::{ErrorClass, Record};

/// The insert [`Row::insert`] binds, in column order.
pub const INSERT: &str = "INSERT INTO requests (
    ts_ms, request_id, upstream_request_id, key_id, model, deployment, upstream, operation,
    status, error_class, error_code, stream, cancelled, content_filtered, has_usage,
    prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens,
    latency_us, ttft_us, upstream_latency_us, overhead_us
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
    ?19, ?20, ?21, ?22, ?23, ?24)";

/// A [`Record`] as queued for the writer.
#[derive(Debug, Clone)]
pub struct Row {
    /// Arrival, Unix milliseconds.
    pub ts_ms: i64,
    pub request_id: Arc<str>,
    pub upstream_request_id: Option<Arc<str>>,
    pub key: Option<Arc<str>>,
    pub model: Arc<str>,
    pub deployment: Option<Arc<str>>,
    pub upstream: Option<Arc<str>>,
    pub operation: &'static str,
    pub status: u16,
    pub error_class: ErrorClass,
    pub error_code: Option<Cow<'static, str>>,
    pub stream: bool,
    pub cancelled: bool,
    pub content_filtered: bool,
    pub usage: Option<Usage>,
    pub latency_us: i64,
    pub ttft_us: Option<i64>,
    pub upstream_latency_us: Option<i64>,
    pub overhead_us: Option<i64>,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// SQLite integers are signed; a token count past `i64::MAX` is not a real count.
fn tokens(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Row {
    pub fn from_record(rec: &Record) -> Self {
        // Before 1970 only with a broken clock; such a row still counts, at the epoch.
        let ts_ms = rec
            .started
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Self {
            ts_ms,
            request_id: Arc::clone(&rec.request_id),
            upstream_request_id: rec.upstream_request_id.clone(),
            key: rec.key.clone(),
            model: Arc::clone(&rec.model),
            deployment: rec.deployment.clone(),
            upstream: rec.upstream.clone(),
            operation: rec.operation,
            status: rec.status,
            error_class: rec.error_class,
            error_code: rec.error_code.clone(),
            stream: rec.stream,
            cancelled: rec.cancelled,
            content_filtered: rec.content_filtered,
            usage: rec.usage,
            latency_us: micros(rec.latency),
            ttft_us: rec.ttft.map(micros),
            upstream_latency_us: rec.upstream_latency.map(micros),
            overhead_us: rec.overhead.map(micros),
        }
    }

    /// Runs `stmt` (prepared from [`INSERT`]) for this row.
    pub fn insert(&self, stmt: &mut Statement<'_>) -> rusqlite::Result<()> {
        let u = self.usage.unwrap_or_default();
        stmt.execute(params![
            self.ts_ms,
            &*self.request_id,
            self.upstream_request_id.as_deref(),
            self.key.as_deref(),
            &*self.model,
            self.deployment.as_deref(),
            self.upstream.as_deref(),
            self.operation,
            self.status,
            self.error_class.as_str(),
            self.error_code.as_deref(),
            self.stream,
            self.cancelled,
            self.content_filtered,
            self.usage.is_some(),
            tokens(u.prompt),
            tokens(u.completion),
            tokens(u.total),
            tokens(u.cached),
            tokens(u.reasoning),
            self.latency_us,
            self.ttft_us,
            self.upstream_latency_us,
            self.overhead_us,
        ])?;
        Ok(())
    }
}
