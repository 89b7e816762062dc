//! Logs: stdout through `tracing` (human or JSON lines), and the admin log ring buffer behind
//! `GET /admin/api/logs`.
//!
//! - [`init`]: settings from the environment and the subscriber (one filter per sink);
//! - [`layer`]: the stdout and ring layers, and the span fields every line inherits;
//! - [`fields`] and [`redact`]: the one path from a field to a sink, with secrets masked;
//! - [`format`]: the human and JSON line formats; [`writer`]: the non-blocking stdout writer;
//! - [`ring`] and [`query`]: the bounded entry buffer and its filters.

pub mod fields;
pub mod format;
pub mod init;
pub mod layer;
pub mod query;
pub mod redact;
pub mod ring;
pub mod writer;

pub use format::Format;
pub use init::{LogGuard, Settings};
pub use query::Query;
pub use ring::{Entry, LogBuffer};

use super::{ErrorClass, Record};

/// The target of `request.completed`: an operator can silence successful-request lines on
/// stdout alone with `LOG_LEVEL=info,aoai_gateway::access=warn`.
pub const ACCESS_TARGET: &str = "aoai_gateway::access";

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The `request.completed` event for one finished request: `info`, or `warn` when it failed.
///
/// Every request makes one, so it is built to be cheap: the values are borrowed from the
/// record (no formatting before a layer wants them), and with stdout at `warn` a success is
/// one ring entry and no stdout line. `info` is the default because this line is the access
/// log operators expect; under load, `LOG_LEVEL=warn` keeps stdout to failures while the admin
/// ring still has every request.
pub fn completed(rec: &Record) {
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
                error_class = (rec.error_class != ErrorClass::None).then(|| rec.error_class.as_str()),
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
        emit!(tracing::Level::WARN);
    } else {
        emit!(tracing::Level::INFO);
    }
}
