//! The clock and the way times are written, in one place that storage and
//! output both reach: the state stamps changes with [`now`], the history
//! journal and the reports write RFC 3339 in UTC with seconds
//! (`2026-11-24T03:14:00Z`, as journald shows them), and durations read the
//! same everywhere (`250ms`, `1.5s`, `45s`, `12m05s`, `3h05m`). The calendar
//! is jiff's; no time-zone database is read here, as everything agent-queue
//! writes is UTC.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Unix seconds now (0 on a clock set before 1970).
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch now, for marks finer than a second.
pub fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// `2026-11-24T03:14:00Z` from Unix seconds (UTC, as journald shows). A time
/// past the calendar's end (late in the year 9999) is written as its end.
pub fn format_utc(secs: u64) -> String {
    let at = i64::try_from(secs)
        .ok()
        .and_then(|s| Timestamp::from_second(s).ok())
        .unwrap_or(Timestamp::MAX);
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Unix seconds from RFC 3339 (`2026-11-24T10:00:00Z`,
/// `2026-11-24T11:00:00.5+01:00`; a space or `t` may stand for the `T`, and
/// the seconds may be left out). `None` when it is not such a time, or is
/// before 1970. A fraction of a second is dropped.
pub fn parse_utc(text: &str) -> Option<u64> {
    let at: Timestamp = text.trim().parse().ok()?;
    u64::try_from(at.as_second()).ok()
}

/// Unix seconds of midnight UTC on a date written `2026-11-24`.
pub fn parse_date(text: &str) -> Option<u64> {
    let text = text.trim();
    // jiff also reads `+002026-11-24` and `20261124`; a date here is the
    // operator's `YYYY-MM-DD` only.
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date: Date = text.parse().ok()?;
    let at = date.to_zoned(TimeZone::UTC).ok()?.timestamp();
    u64::try_from(at.as_second()).ok()
}

/// A duration as agent-queue writes it everywhere: under a minute as the
/// config would (`250ms`, `1.5s`, `45s`), longer in its two largest units
/// (`12m05s`, `3h05m`, `2d03h`).
pub fn format_duration(d: Duration) -> String {
    if d < Duration::from_secs(60) && d.subsec_millis() != 0 {
        return if d < Duration::from_secs(1) {
            format!("{}ms", d.as_millis())
        } else {
            format!("{:.1}s", d.as_secs_f64())
        };
    }
    format_span(d.as_secs())
}

/// Whole seconds in their two largest units: `0s`, `45s`, `12m05s`,
/// `3h05m`, `2d03h`.
pub fn format_span(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_795_490_040), "2026-11-24T03:14:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert!(format_utc(u64::MAX).starts_with("9999-12-"));
    }

    #[test]
    fn rfc3339_parses_back_what_format_utc_writes() {
        for secs in [0, 951_782_400, 1_795_490_040, 4_102_444_799] {
            assert_eq!(parse_utc(&format_utc(secs)), Some(secs));
        }
        let at = 1_795_490_040; // 2026-11-24T03:14:00Z
        assert_eq!(parse_utc("2026-11-24T04:14:00+01:00"), Some(at));
        assert_eq!(parse_utc("2026-11-23T22:14:00-0500"), Some(at));
        assert_eq!(parse_utc("2026-11-24 03:14:00.75z"), Some(at));
        assert_eq!(parse_utc("2026-11-24t03:14Z"), Some(at));
        for bad in [
            "",
            "2026-11-24",
            "2026-11-24T25:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-24T03:14:00",
            "2026-11-24T03:14:00+1",
            "2026-11-24T03:14:00.Z",
            "1969-12-31T23:59:59Z",
            "2026-11-24T03:1é:00Z",
            "yesterday",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_are_midnight_utc() {
        assert_eq!(parse_date("2026-11-24"), Some(1_795_478_400));
        assert_eq!(parse_date("2024-02-29"), parse_utc("2024-02-29T00:00:00Z"));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2026-1-24"), None);
        assert_eq!(parse_date("20261124"), None);
        assert_eq!(parse_date("1969-12-31"), None);
    }

    #[test]
    fn spans_show_their_two_largest_units() {
        assert_eq!(format_span(0), "0s");
        assert_eq!(format_span(45), "45s");
        assert_eq!(format_span(725), "12m05s");
        assert_eq!(format_span(3 * 3600 + 5 * 60 + 59), "3h05m");
        assert_eq!(format_span(2 * 86_400 + 3 * 3600), "2d03h");
    }

    #[test]
    fn durations_under_a_minute_read_as_the_config_writes_them() {
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::from_secs(725)), "12m05s");
        assert_eq!(format_duration(Duration::from_millis(725_400)), "12m05s");
    }
}
