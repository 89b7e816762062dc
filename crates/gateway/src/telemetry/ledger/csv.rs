//! CSV for the usage API's downloads, RFC 4180: CRLF line ends; a field with a comma, a
//! double quote, CR or LF is quoted, its quotes doubled. Written by hand: two fixed tables do
//! not need the `csv` crate. Values are written as stored, never rewritten (a spreadsheet
//! that evaluates a cell starting with `=` is the spreadsheet's setting to change).

use super::query::{Counts, GroupBy, Report, StoredRequest};

/// Appends one field, quoted if it needs to be.
fn field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// Appends one record and its CRLF.
fn record<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, f);
    }
    out.push_str("\r\n");
}

fn num(v: impl std::fmt::Display) -> String {
    v.to_string()
}

fn opt_ms(v: Option<f64>) -> String {
    v.map(num).unwrap_or_default()
}

const COUNT_COLUMNS: [&str; 12] = [
    "requests",
    "errors",
    "cancelled",
    "contentFiltered",
    "promptTokens",
    "completionTokens",
    "totalTokens",
    "cachedTokens",
    "reasoningTokens",
    "avgLatencyMs",
    "maxLatencyMs",
    "avgTtftMs",
];

fn counts(c: &Counts) -> [String; 12] {
    [
        num(c.requests),
        num(c.errors),
        num(c.cancelled),
        num(c.content_filtered),
        num(c.prompt_tokens),
        num(c.completion_tokens),
        num(c.total_tokens),
        num(c.cached_tokens),
        num(c.reasoning_tokens),
        num(c.avg_latency_ms),
        num(c.max_latency_ms),
        opt_ms(c.avg_ttft_ms),
    ]
}

/// One header row (the group column is named after the dimension), then one row per group.
/// No totals row: a sum in the data would be counted twice by whoever sums the column.
pub fn aggregates(report: &Report, by: GroupBy) -> String {
    let mut out = String::new();
    record(&mut out, std::iter::once(by.as_str()).chain(COUNT_COLUMNS));
    for g in &report.groups {
        let values = counts(&g.counts);
        record(
            &mut out,
            std::iter::once(g.key.as_deref().unwrap_or(""))
                .chain(values.iter().map(String::as_str)),
        );
    }
    out
}

const REQUEST_COLUMNS: [&str; 24] = [
    "time",
    "requestId",
    "upstreamRequestId",
    "key",
    "model",
    "deployment",
    "upstream",
    "operation",
    "status",
    "errorClass",
    "errorCode",
    "stream",
    "cancelled",
    "contentFiltered",
    "hasUsage",
    "promptTokens",
    "completionTokens",
    "totalTokens",
    "cachedTokens",
    "reasoningTokens",
    "latencyMs",
    "ttftMs",
    "upstreamLatencyMs",
    "overheadMs",
];

/// One header row, then one row per stored request; absent values are empty fields.
pub fn requests(rows: &[StoredRequest]) -> String {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut out = String::new();
    record(&mut out, REQUEST_COLUMNS);
    for r in rows {
        let fields: [String; 24] = [
            r.time.clone(),
            r.request_id.clone(),
            text(&r.upstream_request_id),
            text(&r.key),
            r.model.clone(),
            text(&r.deployment),
            text(&r.upstream),
            r.operation.clone(),
            num(r.status),
            r.error_class.clone(),
            text(&r.error_code),
            num(r.stream),
            num(r.cancelled),
            num(r.content_filtered),
            num(r.has_usage),
            num(r.prompt_tokens),
            num(r.completion_tokens),
            num(r.total_tokens),
            num(r.cached_tokens),
            num(r.reasoning_tokens),
            num(r.latency_ms),
            opt_ms(r.ttft_ms),
            opt_ms(r.upstream_latency_ms),
            opt_ms(r.overhead_ms),
        ];
        record(&mut out, fields.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_quoting() {
        let mut out = String::new();
        record(
            &mut out,
            ["plain", "a,b", "say \"hi\"", "two\nlines", "cr\r", ""],
        );
        assert_eq!(
            out,
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\",\r\n"
        );
    }
}
