//! The writer: a dedicated OS thread that owns the write connection. It takes the rows that
//! gathered in the [`Queue`] (what arrived `linger` after the first row; a backlog back to
//! back) and writes them in transactions of at most `batch_max` rows. A failed write (disk
//! full, the file locked past the busy timeout) is retried with backoff while the queue keeps
//! absorbing rows; only a full queue drops them, on the request path, counted. Nothing here
//! can slow a request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::batch;
use super::queue::Queue;
use super::retention::Retention;
use super::rows::Rows;

/// Counters shared by the handle (request path) and the writer.
#[derive(Debug, Default)]
pub struct Counters {
    /// Rows committed to the database.
    pub written: AtomicU64,
    /// Rows the queue refused: full, or the writer stopped.
    pub dropped: AtomicU64,
    /// Accepted rows given up on: still failing to write at shutdown.
    pub lost: AtomicU64,
    /// Failed batch writes (each retry counts).
    pub failures: AtomicU64,
    pub closing: AtomicBool,
}

/// The writer's tuning; tests shrink it.
#[derive(Debug, Clone)]
pub struct Settings {
    pub batch_max: usize,
    /// How long a batch gathers after its first row.
    pub linger: Duration,
    pub retry_first: Duration,
    pub retry_max: Duration,
    pub retention_days: u32,
    pub retention_every: Duration,
    pub retention_chunk: usize,
    /// How long retries may go on once shutdown began (the handle waits a little longer).
    pub close_budget: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            batch_max: 1000,
            linger: Duration::from_millis(250),
            retry_first: Duration::from_millis(100),
            retry_max: Duration::from_secs(5),
            retention_days: 0,
            retention_every: Duration::from_secs(3600),
            retention_chunk: 5000,
            close_budget: Duration::from_millis(4500),
        }
    }
}

pub struct Writer {
    pub conn: Connection,
    pub queue: Arc<Queue>,
    pub counters: Arc<Counters>,
    pub settings: Settings,
    /// Signalled (or dropped) when the writer ends: `close` waits on it.
    pub done: Sender<()>,
    /// Set when the writer first sees `closing`.
    pub deadline: Option<Instant>,
    /// The last batch was full: more rows are likely waiting, take them without lingering.
    pub backlog: bool,
}

impl Writer {
    /// Starts the thread; its handle lets `close` cut a linger short.
    pub fn spawn(self) -> std::io::Result<std::thread::Thread> {
        std::thread::Builder::new()
            .name("usage-ledger".to_owned())
            .spawn(move || self.run())
            .map(|handle| handle.thread().clone())
    }

    fn run(mut self) {
        // Pushes must not keep filling a queue nobody drains, however the thread ends.
        let _stop = StopOnExit(Arc::clone(&self.queue));
        let s = &self.settings;
        let mut retention = Retention::new(s.retention_days, s.retention_every, s.retention_chunk);
        let mut batch = Rows::default();
        loop {
            let closing = self.deadline().is_some();
            let wait = if closing {
                Duration::ZERO
            } else {
                retention.wait()
            };
            let got = self.collect(&mut batch, wait, closing);
            if got > 0 {
                self.write(&mut batch);
            }
            if (closing || self.queue.abandoned()) && got == 0 {
                break;
            }
            if !closing {
                retention.step(&self.conn);
            }
        }
        // Refuse rows from now on (pushes count them as dropped), count any that slipped in,
        // and close the file (a final checkpoint) before saying done.
        let late = self.queue.stop();
        self.counters.lost.fetch_add(late as u64, Ordering::Relaxed);
        if let Err((_, e)) = self.conn.close() {
            tracing::warn!(error = %e, "usage ledger: closing the database");
        }
        let _ = self.done.send(());
    }

    /// When retries must give up: `close_budget` after shutdown was first noticed; `None`
    /// while the gateway runs.
    fn deadline(&mut self) -> Option<Instant> {
        if self.deadline.is_none() && self.counters.closing.load(Ordering::Acquire) {
            self.deadline = Some(Instant::now() + self.settings.close_budget);
        }
        self.deadline
    }

    /// Fills `batch`: waits up to `wait` for a first row, lets more gather for `linger`, then
    /// takes every row waiting. Returns how many it took.
    ///
    /// The linger is a park, not a wait on the queue: a writer waiting on the queue makes the
    /// next `push` wake it (a syscall on the request path), a parked one costs `push` nothing.
    /// So requests pay at most one wake-up per batch. No linger when closing, or when the last
    /// batch was full (a backlog is written back to back).
    fn collect(&mut self, batch: &mut Rows, wait: Duration, closing: bool) -> usize {
        if !self.queue.wait_for_rows(wait) {
            return 0;
        }
        if !closing && !self.backlog {
            let until = Instant::now() + self.settings.linger;
            // `close` unparks the thread; a spurious wake-up parks again.
            while !self.counters.closing.load(Ordering::Acquire) {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::park_timeout(left);
            }
        }
        let got = self.queue.take(batch);
        self.backlog = got >= self.settings.batch_max;
        got
    }

    /// Writes `batch` in transactions of at most `batch_max` rows, then empties it for reuse.
    fn write(&mut self, batch: &mut Rows) {
        let max = self.settings.batch_max.max(1);
        let mut from = 0;
        while from < batch.len() {
            let to = (from + max).min(batch.len());
            if !self.write_chunk(batch, from..to) {
                // Shutdown gave up on the disk: the rest would each wait out a busy timeout.
                let rest = batch.len() - to;
                self.counters.lost.fetch_add(rest as u64, Ordering::Relaxed);
                self.queue.settled(rest);
                break;
            }
            from = to;
        }
        batch.recycle();
    }

    /// Writes rows `range` of `batch` in one transaction, retrying with backoff until it
    /// succeeds; once shutdown began, only until the deadline, after which they count as lost
    /// (and it returns `false`).
    fn write_chunk(&mut self, batch: &Rows, range: std::ops::Range<usize>) -> bool {
        let rows = range.len();
        let mut backoff = self.settings.retry_first;
        let mut failures = 0u32;
        loop {
            let e = match batch::insert(&mut self.conn, batch, range.clone()) {
                Ok(()) => {
                    self.counters
                        .written
                        .fetch_add(rows as u64, Ordering::Relaxed);
                    self.queue.settled(rows);
                    if failures > 0 {
                        tracing::info!(rows, failures, "usage ledger: write recovered");
                    }
                    return true;
                }
                Err(e) => e,
            };
            failures += 1;
            self.counters.failures.fetch_add(1, Ordering::Relaxed);
            let now = Instant::now();
            let deadline = self.deadline();
            if deadline.is_some_and(|d| now >= d) {
                self.counters.lost.fetch_add(rows as u64, Ordering::Relaxed);
                self.queue.settled(rows);
                tracing::error!(
                    rows,
                    error = %e,
                    "usage ledger: shutting down with a batch that still cannot be written; \
                     its rows are lost"
                );
                return false;
            }
            // Requests are unaffected meanwhile: new rows wait in the queue.
            tracing::warn!(
                rows,
                failures,
                error = %e,
                retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                "usage ledger: batch write failed; retrying"
            );
            let pause = deadline.map_or(backoff, |d| backoff.min(d.saturating_duration_since(now)));
            std::thread::sleep(pause);
            backoff = (backoff * 2).min(self.settings.retry_max);
        }
    }
}

/// Stops the queue when the writer's thread ends, by return or by panic.
struct StopOnExit(Arc<Queue>);

impl Drop for StopOnExit {
    fn drop(&mut self) {
        self.0.stop();
    }
}
