//! Peak memory of ReadWindow and of Deliver as the window grows: each step runs in a fresh
//! process, as each runs in its own Lambda invocation, and reports its peak resident set
//! (VmHWM from /proc/self/status).
//!
//! `cargo bench -p pushfeed --bench memory` runs windows of 10k and 1M events;
//! `PUSHFEED_BENCH_SIZES=10000,100000` picks others. The local stream, object store and
//! Firehose stand-in (without its flusher, which in AWS is the Firehose service) are the ports.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use pushfeed::adapters::local::firehose::{BufferHints, LocalFirehose};
use pushfeed::adapters::local::object_store::LocalObjectStore;
use pushfeed::adapters::local::stream::{LocalStream, PutRecord};
use pushfeed::ports::{ObjectStore, SystemClock};
use pushfeed::steps::contract::{ReadWindowInput, ReadWindowOutput};
use pushfeed::steps::{self, Settings};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // For profiling one step by hand: `memory --produce DIR N`, then `memory --child read DIR`.
    if let Some(i) = args.iter().position(|a| a == "--produce") {
        let dir = PathBuf::from(&args[i + 1]);
        let (records, bytes) = produce(&dir, args[i + 2].parse().expect("events"));
        println!("{records} records, {bytes} bytes in {}", dir.display());
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let step = args[i + 1].clone();
        let dir = PathBuf::from(&args[i + 2]);
        return child(&step, &dir);
    }
    let sizes: Vec<usize> = std::env::var("PUSHFEED_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 1_000_000]);
    println!(
        "{:>9} {:>8} {:>9} {:>10} {:>12} {:>10} {:>12}",
        "events", "records", "MB read", "read s", "read MiB", "deliver s", "deliver MiB"
    );
    let mut peaks = Vec::new();
    for n in sizes {
        let dir = common::temp_dir("pf-mem-");
        let (records, bytes) = produce(dir.path(), n);
        let read = run_child("read", dir.path());
        let deliver = run_child("deliver", dir.path());
        println!(
            "{:>9} {:>8} {:>9.1} {:>10.2} {:>12.1} {:>10.2} {:>12.1}",
            n,
            records,
            bytes as f64 / 1e6,
            read.0,
            read.1 as f64 / 1024.0,
            deliver.0,
            deliver.1 as f64 / 1024.0
        );
        peaks.push((n, read.1, deliver.1));
    }
    if let (Some(first), Some(last)) = (peaks.first(), peaks.last()) {
        if last.0 > first.0 {
            println!(
                "growth {}→{} events: ReadWindow ×{:.2}, Deliver ×{:.2}",
                first.0,
                last.0,
                last.1 as f64 / first.1 as f64,
                last.2 as f64 / first.2 as f64
            );
        }
    }
}

/// Generates a window of `n` events into a fresh local stream; returns records and bytes.
fn produce(dir: &Path, n: usize) -> (usize, usize) {
    let (_, records, _) = common::window_records(n, 42);
    let stream = LocalStream::open_or_create(dir.join("stream"), 4).expect("stream");
    let count = records.len();
    let bytes = records.iter().map(|r| r.data.len()).sum();
    let puts = records
        .into_iter()
        .map(|r| PutRecord {
            partition_key: r.partition_key,
            data: r.data,
            arrival_ms: Some(r.arrival_ms),
        })
        .collect();
    stream.put_records(puts).expect("put");
    (count, bytes)
}

/// Runs one step in a fresh process; returns (seconds, peak RSS KiB).
fn run_child(step: &str, dir: &Path) -> (f64, u64) {
    let out = Command::new(std::env::current_exe().expect("exe"))
        .args(["--child", step])
        .arg(dir)
        .output()
        .expect("child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{step} failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .expect("a RESULT line");
    let mut it = line.split_whitespace();
    let secs = it.next().and_then(|v| v.parse().ok()).expect("seconds");
    let kib = it.next().and_then(|v| v.parse().ok()).expect("KiB");
    (secs, kib)
}

fn child(step: &str, dir: &Path) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let settings = Settings::default();
    let store = Arc::new(LocalObjectStore::new(dir.join("s3"), "pushfeed-bench"));
    let started = Instant::now();
    match step {
        "read" => {
            let stream = LocalStream::open(dir.join("stream")).expect("stream");
            let window = pushfeed::domain::window::Window::containing(
                vendor_sim::TrafficProfile::default().start_ms,
            );
            let out = rt
                .block_on(steps::read_window(
                    &stream,
                    store.as_ref(),
                    &SystemClock,
                    &settings,
                    ReadWindowInput {
                        window: Some(window),
                        ..ReadWindowInput::default()
                    },
                ))
                .expect("read_window");
            std::fs::write(
                dir.join("read.json"),
                serde_json::to_vec(&out).expect("json"),
            )
            .expect("write read.json");
        }
        "deliver" => {
            let read: ReadWindowOutput =
                serde_json::from_slice(&std::fs::read(dir.join("read.json")).expect("read.json"))
                    .expect("read output");
            let dyn_store: Arc<dyn ObjectStore> = store.clone();
            let firehose = LocalFirehose::new(
                dir.join("firehose"),
                dyn_store,
                settings.routes.clone(),
                BufferHints::default(),
            );
            rt.block_on(async {
                for route in &read.routes {
                    let branch = read.branch(route);
                    steps::deliver(store.as_ref(), &firehose, &settings, branch)
                        .await
                        .expect("deliver");
                }
            });
        }
        other => panic!("unknown step {other}"),
    }
    println!(
        "RESULT {:.3} {}",
        started.elapsed().as_secs_f64(),
        common::peak_rss_kib()
    );
}
