//! Queries: grouping by every dimension, UTC day boundaries, the `[from, to)` range, raw-row
//! filters and order, and CSV quoting.

use super::*;
use crate::telemetry::ledger::civil::parse_instant;
use crate::telemetry::ledger::{GroupBy, Report, RowFilter, csv};

fn ms(t: &str) -> i64 {
    parse_instant(t).unwrap()
}

/// Six rows around the range `[2026-01-01T12:00Z, 2026-01-04)`, two of them outside.
fn seeded() -> (tempfile::TempDir, Ledger, i64, i64) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let (from, to) = (ms("2026-01-01T12:00:00Z"), ms("2026-01-04"));
    let jan2 = ms("2026-01-02");

    let a = full("A", at_ms(from));
    let mut b = full("B", at_ms(jan2 - 1));
    b.key = Some(Arc::from("team-b"));
    b.stream = false;
    b.ttft = None;
    b.latency = Duration::from_millis(100);
    let c = refused("C", at_ms(jan2));
    let mut d = full("D", at_ms(ms("2026-01-03T05:00:00Z")));
    d.model = Arc::from("mini");
    d.deployment = Some(Arc::from("dep-mini"));
    d.usage = Some(Usage {
        prompt: 1,
        completion: 2,
        total: 3,
        cached: 0,
        reasoning: 0,
    });
    d.cancelled = true;
    d.ttft = Some(Duration::from_millis(10));
    d.latency = Duration::from_millis(50);
    let outside_after = full("E", at_ms(to));
    let outside_before = full("F", at_ms(from - 1));
    for r in [a, b, c, d, outside_after, outside_before] {
        ledger.push(&r);
    }
    until("6 rows", || ledger.written() == 6);
    (dir, ledger, from, to)
}

/// `(group, requests, prompt tokens)` of each group.
fn summary(report: &Report) -> Vec<(Option<&str>, u64, u64)> {
    report
        .groups
        .iter()
        .map(|g| (g.key.as_deref(), g.counts.requests, g.counts.prompt_tokens))
        .collect()
}

#[test]
fn groups_by_each_dimension_within_the_half_open_range() {
    let (_dir, ledger, from, to) = seeded();

    let by_day = ledger.aggregate(from, to, GroupBy::Day).unwrap();
    assert_eq!(
        summary(&by_day),
        [
            (Some("2026-01-01"), 2, 22),
            (Some("2026-01-02"), 1, 0),
            (Some("2026-01-03"), 1, 1),
        ],
        "23:59:59.999 and 00:00 fall on different UTC days; `to` is excluded, `from` is not"
    );
    let jan1 = &by_day.groups[0].counts;
    assert_eq!(jan1.avg_latency_ms, 110.25);
    assert_eq!(jan1.max_latency_ms, 120.5);
    assert_eq!(jan1.avg_ttft_ms, Some(40.25), "only the stream has a ttft");
    let jan2 = &by_day.groups[1].counts;
    assert_eq!((jan2.errors, jan2.avg_ttft_ms), (1, None));

    let by_key = ledger.aggregate(from, to, GroupBy::Key).unwrap();
    assert_eq!(
        summary(&by_key),
        [
            (None, 1, 0),
            (Some("team-a"), 2, 12),
            (Some("team-b"), 1, 11)
        ]
    );
    assert_eq!(by_key.groups[1].counts.total_tokens, 21);
    assert_eq!(by_key.groups[1].counts.cancelled, 1);

    let by_model = ledger.aggregate(from, to, GroupBy::Model).unwrap();
    assert_eq!(
        summary(&by_model),
        [
            (Some(""), 1, 0),
            (Some("gpt-4o"), 2, 22),
            (Some("mini"), 1, 1)
        ]
    );

    let by_deployment = ledger.aggregate(from, to, GroupBy::Deployment).unwrap();
    assert_eq!(
        summary(&by_deployment),
        [
            (None, 1, 0),
            (Some("dep-4o"), 2, 22),
            (Some("dep-mini"), 1, 1)
        ]
    );

    // Totals are the same whichever way the range is cut.
    for report in [&by_day, &by_key, &by_model, &by_deployment] {
        let t = &report.totals;
        assert_eq!(
            (t.requests, t.errors, t.cancelled, t.content_filtered),
            (4, 1, 1, 0)
        );
        assert_eq!(
            (
                t.prompt_tokens,
                t.completion_tokens,
                t.total_tokens,
                t.cached_tokens,
                t.reasoning_tokens
            ),
            (23, 16, 39, 6, 4)
        );
        assert_eq!(t.avg_latency_ms, 67.85);
        assert_eq!(t.max_latency_ms, 120.5);
        assert_eq!(t.avg_ttft_ms, Some(25.125));
    }

    let empty = ledger.aggregate(to + 1, to + 1000, GroupBy::Model).unwrap();
    assert!(empty.groups.is_empty());
    assert_eq!((empty.totals.requests, empty.totals.avg_ttft_ms), (0, None));
}

