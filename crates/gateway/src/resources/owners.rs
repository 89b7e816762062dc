//! Which upstream stored each response (Responses API), so `GET/DELETE /responses/{id}` and
//! continuations (`previous_response_id`) reach the resource that has it.
//!
//! A bounded map: the oldest entry is evicted beyond [`ResponseOwners::CAPACITY`]. Owners are
//! kept by upstream *name*, so the map lives in `AppState` and outlasts config reloads (a
//! renamed or removed upstream simply stops matching). One short `Mutex` section per insert or
//! lookup; nothing is held across an await.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use crate::route::pool::Pool;

/// Where one response was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// `upstreams[].name`.
    pub upstream: Arc<str>,
    /// The deployment it was created on; `None` when it was found by probing.
    pub deployment: Option<Arc<str>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Id → owner and the insertion number that put it there.
    map: HashMap<Arc<str>, (Owner, u64)>,
    /// Insertion order; an entry whose number no longer matches the map's is stale.
    order: VecDeque<(Arc<str>, u64)>,
    next: u64,
}

#[derive(Debug)]
pub struct ResponseOwners {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl Default for ResponseOwners {
    fn default() -> Self {
        Self::with_capacity(Self::CAPACITY)
    }
}

impl ResponseOwners {
    /// Responses remembered; at ~200 bytes each, about 20 MB when full.
    pub const CAPACITY: usize = 100_000;

    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere mid-update leaves at worst a stale entry; keep serving.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn insert(&self, id: &str, owner: Owner) {
        let mut inner = self.lock();
        let n = inner.next;
        inner.next += 1;
        let key: Arc<str> = Arc::from(id);
        inner.map.insert(Arc::clone(&key), (owner, n));
        inner.order.push_back((key, n));
        while inner.order.len() > self.capacity {
            let Some((old, m)) = inner.order.pop_front() else {
                break;
            };
            if inner.map.get(&old).is_some_and(|(_, k)| *k == m) {
                inner.map.remove(&old);
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<Owner> {
        self.lock().map.get(id).map(|(owner, _)| owner.clone())
    }

    /// Forgets a deleted response.
    pub fn remove(&self, id: &str) {
        self.lock().map.remove(id);
    }

    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The member of `pool` a continuation of a response owned by `owner` should go to: one on the
/// owning upstream, the same deployment when the pool has it. `op` indexes member targets.
pub fn preferred_member(pool: &Pool, op: usize, owner: &Owner) -> Option<usize> {
    let mut on_upstream = None;
    for (i, m) in pool.members().iter().enumerate() {
        let Some(target) = m.targets.get(op) else {
            continue;
        };
        if *target.upstream.name != *owner.upstream {
            continue;
        }
        if owner.deployment.as_deref() == Some(&*target.deployment) {
            return Some(i);
        }
        on_upstream.get_or_insert(i);
    }
    on_upstream
}

/// [`preferred_member`] for a request's `previous_response_id`, when its owner is known.
pub fn preferred_for(
    owners: &ResponseOwners,
    pool: &Pool,
    op: usize,
    previous: Option<&str>,
) -> Option<usize> {
    let owner = owners.get(previous?)?;
    preferred_member(pool, op, &owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(upstream: &str) -> Owner {
        Owner {
            upstream: Arc::from(upstream),
            deployment: None,
        }
    }

    #[test]
    fn remembers_and_forgets() {
        let owners = ResponseOwners::default();
        assert!(owners.is_empty());
        owners.insert("resp_1", owner("a"));
        owners.insert("resp_2", owner("b"));
        assert_eq!(owners.get("resp_1"), Some(owner("a")));
        assert_eq!(owners.get("resp_2"), Some(owner("b")));
        assert_eq!(owners.get("resp_3"), None);
        owners.remove("resp_1");
        assert_eq!(owners.get("resp_1"), None);
        assert_eq!(owners.len(), 1);
    }

    #[test]
    fn the_oldest_entries_are_evicted_beyond_capacity() {
        let owners = ResponseOwners::with_capacity(3);
        for i in 0..5 {
            owners.insert(&format!("resp_{i}"), owner("a"));
        }
        assert_eq!(owners.len(), 3);
        assert_eq!(owners.get("resp_0"), None);
        assert_eq!(owners.get("resp_1"), None);
        assert!(owners.get("resp_4").is_some());
        // Re-inserting refreshes an id: its old place in line no longer evicts it.
        owners.insert("resp_2", owner("b"));
        owners.insert("resp_5", owner("a"));
        owners.insert("resp_6", owner("a"));
        assert_eq!(owners.get("resp_2"), Some(owner("b")));
        assert_eq!(owners.get("resp_3"), None);
        assert_eq!(owners.len(), 3);
        // A deleted id leaves a stale slot that expires without touching newer entries.
        owners.remove("resp_5");
        for i in 7..9 {
            owners.insert(&format!("resp_{i}"), owner("a"));
        }
        assert_eq!(owners.len(), 3);
        for kept in ["resp_6", "resp_7", "resp_8"] {
            assert!(owners.get(kept).is_some(), "{kept}");
        }
        assert_eq!(owners.lock().order.len(), 3);
    }

    #[test]
    fn the_preferred_member_is_on_the_owning_upstream() {
        use crate::config::Strategy;
        use crate::route::health::{Health, HealthPolicy};
        use crate::route::pool::Member;
        use crate::route::table::test_target_on;
        use std::time::Duration;
        let policy = HealthPolicy {
            cooldown_default: Duration::from_secs(1),
            cooldown_max: Duration::from_secs(1),
            breaker_failures: 0,
            breaker_open: Duration::from_secs(1),
        };
        let member = |upstream: &str, deployment: &str| Member {
            targets: std::array::from_fn(|_| test_target_on(upstream, deployment)),
            weight: 1,
            priority: 1,
            health: Arc::new(Health::new(policy, tokio::time::Instant::now())),
        };
        let pool = Pool::new(
            Strategy::Weighted,
            vec![member("a", "d1"), member("b", "d1"), member("b", "d2")],
        )
        .unwrap();
        let owned = |upstream: &str, deployment: Option<&str>| Owner {
            upstream: Arc::from(upstream),
            deployment: deployment.map(Arc::from),
        };
        assert_eq!(preferred_member(&pool, 0, &owned("a", None)), Some(0));
        assert_eq!(preferred_member(&pool, 0, &owned("b", None)), Some(1));
        assert_eq!(preferred_member(&pool, 0, &owned("b", Some("d2"))), Some(2));
        assert_eq!(preferred_member(&pool, 0, &owned("b", Some("d9"))), Some(1));
        assert_eq!(preferred_member(&pool, 0, &owned("c", None)), None);
        let owners = ResponseOwners::default();
        owners.insert("resp_b", owned("b", Some("d2")));
        assert_eq!(preferred_for(&owners, &pool, 0, Some("resp_b")), Some(2));
        assert_eq!(preferred_for(&owners, &pool, 0, Some("resp_x")), None);
        assert_eq!(preferred_for(&owners, &pool, 0, None), None);
    }
}
