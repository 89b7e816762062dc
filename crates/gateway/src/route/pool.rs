//! A model's pool of deployments and the balancer that picks one for each attempt.
//!
//! Members are kept sorted by priority; each run of equal priority is a tier. A request goes to
//! the best tier that has a deployment it may use (not cooling down, breaker not open, not
//! already tried by this request), so lower tiers take traffic only while the better ones are
//! throttled or broken, and it flows back as soon as they recover — there is no state to undo.
//! Inside a tier the model's [`Strategy`] decides:
//! - `weighted`: smooth weighted round-robin (nginx's), exact shares without bursts. Its running
//!   totals sit behind a std `Mutex` held for a few additions (never across an await).
//! - `least-busy`: fewest requests in flight relative to weight; a streamed answer stays in
//!   flight until its body ends (the [`Lease`] rides in the response body).
//! - `latency`: lowest recent time to first byte, times (in flight + 1), over weight: the
//!   fastest deployment gets most traffic without being buried, and an idle slow one is retried
//!   as its old average fades.
//!
//! Ties rotate, so equal deployments share. Selection allocates nothing: the tried set and the
//! candidate set are 64-bit masks (pools are capped at 64 deployments).

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::health::{Availability, Health, Lease};
use super::table::Target;
use crate::call::Operation;
use crate::config::Strategy;

/// The most deployments one pool may have.
pub const MAX_MEMBERS: usize = 64;

/// The retry-after offered while every deployment waits on a running half-open probe.
const PROBE_WAIT: Duration = Duration::from_secs(1);

/// One deployment of a pool.
#[derive(Debug)]
pub struct Member {
    /// Where each operation goes on this deployment, by [`Operation::ALL`] index.
    pub targets: [Target; Operation::ALL.len()],
    pub weight: u32,
    pub priority: u32,
    pub health: Arc<Health>,
}

impl Member {
    /// The chat target, which names the upstream and deployment (the same for every op).
    pub fn any_target(&self) -> &Target {
        &self.targets[0]
    }
}

/// The balancer's choice for one attempt.
#[derive(Debug)]
pub struct Pick {
    pub index: usize,
    pub lease: Lease,
}

/// Why no deployment can take a request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted {
    /// Until the soonest deployment recovers.
    pub retry_after: Duration,
    /// At least one deployment is cooling down after a 429 (else only breakers are open).
    pub throttled: bool,
}

#[derive(Debug)]
pub struct Pool {
    strategy: Strategy,
    members: Box<[Member]>,
    tiers: Box<[Range<usize>]>,
    /// Smooth weighted round-robin's running totals, one per member.
    current: Mutex<Box<[i64]>>,
    /// Rotates the starting point of least-busy and latency scans, so ties spread.
    turn: AtomicUsize,
}

impl Pool {
    /// Orders `members` by priority (stably: config order inside a tier).
    pub fn new(strategy: Strategy, mut members: Vec<Member>) -> Result<Self, String> {
        if members.is_empty() || members.len() > MAX_MEMBERS {
            return Err(format!(
                "a pool needs 1 to {MAX_MEMBERS} deployments, not {}",
                members.len()
            ));
        }
        members.sort_by_key(|m| m.priority);
        let mut tiers = Vec::new();
        let mut start = 0;
        for i in 1..=members.len() {
            if members.get(i).map(|m| m.priority) != Some(members[start].priority) {
                tiers.push(start..i);
                start = i;
            }
        }
        Ok(Self {
            strategy,
            current: Mutex::new(vec![0; members.len()].into_boxed_slice()),
            members: members.into_boxed_slice(),
            tiers: tiers.into_boxed_slice(),
            turn: AtomicUsize::new(0),
        })
    }

    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Members in tier order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn member(&self, index: usize) -> Option<&Member> {
        self.members.get(index)
    }

