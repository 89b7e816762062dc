//! Micro-benchmarks for the per-request hot pieces, so a regression shows up without a load
//! test: the response side scanners (SSE and JSON tail), the request body peek and model
//! splice, the image-compression fast path, request normalization, the SSE edit that hides
//! the usage chunk, the routing decision, the client-key check and the Prometheus metrics
//! update every finished request makes.
//!
//! Inputs are built once, outside the timed loops, and shaped like real Azure OpenAI traffic.
//! Byte throughput is reported for body work, element throughput (one request) for the rest.
//!
//! `cargo bench -p aoai-gateway --bench hot_path` measures; `cargo test` runs every benchmark
//! once as a smoke test.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use aoai_gateway::call::{self, Operation};
use aoai_gateway::config::{self, ModelFamily, UpstreamKind};
use aoai_gateway::policy::images;
use aoai_gateway::policy::normalize::{self, Rules};
use aoai_gateway::rewrite::EditPlan;
use aoai_gateway::state::Runtime;
use aoai_gateway::stream::{ScanOutcome, Scanner};
use aoai_gateway::telemetry::metrics::Limits;
use aoai_gateway::telemetry::{ErrorClass, Metrics, Record, Stats};
use aoai_gateway::upstream::dialect;
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::HeaderMap;
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const CONTENT_FILTER_SAFE: &str = r#"{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}"#;

const PROMPT_FILTER_RESULTS: &str = r#"[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}]"#;

/// Tokens of a plausible answer; some carry escapes and multi-byte UTF-8.
const WORDS: [&str; 16] = [
    "The",
    " gateway",
    " forwards",
    " each",
    " frame",
    " unchanged",
    ",",
    " while",
    " a",
    " side",
    " scanner",
    " looks",
    " for",
    " \\\"usage\\\"",
    " héllo",
    " 🌍\\n",
];

