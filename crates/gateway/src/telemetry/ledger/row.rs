//! How the writer binds a queued row to the ledger's insert.

use rusqlite::Statement;

use super::rows::{Rows, Text};

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

fn tokens(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Binds row `at` of `rows` to parameters `first..first + PARAMS` of `stmt` (from
/// [`insert_sql`]), one call per value: no parameter slice of trait objects. Every parameter
/// is bound, NULLs too, so nothing carries over from the statement's previous run.
pub fn bind(
    rows: &Rows,
    at: usize,
    stmt: &mut Statement<'_>,
    first: usize,
) -> rusqlite::Result<()> {
    let row = rows
        .get(at)
        .ok_or(rusqlite::Error::InvalidParameterCount(at, rows.len()))?;
    let text = |which| rows.text(row, which);
    let u = row.usage.unwrap_or_default();
    let i = first;
    stmt.raw_bind_parameter(i, row.ts_ms)?;
    stmt.raw_bind_parameter(i + 1, text(Text::RequestId))?;
    stmt.raw_bind_parameter(i + 2, text(Text::UpstreamRequestId))?;
    stmt.raw_bind_parameter(i + 3, text(Text::Key))?;
    stmt.raw_bind_parameter(i + 4, text(Text::Model))?;
    stmt.raw_bind_parameter(i + 5, text(Text::Deployment))?;
    stmt.raw_bind_parameter(i + 6, text(Text::Upstream))?;
    stmt.raw_bind_parameter(i + 7, row.operation)?;
    stmt.raw_bind_parameter(i + 8, row.status)?;
    stmt.raw_bind_parameter(i + 9, row.error_class.as_str())?;
    stmt.raw_bind_parameter(i + 10, text(Text::ErrorCode))?;
    stmt.raw_bind_parameter(i + 11, row.stream)?;
    stmt.raw_bind_parameter(i + 12, row.cancelled)?;
    stmt.raw_bind_parameter(i + 13, row.content_filtered)?;
    stmt.raw_bind_parameter(i + 14, row.usage.is_some())?;
    stmt.raw_bind_parameter(i + 15, tokens(u.prompt))?;
    stmt.raw_bind_parameter(i + 16, tokens(u.completion))?;
    stmt.raw_bind_parameter(i + 17, tokens(u.total))?;
    stmt.raw_bind_parameter(i + 18, tokens(u.cached))?;
    stmt.raw_bind_parameter(i + 19, tokens(u.reasoning))?;
    stmt.raw_bind_parameter(i + 20, row.latency_us)?;
    stmt.raw_bind_parameter(i + 21, row.ttft_us)?;
    stmt.raw_bind_parameter(i + 22, row.upstream_latency_us)?;
    stmt.raw_bind_parameter(i + 23, row.overhead_us)?;
    Ok(())
}