    /// Picks a deployment for one attempt, skipping those whose bit is set in `tried`, and
    /// takes its lease (and, when it is half-open, its one probe).
    pub fn select(&self, now: Instant, tried: u64) -> Option<Pick> {
        for tier in self.tiers.iter() {
            let mut skip = tried;
            loop {
                let (mut eligible, mut probes) = (0u64, 0u64);
                for (i, m) in self.tier(tier) {
                    let bit = 1u64 << i;
                    if skip & bit != 0 {
                        continue;
                    }
                    match m.health.availability(now) {
                        Availability::Ready => eligible |= bit,
                        Availability::Probe => {
                            eligible |= bit;
                            probes |= bit;
                        }
                        Availability::Blocked(_) => {}
                    }
                }
                if eligible == 0 {
                    break;
                }
                let index = match self.strategy {
                    Strategy::Weighted => self.weighted(tier, eligible),
                    Strategy::LeastBusy => self.cheapest(tier, eligible, |m| {
                        f64::from(m.health.in_flight()) / f64::from(m.weight)
                    }),
                    Strategy::Latency => self.cheapest(tier, eligible, |m| {
                        m.health.latency_cost(now) * f64::from(m.health.in_flight() + 1)
                            / f64::from(m.weight)
                    }),
                };
                let Some(member) = self.members.get(index) else {
                    break;
                };
                let bit = 1u64 << index;
                let probe = probes & bit != 0;
                if probe && !member.health.try_probe() {
                    // Another request took the probe; look again without this one.
                    skip |= bit;
                    continue;
                }
                return Some(Pick {
                    index,
                    lease: member.health.lease(probe),
                });
            }
        }
        None
    }

    /// Takes member `index`'s lease, bypassing the balancer and the tiers, when it may take a
    /// request now and its bit is not set in `tried`.
    pub fn take(&self, now: Instant, index: usize, tried: u64) -> Option<Pick> {
        let member = self.members.get(index)?;
        if tried & (1u64 << index) != 0 {
            return None;
        }
        let probe = match member.health.availability(now) {
            Availability::Ready => false,
            Availability::Probe if member.health.try_probe() => true,
            Availability::Probe | Availability::Blocked(_) => return None,
        };
        Some(Pick {
            index,
            lease: member.health.lease(probe),
        })
    }

    /// `Some` when no deployment may take a request now: the wait until the first recovers.
    pub fn exhausted(&self, now: Instant) -> Option<Exhausted> {
        let mut soonest: Option<Instant> = None;
        let mut throttled = false;
        for m in self.members.iter() {
            match m.health.availability(now) {
                Availability::Ready | Availability::Probe => return None,
                Availability::Blocked(b) => {
                    throttled |= b.throttled;
                    if let Some(until) = b.until {
                        soonest = Some(soonest.map_or(until, |s| s.min(until)));
                    }
                }
            }
        }
        let retry_after = soonest.map_or(PROBE_WAIT, |t| t.saturating_duration_since(now));
        Some(Exhausted {
            retry_after,
            throttled,
        })
    }

    fn tier(&self, tier: &Range<usize>) -> impl Iterator<Item = (usize, &Member)> {
        self.members
            .iter()
            .enumerate()
            .skip(tier.start)
            .take(tier.len())
    }

