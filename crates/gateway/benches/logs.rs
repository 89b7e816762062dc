//! The cost of `telemetry::logs::completed` on the request thread: one `request.completed`
//! event per finished request, through the real subscriber (both layers, their filters, the
//! redaction path, the ring push with eviction, the stdout queue).
//!
//! Settings come from the environment, as in the gateway, so one run measures one setup:
//! ```text
//! LOG_LEVEL=warn cargo bench -p aoai-gateway --bench logs   # the benchmark's setting: ring only
//! LOG_LEVEL=info cargo bench -p aoai-gateway --bench logs   # the default: ring + a stdout line
//! LOG_FORMAT=json …; ADMIN_LOG_BUFFER_SIZE=0 … (ring off); LOGS_BENCH_SINK=drop … (no queue)
//! ```
//! stdout lines go to the real writer thread, which discards them (`io::sink`): what is
//! measured is what a request pays, not the terminal.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aoai_gateway::stream::Usage;
use aoai_gateway::telemetry::Record;
use aoai_gateway::telemetry::logs::{self, Format, Settings, init, writer};
use criterion::{Criterion, criterion_group, criterion_main};

fn record() -> Record {
    let mut rec = Record::new(
        SystemTime::now(),
        Arc::from("gw-0123456789abcdef"),
        "chat/completions",
    );
    rec.upstream_request_id = Some(Arc::from("8f2c3a5e-1b7d-4c9e-a0f1-23456789abcd"));
    rec.key = Some(Arc::from("team-a"));
    rec.model = Arc::from("gpt-4o-mini");
    rec.deployment = Some(Arc::from("gpt-4o-mini-2024-07-18"));
    rec.upstream = Some(Arc::from("eastus"));
    rec.status = 200;
    rec.stream = true;
    rec.usage = Some(Usage {
        prompt: 1200,
        completion: 350,
        total: 1550,
        cached: 1024,
        reasoning: 0,
    });
    rec.latency = Duration::from_millis(1834);
    rec.ttft = Some(Duration::from_millis(212));
    rec.upstream_latency = Some(Duration::from_millis(205));
    rec.overhead = Some(Duration::from_micros(380));
    rec
}

struct Drop;

impl writer::Sink for Drop {
    fn line(&self, line: String) {
        black_box(line);
    }
}

fn completed(c: &mut Criterion) {
    let format = match std::env::var("LOG_FORMAT").as_deref() {
        Ok("json") => Format::Json,
        _ => Format::Human,
    };
    let settings = Settings::from_env(format, &|k| std::env::var(k).ok()).unwrap();
    let name = format!(
        "completed/stdout={}/format={format:?}/ring={}",
        std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info".into()),
        settings.ring_capacity
    );
    let (sink, _guard) = writer::spawn(std::io::sink(), format).unwrap();
    // `LOGS_BENCH_SINK=drop`: lines are formatted and dropped in place, no queue (to tell the
    // formatting from the hand-off).
    let subscriber: Box<dyn tracing::Subscriber + Send + Sync> =
        if std::env::var("LOGS_BENCH_SINK").as_deref() == Ok("drop") {
            Box::new(init::subscriber(settings, Drop).1)
        } else {
            Box::new(init::subscriber(settings, sink).1)
        };
    // The global default, as in the gateway (a scoped one would make every callsite's
    // interest "sometimes" and add a filter call per event).
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let rec = record();
    c.bench_function(&name, |b| b.iter(|| logs::completed(black_box(&rec))));
}

criterion_group!(benches, completed);
criterion_main!(benches);
