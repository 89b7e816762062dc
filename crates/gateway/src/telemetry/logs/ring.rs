//! The admin log ring: the last N log entries, kept in memory for `GET /admin/api/logs`.
//!
//! Memory is bounded by construction: a `VecDeque` allocated at its capacity and never grown,
//! holding pointers. The lock is held only to push one pointer or to copy the pointers out;
//! entries are built before it is taken (or, for `request.completed`, on first read) and
//! filtered and serialized after it is released.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use serde::ser::{SerializeMap, Serializer};
use tracing::Level;

use super::completed;
use super::fields::{Fields, Value};
use crate::telemetry::Record;

/// `ADMIN_LOG_BUFFER_SIZE` when unset (the seed's default).
pub const DEFAULT_CAPACITY: usize = 1000;

/// One log entry as the admin API shows it. The fields the seed's entries have at the top
/// level are lifted out of the event's fields; the rest stay in `fields`.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Monotonic, assigned when the entry enters the ring.
    pub id: u64,
    pub ts: SystemTime,
    pub level: Level,
    /// The module the event came from (or a `log` record's target).
    pub target: Cow<'static, str>,
    /// The `event` field (`request.completed`); the target when the event has none.
    pub event: Box<str>,
    pub message: Box<str>,
    pub request_id: Option<Box<str>>,
    pub upstream_request_id: Option<Box<str>>,
    pub model: Option<Box<str>>,
    /// The `operation` (or `route`) field: the route key, `chat/completions`, …
    pub route: Option<Box<str>>,
    pub status: Option<u64>,
    pub error_code: Option<Box<str>>,
    pub latency_ms: Option<u64>,
    pub fields: Vec<(&'static str, Value)>,
}

impl Entry {
    /// From an event's (redacted) fields; `spans` holds the enclosing spans' fields, innermost
    /// first, which fill in what the event itself does not say (its `request_id`).
    pub fn new(
        level: Level,
        target: Cow<'static, str>,
        event: Fields,
        spans: &[&Fields],
        ts: SystemTime,
    ) -> Self {
        let mut entry = Entry {
            id: 0,
            ts,
            level,
            target,
            event: Box::from(""),
            message: event.message.unwrap_or_default(),
            request_id: None,
            upstream_request_id: None,
            model: None,
            route: None,
            status: None,
            error_code: None,
            latency_ms: None,
            fields: Vec::with_capacity(event.list.len()),
        };
        let mut event_name = None;
        for (name, value) in event.list {
            entry.lift(name, value, &mut event_name);
        }
        for span in spans {
            for (name, value) in &span.list {
                let seen = entry.fields.iter().any(|(n, _)| n == name);
                if !seen && !entry.has_top(name) {
                    entry.lift(name, value.clone(), &mut event_name);
                }
            }
        }
        entry.event = event_name.unwrap_or_else(|| Box::from(&*entry.target));
        entry
    }

    /// Whether a top-level slot for field `name` is already filled.
    fn has_top(&self, name: &str) -> bool {
        match name {
            "request_id" => self.request_id.is_some(),
            "upstream_request_id" => self.upstream_request_id.is_some(),
            "model" => self.model.is_some(),
            "operation" | "route" => self.route.is_some(),
            "status" => self.status.is_some(),
            "error_code" => self.error_code.is_some(),
            "latency_ms" => self.latency_ms.is_some(),
            _ => false,
        }
    }

    fn lift(&mut self, name: &'static str, value: Value, event: &mut Option<Box<str>>) {
        let text = |v: &Value| v.as_str().map(Box::from);
        let slot = match name {
            "event" => event,
            "request_id" => &mut self.request_id,
            "upstream_request_id" => &mut self.upstream_request_id,
            "model" => &mut self.model,
            "operation" | "route" => &mut self.route,
            "error_code" => &mut self.error_code,
            "status" if value.as_u64().is_some() => {
                self.status = value.as_u64();
                return;
            }
            "latency_ms" if value.as_u64().is_some() => {
                self.latency_ms = value.as_u64();
                return;
            }
            _ => {
                self.fields.push((name, value));
                return;
            }
        };
        match text(&value) {
            Some(s) if slot.is_none() => *slot = Some(s),
            _ => self.fields.push((name, value)),
        }
    }

