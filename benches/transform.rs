//! The transform, per core: a Kinesis record's bytes into staging rows (split + gzip + parse +
//! validate in `for_each_item`, route with `RoutingTable::for_type`, serialize with `write_row`),
//! beside a plain `serde_json` parse of the same bytes into borrowed typed structs, the practical
//! ceiling. Throughput is over the records' bytes as they sit in Kinesis.
//!
//! `cargo bench -p pushfeed --bench transform`. One thread, so the figures are per core.

mod common;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use divan::counter::{BytesCount, ItemsCount};
use divan::Bencher;
use serde::Deserialize;

use pushfeed::domain::event::Limits;
use pushfeed::domain::keys::BatchId;
use pushfeed::domain::record::{for_each_item, inflate, lines, Item};
use pushfeed::domain::routes::RoutingTable;
use pushfeed::domain::row::{write_row, RowContext};
use pushfeed::domain::window::{format_timestamp_ms, Window};
use vendor_sim::GeneratedRecord;

/// Events in the benchmark's input: about 20 MB of records.
const EVENTS: usize = 20_000;

struct Input {
    window: Window,
    records: Vec<GeneratedRecord>,
    events: usize,
    bytes: usize,
}

fn input() -> &'static Input {
    static INPUT: OnceLock<Input> = OnceLock::new();
    INPUT.get_or_init(|| {
        let (window, records, events) = common::window_records(EVENTS, 7);
        let bytes = records.iter().map(|r| r.data.len()).sum();
        Input {
            window,
            records,
            events,
            bytes,
        }
    })
}

fn main() {
    let i = input();
    eprintln!(
        "transform input: {} records, {} events, {} bytes ({:.0} bytes/event)",
        i.records.len(),
        i.events,
        i.bytes,
        i.bytes as f64 / i.events as f64
    );
    divan::main();
}

/// What ReadWindow does per record, minus the I/O: every event routed into its type's buffer.
fn transform(input: &Input, routes: &RoutingTable, out: &mut HashMap<&'static str, Vec<u8>>) {
    let limits = Limits::default();
    let batch: BatchId = "bench".parse().expect("batch id");
    let window_start = input.window.start_rfc3339();
    let (mut rejected, mut unrouted) = (0usize, 0usize);
    for r in &input.records {
        let arrived_at = format_timestamp_ms(r.arrival_ms);
        let ctx = RowContext {
            window: input.window,
            window_start: &window_start,
            arrived_at: &arrived_at,
            batch: &batch,
        };
        for_each_item(&r.data, r.arrival_ms, &limits, |item| match item {
            Item::Event(event) => match routes.for_type(&event.event_type) {
                Some(route) => {
                    let key: &'static str = ROUTED
                        .iter()
                        .find(|t| **t == route.event_type)
                        .expect("default routes");
                    write_row(out.get_mut(key).expect("buffer"), &event, &ctx, 0);
                }
                None => unrouted += 1,
            },
            Item::Rejected { .. } => rejected += 1,
        });
    }
    divan::black_box((rejected, unrouted));
}

const ROUTED: [&str; 7] = vendor_sim::ROUTED_TYPES;

fn buffers() -> HashMap<&'static str, Vec<u8>> {
    ROUTED.iter().map(|t| (*t, Vec::new())).collect()
}

/// Parse + validate + route + serialize the staging rows.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn transform_full(b: Bencher) {
    let i = input();
    let routes = RoutingTable::default_routes();
    let mut out = buffers();
    b.counter(BytesCount::new(i.bytes))
        .counter(ItemsCount::new(i.events))
        .bench_local(|| {
            out.values_mut().for_each(Vec::clear);
            transform(i, &routes, &mut out);
        });
}

/// Parse + validate only (`for_each_item`), no row written: the share of `write_row`.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn validate_only(b: Bencher) {
    let i = input();
    let limits = Limits::default();
    b.counter(BytesCount::new(i.bytes))
        .counter(ItemsCount::new(i.events))
        .bench_local(|| {
            let mut n = 0usize;
            for r in &i.records {
                for_each_item(&r.data, r.arrival_ms, &limits, |item| {
                    if let Item::Event(e) = item {
                        n += e.raw.len();
                    }
                });
            }
            divan::black_box(n)
        });
}

// The ceiling: the vendor's event into borrowed typed structs, every field the transform reads,
// with no validation, no timestamp parsing and no output.

#[derive(Deserialize)]
#[allow(dead_code)]
struct Ceiling<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    event_type: Cow<'a, str>,
    #[serde(borrow)]
    occurred: Cow<'a, str>,
    #[serde(borrow)]
    processed: Cow<'a, str>,
    #[serde(borrow)]
    offset: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow)]
    device: Option<CeilingDevice<'a>>,
    #[serde(borrow)]
    user: Option<CeilingUser<'a>>,
    #[serde(borrow)]
    body: Option<CeilingBody<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct CeilingDevice<'a> {
    #[serde(borrow)]
    channel: Option<Cow<'a, str>>,
    #[serde(borrow)]
    device_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ios_channel: Option<Cow<'a, str>>,
    #[serde(borrow)]
    android_channel: Option<Cow<'a, str>>,
    #[serde(borrow)]
    amazon_channel: Option<Cow<'a, str>>,
    #[serde(borrow)]
    named_user_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    attributes: Option<CeilingAttributes<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct CeilingAttributes<'a> {
    #[serde(borrow)]
    iana_timezone: Option<Cow<'a, str>>,
    #[serde(borrow)]
    locale_country_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    app_version: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct CeilingUser<'a> {
    #[serde(borrow)]
    named_user_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct CeilingBody<'a> {
    #[serde(borrow)]
    push_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    group_id: Option<Cow<'a, str>>,
    variant_id: Option<i64>,
    #[serde(borrow)]
    reason: Option<Cow<'a, str>>,
    #[serde(borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    triggering_push: Option<CeilingPush<'a>>,
    #[serde(borrow)]
    last_delivered: Option<CeilingPush<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct CeilingPush<'a> {
    #[serde(borrow)]
    push_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    group_id: Option<Cow<'a, str>>,
    variant_id: Option<i64>,
    #[serde(borrow)]
    campaigns: Option<CeilingCampaigns<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct CeilingCampaigns<'a> {
    #[serde(borrow)]
    categories: Option<Vec<Cow<'a, str>>>,
}

/// A plain `serde_json::from_slice` per line into the structs above (gzip records inflated first,
/// as they must be for any parse). Malformed lines just fail.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn serde_ceiling(b: Bencher) {
    let i = input();
    let limits = Limits::default();
    b.counter(BytesCount::new(i.bytes))
        .counter(ItemsCount::new(i.events))
        .bench_local(|| {
            let mut ok = 0usize;
            for r in &i.records {
                let Ok(payload) = inflate(&r.data, &limits) else {
                    continue;
                };
                for (_, line) in lines(&payload) {
                    if let Ok(ev) = serde_json::from_slice::<Ceiling>(line) {
                        ok += ev.id.len();
                    }
                }
            }
            divan::black_box(ok)
        });
}
