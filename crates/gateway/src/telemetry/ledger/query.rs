//! Reading the ledger: aggregates over a time range grouped by one dimension, and raw rows.
//! Runs on the read-only connection (WAL lets it read beside the writer); callers on an async
//! runtime go through `spawn_blocking`.

use rusqlite::types::ToSql;
use rusqlite::{Connection, Row as SqlRow, params};
use serde::Serialize;

use super::civil::format_rfc3339_ms;

/// The dimension aggregates are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// The client key's id.
    Key,
    /// The model alias clients asked for.
    Model,
    /// The deployment (target model) that answered.
    Deployment,
    /// The UTC day of arrival, `YYYY-MM-DD`.
    Day,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "key" => Self::Key,
            "model" => Self::Model,
            "deployment" => Self::Deployment,
            "day" => Self::Day,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::Model => "model",
            Self::Deployment => "deployment",
            Self::Day => "day",
        }
    }

    /// The SQL expression of the group value (constant strings: nothing from the client).
    fn column(self) -> &'static str {
        match self {
            Self::Key => "key_id",
            Self::Model => "model",
            Self::Deployment => "deployment",
            Self::Day => "strftime('%Y-%m-%d', ts_ms / 1000, 'unixepoch')",
        }
    }
}

/// Requests and tokens of one group (or of the whole range).
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub requests: u64,
    /// Requests with an error class (`policy` or `upstream`).
    pub errors: u64,
    pub cancelled: u64,
    pub content_filtered: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    /// Mean arrival-to-end time, milliseconds.
    pub avg_latency_ms: f64,
    pub max_latency_ms: f64,
    /// Mean time to first token over the requests that have one (streams); `None` if none do.
    pub avg_ttft_ms: Option<f64>,
    /// Sums the averages are made of, kept so groups add up into totals exactly.
    #[serde(skip)]
    latency_sum_us: i64,
    #[serde(skip)]
    ttft_sum_us: i64,
    #[serde(skip)]
    ttft_count: u64,
}

/// One group of an aggregate query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The group's value; `None` for rows without one (no client key, no deployment).
    pub key: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// An aggregate query's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub totals: Counts,
    pub groups: Vec<Group>,
}

fn ms(us: i64) -> f64 {
    // Microseconds to milliseconds, kept to the microsecond.
    us as f64 / 1000.0
}

fn avg_ms(sum_us: i64, n: u64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    ((sum_us as f64 / n as f64).round()) / 1000.0
}

impl Counts {
    fn finish(&mut self) {
        self.avg_latency_ms = avg_ms(self.latency_sum_us, self.requests);
        self.avg_ttft_ms = (self.ttft_count > 0).then(|| avg_ms(self.ttft_sum_us, self.ttft_count));
    }

    fn add(&mut self, o: &Self) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.cancelled += o.cancelled;
        self.content_filtered += o.content_filtered;
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
        self.total_tokens += o.total_tokens;
        self.cached_tokens += o.cached_tokens;
        self.reasoning_tokens += o.reasoning_tokens;
        self.max_latency_ms = self.max_latency_ms.max(o.max_latency_ms);
        self.latency_sum_us = self.latency_sum_us.saturating_add(o.latency_sum_us);
        self.ttft_sum_us = self.ttft_sum_us.saturating_add(o.ttft_sum_us);
        self.ttft_count += o.ttft_count;
    }
}

fn count(r: &SqlRow<'_>, i: usize) -> rusqlite::Result<u64> {
    let v: Option<i64> = r.get(i)?;
    Ok(u64::try_from(v.unwrap_or(0)).unwrap_or(0))
}

