//! Health of one pooled deployment: the cooldown its upstream asked for, a circuit breaker,
//! and the numbers the balancer and the admin API read (in flight, latency, counts).
//!
//! The failover loop writes after every attempt and the balancer reads on every selection, so
//! the state is a handful of atomics: no lock, no allocation. Concurrent requests can blur
//! *which* of them is counted first, never the state itself. Times are microseconds since the
//! pool's epoch, so an instant fits one `AtomicU64`, and every method takes `now` from its
//! caller: one clock read per attempt, and unit tests drive time by hand.
//!
//! Cooldown: a 429 (or a failover status carrying a retry-after) takes the deployment out of
//! rotation until the asked-for moment, capped by `cooldownMaxMs`; a 429 that names no delay
//! gets `cooldownDefaultMs`. Breaker: `breakerFailures` consecutive failures (failover 5xx,
//! connect errors, first-byte timeouts, broken streams) open it for `breakerOpenMs`; then it is
//! half-open and exactly one request (the probe) may try the deployment. The probe's success
//! closes the breaker, its failure re-opens it for another `breakerOpenMs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::*};
use std::time::Duration;

use tokio::time::Instant;

/// Cooldown and breaker settings (`server.upstream`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    pub cooldown_default: Duration,
    pub cooldown_max: Duration,
    /// 0 turns the breaker off.
    pub breaker_failures: u32,
    pub breaker_open: Duration,
}

/// Weight of the newest sample in the time-to-first-byte average.
const LATENCY_ALPHA: f64 = 0.25;
/// An idle deployment's latency counts for less as it ages (e-folding time), so a deployment
/// that was slow once is tried again later instead of being shunned forever.
const LATENCY_DECAY_SECS: f64 = 10.0;

/// Whether the balancer may send a request to a deployment now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Ready,
    /// Half-open: one probe may go, if it is claimed with [`Health::try_probe`].
    Probe,
    Blocked(Blocked),
}

/// Why and until when a deployment is out of rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocked {
    /// When it takes traffic again; `None` while a half-open probe is under way.
    pub until: Option<Instant>,
    /// Cooling down after a 429 (otherwise only the breaker holds it).
    pub throttled: bool,
}

#[derive(Debug)]
pub struct Health {
    policy: HealthPolicy,
    epoch: Instant,
    cooldown_until: AtomicU64,
    open: AtomicBool,
    open_until: AtomicU64,
    probing: AtomicBool,
    consecutive: AtomicU32,
    in_flight: AtomicU32,
    /// EWMA of time to first byte, µs, as `f64` bits; 0 until the first sample.
    latency: AtomicU64,
    latency_at: AtomicU64,
    successes: AtomicU64,
    throttled: AtomicU64,
    failures: AtomicU64,
    broken: AtomicU64,
}

/// Counters and state for the admin API.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthView {
    pub availability: Availability,
    /// `Some` while the breaker is open or half-open: when it (last) opened until.
    pub breaker_open_until: Option<Instant>,
    pub cooldown_until: Option<Instant>,
    pub consecutive_failures: u32,
    pub in_flight: u32,
    /// Time to first byte (EWMA), if measured.
    pub latency: Option<Duration>,
    pub successes: u64,
    pub throttled: u64,
    pub failures: u64,
    pub broken_streams: u64,
}

impl Health {
    pub fn new(policy: HealthPolicy, epoch: Instant) -> Self {
        Self {
            policy,
            epoch,
            cooldown_until: AtomicU64::new(0),
            open: AtomicBool::new(false),
            open_until: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            consecutive: AtomicU32::new(0),
            in_flight: AtomicU32::new(0),
            latency: AtomicU64::new(0),
            latency_at: AtomicU64::new(0),
            successes: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            broken: AtomicU64::new(0),
        }
    }

