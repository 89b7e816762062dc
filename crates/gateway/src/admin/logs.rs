//! `GET /admin/api/logs`: the admin log ring, filtered, newest first. The parameters are the
//! seed's (`level`, `event`, `modelId`, `requestId`, `keyword`, `since`, `limit`) plus
//! `minLevel` and `model`; a bad value is a 400 naming the parameter, never a silent default.

use std::time::{Duration, SystemTime};

use serde::Serialize;
use tracing::Level;

use crate::error::GatewayError;
use crate::telemetry::logs::query::{self, Query};
use crate::telemetry::logs::{Entry, LogBuffer};

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 500;

#[derive(Serialize)]
pub struct Page<'a> {
    ok: bool,
    /// Entries that matched (before `limit`).
    total: usize,
    limit: usize,
    /// The ring's size (`ADMIN_LOG_BUFFER_SIZE`); 0 when it is off.
    capacity: usize,
    items: Vec<&'a Entry>,
}

/// Answers one query: parses `raw_query`, selects from `buffer`, serializes the page.
pub fn respond(buffer: &LogBuffer, raw_query: Option<&str>) -> Result<Vec<u8>, GatewayError> {
    let q = parse(raw_query.unwrap_or(""))?;
    let (total, items) = query::select(buffer, &q);
    let page = Page {
        ok: true,
        total,
        limit: q.limit,
        capacity: buffer.capacity(),
        items: items.iter().map(|e| &**e).collect(),
    };
    serde_json::to_vec(&page).map_err(|e| GatewayError::Internal(e.to_string()))
}

fn invalid(param: &'static str, message: String) -> GatewayError {
    GatewayError::InvalidRequest {
        message,
        param: Some(param),
        code: "invalid_parameter",
    }
}

/// The filters of a query string. Unknown parameters are ignored (as the seed does); empty
/// ones mean "no filter".
pub fn parse(raw: &str) -> Result<Query, GatewayError> {
    let mut q = Query {
        limit: DEFAULT_LIMIT,
        ..Query::default()
    };
    let mut min_level = None;
    for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match &*name {
            "level" => {
                for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    q.levels.push(level(part).ok_or_else(|| {
                        invalid(
                            "level",
                            format!("unknown level `{part}` (trace, debug, info, warn, error)"),
                        )
                    })?);
                }
            }
            "minLevel" | "min_level" => {
                min_level = Some(level(value).ok_or_else(|| {
                    invalid(
                        "minLevel",
                        format!("unknown level `{value}` (trace, debug, info, warn, error)"),
                    )
                })?);
            }
            "event" => q.event = Some(value.to_owned()),
            "model" | "modelId" => q.model = Some(value.to_owned()),
            "requestId" | "request_id" => q.request_id = Some(value.to_owned()),
            "keyword" | "q" => q.keyword = Some(value.to_ascii_lowercase()),
            "since" => {
                q.since = Some(since(value).ok_or_else(|| {
                    invalid(
                        "since",
                        format!("`{value}` is not an RFC 3339 time or Unix milliseconds"),
                    )
                })?);
            }
            "limit" => {
                q.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        invalid(
                            "limit",
                            format!(
                                "limit must be an integer from 1 to {MAX_LIMIT}, got `{value}`"
                            ),
                        )
                    })?;
            }
            _ => {}
        }
    }
    if let Some(min) = min_level {
        // `level` and `minLevel` together: the listed levels that are at least `min`.
        let all = [
            Level::TRACE,
            Level::DEBUG,
            Level::INFO,
            Level::WARN,
            Level::ERROR,
        ];
        let at_least = all.into_iter().filter(|l| *l <= min);
        q.levels = if q.levels.is_empty() {
            at_least.collect()
        } else {
            at_least.filter(|l| q.levels.contains(l)).collect()
        };
        if q.levels.is_empty() {
            return Err(invalid(
                "minLevel",
                "no level in `level` is at or above `minLevel`".to_owned(),
            ));
        }
    }
    Ok(q)
}

