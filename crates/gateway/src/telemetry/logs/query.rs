//! Filtering the ring for `GET /admin/api/logs`. Parsing the HTTP parameters (and refusing bad
//! ones) is the admin handler's job; this is the matching, done on a snapshot outside the lock.

use std::sync::Arc;
use std::time::SystemTime;

use tracing::Level;

use super::ring::{Entry, LogBuffer};

/// What the caller asked for; every filter that is set must match.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Levels to keep (`level=warn,error`, or every level at or above `minLevel`); empty: all.
    pub levels: Vec<Level>,
    /// `event`: exact; or a prefix, with a trailing `*` (`request.*`) or at a dot
    /// (`request` matches `request.completed`).
    pub event: Option<String>,
    pub model: Option<String>,
    pub request_id: Option<String>,
    /// Lowercase; matched case-insensitively against message, event and field values.
    pub keyword: Option<String>,
    /// Entries at or after this time.
    pub since: Option<SystemTime>,
    pub limit: usize,
}

/// Matching entries, newest first: how many matched, and the first `limit` of them.
pub fn select(buf: &LogBuffer, q: &Query) -> (usize, Vec<Arc<Entry>>) {
    let mut total = 0;
    let mut items = Vec::with_capacity(q.limit.min(buf.capacity()));
    for entry in buf.snapshot().into_iter().rev() {
        if q.matches(&entry) {
            total += 1;
            if items.len() < q.limit {
                items.push(entry);
            }
        }
    }
    (total, items)
}

impl Query {
    pub fn matches(&self, e: &Entry) -> bool {
        (self.levels.is_empty() || self.levels.contains(&e.level))
            && self
                .event
                .as_deref()
                .is_none_or(|f| event_matches(&e.event, f))
            && self
                .model
                .as_deref()
                .is_none_or(|m| e.model.as_deref() == Some(m))
            && self
                .request_id
                .as_deref()
                .is_none_or(|r| e.request_id.as_deref() == Some(r))
            && self.since.is_none_or(|t| e.ts >= t)
            && self.keyword.as_deref().is_none_or(|k| e.matches_keyword(k))
    }
}

fn event_matches(event: &str, filter: &str) -> bool {
    if let Some(prefix) = filter.strip_suffix('*') {
        return event.starts_with(prefix);
    }
    event == filter
        || event
            .strip_prefix(filter)
            .is_some_and(|rest| rest.starts_with('.') || filter.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::telemetry::logs::fields::{Fields, Value};

    fn push(buf: &LogBuffer, level: Level, event: &str, model: &str, rid: &str, at_ms: u64) {
        let fields = Fields {
            message: Some(format!("{event} for {model}").into()),
            list: vec![
                ("event", Value::Str(event.into())),
                ("model", Value::Str(model.into())),
                ("request_id", Value::Str(rid.into())),
                ("upstream", Value::Str("East-US".into())),
            ],
        };
        let ts = SystemTime::UNIX_EPOCH + Duration::from_millis(at_ms);
        buf.push(Entry::new(level, "t".into(), fields, &[], ts));
    }

    fn sample() -> LogBuffer {
        let buf = LogBuffer::new(10);
        push(&buf, Level::INFO, "request.completed", "gpt-4o", "r1", 1000);
        push(&buf, Level::WARN, "request.completed", "gpt-4o", "r2", 2000);
        push(&buf, Level::ERROR, "upstream.failed", "o3", "r3", 3000);
        push(&buf, Level::DEBUG, "requests.other", "o3", "r4", 4000);
        buf
    }

    fn ids(buf: &LogBuffer, q: Query) -> (usize, Vec<&'static str>) {
        let (total, items) = select(buf, &Query { limit: 100, ..q });
        let names = items
            .iter()
            .map(|e| match e.request_id.as_deref() {
                Some("r1") => "r1",
                Some("r2") => "r2",
                Some("r3") => "r3",
                _ => "r4",
            })
            .collect();
        (total, names)
    }

    #[test]
    fn no_filter_is_everything_newest_first() {
        assert_eq!(ids(&sample(), Query::default()).1, ["r4", "r3", "r2", "r1"]);
    }

    #[test]
    fn levels() {
        let q = Query {
            levels: vec![Level::WARN, Level::ERROR],
            ..Query::default()
        };
        assert_eq!(ids(&sample(), q).1, ["r3", "r2"]);
    }

    #[test]
    fn events_exact_dotted_prefix_and_glob() {
        let q = |e: &str| Query {
            event: Some(e.to_owned()),
            ..Query::default()
        };
        let buf = sample();
        assert_eq!(ids(&buf, q("request.completed")).1, ["r2", "r1"]);
        assert_eq!(
            ids(&buf, q("request")).1,
            ["r2", "r1"],
            "not requests.other"
        );
        assert_eq!(ids(&buf, q("request.")).1, ["r2", "r1"]);
        assert_eq!(ids(&buf, q("request*")).1, ["r4", "r2", "r1"]);
        assert_eq!(ids(&buf, q("request.comp")).0, 0);
    }

    #[test]
    fn model_request_id_keyword_and_since() {
        let buf = sample();
        let q = Query {
            model: Some("o3".into()),
            ..Query::default()
        };
        assert_eq!(ids(&buf, q).1, ["r4", "r3"]);
        let q = Query {
            request_id: Some("r2".into()),
            ..Query::default()
        };
        assert_eq!(ids(&buf, q).1, ["r2"]);
        let q = Query {
            keyword: Some("east-us".into()),
            since: Some(SystemTime::UNIX_EPOCH + Duration::from_millis(2000)),
            ..Query::default()
        };
        assert_eq!(ids(&buf, q).1, ["r4", "r3", "r2"]);
        let q = Query {
            keyword: Some("upstream.FAILED".to_lowercase()),
            ..Query::default()
        };
        assert_eq!(ids(&buf, q).1, ["r3"]);
    }

    #[test]
    fn limit_cuts_items_not_total() {
        let (total, items) = select(
            &sample(),
            &Query {
                limit: 2,
                ..Query::default()
            },
        );
        assert_eq!(total, 4);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].request_id.as_deref(), Some("r4"));
    }
}
