//! UTC calendar arithmetic for the ledger's timestamps (Unix milliseconds): parsing the
//! `from`/`to` the usage API accepts and formatting RFC 3339. Written out (Howard Hinnant's
//! `days_from_civil`) rather than pulling a date crate in for two conversions.

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01: (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both are small and positive by construction: the casts cannot truncate.
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `2026-11-22T04:46:24.123Z` (always milliseconds, always UTC).
pub fn format_rfc3339_ms(ms: i64) -> String {
    let (y, mo, d) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (h, rest) = (in_day / 3_600_000, in_day % 3_600_000);
    let (mi, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// `20261122T044624Z`: the same instant without the characters file names dislike (`:`), for
/// the CSV download's file name.
pub fn format_compact(ms: i64) -> String {
    let full = format_rfc3339_ms(ms);
    let mut out: String = full[..19]
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    out.push('Z');
    out
}

/// `len` ASCII digits at `at`, as a number.
fn digits(b: &[u8], at: usize, len: usize) -> Option<u32> {
    let part = b.get(at..at + len)?;
    part.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// `YYYY-MM-DD` at the start of `b`, checked: days since the epoch.
fn date(b: &[u8]) -> Option<i64> {
    let (y, m, d) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let y = i64::from(y);
    ((1..=12).contains(&m) && (1..=days_in_month(y, m)).contains(&d))
        .then(|| days_from_civil(y, m, d))
}

/// An instant as the usage API accepts it, in Unix milliseconds:
/// - Unix seconds: `1763786784`;
/// - a date, meaning UTC midnight: `2026-11-22`;
/// - RFC 3339: `2026-11-22T04:46:24Z`, `2026-11-22T06:46:24.5+02:00`. A `+` left unencoded in
///   a query string arrives as a space; a space where the offset's sign belongs is read as `+`.
pub fn parse_instant(text: &str) -> Result<i64, String> {
    const EXPECTED: &str = "expected Unix seconds, a date (YYYY-MM-DD) or an RFC 3339 timestamp (2026-01-31T12:00:00Z)";
    let t = text;
    if !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit()) {
        // Up to year 9999: far beyond any ledger row, far below i64 overflow in milliseconds.
        return t
            .parse::<i64>()
            .ok()
            .filter(|s| *s <= 253_402_300_799)
            .map(|s| s * 1000)
            .ok_or_else(|| format!("`{text}` is out of range: {EXPECTED}"));
    }
    let b = t.as_bytes();
    let bad = || format!("`{text}` is not a valid time: {EXPECTED}");
    let days = date(b).ok_or_else(bad)?;
    if b.len() == 10 {
        return Ok(days * MS_PER_DAY);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return Err(bad());
    }
    let (h, mi) = (
        digits(b, 11, 2).ok_or_else(bad)?,
        digits(b, 14, 2).ok_or_else(bad)?,
    );
    let s = digits(b, 17, 2).ok_or_else(bad)?;
    if b.get(16) != Some(&b':') || h > 23 || mi > 59 || s > 60 {
        return Err(bad());
    }
    // Fraction: any number of digits, kept to the millisecond.
    let mut at = 19;
    let mut milli = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 3 {
                milli = milli * 10 + u32::from(b[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return Err(bad());
        }
        for _ in (at - start)..3 {
            milli *= 10;
        }
    }
    let offset_min = match b.get(at) {
        Some(b'Z' | b'z') if b.len() == at + 1 => 0,
        Some(sign @ (b'+' | b'-' | b' ')) if b.len() == at + 6 && b.get(at + 3) == Some(&b':') => {
            let (oh, om) = (
                digits(b, at + 1, 2).ok_or_else(bad)?,
                digits(b, at + 4, 2).ok_or_else(bad)?,
            );
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let minutes = i64::from(oh * 60 + om);
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return Err(bad()),
    };
    // A leap second (:60) is the last millisecond of its minute's successor; close enough.
    let secs = i64::from(h * 3600 + mi * 60 + s.min(59)) - offset_min * 60;
    Ok(days * MS_PER_DAY + secs * 1000 + i64::from(milli))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_across_eras() {
        for days in [-800_000, -1, 0, 1, 59, 60, 365, 11_016, 20_414, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn formats_utc_with_milliseconds() {
        assert_eq!(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_rfc3339_ms(1_763_786_784_123),
            "2025-11-22T04:46:24.123Z"
        );
        assert_eq!(format_compact(1_763_786_784_123), "20251122T044624Z");
    }

    #[test]
    fn parses_each_accepted_form() {
        let at = 1_763_786_784_000;
        assert_eq!(parse_instant("1763786784"), Ok(at));
        assert_eq!(parse_instant("2025-11-22T04:46:24Z"), Ok(at));
        assert_eq!(parse_instant("2025-11-22t04:46:24z"), Ok(at));
        assert_eq!(parse_instant("2025-11-22T06:46:24+02:00"), Ok(at));
        // The `+` of an unencoded query string decodes to a space.
        assert_eq!(parse_instant("2025-11-22T06:46:24 02:00"), Ok(at));
        assert_eq!(parse_instant("2025-11-21T23:46:24-05:00"), Ok(at));
        assert_eq!(parse_instant("2025-11-22T04:46:24.5Z"), Ok(at + 500));
        assert_eq!(parse_instant("2025-11-22T04:46:24.123456Z"), Ok(at + 123));
        assert_eq!(parse_instant("2025-11-22"), Ok(1_763_769_600_000));
        assert_eq!(parse_instant("1970-01-01"), Ok(0));
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        for bad in [
            "",
            "yesterday",
            "2025-13-01",
            "2025-02-29",
            "2025-11-22T24:00:00Z",
            "2025-11-22T04:46:24",
            "2025-11-22T04:46Z",
            "2025-11-22T04:46:24.Z",
            "2025-11-22T04:46:24+0200",
            "2025-11-22X",
            "-5",
            "99999999999999999999",
        ] {
            assert!(parse_instant(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse_instant("2024-02-29").is_ok());
    }
}