/// Aggregates over `[from_ms, to_ms)`, one group per value of `by`, in ascending order of the
/// value (rows without one first).
pub fn aggregate(
    conn: &Connection,
    from_ms: i64,
    to_ms: i64,
    by: GroupBy,
) -> rusqlite::Result<Report> {
    let sql = format!(
        "SELECT {g} AS g, COUNT(*), SUM(error_class <> ''), SUM(cancelled), SUM(content_filtered),
                SUM(prompt_tokens), SUM(completion_tokens), SUM(total_tokens),
                SUM(cached_tokens), SUM(reasoning_tokens),
                SUM(latency_us), MAX(latency_us), SUM(ttft_us), COUNT(ttft_us)
         FROM requests WHERE ts_ms >= ?1 AND ts_ms < ?2
         GROUP BY g ORDER BY g",
        g = by.column()
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![from_ms, to_ms], |r| {
        let mut counts = Counts {
            requests: count(r, 1)?,
            errors: count(r, 2)?,
            cancelled: count(r, 3)?,
            content_filtered: count(r, 4)?,
            prompt_tokens: count(r, 5)?,
            completion_tokens: count(r, 6)?,
            total_tokens: count(r, 7)?,
            cached_tokens: count(r, 8)?,
            reasoning_tokens: count(r, 9)?,
            latency_sum_us: r.get::<_, Option<i64>>(10)?.unwrap_or(0),
            max_latency_ms: ms(r.get::<_, Option<i64>>(11)?.unwrap_or(0)),
            ttft_sum_us: r.get::<_, Option<i64>>(12)?.unwrap_or(0),
            ttft_count: count(r, 13)?,
            ..Counts::default()
        };
        counts.finish();
        Ok(Group {
            key: r.get(0)?,
            counts,
        })
    })?;
    let groups = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    let mut totals = Counts::default();
    for g in &groups {
        totals.add(&g.counts);
    }
    totals.finish();
    Ok(Report { totals, groups })
}

/// Filters of a raw-row query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowFilter {
    pub from_ms: i64,
    pub to_ms: i64,
    pub request_id: Option<String>,
    pub model: Option<String>,
    pub key: Option<String>,
    pub limit: u32,
}

/// One stored request, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRequest {
    /// Arrival, RFC 3339 UTC with milliseconds.
    pub time: String,
    pub request_id: String,
    pub upstream_request_id: Option<String>,
    pub key: Option<String>,
    pub model: String,
    pub deployment: Option<String>,
    pub upstream: Option<String>,
    pub operation: String,
    pub status: u16,
    /// `""`, `policy` or `upstream`.
    pub error_class: String,
    pub error_code: Option<String>,
    pub stream: bool,
    pub cancelled: bool,
    pub content_filtered: bool,
    /// Whether the answer reported usage; the token counts are 0 when it did not.
    pub has_usage: bool,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub latency_ms: f64,
    pub ttft_ms: Option<f64>,
    pub upstream_latency_ms: Option<f64>,
    pub overhead_ms: Option<f64>,
}

fn stored(r: &SqlRow<'_>) -> rusqlite::Result<StoredRequest> {
    let opt_ms = |i: usize| r.get::<_, Option<i64>>(i).map(|v| v.map(ms));
    Ok(StoredRequest {
        time: format_rfc3339_ms(r.get(0)?),
        request_id: r.get(1)?,
        upstream_request_id: r.get(2)?,
        key: r.get(3)?,
        model: r.get(4)?,
        deployment: r.get(5)?,
        upstream: r.get(6)?,
        operation: r.get(7)?,
        status: r.get(8)?,
        error_class: r.get(9)?,
        error_code: r.get(10)?,
        stream: r.get(11)?,
        cancelled: r.get(12)?,
        content_filtered: r.get(13)?,
        has_usage: r.get(14)?,
        prompt_tokens: count(r, 15)?,
        completion_tokens: count(r, 16)?,
        total_tokens: count(r, 17)?,
        cached_tokens: count(r, 18)?,
        reasoning_tokens: count(r, 19)?,
        latency_ms: ms(r.get(20)?),
        ttft_ms: opt_ms(21)?,
        upstream_latency_ms: opt_ms(22)?,
        overhead_ms: opt_ms(23)?,
    })
}

/// Raw rows matching `f`, newest first.
pub fn requests(conn: &Connection, f: &RowFilter) -> rusqlite::Result<Vec<StoredRequest>> {
    let mut sql = String::from(
        "SELECT ts_ms, request_id, upstream_request_id, key_id, model, deployment, upstream,
                operation, status, error_class, error_code, stream, cancelled, content_filtered,
                has_usage, prompt_tokens, completion_tokens, total_tokens, cached_tokens,
                reasoning_tokens, latency_us, ttft_us, upstream_latency_us, overhead_us
         FROM requests WHERE ts_ms >= ?1 AND ts_ms < ?2",
    );
    let mut args: Vec<&dyn ToSql> = vec![&f.from_ms, &f.to_ms];
    for (column, value) in [
        ("request_id", &f.request_id),
        ("model", &f.model),
        ("key_id", &f.key),
    ] {
        if let Some(v) = value {
            args.push(v);
            sql.push_str(&format!(" AND {column} = ?{}", args.len()));
        }
    }
    args.push(&f.limit);
    sql.push_str(&format!(
        " ORDER BY ts_ms DESC, id DESC LIMIT ?{}",
        args.len()
    ));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(args.as_slice(), stored)?;
    rows.collect()
}