#[test]
fn raw_rows_are_filtered_and_newest_first() {
    let (_dir, ledger, from, to) = seeded();
    let ids = |f: RowFilter| -> Vec<String> {
        ledger
            .requests(&f)
            .unwrap()
            .into_iter()
            .map(|r| r.request_id)
            .collect()
    };
    let range = RowFilter {
        from_ms: from,
        to_ms: to,
        limit: 100,
        ..RowFilter::default()
    };
    assert_eq!(ids(range.clone()), ["D", "C", "B", "A"]);
    assert_eq!(
        ids(RowFilter {
            limit: 2,
            ..range.clone()
        }),
        ["D", "C"]
    );
    assert_eq!(
        ids(RowFilter {
            model: Some("gpt-4o".into()),
            ..range.clone()
        }),
        ["B", "A"]
    );
    assert_eq!(
        ids(RowFilter {
            key: Some("team-a".into()),
            ..range.clone()
        }),
        ["D", "A"]
    );
    assert_eq!(
        ids(RowFilter {
            request_id: Some("E".into()),
            ..range.clone()
        }),
        Vec::<String>::new(),
        "E is at `to`, outside"
    );
    assert_eq!(
        ids(RowFilter {
            request_id: Some("E".into()),
            from_ms: 0,
            to_ms: i64::MAX,
            ..range
        }),
        ["E"]
    );
}

#[test]
fn csv_quotes_commas_quotes_and_newlines() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let mut r = full("id,with \"quotes\"", at_ms(ms("2026-01-01T00:00:00Z")));
    r.model = Arc::from("a,\"b\"\nc");
    ledger.push(&r);
    until("1 row", || ledger.written() == 1);

    let report = ledger
        .aggregate(0, ms("2027-01-01"), GroupBy::Model)
        .unwrap();
    assert_eq!(
        csv::aggregates(&report, GroupBy::Model),
        "model,requests,errors,cancelled,contentFiltered,promptTokens,completionTokens,\
         totalTokens,cachedTokens,reasoningTokens,avgLatencyMs,maxLatencyMs,avgTtftMs\r\n\
         \"a,\"\"b\"\"\nc\",1,0,0,0,11,7,18,3,2,120.5,120.5,40.25\r\n"
    );

    let rows = ledger
        .requests(&RowFilter {
            from_ms: 0,
            to_ms: i64::MAX,
            limit: 10,
            ..RowFilter::default()
        })
        .unwrap();
    let text = csv::requests(&rows);
    let (header, body) = text.split_once("\r\n").unwrap();
    assert!(header.starts_with("time,requestId,upstreamRequestId,key,model,"));
    assert_eq!(header.split(',').count(), 24);
    assert_eq!(
        body,
        "2026-01-01T00:00:00.000Z,\"id,with \"\"quotes\"\"\",apim-1,team-a,\"a,\"\"b\"\"\nc\",\
         dep-4o,east,chat/completions,200,,,true,false,false,true,11,7,18,3,2,120.5,40.25,30,\
         0.35\r\n"
    );
}
