//! The local wall-clock time of an event: its `occurred` instant in the device's IANA time zone,
//! daylight saving included, computed once at ReadWindow into the `occurred_local` column.
//!
//! Done here rather than in the warehouse because Redshift's CONVERT_TIMEZONE fails the whole
//! query on a zone name it does not know, and one device's bad attribute must never make a view
//! fail. The zone rules are chrono-tz's compiled-in copy of the IANA database
//! ([`TZDB_VERSION`]), so both warehouses see the same local times.

use std::cell::RefCell;
use std::str::FromStr;

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// The zone of an event whose `iana_timezone` is missing or not in the IANA database: the
/// retailer's home.
pub const FALLBACK_ZONE: Tz = Tz::Europe__London;

/// The IANA time zone database release that decides every offset (the one chrono-tz compiles in).
pub const TZDB_VERSION: &str = chrono_tz::IANA_TZDB_VERSION;

thread_local! {
    /// The last zone name looked up and what it resolved to. Nearly every device of a UK retailer
    /// says `Europe/London`, so consecutive events almost always repeat the name, and a string
    /// comparison replaces the database's hash lookup.
    static LAST_ZONE: RefCell<(String, Tz)> =
        RefCell::new((FALLBACK_ZONE.name().to_string(), FALLBACK_ZONE));
}

/// The zone an event's `iana_timezone` names, or [`FALLBACK_ZONE`] when it names none.
/// Names are matched exactly, as the IANA database spells them (links such as `GB` included).
pub fn zone(name: Option<&str>) -> Tz {
    let Some(name) = name else {
        return FALLBACK_ZONE;
    };
    LAST_ZONE.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 == name {
            return last.1;
        }
        let tz = Tz::from_str(name).unwrap_or(FALLBACK_ZONE);
        last.0.clear();
        last.0.push_str(name);
        last.1 = tz;
        tz
    })
}

/// Milliseconds since the epoch of the wall-clock reading in `zone_name` at the instant `utc_ms`:
/// `utc_ms` plus the zone's UTC offset then. An instant chrono cannot represent keeps offset 0.
pub fn local_ms(utc_ms: i64, zone_name: Option<&str>) -> i64 {
    let Some(utc) = DateTime::from_timestamp_millis(utc_ms) else {
        return utc_ms;
    };
    let offset_s = zone(zone_name)
        .offset_from_utc_datetime(&utc.naive_utc())
        .fix()
        .local_minus_utc();
    utc_ms + i64::from(offset_s) * 1000
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::window::{format_timestamp_ms, parse_timestamp_ms};

    fn local(utc: &str, zone: Option<&str>) -> String {
        let ms = parse_timestamp_ms(utc).unwrap();
        format_timestamp_ms(local_ms(ms, zone))
    }

    #[test]
    fn daylight_saving_changes_in_london_and_new_york() {
        let london = Some("Europe/London");
        // 2026-03-29 01:00 UTC: the clocks go forward from 01:00 GMT to 02:00 BST.
        assert_eq!(
            local("2026-03-29T00:59:59.999Z", london),
            "2026-03-29T00:59:59.999Z"
        );
        assert_eq!(
            local("2026-03-29T01:00:00Z", london),
            "2026-03-29T02:00:00.000Z"
        );
        // 2026-10-25 01:00 UTC: back from 02:00 BST to 01:00 GMT; 01:xx local happens twice.
        assert_eq!(
            local("2026-10-25T00:30:00Z", london),
            "2026-10-25T01:30:00.000Z"
        );
        assert_eq!(
            local("2026-10-25T01:30:00Z", london),
            "2026-10-25T01:30:00.000Z"
        );
        let new_york = Some("America/New_York");
        // 2026-03-08 07:00 UTC: 02:00 EST becomes 03:00 EDT.
        assert_eq!(
            local("2026-03-08T06:59:00Z", new_york),
            "2026-03-08T01:59:00.000Z"
        );
        assert_eq!(
            local("2026-03-08T07:00:00Z", new_york),
            "2026-03-08T03:00:00.000Z"
        );
        // 2026-11-01 06:00 UTC: 02:00 EDT becomes 01:00 EST.
        assert_eq!(
            local("2026-11-01T05:30:00Z", new_york),
            "2026-11-01T01:30:00.000Z"
        );
        assert_eq!(
            local("2026-11-01T06:30:00Z", new_york),
            "2026-11-01T01:30:00.000Z"
        );
        assert_eq!(
            local("2026-07-01T12:00:00Z", Some("Asia/Kolkata")),
            "2026-07-01T17:30:00.000Z"
        );
    }

    #[test]
    fn a_missing_or_unknown_zone_is_london() {
        let summer = "2026-07-01T12:00:00Z";
        for zone in [
            None,
            Some("Mars/Olympus_Mons"),
            Some(""),
            Some("europe/london"),
            Some("+01:00"),
        ] {
            assert_eq!(local(summer, zone), "2026-07-01T13:00:00.000Z", "{zone:?}");
        }
        // The cache of the last name must not leak one zone into the next.
        assert_eq!(
            local(summer, Some("America/New_York")),
            "2026-07-01T08:00:00.000Z"
        );
        assert_eq!(
            local(summer, Some("Mars/Olympus_Mons")),
            "2026-07-01T13:00:00.000Z"
        );
        assert_eq!(local(summer, Some("UTC")), "2026-07-01T12:00:00.000Z");
        // Links of the database are names in it.
        assert_eq!(
            local(summer, Some("US/Eastern")),
            "2026-07-01T08:00:00.000Z"
        );
        assert_eq!(
            local(summer, Some("America/New_York")),
            "2026-07-01T08:00:00.000Z"
        );
    }

    #[test]
    fn the_database_release_is_named() {
        assert_eq!(TZDB_VERSION.len(), 5, "{TZDB_VERSION}");
        assert!(TZDB_VERSION.starts_with("20"), "{TZDB_VERSION}");
    }
}
