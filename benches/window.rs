//! The local window end to end: the state machine on the local executor (read → deliver → await
//! → load) on a `LocalStack` (private PostgreSQL, Firehose stand-in flushing every 50 ms, the
//! AwaitObjects loop's Wait shortened to 25 ms), at 10k and 100k events;
//! `PUSHFEED_BENCH_SIZES=10000,100000,1000000` picks others.
//!
//! Each sample is a fresh home with the window produced into its stream beforehand (not timed)
//! and empty tables. Each step's time comes from the last sample's execution history (the
//! Lambda invocations' start and end), summed over the branches, which run side by side: what
//! the Lambda invocations of that step would take.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use asl::History;
use pushfeed::adapters::local::firehose::BufferHints;
use pushfeed::adapters::local::stack::{start_private, Database, Home, LocalStack};
use pushfeed::adapters::local::stream::{LocalStream, PutRecord};
use pushfeed::machine::{LocalPorts, LocalRunner, LOCAL_WAIT_SECONDS};
use pushfeed::ports::{SystemClock, Warehouse};
use pushfeed::steps::Settings;

/// The AwaitObjects loop's Wait: one second on the local executor, here 25 ms.
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
    let mut history = History::default();
    for s in 0..samples {
        let stack = fresh_stack(root, &format!("run-{n}-{s}"), conninfo, &settings).await;
        produce(&stack.home, &records);
        let ports = LocalPorts {
            stream: Arc::new(stack.stream().expect("stream")),
            store: stack.store.clone(),
            delivery: stack.firehose.clone(),
            warehouse: stack.warehouse.clone(),
            notifier: stack.outbox.clone(),
            clock: Arc::new(SystemClock),
        };
        let divisor = (u128::from(LOCAL_WAIT_SECONDS) * 1000 / POLL.as_millis()) as u32;
        let runner = LocalRunner::new(
            ports,
            settings.clone(),
            "pushfeed replay",
            stack.home.executions_dir(),
        )
        .expect("the state machine")
        .hurried(divisor);
        let t = Instant::now();
        let run = runner.run(window, "bench").await.expect("execution");
        secs.push(t.elapsed().as_secs_f64());
        let summary = run.summary.unwrap_or_else(|| {
            panic!(
                "window {window} failed: {:?} {:?}",
                run.execution.error, run.execution.cause
            )
        });
        assert!(summary.adds_up());
        loaded = summary.rows_loaded();
        history = run.execution.history;
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
    let steps = step_times(&history);
    let step = |name: &str| steps.get(name).copied().unwrap_or_default();
    println!(
        "  steps (summed over branches): ReadWindow {:.2} s, Deliver {:.2} s, AwaitObjects {:.2} s ({} calls), Load {:.2} s",
        step("ReadWindow").0,
        step("Deliver").0,
        step("AwaitObjects").0,
        step("AwaitObjects").1,
        step("Load").0,
    );
}

/// Seconds spent in each Task state's successful Lambda invocations, and how many there were:
/// from `LambdaFunctionStarted` to `LambdaFunctionSucceeded`, each invocation named by the
/// `TaskStateEntered` its events chain back to (iterations of a Map run interleaved).
fn step_times(history: &History) -> BTreeMap<String, (f64, u32)> {
    let by_id: HashMap<u64, &asl::HistoryEvent> =
        history.events.iter().map(|e| (e.id, e)).collect();
    let mut out: BTreeMap<String, (f64, u32)> = BTreeMap::new();
    for done in history.of_type("LambdaFunctionSucceeded") {
        let mut at = by_id.get(&done.previous_event_id).copied();
        let mut started = None;
        while let Some(e) = at {
            match e.event_type.as_str() {
                "LambdaFunctionStarted" => started = e.millis(),
                "TaskStateEntered" => {
                    let name = e.detail().and_then(|d| d["name"].as_str()).unwrap_or("?");
                    let ms = done.millis().unwrap_or(0) - started.unwrap_or(0);
                    let slot = out.entry(name.to_string()).or_default();
                    slot.0 += ms as f64 / 1000.0;
                    slot.1 += 1;
                    break;
                }
                _ => {}
            }
            at = by_id.get(&e.previous_event_id).copied();
        }
    }
    out
}
