//! RFC 3339 timestamps as Step Functions prints and parses them. The shape is checked here, byte by
//! byte (chrono's own RFC 3339 parser accepts a lowercase `t` or a space); chrono does the calendar.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// Formats like GetExecutionHistory's JSON: `2024-01-02T03:04:05.678Z`. Beyond chrono's range
/// (some 262,000 years either way, which no clock or wait reaches) the nearest instant it holds.
pub fn format_millis(ms: Millis) -> String {
    let t = match DateTime::from_timestamp_millis(ms) {
        Some(t) => t.naive_utc(),
        None if ms < 0 => NaiveDateTime::MIN,
        None => NaiveDateTime::MAX,
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.and_utc().timestamp_subsec_millis()
    )
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let slice = b.get(at..at + n)?;
    let mut v = 0i64;
    for c in slice {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// Parses an RFC 3339 timestamp (`T` separator, `Z` or `±hh:mm` offset, optional
/// fraction). ASL requires the uppercase `T` and an explicit offset, so anything
/// looser is rejected: a Choice `Timestamp*` rule on such a value is then false.
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    let b = s.as_bytes();
    let y = digits(b, 0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || b.get(10) != Some(&b'T') {
        return None;
    }
    let mo = digits(b, 5, 2)?;
    let d = digits(b, 8, 2)?;
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let h = digits(b, 11, 2)?;
    let mi = digits(b, 14, 2)?;
    let sec = digits(b, 17, 2)?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac_ms = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let mut scale = 100;
        for c in &b[start..i] {
            frac_ms += i64::from(c - b'0') * scale;
            scale /= 10;
        }
    }
    let offset_min = match b.get(i) {
        Some(b'Z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = digits(b, i + 1, 2)?;
            let om = digits(b, i + 4, 2)?;
            let total = oh * 60 + om;
            if *sign == b'+' {
                total
            } else {
                -total
            }
        }
        _ => return None,
    };
    // Day `d` (1 to 31) is counted from the month's first: `02-30` is read as early March, not
    // refused.
    let first = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, u32::try_from(mo).ok()?, 1)?;
    let days = i64::from(first.to_epoch_days()) + d - 1;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    Some(secs * 1000 + frac_ms)
}

/// Wall-clock now in epoch millis.
pub fn system_now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let ms = parse_rfc3339("2024-02-29T23:59:58.123Z").unwrap();
        assert_eq!(format_millis(ms), "2024-02-29T23:59:58.123Z");
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_rfc3339("2016-03-14 01:59:00Z"), None);
        assert_eq!(parse_rfc3339("2016-03-14T01:59:00"), None);
        assert_eq!(format_millis(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            parse_rfc3339("2024-02-30T00:00:00Z"),
            parse_rfc3339("2024-03-01T00:00:00Z")
        );
        assert_eq!(
            parse_rfc3339("0000-01-01T00:00:00.5-00:30"),
            Some(-62_167_219_200_000 + 500 + 1_800_000)
        );
        let leap = parse_rfc3339("2016-12-31T23:59:60Z").unwrap();
        assert_eq!(format_millis(leap), "2017-01-01T00:00:00.000Z");
    }
}
