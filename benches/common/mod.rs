//! Shared by the benchmarks: windows of realistic traffic from the generator, cut to an exact
//! number of events, and the local pieces they run on.
#![allow(dead_code)]

use pushfeed::domain::window::Window;
use vendor_sim::{generate, GeneratedRecord, TrafficProfile, Truth};

/// The events a generated record holds (a malformed record counts as one).
pub fn events_in(r: &GeneratedRecord) -> usize {
    match &r.truth {
        Truth::Valid { events } | Truth::Duplicate { events } => events.len(),
        Truth::Malformed { .. } => 1,
    }
}

/// One minute of generated traffic holding at least `events` events (the records arriving first),
/// with the generator's default share of malformed records and re-deliveries (1% each). The
/// minute includes the generator's campaign burst, as a campaign peak would.
pub fn window_records(events: usize, seed: u64) -> (Window, Vec<GeneratedRecord>, usize) {
    let start_ms = TrafficProfile::default().start_ms;
    let mut rate = (events as f64 / 60.0 / 2.0).max(1.0);
    loop {
        let profile = TrafficProfile {
            start_ms,
            minutes: 1,
            rate_per_second: rate,
            seed,
            ..TrafficProfile::default()
        };
        let mut records = generate(&profile);
        let mut total = 0;
        let mut keep = records.len();
        for (i, r) in records.iter().enumerate() {
            if total >= events {
                keep = i;
                break;
            }
            total += events_in(r);
        }
        if total >= events {
            records.truncate(keep);
            return (Window::containing(start_ms), records, total);
        }
        rate *= 2.0;
    }
}

/// Peak resident set size of this process so far (VmHWM), in KiB.
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// Current resident set size (VmRSS), in KiB.
pub fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A temporary directory under the system's temp dir, removed when dropped.
pub fn temp_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temp dir")
}

/// The staging rows ReadWindow would write for `records`, per routed event type, in routing-file
/// order; duplicates within the records are kept (Load's dedupe sees them).
pub fn staging_rows(
    window: Window,
    records: &[GeneratedRecord],
    batch: &pushfeed::domain::keys::BatchId,
    routes: &pushfeed::domain::routes::RoutingTable,
) -> Vec<(String, Vec<u8>, u64)> {
    use pushfeed::domain::record::{for_each_item, Item};
    use pushfeed::domain::row::{write_row, RowContext};
    let mut out: Vec<(String, Vec<u8>, u64)> = routes
        .routes()
        .iter()
        .map(|r| (r.event_type.clone(), Vec::new(), 0))
        .collect();
    let limits = pushfeed::domain::event::Limits::default();
    let window_start = window.start_rfc3339();
    for r in records {
        let arrived_at = pushfeed::domain::window::format_timestamp_ms(r.arrival_ms);
        let ctx = RowContext {
            window,
            window_start: &window_start,
            arrived_at: &arrived_at,
            batch,
        };
        for_each_item(&r.data, r.arrival_ms, &limits, |item| {
            if let Item::Event(e) = item {
                if let Some(slot) = out.iter_mut().find(|(t, _, _)| *t == e.event_type) {
                    write_row(&mut slot.1, &e, &ctx, slot.2);
                    slot.2 += 1;
                }
            }
        });
    }
    out.retain(|(_, _, n)| *n > 0);
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("memory");
    enc.finish().expect("memory")
}
