//! Installing the log pipeline: settings from the environment, the two layers with their own
//! filters, the stdout writer thread.
//!
//! ```text
//! event ─┬─ stdout filter (LOG_LEVEL / RUST_LOG) ─ StdoutLayer ─ queue ─ writer thread ─ stdout
//!        └─ ring filter (ADMIN_LOG_LEVEL, info) ── RingLayer ── LogBuffer (ADMIN_LOG_BUFFER_SIZE)
//! ```
//! The filters are per layer, so the ring keeps `info` entries while stdout shows only `warn`
//! (the benchmark's setting), and the other way round.

use std::sync::Arc;

use tracing::Metadata;
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::{Interest, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Filter, Layer, SubscriberExt as _};
use tracing_subscriber::registry::{LookupSpan, Registry};
use tracing_subscriber::util::SubscriberInitExt as _;

use super::format::Format;
use super::layer::{RingLayer, StdoutLayer};
use super::ring::{DEFAULT_CAPACITY, LogBuffer};
use super::writer::{self, Sink, WriterGuard};

/// Largest `ADMIN_LOG_BUFFER_SIZE`: entries hold up to a few KB each.
pub const MAX_CAPACITY: usize = 100_000;

/// Everything the pipeline is built from.
#[derive(Debug)]
pub struct Settings {
    pub format: Format,
    pub ansi: bool,
    pub stdout: EnvFilter,
    pub ring_capacity: usize,
    pub ring: EnvFilter,
    /// Problems worth a line once logging works (a `LOG_LEVEL` that does not parse).
    pub notes: Vec<String>,
}

impl Settings {
    /// From the environment: `RUST_LOG`, else `LOG_LEVEL`, else `info` for stdout;
    /// `ADMIN_LOG_BUFFER_SIZE` (default 1000, 0 = off) and `ADMIN_LOG_LEVEL` (default `info`)
    /// for the ring. A bad ring setting is an error: it is new, and silently ignoring it would
    /// hide logs an operator asked for.
    pub fn from_env(format: Format, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut notes = Vec::new();
        let stdout = env("RUST_LOG")
            .filter(|v| !v.trim().is_empty())
            .and_then(|v| EnvFilter::try_new(&v).ok())
            .or_else(|| {
                let level = env("LOG_LEVEL")?;
                EnvFilter::try_new(&level)
                    .map_err(|e| {
                        notes.push(format!("LOG_LEVEL={level:?} ignored ({e}); using info"))
                    })
                    .ok()
            })
            .unwrap_or_else(|| EnvFilter::new("info"));
        let ring_capacity = match env("ADMIN_LOG_BUFFER_SIZE") {
            None => DEFAULT_CAPACITY,
            Some(raw) => raw
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= MAX_CAPACITY)
                .ok_or_else(|| {
                    format!(
                        "ADMIN_LOG_BUFFER_SIZE must be an integer from 0 (off) to \
                         {MAX_CAPACITY}, got {raw:?}"
                    )
                })?,
        };
        let ring_level = env("ADMIN_LOG_LEVEL").unwrap_or_else(|| "info".to_owned());
        let ring = EnvFilter::try_new(&ring_level).map_err(|e| {
            format!("ADMIN_LOG_LEVEL must be a level or filter (e.g. info, warn), got {ring_level:?}: {e}")
        })?;
        Ok(Self {
            format,
            ansi: false,
            stdout,
            ring_capacity,
            ring,
            notes,
        })
    }
}

/// Keeps the pipeline's writer alive; dropping it flushes stdout.
pub struct LogGuard {
    _writer: WriterGuard,
}

/// Installs the global subscriber. Returns the ring (for `Telemetry::new`) and the guard.
pub fn install(mut settings: Settings) -> Result<(Arc<LogBuffer>, LogGuard), String> {
    settings.ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let (sink, guard) = writer::spawn(std::io::stdout(), settings.format)
        .map_err(|e| format!("cannot start the log writer: {e}"))?;
    let notes = std::mem::take(&mut settings.notes);
    let (buffer, subscriber) = subscriber(settings, sink);
    // Also routes the `log` crate's records (rustls) into the same pipeline.
    subscriber
        .try_init()
        .map_err(|e| format!("cannot install the logger: {e}"))?;
    for note in notes {
        tracing::warn!("{note}");
    }
    Ok((buffer, LogGuard { _writer: guard }))
}

/// The subscriber for `settings`, writing stdout lines to `sink` (tests and benchmarks pass
/// their own).
pub fn subscriber<W: Sink>(
    settings: Settings,
    sink: W,
) -> (Arc<LogBuffer>, impl Subscriber + Send + Sync + 'static) {
    let buffer = Arc::new(LogBuffer::new(settings.ring_capacity));
    let stdout = StdoutLayer {
        format: settings.format,
        ansi: settings.ansi,
        sink,
    }
    .with_filter(WithSpans(settings.stdout));
    let ring = (settings.ring_capacity > 0).then(|| {
        RingLayer {
            buffer: Arc::clone(&buffer),
        }
        .with_filter(WithSpans(settings.ring))
    });
    (buffer, Registry::default().with(stdout).with(ring))
}

/// Spans at this level or above are seen by both layers whatever their filters say: their
/// fields (the request id) belong on every line inside them, including `warn` lines when
/// stdout is at `warn` and the `request` span is `info`.
const SPAN_LEVEL: LevelFilter = LevelFilter::INFO;

/// A filter that also lets [`SPAN_LEVEL`] spans through.
struct WithSpans<F>(F);

impl<F> WithSpans<F> {
    fn span(meta: &Metadata<'_>) -> bool {
        meta.is_span() && SPAN_LEVEL >= *meta.level()
    }
}

impl<S, F> Filter<S> for WithSpans<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    F: Filter<S>,
{
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        Self::span(meta) || self.0.enabled(meta, cx)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if Self::span(meta) {
            Interest::always()
        } else {
            self.0.callsite_enabled(meta)
        }
    }

    fn event_enabled(&self, event: &tracing::Event<'_>, cx: &Context<'_, S>) -> bool {
        self.0.event_enabled(event, cx)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.0.max_level_hint().map(|hint| hint.max(SPAN_LEVEL))
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.0.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.0.on_record(id, values, ctx);
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.0.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.0.on_exit(id, ctx);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.0.on_close(id, ctx);
    }
}

#[cfg(test)]
#[path = "init_tests.rs"]
mod tests;
