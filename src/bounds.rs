//! The range of every numeric flag and environment variable, and the plausible span of window
//! and arrival times, checked in one place so that each refusal names the range it broke.

use std::fmt;
use std::str::FromStr;

use crate::domain::window::{format_timestamp_ms, Window};

/// An inclusive range a number must fall in, with the unit it counts (for the message).
#[derive(Debug, Clone, Copy)]
pub struct Bounds<T> {
    pub min: T,
    pub max: T,
    pub unit: &'static str,
}

/// A value outside its range, or not a number at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OutOfBounds {
    /// `is not a number`, `is not a finite number` or `is out of range`.
    pub problem: &'static str,
    message: String,
}

/// Numbers that [`Bounds`] can check: whole numbers and finite floats.
pub trait Bounded: Copy + PartialOrd + FromStr + fmt::Display + Send + Sync + 'static {
    /// NaN and the infinities are not numbers of any range.
    fn is_finite_number(self) -> bool {
        true
    }
}
impl Bounded for u32 {}
impl Bounded for u64 {}
impl Bounded for usize {}
impl Bounded for f64 {
    fn is_finite_number(self) -> bool {
        self.is_finite()
    }
}

impl<T: Bounded> Bounds<T> {
    pub const fn new(min: T, max: T, unit: &'static str) -> Bounds<T> {
        Bounds { min, max, unit }
    }

    /// Parses `text` as the value of `name` (a flag like `--rate` or a variable) and checks it.
    pub fn parse(&self, name: &str, text: &str) -> Result<T, OutOfBounds> {
        let refuse = |problem| {
            let unit = if self.unit.is_empty() {
                String::new()
            } else {
                format!(" ({})", self.unit)
            };
            OutOfBounds {
                problem,
                message: format!(
                    "{name} `{text}` {problem}: use a number from {} to {}{unit}",
                    self.min, self.max
                ),
            }
        };
        let value: T = text.trim().parse().map_err(|_| refuse("is not a number"))?;
        if !value.is_finite_number() {
            return Err(refuse("is not a finite number"));
        }
        if value < self.min || value > self.max {
            return Err(refuse("is out of range"));
        }
        Ok(value)
    }

    /// A clap value parser for a flag of this range.
    #[cfg(feature = "local")]
    pub fn flag(self) -> BoundsParser<T> {
        BoundsParser(self)
    }

    /// Reads the environment variable `name`: its default when unset or empty, else the value
    /// if it is in range.
    pub fn env(&self, name: &str, default: T) -> Result<T, OutOfBounds> {
        self.lookup(name, default, |k| std::env::var(k).ok())
    }

    /// [`Bounds::env`] through a lookup function (tests pass a map).
    pub fn lookup(
        &self,
        name: &str,
        default: T,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<T, OutOfBounds> {
        match get(name) {
            Some(v) if !v.trim().is_empty() => self.parse(name, &v),
            _ => Ok(default),
        }
    }
}

/// The clap side of [`Bounds`]: the refusal names the flag, the value and the range.
#[cfg(feature = "local")]
#[derive(Debug, Clone, Copy)]
pub struct BoundsParser<T>(Bounds<T>);

#[cfg(feature = "local")]
impl<T: Bounded> clap::builder::TypedValueParser for BoundsParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let name = arg
            .and_then(|a| a.get_long())
            .map_or_else(|| "value".to_string(), |l| format!("--{l}"));
        let text = value.to_string_lossy();
        self.0.parse(&name, &text).map_err(|e| {
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{e}\n"))
                .with_cmd(cmd)
        })
    }
}

