//! The persistent usage ledger: one SQLite row per request, for accounting that survives
//! restarts (`docs/usage.md`).
//!
//! - [`Ledger`] (here): the handle. [`Ledger::push`] is on every request's path, so it only
//!   copies the record's values into a bounded [`queue`] (as a flat row, [`rows`]); it never
//!   waits on the writer and never touches the disk. A full queue drops the row and counts it.
//! - [`writer`]: the thread that owns the write connection and writes rows in batches;
//!   [`batch`] inserts one, [`row`] binds a queued row to the insert.
//! - [`retention`]: deletes rows past `retentionDays`, in chunks.
//! - [`schema`]: the file's settings (WAL) and versioned schema.
//! - [`query`]: aggregates and raw rows for the admin API, on a read-only connection.
//! - [`csv`]: the API's CSV downloads; [`civil`]: UTC date arithmetic.

mod batch;
pub mod civil;
pub mod csv;
pub mod query;
mod queue;
mod retention;
mod row;
mod rows;
mod schema;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::Record;
use crate::config::UsageConfig;
pub use query::{Counts, Group, GroupBy, Report, RowFilter, StoredRequest};
use queue::{Queue, Refused};
use writer::{Counters, Settings, Writer};

/// How long [`Ledger::close`] waits for the writer to flush.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// At most one "rows dropped" warning per this many milliseconds.
const DROP_WARN_EVERY_MS: u64 = 10_000;

/// Why a query has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// The ledger is disabled (`server.usage.enabled: false`).
    Disabled,
    /// SQLite failed; the message says why.
    Failed(String),
}

/// Sizes and timings; [`Default`] is production, tests shrink them.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Unwritten rows the queue holds before `push` drops them. 50,000 rows of 224 bytes and
    /// their text are ~16 MB when full (only queued rows take memory) and ride out a disk
    /// stalled for 50 s at 1,000 requests/s.
    pub capacity: usize,
    /// How long a connection waits on a lock held by another before failing (the writer then
    /// retries with backoff).
    pub busy_timeout: Duration,
    pub writer: Settings,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            capacity: 50_000,
            busy_timeout: Duration::from_secs(2),
            writer: Settings::default(),
        }
    }
}

/// A handle on the ledger: the queue to its writer and a connection for queries. Shared by
/// every request through `Telemetry`.
#[derive(Debug, Default)]
pub struct Ledger {
    /// `None`: disabled.
    inner: Option<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
    /// Queries take turns on one read-only connection: the admin API is not a hot path.
    reader: Mutex<Connection>,
    /// The writer's thread, unparked by `close` to cut a batch's linger short.
    thread: std::thread::Thread,
    /// Taken by the first [`Ledger::close`].
    done: Mutex<Option<Receiver<()>>>,
    /// For rate-limiting the "rows dropped" warning.
    epoch: Instant,
    last_warn_ms: AtomicU64,
}

impl Ledger {
    /// Opens (or creates) `cfg.path`, default `{data_dir}/usage.db`, creating its directory,
    /// and starts the writer. Errors name the file.
    pub fn open(cfg: &UsageConfig, data_dir: &Path) -> Result<Self, String> {
        Self::open_with(cfg, data_dir, Options::default())
    }

    pub(crate) fn open_with(
        cfg: &UsageConfig,
        data_dir: &Path,
        opts: Options,
    ) -> Result<Self, String> {
        let path = cfg
            .path
            .as_ref()
            .map_or_else(|| data_dir.join("usage.db"), PathBuf::from);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let conn = schema::open_writer(&path, opts.busy_timeout)?;
        let reader = schema::open_reader(&path, opts.busy_timeout)?;
        let queue = Arc::new(Queue::new(opts.capacity));
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let counters = Arc::new(Counters::default());
        let settings = Settings {
            retention_days: cfg.retention_days,
            ..opts.writer
        };
        let thread = Writer {
            conn,
            queue: Arc::clone(&queue),
            counters: Arc::clone(&counters),
            settings,
            done: done_tx,
            deadline: None,
            backlog: false,
        }
        .spawn()
        .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        tracing::info!(path = %path.display(), retention_days = cfg.retention_days, "usage ledger open");
        Ok(Self {
            inner: Some(Inner {
                path,
                queue,
                counters,
                reader: Mutex::new(reader),
                thread,
                done: Mutex::new(Some(done_rx)),
                epoch: Instant::now(),
                last_warn_ms: AtomicU64::new(0),
            }),
        })
    }

