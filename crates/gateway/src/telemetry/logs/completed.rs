//! `request.completed`: one log event per finished request, for stdout and the admin ring.
//!
//! Every request makes one, so the ring's copy skips `tracing`'s field machinery: [`completed`]
//! lends the [`Record`] itself to the ring layer (a clone: reference-count bumps) for the
//! length of the event, and the ring stores it as it is. Fields, redaction and the entry are
//! built only when `/admin/api/logs` reads it ([`entry`]). Filters still decide: the event
//! goes through `tracing` as before, and the ring takes the record only when its own filter
//! lets the event in. Stdout formats the event's fields as for any other event.

use std::cell::RefCell;
use std::time::SystemTime;

use tracing::Level;

use super::ACCESS_TARGET;
use super::fields::{Fields, Value};
use super::ring::Entry;
use crate::telemetry::{ErrorClass, Record};

/// The event's message.
const MESSAGE: &str = "request completed";

thread_local! {
    /// The record of the `request.completed` event being dispatched on this thread.
    static LENT: RefCell<Option<Record>> = const { RefCell::new(None) };
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The `request.completed` event for one finished request: `info`, or `warn` when it failed.
///
/// `info` is the default because this line is the access log operators expect; under load,
/// `LOG_LEVEL=warn` keeps stdout to failures while the admin ring still has every request.
pub fn completed(rec: &Record) {
    LENT.with(|lent| *lent.borrow_mut() = Some(rec.clone()));
    emit(rec);
    // Not taken when no ring filter let the event in.
    LENT.with(|lent| lent.borrow_mut().take());
}

/// The ring layer's side: the record lent for the event being dispatched, if any.
pub(super) fn take_lent() -> Option<Record> {
    LENT.with(|lent| lent.borrow_mut().take())
}

/// The `tracing` event itself (without lending the record, the ring builds the entry from
/// the event's fields: the tests compare the two).
pub(super) fn emit(rec: &Record) {
    macro_rules! emit {
        ($level:expr) => {
            tracing::event!(
                target: ACCESS_TARGET,
                $level,
                event = "request.completed",
                request_id = &*rec.request_id,
                upstream_request_id = rec.upstream_request_id.as_deref(),
                key = rec.key.as_deref(),
                model = &*rec.model,
                deployment = rec.deployment.as_deref(),
                upstream = rec.upstream.as_deref(),
                operation = rec.operation,
                status = rec.status,
                error_class = error_class(rec),
                error_code = rec.error_code.as_deref(),
                stream = rec.stream,
                cancelled = rec.cancelled,
                content_filtered = rec.content_filtered,
                prompt_tokens = rec.usage.map(|u| u.prompt),
                completion_tokens = rec.usage.map(|u| u.completion),
                total_tokens = rec.usage.map(|u| u.total),
                cached_tokens = rec.usage.map(|u| u.cached).filter(|n| *n > 0),
                reasoning_tokens = rec.usage.map(|u| u.reasoning).filter(|n| *n > 0),
                latency_ms = ms(rec.latency),
                ttft_ms = rec.ttft.map(ms),
                upstream_latency_ms = rec.upstream_latency.map(ms),
                overhead_ms = rec.overhead.map(ms),
                "request completed"
            )
        };
    }
    if rec.is_error() {
        emit!(Level::WARN);
    } else {
        emit!(Level::INFO);
    }
}

fn error_class(rec: &Record) -> Option<&'static str> {
    (rec.error_class != ErrorClass::None).then(|| rec.error_class.as_str())
}

/// The ring entry for `rec`: the fields [`emit`] records, in its order, through the same
/// redaction; absent values are left out, as `tracing` leaves out a `None`.
pub fn entry(rec: &Record, level: Level, ts: SystemTime) -> Entry {
    let mut f = Fields::with_capacity(24);
    let text = |f: &mut Fields, name: &'static str, v: Option<&str>| {
        if let Some(v) = v {
            f.put_named(name, || Value::text(v));
        }
    };
    let num = |f: &mut Fields, name: &'static str, v: Option<u64>| {
        if let Some(v) = v {
            f.put_named(name, || Value::U64(v));
        }
    };
    let flag = |f: &mut Fields, name: &'static str, v: bool| f.put_named(name, || Value::Bool(v));
    let usage = rec.usage;
    text(&mut f, "event", Some("request.completed"));
    text(&mut f, "request_id", Some(&rec.request_id));
    text(
        &mut f,
        "upstream_request_id",
        rec.upstream_request_id.as_deref(),
    );
    text(&mut f, "key", rec.key.as_deref());
    text(&mut f, "model", Some(&rec.model));
    text(&mut f, "deployment", rec.deployment.as_deref());
    text(&mut f, "upstream", rec.upstream.as_deref());
    text(&mut f, "operation", Some(rec.operation));
    num(&mut f, "status", Some(u64::from(rec.status)));
    text(&mut f, "error_class", error_class(rec));
    text(&mut f, "error_code", rec.error_code.as_deref());
    flag(&mut f, "stream", rec.stream);
    flag(&mut f, "cancelled", rec.cancelled);
    flag(&mut f, "content_filtered", rec.content_filtered);
    num(&mut f, "prompt_tokens", usage.map(|u| u.prompt));
    num(&mut f, "completion_tokens", usage.map(|u| u.completion));
    num(&mut f, "total_tokens", usage.map(|u| u.total));
    num(
        &mut f,
        "cached_tokens",
        usage.map(|u| u.cached).filter(|n| *n > 0),
    );
    num(
        &mut f,
        "reasoning_tokens",
        usage.map(|u| u.reasoning).filter(|n| *n > 0),
    );
    num(&mut f, "latency_ms", Some(ms(rec.latency)));
    num(&mut f, "ttft_ms", rec.ttft.map(ms));
    num(&mut f, "upstream_latency_ms", rec.upstream_latency.map(ms));
    num(&mut f, "overhead_ms", rec.overhead.map(ms));
    f.message = Some(MESSAGE.into());
    Entry::new(level, ACCESS_TARGET.into(), f, &[], ts)
}
