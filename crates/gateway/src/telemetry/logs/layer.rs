//! The two `tracing` layers: stdout lines and ring entries. Each has its own filter (see
//! [`super::init`]); both collect an event's fields through [`Fields`] (the redaction path)
//! and read the enclosing spans' fields and the request in scope ([`super::scope`]), so a line
//! inside a request shows its `request_id`.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent as _;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{Extensions, LookupSpan, SpanRef};

use super::fields::Fields;
use super::format::{self, Format, SpanView};
use super::ring::{Entry, LogBuffer};
use super::scope as request_scope;
use super::writer::Sink;
use super::{ACCESS_TARGET, completed};

/// A span's recorded fields, kept in its extensions (shared by both layers: whichever sees
/// the span first stores them).
struct SpanFields(Fields);

fn new_span<S>(attrs: &Attributes<'_>, id: &Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else {
        return;
    };
    let mut ext = span.extensions_mut();
    if ext.get_mut::<SpanFields>().is_none() {
        let mut fields = Fields::with_capacity(attrs.fields().len());
        attrs.record(&mut fields);
        ext.insert(SpanFields(fields));
    }
}

fn record<S>(id: &Id, values: &Record<'_>, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else {
        return;
    };
    let mut update = Fields::default();
    values.record(&mut update);
    let mut ext = span.extensions_mut();
    match ext.get_mut::<SpanFields>() {
        // Set, not append: both layers record the same values.
        Some(SpanFields(fields)) => {
            for (name, value) in update.list {
                fields.set(name, value);
            }
        }
        None => ext.insert(SpanFields(update)),
    }
}

/// The request in scope ([`request_scope`]) as the outermost span's fields, unless a span
/// around the event already names a request.
fn request_scope(exts: &[Extensions<'_>]) -> Option<Fields> {
    let named = exts.iter().any(|ext| {
        ext.get::<SpanFields>()
            .is_some_and(|f| f.0.get("request_id").is_some())
    });
    if named { None } else { request_scope::fields() }
}

/// The event's spans, root first.
fn scope<'a, S>(event: &Event<'_>, ctx: &'a Context<'_, S>) -> Vec<SpanRef<'a, S>>
where
    S: Subscriber + for<'b> LookupSpan<'b>,
{
    ctx.event_scope(event)
        .map(|s| s.from_root().collect())
        .unwrap_or_default()
}

fn collect(event: &Event<'_>) -> Fields {
    let mut fields = Fields::with_capacity(event.metadata().fields().len());
    event.record(&mut fields);
    fields
}

/// Formats events as stdout lines and hands them to a [`Sink`].
pub struct StdoutLayer<W> {
    pub format: Format,
    /// Colour codes (only when stdout is a terminal).
    pub ansi: bool,
    pub sink: W,
}

impl<S, W> Layer<S> for StdoutLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: Sink,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        new_span(attrs, id, &ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        record(id, values, &ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let fields = collect(event);
        let spans = scope(event, &ctx);
        let exts: Vec<_> = spans.iter().map(SpanRef::extensions).collect();
        let request = request_scope(&exts);
        let views: Vec<SpanView<'_>> = request
            .iter()
            .map(|f| SpanView {
                name: request_scope::SPAN_NAME,
                fields: f,
            })
            .chain(spans.iter().zip(&exts).filter_map(|(span, ext)| {
                ext.get::<SpanFields>().map(|f| SpanView {
                    name: span.name(),
                    fields: &f.0,
                })
            }))
            .collect();
        // A `log` record's own target and level, not the bridge's.
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let line = format::line(
            self.format,
            self.ansi,
            SystemTime::now(),
            meta,
            &fields,
            &views,
        );
        self.sink.line(line);
    }
}

/// Turns events into [`Entry`]s in the admin ring.
pub struct RingLayer {
    pub buffer: Arc<LogBuffer>,
}

impl<S> Layer<S> for RingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        new_span(attrs, id, &ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        record(id, values, &ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() == ACCESS_TARGET
            && let Some(rec) = completed::take_lent()
        {
            self.buffer.push_completed(*event.metadata().level(), rec);
            return;
        }
        let fields = collect(event);
        let spans = scope(event, &ctx);
        let exts: Vec<_> = spans.iter().rev().map(SpanRef::extensions).collect();
        let request = request_scope(&exts);
        let inner_first: Vec<&Fields> = exts
            .iter()
            .filter_map(|ext| ext.get::<SpanFields>().map(|f| &f.0))
            .chain(request.iter())
            .collect();
        let normalized = event.normalized_metadata();
        let (level, target) = match &normalized {
            Some(meta) => (*meta.level(), Cow::Owned(meta.target().to_owned())),
            None => (
                *event.metadata().level(),
                Cow::Borrowed(event.metadata().target()),
            ),
        };
        let entry = Entry::new(level, target, fields, &inner_first, SystemTime::now());
        self.buffer.push(entry);
    }
}
