//! Which worker thread this is, so each worker uses its own upstream connections.
//!
//! `serve` runs one single-threaded event loop per worker (see [`crate::server::run`]). Under
//! tokio's work-stealing runtime, a request's client connection and its upstream connection
//! were often polled on different threads, and every hand-over woke a sleeping thread: on the
//! benchmark machine that cost more CPU than the request itself. With one loop per thread and
//! one upstream client per worker, a request never leaves its thread. Outside `serve` (tests,
//! the demo) there is one worker, index 0.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNT: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    static INDEX: Cell<usize> = const { Cell::new(0) };
}

/// Sets the number of workers; call before building the runtime state, whose upstream
/// clients are sized by it.
pub fn set_count(n: usize) {
    COUNT.store(n.max(1), Ordering::Relaxed);
}

/// How many workers the upstream clients are built for.
pub fn count() -> usize {
    COUNT.load(Ordering::Relaxed)
}

/// Marks the current thread as worker `i`.
pub fn enter(i: usize) {
    INDEX.with(|c| c.set(i));
}

/// The current thread's worker index (0 outside worker threads).
pub fn index() -> usize {
    INDEX.with(Cell::get)
}

/// The worker count for `configured` (0 = one per CPU).
pub fn resolve(configured: u32) -> usize {
    match configured {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => usize::try_from(n).unwrap_or(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_per_thread() {
        enter(3);
        assert_eq!(index(), 3);
        let other = std::thread::spawn(index).join().unwrap();
        assert_eq!(other, 0);
        assert_eq!(resolve(5), 5);
        assert!(resolve(0) >= 1);
    }
}
