//! Latency histograms: a fixed bucket layout per family and one relaxed atomic per bucket.
//!
//! An observation is a bucket search over at most a dozen integers and two `fetch_add`s (its
//! bucket and the sum); the count is the sum of the buckets, so it needs no atomic of its own,
//! and the cumulative `le` counts are built at scrape time. Values are kept as integers (no
//! float CAS loop); bounds are whole nanoseconds, so `le` labels print exactly.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

const US: u64 = 1_000;
const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;

/// Bucket bounds and the unit the sum is kept in.
#[derive(Debug)]
pub(super) struct Layout {
    /// Upper bounds (inclusive), ascending, in nanoseconds; `+Inf` is implied.
    pub bounds: &'static [u64],
    /// Nanoseconds per unit of the stored sum: small for the gateway's own overhead (µs-scale
    /// values need sub-µs precision), larger for upstream times (streams last minutes, and a
    /// `u64` of nanoseconds summed over many long requests would overflow within hours).
    pub sum_unit: u64,
}

/// The gateway's own time per request: tens of µs normally, ms when translating or compressing.
pub(super) const OVERHEAD: Layout = Layout {
    bounds: &[
        50 * US,
        100 * US,
        250 * US,
        500 * US,
        MS,
        2_500 * US,
        5 * MS,
        10 * MS,
        25 * MS,
        50 * MS,
        100 * MS,
    ],
    sum_unit: 1,
};

/// Time to first token and to upstream headers: model latency, from ~50 ms to a minute.
pub(super) const UPSTREAM: Layout = Layout {
    bounds: &[
        25 * MS,
        50 * MS,
        100 * MS,
        250 * MS,
        500 * MS,
        S,
        2 * S,
        4 * S,
        8 * S,
        15 * S,
        30 * S,
        60 * S,
    ],
    sum_unit: US,
};

/// Whole requests, streams included: up to the 10-minute upstream timeout range.
pub(super) const DURATION: Layout = Layout {
    bounds: &[
        50 * MS,
        100 * MS,
        250 * MS,
        500 * MS,
        S,
        2_500 * MS,
        5 * S,
        10 * S,
        30 * S,
        60 * S,
        120 * S,
        300 * S,
        600 * S,
    ],
    sum_unit: US,
};

/// Largest bucket count of any layout, `+Inf` included.
const MAX_BUCKETS: usize = 14;

#[derive(Debug)]
pub(super) struct Histogram {
    layout: &'static Layout,
    /// Per-bucket (not cumulative) counts; the last one is `+Inf`.
    counts: [AtomicU64; MAX_BUCKETS],
    sum: AtomicU64,
}

/// A histogram's numbers at scrape time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HistogramSnapshot {
    /// `(upper bound in ns, cumulative count)`; `+Inf` is `count`.
    pub buckets: Vec<(u64, u64)>,
    pub count: u64,
    /// In nanoseconds.
    pub sum_ns: u128,
}

impl Histogram {
    pub(super) fn new(layout: &'static Layout) -> Self {
        debug_assert!(layout.bounds.len() < MAX_BUCKETS);
        Self {
            layout,
            counts: Default::default(),
            sum: AtomicU64::new(0),
        }
    }

    pub(super) fn observe(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let bounds = self.layout.bounds;
        let i = bounds.iter().position(|&b| ns <= b).unwrap_or(bounds.len());
        if let Some(c) = self.counts.get(i) {
            c.fetch_add(1, Relaxed);
        }
        self.sum.fetch_add(ns / self.layout.sum_unit, Relaxed);
    }

    pub(super) fn snapshot(&self) -> HistogramSnapshot {
        let mut running = 0u64;
        let mut buckets = Vec::with_capacity(self.layout.bounds.len());
        for (bound, c) in self.layout.bounds.iter().zip(&self.counts) {
            running = running.saturating_add(c.load(Relaxed));
            buckets.push((*bound, running));
        }
        let inf = self
            .counts
            .get(self.layout.bounds.len())
            .map_or(0, |c| c.load(Relaxed));
        HistogramSnapshot {
            buckets,
            count: running.saturating_add(inf),
            sum_ns: u128::from(self.sum.load(Relaxed)) * u128::from(self.layout.sum_unit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_inclusive() {
        let h = Histogram::new(&OVERHEAD);
        h.observe(Duration::from_micros(50)); // exactly on the first bound
        h.observe(Duration::from_micros(51));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(1)); // beyond the last bound
        let s = h.snapshot();
        assert_eq!(s.count, 4);
        assert_eq!(s.buckets[0], (50_000, 1));
        assert_eq!(s.buckets[1], (100_000, 2));
        assert_eq!(s.buckets[5], (2_500_000, 2));
        assert_eq!(s.buckets[6], (5_000_000, 3));
        assert_eq!(s.buckets.last(), Some(&(100_000_000, 3)));
        assert_eq!(s.sum_ns, 50_000 + 51_000 + 3_000_000 + 1_000_000_000);
    }

    #[test]
    fn layouts_ascend_and_fit() {
        for layout in [&OVERHEAD, &UPSTREAM, &DURATION] {
            assert!(layout.bounds.len() < MAX_BUCKETS);
            assert!(layout.bounds.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn long_sums_are_kept_in_coarser_units() {
        let h = Histogram::new(&UPSTREAM);
        h.observe(Duration::from_nanos(1_500_700));
        assert_eq!(h.snapshot().sum_ns, 1_500_000);
    }
}
