//! Fuzzes the record parser: `for_each_item` on arbitrary bytes, the function ReadWindow calls
//! for every Kinesis record. Beyond "no panic, no hang", it checks the parser's contract:
//!
//! - every rejected part keeps bytes that are part of the record (or of its inflated payload);
//! - a whole-record rejection (line 0) keeps exactly the record's bytes;
//! - every accepted event's raw text is one JSON object, with a non-empty id and type, and
//!   timestamps inside the limits;
//! - the staging row made from an accepted event is JSON whose `event_id` reads back as the id.
//!
//! The first input byte picks the limits, so the small-limit paths (too_large, gzip caps) are
//! reached without megabyte inputs.
#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use pushfeed::domain::event::Limits;
use pushfeed::domain::keys::BatchId;
use pushfeed::domain::record::{for_each_item, inflate, Item};
use pushfeed::domain::row::{write_row, RowContext};
use pushfeed::domain::window::{format_timestamp_ms, Window};

const ARRIVAL_MS: i64 = 1_795_687_290_000; // 2026-11-26T10:01:30Z

#[derive(serde::Deserialize)]
struct Tags<'a> {
    #[serde(borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow)]
    batch_id: Cow<'a, str>,
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

fuzz_target!(|input: &[u8]| {
    let (limits, data) = match input.split_first() {
        Some((0, rest)) => (
            Limits {
                max_event_bytes: 512,
                max_inflated_bytes: 2048,
                ..Limits::default()
            },
            rest,
        ),
        Some((_, rest)) => (Limits::default(), rest),
        None => (Limits::default(), input),
    };
    let payload = inflate(data, &limits).ok();
    let window = Window::containing(ARRIVAL_MS);
    let window_start = window.start_rfc3339();
    let arrived_at = format_timestamp_ms(ARRIVAL_MS);
    let batch: BatchId = "fuzz".parse().unwrap();
    let ctx = RowContext {
        window,
        window_start: &window_start,
        arrived_at: &arrived_at,
        batch: &batch,
    };
    for_each_item(data, ARRIVAL_MS, &limits, |item| match item {
        Item::Rejected { line, bytes, .. } => {
            if line == 0 {
                assert_eq!(bytes, data, "a whole-record rejection keeps the record");
            } else {
                let p = payload
                    .as_deref()
                    .expect("lines come from an inflated payload");
                assert!(contains(p, bytes), "a rejected line is part of the payload");
            }
        }
        Item::Event(event) => {
            assert!(!event.id.is_empty() && !event.event_type.is_empty());
            assert!(event.raw.starts_with('{') && event.raw.ends_with('}'));
            serde_json::from_str::<serde::de::IgnoredAny>(event.raw).expect("raw is JSON");
            assert!(event.occurred_ms <= ARRIVAL_MS + limits.future_tolerance_ms);
            assert!(event.occurred_ms >= ARRIVAL_MS - limits.max_age_ms);
            let mut row = Vec::new();
            write_row(&mut row, &event, &ctx, 0);
            let tags: Tags = serde_json::from_slice(&row).expect("a staging row is JSON");
            assert_eq!(tags.event_id, event.id);
            assert_eq!(tags.batch_id, "fuzz");
        }
    });
});
