//! The persistent usage ledger: one SQLite row per request.

use std::path::Path;

use super::Record;
use crate::config::UsageConfig;

/// A handle on the ledger's writer; cheap to share.
#[derive(Debug, Default)]
pub struct Ledger {}

impl Ledger {
    /// Opens (or creates) the database under `data_dir` and starts its writer.
    pub fn open(_cfg: &UsageConfig, _data_dir: &Path) -> Result<Self, String> {
        Ok(Self {})
    }

    /// A ledger that records nothing (`server.usage.enabled: false`, the demo).
    pub fn disabled() -> Self {
        Self {}
    }

    /// Queues `rec` for the writer; never blocks.
    pub fn push(&self, _rec: &Record) {}

    /// Flushes what is queued and stops the writer (at shutdown).
    pub fn close(&self) {}
}
