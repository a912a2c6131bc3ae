//! The local window end to end: read → deliver → await → load with `run_window` (the
//! step-by-step driver of `tests/common/runner.rs`) on a
//! `LocalStack` (private PostgreSQL, Firehose stand-in flushing every 50 ms, AwaitObjects polling
//! every 25 ms), at 10k and 100k events; `PUSHFEED_BENCH_SIZES=10000,100000,1000000` picks others.
//!
//! Each sample is a fresh home with the window produced into its stream beforehand (not timed)
//! and empty tables. A second pass per size calls the steps one by one to time each, which is
//! what a Lambda invocation of that step would take.

mod common;
// The step-by-step window driver (test support since runs go through the state machine): it
// calls the same steps in the state machine's order, without the ASL executor's overhead.
#[path = "../tests/common/runner.rs"]
#[allow(dead_code)]
mod runner;

use std::path::Path;
use std::time::{Duration, Instant};

use pushfeed::adapters::local::firehose::BufferHints;
use pushfeed::adapters::local::stack::{start_private, Database, Home, LocalStack};
use pushfeed::adapters::local::stream::{LocalStream, PutRecord};
use pushfeed::domain::window::Window;
use pushfeed::ports::{SystemClock, Warehouse};
use pushfeed::steps::contract::ReadWindowInput;
use pushfeed::steps::{self, Settings};
use runner::{run_window, Ports};

const POLL: Duration = Duration::from_millis(25);

fn main() {
    let sizes: Vec<usize> = std::env::var("PUSHFEED_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = common::temp_dir("pf-window-");
    let (conninfo, cluster) = rt
        .block_on(start_private(&dir.path().join("postgres")))
        .expect("private PostgreSQL");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for n in sizes {
            rt.block_on(bench(dir.path(), &conninfo, n));
        }
    }));
    if let Some(cluster) = cluster {
        let _ = cluster.stop();
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

fn produce(home: &Home, records: &[vendor_sim::GeneratedRecord]) {
    let stream = LocalStream::open_or_create(home.stream_dir(), 4).expect("stream");
    let puts = records
        .iter()
        .map(|r| PutRecord {
            partition_key: r.partition_key.clone(),
            data: r.data.clone(),
            arrival_ms: Some(r.arrival_ms),
        })
        .collect();
    stream.put_records(puts).expect("put");
}

async fn fresh_stack(root: &Path, name: &str, conninfo: &str, settings: &Settings) -> LocalStack {
    let hints = BufferHints {
        interval: Duration::from_millis(50),
        ..BufferHints::default()
    };
    let stack = LocalStack::start(
        Home::new(root.join(name)),
        &settings.routes,
        Database::Url(conninfo.to_string()),
        hints,
    )
    .await
    .expect("stack");
    let truncate: Vec<String> = settings
        .routes
        .routes()
        .iter()
        .map(|r| format!("TRUNCATE {}", r.table))
        .collect();
    stack
        .warehouse
        .apply_schema(&truncate)
        .await
        .expect("truncate");
    stack
}

async fn bench(root: &Path, conninfo: &str, n: usize) {
    // Polling every 25 ms, the default 20 checks give a busy machine only half a second to flush.
    let settings = Settings {
        await_attempts: 2_000,
        ..Settings::default()
    };
    let samples = if n >= 1_000_000 { 1 } else { 3 };
    let (window, records, events) = common::window_records(n, 5);
    let bytes: usize = records.iter().map(|r| r.data.len()).sum();
    let mut secs = Vec::new();
    let mut loaded = 0;
    for s in 0..samples {
        let stack = fresh_stack(root, &format!("run-{n}-{s}"), conninfo, &settings).await;
        produce(&stack.home, &records);
        let stream = stack.stream().expect("stream");
        let ports = Ports {
            stream: &stream,
            store: stack.store.as_ref(),
            delivery: stack.firehose.as_ref(),
            warehouse: stack.warehouse.as_ref(),
            notifier: stack.outbox.as_ref(),
            clock: &SystemClock,
        };
        let t = Instant::now();
        let report = run_window(&ports, &settings, window, POLL, "bench")
            .await
            .expect("window");
        secs.push(t.elapsed().as_secs_f64());
        assert!(report.adds_up());
        loaded = report.rows_loaded();
        stack.shutdown().await.expect("shutdown");
        let _ = std::fs::remove_dir_all(root.join(format!("run-{n}-{s}")));
    }
    secs.sort_by(f64::total_cmp);
    let median = secs[secs.len() / 2];
    println!(
        "window {events} events ({} records, {:.1} MB, {loaded} rows loaded): median {median:.2} s over {samples} (fastest {:.2} s), {:.0} events/s",
        records.len(),
        bytes as f64 / 1e6,
        secs[0],
        events as f64 / median
    );

    // The steps one by one, branches in turn, each timed.
    let stack = fresh_stack(root, &format!("steps-{n}"), conninfo, &settings).await;
    produce(&stack.home, &records);
    drop(records);
    let stream = stack.stream().expect("stream");
    let store = stack.store.as_ref();
    let t = Instant::now();
    let read = steps::read_window(
        &stream,
        store,
        &SystemClock,
        &settings,
        ReadWindowInput {
            window: Some(window),
            ..ReadWindowInput::default()
        },
    )
    .await
    .expect("read");
    let read_s = t.elapsed().as_secs_f64();
    let (mut deliver_s, mut await_s, mut await_calls, mut load_s) = (0.0, 0.0, 0, 0.0);
    let mut wait_s = 0.0;
    for route in &read.routes {
        let mut branch = read.branch(route);
        let t = Instant::now();
        steps::deliver(store, stack.firehose.as_ref(), &settings, branch.clone())
            .await
            .expect("deliver");
        deliver_s += t.elapsed().as_secs_f64();
        loop {
            let t = Instant::now();
            let out = steps::await_objects(store, &settings, branch.clone())
                .await
                .expect("await");
            await_s += t.elapsed().as_secs_f64();
            await_calls += 1;
            if out.complete {
                break;
            }
            branch.attempt = out.attempt;
            let t = Instant::now();
            tokio::time::sleep(POLL).await;
            wait_s += t.elapsed().as_secs_f64();
        }
        let t = Instant::now();
        steps::load(store, stack.warehouse.as_ref(), &settings, branch)
            .await
            .expect("load");
        load_s += t.elapsed().as_secs_f64();
    }
    println!(
        "  steps: ReadWindow {read_s:.2} s, Deliver {deliver_s:.2} s ({} types), AwaitObjects {await_s:.2} s ({await_calls} calls; {wait_s:.2} s waiting between), Load {load_s:.2} s",
        read.routes.len()
    );
    stack.shutdown().await.expect("shutdown");
    let _ = window as Window;
}