fn sse_event(name: Option<&str>, data: &str) -> String {
    match name {
        Some(n) => format!("event: {n}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

/// An Azure chat-completions stream (WIRE-FACTS A7), one string per SSE event: the
/// empty-choices prompt-filter chunk, the role chunk, `deltas` content chunks with
/// `content_filter_results`, the finish chunk, the usage chunk and `[DONE]`.
fn azure_chat_stream(deltas: usize) -> Vec<String> {
    const ID: &str = r#""created":1718756652,"id":"chatcmpl-9bS7dOqCqAyNUo1zPdvCDUQ4wRMNm","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_b705f0c291""#;
    let mut events = vec![
        sse_event(
            None,
            &format!(
                r#"{{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":{PROMPT_FILTER_RESULTS}}}"#
            ),
        ),
        sse_event(
            None,
            &format!(
                r#"{{"choices":[{{"content_filter_results":{{}},"delta":{{"content":"","refusal":null,"role":"assistant"}},"finish_reason":null,"index":0,"logprobs":null}}],{ID},"usage":null}}"#
            ),
        ),
    ];
    for i in 0..deltas {
        let word = WORDS[i % WORDS.len()];
        events.push(sse_event(
            None,
            &format!(
                r#"{{"choices":[{{"content_filter_results":{CONTENT_FILTER_SAFE},"delta":{{"content":"{word}"}},"finish_reason":null,"index":0,"logprobs":null}}],{ID},"usage":null}}"#
            ),
        ));
    }
    events.push(sse_event(
        None,
        &format!(
            r#"{{"choices":[{{"content_filter_results":{{}},"delta":{{}},"finish_reason":"stop","index":0,"logprobs":null}}],{ID},"usage":null}}"#
        ),
    ));
    events.push(sse_event(
        None,
        &format!(
            r#"{{"choices":[],{ID},"usage":{{"completion_tokens":52,"completion_tokens_details":{{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":0,"rejected_prediction_tokens":0}},"prompt_tokens":308,"prompt_tokens_details":{{"audio_tokens":0,"cached_tokens":128}},"total_tokens":360}}}}"#
        ),
    ));
    events.push("data: [DONE]\n\n".to_owned());
    events
}

/// A Responses API stream: lifecycle events, `deltas` output-text deltas, the done events and
/// `response.completed` repeating the whole response with its usage.
fn responses_stream(deltas: usize) -> Vec<String> {
    const RESP: &str = r#""id":"resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b","object":"response","created_at":1741290958,"model":"o4-mini-2025-04-16""#;
    const ITEM: &str = "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b";
    let mut seq = 0u32;
    let mut next = || {
        seq += 1;
        seq - 1
    };
    let text: String = (0..deltas).map(|i| WORDS[i % WORDS.len()]).collect();
    let mut events = vec![
        sse_event(
            Some("response.created"),
            &format!(
                r#"{{"type":"response.created","sequence_number":{},"response":{{{RESP},"status":"in_progress","error":null,"incomplete_details":null,"output":[],"usage":null,"metadata":{{}}}}}}"#,
                next()
            ),
        ),
        sse_event(
            Some("response.in_progress"),
            &format!(
                r#"{{"type":"response.in_progress","sequence_number":{},"response":{{{RESP},"status":"in_progress","error":null,"incomplete_details":null,"output":[],"usage":null,"metadata":{{}}}}}}"#,
                next()
            ),
        ),
        sse_event(
            Some("response.output_item.added"),
            &format!(
                r#"{{"type":"response.output_item.added","sequence_number":{},"output_index":0,"item":{{"id":"{ITEM}","type":"message","status":"in_progress","role":"assistant","content":[]}}}}"#,
                next()
            ),
        ),
        sse_event(
            Some("response.content_part.added"),
            &format!(
                r#"{{"type":"response.content_part.added","sequence_number":{},"item_id":"{ITEM}","output_index":0,"content_index":0,"part":{{"type":"output_text","text":"","annotations":[]}}}}"#,
                next()
            ),
        ),
    ];
    for i in 0..deltas {
        let word = WORDS[i % WORDS.len()];
        events.push(sse_event(
            Some("response.output_text.delta"),
            &format!(
                r#"{{"type":"response.output_text.delta","sequence_number":{},"item_id":"{ITEM}","output_index":0,"content_index":0,"delta":"{word}","logprobs":[]}}"#,
                next()
            ),
        ));
    }
    events.push(sse_event(
        Some("response.output_text.done"),
        &format!(
            r#"{{"type":"response.output_text.done","sequence_number":{},"item_id":"{ITEM}","output_index":0,"content_index":0,"text":"{text}","logprobs":[]}}"#,
            next()
        ),
    ));
    events.push(sse_event(
        Some("response.output_item.done"),
        &format!(
            r#"{{"type":"response.output_item.done","sequence_number":{},"output_index":0,"item":{{"id":"{ITEM}","type":"message","status":"completed","role":"assistant","content":[{{"type":"output_text","text":"{text}","annotations":[]}}]}}}}"#,
            next()
        ),
    ));
    events.push(sse_event(
        Some("response.completed"),
        &format!(
            r#"{{"type":"response.completed","sequence_number":{},"response":{{{RESP},"status":"completed","error":null,"incomplete_details":null,"output":[{{"id":"rs_1","type":"reasoning","summary":[]}},{{"id":"{ITEM}","type":"message","status":"completed","role":"assistant","content":[{{"type":"output_text","text":"{text}","annotations":[]}}]}}],"parallel_tool_calls":true,"temperature":1.0,"tool_choice":"auto","tools":[],"top_p":1.0,"usage":{{"input_tokens":36,"input_tokens_details":{{"cached_tokens":0}},"output_tokens":87,"output_tokens_details":{{"reasoning_tokens":64}},"total_tokens":123}},"user":null,"metadata":{{}}}}}}"#,
            next()
        ),
    ));
    events
}

/// A non-streaming Azure chat completion (~1 KB) with `usage` near the end.
fn chat_completion_json() -> Vec<u8> {
    let content: String = (0..40).map(|i| WORDS[i % WORDS.len()]).collect();
    format!(
        r#"{{"choices":[{{"content_filter_results":{CONTENT_FILTER_SAFE},"finish_reason":"stop","index":0,"logprobs":null,"message":{{"annotations":[],"content":"{content}","refusal":null,"role":"assistant"}}}}],"created":1718756652,"id":"chatcmpl-9bS7dOqCqAyNUo1zPdvCDUQ4wRMNm","model":"gpt-4o-2024-08-06","object":"chat.completion","prompt_filter_results":{PROMPT_FILTER_RESULTS},"system_fingerprint":"fp_b705f0c291","usage":{{"completion_tokens":40,"completion_tokens_details":{{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":0,"rejected_prediction_tokens":0}},"prompt_tokens":308,"prompt_tokens_details":{{"audio_tokens":0,"cached_tokens":0}},"total_tokens":348}}}}"#
    )
    .into_bytes()
}

/// An embeddings response of `inputs` 1536-dimension vectors (~21 KB each as JSON text).
fn embeddings_json(inputs: usize) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut data = Vec::with_capacity(inputs);
    for index in 0..inputs {
        let embedding: Vec<f64> = (0..1536)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Values in (-0.1, 0.1), as text-embedding-3 produces.
                ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) / 5.0
            })
            .collect();
        data.push(json!({"object": "embedding", "index": index, "embedding": embedding}));
    }
    let body = json!({
        "object": "list",
        "data": data,
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 8 * inputs, "total_tokens": 8 * inputs},
    });
    serde_json::to_vec(&body).unwrap()
}

