//! The per-request series and how one [`Record`] updates them.
//!
//! Four label groups, each in its own [`Index`] with its own cap:
//! - requests `{model, deployment, operation, status, error_class}`: the request, cancelled
//!   and content-filtered counters;
//! - routes `{model, deployment}`: time to first token and upstream latency;
//! - models `{model}`: gateway overhead and total duration;
//! - tokens `{key, model}`: prompt, completion, cached and reasoning tokens.
//!
//! A request series points at its route series and a route series at its model series, so the
//! common request is one lookup for all its counters and histograms, plus one for its tokens.
//!
//! Cardinality is bounded: label values come from the config (models, keys, deployments) but
//! also from clients (model names under `modelFallback`, passthrough keys). When a group holds
//! its cap of series, a new label set is folded into a series whose client-chosen labels are
//! `(other)` (bounded labels — operation, status, error class — are kept), so memory and
//! scrape size stay bounded whatever clients send. Series are never removed: counters must not
//! go backwards while the process lives.

use std::hash::{Hash, Hasher};

use foldhash::fast::FoldHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::histogram::{self, Histogram};
use super::index::Index;
use crate::stream::Usage;
use crate::telemetry::{ErrorClass, Record};

/// The label value that stands for every label set beyond a cap.
pub const OTHER: &str = "(other)";

/// Most series per label group; beyond, new label sets fold into `(other)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub models: usize,
    pub routes: usize,
    pub requests: usize,
    pub tokens: usize,
}

impl Default for Limits {
    /// Room for hundreds of models and deployments and thousands of keys, while the worst-case
    /// scrape stays a few MB (each model or route carries two ~15-line histograms).
    fn default() -> Self {
        Self {
            models: 256,
            routes: 512,
            requests: 4096,
            tokens: 4096,
        }
    }
}

/// A label group: how its probe (borrowed label values) is hashed, matched and folded.
pub(super) trait Labels {
    type Probe<'a>: Copy;
    fn feed(p: &Self::Probe<'_>, h: &mut FoldHasher<'_>);
    fn is(&self, p: &Self::Probe<'_>) -> bool;
    /// The probe with its client-chosen labels replaced by [`OTHER`].
    fn fold<'a>(p: Self::Probe<'a>) -> Self::Probe<'a>;
}

fn hash_of<S: Labels>(index: &Index<S>, p: &S::Probe<'_>) -> u64 {
    let mut h = index.hasher();
    S::feed(p, &mut h);
    h.finish()
}

/// Runs `f` on the series of `probe` (or, beyond the cap, of its folded labels). The hit path
/// takes no lock and allocates nothing; a miss creates the series with `make(probe, folded)`.
fn with_series<'a, S: Labels, R>(
    index: &Index<S>,
    cap: usize,
    probe: S::Probe<'a>,
    f: impl Fn(&S) -> R,
    make: impl Fn(S::Probe<'a>, bool) -> S,
) -> Option<R> {
    let h = hash_of(index, &probe);
    if let Some(r) = index.with(h, |s| s.is(&probe), &f) {
        return Some(r);
    }
    if index.len() >= cap {
        // Full: the folded series is the answer, and usually exists already.
        let folded = S::fold(probe);
        if let Some(r) = index.with(hash_of(index, &folded), |s| s.is(&folded), &f) {
            return Some(r);
        }
    }
    resolve(index, cap, probe, make).map(|s| f(&s))
}

/// The series of `probe`, created if needed, folded beyond the cap.
fn resolve<'a, S: Labels>(
    index: &Index<S>,
    cap: usize,
    probe: S::Probe<'a>,
    make: impl Fn(S::Probe<'a>, bool) -> S,
) -> Option<Arc<S>> {
    let h = hash_of(index, &probe);
    if let Ok(s) = index.get_or_insert(h, |s| s.is(&probe), || make(probe, false), cap) {
        return Some(s);
    }
    let folded = S::fold(probe);
    let hf = hash_of(index, &folded);
    // Folded series are few (one per operation, status and class at most): never capped.
    index
        .get_or_insert(hf, |s| s.is(&folded), || make(folded, true), usize::MAX)
        .ok()
}

