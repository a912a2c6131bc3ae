//! Property tests: window arithmetic, the S3 key layout's round trips, and the record parser on
//! arbitrary input. The dedupe-merge property needs PostgreSQL and lives in `tests/concurrency.rs`.
//!
//! Case counts are proptest's default (256) unless a test sets fewer; every case is pure
//! computation on small inputs, so the file runs in a few seconds.

use std::io::Write;

use proptest::collection::vec;
use proptest::prelude::*;
use pushfeed::domain::event::Limits;
use pushfeed::domain::keys::{BatchId, ObjectKey};
use pushfeed::domain::record::{for_each_item, Item};
use pushfeed::domain::window::{format_timestamp_ms, parse_timestamp_ms, Window, MINUTE_MS};

/// 0000-01-01T00:00Z and 9999-12-31T23:59Z: the years a window name can spell with four digits.
const FIRST_MINUTE: i64 = -62_167_219_200_000 / MINUTE_MS;
const LAST_MINUTE: i64 = 253_402_300_740_000 / MINUTE_MS;
const ARRIVAL_MS: i64 = 1_795_687_290_000; // 2026-11-26T10:01:30Z

fn window() -> impl Strategy<Value = Window> {
    (FIRST_MINUTE..=LAST_MINUTE).prop_map(|m| Window::containing(m * MINUTE_MS))
}

/// Instants a timestamp can spell (years 0000-9999), to the millisecond.
fn instant() -> impl Strategy<Value = i64> {
    (FIRST_MINUTE * MINUTE_MS)..(LAST_MINUTE * MINUTE_MS + MINUTE_MS)
}

fn event_type() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9_]{0,63}"
}

fn batch() -> impl Strategy<Value = BatchId> {
    "[a-z0-9-]{1,64}".prop_map(|s| s.parse().unwrap())
}

