//! Logs: stdout through `tracing` (human or JSON lines), and the admin log ring buffer behind
//! `GET /admin/api/logs`.
//!
//! - [`completed`]: the `request.completed` event, which the ring stores without formatting;
//! - [`init`]: settings from the environment and the subscriber (one filter per sink);
//! - [`layer`]: the stdout and ring layers, and the span fields every line inherits;
//! - [`fields`] and [`redact`]: the one path from a field to a sink, with secrets masked;
//! - [`format`]: the human and JSON line formats; [`writer`]: the non-blocking stdout writer;
//! - [`ring`] and [`query`]: the bounded entry buffer and its filters;
//! - [`scope`]: the request a thread is working on, shown as a `request` span on its lines.

pub mod completed;
pub mod fields;
pub mod format;
pub mod init;
pub mod layer;
pub mod query;
pub mod redact;
pub mod ring;
pub mod scope;
pub mod writer;

pub use completed::completed;
pub use format::Format;
pub use init::{LogGuard, Settings};
pub use query::Query;
pub use ring::{Entry, LogBuffer};

/// The target of `request.completed`: an operator can silence successful-request lines on
/// stdout alone with `LOG_LEVEL=info,aoai_gateway::access=warn`.
pub const ACCESS_TARGET: &str = "aoai_gateway::access";