/// A chat request as an SDK sends it: small, or with a long conversation; `model` last.
fn chat_request(turns: usize) -> Vec<u8> {
    let mut messages = vec![json!({"role": "system", "content": "You are a helpful assistant."})];
    for i in 0..turns {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        let content: String = (0..60)
            .map(|j| {
                WORDS[(i + j) % WORDS.len()]
                    .replace("\\\"", "\"")
                    .replace("\\n", "\n")
            })
            .collect();
        messages.push(json!({"role": role, "content": content}));
    }
    if turns == 0 {
        messages.push(json!({"role": "user", "content":
            "Summarize the difference between the chat completions and responses APIs in two sentences."}));
    }
    let messages = serde_json::to_string(&messages).unwrap();
    format!(
        r#"{{"messages":{messages},"temperature":0.7,"max_tokens":256,"stream":true,"stream_options":{{"include_usage":true}},"model":"gpt-4o-mini"}}"#
    )
    .into_bytes()
}

/// A gateway config: 2 upstreams, 20 aliases (a few with route overrides), 10 client keys
/// and, optionally, a model fallback.
fn runtime(fallback: bool) -> Runtime {
    let families = [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "o3",
        "o4-mini",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
    ];
    let mut models = Vec::new();
    for (i, name) in families.iter().enumerate() {
        models
            .push(json!({"id": name, "upstream": "legacy", "targetModel": format!("dep-{name}")}));
        let mut m = json!({"id": format!("{name}-eu"), "upstream": "v1",
            "targetModel": format!("{name}-2025-eu")});
        if i % 3 == 0 {
            m["routes"] = json!({"*": "responses"});
        }
        models.push(m);
    }
    let keys: Vec<_> = (0..10)
        .map(|i| json!({"id": format!("team-{i}"), "key": client_key(i), "status": "active"}))
        .collect();
    let mut cfg = json!({
        "auth": {"mode": "apiKey", "apiKey": "upstream-key"},
        "apiKeys": keys,
        "upstreams": [
            {"name": "legacy", "baseUrl": "http://127.0.0.1:9", "kind": "azure",
             "apiVersion": "2024-10-21"},
            {"name": "v1", "baseUrl": "http://127.0.0.1:9/", "kind": "azure-v1"}
        ],
        "models": models,
    });
    if fallback {
        cfg["modelFallback"] = json!({"upstream": "v1"});
    }
    let (config, problems) = config::check_text(&cfg.to_string());
    assert!(
        problems.iter().all(|p| !p.is_error()),
        "bench config: {problems:?}"
    );
    Runtime::build(config.unwrap(), Arc::new(Stats::default())).unwrap()
}

fn client_key(i: usize) -> String {
    format!("sk-gw-{i:02}-4f1c2b7e9a0d48c6b3e5f7a9c1d3e5f7")
}

// ---------------------------------------------------------------------------------------------
// Benchmarks
// ---------------------------------------------------------------------------------------------

