//! Times as operators read them: RFC 3339 in UTC with seconds
//! (`2026-11-24T03:14:00Z`, as journald and the history journal show them),
//! and short spans (`45s`, `12m30s`, `3h05m`). No time-zone database is
//! read: everything agent-queue writes is UTC.

/// `2026-11-24T03:14:00Z` from Unix seconds (UTC, as journald shows).
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Unix seconds from RFC 3339 (`2026-11-24T10:00:00Z`,
/// `2026-11-24T11:00:00.5+01:00`; a space or `t` may stand for the `T`, and
/// the seconds may be left out). `None` when it is not such a time, or is
/// before 1970.
pub fn parse_utc(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.len() < 16 || !text.is_char_boundary(10) {
        return None;
    }
    let (date, rest) = text.split_at(10);
    let days = parse_date_days(date)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    // The offset: Z, or +HH:MM / -HH:MM (or without the colon).
    let (clock, offset) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (c, off) = rest.split_at(at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let digits: String = off[1..].chars().filter(|c| *c != ':').collect();
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (h, m) = (num(&digits[..2], 23)?, num(&digits[2..], 59)?);
        (c, sign * (h * 3600 + m * 60))
    };
    let mut parts = clock.splitn(3, ':');
    let hour = num(parts.next()?, 23)?;
    let minute = num(parts.next()?, 59)?;
    let second = match parts.next() {
        None => 0,
        Some(s) => {
            // A fraction of a second is dropped.
            let whole = s.split_once(['.', ',']).map_or(s, |(w, frac)| {
                if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
                    "x" // not a number: refused below
                } else {
                    w
                }
            });
            num(whole, 60)?
        }
    };
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(secs).ok()
}

/// Unix seconds of midnight UTC on a date written `2026-11-24`.
pub fn parse_date(text: &str) -> Option<u64> {
    u64::try_from(parse_date_days(text.trim())? * 86_400).ok()
}

fn parse_date_days(date: &str) -> Option<i64> {
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = num(&date[..4], 9999)?;
    let month = num(&date[5..7], 12)?;
    let day = num(&date[8..], 31)?;
    if month == 0 || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// A number of exactly the digits given, at most `max`.
fn num(text: &str, max: i64) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|n| *n <= max)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day since 1970-01-01 (the inverse of the above).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// A span in its two largest units: `0s`, `45s`, `12m05s`, `3h05m`, `2d03h`.
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
    }

    #[test]
    fn spans_show_their_two_largest_units() {
        assert_eq!(format_span(0), "0s");
        assert_eq!(format_span(45), "45s");
        assert_eq!(format_span(725), "12m05s");
        assert_eq!(format_span(3 * 3600 + 5 * 60 + 59), "3h05m");
        assert_eq!(format_span(2 * 86_400 + 3 * 3600), "2d03h");
    }
}
