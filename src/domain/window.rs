//! Minute windows: the one place that knows window arithmetic.
//!
//! A window is a UTC minute `[start, start + 1 min)`, named like `2026-11-26T10:01Z`. Records belong
//! to the window of their Kinesis arrival time, never to the vendor's `occurred`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub const MINUTE_MS: i64 = 60_000;

/// A UTC minute, stored as its start in epoch milliseconds (always a multiple of a minute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    start_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("window `{text}` is not a UTC minute like 2026-11-26T10:01Z")]
    BadName { text: String },
    #[error("scheduled time `{text}` is not an RFC 3339 timestamp like 2026-11-26T10:02:00Z")]
    BadScheduledTime { text: String },
    #[error("window range {from}..{to} is empty: the first window must not be after the last")]
    EmptyRange { from: Window, to: Window },
}

impl Window {
    /// The window containing the instant `ms` (epoch milliseconds).
    pub fn containing(ms: i64) -> Window {
        Window {
            start_ms: ms.div_euclid(MINUTE_MS) * MINUTE_MS,
        }
    }

    pub fn start_ms(self) -> i64 {
        self.start_ms
    }

    /// Exclusive end.
    pub fn end_ms(self) -> i64 {
        self.start_ms + MINUTE_MS
    }

    pub fn contains(self, ms: i64) -> bool {
        ms >= self.start_ms && ms < self.end_ms()
    }

    pub fn next(self) -> Window {
        Window {
            start_ms: self.end_ms(),
        }
    }

    pub fn previous(self) -> Window {
        Window {
            start_ms: self.start_ms - MINUTE_MS,
        }
    }

    /// The window a scheduled run reads: `[scheduled - lag - 1 min, scheduled - lag)`.
    ///
    /// Computed from the schedule's time, never from "now", so a late start still reads the
    /// minute it was scheduled for. A scheduled time that is not on a minute boundary (the
    /// scheduler's jitter) rounds down first.
    pub fn for_schedule(scheduled_ms: i64, lag_minutes: u32) -> Window {
        Window::containing(scheduled_ms).minus_minutes(i64::from(lag_minutes) + 1)
    }

    /// When the schedule starts the run that reads this window: the inverse of
    /// [`Window::for_schedule`], so the window is due from then on.
    pub fn scheduled_ms(self, lag_minutes: u32) -> i64 {
        self.end_ms() + i64::from(lag_minutes) * MINUTE_MS
    }

    /// Parses an RFC 3339 scheduled time (EventBridge's `<aws.scheduler.scheduled-time>`).
    pub fn for_scheduled_time(text: &str, lag_minutes: u32) -> Result<Window, WindowError> {
        let ms = parse_timestamp_ms(text).ok_or_else(|| WindowError::BadScheduledTime {
            text: text.to_string(),
        })?;
        Ok(Window::for_schedule(ms, lag_minutes))
    }

    pub fn minus_minutes(self, n: i64) -> Window {
        Window {
            start_ms: self.start_ms - n * MINUTE_MS,
        }
    }

    /// Every window from `from` to `to`, both included.
    pub fn range_inclusive(from: Window, to: Window) -> Result<Vec<Window>, WindowError> {
        if from > to {
            return Err(WindowError::EmptyRange { from, to });
        }
        let n = (to.start_ms - from.start_ms) / MINUTE_MS;
        Ok((0..=n).map(|i| from.minus_minutes(-i)).collect())
    }

    /// When a stream that keeps records for `retention_hours` drops the window's first records:
    /// they arrived at its start at the earliest.
    pub fn retention_ends_ms(self, retention_hours: u32) -> i64 {
        self.start_ms + i64::from(retention_hours) * 3_600_000
    }

    /// RFC 3339 of the start, as stored in `window_start` columns.
    pub fn start_rfc3339(self) -> String {
        format_timestamp_ms(self.start_ms)
    }
}

impl Window {
    /// The name (`YYYY-MM-DDTHH:MMZ`) without `fmt`, for years 0 to 9999; `None` for the rest.
    pub fn name_bytes(self) -> Option<[u8; 17]> {
        let t = timestamp_ms_bytes(self.start_ms)?;
        let mut out = [b'Z'; 17];
        out[..16].copy_from_slice(&t[..16]);
        Some(out)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Utc.timestamp_millis_opt(self.start_ms).single() {
            Some(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%MZ")),
            None => write!(f, "window@{}ms", self.start_ms),
        }
    }
}

impl FromStr for Window {
    type Err = WindowError;

