//! The hand-off from request threads to the writer: a push appends the row to one shared
//! [`Rows`] buffer under a mutex; the writer swaps the whole buffer for its own emptied one.
//!
//! Why not a channel: a bounded channel preallocates a slot per row of capacity and cycles
//! through all of them, so at load pushes and receives walked the cold cache lines of an
//! 800 KB ring, and each row was a boxed record whose memory and reference counts the writer
//! then freed on another core. Here the memory in flight is what the rows need, reused batch
//! after batch, and the lock is held for a copy of a few hundred bytes.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::rows::Rows;
use crate::telemetry::Record;

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// As many rows as the capacity are already waiting to be written.
    Full,
    /// The writer has stopped.
    Stopped,
}

#[derive(Debug, Default)]
struct State {
    rows: Rows,
    /// Accepted rows not yet written nor given up: the buffer's and the writer's batch.
    unwritten: usize,
    /// The writer is blocked waiting for a first row: the next push wakes it.
    waiting: bool,
    /// The writer has stopped: pushes are refused.
    stopped: bool,
    /// The handle is gone: the writer writes what is left and stops.
    abandoned: bool,
    /// [`Queue::wake`] was called and no wait has ended on it yet. Kept until a wait sees it,
    /// so a wake that comes before the writer starts waiting is not lost.
    woken: bool,
}

#[derive(Debug)]
pub struct Queue {
    state: Mutex<State>,
    arrived: Condvar,
    capacity: usize,
}

impl Queue {
    /// A queue that holds at most `capacity` unwritten rows.
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::default(),
            arrived: Condvar::new(),
            capacity,
        }
    }

    /// A panic while the lock was held cannot leave the state half-changed (each change is
    /// one assignment), so a poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `rec`. Never blocks on the writer: its lock is only ever held for a swap.
    pub fn push(&self, rec: &Record) -> Result<(), Refused> {
        let mut s = self.lock();
        if s.stopped {
            return Err(Refused::Stopped);
        }
        if s.unwritten >= self.capacity || !s.rows.push(rec) {
            return Err(Refused::Full);
        }
        s.unwritten += 1;
        if s.waiting {
            s.waiting = false;
            drop(s);
            self.arrived.notify_one();
        }
        Ok(())
    }

    /// The writer: waits up to `wait` for a row (less if [`Self::wake`] is called); whether
    /// any is waiting.
    pub fn wait_for_rows(&self, wait: Duration) -> bool {
        let deadline = Instant::now().checked_add(wait);
        let mut s = self.lock();
        // A spurious wake-up waits again.
        while s.rows.is_empty() && !s.abandoned && !s.woken {
            let left = deadline.map_or(wait, |d| d.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                break;
            }
            s.waiting = true;
            s = self
                .arrived
                .wait_timeout(s, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        s.waiting = false;
        s.woken = false;
        !s.rows.is_empty()
    }

    /// The writer: swaps the waiting rows into `batch` (emptied first, so its memory serves
    /// the next rows); how many it took.
    pub fn take(&self, batch: &mut Rows) -> usize {
        batch.clear();
        std::mem::swap(&mut self.lock().rows, batch);
        batch.len()
    }

    /// The writer: `rows` taken rows are written or given up, so there is room for more.
    pub fn settled(&self, rows: usize) {
        let mut s = self.lock();
        s.unwritten = s.unwritten.saturating_sub(rows);
    }

    /// Accepted rows not yet written nor given up.
    pub fn unwritten(&self) -> usize {
        self.lock().unwritten
    }

    /// Cuts short the writer's wait for rows (shutdown), or its next wait if it is not
    /// waiting now.
    pub fn wake(&self) {
        self.lock().woken = true;
        self.arrived.notify_all();
    }

    /// The handle is gone: the writer writes what is left and stops.
    pub fn abandon(&self) {
        self.lock().abandoned = true;
        self.arrived.notify_all();
    }

    pub fn abandoned(&self) -> bool {
        self.lock().abandoned
    }

    /// The writer is stopping: refuses rows from now on; returns how many were still waiting
    /// (given up). Safe to call more than once.
    pub fn stop(&self) -> usize {
        let mut s = self.lock();
        s.stopped = true;
        let late = s.rows.len();
        s.rows = Rows::default();
        s.unwritten = s.unwritten.saturating_sub(late);
        late
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on purpose")]

    use std::sync::Arc;
    use std::time::SystemTime;

    use super::*;

    fn rec(id: &str) -> Record {
        Record::new(SystemTime::now(), Arc::from(id), "chat/completions")
    }

    #[test]
    fn capacity_counts_rows_until_they_are_settled() {
        let q = Queue::new(2);
        assert_eq!(q.push(&rec("a")), Ok(()));
        assert_eq!(q.push(&rec("b")), Ok(()));
        assert_eq!(q.push(&rec("c")), Err(Refused::Full));
        let mut batch = Rows::default();
        assert_eq!(q.take(&mut batch), 2);
        // Taken is not written: the writer's batch still counts.
        assert_eq!(q.push(&rec("c")), Err(Refused::Full));
        q.settled(2);
        assert_eq!(q.unwritten(), 0);
        assert_eq!(q.push(&rec("c")), Ok(()));
        assert_eq!(q.take(&mut batch), 1);
        assert_eq!(q.stop(), 0);
        assert_eq!(q.push(&rec("d")), Err(Refused::Stopped));
    }

    /// A writer thread waiting up to 20 s for rows; joins to whether it got any and how long
    /// it waited.
    fn waiting_writer(q: &Arc<Queue>) -> std::thread::JoinHandle<(bool, Duration)> {
        let q = Arc::clone(q);
        let writer = std::thread::spawn(move || {
            let started = Instant::now();
            (q.wait_for_rows(Duration::from_secs(20)), started.elapsed())
        });
        // Most likely waiting by now; if not, rows, a wake or abandonment are there when it
        // looks.
        std::thread::sleep(Duration::from_millis(50));
        writer
    }

    #[test]
    fn a_push_wakes_a_waiting_writer_and_stop_gives_up_the_rest() {
        let q = Arc::new(Queue::new(10));
        let writer = waiting_writer(&q);
        q.push(&rec("a")).unwrap();
        let (got, waited) = writer.join().unwrap();
        assert!(got);
        assert!(waited < Duration::from_secs(10), "waited {waited:?}");
        q.push(&rec("b")).unwrap();
        assert_eq!(q.stop(), 2);
        assert_eq!(q.unwritten(), 0);
    }

    #[test]
    fn wake_and_abandon_end_the_wait_without_rows() {
        let q = Arc::new(Queue::new(10));
        let writer = waiting_writer(&q);
        q.wake();
        let (got, waited) = writer.join().unwrap();
        assert!(!got && !q.abandoned());
        assert!(waited < Duration::from_secs(10), "waited {waited:?}");

        // A wake before the wait is kept for it (`close` racing the writer's loop), and used
        // up by it.
        q.wake();
        let started = Instant::now();
        assert!(!q.wait_for_rows(Duration::from_secs(20)));
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(!q.wait_for_rows(Duration::from_millis(20)));

        let writer = waiting_writer(&q);
        q.abandon();
        let (got, waited) = writer.join().unwrap();
        assert!(!got && q.abandoned());
        assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    }
}