    fn ticks(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_micros()).unwrap_or(u64::MAX)
    }

    fn instant(&self, ticks: u64) -> Instant {
        self.epoch + Duration::from_micros(ticks)
    }

    pub fn availability(&self, now: Instant) -> Availability {
        let now = self.ticks(now);
        let cooling = self.cooldown_until.load(Relaxed);
        let open = self.open.load(Acquire);
        let open_until = if open {
            self.open_until.load(Relaxed)
        } else {
            0
        };
        if now < cooling || now < open_until {
            return Availability::Blocked(Blocked {
                until: Some(self.instant(cooling.max(open_until))),
                throttled: now < cooling,
            });
        }
        if !open {
            Availability::Ready
        } else if self.probing.load(Relaxed) {
            Availability::Blocked(Blocked {
                until: None,
                throttled: false,
            })
        } else {
            Availability::Probe
        }
    }

    /// Claims the one half-open probe; `false` when another request got it first.
    pub fn try_probe(&self) -> bool {
        self.probing
            .compare_exchange(false, true, AcqRel, Relaxed)
            .is_ok()
    }

    /// Counts a request in flight until the returned lease is dropped.
    pub fn lease(self: &Arc<Self>, probe: bool) -> Lease {
        self.in_flight.fetch_add(1, Relaxed);
        Lease {
            health: Arc::clone(self),
            probe,
        }
    }

    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Relaxed)
    }

    /// The recent time to first byte in µs, faded by how long ago it was measured; 0 when
    /// never measured, so new deployments are tried first.
    pub fn latency_cost(&self, now: Instant) -> f64 {
        let ewma = f64::from_bits(self.latency.load(Relaxed));
        if ewma == 0.0 {
            return 0.0;
        }
        let age = self
            .ticks(now)
            .saturating_sub(self.latency_at.load(Relaxed));
        let age_secs = age as f64 / 1e6;
        ewma * (-age_secs / LATENCY_DECAY_SECS).exp()
    }

    /// Headers arrived with a status that is not a failure: closes the breaker.
    fn success(&self, now: Instant, ttfb: Duration) {
        self.successes.fetch_add(1, Relaxed);
        // Read first: most answers find it at 0, and a load keeps the cache line shared.
        if self.consecutive.load(Relaxed) != 0 {
            self.consecutive.store(0, Relaxed);
        }
        if self.open.load(Relaxed) {
            self.open.store(false, Release);
        }
        let sample = ttfb.as_secs_f64() * 1e6;
        let _ = self.latency.fetch_update(Relaxed, Relaxed, |bits| {
            let old = f64::from_bits(bits);
            let new = if old == 0.0 {
                sample
            } else {
                old + LATENCY_ALPHA * (sample - old)
            };
            Some(new.max(f64::MIN_POSITIVE).to_bits())
        });
        self.latency_at.store(self.ticks(now), Relaxed);
    }

    /// Out of rotation for what the upstream asked (else the default), within the cap.
    fn cool_down(&self, now: Instant, asked: Option<Duration>) {
        let pause = asked
            .unwrap_or(self.policy.cooldown_default)
            .min(self.policy.cooldown_max);
        self.cooldown_until
            .fetch_max(self.ticks(now + pause), Relaxed);
    }

    /// One more consecutive failure; opens (or re-opens) the breaker.
    fn breaker_failure(&self, now: Instant) {
        let threshold = self.policy.breaker_failures;
        if threshold == 0 {
            return;
        }
        let n = self.consecutive.fetch_add(1, Relaxed).saturating_add(1);
        // Open already: a half-open probe (or a straggler) failed, so the wait starts over.
        if n >= threshold || self.open.load(Relaxed) {
            self.open_until
                .store(self.ticks(now + self.policy.breaker_open), Relaxed);
            self.open.store(true, Release);
        }
    }

    pub fn view(&self, now: Instant) -> HealthView {
        let latency = f64::from_bits(self.latency.load(Relaxed));
        let cooling = self.cooldown_until.load(Relaxed);
        HealthView {
            availability: self.availability(now),
            breaker_open_until: self
                .open
                .load(Acquire)
                .then(|| self.instant(self.open_until.load(Relaxed))),
            cooldown_until: (cooling > self.ticks(now)).then(|| self.instant(cooling)),
            consecutive_failures: self.consecutive.load(Relaxed),
            in_flight: self.in_flight.load(Relaxed),
            latency: (latency > 0.0).then(|| Duration::from_secs_f64(latency / 1e6)),
            successes: self.successes.load(Relaxed),
            throttled: self.throttled.load(Relaxed),
            failures: self.failures.load(Relaxed),
            broken_streams: self.broken.load(Relaxed),
        }
    }
}