    /// Smooth weighted round-robin over the eligible members of `tier`.
    fn weighted(&self, tier: &Range<usize>, eligible: u64) -> usize {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut total, mut best, mut best_value) = (0i64, tier.start, i64::MIN);
        for ((i, m), value) in self.tier(tier).zip(current.iter_mut().skip(tier.start)) {
            if eligible & (1u64 << i) == 0 {
                continue;
            }
            let weight = i64::from(m.weight);
            *value += weight;
            total += weight;
            if *value > best_value {
                (best, best_value) = (i, *value);
            }
        }
        if let Some(value) = current.get_mut(best) {
            *value -= total;
        }
        best
    }

    /// The eligible member of `tier` with the lowest `cost`, scanning from a rotating start.
    fn cheapest(&self, tier: &Range<usize>, eligible: u64, cost: impl Fn(&Member) -> f64) -> usize {
        let n = tier.len().max(1);
        let start = self.turn.fetch_add(1, Relaxed) % n;
        let mut best: Option<(usize, f64)> = None;
        for k in 0..n {
            let i = tier.start + (start + k) % n;
            if eligible & (1u64 << i) == 0 {
                continue;
            }
            let Some(m) = self.members.get(i) else {
                continue;
            };
            let c = cost(m);
            if best.is_none_or(|(_, b)| c < b) {
                best = Some((i, c));
            }
        }
        best.map_or(tier.start, |(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::super::health::HealthPolicy;
    use super::super::table::test_target;
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn pool(strategy: Strategy, spec: &[(u32, u32)]) -> (Pool, Instant) {
        let t0 = Instant::now();
        let policy = HealthPolicy {
            cooldown_default: 100 * MS,
            cooldown_max: 10_000 * MS,
            breaker_failures: 1,
            breaker_open: 500 * MS,
        };
        let members = spec
            .iter()
            .enumerate()
            .map(|(i, &(weight, priority))| Member {
                targets: Operation::ALL.map(|_| test_target(&format!("d{i}"))),
                weight,
                priority,
                health: Arc::new(Health::new(policy, t0)),
            })
            .collect();
        (Pool::new(strategy, members).unwrap(), t0)
    }

    fn name(p: &Pool, pick: &Pick) -> String {
        p.members()[pick.index].any_target().deployment.to_string()
    }

    /// Deployment names of `n` selections made one after another (each lease dropped).
    fn picks(p: &Pool, now: Instant, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| name(p, &p.select(now, 0).unwrap()))
            .collect()
    }

    fn count(names: &[String], which: &str) -> usize {
        names.iter().filter(|n| *n == which).count()
    }

    #[test]
    fn smooth_weighted_round_robin_is_exact_and_interleaved() {
        let (p, t0) = pool(Strategy::Weighted, &[(5, 1), (1, 1), (1, 1)]);
        let names = picks(&p, t0, 7);
        assert_eq!(names, ["d0", "d0", "d1", "d0", "d2", "d0", "d0"]);
        let many = picks(&p, t0, 700);
        assert_eq!(
            (count(&many, "d0"), count(&many, "d1"), count(&many, "d2")),
            (500, 100, 100)
        );
    }

    #[test]
    fn priority_tiers_spill_over_and_return() {
        let (p, t0) = pool(Strategy::Weighted, &[(1, 2), (1, 1), (1, 1)]);
        // Sorted by priority: d1 and d2 form the first tier.
        assert!(picks(&p, t0, 10).iter().all(|n| n != "d0"));
        let throttle = |name: &str, ms: u32| {
            let i = p
                .members()
                .iter()
                .position(|m| &*m.any_target().deployment == name)
                .unwrap();
            p.members()[i]
                .health
                .lease(false)
                .throttled(t0, Some(ms * MS));
        };
        throttle("d1", 100);
        assert_eq!(picks(&p, t0, 4), ["d2"; 4]);
        throttle("d2", 200);
        assert_eq!(picks(&p, t0, 3), ["d0"; 3]);
        // d1 is back at 100 ms: the better tier takes everything again.
        assert_eq!(picks(&p, t0 + 100 * MS, 3), ["d1"; 3]);
        // Everything cooling: nothing to pick, and the soonest recovery is reported.
        throttle("d0", 50);
        assert!(p.select(t0, 0).is_none());
        assert_eq!(
            p.exhausted(t0),
            Some(Exhausted {
                retry_after: 50 * MS,
                throttled: true
            })
        );
        assert_eq!(p.exhausted(t0 + 50 * MS), None);
    }

    #[test]
    fn take_bypasses_the_balancer_and_tiers_but_not_health() {
        let (p, t0) = pool(Strategy::Weighted, &[(1, 1), (1, 2)]);
        // d1 is in the worse tier: the balancer never picks it, `take` does.
        assert!(picks(&p, t0, 4).iter().all(|n| n == "d0"));
        assert_eq!(name(&p, &p.take(t0, 1, 0).unwrap()), "d1");
        assert!(p.take(t0, 1, 1 << 1).is_none(), "already tried");
        assert!(p.take(t0, 9, 0).is_none(), "no such member");
        p.members()[1]
            .health
            .lease(false)
            .throttled(t0, Some(100 * MS));
        assert!(p.take(t0, 1, 0).is_none(), "cooling down");
        assert!(p.take(t0 + 100 * MS, 1, 0).is_some());
    }

    #[test]
    fn tried_deployments_are_skipped() {
        let (p, t0) = pool(Strategy::Weighted, &[(1, 1), (1, 1), (1, 2)]);
        let first = p.select(t0, 0).unwrap();
        let second = p.select(t0, 1 << first.index).unwrap();
        assert_ne!(first.index, second.index);
        let third = p
            .select(t0, (1 << first.index) | (1 << second.index))
            .unwrap();
        assert_eq!(name(&p, &third), "d2");
        assert!(p.select(t0, 0b111).is_none());
        // Tried is not unavailable: the pool itself is not exhausted.
        assert_eq!(p.exhausted(t0), None);
    }

    #[test]
    fn half_open_lets_exactly_one_probe_through() {
        let (p, t0) = pool(Strategy::Weighted, &[(1, 1), (1, 2)]);
        p.members()[0].health.lease(false).failed(t0, None);
        assert_eq!(picks(&p, t0, 2), ["d1"; 2]);
        let t1 = t0 + 500 * MS;
        let probe = p.select(t1, 0).unwrap();
        assert_eq!(name(&p, &probe), "d0");
        // While the probe runs, everyone else goes to the next tier.
        assert_eq!(picks(&p, t1, 2), ["d1"; 2]);
        let mut lease = probe.lease;
        lease.answered(t1, 5 * MS);
        drop(lease);
        assert_eq!(picks(&p, t1, 2), ["d0"; 2]);
    }

    #[test]
    fn breakers_alone_make_a_503_style_exhaustion() {
        let (p, t0) = pool(Strategy::Weighted, &[(1, 1), (1, 1)]);
        for m in p.members() {
            m.health.lease(false).failed(t0, None);
        }
        assert_eq!(
            p.exhausted(t0 + 100 * MS),
            Some(Exhausted {
                retry_after: 400 * MS,
                throttled: false
            })
        );
    }

    #[test]
    fn least_busy_follows_leases_and_weights() {
        let (p, t0) = pool(Strategy::LeastBusy, &[(1, 1), (1, 1)]);
        let a = p.select(t0, 0).unwrap();
        // With one request in flight on `a`, the other deployment takes the next ones.
        let other = if a.index == 0 { "d1" } else { "d0" };
        assert_eq!(picks(&p, t0, 5), vec![other; 5]);
        let b = p.select(t0, 0).unwrap();
        assert_eq!(name(&p, &b), other);
        // Both busy: ties rotate.
        let names = picks(&p, t0, 10);
        assert_eq!(count(&names, "d0"), 5);
        let freed = name(&p, &a);
        drop(a);
        assert_eq!(picks(&p, t0, 3), vec![freed; 3]);
        drop(b);

        // Weight 3 vs 1: held leases end up 3:1.
        let (p, t0) = pool(Strategy::LeastBusy, &[(3, 1), (1, 1)]);
        let held: Vec<Pick> = (0..8).map(|_| p.select(t0, 0).unwrap()).collect();
        let on_d0 = held.iter().filter(|h| h.index == 0).count();
        assert_eq!(on_d0, 6);
    }

    #[test]
    fn latency_prefers_the_fast_and_retries_the_slow_later() {
        let (p, t0) = pool(Strategy::Latency, &[(1, 1), (1, 1)]);
        p.members()[0].health.lease(false).answered(t0, 20 * MS);
        p.members()[1].health.lease(false).answered(t0, 210 * MS);
        assert_eq!(picks(&p, t0, 5), ["d0"; 5]);
        // In-flight work on the fast one raises its cost: 20 ms × 11 > 210 ms.
        let held: Vec<Pick> = (0..10).map(|_| p.select(t0, 0).unwrap()).collect();
        assert!(held.iter().all(|h| h.index == 0));
        assert_eq!(name(&p, &p.select(t0, 0).unwrap()), "d1");
        drop(held);
        // Long idle: the slow one's old average has faded below the fast one's fresh one.
        p.members()[0]
            .health
            .lease(false)
            .answered(t0 + Duration::from_secs(30), 20 * MS);
        assert_eq!(
            name(&p, &p.select(t0 + Duration::from_secs(30), 0).unwrap()),
            "d1"
        );
    }
}