    fn from_str(text: &str) -> Result<Window, WindowError> {
        let bad = || WindowError::BadName {
            text: text.to_string(),
        };
        // Exactly `YYYY-MM-DDTHH:MMZ`: a window name is also an S3 key part, so one spelling only.
        // chrono's `%Y`/`%m` accept signs and padding spaces (` +00- 1- 1T 0: 0Z`), so the shape
        // is checked byte by byte first.
        let shape = b"dddd-dd-ddTdd:ddZ";
        let fits = text.len() == shape.len()
            && text.bytes().zip(shape).all(|(c, &want)| match want {
                b'd' => c.is_ascii_digit(),
                _ => c == want,
            });
        if !fits {
            return Err(bad());
        }
        let naive =
            NaiveDateTime::parse_from_str(&text[..16], "%Y-%m-%dT%H:%M").map_err(|_| bad())?;
        Ok(Window {
            start_ms: naive.and_utc().timestamp_millis(),
        })
    }
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.name_bytes() {
            Some(name) => s.serialize_str(std::str::from_utf8(&name).expect("ASCII digits")),
            None => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Window, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses an RFC 3339 timestamp (with any offset) into epoch milliseconds.
pub fn parse_timestamp_ms(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Formats epoch milliseconds as RFC 3339 UTC with milliseconds, e.g. `2026-11-26T10:00:58.120Z`.
pub fn format_timestamp_ms(ms: i64) -> String {
    match timestamp_ms_bytes(ms) {
        Some(b) => String::from_utf8(b.to_vec()).expect("ASCII digits and punctuation"),
        None => format_timestamp_ms_chrono(ms),
    }
}

fn format_timestamp_ms_chrono(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => format!("@{ms}ms"),
    }
}

/// 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z in epoch milliseconds.
const YEAR_0_MS: i64 = -62_167_219_200_000;
const YEAR_10000_MS: i64 = 253_402_300_800_000;

/// [`format_timestamp_ms`]'s text without an allocation, for years 0 to 9999 (the only ones
/// whose RFC 3339 spelling has this fixed width); `None` for the rest. chrono's formatter went
/// through `fmt` machinery three times per staging row, ~8% of the transform: chrono only finds
/// the date here, and the digits are put in place directly.
pub fn timestamp_ms_bytes(ms: i64) -> Option<[u8; 24]> {
    if !(YEAR_0_MS..YEAR_10000_MS).contains(&ms) {
        return None;
    }
    // Unsigned from here on: counted from year 0, every quantity is non-negative and small.
    let since_year_0 = (ms - YEAR_0_MS) as u64;
    let in_day = (since_year_0 % 86_400_000) as u32;
    // Day 1 of the common era is 0001-01-01, 366 days (year 0 is a leap year) after 0000-01-01.
    let date = NaiveDate::from_num_days_from_ce_opt((since_year_0 / 86_400_000) as i32 - 365)?;
    let (year, month, day) = (date.year() as u32, date.month(), date.day());
    let (secs, millis) = (in_day / 1000, in_day % 1000);
    let (hour, minute, second) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = *b"0000-00-00T00:00:00.000Z";
    let two = |out: &mut [u8; 24], at: usize, n: u32| {
        out[at] = b'0' + (n / 10) as u8;
        out[at + 1] = b'0' + (n % 10) as u8;
    };
    two(&mut out, 0, year / 100);
    two(&mut out, 2, year % 100);
    two(&mut out, 5, month);
    two(&mut out, 8, day);
    two(&mut out, 11, hour);
    two(&mut out, 14, minute);
    two(&mut out, 17, second);
    out[20] = b'0' + (millis / 100) as u8;
    two(&mut out, 21, millis % 100);
    Some(out)
}

/// The current time in epoch milliseconds.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Window {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_formats_round_trip() {
        let window = w("2026-11-26T10:01Z");
        assert_eq!(window.to_string(), "2026-11-26T10:01Z");
        assert_eq!(window.start_rfc3339(), "2026-11-26T10:01:00.000Z");
        assert_eq!(window.end_ms() - window.start_ms(), MINUTE_MS);
    }

