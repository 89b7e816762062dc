//! What a scrape shows after a few finished requests: exact lines, escaping, the cardinality
//! caps, the in-flight gauge and pooled deployments' health.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;

use super::*;
use crate::config;
use crate::config::UsageConfig;
use crate::state::Runtime;
use crate::stream::Usage;
use crate::telemetry::{ErrorClass, Ledger, Stats};

fn record(model: &str, deployment: Option<&str>, status: u16) -> Record {
    let mut rec = Record::new(SystemTime::now(), Arc::from("req-1"), "chat/completions");
    rec.model = Arc::from(model);
    rec.deployment = deployment.map(Arc::from);
    rec.key = Some(Arc::from("team-a"));
    rec.status = status;
    rec.latency = Duration::from_millis(120);
    rec.overhead = Some(Duration::from_micros(80));
    rec.upstream_latency = Some(Duration::from_millis(90));
    rec
}

/// A runtime with one single-deployment model and one pool of two deployments.
fn runtime() -> Runtime {
    let cfg = json!({
        "auth": {"mode": "apiKey", "apiKey": "upstream-key"},
        "apiKeys": [{"id": "team-a", "key": "sk-team-a-0123456789", "status": "active"}],
        "upstreams": [{"name": "east", "baseUrl": "http://127.0.0.1:9", "kind": "azure",
                       "apiVersion": "2024-10-21"}],
        "models": [
            {"id": "solo", "upstream": "east", "targetModel": "dep-solo"},
            {"id": "pooled", "deployments": [
                {"upstream": "east", "targetModel": "dep-a"},
                {"upstream": "east", "targetModel": "dep-b"}
            ]}
        ]
    });
    let (config, problems) = config::check_text(&cfg.to_string());
    assert!(problems.iter().all(|p| !p.is_error()), "{problems:?}");
    Runtime::build(config.unwrap(), Arc::new(Stats::default())).unwrap()
}

fn lines_of<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .collect()
}

#[test]
fn a_few_requests_show_up_as_counters_histograms_and_tokens() {
    let rt = runtime();
    let m = Metrics::new();
    let mut ok = record("gpt-4o", Some("dep-4o"), 200);
    ok.usage = Some(Usage {
        prompt: 11,
        completion: 7,
        total: 18,
        cached: 3,
        reasoning: 0,
    });
    m.observe(&ok);
    ok.stream = true;
    ok.ttft = Some(Duration::from_millis(300));
    m.observe(&ok);
    let mut throttled = record("gpt-4o", Some("dep-4o"), 429);
    throttled.error_class = ErrorClass::Upstream;
    throttled.cancelled = true;
    m.observe(&throttled);
    let mut refused = record("", None, 401);
    refused.error_class = ErrorClass::Policy;
    refused.key = None;
    refused.upstream_latency = None;
    m.observe(&refused);

    let text = m.render(&rt.models, &Ledger::disabled());
    assert_eq!(
        lines_of(&text, render::REQUESTS),
        [
            r#"aoai_gateway_requests_total{model="",deployment="",operation="chat/completions",status="401",error_class="policy"} 1"#,
            r#"aoai_gateway_requests_total{model="gpt-4o",deployment="dep-4o",operation="chat/completions",status="200",error_class=""} 2"#,
            r#"aoai_gateway_requests_total{model="gpt-4o",deployment="dep-4o",operation="chat/completions",status="429",error_class="upstream"} 1"#,
        ]
    );
    assert_eq!(
        lines_of(&text, render::CANCELLED),
        [
            r#"aoai_gateway_requests_cancelled_total{model="gpt-4o",deployment="dep-4o",operation="chat/completions",status="429",error_class="upstream"} 1"#
        ]
    );
    assert!(lines_of(&text, render::CONTENT_FILTERED).is_empty());
    assert_eq!(
        lines_of(&text, render::TOKENS),
        [
            r#"aoai_gateway_tokens_total{key="team-a",model="gpt-4o",type="prompt"} 22"#,
            r#"aoai_gateway_tokens_total{key="team-a",model="gpt-4o",type="completion"} 14"#,
            r#"aoai_gateway_tokens_total{key="team-a",model="gpt-4o",type="cached"} 6"#,
            r#"aoai_gateway_tokens_total{key="team-a",model="gpt-4o",type="reasoning"} 0"#,
        ]
    );
    // 80 µs overhead lands in the 100 µs bucket, not the 50 µs one.
    assert!(text.contains(
        "aoai_gateway_overhead_seconds_bucket{model=\"gpt-4o\",le=\"0.00005\"} 0\n\
         aoai_gateway_overhead_seconds_bucket{model=\"gpt-4o\",le=\"0.0001\"} 3\n"
    ));
    assert!(text.contains("aoai_gateway_overhead_seconds_sum{model=\"gpt-4o\"} 0.00024\n"));
    assert!(text.contains("aoai_gateway_overhead_seconds_count{model=\"gpt-4o\"} 3\n"));
    // Only the stream had a first token.
    assert!(text.contains(
        "aoai_gateway_time_to_first_token_seconds_count{model=\"gpt-4o\",deployment=\"dep-4o\"} 1\n"
    ));
    assert!(text.contains(
        "aoai_gateway_time_to_first_token_seconds_bucket{model=\"gpt-4o\",deployment=\"dep-4o\",le=\"0.25\"} 0\n\
         aoai_gateway_time_to_first_token_seconds_bucket{model=\"gpt-4o\",deployment=\"dep-4o\",le=\"0.5\"} 1\n"
    ));
    assert!(text.contains(
        "aoai_gateway_upstream_latency_seconds_count{model=\"gpt-4o\",deployment=\"dep-4o\"} 3\n"
    ));
    // The refused request has no upstream time: no upstream histogram for its empty route.
    assert!(!text.contains("aoai_gateway_upstream_latency_seconds_count{model=\"\""));
    assert!(text.contains("aoai_gateway_request_duration_seconds_count{model=\"\"} 1\n"));
    assert!(text.contains("# TYPE aoai_gateway_requests_total counter\n"));
    assert!(text.contains("# TYPE aoai_gateway_overhead_seconds histogram\n"));
    let build = format!(
        "aoai_gateway_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    );
    assert!(text.contains(&build));
}

#[test]
fn every_family_is_declared_once_and_its_samples_stay_together() {
    let rt = runtime();
    let m = Metrics::new();
    for (model, status) in [("a", 200), ("b", 500), ("a", 429)] {
        let mut rec = record(model, Some("d"), status);
        rec.usage = Some(Usage::default());
        rec.ttft = Some(Duration::from_millis(5));
        m.observe(&rec);
    }
    let text = m.render(&rt.models, &Ledger::disabled());
    let mut declared = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap().to_owned();
            assert!(!declared.contains(&name), "{name} declared twice");
            declared.push(name.clone());
            current = name;
        } else if !line.starts_with('#') {
            let sample = line.split(['{', ' ']).next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| sample.strip_suffix(s).filter(|f| *f == current))
                .unwrap_or(sample);
            assert_eq!(family, current, "{line} outside its family");
        }
    }
    assert!(text.ends_with('\n'));
}