fn level(name: &str) -> Option<Level> {
    match name.to_ascii_lowercase().as_str() {
        "trace" => Some(Level::TRACE),
        "debug" => Some(Level::DEBUG),
        "info" => Some(Level::INFO),
        "warn" | "warning" => Some(Level::WARN),
        "error" | "fatal" => Some(Level::ERROR),
        _ => None,
    }
}

/// RFC 3339 (`2025-01-02T03:04:05Z`, fractions and `±hh:mm` offsets allowed) or Unix ms.
fn since(value: &str) -> Option<SystemTime> {
    if value.bytes().all(|b| b.is_ascii_digit()) {
        let ms = value.parse::<u64>().ok()?;
        return SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(ms));
    }
    // humantime takes UTC (`Z`) only: move an offset into the arithmetic.
    let (utc, offset) = split_offset(value)?;
    let t = humantime::parse_rfc3339(&format!("{utc}Z")).ok()?;
    if offset >= 0 {
        t.checked_sub(Duration::from_secs(offset.unsigned_abs()))
    } else {
        t.checked_add(Duration::from_secs(offset.unsigned_abs()))
    }
}

/// `value` without its zone, and the zone's offset east of UTC in seconds.
fn split_offset(value: &str) -> Option<(&str, i64)> {
    if let Some(utc) = value.strip_suffix('Z').or_else(|| value.strip_suffix('z')) {
        return Some((utc, 0));
    }
    let at = value.len().checked_sub(6)?;
    let (time, zone) = value.split_at(at);
    let sign = match zone.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = zone[1..].split_once(':')?;
    let secs = h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60;
    Some((time, sign * secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_param(raw: &str) -> String {
        match parse(raw) {
            Err(GatewayError::InvalidRequest { param, .. }) => param.unwrap_or("").to_owned(),
            other => panic!("{raw}: {other:?}"),
        }
    }

    #[test]
    fn defaults_and_aliases() {
        let q = parse("").unwrap();
        assert_eq!(q.limit, 100);
        assert!(q.levels.is_empty());
        let q = parse("level=warn,ERROR&modelId=gpt-4o&requestId=r1&keyword=TimeOut&limit=5&x=1")
            .unwrap();
        assert_eq!(q.levels, [Level::WARN, Level::ERROR]);
        assert_eq!(q.model.as_deref(), Some("gpt-4o"));
        assert_eq!(q.request_id.as_deref(), Some("r1"));
        assert_eq!(q.keyword.as_deref(), Some("timeout"));
        assert_eq!(q.limit, 5);
        assert_eq!(parse("model=o3").unwrap().model.as_deref(), Some("o3"));
        assert_eq!(
            parse("minLevel=warn").unwrap().levels,
            [Level::WARN, Level::ERROR]
        );
        assert_eq!(
            parse("level=info,error&minLevel=warn").unwrap().levels,
            [Level::ERROR]
        );
    }

    #[test]
    fn bad_values_name_their_parameter() {
        for (raw, param) in [
            ("limit=0", "limit"),
            ("limit=501", "limit"),
            ("limit=ten", "limit"),
            ("level=loud", "level"),
            ("minLevel=x", "minLevel"),
            ("level=info&minLevel=warn", "minLevel"),
            ("since=yesterday", "since"),
        ] {
            assert_eq!(err_param(raw), param, "{raw}");
        }
        let err = parse("limit=0").unwrap_err();
        assert_eq!(err.code(), "invalid_parameter");
        assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn since_takes_rfc3339_and_unix_ms() {
        let t = |s: &str| {
            parse(&format!("since={}", urlencode(s)))
                .unwrap()
                .since
                .unwrap()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_millis()
        };
        assert_eq!(t("1700000000123"), 1_700_000_000_123);
        assert_eq!(t("2023-11-14T22:13:20Z"), 1_700_000_000_000);
        assert_eq!(t("2023-11-14T22:13:20.5Z"), 1_700_000_000_500);
        assert_eq!(t("2023-11-15T00:13:20+02:00"), 1_700_000_000_000);
        assert_eq!(t("2023-11-14T20:13:20-02:00"), 1_700_000_000_000);
    }

    fn urlencode(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }
}