    #[test]
    fn rejects_other_spellings() {
        for bad in [
            "2026-11-26T10:01",
            "2026-11-26T10:01:00Z",
            "2026-11-26 10:01Z",
            "2026-13-26T10:01Z",
            "2026-11-26T24:01Z",
            "",
            "garbage",
            "2026-11-26T10:01Zé",
            " +00- 1- 1T 0: 0Z",
            "+026-11-26T10:01Z",
            "2026-1-026T10:01Z",
        ] {
            assert!(bad.parse::<Window>().is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn a_window_is_due_when_its_schedule_starts_the_run_that_reads_it() {
        let window = w("2026-11-26T10:01Z");
        let due = window.scheduled_ms(1);
        assert_eq!(due, parse_timestamp_ms("2026-11-26T10:03:00Z").unwrap());
        assert_eq!(Window::for_schedule(due, 1), window);
        assert_eq!(Window::for_schedule(due - 1, 1), window.previous());
    }

    #[test]
    fn schedule_reads_the_minute_before_the_lag() {
        let scheduled = parse_timestamp_ms("2026-11-26T10:03:00Z").unwrap();
        assert_eq!(Window::for_schedule(scheduled, 1), w("2026-11-26T10:01Z"));
        assert_eq!(Window::for_schedule(scheduled, 0), w("2026-11-26T10:02Z"));
        // Scheduler jitter of a few seconds does not move the window.
        let late = parse_timestamp_ms("2026-11-26T10:03:17.5Z").unwrap();
        assert_eq!(Window::for_schedule(late, 1), w("2026-11-26T10:01Z"));
        assert_eq!(
            Window::for_scheduled_time("2026-11-26T10:03:00Z", 1).unwrap(),
            w("2026-11-26T10:01Z")
        );
        assert!(Window::for_scheduled_time("yesterday", 1).is_err());
    }

    #[test]
    fn containing_handles_boundaries_and_negative_times() {
        let window = w("2026-11-26T10:01Z");
        assert!(window.contains(window.start_ms()));
        assert!(!window.contains(window.end_ms()));
        assert_eq!(Window::containing(window.end_ms() - 1), window);
        assert_eq!(Window::containing(window.end_ms()), window.next());
        assert_eq!(Window::containing(-1).start_ms(), -MINUTE_MS);
    }

    #[test]
    fn ranges_are_inclusive_and_ordered() {
        let all = Window::range_inclusive(w("2026-11-26T23:59Z"), w("2026-11-27T00:01Z")).unwrap();
        let names: Vec<String> = all.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            names,
            [
                "2026-11-26T23:59Z",
                "2026-11-27T00:00Z",
                "2026-11-27T00:01Z"
            ]
        );
        assert!(Window::range_inclusive(w("2026-11-27T00:01Z"), w("2026-11-27T00:00Z")).is_err());
    }

    #[test]
    fn fast_formatting_matches_chrono() {
        let mut ms = [
            0,
            -1,
            1,
            999,
            -86_400_000,
            -62_167_219_200_000, // 0000-01-01T00:00:00Z
            -62_167_219_200_001, // one millisecond before year 0
            253_402_300_799_999, // 9999-12-31T23:59:59.999Z
            253_402_300_800_000, // 10000-01-01
            i64::MIN,
            i64::MAX,
            parse_timestamp_ms("2024-02-29T23:59:59.999Z").unwrap(),
            parse_timestamp_ms("2100-03-01T00:00:00Z").unwrap(),
            parse_timestamp_ms("2000-02-29T12:34:56.789Z").unwrap(),
        ]
        .to_vec();
        // A walk over four centuries in uneven steps, so every month, leap rule and time of day
        // is hit.
        let mut t = -62_167_219_200_000i64;
        while t < 253_402_300_800_000 {
            ms.push(t);
            t += 3_974_118_017;
        }
        for ms in ms {
            assert_eq!(
                format_timestamp_ms(ms),
                format_timestamp_ms_chrono(ms),
                "{ms}"
            );
            let window = Window::containing(ms.clamp(i64::MIN / 2, i64::MAX / 2));
            let name = window.to_string();
            if let Some(fast) = window.name_bytes() {
                assert_eq!(std::str::from_utf8(&fast).unwrap(), name);
            }
        }
    }

    #[test]
    fn serde_uses_the_name() {
        let json = serde_json::to_string(&w("2026-11-26T10:01Z")).unwrap();
        assert_eq!(json, "\"2026-11-26T10:01Z\"");
        let back: Window = serde_json::from_str(&json).unwrap();
        assert_eq!(back, w("2026-11-26T10:01Z"));
        assert!(serde_json::from_str::<Window>("\"10:01\"").is_err());
    }
}
