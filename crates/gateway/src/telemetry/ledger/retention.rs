//! Retention: rows older than `retention_days` are deleted at start and then about hourly, a
//! bounded chunk per step, so the writer's lock is never held for long and queued rows are
//! written between chunks. Freed pages are reused by later rows; the file does not shrink.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, params};

const DELETE_CHUNK: &str =
    "DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE ts_ms < ?1 LIMIT ?2)";

/// Where the writer is in its retention schedule.
#[derive(Debug)]
pub struct Retention {
    /// `None`: keep rows forever.
    keep: Option<Duration>,
    every: Duration,
    chunk: usize,
    next: Instant,
    /// The cutoff (Unix ms) of the pass under way, and rows it deleted so far.
    pass: Option<(i64, usize)>,
}

impl Retention {
    /// A schedule whose first pass is due at once.
    pub fn new(days: u32, every: Duration, chunk: usize) -> Self {
        Self {
            keep: (days > 0).then(|| Duration::from_secs(u64::from(days) * 86_400)),
            every,
            chunk: chunk.max(1),
            next: Instant::now(),
            pass: None,
        }
    }

    /// How long the writer may sleep before retention wants a step.
    pub fn wait(&self) -> Duration {
        match (self.keep, self.pass) {
            (None, _) => self.every,
            (Some(_), Some(_)) => Duration::ZERO,
            (Some(_), None) => self.next.saturating_duration_since(Instant::now()),
        }
    }

    /// Deletes one chunk if a pass is due or under way.
    pub fn step(&mut self, conn: &Connection) {
        let Some(keep) = self.keep else { return };
        let now = Instant::now();
        let (cutoff, deleted) = match self.pass {
            Some(pass) => pass,
            None if now >= self.next => (cutoff_ms(keep), 0),
            None => return,
        };
        let limit = i64::try_from(self.chunk).unwrap_or(i64::MAX);
        match conn.execute(DELETE_CHUNK, params![cutoff, limit]) {
            Ok(n) if n >= self.chunk => self.pass = Some((cutoff, deleted + n)),
            Ok(n) => {
                if deleted + n > 0 {
                    tracing::info!(
                        rows = deleted + n,
                        "usage ledger: retention deleted old rows"
                    );
                }
                self.pass = None;
                self.next = now + self.every;
            }
            Err(e) => {
                // Busy or failing disk: the writer has the same trouble and says so; try again
                // in a minute rather than spin.
                tracing::warn!(error = %e, "usage ledger: retention delete failed");
                self.pass = None;
                self.next = now + Duration::from_secs(60).min(self.every);
            }
        }
    }
}

/// Now minus `keep`, in Unix milliseconds.
fn cutoff_ms(keep: Duration) -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(keep);
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM requests", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn deletes_only_old_rows_in_chunks_then_waits_for_the_next_pass() {
        let dir = tempfile::tempdir().unwrap();
        let conn =
            super::super::schema::open_writer(&dir.path().join("usage.db"), Duration::from_secs(1))
                .unwrap();
        let now = cutoff_ms(Duration::ZERO);
        let day = 86_400_000;
        let insert = |ts: i64| {
            conn.execute(
                "INSERT INTO requests (ts_ms, request_id, model, operation, status, error_class,
                 stream, cancelled, content_filtered, has_usage, prompt_tokens,
                 completion_tokens, total_tokens, cached_tokens, reasoning_tokens, latency_us)
                 VALUES (?1, 'r', 'm', 'op', 200, '', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)",
                [ts],
            )
            .unwrap();
        };
        for i in 0..25 {
            insert(now - 10 * day - i);
        }
        // Just inside the window, and new.
        insert(now - 7 * day + 60_000);
        insert(now);
        let mut retention = Retention::new(7, Duration::from_secs(3600), 10);
        assert_eq!(retention.wait(), Duration::ZERO);
        retention.step(&conn);
        assert_eq!(count(&conn), 17, "one chunk of 10");
        assert_eq!(retention.wait(), Duration::ZERO, "the pass goes on");
        retention.step(&conn);
        retention.step(&conn);
        assert_eq!(count(&conn), 2);
        assert!(
            retention.wait() > Duration::from_secs(3500),
            "next pass in an hour"
        );
        insert(now - 30 * day);
        retention.step(&conn);
        assert_eq!(count(&conn), 3, "not due yet");

        let mut forever = Retention::new(0, Duration::from_secs(3600), 10);
        forever.step(&conn);
        assert_eq!(count(&conn), 3);
    }
}
