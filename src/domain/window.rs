//! Minute windows: the one place that knows window arithmetic.
//!
//! A window is a UTC minute `[start, start + 1 min)`, named like `2026-11-26T10:01Z`. Records belong
//! to the window of their Kinesis arrival time, never to the vendor's `occurred`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
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

    /// RFC 3339 of the start, as stored in `window_start` columns.
    pub fn start_rfc3339(self) -> String {
        format_timestamp_ms(self.start_ms)
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
        if text.len() != 17 || !text.ends_with('Z') {
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
        s.collect_str(self)
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
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => format!("@{ms}ms"),
    }
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
        ] {
            assert!(bad.parse::<Window>().is_err(), "{bad} should not parse");
        }
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
    fn serde_uses_the_name() {
        let json = serde_json::to_string(&w("2026-11-26T10:01Z")).unwrap();
        assert_eq!(json, "\"2026-11-26T10:01Z\"");
        let back: Window = serde_json::from_str(&json).unwrap();
        assert_eq!(back, w("2026-11-26T10:01Z"));
        assert!(serde_json::from_str::<Window>("\"10:01\"").is_err());
    }
}
