//! Per-request `x-mock-*` headers that override a deployment's [`Behavior`]. Each
//! constant's doc says what its header does; the `--behavior` flag takes the same names
//! without the prefix ([`behavior_spec`]). Booleans are `true`/`false`.

use std::str::FromStr;

use http::HeaderMap;

use crate::config::{Behavior, MockUsage};

/// Force this status (200–599); see [`Behavior::status`].
pub const STATUS: &str = "x-mock-status";
/// `retry-after` seconds on 429 and 5xx answers.
pub const RETRY_AFTER: &str = "x-mock-retry-after";
/// `retry-after-ms` on 429 and 5xx answers.
pub const RETRY_AFTER_MS: &str = "x-mock-retry-after-ms";
/// `x-ms-retry-after-ms` on 429 and 5xx answers.
pub const MS_RETRY_AFTER_MS: &str = "x-mock-ms-retry-after-ms";
/// `true`: `retry-after` as an HTTP date.
pub const RETRY_AFTER_DATE: &str = "x-mock-retry-after-date";
/// `true`: Azure's content-filter 400 (prompt rejected).
pub const CONTENT_FILTER: &str = "x-mock-content-filter";
/// Milliseconds to wait before the response headers.
pub const HEADER_DELAY_MS: &str = "x-mock-header-delay-ms";
/// Milliseconds between streamed events (between frames with [`SPLIT`]).
pub const EVENT_DELAY_MS: &str = "x-mock-event-delay-ms";
/// Abort the connection after this many streamed events.
pub const CUT_AFTER: &str = "x-mock-cut-after";
/// Number of content deltas (and the JSON answer's text length).
pub const EVENTS: &str = "x-mock-events";
/// `prompt,completion,cached,reasoning` token counts.
pub const USAGE: &str = "x-mock-usage";
/// Realtime: close the session with this code after `session.created`.
pub const CLOSE: &str = "x-mock-close";
/// `true`: the model refuses (chat `refusal`, Responses `refusal` part).
pub const REFUSAL: &str = "x-mock-refusal";
/// `true`: the answer ends as filtered (chat `content_filter`, Responses `incomplete`).
pub const FILTER_FINISH: &str = "x-mock-filter-finish";
/// `true`: chat streams carry asynchronous-filter annotation events.
pub const ASYNC_FILTER: &str = "x-mock-async-filter";
/// Re-cut streamed bodies into frames of at most this many bytes (at least 1).
pub const SPLIT: &str = "x-mock-split";

/// `base` with every present `x-mock-*` header applied; the error names the bad header.
pub(crate) fn apply(mut base: Behavior, headers: &HeaderMap) -> Result<Behavior, String> {
    if let Some(status) = parsed::<u16>(headers, STATUS)? {
        if !(200..=599).contains(&status) {
            return Err(format!(
                "{STATUS}: {status} is not a status between 200 and 599"
            ));
        }
        base.status = Some(status);
    }
    if let Some(secs) = parsed(headers, RETRY_AFTER)? {
        base.retry_after_secs = Some(secs);
    }
    if let Some(ms) = parsed(headers, RETRY_AFTER_MS)? {
        base.retry_after_ms = Some(ms);
    }
    if let Some(ms) = parsed(headers, MS_RETRY_AFTER_MS)? {
        base.x_ms_retry_after_ms = Some(ms);
    }
    if let Some(on) = parsed(headers, RETRY_AFTER_DATE)? {
        base.retry_after_as_date = on;
    }
    if let Some(on) = parsed(headers, CONTENT_FILTER)? {
        base.content_filter = on;
    }
    if let Some(ms) = parsed(headers, HEADER_DELAY_MS)? {
        base.header_delay_ms = ms;
    }
    if let Some(ms) = parsed(headers, EVENT_DELAY_MS)? {
        base.event_delay_ms = ms;
    }
    if let Some(n) = parsed(headers, CUT_AFTER)? {
        base.cut_after_events = Some(n);
    }
    if let Some(n) = parsed(headers, EVENTS)? {
        base.content_events = Some(n);
    }
    if let Some(raw) = text(headers, USAGE)? {
        base.usage = Some(usage(raw)?);
    }
    if let Some(code) = parsed::<u16>(headers, CLOSE)? {
        // What a peer may send: 1000–1003, 1007–1014 and the application range.
        if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
            return Err(format!(
                "{CLOSE}: {code} is not a close code a peer may send"
            ));
        }
        base.close_code = Some(code);
    }
    if let Some(on) = parsed(headers, REFUSAL)? {
        base.refusal = on;
    }
    if let Some(on) = parsed(headers, FILTER_FINISH)? {
        base.filter_finish = on;
    }
    if let Some(on) = parsed(headers, ASYNC_FILTER)? {
        base.async_filter = on;
    }
    if let Some(n) = parsed::<usize>(headers, SPLIT)? {
        if n == 0 {
            return Err(format!("{SPLIT}: frames need at least 1 byte"));
        }
        base.split_bytes = Some(n);
    }
    Ok(base)
}