#[derive(Debug)]
pub(super) struct ModelSeries {
    pub model: Arc<str>,
    pub overhead: Histogram,
    pub duration: Histogram,
}

impl Labels for ModelSeries {
    type Probe<'a> = &'a str;
    fn feed(p: &&str, h: &mut FoldHasher<'_>) {
        p.hash(h);
    }
    fn is(&self, p: &&str) -> bool {
        *self.model == **p
    }
    fn fold<'a>(_: Self::Probe<'a>) -> Self::Probe<'a> {
        OTHER
    }
}

#[derive(Debug)]
pub(super) struct RouteSeries {
    pub model: Arc<str>,
    pub deployment: Arc<str>,
    pub ttft: Histogram,
    pub upstream: Histogram,
    /// `None` for the folded series, whose requests belong to many models.
    model_series: Option<Arc<ModelSeries>>,
}

impl Labels for RouteSeries {
    type Probe<'a> = (&'a str, &'a str);
    fn feed(p: &(&str, &str), h: &mut FoldHasher<'_>) {
        p.hash(h);
    }
    fn is(&self, p: &(&str, &str)) -> bool {
        *self.model == *p.0 && *self.deployment == *p.1
    }
    fn fold<'a>(_: Self::Probe<'a>) -> Self::Probe<'a> {
        (OTHER, OTHER)
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct RequestProbe<'a> {
    model: &'a str,
    deployment: &'a str,
    operation: &'static str,
    status: u16,
    class: ErrorClass,
}

#[derive(Debug)]
pub(super) struct RequestSeries {
    pub model: Arc<str>,
    pub deployment: Arc<str>,
    pub operation: &'static str,
    pub status: u16,
    pub class: ErrorClass,
    pub requests: AtomicU64,
    pub cancelled: AtomicU64,
    pub content_filtered: AtomicU64,
    /// `None` for folded series, whose requests belong to many routes.
    route: Option<Arc<RouteSeries>>,
}

impl Labels for RequestSeries {
    type Probe<'a> = RequestProbe<'a>;
    fn feed(p: &RequestProbe<'_>, h: &mut FoldHasher<'_>) {
        (p.model, p.deployment, p.operation, p.status).hash(h);
        h.write_u8(p.class as u8);
    }
    fn is(&self, p: &RequestProbe<'_>) -> bool {
        self.status == p.status
            && self.class == p.class
            && self.operation == p.operation
            && *self.model == *p.model
            && *self.deployment == *p.deployment
    }
    fn fold<'a>(p: Self::Probe<'a>) -> Self::Probe<'a> {
        RequestProbe {
            model: OTHER,
            deployment: OTHER,
            ..p
        }
    }
}

#[derive(Debug)]
pub(super) struct TokenSeries {
    pub key: Arc<str>,
    pub model: Arc<str>,
    pub prompt: AtomicU64,
    pub completion: AtomicU64,
    pub cached: AtomicU64,
    pub reasoning: AtomicU64,
}

impl Labels for TokenSeries {
    type Probe<'a> = (&'a str, &'a str);
    fn feed(p: &(&str, &str), h: &mut FoldHasher<'_>) {
        p.hash(h);
    }
    fn is(&self, p: &(&str, &str)) -> bool {
        *self.key == *p.0 && *self.model == *p.1
    }
    fn fold<'a>(_: Self::Probe<'a>) -> Self::Probe<'a> {
        (OTHER, OTHER)
    }
}

impl TokenSeries {
    fn add(&self, u: &Usage) {
        // Cached and reasoning counts are often 0: skip the atomic then.
        for (counter, n) in [
            (&self.prompt, u.prompt),
            (&self.completion, u.completion),
            (&self.cached, u.cached),
            (&self.reasoning, u.reasoning),
        ] {
            if n != 0 {
                counter.fetch_add(n, Relaxed);
            }
        }
    }
}

