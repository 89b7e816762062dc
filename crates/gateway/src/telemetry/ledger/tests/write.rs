//! Writing: every field round-trips, rows survive a restart, close flushes, retention runs at
//! start and deletes old rows only.

use super::*;
use crate::telemetry::ledger::{QueryError, RowFilter, StoredRequest};

fn by_id(ledger: &Ledger, id: &str) -> Vec<StoredRequest> {
    ledger
        .requests(&RowFilter {
            from_ms: 0,
            to_ms: i64::MAX,
            request_id: Some(id.to_owned()),
            limit: 10,
            ..RowFilter::default()
        })
        .unwrap()
}

#[test]
fn every_field_is_written_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let t = 1_763_786_784_123;
    ledger.push(&full("req-full", at_ms(t)));
    ledger.push(&refused("req-refused", at_ms(t + 1)));
    until("2 rows", || ledger.written() == 2);

    let got = by_id(&ledger, "req-full");
    assert_eq!(
        got,
        vec![StoredRequest {
            time: "2025-11-22T04:46:24.123Z".into(),
            request_id: "req-full".into(),
            upstream_request_id: Some("apim-1".into()),
            key: Some("team-a".into()),
            model: "gpt-4o".into(),
            deployment: Some("dep-4o".into()),
            upstream: Some("east".into()),
            operation: "chat/completions".into(),
            status: 200,
            error_class: String::new(),
            error_code: None,
            stream: true,
            cancelled: false,
            content_filtered: false,
            has_usage: true,
            prompt_tokens: 11,
            completion_tokens: 7,
            total_tokens: 18,
            cached_tokens: 3,
            reasoning_tokens: 2,
            latency_ms: 120.5,
            ttft_ms: Some(40.25),
            upstream_latency_ms: Some(30.0),
            overhead_ms: Some(0.35),
        }]
    );
    let refused = &by_id(&ledger, "req-refused")[0];
    assert_eq!(refused.key, None);
    assert_eq!(refused.model, "");
    assert_eq!(refused.status, 401);
    assert_eq!(refused.error_class, "policy");
    assert_eq!(refused.error_code.as_deref(), Some("invalid_api_key"));
    assert!(!refused.has_usage);
    assert_eq!(refused.total_tokens, 0);
    assert_eq!((refused.latency_ms, refused.ttft_ms), (0.9, None));

    // Flags and the remaining error class, on a row of their own.
    let mut odd = full("req-odd", at_ms(t + 2));
    odd.cancelled = true;
    odd.content_filtered = true;
    odd.stream = false;
    odd.error_class = ErrorClass::Upstream;
    odd.error_code = Some(Cow::Owned("upstream_timeout".to_owned()));
    ledger.push(&odd);
    until("3 rows", || ledger.written() == 3);
    let odd = &by_id(&ledger, "req-odd")[0];
    assert!(odd.cancelled && odd.content_filtered && !odd.stream);
    assert_eq!(odd.error_class, "upstream");
    assert_eq!(ledger.dropped(), 0);
    assert_eq!(ledger.queued(), 0);
}

#[test]
fn rows_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    for i in 0..3 {
        ledger.push(&full(&format!("a{i}"), SystemTime::now()));
    }
    ledger.close();
    drop(ledger);
    assert_eq!(rows_in(dir.path()), 3);

    let ledger = open(dir.path());
    assert_eq!(by_id(&ledger, "a2").len(), 1, "read after reopening");
    ledger.push(&full("b0", SystemTime::now()));
    ledger.close();
    assert_eq!(rows_in(dir.path()), 4);
}

#[test]
fn close_writes_what_is_queued_without_waiting_for_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options();
    // A batch that would wait a minute for company: close must not.
    opts.writer.linger = Duration::from_secs(60);
    let ledger = Ledger::open_with(&config(0), dir.path(), opts).unwrap();
    for i in 0..500 {
        ledger.push(&full(&format!("r{i}"), SystemTime::now()));
    }
    let started = Instant::now();
    ledger.close();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ledger.written(), 500);
    assert_eq!(rows_in(dir.path()), 500);
    // After close, rows are refused and counted, never blocked on.
    ledger.push(&full("late", SystemTime::now()));
    until("the late row counted", || ledger.dropped() == 1);
}

#[test]
fn retention_at_start_deletes_old_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let day = 86_400_000;
    let now = now_ms();
    let ledger = open(dir.path());
    for i in 0..30 {
        ledger.push(&full(&format!("old{i}"), at_ms(now - 40 * day - i)));
    }
    ledger.push(&full("edge", at_ms(now - 30 * day + 60_000)));
    ledger.push(&full("new", at_ms(now)));
    ledger.close();
    drop(ledger);
    assert_eq!(rows_in(dir.path()), 32);

    let mut opts = options();
    opts.writer.retention_chunk = 7;
    let ledger = Ledger::open_with(&config(30), dir.path(), opts).unwrap();
    until("old rows deleted", || rows_in(dir.path()) == 2);
    assert_eq!(by_id(&ledger, "edge").len(), 1);
    assert_eq!(by_id(&ledger, "new").len(), 1);
}

#[test]
fn open_creates_the_directory_and_honours_an_explicit_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested/deeper/ledger.sqlite");
    let cfg = UsageConfig {
        path: Some(file.to_string_lossy().into_owned()),
        ..config(0)
    };
    let ledger = Ledger::open_with(&cfg, Path::new("/nonexistent-data-dir"), options()).unwrap();
    assert_eq!(ledger.path(), Some(file.as_path()));
    ledger.push(&full("x", SystemTime::now()));
    ledger.close();
    assert!(file.exists());
}

#[test]
fn a_disabled_ledger_records_nothing_and_says_so() {
    let ledger = Ledger::disabled();
    ledger.push(&full("x", SystemTime::now()));
    ledger.close();
    assert!(!ledger.is_enabled());
    assert_eq!(
        (ledger.written(), ledger.dropped(), ledger.queued()),
        (0, 0, 0)
    );
    assert_eq!(
        ledger.aggregate(0, i64::MAX, super::super::GroupBy::Model),
        Err(QueryError::Disabled)
    );
}
