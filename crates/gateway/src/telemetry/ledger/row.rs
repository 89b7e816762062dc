//! How the writer binds a [`Record`] to the ledger's insert. The request path only clones the
//! record onto the queue (reference-count bumps); every conversion happens here, on the
//! writer's thread.

use std::time::{Duration, UNIX_EPOCH};

use rusqlite::Statement;

use crate::telemetry::Record;

/// The columns [`bind`] fills, in its order.
const COLUMNS: &str = "ts_ms, request_id, upstream_request_id, key_id, model, deployment, \
    upstream, operation, status, error_class, error_code, stream, cancelled, content_filtered, \
    has_usage, prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens, \
    latency_us, ttft_us, upstream_latency_us, overhead_us";

/// Parameters per row.
pub const PARAMS: usize = 24;

/// An insert of `rows` rows in one statement (`VALUES (…), (…), …`); [`bind`] fills row `i`
/// from parameter `i * PARAMS + 1`.
///
/// `OR FAIL`: a multi-row insert that may abort midway (`NOT NULL`) makes SQLite keep a
/// statement journal to undo just that statement; FAIL needs none. The writer rolls back the
/// whole batch on any error, so nothing changes but the journal's cost (about 5 % per row).
/// The columns are never NULL where the schema forbids it anyway: [`bind`] binds plain values.
pub fn insert_sql(rows: usize) -> String {
    let one = format!("({})", vec!["?"; PARAMS].join(", "));
    format!(
        "INSERT OR FAIL INTO requests ({COLUMNS}) VALUES {}",
        vec![one; rows].join(", ")
    )
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn tokens(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Binds `rec` to parameters `first..first + PARAMS` of `stmt` (from [`insert_sql`]), one
/// call per value: no parameter slice of trait objects. Every parameter is bound, NULLs too,
/// so nothing carries over from the statement's previous run.
pub fn bind(rec: &Record, stmt: &mut Statement<'_>, first: usize) -> rusqlite::Result<()> {
    // Before 1970 only with a broken clock; such a row still counts, at the epoch.
    let ts_ms = rec
        .started
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let u = rec.usage.unwrap_or_default();
    let i = first;
    stmt.raw_bind_parameter(i, ts_ms)?;
    stmt.raw_bind_parameter(i + 1, &*rec.request_id)?;
    stmt.raw_bind_parameter(i + 2, rec.upstream_request_id.as_deref())?;
    stmt.raw_bind_parameter(i + 3, rec.key.as_deref())?;
    stmt.raw_bind_parameter(i + 4, &*rec.model)?;
    stmt.raw_bind_parameter(i + 5, rec.deployment.as_deref())?;
    stmt.raw_bind_parameter(i + 6, rec.upstream.as_deref())?;
    stmt.raw_bind_parameter(i + 7, rec.operation)?;
    stmt.raw_bind_parameter(i + 8, rec.status)?;
    stmt.raw_bind_parameter(i + 9, rec.error_class.as_str())?;
    stmt.raw_bind_parameter(i + 10, rec.error_code.as_deref())?;
    stmt.raw_bind_parameter(i + 11, rec.stream)?;
    stmt.raw_bind_parameter(i + 12, rec.cancelled)?;
    stmt.raw_bind_parameter(i + 13, rec.content_filtered)?;
    stmt.raw_bind_parameter(i + 14, rec.usage.is_some())?;
    stmt.raw_bind_parameter(i + 15, tokens(u.prompt))?;
    stmt.raw_bind_parameter(i + 16, tokens(u.completion))?;
    stmt.raw_bind_parameter(i + 17, tokens(u.total))?;
    stmt.raw_bind_parameter(i + 18, tokens(u.cached))?;
    stmt.raw_bind_parameter(i + 19, tokens(u.reasoning))?;
    stmt.raw_bind_parameter(i + 20, micros(rec.latency))?;
    stmt.raw_bind_parameter(i + 21, rec.ttft.map(micros))?;
    stmt.raw_bind_parameter(i + 22, rec.upstream_latency.map(micros))?;
    stmt.raw_bind_parameter(i + 23, rec.overhead.map(micros))?;
    Ok(())
}