fn scan(content_type: &str, frames: &[&[u8]]) -> ScanOutcome {
    let mut s = Scanner::for_content_type(Some(content_type));
    for f in frames {
        s.feed(f);
    }
    s.finish();
    s.outcome()
}

/// Benchmarks one body fed whole, one SSE event per frame, and in 7-byte frames.
fn bench_sse_body(c: &mut Criterion, group: &str, events: &[String]) {
    let body = events.concat();
    let whole: Vec<&[u8]> = vec![body.as_bytes()];
    let per_event: Vec<&[u8]> = events.iter().map(|e| e.as_bytes()).collect();
    let seven: Vec<&[u8]> = body.as_bytes().chunks(7).collect();
    let expected = scan("text/event-stream", &whole);
    assert!(expected.usage.is_some() && expected.finished && !expected.error_event);
    assert_eq!(expected.events, events.len() as u64);

    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Bytes(body.len() as u64));
    for (name, frames) in [
        ("whole", &whole),
        ("per_event", &per_event),
        ("7_byte_frames", &seven),
    ] {
        assert_eq!(scan("text/event-stream", frames), expected, "{name}");
        g.bench_function(name, |b| {
            b.iter(|| scan("text/event-stream", black_box(frames)))
        });
    }
    g.finish();
}

fn sse_scanner(c: &mut Criterion) {
    bench_sse_body(c, "sse/azure_chat_50_deltas", &azure_chat_stream(50));
    bench_sse_body(c, "sse/responses_50_deltas", &responses_stream(50));
}

fn json_tail(c: &mut Criterion) {
    let mut g = c.benchmark_group("json_tail");
    for (name, body, frame, size) in [
        (
            "chat_completion_1k",
            chat_completion_json(),
            usize::MAX,
            1_000..2_000,
        ),
        // Large bodies arrive in many frames; 16 KiB is a typical hyper read. Up to 128 KiB a
        // body is kept whole and parsed exactly; past that only its head and tail are kept.
        (
            "embeddings_100k",
            embeddings_json(3),
            16 * 1024,
            90_000..110_000,
        ),
        (
            "embeddings_1m",
            embeddings_json(32),
            16 * 1024,
            950_000..1_100_000,
        ),
    ] {
        assert!(size.contains(&body.len()), "{name}: {} bytes", body.len());
        let frames: Vec<&[u8]> = body.chunks(frame.min(body.len())).collect();
        let o = scan("application/json", &frames);
        assert!(o.usage.is_some() && o.finished && !o.error_event, "{name}");
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| scan("application/json", black_box(&frames)))
        });
    }
    g.finish();
}

fn request_body(c: &mut Criterion) {
    let mut g = c.benchmark_group("request_body");
    for (name, turns, size) in [("small", 0, 250..350), ("large", 500, 180_000..220_000)] {
        let body = Bytes::from(chat_request(turns));
        assert!(size.contains(&body.len()), "{name}: {} bytes", body.len());
        let peeked = call::peek(&body).unwrap();
        assert_eq!(peeked.model, "gpt-4o-mini");
        assert!(peeked.stream);
        let span = peeked.model_span.clone();
        let rewritten = dialect::rewrite_model(&body, span.clone(), "dep-gpt-4o-mini");
        assert_eq!(rewritten.len(), body.len() + 4);

        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(format!("peek/{name}"), |b| {
            b.iter(|| call::peek(black_box(&body)).unwrap())
        });
        g.bench_function(format!("rewrite_model/{name}"), |b| {
            b.iter(|| {
                dialect::rewrite_model(black_box(&body), span.clone(), black_box("dep-gpt-4o-mini"))
            })
        });
        g.bench_function(format!("peek_and_rewrite/{name}"), |b| {
            b.iter(|| {
                let p = call::peek(black_box(&body)).unwrap();
                dialect::rewrite_model(&body, p.model_span, "dep-gpt-4o-mini")
            })
        });
    }
    g.finish();
}

