//! The pause an upstream asks for, read from its own headers.
//!
//! Azure sends `retry-after-ms` and `retry-after` (seconds) on 429s (WIRE-FACTS A5); some of its
//! services send `x-ms-retry-after-ms`; RFC 9110 also allows `retry-after` as an HTTP date. The
//! order is the official SDKs' (`retry-after-ms` first, then `retry-after`), with Azure's
//! `x-ms-` variant between them. Only failed answers are read, so the success path never parses.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// The delay asked for, if any header carries a usable one. `now` is the wall clock an HTTP
/// date is measured from; a date in the past means "now" (zero).
pub fn parse(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(d) = get("retry-after-ms").and_then(millis) {
        return Some(d);
    }
    if let Some(d) = get("x-ms-retry-after-ms").and_then(millis) {
        return Some(d);
    }
    let value = get("retry-after")?;
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A non-negative, finite number of milliseconds (Azure sends integers; fractions are allowed).
fn millis(value: &str) -> Option<Duration> {
    let ms = value.parse::<f64>().ok()?;
    (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    fn at(h: &HeaderMap) -> Option<Duration> {
        parse(h, SystemTime::now())
    }

    #[test]
    fn milliseconds_first_then_azure_variant_then_seconds() {
        let all = h(&[
            ("retry-after", "3"),
            ("x-ms-retry-after-ms", "2500"),
            ("retry-after-ms", "1500"),
        ]);
        assert_eq!(at(&all), Some(Duration::from_millis(1500)));
        let ms_variant = h(&[("retry-after", "3"), ("x-ms-retry-after-ms", "2500")]);
        assert_eq!(at(&ms_variant), Some(Duration::from_millis(2500)));
        assert_eq!(
            at(&h(&[("retry-after", "2")])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            at(&h(&[("retry-after-ms", "12.5")])),
            Some(Duration::from_micros(12_500))
        );
    }

    #[test]
    fn unusable_values_fall_through() {
        assert_eq!(at(&h(&[("retry-after", "soon")])), None);
        assert_eq!(at(&h(&[("retry-after-ms", "-1")])), None);
        assert_eq!(
            at(&h(&[("retry-after-ms", "NaN"), ("retry-after", "4")])),
            Some(Duration::from_secs(4))
        );
        assert_eq!(at(&HeaderMap::new()), None);
    }

    #[test]
    fn http_dates_count_from_now() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_784_000_000);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(
            parse(&h(&[("retry-after", &later)]), now),
            Some(Duration::from_secs(90))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(5));
        assert_eq!(
            parse(&h(&[("retry-after", &earlier)]), now),
            Some(Duration::ZERO)
        );
        // RFC 850 and asctime forms are HTTP dates too.
        assert!(
            parse(
                &h(&[("retry-after", "Sunday, 06-Nov-94 08:49:37 GMT")]),
                now
            )
            .is_some()
        );
    }
}
