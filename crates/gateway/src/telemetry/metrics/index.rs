//! A read-mostly map from a label set to its series, built for the request path.
//!
//! Why not `RwLock<HashMap<Labels, _>>`: every reader would write the lock word, a cache line
//! all worker threads share, and looking up an owned-label key needs owned labels (an `Arc`
//! clone per label per request). Here a lookup loads an immutable snapshot through `ArcSwap`
//! (no shared write), hashes the *borrowed* label values, and compares them in place: no lock,
//! no allocation, no reference-count traffic. A new label set (rare: the first request of a
//! model, deployment, status, key…) copies the snapshot under a mutex and swaps it in, which is
//! linear in the series count; the count is capped by the caller, so that copy is bounded.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use foldhash::fast::{FoldHasher, RandomState};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

/// The table's keys are already hash values of the labels; hashing them again would only
/// cost time.
#[derive(Debug, Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `u64` keys; this keeps the trait total.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// One immutable generation of the map: series by label hash (collisions share a bucket).
#[derive(Debug)]
struct Snapshot<S> {
    buckets: HashMap<u64, Vec<Arc<S>>, BuildHasherDefault<Prehashed>>,
    len: usize,
}

impl<S> Snapshot<S> {
    fn find(&self, hash: u64, eq: impl Fn(&S) -> bool) -> Option<&Arc<S>> {
        self.buckets.get(&hash)?.iter().find(|s| eq(s))
    }
}

/// The series of one metric family (or of a group of families sharing labels).
#[derive(Debug)]
pub(super) struct Index<S> {
    /// Seeded per process, so label values clients choose cannot be crafted offline to
    /// collide; a collision only lengthens one bucket, and the caller caps the series count.
    /// foldhash rather than SipHash: this runs for every finished request.
    hasher: RandomState,
    table: ArcSwap<Snapshot<S>>,
    /// Serializes inserts (each copies the current snapshot); readers never take it.
    writer: Mutex<()>,
}

/// The index holds as many series as the caller allowed; the caller folds the new label set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Full;

impl<S> Default for Index<S> {
    fn default() -> Self {
        Self {
            hasher: RandomState::default(),
            table: ArcSwap::from_pointee(Snapshot {
                buckets: HashMap::default(),
                len: 0,
            }),
            writer: Mutex::new(()),
        }
    }
}

impl<S> Index<S> {
    /// A hasher for a probe's labels; feed it the same fields, in the same order, as the
    /// series' own labels are fed when inserted.
    pub(super) fn hasher(&self) -> FoldHasher<'_> {
        self.hasher.build_hasher()
    }

    /// Runs `f` on the series whose labels `eq` accepts, if there is one. The snapshot stays
    /// loaded while `f` runs, so no reference count is touched.
    pub(super) fn with<R>(
        &self,
        hash: u64,
        eq: impl Fn(&S) -> bool,
        f: impl FnOnce(&S) -> R,
    ) -> Option<R> {
        let table = self.table.load();
        table.find(hash, eq).map(|s| f(s))
    }

    /// Series held now.
    pub(super) fn len(&self) -> usize {
        self.table.load().len
    }

    /// The series `eq` accepts, created by `make` when missing, unless the index already holds
    /// `cap` series. Concurrent callers with the same labels get the same series.
    pub(super) fn get_or_insert(
        &self,
        hash: u64,
        eq: impl Fn(&S) -> bool,
        make: impl FnOnce() -> S,
        cap: usize,
    ) -> Result<Arc<S>, Full> {
        let _writing = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.table.load_full();
        if let Some(s) = current.find(hash, &eq) {
            return Ok(Arc::clone(s));
        }
        if current.len >= cap {
            return Err(Full);
        }
        let series = Arc::new(make());
        let mut buckets = current.buckets.clone();
        buckets.entry(hash).or_default().push(Arc::clone(&series));
        self.table.store(Arc::new(Snapshot {
            buckets,
            len: current.len + 1,
        }));
        Ok(series)
    }

    /// Every series, in no particular order (for rendering).
    pub(super) fn all(&self) -> Vec<Arc<S>> {
        let table = self.table.load();
        let mut out = Vec::with_capacity(table.len);
        for bucket in table.buckets.values() {
            out.extend(bucket.iter().cloned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::hash::Hash;

    use super::*;

    fn hash(index: &Index<String>, s: &str) -> u64 {
        let mut h = index.hasher();
        s.hash(&mut h);
        h.finish()
    }

    #[test]
    fn finds_what_it_inserted_and_stops_at_the_cap() {
        let index = Index::<String>::default();
        let h = hash(&index, "a");
        assert_eq!(index.with(h, |s| s == "a", |s| s.len()), None);
        let a = index
            .get_or_insert(h, |s| s == "a", || "a".into(), 2)
            .unwrap();
        let again = index
            .get_or_insert(h, |s| s == "a", || "other".into(), 2)
            .unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        assert_eq!(index.with(h, |s| s == "a", |s| s.clone()), Some("a".into()));
        let hb = hash(&index, "b");
        index
            .get_or_insert(hb, |s| s == "b", || "b".into(), 2)
            .unwrap();
        let hc = hash(&index, "c");
        assert_eq!(
            index.get_or_insert(hc, |s| s == "c", || "c".into(), 2),
            Err(Full)
        );
        // Existing series are still found at the cap.
        assert!(
            index
                .get_or_insert(h, |s| s == "a", || "x".into(), 2)
                .is_ok()
        );
        assert_eq!(index.len(), 2);
        let mut all: Vec<String> = index.all().iter().map(|s| s.to_string()).collect();
        all.sort();
        assert_eq!(all, ["a", "b"]);
    }

    #[test]
    fn colliding_hashes_share_a_bucket() {
        let index = Index::<String>::default();
        index
            .get_or_insert(7, |s| s == "x", || "x".into(), 9)
            .unwrap();
        index
            .get_or_insert(7, |s| s == "y", || "y".into(), 9)
            .unwrap();
        assert_eq!(index.with(7, |s| s == "y", |s| s.clone()), Some("y".into()));
        assert_eq!(index.with(7, |s| s == "x", |s| s.clone()), Some("x".into()));
        assert_eq!(index.len(), 2);
    }
}