/// One request's hold on a deployment: counts it in flight until dropped (a streamed answer
/// keeps its lease in the response body until the stream ends), and reports how the attempt
/// went. A half-open probe that is dropped unreported (the client went away) frees the probe
/// slot so the next request can probe instead.
#[derive(Debug)]
pub struct Lease {
    health: Arc<Health>,
    probe: bool,
}

impl Lease {
    pub fn health(&self) -> &Health {
        &self.health
    }

    fn end_probe(&mut self) {
        if std::mem::take(&mut self.probe) {
            self.health.probing.store(false, Release);
        }
    }

    /// The upstream answered with a status that goes to the client.
    pub fn answered(&mut self, now: Instant, ttfb: Duration) {
        self.health.success(now, ttfb);
        self.end_probe();
    }

    /// A 429: cooldown. The breaker is untouched (a throttling upstream is alive), and a
    /// half-open deployment stays half-open for the next probe after the cooldown.
    pub fn throttled(&mut self, now: Instant, asked: Option<Duration>) {
        self.health.throttled.fetch_add(1, Relaxed);
        self.health.cool_down(now, asked);
        self.end_probe();
    }

    /// A failover 5xx, a connect error or a first-byte timeout; `asked` is a retry-after the
    /// failed answer carried, honoured as a cooldown.
    pub fn failed(&mut self, now: Instant, asked: Option<Duration>) {
        self.health.failures.fetch_add(1, Relaxed);
        if asked.is_some() {
            self.health.cool_down(now, asked);
        }
        self.health.breaker_failure(now);
        self.end_probe();
    }