/// A deployment's default behaviour from the mock binary's `--behavior` flag:
/// `DEPLOYMENT:key=value,…`, where each key is an `x-mock-*` header name without the prefix
/// (`status=429,retry-after-ms=500`), so the flag and the headers can never disagree.
pub fn behavior_spec(spec: &str) -> Result<(String, Behavior), String> {
    let (deployment, pairs) = spec
        .split_once(':')
        .filter(|(d, _)| !d.is_empty())
        .ok_or_else(|| format!("--behavior {spec:?}: expected DEPLOYMENT:key=value,..."))?;
    let mut headers = HeaderMap::new();
    for pair in pairs.split(',').filter(|p| !p.trim().is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("--behavior {spec:?}: {pair:?} is not key=value"))?;
        let name = http::HeaderName::try_from(format!("x-mock-{}", key.trim()))
            .map_err(|_| format!("--behavior {spec:?}: bad key {key:?}"))?;
        let value = http::HeaderValue::try_from(value.trim())
            .map_err(|_| format!("--behavior {spec:?}: bad value {value:?}"))?;
        headers.insert(name, value);
    }
    Ok((deployment.to_owned(), apply(Behavior::default(), &headers)?))
}

fn text<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, String> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map(str::trim)
                .map_err(|_| format!("{name}: value is not visible ASCII"))
        })
        .transpose()
}

fn parsed<T: FromStr>(headers: &HeaderMap, name: &str) -> Result<Option<T>, String> {
    text(headers, name)?
        .map(|raw| {
            raw.parse()
                .map_err(|_| format!("{name}: cannot parse {raw:?}"))
        })
        .transpose()
}

/// `prompt,completion,cached,reasoning`.
fn usage(raw: &str) -> Result<MockUsage, String> {
    let numbers = raw
        .split(',')
        .map(|n| n.trim().parse::<u64>())
        .collect::<Result<Vec<_>, _>>();
    match numbers.as_deref() {
        Ok(&[prompt, completion, cached, reasoning]) => Ok(MockUsage {
            prompt,
            completion,
            cached,
            reasoning,
        }),
        _ => Err(format!(
            "{USAGE}: expected prompt,completion,cached,reasoning as four integers, got {raw:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(name: &'static str, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn overrides_field_by_field() {
        let base = Behavior {
            event_delay_ms: 9,
            status: Some(500),
            ..Behavior::default()
        };
        let mut h = with(STATUS, "429");
        h.insert(USAGE, HeaderValue::from_static("1, 2,3,4"));
        h.insert(CONTENT_FILTER, HeaderValue::from_static("true"));
        h.insert(CLOSE, HeaderValue::from_static("4000"));
        let b = apply(base, &h).unwrap();
        assert_eq!(b.close_code, Some(4000));
        assert_eq!(b.status, Some(429));
        assert_eq!(b.event_delay_ms, 9);
        assert!(b.content_filter);
        assert_eq!(
            b.usage,
            Some(MockUsage {
                prompt: 1,
                completion: 2,
                cached: 3,
                reasoning: 4
            })
        );
    }

    #[test]
    fn behavior_spec_reads_header_names() {
        let (name, b) = behavior_spec("throttled:status=429, retry-after-ms=250").unwrap();
        assert_eq!(name, "throttled");
        assert_eq!(b.status, Some(429));
        assert_eq!(b.retry_after_ms, Some(250));
        let (_, b) =
            behavior_spec("d:refusal=true,filter-finish=true,async-filter=true,split=7").unwrap();
        assert!(b.refusal && b.filter_finish && b.async_filter);
        assert_eq!(b.split_bytes, Some(7));
        assert!(behavior_spec("throttled:status").is_err());
        assert!(behavior_spec(":status=429").is_err());
        assert!(behavior_spec("d:status=abc").unwrap_err().contains(STATUS));
    }

    #[test]
    fn rejects_bad_values() {
        for (name, value) in [
            (STATUS, "abc"),
            (STATUS, "99"),
            (CONTENT_FILTER, "yes"),
            (CUT_AFTER, "-1"),
            (MS_RETRY_AFTER_MS, "soon"),
            (RETRY_AFTER_DATE, "1"),
            (USAGE, "1,2,3"),
            (USAGE, "1,2,3,x"),
            (CLOSE, "1006"),
            (CLOSE, "70000"),
            (REFUSAL, "1"),
            (FILTER_FINISH, "yes"),
            (ASYNC_FILTER, "on"),
            (SPLIT, "0"),
            (SPLIT, "-4"),
        ] {
            let err = apply(Behavior::default(), &with(name, value)).unwrap_err();
            assert!(err.starts_with(name), "{err}");
        }
    }
}
