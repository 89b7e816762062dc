//! How the writer binds a [`Record`] to the ledger's insert. The request path only clones the
//! record onto the queue (reference-count bumps); every conversion happens here, on the
//! writer's thread.

use std::time::{Duration, UNIX_EPOCH};

use rusqlite::{Statement, params};

use crate::telemetry::Record;

/// The insert [`insert`] binds, in column order.
pub const INSERT: &str = "INSERT INTO requests (
    ts_ms, request_id, upstream_request_id, key_id, model, deployment, upstream, operation,
    status, error_class, error_code, stream, cancelled, content_filtered, has_usage,
    prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens,
    latency_us, ttft_us, upstream_latency_us, overhead_us
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
    ?19, ?20, ?21, ?22, ?23, ?24)";

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn tokens(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Runs `stmt` (prepared from [`INSERT`]) for `rec`.
pub fn insert(rec: &Record, stmt: &mut Statement<'_>) -> rusqlite::Result<()> {
    // Before 1970 only with a broken clock; such a row still counts, at the epoch.
    let ts_ms = rec
        .started
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let u = rec.usage.unwrap_or_default();
    stmt.execute(params![
        ts_ms,
        &*rec.request_id,
        rec.upstream_request_id.as_deref(),
        rec.key.as_deref(),
        &*rec.model,
        rec.deployment.as_deref(),
        rec.upstream.as_deref(),
        rec.operation,
        rec.status,
        rec.error_class.as_str(),
        rec.error_code.as_deref(),
        rec.stream,
        rec.cancelled,
        rec.content_filtered,
        rec.usage.is_some(),
        tokens(u.prompt),
        tokens(u.completion),
        tokens(u.total),
        tokens(u.cached),
        tokens(u.reasoning),
        micros(rec.latency),
        rec.ttft.map(micros),
        rec.upstream_latency.map(micros),
        rec.overhead.map(micros),
    ])?;
    Ok(())
}
