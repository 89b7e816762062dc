//! The whole pipeline in-process: real `tracing` events through both layers into a collecting
//! sink and a ring.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::*;
use crate::stream::Usage;
use crate::telemetry::logs::{completed, query};
use crate::telemetry::{ErrorClass, Record};

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Sink for Lines {
    fn line(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }
}

impl Lines {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn settings(format: Format, env: &[(&str, &str)]) -> Settings {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Settings::from_env(format, &|k| env.get(k).cloned()).unwrap()
}

fn record(status: u16, error: ErrorClass) -> Record {
    let mut rec = Record::new(SystemTime::now(), Arc::from("req-42"), "chat/completions");
    rec.model = Arc::from("gpt-4o");
    rec.key = Some(Arc::from("team-a"));
    rec.deployment = Some(Arc::from("dep-4o"));
    rec.upstream = Some(Arc::from("east"));
    rec.upstream_request_id = Some(Arc::from("apim-1"));
    rec.status = status;
    rec.error_class = error;
    rec.usage = Some(Usage {
        prompt: 11,
        completion: 7,
        total: 18,
        cached: 0,
        reasoning: 0,
    });
    rec.latency = Duration::from_millis(25);
    rec
}

#[test]
fn env_settings_and_their_errors() {
    let s = settings(Format::Json, &[]);
    assert_eq!(s.ring_capacity, 1000);
    assert!(s.notes.is_empty());
    let s = settings(Format::Json, &[("ADMIN_LOG_BUFFER_SIZE", " 0 ")]);
    assert_eq!(s.ring_capacity, 0);
    let s = settings(Format::Human, &[("LOG_LEVEL", "info,=[")]);
    assert_eq!(s.notes.len(), 1, "a bad LOG_LEVEL is reported, not fatal");
    for bad in ["-1", "lots", "100001", ""] {
        let err = Settings::from_env(Format::Human, &|k| {
            (k == "ADMIN_LOG_BUFFER_SIZE").then(|| bad.to_owned())
        })
        .unwrap_err();
        assert!(
            err.contains("ADMIN_LOG_BUFFER_SIZE") && err.contains("100000"),
            "{err}"
        );
    }
    let err = Settings::from_env(Format::Human, &|k| {
        (k == "ADMIN_LOG_LEVEL").then(|| "loud=[".to_owned())
    })
    .unwrap_err();
    assert!(err.contains("ADMIN_LOG_LEVEL"), "{err}");
}

#[test]
fn ring_keeps_info_while_stdout_shows_warn_and_both_see_the_request_span() {
    let lines = Lines::default();
    let (ring, sub) = subscriber(
        settings(Format::Json, &[("LOG_LEVEL", "warn")]),
        lines.clone(),
    );
    tracing::subscriber::with_default(sub, || {
        let span = tracing::info_span!("request", request_id = "req-7");
        let _in = span.enter();
        tracing::info!(model = "gpt-4o", "routing");
        tracing::warn!(upstream = "east", "upstream call failed");
        tracing::debug!("not kept anywhere");
    });
    let out = lines.take();
    assert_eq!(out.len(), 1, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out[0]).unwrap();
    assert_eq!(v["request_id"], "req-7", "span field at the top level");
    assert_eq!(v["level"], "warn");
    assert_eq!(v["upstream"], "east");
    let entries = ring.snapshot();
    assert_eq!(entries.len(), 2);
    assert!(
        entries
            .iter()
            .all(|e| e.request_id.as_deref() == Some("req-7"))
    );
    assert_eq!(&*entries[0].message, "routing");
}

#[test]
fn human_lines_carry_the_span_and_completed_levels_follow_the_outcome() {
    let lines = Lines::default();
    let (ring, sub) = subscriber(settings(Format::Human, &[]), lines.clone());
    tracing::subscriber::with_default(sub, || {
        let span = tracing::info_span!("request", request_id = "req-8");
        span.in_scope(|| tracing::warn!("inside"));
        completed(&record(200, ErrorClass::None));
        let mut failed = record(502, ErrorClass::Upstream);
        failed.error_code = Some("upstream_unreachable".into());
        completed(&failed);
    });
    let out = lines.take();
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(
        out[0].contains(" WARN request{request_id=req-8}: "),
        "{}",
        out[0]
    );
    assert!(
        out[1].contains(" INFO aoai_gateway::access: request completed "),
        "{}",
        out[1]
    );
    for needle in [
        "event=request.completed",
        "request_id=req-42",
        "upstream_request_id=apim-1",
        "key=team-a",
        "model=gpt-4o",
        "operation=chat/completions",
        "status=200",
        "prompt_tokens=11",
        "total_tokens=18",
        "latency_ms=25",
    ] {
        assert!(out[1].contains(needle), "{needle} missing in {}", out[1]);
    }
    assert!(!out[1].contains("error_class"), "{}", out[1]);
    assert!(out[2].contains(" WARN "), "{}", out[2]);
    assert!(out[2].contains("error_class=upstream error_code=upstream_unreachable"));

    let entries = ring.snapshot();
    let done: Vec<_> = entries
        .iter()
        .filter(|e| &*e.event == "request.completed")
        .collect();
    assert_eq!(done.len(), 2);
    let json = serde_json::to_value(&**done[1]).unwrap();
    assert_eq!(json["level"], "warn");
    assert_eq!(json["requestId"], "req-42");
    assert_eq!(json["upstreamRequestId"], "apim-1");
    assert_eq!(json["route"], "chat/completions");
    assert_eq!(json["status"], 502);
    assert_eq!(json["errorCode"], "upstream_unreachable");
    assert_eq!(json["latencyMs"], 25);
    assert_eq!(json["fields"]["key"], "team-a");
    assert_eq!(json["fields"]["total_tokens"], 18);
    let (total, _) = query::select(
        &ring,
        &query::Query {
            request_id: Some("req-42".into()),
            limit: 10,
            ..Default::default()
        },
    );
    assert_eq!(total, 2);
}

#[test]
fn the_events_own_request_id_wins_over_the_span() {
    let lines = Lines::default();
    let (ring, sub) = subscriber(settings(Format::Json, &[]), lines.clone());
    tracing::subscriber::with_default(sub, || {
        let span = tracing::info_span!("request", request_id = "outer");
        span.in_scope(|| completed(&record(200, ErrorClass::None)));
    });
    let v: serde_json::Value = serde_json::from_str(&lines.take()[0]).unwrap();
    assert_eq!(v["request_id"], "req-42");
    assert_eq!(ring.snapshot()[0].request_id.as_deref(), Some("req-42"));
}

#[test]
fn secrets_are_masked_on_stdout_and_in_the_ring_alike() {
    let lines = Lines::default();
    let (ring, sub) = subscriber(settings(Format::Json, &[]), lines.clone());
    tracing::subscriber::with_default(sub, || {
        tracing::warn!(
            api_key = "k-123456",
            authorization = %"Bearer abc",
            key = "team-a",
            url = "https://h/x?api-key=qwerty123&a=b",
            "login with password=hunter2 failed"
        );
    });
    let line = &lines.take()[0];
    let entry = serde_json::to_string(&*ring.snapshot()[0]).unwrap();
    for text in [line.as_str(), entry.as_str()] {
        for secret in ["k-123456", "Bearer abc", "qwerty123", "hunter2"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("team-a"), "the key id label stays: {text}");
        assert!(text.contains("a=b"), "{text}");
    }
}

#[test]
fn a_disabled_ring_keeps_nothing() {
    let (ring, sub) = subscriber(
        settings(Format::Human, &[("ADMIN_LOG_BUFFER_SIZE", "0")]),
        Lines::default(),
    );
    tracing::subscriber::with_default(sub, || tracing::warn!("x"));
    assert_eq!(ring.capacity(), 0);
    assert!(ring.snapshot().is_empty());
}

#[test]
fn log_crate_records_keep_their_target_and_level() {
    use tracing_log::log;
    let lines = Lines::default();
    let (ring, sub) = subscriber(settings(Format::Json, &[]), lines.clone());
    tracing::subscriber::with_default(sub, || {
        let record = log::Record::builder()
            .level(log::Level::Warn)
            .target("rustls::conn")
            .args(format_args!("peer sent bad cert"))
            .build();
        tracing_log::format_trace(&record).unwrap();
    });
    let v: serde_json::Value = serde_json::from_str(&lines.take()[0]).unwrap();
    assert_eq!(v["target"], "rustls::conn");
    assert_eq!(v["level"], "warn");
    assert_eq!(v["message"], "peer sent bad cert");
    assert!(v.get("log.target").is_none(), "{v}");
    let entry = &ring.snapshot()[0];
    assert_eq!(&*entry.target, "rustls::conn");
    assert_eq!(&*entry.event, "rustls::conn");
}

/// The ring's entry for `rec` by the fast path (the record lent to the ring) and by the
/// event's fields, as JSON without the id and time.
fn both_paths(
    rec: &Record,
    env: &[(&str, &str)],
) -> (Option<serde_json::Value>, Option<serde_json::Value>) {
    let json = |ring: &LogBuffer| {
        ring.snapshot().first().map(|e| {
            let mut v = serde_json::to_value(&**e).unwrap();
            let m = v.as_object_mut().unwrap();
            m.remove("id");
            m.remove("ts");
            v
        })
    };
    let (fast, sub) = subscriber(settings(Format::Json, env), Lines::default());
    tracing::subscriber::with_default(sub, || completed(rec));
    let unbuilt = fast.unbuilt();
    assert!(
        super::super::completed::take_lent().is_none(),
        "the lent record never outlives the event"
    );
    let fast = json(&fast);
    if fast.is_some() {
        assert_eq!(unbuilt, 1, "kept as a record until read");
    }
    let (slow, sub) = subscriber(settings(Format::Json, env), Lines::default());
    tracing::subscriber::with_default(sub, || super::super::completed::emit(rec));
    (fast, json(&slow))
}

#[test]
fn completed_entries_kept_as_records_read_like_the_events_fields() {
    let ok = record(200, ErrorClass::None);
    let mut failed = record(502, ErrorClass::Upstream);
    failed.error_code = Some("upstream_unreachable".into());
    failed.usage = None;
    failed.key = None;
    let mut stream = record(200, ErrorClass::None);
    stream.stream = true;
    stream.cancelled = true;
    stream.ttft = Some(Duration::from_millis(3));
    stream.upstream_latency = Some(Duration::from_millis(9));
    stream.overhead = Some(Duration::from_micros(150));
    if let Some(u) = stream.usage.as_mut() {
        u.cached = 4;
        u.reasoning = 2;
    }
    // A client-chosen model name that looks like a key is masked on both paths.
    let mut secretive = record(400, ErrorClass::Policy);
    secretive.model = Arc::from("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789");
    for rec in [&ok, &failed, &stream, &secretive] {
        let (fast, slow) = both_paths(rec, &[]);
        let fast = fast.expect("kept");
        assert_eq!(Some(&fast), slow.as_ref());
        assert_eq!(fast["event"], "request.completed");
        assert_eq!(fast["message"], "request completed");
        assert!(!fast.to_string().contains("abcdefghijklmnop"), "{fast}");
    }
    let (fast, _) = both_paths(&stream, &[]);
    let fields = &fast.unwrap()["fields"];
    assert_eq!(fields["cached_tokens"], 4);
    assert_eq!(fields["overhead_ms"], 0);
    assert_eq!(fields["ttft_ms"], 3);
}

#[test]
fn the_ring_filter_still_decides_for_completed_entries() {
    let env = [("ADMIN_LOG_LEVEL", "warn")];
    let (fast, slow) = both_paths(&record(200, ErrorClass::None), &env);
    assert_eq!((fast, slow), (None, None), "a success is info: not kept");
    let (fast, slow) = both_paths(&record(429, ErrorClass::Upstream), &env);
    assert!(fast.is_some());
    assert_eq!(fast, slow);
    let env = [("ADMIN_LOG_LEVEL", "info,aoai_gateway::access=off")];
    assert_eq!(
        both_paths(&record(500, ErrorClass::Upstream), &env),
        (None, None)
    );
}

#[test]
fn lines_in_a_request_scope_carry_its_id_in_both_sinks() {
    use http::HeaderValue;

    use super::super::scope;

    let lines = Lines::default();
    let (ring, sub) = subscriber(settings(Format::Human, &[]), lines.clone());
    tracing::subscriber::with_default(sub, || {
        scope::in_scope(&HeaderValue::from_static("req-scope-1"), || {
            tracing::warn!(upstream = "east", "upstream call failed");
            // A span naming another request wins over the scope.
            let span = tracing::info_span!("request", request_id = "req-span-2");
            span.in_scope(|| tracing::warn!("inside the span"));
        });
        tracing::warn!("outside any request");
    });
    let out = lines.take();
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(
        out[0].contains(" WARN request{request_id=req-scope-1}: "),
        "{}",
        out[0]
    );
    assert!(
        out[1].contains("request{request_id=req-span-2}"),
        "{}",
        out[1]
    );
    assert!(!out[1].contains("req-scope-1"), "{}", out[1]);
    assert!(!out[2].contains("request{"), "{}", out[2]);
    let ids: Vec<_> = ring
        .snapshot()
        .iter()
        .map(|e| e.request_id.as_deref().map(str::to_owned))
        .collect();
    assert_eq!(
        ids,
        [
            Some("req-scope-1".to_owned()),
            Some("req-span-2".to_owned()),
            None
        ]
    );
}

#[test]
fn json_lines_in_a_request_scope_have_the_id_at_the_top_level() {
    use http::HeaderValue;

    use super::super::scope;

    let lines = Lines::default();
    let (_ring, sub) = subscriber(settings(Format::Json, &[]), lines.clone());
    tracing::subscriber::with_default(sub, || {
        scope::in_scope(&HeaderValue::from_static("req-json-1"), || {
            tracing::warn!("routing failed");
        });
    });
    let v: serde_json::Value = serde_json::from_str(&lines.take()[0]).unwrap();
    assert_eq!(v["request_id"], "req-json-1");
}