/// Every per-request series.
#[derive(Debug, Default)]
pub(super) struct Families {
    pub limits: Limits,
    pub models: Index<ModelSeries>,
    pub routes: Index<RouteSeries>,
    pub requests: Index<RequestSeries>,
    pub tokens: Index<TokenSeries>,
}

impl Families {
    pub(super) fn new(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    pub(super) fn observe(&self, rec: &Record) {
        let probe = RequestProbe {
            model: &rec.model,
            deployment: rec.deployment.as_deref().unwrap_or(""),
            operation: rec.operation,
            status: rec.status,
            class: rec.error_class,
        };
        let cap = self.limits.requests;
        with_series(
            &self.requests,
            cap,
            probe,
            |s| self.count(s, rec),
            |p, folded| self.new_request(p, folded),
        );
        if let Some(u) = &rec.usage {
            let key = rec.key.as_deref().unwrap_or("");
            let cap = self.limits.tokens;
            with_series(
                &self.tokens,
                cap,
                (key, &*rec.model),
                |s| s.add(u),
                |(key, model), _| TokenSeries {
                    key: key.into(),
                    model: model.into(),
                    prompt: AtomicU64::new(0),
                    completion: AtomicU64::new(0),
                    cached: AtomicU64::new(0),
                    reasoning: AtomicU64::new(0),
                },
            );
        }
    }

    fn count(&self, s: &RequestSeries, rec: &Record) {
        s.requests.fetch_add(1, Relaxed);
        if rec.cancelled {
            s.cancelled.fetch_add(1, Relaxed);
        }
        if rec.content_filtered {
            s.content_filtered.fetch_add(1, Relaxed);
        }
        match &s.route {
            Some(route) => self.time_route(route, rec),
            None => {
                let deployment = rec.deployment.as_deref().unwrap_or("");
                with_series(
                    &self.routes,
                    self.limits.routes,
                    (&*rec.model, deployment),
                    |r| self.time_route(r, rec),
                    |p, folded| self.new_route(p, folded),
                );
            }
        }
    }

    fn time_route(&self, r: &RouteSeries, rec: &Record) {
        if let Some(d) = rec.ttft {
            r.ttft.observe(d);
        }
        if let Some(d) = rec.upstream_latency {
            r.upstream.observe(d);
        }
        let time_model = |m: &ModelSeries| {
            if let Some(d) = rec.overhead {
                m.overhead.observe(d);
            }
            m.duration.observe(rec.latency);
        };
        match &r.model_series {
            Some(m) => time_model(m),
            None => {
                let cap = self.limits.models;
                with_series(&self.models, cap, &*rec.model, time_model, |p, _| {
                    self.new_model(p)
                });
            }
        }
    }

    fn new_model(&self, model: &str) -> ModelSeries {
        ModelSeries {
            model: model.into(),
            overhead: Histogram::new(&histogram::OVERHEAD),
            duration: Histogram::new(&histogram::DURATION),
        }
    }

    fn new_route(&self, (model, deployment): (&str, &str), folded: bool) -> RouteSeries {
        let cap = self.limits.models;
        RouteSeries {
            model: model.into(),
            deployment: deployment.into(),
            ttft: Histogram::new(&histogram::UPSTREAM),
            upstream: Histogram::new(&histogram::UPSTREAM),
            model_series: if folded {
                None
            } else {
                resolve(&self.models, cap, model, |p, _| self.new_model(p))
            },
        }
    }

    fn new_request(&self, p: RequestProbe<'_>, folded: bool) -> RequestSeries {
        let cap = self.limits.routes;
        RequestSeries {
            model: p.model.into(),
            deployment: p.deployment.into(),
            operation: p.operation,
            status: p.status,
            class: p.class,
            requests: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            content_filtered: AtomicU64::new(0),
            route: if folded {
                None
            } else {
                resolve(&self.routes, cap, (p.model, p.deployment), |p, f| {
                    self.new_route(p, f)
                })
            },
        }
    }
}
