//! Per-model usage totals, updated once per request when its body ends.
//!
//! Counters are atomics behind an `Arc` that the model table hands to each request, so the hot
//! path never takes a lock; the map lock is only taken to create a model's counters or to read
//! a snapshot for `/admin/api/stats`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use serde::Serialize;

use crate::stream::Usage;

/// Counters of one model alias.
#[derive(Debug, Default)]
pub struct ModelStats {
    requests: AtomicU64,
    errors: AtomicU64,
    cancelled: AtomicU64,
    prompt: AtomicU64,
    completion: AtomicU64,
    total: AtomicU64,
    cached: AtomicU64,
    reasoning: AtomicU64,
    content_filtered: AtomicU64,
}

/// How one request ended, as far as accounting cares.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RequestRecord {
    pub error: bool,
    pub cancelled: bool,
    pub usage: Option<Usage>,
    /// Azure's content filter refused the prompt or cut the completion.
    pub content_filtered: bool,
}

impl ModelStats {
    pub fn record(&self, rec: RequestRecord) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if rec.error {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        if rec.cancelled {
            self.cancelled.fetch_add(1, Ordering::Relaxed);
        }
        if rec.content_filtered {
            self.content_filtered.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(u) = rec.usage {
            self.prompt.fetch_add(u.prompt, Ordering::Relaxed);
            self.completion.fetch_add(u.completion, Ordering::Relaxed);
            self.total.fetch_add(u.total, Ordering::Relaxed);
            self.cached.fetch_add(u.cached, Ordering::Relaxed);
            self.reasoning.fetch_add(u.reasoning, Ordering::Relaxed);
        }
    }

    /// This model's counters now.
    pub fn totals(&self) -> Totals {
        Totals {
            requests: self.requests.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
            prompt_tokens: self.prompt.load(Ordering::Relaxed),
            completion_tokens: self.completion.load(Ordering::Relaxed),
            total_tokens: self.total.load(Ordering::Relaxed),
            cached_tokens: self.cached.load(Ordering::Relaxed),
            reasoning_tokens: self.reasoning.load(Ordering::Relaxed),
            content_filtered: self.content_filtered.load(Ordering::Relaxed),
        }
    }
}

/// Totals as served by the admin API.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub requests: u64,
    pub errors: u64,
    pub cancelled: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    /// Requests whose prompt or completion Azure's content filter stopped.
    pub content_filtered: u64,
}

impl Totals {
    fn add(&mut self, o: &Self) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.cancelled += o.cancelled;
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
        self.total_tokens += o.total_tokens;
        self.cached_tokens += o.cached_tokens;
        self.reasoning_tokens += o.reasoning_tokens;
        self.content_filtered += o.content_filtered;
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsSnapshot {
    /// RFC 3339, UTC.
    pub started_at: String,
    pub uptime_seconds: u64,
    pub totals: Totals,
    pub per_model: BTreeMap<String, Totals>,
}

/// All models' counters; lives for the process, across config reloads.
#[derive(Debug)]
pub struct Stats {
    started: SystemTime,
    models: RwLock<BTreeMap<String, Arc<ModelStats>>>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            started: SystemTime::now(),
            models: RwLock::default(),
        }
    }
}

impl Stats {
    /// Most distinct model names tracked; names clients make up (with `modelFallback`) beyond
    /// this share one `(other)` entry, so memory stays bounded.
    pub const MAX_MODELS: usize = 1024;

    /// The counters for `model`, created on first use.
    pub fn model(&self, model: &str) -> Arc<ModelStats> {
        if let Ok(map) = self.models.read()
            && let Some(s) = map.get(model)
        {
            return Arc::clone(s);
        }
        match self.models.write() {
            Ok(mut map) => {
                let key = if map.len() >= Self::MAX_MODELS {
                    "(other)"
                } else {
                    model
                };
                Arc::clone(map.entry(key.to_owned()).or_default())
            }
            // A poisoned lock only means another thread panicked mid-insert; counting into a
            // detached counter loses one request's numbers rather than failing the request.
            Err(_) => Arc::default(),
        }
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let mut totals = Totals::default();
        let mut per_model = BTreeMap::new();
        if let Ok(map) = self.models.read() {
            for (name, s) in map.iter() {
                let t = s.totals();
                totals.add(&t);
                per_model.insert(name.clone(), t);
            }
        }
        let uptime = self.started.elapsed().map(|d| d.as_secs()).unwrap_or(0);
        StatsSnapshot {
            started_at: humantime::format_rfc3339_seconds(self.started).to_string(),
            uptime_seconds: uptime,
            totals,
            per_model,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_across_models() {
        let stats = Stats::default();
        let usage = Usage {
            prompt: 10,
            completion: 5,
            total: 15,
            cached: 2,
            reasoning: 1,
        };
        stats.model("a").record(RequestRecord {
            usage: Some(usage),
            ..Default::default()
        });
        stats.model("a").record(RequestRecord {
            error: true,
            ..Default::default()
        });
        stats.model("b").record(RequestRecord {
            cancelled: true,
            usage: Some(usage),
            error: false,
            content_filtered: true,
        });
        let snap = stats.snapshot();
        assert_eq!(snap.totals.requests, 3);
        assert_eq!(snap.totals.errors, 1);
        assert_eq!(snap.totals.cancelled, 1);
        assert_eq!(snap.totals.prompt_tokens, 20);
        assert_eq!(snap.per_model["a"].requests, 2);
        assert_eq!(snap.per_model["a"].cached_tokens, 2);
        assert_eq!(snap.per_model["b"].reasoning_tokens, 1);
        assert_eq!(snap.totals.content_filtered, 1);
        assert!(snap.started_at.ends_with('Z'));
    }
}