fn normalization(c: &mut Criterion) {
    let chat = Rules::new(None, ModelFamily::Chat, &[UpstreamKind::Azure]);
    let reasoning = Rules::new(None, ModelFamily::Reasoning, &[UpstreamKind::Azure]);
    let streaming = Bytes::from(chat_request(0));
    let plain = Bytes::from(String::from_utf8(chat_request(0)).unwrap().replace(
        r#","stream":true,"stream_options":{"include_usage":true}"#,
        "",
    ));
    let unasked = Bytes::from(
        String::from_utf8(chat_request(0))
            .unwrap()
            .replace(r#","stream_options":{"include_usage":true}"#, ""),
    );
    let op = Operation::ChatCompletions;
    assert!(
        normalize::apply(op, &plain, false, &chat)
            .unwrap()
            .body
            .is_none()
    );
    assert!(
        normalize::apply(op, &streaming, true, &chat)
            .unwrap()
            .body
            .is_none()
    );
    assert!(
        normalize::apply(op, &unasked, true, &chat)
            .unwrap()
            .strip_usage
    );
    assert!(
        normalize::apply(op, &plain, false, &reasoning)
            .unwrap()
            .body
            .is_some()
    );

    let mut g = c.benchmark_group("normalize");
    g.throughput(Throughput::Elements(1));
    for (name, body, stream, rules) in [
        ("chat_untouched", &plain, false, &chat),
        ("chat_stream_asked_usage", &streaming, true, &chat),
        ("chat_stream_forced_usage", &unasked, true, &chat),
        ("reasoning_rewrite", &plain, false, &reasoning),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| normalize::apply(op, black_box(body), stream, rules).unwrap())
        });
    }
    g.finish();
}

fn sse_edit(c: &mut Criterion) {
    let events = azure_chat_stream(50);
    let bytes: usize = events.iter().map(String::len).sum();
    let frames: Vec<Bytes> = events.iter().map(|e| Bytes::from(e.clone())).collect();
    let edit = || {
        EditPlan {
            strip_usage: true,
            ..Default::default()
        }
        .into_edit(http::StatusCode::OK, Some("text/event-stream"))
        .unwrap()
    };
    let mut e = edit();
    let out: usize = frames.iter().map(|f| e.frame(f).len()).sum();
    assert_eq!(
        out,
        bytes - events[events.len() - 2].len(),
        "only the usage chunk goes"
    );

    let mut g = c.benchmark_group("sse_edit");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("strip_usage/event_per_frame", |b| {
        b.iter(|| {
            let mut e = edit();
            for f in &frames {
                black_box(e.frame(f));
            }
            e.end().unwrap()
        })
    });
    g.finish();
}

/// The image-compression check every JSON request pays when the feature is on: a length test,
/// then (for bodies long enough to hold a large image) two `memmem` scans.
fn image_fast_path(c: &mut Criterion) {
    let body = Bytes::from(chat_request(250));
    assert!(
        (90_000..110_000).contains(&body.len()),
        "{} bytes",
        body.len()
    );
    let settings = |min_bytes| {
        let cfg = config::ImageCompressionConfig {
            min_bytes,
            ..Default::default()
        };
        images::ImageCompression::from_config(Some(&cfg)).unwrap()
    };
    // Default minBytes (256 KiB): a 100 KB body cannot hold such an image; 1 KiB: it is scanned.
    let (default, scanned) = (settings(262_144), settings(1_024));
    assert!(!default.may_hold_images(&body) && !scanned.may_hold_images(&body));
    let mut g = c.benchmark_group("image_fast_path");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("length_only/100k", |b| {
        b.iter(|| default.may_hold_images(black_box(&body)))
    });
    g.bench_function("memmem/100k", |b| {
        b.iter(|| scanned.may_hold_images(black_box(&body)))
    });
    g.finish();
}

fn routing(c: &mut Criterion) {
    let with_fallback = runtime(true);
    let without = runtime(false);
    let op = Operation::ChatCompletions;
    assert!(with_fallback.models.resolve(op, "gpt-5-mini").is_ok());
    assert!(with_fallback.models.resolve(op, "GPT-5-Mini").is_ok());
    assert!(
        with_fallback
            .models
            .resolve(op, "my-own-deployment")
            .is_ok()
    );
    assert!(without.models.resolve(op, "my-own-deployment").is_err());

    let mut g = c.benchmark_group("route_resolve");
    g.throughput(Throughput::Elements(1));
    for (name, table, alias) in [
        ("exact", &with_fallback.models, "gpt-5-mini"),
        ("case_differs", &with_fallback.models, "GPT-5-Mini"),
        ("fallback", &with_fallback.models, "my-own-deployment"),
        ("miss_no_fallback", &without.models, "my-own-deployment"),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| table.resolve(black_box(op), black_box(alias)))
        });
    }
    g.finish();
}