#[test]
fn label_values_are_escaped_in_the_exposition() {
    let rt = runtime();
    let m = Metrics::new();
    m.observe(&record("we\"ird\\mo\ndel", Some("d"), 200));
    let text = m.render(&rt.models, &Ledger::disabled());
    assert!(
        text.contains(r#"aoai_gateway_requests_total{model="we\"ird\\mo\ndel",deployment="d""#),
        "{text}"
    );
    // Every sample line is one line: the newline in the value did not break it.
    assert!(
        text.lines()
            .all(|l| l.starts_with("# ") || l.starts_with("aoai_") || l.starts_with("process_"))
    );
}

#[test]
fn label_sets_beyond_the_cap_fold_into_other() {
    let rt = runtime();
    let limits = Limits {
        models: 2,
        routes: 2,
        requests: 3,
        tokens: 2,
    };
    let m = Metrics::with_limits(limits);
    for i in 0..50 {
        let mut rec = record(&format!("client-model-{i}"), Some("dep"), 200);
        rec.key = Some(Arc::from(format!("pt-{i}")));
        rec.usage = Some(Usage {
            prompt: 1,
            ..Usage::default()
        });
        m.observe(&rec);
    }
    let text = m.render(&rt.models, &Ledger::disabled());
    let requests = lines_of(&text, render::REQUESTS);
    assert_eq!(requests.len(), 4, "{requests:?}");
    assert!(requests.contains(
        &r#"aoai_gateway_requests_total{model="(other)",deployment="(other)",operation="chat/completions",status="200",error_class=""} 47"#
    ));
    // Bounded labels survive the fold: another status is its own folded series.
    m.observe(&record("yet-another", Some("dep"), 503));
    let text = m.render(&rt.models, &Ledger::disabled());
    assert!(text.contains(
        r#"model="(other)",deployment="(other)",operation="chat/completions",status="503""#
    ));
    let tokens = lines_of(&text, render::TOKENS);
    assert_eq!(tokens.len(), 3 * 4, "{tokens:?}");
    assert!(
        tokens.contains(
            &r#"aoai_gateway_tokens_total{key="(other)",model="(other)",type="prompt"} 48"#
        )
    );
    let durations = lines_of(&text, "aoai_gateway_request_duration_seconds_count");
    assert_eq!(durations.len(), 3, "{durations:?}");
    assert!(
        durations.contains(&r#"aoai_gateway_request_duration_seconds_count{model="(other)"} 49"#)
    );
    // Nothing was lost: every request is counted somewhere.
    let total: u64 = lines_of(&text, render::REQUESTS)
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 51);
}

#[test]
fn in_flight_follows_the_guards() {
    let rt = runtime();
    let m = Metrics::new();
    let gauge =
        |m: &Metrics| lines_of(&m.render(&rt.models, &Ledger::disabled()), IN_FLIGHT).join("\n");
    assert_eq!(gauge(&m), "aoai_gateway_requests_in_flight 0");
    let a = m.in_flight();
    let b = m.in_flight();
    assert_eq!(gauge(&m), "aoai_gateway_requests_in_flight 2");
    drop(a);
    // Guards move across threads (a stream's body ends on whichever task polls it).
    std::thread::spawn(move || drop(b)).join().unwrap();
    assert_eq!(gauge(&m), "aoai_gateway_requests_in_flight 0");
}

#[test]
fn pooled_deployments_report_health_and_cooldown() {
    let rt = runtime();
    let m = Metrics::new();
    let text = m.render(&rt.models, &Ledger::disabled());
    assert_eq!(
        lines_of(&text, deployments::HEALTHY),
        [
            r#"aoai_gateway_deployment_healthy{model="pooled",upstream="east",deployment="dep-a"} 1"#,
            r#"aoai_gateway_deployment_healthy{model="pooled",upstream="east",deployment="dep-b"} 1"#,
        ]
    );
    let pool = rt.models.get("pooled").unwrap().pool().unwrap();
    let a = pool
        .members()
        .iter()
        .find(|m| &*m.any_target().deployment == "dep-a")
        .unwrap();
    let mut lease = a.health.lease(false);
    lease.throttled(tokio::time::Instant::now(), Some(Duration::from_secs(30)));
    drop(lease);
    let text = m.render(&rt.models, &Ledger::disabled());
    assert!(text.contains(
        "aoai_gateway_deployment_healthy{model=\"pooled\",upstream=\"east\",deployment=\"dep-a\"} 0\n"
    ));
    assert!(text.contains(
        "aoai_gateway_deployment_healthy{model=\"pooled\",upstream=\"east\",deployment=\"dep-b\"} 1\n"
    ));
    let cooldown = lines_of(&text, deployments::COOLDOWN);
    let secs = |dep: &str| -> f64 {
        cooldown
            .iter()
            .find(|l| l.contains(&format!("deployment=\"{dep}\"")))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!((29.0..=30.0).contains(&secs("dep-a")), "{cooldown:?}");
    assert_eq!(secs("dep-b"), 0.0);
    // The single-deployment model has no health state to export.
    assert!(!text.contains("model=\"solo\""));
}

#[test]
fn observe_is_safe_from_many_threads() {
    let m = Arc::new(Metrics::with_limits(Limits {
        models: 4,
        routes: 4,
        requests: 8,
        tokens: 4,
    }));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let m = Arc::clone(&m);
            std::thread::spawn(move || {
                for i in 0..500 {
                    m.observe(&record(&format!("m{}", (i + t) % 7), Some("d"), 200));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let text = m.render(&runtime().models, &Ledger::disabled());
    let total: u64 = lines_of(&text, render::REQUESTS)
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 2000);
    assert!(lines_of(&text, render::REQUESTS).len() <= 9);
}

#[test]
fn the_contract_types_can_be_shared_and_moved() {
    fn shared<T: std::fmt::Debug + Send + Sync>() {}
    fn moved<T: std::fmt::Debug + Send>() {}
    shared::<Metrics>();
    moved::<InFlight>();
}

#[test]
fn the_ledger_rows_show_when_the_ledger_is_on() {
    let rt = runtime();
    let m = Metrics::new();
    let text = m.render(&rt.models, &Ledger::disabled());
    assert!(!text.contains("aoai_gateway_ledger_"));
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&UsageConfig::default(), dir.path()).unwrap();
    let text = m.render(&rt.models, &ledger);
    for name in [LEDGER_DROPPED, LEDGER_WRITTEN, LEDGER_QUEUED] {
        assert_eq!(lines_of(&text, name), [format!("{name} 0")], "{text}");
    }
    ledger.close();
}
