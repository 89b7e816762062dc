//! Logs: stdout through `tracing`, and the admin log ring buffer.

use super::Record;

/// The most recent log entries, for `/admin/api/logs`.
#[derive(Debug, Default)]
pub struct LogBuffer {}

/// The `request.completed` event for one finished request.
pub fn completed(rec: &Record) {
    tracing::info!(
        event = "request.completed",
        request_id = %rec.request_id,
        model = %rec.model,
        status = rec.status,
        "request completed"
    );
}