fn object_key() -> impl Strategy<Value = ObjectKey> {
    prop_oneof![
        (window(), batch()).prop_map(|(window, batch)| ObjectKey::Raw { window, batch }),
        (window(), event_type(), batch()).prop_map(|(window, event_type, batch)| {
            ObjectKey::Staging {
                window,
                event_type,
                batch,
            }
        }),
        (window(), batch()).prop_map(|(window, batch)| ObjectKey::Rejected { window, batch }),
        (window(), batch()).prop_map(|(window, batch)| ObjectKey::Unrouted { window, batch }),
        window().prop_map(|window| ObjectKey::Checkpoint { window }),
        (event_type(), window(), "[a-zA-Z0-9._=-]{1,80}").prop_map(|(event_type, window, name)| {
            ObjectKey::Delivered {
                event_type,
                window,
                name,
            }
        }),
        (window(), event_type(), batch()).prop_map(|(window, event_type, batch)| {
            ObjectKey::Manifest {
                window,
                event_type,
                batch,
            }
        }),
        "[a-z_][a-z0-9_]{0,62}".prop_map(|table| ObjectKey::Jsonpaths { table }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Windows

proptest! {
    #[test]
    fn window_names_round_trip(w in window()) {
        let name = w.to_string();
        prop_assert_eq!(name.len(), 17, "{}", name);
        prop_assert_eq!(name.parse::<Window>().unwrap(), w);
        let json = serde_json::to_string(&w).unwrap();
        prop_assert_eq!(serde_json::from_str::<Window>(&json).unwrap(), w);
        prop_assert_eq!(parse_timestamp_ms(&w.start_rfc3339()), Some(w.start_ms()));
    }

    /// A window name is an S3 key part, so it has one spelling: whatever parses prints back as
    /// itself.
    #[test]
    fn a_window_has_one_spelling(text in "[0-9+ -]{4,6}-[0-9 +]{2}-[0-9 +]{2}T[0-9 +]{2}:[0-9 +]{2}Z") {
        if let Ok(w) = text.parse::<Window>() {
            prop_assert_eq!(w.to_string(), text);
        }
    }

    #[test]
    fn window_parse_never_panics(text in "\\PC{0,24}") {
        let _ = text.parse::<Window>();
    }

    #[test]
    fn containing_puts_an_instant_in_its_minute(ms in any::<i64>().prop_map(|m| m / 2)) {
        let w = Window::containing(ms);
        prop_assert!(w.contains(ms));
        prop_assert_eq!(w.start_ms().rem_euclid(MINUTE_MS), 0);
        prop_assert!(w.start_ms() <= ms && ms < w.end_ms());
        prop_assert_eq!(w.end_ms() - w.start_ms(), MINUTE_MS);
        prop_assert!(!w.contains(w.end_ms()) && !w.contains(w.start_ms() - 1));
        prop_assert_eq!(w.next().previous(), w);
        prop_assert_eq!(Window::containing(w.end_ms()), w.next());
    }

    /// `[scheduled - lag - 1 min, scheduled - lag)`, with the scheduled time rounded down to
    /// its minute first (scheduler jitter), computed from the schedule and never from now.
    #[test]
    fn schedule_reads_the_minute_before_the_lag(scheduled in instant(), lag in 0u32..=1440) {
        let lag_ms = i64::from(lag) * MINUTE_MS;
        let w = Window::for_schedule(scheduled, lag);
        let minute = Window::containing(scheduled).start_ms();
        prop_assert_eq!(w.end_ms(), minute - lag_ms);
        prop_assert_eq!(w.start_ms(), minute - lag_ms - MINUTE_MS);
        prop_assert!(w.end_ms() <= scheduled - lag_ms);
        // Jitter within the minute never moves the window.
        prop_assert_eq!(Window::for_schedule(minute + MINUTE_MS - 1, lag), w);
        // The RFC 3339 form EventBridge passes gives the same window.
        let text = format_timestamp_ms(scheduled);
        prop_assert_eq!(Window::for_scheduled_time(&text, lag).unwrap(), w);
    }

    #[test]
    fn ranges_are_inclusive_consecutive_and_ordered(a in window(), n in 0i64..500) {
        let b = a.minus_minutes(-n);
        let all = Window::range_inclusive(a, b).unwrap();
        prop_assert_eq!(all.len() as i64, n + 1);
        prop_assert_eq!(all[0], a);
        prop_assert_eq!(*all.last().unwrap(), b);
        for pair in all.windows(2) {
            prop_assert_eq!(pair[0].next(), pair[1]);
            // Names sort like windows (for years 0000-9999), so S3 listings come in time order.
            prop_assert!(pair[0].to_string() < pair[1].to_string());
        }
        if n > 0 {
            prop_assert!(Window::range_inclusive(b, a).is_err());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

proptest! {
    #[test]
    fn every_key_round_trips(key in object_key()) {
        let text = key.to_string();
        prop_assert_eq!(ObjectKey::parse(&text).unwrap(), key, "{}", text);
    }

    /// Whatever parses as one of our keys prints back as itself: one key, one meaning.
    #[test]
    fn parsed_keys_print_back_as_themselves(
        parts in vec(prop_oneof![
            Just("raw".to_string()), Just("staging".to_string()), Just("rejected".to_string()),
            Just("unrouted".to_string()), Just("checkpoints".to_string()), Just("events".to_string()),
            Just("manifests".to_string()), Just("jsonpaths".to_string()),
            Just("window=2026-11-26T10:01Z".to_string()), Just("window=2026-11-26T10:01Z.json".to_string()),
            Just("type=SEND".to_string()), Just("SEND".to_string()), Just("type=send".to_string()),
            Just("batch=b-1.ndjson".to_string()), Just("batch=b-1.ndjson.gz".to_string()),
            Just("batch=b-1.json".to_string()), Just("batch=.json".to_string()), Just("x.json".to_string()),
            Just("..".to_string()), Just(String::new()), "[ -~]{0,12}",
        ], 1..6)
    ) {
        let text = parts.join("/");
        if let Ok(key) = ObjectKey::parse(&text) {
            prop_assert_eq!(key.to_string(), text);
        }
    }

    #[test]
    fn batch_ids_parse_back_and_sort_by_time(a in 0i64..(1 << 52), b in 0i64..(1 << 52)) {
        let (x, y) = (BatchId::generate(a), BatchId::generate(b));
        prop_assert_eq!(x.as_str().parse::<BatchId>().unwrap(), x.clone());
        prop_assert_eq!(x.as_str().len(), y.as_str().len());
        if a < b {
            prop_assert!(x < y, "{} < {}", x, y);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The record parser

/// What a record came to: (reason codes, accepted event ids), line numbers dropped.
fn outcome(data: &[u8], limits: &Limits) -> (Vec<String>, Vec<String>) {
    let (mut reasons, mut ids) = (Vec::new(), Vec::new());
    for_each_item(data, ARRIVAL_MS, limits, |item| match item {
        Item::Rejected { reason, .. } => reasons.push(reason.code()),
        Item::Event(e) => ids.push(e.id.into_owned()),
    });
    (reasons, ids)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// JSON values shaped like vendor events: the envelope's keys with values of any type, nested.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![
            Just("2026-11-26T10:01:00Z".to_string()),
            Just("1999-01-01T00:00:00Z".to_string()),
            Just("SEND".to_string()),
            Just("OPEN".to_string()),
            Just(String::new()),
            "\\PC{0,12}",
            "[\\x00-\\x1f\"\\\\\u{d7ff}\u{e000}\u{10ffff}a]{0,6}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        let key = prop_oneof![
            Just("id".to_string()),
            Just("type".to_string()),
            Just("occurred".to_string()),
            Just("processed".to_string()),
            Just("device".to_string()),
            Just("body".to_string()),
            Just("user".to_string()),
            Just("offset".to_string()),
            Just("channel".to_string()),
            Just("push_id".to_string()),
            Just("variant_id".to_string()),
            Just("triggering_push".to_string()),
            Just("campaigns".to_string()),
            Just("categories".to_string()),
            "[a-z_]{1,8}",
        ];
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(key, inner, 0..8)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid SEND, to mutate.
fn valid_send(i: u32) -> Vec<u8> {
    format!(
        r#"{{"id":"e-{i}","type":"SEND","occurred":"2026-11-26T10:01:00.000Z","processed":"2026-11-26T10:01:00.000Z","device":{{"channel":"c","device_type":"IOS"}},"body":{{"push_id":"p","variant_id":2}}}}"#
    )
    .into_bytes()
}

proptest! {
    /// Arbitrary bytes: no panic, and never silently dropped (at least one item per record).
    #[test]
    fn the_parser_never_panics_on_arbitrary_bytes(data in vec(any::<u8>(), 0..2048)) {
        let (reasons, ids) = outcome(&data, &Limits::default());
        prop_assert!(!reasons.is_empty() || !ids.is_empty());
    }

    /// Bytes that start like gzip, so the inflater sees them.
    #[test]
    fn the_parser_never_panics_on_gzip_like_bytes(tail in vec(any::<u8>(), 0..512)) {
        let mut data = vec![0x1f, 0x8b, 0x08, 0x00];
        data.extend(tail);
        let (reasons, ids) = outcome(&data, &Limits::default());
        prop_assert!(!reasons.is_empty() || !ids.is_empty());
    }

    /// Event-shaped JSON of any types, one or several per record.
    #[test]
    fn the_parser_never_panics_on_event_shaped_json(values in vec(json_value(), 1..4)) {
        let lines: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        let data = lines.join("\n");
        let (reasons, ids) = outcome(data.as_bytes(), &Limits::default());
        // One item per non-blank line: every event is an event or a rejection.
        prop_assert_eq!(reasons.len() + ids.len(), lines.len());
        prop_assert!(ids.iter().all(|id| !id.is_empty()));
    }

    /// A valid event with bytes flipped, cut or inserted.
    #[test]
    fn the_parser_never_panics_on_mutated_events(
        i in 0u32..1000,
        edits in vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let mut data = valid_send(i);
        for (at, byte, op) in edits {
            let pos = at.index(data.len() + 1);
            match op {
                0 if pos < data.len() => data[pos] = byte,
                1 => data.insert(pos, byte),
                _ => data.truncate(pos.max(1)),
            }
        }
        let (reasons, ids) = outcome(&data, &Limits::default());
        prop_assert!(!reasons.is_empty() || !ids.is_empty());
    }

    /// gzip is transparent: a compressed record comes to what its payload comes to.
    #[test]
    fn gzip_is_transparent(values in vec(json_value(), 1..3), valid in 0usize..3) {
        let mut lines: Vec<Vec<u8>> = values.iter().map(|v| v.to_string().into_bytes()).collect();
        lines.extend((0..valid).map(|i| valid_send(i as u32)));
        let data = lines.join(&b'\n');
        prop_assert_eq!(outcome(&gzip(&data), &Limits::default()), outcome(&data, &Limits::default()));
    }

    /// Newline-delimited events are judged one by one: a record of several lines comes to the
    /// concatenation of what each line comes to alone.
    #[test]
    fn a_multi_event_record_is_its_lines(values in vec(json_value(), 1..4), valid in 0usize..3) {
        let mut lines: Vec<Vec<u8>> = values.iter().map(|v| v.to_string().into_bytes()).collect();
        lines.extend((0..valid).map(|i| valid_send(i as u32)));
        let together = outcome(&lines.join(&b'\n'), &Limits::default());
        let (mut reasons, mut ids) = (Vec::new(), Vec::new());
        for l in &lines {
            let (r, i) = outcome(l, &Limits::default());
            reasons.extend(r);
            ids.extend(i);
        }
        prop_assert_eq!(together, (reasons, ids));
    }
}