/// Shards of a local stream this creates: Kinesis's default quota per stream is far above it,
/// but each local shard is a file pair, and a few cover every test and demo.
pub const SHARDS: Bounds<u32> = Bounds::new(1, 64, "shards");
/// Mean events per second of generated traffic; the total is bounded by [`GENERATED_EVENTS`].
pub const RATE: Bounds<f64> = Bounds::new(0.01, 10_000.0, "events per second");
/// Records per second of `loadgen`.
pub const LOADGEN_RATE: Bounds<f64> = Bounds::new(0.01, 1_000_000.0, "records per second");
/// Minutes of generated traffic.
pub const GENERATE_MINUTES: Bounds<u32> = Bounds::new(1, 1440, "minutes");
/// Minutes of the demo's traffic: it runs every one of them.
pub const DEMO_MINUTES: Bounds<u32> = Bounds::new(1, 60, "minutes");
/// A share of the traffic.
pub const SHARE: Bounds<f64> = Bounds::new(0.0, 1.0, "a share of the records");
/// Seconds of `loadgen`.
pub const LOADGEN_SECONDS: Bounds<u64> = Bounds::new(1, 86_400, "seconds");
/// Executions listed.
pub const LIST_LIMIT: Bounds<usize> = Bounds::new(1, 100_000, "executions");
/// Windows of a chaos run.
pub const CHAOS_WINDOWS: Bounds<u32> = Bounds::new(1, 10_000, "windows");
/// Windows between forced outages in a chaos run (0: never).
pub const OUTAGE_EVERY: Bounds<u32> = Bounds::new(0, 10_000, "windows");
/// The Firehose stand-in's buffer interval: Firehose's own buffer interval is at most 900 s.
pub const FIREHOSE_INTERVAL_MS: Bounds<u64> = Bounds::new(1, 900_000, "milliseconds");
/// Minutes the schedule lags behind the window it reads.
pub const LAG_MINUTES: Bounds<u32> = Bounds::new(0, 60, "minutes");
/// Seconds a window settles before it is read.
pub const SETTLE_SECONDS: Bounds<u32> = Bounds::new(0, 3600, "seconds");
/// AwaitObjects checks per event type.
pub const AWAIT_ATTEMPTS: Bounds<u32> = Bounds::new(1, 1000, "checks");

/// Minutes an object must have existed before `gc` may remove it.
pub const GC_MIN_AGE_MINUTES: Bounds<u64> = Bounds::new(0, 525_600, "minutes");

/// At most this many events from one `generate` (rate × minutes × 60): about 2.5 GB of stream.
pub const GENERATED_EVENTS: f64 = 5_000_000.0;

/// Refuses a generated traffic volume over [`GENERATED_EVENTS`], naming both flags.
pub fn check_volume(rate: f64, minutes: u32) -> Result<(), String> {
    let events = rate * f64::from(minutes) * 60.0;
    if events > GENERATED_EVENTS {
        return Err(format!(
            "--rate {rate} for --minutes {minutes} would write about {events:.0} events, over the {GENERATED_EVENTS:.0} one command may write: lower --rate or --minutes"
        ));
    }
    Ok(())
}

/// Kinesis Data Streams was announced in November 2013: no stream holds a record that arrived
/// before 2013-11-01, so a window or arrival time before it is a typo.
pub const EARLIEST_MS: i64 = 1_383_264_000_000;
/// How far ahead of this machine's clock an arrival time may be (clock skew between hosts).
pub const FUTURE_SLACK_MS: i64 = 5 * 60_000;

/// The flag that accepts a time outside the plausible span on purpose.
pub const ANY_TIME_FLAG: &str = "--allow-any-time";

/// Refuses a window before Kinesis existed, unless `allow` (the `--allow-any-time` flag).
pub fn check_window(flag: &str, window: Window, allow: bool) -> Result<(), String> {
    if allow || window.start_ms() >= EARLIEST_MS {
        return Ok(());
    }
    Err(format!(
        "{flag} {window} is before {}, when Kinesis began, so no stream holds its records: check the date, or pass {ANY_TIME_FLAG} to run it anyway",
        format_timestamp_ms(EARLIEST_MS)
    ))
}