    /// The answer's body ended; a body that broke counts toward the breaker.
    pub fn finish(mut self, broken: bool) {
        if broken {
            self.health.broken.fetch_add(1, Relaxed);
            self.health.breaker_failure(Instant::now());
        }
        self.end_probe();
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.health.in_flight.fetch_sub(1, Relaxed);
        self.end_probe();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn health(breaker_failures: u32) -> (Arc<Health>, Instant) {
        let t0 = Instant::now();
        let policy = HealthPolicy {
            cooldown_default: 100 * MS,
            cooldown_max: 1000 * MS,
            breaker_failures,
            breaker_open: 500 * MS,
        };
        (Arc::new(Health::new(policy, t0)), t0)
    }

    fn blocked(until: Instant, throttled: bool) -> Availability {
        Availability::Blocked(Blocked {
            until: Some(until),
            throttled,
        })
    }

    #[test]
    fn a_429_cools_down_for_what_was_asked_within_the_cap() {
        let (h, t0) = health(3);
        h.lease(false).throttled(t0, Some(300 * MS));
        assert_eq!(h.availability(t0 + 299 * MS), blocked(t0 + 300 * MS, true));
        assert_eq!(h.availability(t0 + 300 * MS), Availability::Ready);
        // No header: the default. A day: the cap.
        let t1 = t0 + 1000 * MS;
        h.lease(false).throttled(t1, None);
        assert_eq!(h.availability(t1), blocked(t1 + 100 * MS, true));
        let t2 = t1 + 1000 * MS;
        h.lease(false)
            .throttled(t2, Some(Duration::from_secs(86_400)));
        assert_eq!(h.availability(t2), blocked(t2 + 1000 * MS, true));
        // A shorter answer never shortens a running cooldown.
        h.lease(false).throttled(t2, Some(MS));
        assert_eq!(h.availability(t2 + 500 * MS), blocked(t2 + 1000 * MS, true));
        let v = h.view(t2);
        assert_eq!((v.throttled, v.failures, v.consecutive_failures), (4, 0, 0));
        assert_eq!(v.breaker_open_until, None);
    }

    #[test]
    fn consecutive_failures_open_the_breaker_and_one_probe_decides() {
        let (h, t0) = health(2);
        h.lease(false).failed(t0, None);
        assert_eq!(h.availability(t0), Availability::Ready);
        // A success in between resets the count.
        h.lease(false).answered(t0, 10 * MS);
        h.lease(false).failed(t0, None);
        assert_eq!(h.availability(t0), Availability::Ready);
        h.lease(false).failed(t0, None);
        assert_eq!(h.availability(t0), blocked(t0 + 500 * MS, false));

        // Half-open: exactly one probe.
        let t1 = t0 + 500 * MS;
        assert_eq!(h.availability(t1), Availability::Probe);
        assert!(h.try_probe());
        assert!(!h.try_probe());
        let mut probe = h.lease(true);
        assert_eq!(
            h.availability(t1),
            Availability::Blocked(Blocked {
                until: None,
                throttled: false
            })
        );
        // The probe fails: open again, for a full period from now.
        probe.failed(t1, None);
        drop(probe);
        assert_eq!(h.availability(t1), blocked(t1 + 500 * MS, false));

        // The next probe succeeds: closed.
        let t2 = t1 + 500 * MS;
        assert!(h.try_probe());
        h.lease(true).answered(t2, 20 * MS);
        assert_eq!(h.availability(t2), Availability::Ready);
        let v = h.view(t2);
        assert_eq!(v.breaker_open_until, None);
        assert_eq!((v.failures, v.successes, v.in_flight), (4, 2, 0));
    }

    #[test]
    fn an_abandoned_probe_frees_the_slot() {
        let (h, t0) = health(1);
        h.lease(false).failed(t0, None);
        let t1 = t0 + 500 * MS;
        assert!(h.try_probe());
        drop(h.lease(true));
        assert_eq!(h.availability(t1), Availability::Probe);
    }

    #[test]
    fn a_5xx_with_retry_after_also_cools_down() {
        let (h, t0) = health(0);
        h.lease(false).failed(t0, Some(200 * MS));
        assert_eq!(h.availability(t0), blocked(t0 + 200 * MS, true));
        // Breaker off: failures alone never block.
        for _ in 0..10 {
            h.lease(false).failed(t0, None);
        }
        assert_eq!(h.availability(t0 + 200 * MS), Availability::Ready);
    }

    #[test]
    fn broken_streams_count_toward_the_breaker() {
        let (h, t0) = health(2);
        h.lease(false).finish(true);
        h.lease(false).finish(false);
        assert_eq!(h.view(t0).broken_streams, 1);
        h.lease(false).finish(true);
        assert!(h.view(t0).breaker_open_until.is_some());
    }

    #[test]
    fn in_flight_follows_the_leases() {
        let (h, _) = health(1);
        let a = h.lease(false);
        let b = h.lease(false);
        assert_eq!(h.in_flight(), 2);
        drop(a);
        b.finish(false);
        assert_eq!(h.in_flight(), 0);
    }

    #[test]
    fn latency_is_an_average_that_fades_with_age() {
        let (h, t0) = health(1);
        assert_eq!(h.latency_cost(t0), 0.0);
        h.lease(false).answered(t0, 100 * MS);
        assert!((h.latency_cost(t0) - 100_000.0).abs() < 1.0);
        h.lease(false).answered(t0, 200 * MS);
        assert!((h.latency_cost(t0) - 125_000.0).abs() < 1.0);
        let faded = h.latency_cost(t0 + Duration::from_secs(10));
        assert!(
            (faded - 125_000.0 / std::f64::consts::E).abs() < 1.0,
            "{faded}"
        );
        let view = h.view(t0).latency.unwrap();
        assert_eq!(view.as_millis(), 125);
    }
}