    /// Every text the `keyword` filter searches: message, event and all field values.
    pub fn matches_keyword(&self, needle: &str) -> bool {
        use super::fields::contains_ci;
        let top = [
            Some(&*self.message),
            Some(&*self.event),
            self.request_id.as_deref(),
            self.upstream_request_id.as_deref(),
            self.model.as_deref(),
            self.route.as_deref(),
            self.error_code.as_deref(),
        ];
        top.into_iter().flatten().any(|s| contains_ci(s, needle))
            || self
                .status
                .is_some_and(|s| contains_ci(&s.to_string(), needle))
            || self.fields.iter().any(|(_, v)| v.contains_ci(needle))
    }
}

/// Lowercase level names, as the admin API and JSON logs spell them.
pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

impl serde::Serialize for Entry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Map<'a>(&'a [(&'static str, Value)]);
        impl serde::Serialize for Map<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (k, v) in self.0 {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(15))?;
        m.serialize_entry("id", &self.id)?;
        let ts = humantime::format_rfc3339_millis(self.ts).to_string();
        m.serialize_entry("ts", &ts)?;
        m.serialize_entry("level", level_name(self.level))?;
        m.serialize_entry("event", &*self.event)?;
        m.serialize_entry("message", &*self.message)?;
        m.serialize_entry("target", &*self.target)?;
        m.serialize_entry("requestId", &self.request_id)?;
        m.serialize_entry("upstreamRequestId", &self.upstream_request_id)?;
        m.serialize_entry("model", &self.model)?;
        m.serialize_entry("route", &self.route)?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("errorCode", &self.error_code)?;
        m.serialize_entry("latencyMs", &self.latency_ms)?;
        m.serialize_entry("fields", &Map(&self.fields))?;
        m.end()
    }
}

/// What the ring holds: an entry, or a `request.completed` record whose entry is built on
/// first read (see [`super::completed`]).
enum Slot {
    Entry(Arc<Entry>),
    Completed(Arc<Completed>),
}

struct Completed {
    id: u64,
    ts: SystemTime,
    level: Level,
    rec: Record,
    /// The entry, once a read has built it.
    entry: OnceLock<Arc<Entry>>,
}

impl Slot {
    fn entry(&self) -> Arc<Entry> {
        match self {
            Slot::Entry(e) => Arc::clone(e),
            Slot::Completed(c) => Arc::clone(c.entry.get_or_init(|| {
                let mut e = completed::entry(&c.rec, c.level, c.ts);
                e.id = c.id;
                Arc::new(e)
            })),
        }
    }
}

struct Ring {
    next_id: u64,
    entries: VecDeque<Slot>,
}

/// The most recent log entries, for `/admin/api/logs`. Capacity 0 keeps nothing.
#[derive(Debug)]
pub struct LogBuffer {
    capacity: usize,
    ring: Mutex<Ring>,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("next_id", &self.next_id)
            .field("len", &self.entries.len())
            .finish()
    }
}

impl Default for LogBuffer {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl LogBuffer {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ring: Mutex::new(Ring {
                next_id: 1,
                entries: VecDeque::with_capacity(capacity),
            }),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Adds an entry (evicting the oldest when full) and gives it the next id.
    pub fn push(&self, mut entry: Entry) {
        self.insert(|id| {
            entry.id = id;
            Slot::Entry(Arc::new(entry))
        });
    }

    /// Adds a finished request's `request.completed` entry, kept as its record until read.
    pub fn push_completed(&self, level: Level, rec: Record) {
        self.insert(|id| {
            Slot::Completed(Arc::new(Completed {
                id,
                ts: SystemTime::now(),
                level,
                rec,
                entry: OnceLock::new(),
            }))
        });
    }