    /// A ledger that records nothing (`server.usage.enabled: false`, the demo); its queries
    /// answer [`QueryError::Disabled`].
    pub fn disabled() -> Self {
        Self { inner: None }
    }

    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// The database file, when enabled.
    pub fn path(&self) -> Option<&Path> {
        self.inner.as_ref().map(|i| i.path.as_path())
    }

    /// Queues `rec` for the writer. On the request path: never blocks, never does I/O; when
    /// the queue is full the row is dropped and counted in [`Self::dropped`].
    pub fn push(&self, rec: &Record) {
        let Some(inner) = &self.inner else { return };
        match inner.queue.push(rec) {
            Ok(()) => {}
            Err(Refused::Full) => inner.dropped("the queue is full (the writer is behind)"),
            Err(Refused::Stopped) => inner.dropped("the writer has stopped"),
        }
    }

    /// Rows that never reached (and never will reach) the database: refused by a full queue
    /// or a stopped writer, or still failing to write at shutdown.
    pub fn dropped(&self) -> u64 {
        self.inner.as_ref().map_or(0, |i| {
            i.counters.dropped.load(Ordering::Relaxed) + i.counters.lost.load(Ordering::Relaxed)
        })
    }

    /// Rows accepted and not yet written: the queue and the batch in hand.
    pub fn queued(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |i| i.queue.unwritten() as u64)
    }

    /// Rows committed to the database since open.
    pub fn written(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |i| i.counters.written.load(Ordering::Relaxed))
    }

    /// Failed batch writes so far (each retry counts): non-zero means the disk or a lock
    /// is in the way.
    pub fn write_failures(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |i| i.counters.failures.load(Ordering::Relaxed))
    }

    /// At shutdown: writes what is queued and stops the writer, waiting at most ~5 s (a
    /// stalled disk must not hold the process). Later pushes are dropped.
    pub fn close(&self) {
        let Some(inner) = &self.inner else { return };
        inner.counters.closing.store(true, Ordering::Release);
        // Wakes a writer idle on the queue or lingering over a batch (a busy one sees the
        // flag when its write is done).
        inner.queue.wake();
        inner.thread.unpark();
        let done = inner.done.lock().ok().and_then(|mut d| d.take());
        let Some(done) = done else { return };
        match done.recv_timeout(CLOSE_WAIT) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => tracing::info!(
                written = self.written(),
                dropped = self.dropped(),
                "usage ledger closed"
            ),
            Err(RecvTimeoutError::Timeout) => tracing::warn!(
                unwritten = self.queued(),
                "usage ledger: the writer did not finish within 5 s; unwritten rows are lost"
            ),
        }
    }

    /// Aggregates over `[from_ms, to_ms)` grouped by `by`. Blocking: call it from
    /// `spawn_blocking`.
    pub fn aggregate(&self, from_ms: i64, to_ms: i64, by: GroupBy) -> Result<Report, QueryError> {
        self.read(|conn| query::aggregate(conn, from_ms, to_ms, by))
    }

    /// Raw rows, newest first. Blocking: call it from `spawn_blocking`.
    pub fn requests(&self, filter: &RowFilter) -> Result<Vec<StoredRequest>, QueryError> {
        self.read(|conn| query::requests(conn, filter))
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, QueryError> {
        let inner = self.inner.as_ref().ok_or(QueryError::Disabled)?;
        // A poisoned lock means a query panicked; the connection itself is still sound.
        let conn = inner.reader.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn).map_err(|e| QueryError::Failed(e.to_string()))
    }
}

/// Dropped without `close` (tests, a failed start): the writer writes what is queued and
/// stops on its own.
impl Drop for Inner {
    fn drop(&mut self) {
        self.queue.abandon();
    }
}

impl Inner {
    /// Counts a dropped row; warns at most every [`DROP_WARN_EVERY_MS`].
    fn dropped(&self, why: &'static str) {
        let total = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX) + 1;
        let last = self.last_warn_ms.load(Ordering::Relaxed);
        if (last == 0 || now.saturating_sub(last) >= DROP_WARN_EVERY_MS)
            && self
                .last_warn_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                dropped_total = total,
                reason = why,
                "usage ledger: dropping rows; those requests will be missing from the ledger"
            );
        }
    }
}