fn client_keys(c: &mut Criterion) {
    let rt = runtime(false);
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        format!("Bearer {}", client_key(6)).parse().unwrap(),
    );
    headers.insert(
        http::header::CONTENT_TYPE,
        "application/json".parse().unwrap(),
    );
    headers.insert(
        http::header::USER_AGENT,
        "OpenAI/Python 1.99.0".parse().unwrap(),
    );
    assert!(rt.keys.authenticate(&headers).is_ok());

    let mut g = c.benchmark_group("client_keys");
    g.throughput(Throughput::Elements(1));
    g.bench_function("bearer_among_10", |b| {
        b.iter(|| rt.keys.authenticate(black_box(&headers)))
    });
    g.finish();
}

/// A finished chat request as the plumbing records it.
fn finished(model: &str, stream: bool) -> Record {
    let mut rec = Record::new(
        std::time::SystemTime::now(),
        Arc::from("gw-0123456789abcdef"),
        "chat/completions",
    );
    rec.key = Some(Arc::from("team-3"));
    rec.model = Arc::from(model);
    rec.deployment = Some(Arc::from("gpt-4o-2024-08-06-eastus"));
    rec.upstream = Some(Arc::from("eastus"));
    rec.status = 200;
    rec.stream = stream;
    rec.usage = Some(aoai_gateway::stream::Usage {
        prompt: 1200,
        completion: 350,
        total: 1550,
        cached: 1024,
        reasoning: 0,
    });
    rec.latency = Duration::from_millis(2400);
    rec.upstream_latency = Some(Duration::from_millis(380));
    rec.overhead = Some(Duration::from_micros(45));
    rec.ttft = stream.then(|| Duration::from_millis(420));
    rec
}

fn metrics_observe(c: &mut Criterion) {
    let metrics = Metrics::new();
    // 40 aliases × 3 statuses already seen, as on a gateway that has run for a while.
    for i in 0..40 {
        for status in [200, 429, 500] {
            let mut rec = finished(&format!("model-{i}"), i % 2 == 0);
            rec.status = status;
            metrics.observe(&rec);
        }
    }
    let json = finished("model-7", false);
    let stream = finished("model-8", true);
    let mut refused = finished("model-9", false);
    refused.status = 401;
    refused.error_class = ErrorClass::Policy;
    refused.usage = None;
    refused.deployment = None;
    refused.upstream_latency = None;
    metrics.observe(&refused);
    // Past the cap: a client-chosen name folded into `(other)`.
    let capped = Metrics::with_limits(Limits {
        models: 4,
        routes: 4,
        requests: 4,
        tokens: 4,
    });
    for i in 0..8 {
        capped.observe(&finished(&format!("client-{i}"), false));
    }
    let folded = finished("client-new", false);

    let mut g = c.benchmark_group("metrics");
    g.throughput(Throughput::Elements(1));
    g.bench_function("observe/json_with_usage", |b| {
        b.iter(|| metrics.observe(black_box(&json)))
    });
    g.bench_function("observe/stream_with_usage", |b| {
        b.iter(|| metrics.observe(black_box(&stream)))
    });
    g.bench_function("observe/refused", |b| {
        b.iter(|| metrics.observe(black_box(&refused)))
    });
    g.bench_function("observe/folded_past_cap", |b| {
        b.iter(|| capped.observe(black_box(&folded)))
    });
    g.bench_function("in_flight_guard", |b| {
        b.iter(|| drop(black_box(metrics.in_flight())))
    });
    g.finish();
}

criterion_group!(
    benches,
    sse_scanner,
    json_tail,
    request_body,
    normalization,
    sse_edit,
    image_fast_path,
    routing,
    client_keys,
    metrics_observe
);
criterion_main!(benches);