    fn insert(&self, make: impl FnOnce(u64) -> Slot) {
        if self.capacity == 0 {
            return;
        }
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = make(ring.next_id);
        ring.next_id += 1;
        // The evicted slot is freed after the lock is released.
        let old = if ring.entries.len() == self.capacity {
            ring.entries.pop_front()
        } else {
            None
        };
        ring.entries.push_back(slot);
        drop(ring);
        drop(old);
    }

    /// How many held slots are `request.completed` records not yet built into entries.
    #[cfg(test)]
    pub(crate) fn unbuilt(&self) -> usize {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        ring.entries
            .iter()
            .filter(|s| matches!(s, Slot::Completed(c) if c.entry.get().is_none()))
            .count()
    }

    /// The entries, oldest first. Only pointers are copied under the lock; entries not read
    /// before are built after it is released.
    pub fn snapshot(&self) -> Vec<Arc<Entry>> {
        let slots: Vec<Slot> = {
            let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
            ring.entries
                .iter()
                .map(|slot| match slot {
                    Slot::Entry(e) => Slot::Entry(Arc::clone(e)),
                    Slot::Completed(c) => Slot::Completed(Arc::clone(c)),
                })
                .collect()
        };
        slots.iter().map(Slot::entry).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(message: &str) -> Entry {
        let fields = Fields {
            message: Some(message.into()),
            list: vec![],
        };
        Entry::new(Level::INFO, "t".into(), fields, &[], SystemTime::now())
    }

    #[test]
    fn evicts_the_oldest_and_numbers_monotonically() {
        let buf = LogBuffer::new(3);
        for i in 0..5 {
            buf.push(entry(&format!("m{i}")));
        }
        let all = buf.snapshot();
        let got: Vec<(u64, &str)> = all.iter().map(|e| (e.id, &*e.message)).collect();
        assert_eq!(got, [(3, "m2"), (4, "m3"), (5, "m4")]);
        assert_eq!(
            buf.ring.lock().unwrap().entries.capacity(),
            3,
            "never grown"
        );
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let buf = LogBuffer::new(0);
        buf.push(entry("m"));
        assert!(buf.snapshot().is_empty());
    }

    #[test]
    fn known_fields_are_lifted_and_spans_fill_in() {
        let event = Fields {
            message: Some("request completed".into()),
            list: vec![
                ("event", Value::Str("request.completed".into())),
                ("model", Value::Str("gpt-4o".into())),
                ("operation", Value::Str("chat/completions".into())),
                ("status", Value::U64(200)),
                ("latency_ms", Value::U64(12)),
                ("key", Value::Str("team-a".into())),
            ],
        };
        let span = Fields {
            message: None,
            list: vec![
                ("request_id", Value::Str("req-1".into())),
                ("model", Value::Str("ignored".into())),
            ],
        };
        let e = Entry::new(
            Level::INFO,
            "t".into(),
            event,
            &[&span],
            SystemTime::UNIX_EPOCH,
        );
        assert_eq!(&*e.event, "request.completed");
        assert_eq!(e.request_id.as_deref(), Some("req-1"));
        assert_eq!(
            e.model.as_deref(),
            Some("gpt-4o"),
            "the event's own field wins"
        );
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["ts"], "1970-01-01T00:00:00.000Z");
        assert_eq!(json["level"], "info");
        assert_eq!(json["route"], "chat/completions");
        assert_eq!(json["status"], 200);
        assert_eq!(json["latencyMs"], 12);
        assert_eq!(json["requestId"], "req-1");
        assert_eq!(json["errorCode"], serde_json::Value::Null);
        assert_eq!(json["fields"], serde_json::json!({"key": "team-a"}));
        assert!(e.matches_keyword("team-"));
        assert!(e.matches_keyword("completed"));
        assert!(!e.matches_keyword("nothing"));
        let plain = entry("x");
        assert_eq!(&*plain.event, "t", "no event field: the target");
    }
}