/// Refuses an arrival time before Kinesis existed or more than a few minutes after `now`,
/// unless `allow`. A future arrival would sit in the stream ahead of every real record (each
/// shard's arrival times only grow), blocking produces into that home until it is reached.
pub fn check_arrival(flag: &str, text: &str, ms: i64, now: i64, allow: bool) -> Result<(), String> {
    if allow {
        return Ok(());
    }
    if ms < EARLIEST_MS {
        return Err(format!(
            "{flag} `{text}` is before {}, when Kinesis began: check the date, or pass {ANY_TIME_FLAG} to use it anyway",
            format_timestamp_ms(EARLIEST_MS)
        ));
    }
    if ms > now + FUTURE_SLACK_MS {
        return Err(format!(
            "{flag} `{text}` is more than 5 minutes after now ({}): records stamped in the future block every later produce into this home until then; use a time up to now, or pass {ANY_TIME_FLAG} to use it anyway",
            format_timestamp_ms(now)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_bad_number_names_the_range() {
        for text in ["inf", "-inf", "NaN", "nan", "abc", "", "1e999"] {
            let e = RATE.parse("--rate", text).unwrap_err().to_string();
            assert!(e.contains("from 0.01 to 10000 (events per second)"), "{e}");
            assert!(e.starts_with(&format!("--rate `{text}`")), "{e}");
        }
        for text in ["-1", "0", "10000.5"] {
            let e = RATE.parse("--rate", text).unwrap_err();
            assert_eq!(e.problem, "is out of range", "{text}");
        }
        assert_eq!(RATE.parse("--rate", " 30 ").unwrap(), 30.0);
        for text in ["-1", "0", "65", "1.5", "abc", "99999999999999999999"] {
            assert!(SHARDS.parse("--shards", text).is_err(), "{text}");
        }
        assert_eq!(SHARDS.parse("--shards", "4").unwrap(), 4);
        assert!(SHARE.parse("--malformed", "1.01").is_err());
        assert_eq!(SHARE.parse("--malformed", "0").unwrap(), 0.0);
    }

    #[test]
    fn environment_variables_use_the_same_ranges() {
        let get = |v: &'static str| move |_: &str| Some(v.to_string());
        let e = FIREHOSE_INTERVAL_MS
            .lookup("PUSHFEED_FIREHOSE_INTERVAL_MS", 500, get("abc"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "PUSHFEED_FIREHOSE_INTERVAL_MS `abc` is not a number: use a number from 1 to 900000 (milliseconds)");
        for bad in ["0", "-5", "900001", "1.5"] {
            assert!(
                FIREHOSE_INTERVAL_MS.lookup("X", 500, get(bad)).is_err(),
                "{bad}"
            );
        }
        assert_eq!(FIREHOSE_INTERVAL_MS.lookup("X", 500, |_| None), Ok(500));
        assert_eq!(FIREHOSE_INTERVAL_MS.lookup("X", 500, get("  ")), Ok(500));
        assert_eq!(FIREHOSE_INTERVAL_MS.lookup("X", 500, get("50")), Ok(50));
    }

    #[test]
    fn times_outside_the_plausible_span_need_the_override() {
        let ancient: Window = "0000-01-01T00:00Z".parse().unwrap();
        let e = check_window("--window", ancient, false).unwrap_err();
        assert!(e.contains(ANY_TIME_FLAG), "{e}");
        assert!(check_window("--window", ancient, true).is_ok());
        let fine: Window = "2026-11-26T10:01Z".parse().unwrap();
        assert!(check_window("--window", fine, false).is_ok());

        let now = 1_800_000_000_000;
        assert!(check_arrival("--at", "t", now + FUTURE_SLACK_MS, now, false).is_ok());
        let e = check_arrival("--at", "2030", now + FUTURE_SLACK_MS + 1, now, false).unwrap_err();
        assert!(e.contains("block every later produce"), "{e}");
        assert!(check_arrival("--at", "2030", now + 86_400_000, now, true).is_ok());
        assert!(check_arrival("--at", "1999", 0, now, false).is_err());
    }

    #[test]
    fn the_generated_volume_is_bounded() {
        assert!(check_volume(30.0, 3).is_ok());
        assert!(check_volume(10_000.0, 1440).is_err());
    }
}
