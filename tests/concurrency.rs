//! Exactly once under concurrency, re-runs and faults, against one private PostgreSQL cluster:
//!
//! - two runs of one window at once, and a re-run started while a run is under way, leave every
//!   table exactly as one run does (and as the generator's ground truth says);
//! - a window run through the fault-injection layer, re-run after each failure as a person would
//!   after the failure email, ends with the same tables as a fault-free run;
//! - the dedupe merge: any interleaving of (re)loads of windows holding duplicate deliveries of
//!   the same events gives the same table, the first-arrived copy of each event (proptest, few
//!   cases).
//!
//! Each window runs through the state machine on the local executor (`pushfeed::machine`), with
//! its waits and retry intervals shortened (the Firehose stand-in flushes every 30 ms).
//! Each test starts its own private cluster under a temporary directory and stops it at the end,
//! even when it fails (the guard's Drop). Scenarios inside a test use their own database.
//! The two runs share one Firehose stand-in and one object store, as two executions share
//! Firehose and S3 in AWS; each has its own warehouse connection, so their load transactions
//! really do race in PostgreSQL.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pg_cluster::PgCluster;
use pushfeed::adapters::local::firehose::BufferHints;
use pushfeed::adapters::local::object_store::LocalObjectStore;
use pushfeed::adapters::local::postgres::PostgresWarehouse;
use pushfeed::adapters::local::stack::{start_private, Database, Home, LocalStack};
use pushfeed::adapters::local::stream::{LocalStream, PutRecord};
use pushfeed::domain::keys::ObjectKey;
use pushfeed::domain::window::{format_timestamp_ms, Window};
use pushfeed::faults::{
    FaultKind, FaultProfile, Faults, FaultyDelivery, FaultyNotifier, FaultyStore, FaultyStream,
    FaultyWarehouse,
};
use pushfeed::machine::{LocalPorts, LocalRunner, WindowSummary};
use pushfeed::ports::{Clock, Delivery, Notifier, ObjectStore, Stream, Warehouse};
use pushfeed::steps::Settings;
use vendor_sim::{generate, TrafficProfile, Truth};

struct FixedClock(i64);

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// The private cluster of one test; stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    cluster: Option<PgCluster>,
    runtime_conninfo: String,
}

impl Cluster {
    async fn start() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("pf-conc-")
            .tempdir()
            .unwrap();
        let (conninfo, started) = start_private(&dir.path().join("postgres"))
            .await
            .expect("the private PostgreSQL starts");
        Cluster {
            cluster: started,
            runtime_conninfo: conninfo,
            dir,
        }
    }

    /// A fresh database for one scenario.
    async fn database(&self, name: &str) -> String {
        let cluster = PgCluster::new(self.dir.path().join("postgres"));
        let c = cluster.clone();
        let name_owned = name.to_string();
        tokio::task::spawn_blocking(move || c.ensure_database(&name_owned))
            .await
            .unwrap()
            .expect("database created");
        let _ = &self.runtime_conninfo;
        cluster.connection_string(name)
    }

    /// A home directory for one scenario.
    fn home(&self, name: &str) -> Home {
        Home::new(self.dir.path().join(name))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(c) = self.cluster.take() {
            let _ = c.stop();
        }
    }
}

fn settings() -> Settings {
    Settings {
        deliver_backoff: Duration::from_millis(5),
        await_attempts: 400,
        ..Settings::default()
    }
}

fn hints() -> BufferHints {
    BufferHints {
        interval: Duration::from_millis(30),
        ..BufferHints::default()
    }
}

async fn start_stack(home: &Home, conninfo: &str) -> LocalStack {
    LocalStack::start(
        home.clone(),
        &settings().routes,
        Database::Url(conninfo.to_string()),
        hints(),
    )
    .await
    .expect("the local stack starts")
}

const WINDOW: &str = "2026-11-26T10:01Z";

fn window() -> Window {
    WINDOW.parse().unwrap()
}

fn clock() -> FixedClock {
    FixedClock(window().end_ms() + 10 * 60_000)
}

/// Generated traffic for the window, and the event ids each routed table must hold.
fn traffic(seed: u64) -> (Vec<PutRecord>, BTreeMap<String, BTreeSet<String>>) {
    let profile = TrafficProfile {
        start_ms: window().start_ms(),
        minutes: 1,
        rate_per_second: 8.0,
        seed,
        malformed: 0.02,
        duplicates: 0.05,
        ..TrafficProfile::default()
    };
    let settings = settings();
    let mut want: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut puts = Vec::new();
    for g in generate(&profile) {
        if !window().contains(g.arrival_ms) {
            continue;
        }
        if let Truth::Valid { events } = &g.truth {
            for e in events {
                if let Some(route) = settings.routes.for_type(&e.event_type) {
                    want.entry(route.table.clone())
                        .or_default()
                        .insert(e.id.clone());
                }
            }
        }
        puts.push(PutRecord {
            partition_key: g.partition_key,
            data: g.data,
            arrival_ms: Some(g.arrival_ms),
        });
    }
    (puts, want)
}

fn produce(home: &Home, puts: Vec<PutRecord>, shards: u32) -> Arc<dyn Stream> {
    let stream = LocalStream::open_or_create(home.stream_dir(), shards).unwrap();
    stream.put_records(puts).unwrap();
    Arc::new(stream)
}

/// Every routed table's rows, minus the columns that name the load (batch, load time): what "the
/// tables are exactly as one run leaves them" compares.
async fn tables(warehouse: &dyn Warehouse) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for route in settings().routes.routes() {
        let t = &route.table;
        let rows = warehouse
            .query(&format!(
                "SELECT (to_jsonb(t) - 'batch_id' - 'loaded_at')::text FROM {t} t ORDER BY event_id"
            ))
            .await
            .unwrap();
        let dupes = warehouse
            .query(&format!(
                "SELECT count(*) - count(DISTINCT event_id) FROM {t}"
            ))
            .await
            .unwrap();
        assert_eq!(dupes.rows[0][0].as_deref(), Some("0"), "{t} has duplicates");
        out.insert(
            t.clone(),
            rows.rows
                .into_iter()
                .map(|r| r[0].clone().unwrap_or_default())
                .collect(),
        );
    }
    out
}

fn ids(tables: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, BTreeSet<String>> {
    tables
        .iter()
        .filter(|(_, rows)| !rows.is_empty())
        .map(|(t, rows)| {
            let ids = rows
                .iter()
                .map(|r| {
                    serde_json::from_str::<serde_json::Value>(r).unwrap()["event_id"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
            (t.clone(), ids)
        })
        .collect()
}

/// The AwaitObjects loop's one-second Wait lasts 10 ms, and retry intervals 1/100 of theirs.
const HURRY: u32 = 100;

/// One window's execution of the state machine on these ports: the summary, or the
/// execution's status, error and cause.
async fn execute(
    ports: LocalPorts,
    window: Window,
    executions: &Path,
) -> Result<WindowSummary, String> {
    let runner = LocalRunner::new(
        ports,
        settings(),
        "pushfeed replay",
        executions.to_path_buf(),
    )
    .unwrap()
    .hurried(HURRY);
    let run = runner.run(window, "run").await.map_err(|e| e.to_string())?;
    match run.summary {
        Some(summary) if run.succeeded() => Ok(summary),
        _ => Err(format!(
            "window {window}: {:?} {}: {}",
            run.execution.status,
            run.execution.error.unwrap_or_default(),
            run.execution.cause.unwrap_or_default()
        )),
    }
}

async fn run(
    stream: Arc<dyn Stream>,
    store: Arc<dyn ObjectStore>,
    delivery: Arc<dyn Delivery>,
    warehouse: Arc<dyn Warehouse>,
    notifier: Arc<dyn Notifier>,
    executions: &Path,
) -> Result<WindowSummary, String> {
    let ports = LocalPorts {
        stream,
        store,
        delivery,
        warehouse,
        notifier,
        clock: Arc::new(clock()),
    };
    execute(ports, window(), executions).await
}

async fn run_on(
    stack: &LocalStack,
    stream: &Arc<dyn Stream>,
    warehouse: Arc<dyn Warehouse>,
) -> WindowSummary {
    let report = run(
        stream.clone(),
        stack.store.clone(),
        stack.firehose.clone(),
        warehouse,
        stack.outbox.clone(),
        &stack.home.executions_dir(),
    )
    .await
    .unwrap_or_else(|e| panic!("the run failed: {e}"));
    assert!(report.adds_up(), "{report:?}");
    report
}

/// The reference: one run of the window, alone.
async fn one_run(
    cluster: &Cluster,
    seed: u64,
) -> (
    BTreeMap<String, Vec<String>>,
    BTreeMap<String, BTreeSet<String>>,
) {
    let (puts, want) = traffic(seed);
    let home = cluster.home(&format!("one-{seed}"));
    let stream = produce(&home, puts, 2);
    let conninfo = cluster.database(&format!("one_{seed}")).await;
    let stack = start_stack(&home, &conninfo).await;
    run_on(&stack, &stream, stack.warehouse.clone()).await;
    let t = tables(stack.warehouse.as_ref()).await;
    stack.shutdown().await.unwrap();
    assert_eq!(
        ids(&t),
        want,
        "one run loads exactly the valid routed events"
    );
    (t, want)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runs_and_a_rerun_during_a_run_leave_the_tables_as_one_run_does() {
    let cluster = Cluster::start().await;
    let seed = 11;
    let (reference, _) = one_run(&cluster, seed).await;

    // Two runs of the window at once, each with its own warehouse connection.
    let (puts, _) = traffic(seed);
    let home = cluster.home("two");
    let stream = produce(&home, puts, 2);
    let conninfo = cluster.database("two").await;
    let stack = start_stack(&home, &conninfo).await;
    let second: Arc<dyn ObjectStore> = stack.store.clone();
    let other: Arc<dyn Warehouse> =
        Arc::new(PostgresWarehouse::connect(&conninfo, second).await.unwrap());
    let (a, b) = tokio::join!(
        run_on(&stack, &stream, stack.warehouse.clone()),
        run_on(&stack, &stream, other.clone())
    );
    assert_ne!(a.batch, b.batch, "two executions, two batches");
    assert_eq!(a.read.events, b.read.events);
    assert_eq!(a.rows_loaded(), b.rows_loaded());
    let inserted: u64 = a
        .loads
        .iter()
        .chain(&b.loads)
        .map(|l| l.rows_inserted)
        .sum();
    assert_eq!(
        inserted,
        a.rows_loaded(),
        "together they inserted each event once"
    );
    assert_eq!(
        tables(stack.warehouse.as_ref()).await,
        reference,
        "two runs at once"
    );

    // Then both again at once: re-runs read the checkpoint and change nothing.
    let (a, b) = tokio::join!(
        run_on(&stack, &stream, stack.warehouse.clone()),
        run_on(&stack, &stream, other.clone())
    );
    assert_eq!(
        (a.read.source.as_str(), b.read.source.as_str()),
        ("checkpoint", "checkpoint")
    );
    for l in a.loads.iter().chain(&b.loads) {
        assert_eq!((l.rows_inserted, l.rows_replaced), (0, 0), "{l:?}");
    }
    assert_eq!(
        tables(stack.warehouse.as_ref()).await,
        reference,
        "two re-runs at once"
    );
    drop(other);
    stack.shutdown().await.unwrap();

    // A re-run (a person's `pushfeed run --window`) started while the scheduled run is under
    // way: once the scheduled run has written its checkpoint, so the re-run reads its ranges.
    let (puts, _) = traffic(seed);
    let home = cluster.home("rerun");
    let stream = produce(&home, puts, 2);
    let conninfo = cluster.database("rerun").await;
    let stack = start_stack(&home, &conninfo).await;
    let second: Arc<dyn ObjectStore> = stack.store.clone();
    let other: Arc<dyn Warehouse> =
        Arc::new(PostgresWarehouse::connect(&conninfo, second).await.unwrap());
    let checkpoint = ObjectKey::Checkpoint { window: window() }.to_string();
    let scheduled = run_on(&stack, &stream, stack.warehouse.clone());
    let rerun = async {
        // Bounded: the scheduled run writes the checkpoint at the end of ReadWindow.
        for _ in 0..2000 {
            if stack.store.get(&checkpoint).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        run_on(&stack, &stream, other.clone()).await
    };
    let (s, r) = tokio::join!(scheduled, rerun);
    assert_eq!(s.read.source, "stream");
    assert_eq!(r.read.source, "checkpoint");
    assert_eq!(s.read.events, r.read.events);
    assert_eq!(
        tables(stack.warehouse.as_ref()).await,
        reference,
        "a re-run during a run"
    );
    drop(other);
    stack.shutdown().await.unwrap();
}

/// The window through the fault-injection layer: every failure is followed by a re-run, as a
/// person would after the failure email, until one run succeeds. Faults per kind are capped, so
/// the loop ends by construction: each failed run used up at least one fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_reruns_end_with_the_tables_of_a_fault_free_run() {
    let cluster = Cluster::start().await;
    let seed = 12;
    let (reference, _) = one_run(&cluster, seed).await;

    let (puts, _) = traffic(seed);
    let home = cluster.home("chaos");
    let stream = produce(&home, puts, 2);
    let conninfo = cluster.database("chaos").await;
    let stack = start_stack(&home, &conninfo).await;
    let mut profile = FaultProfile::uniform(seed, 0.05)
        .with(FaultKind::DeliveryPartialFailure, 0.3)
        .with(FaultKind::DeliveryDuplicate, 0.3)
        .with(FaultKind::ObjectsLate, 0.3)
        .with(FaultKind::WarehouseCrashAfterCommit, 0.3)
        .with(FaultKind::DeliveryCrashAfterAccept, 0.2)
        .with(FaultKind::NotifierFailure, 0.5)
        .with(FaultKind::NotifierFailureAfterPublish, 0.5);
    profile.max_per_kind = Some(3);
    let faults = Faults::new(profile);
    let f_stream: Arc<dyn Stream> = Arc::new(FaultyStream::new(stream, faults.clone()));
    let f_store: Arc<dyn ObjectStore> =
        Arc::new(FaultyStore::new(stack.store.clone(), faults.clone()));
    let f_delivery: Arc<dyn Delivery> =
        Arc::new(FaultyDelivery::new(stack.firehose.clone(), faults.clone()));
    let f_warehouse: Arc<dyn Warehouse> = Arc::new(FaultyWarehouse::new(
        stack.warehouse.clone(),
        faults.clone(),
    ));
    let f_notifier: Arc<dyn Notifier> =
        Arc::new(FaultyNotifier::new(stack.outbox.clone(), faults.clone()));
    let bound = FaultKind::ALL.len() * 3 + 1;
    let mut failures = Vec::new();
    let mut report = None;
    let executions = stack.home.executions_dir();
    for _ in 0..bound {
        let attempt = run(
            f_stream.clone(),
            f_store.clone(),
            f_delivery.clone(),
            f_warehouse.clone(),
            f_notifier.clone(),
            &executions,
        );
        match attempt.await {
            Ok(r) => {
                report = Some(r);
                break;
            }
            Err(e) => failures.push(e),
        }
    }
    let report = report.unwrap_or_else(|| panic!("no run succeeded: {failures:#?}"));
    assert!(report.adds_up());
    assert!(faults.log().total() > 0, "faults were injected");
    let got = tables(stack.warehouse.as_ref()).await;
    stack.shutdown().await.unwrap();
    assert_eq!(
        got,
        reference,
        "after {} failed runs and these faults:\n{}",
        failures.len(),
        faults.log().summary()
    );
    eprintln!(
        "{} failed runs before a success; faults injected:\n{}",
        failures.len(),
        faults.log().summary()
    );
}

// ---------------------------------------------------------------------------------------------
// The dedupe merge

mod merge {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    const EVENTS: usize = 5;
    const WINDOWS: i64 = 3;

    /// One delivery of an event: which event, in which window, at which second.
    #[derive(Debug, Clone)]
    struct Delivery {
        event: usize,
        window: i64,
        second: i64,
    }

    fn event_line(event: usize, arrival_ms: i64) -> Vec<u8> {
        // A re-delivery repeats id, type, occurred, device and body; `processed` differs.
        format!(
            r#"{{"id":"merge-{event}","type":"SEND","occurred":"2026-11-26T09:59:00.000Z","processed":"{}","device":{{"channel":"c-{event}"}},"body":{{"push_id":"p-{event}"}}}}"#,
            format_timestamp_ms(arrival_ms)
        )
        .into_bytes()
    }

    fn first() -> Window {
        window()
    }

    /// The table the merge must end with: per event, the copy that arrived first.
    fn expected(deliveries: &[Delivery]) -> BTreeMap<String, String> {
        let mut best: BTreeMap<usize, i64> = BTreeMap::new();
        for d in deliveries {
            let at = first().minus_minutes(-d.window).start_ms() + d.second * 1000;
            let e = best.entry(d.event).or_insert(at);
            *e = (*e).min(at);
        }
        best.into_iter()
            .map(|(e, at)| (format!("merge-{e}"), format_timestamp_ms(at)))
            .collect()
    }

    async fn table(warehouse: &dyn Warehouse) -> BTreeMap<String, String> {
        let rows = warehouse
            .query("SELECT event_id, raw->>'processed' FROM push_sends ORDER BY event_id")
            .await
            .unwrap();
        rows.rows
            .into_iter()
            .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
            .collect()
    }

    /// One case: produce the deliveries, run the windows in `order` (repeats are re-runs; a pair
    /// flagged `true` runs at once with the next), and return the table.
    async fn case(
        cluster: &Cluster,
        n: usize,
        deliveries: &[Delivery],
        order: &[(i64, bool)],
    ) -> BTreeMap<String, String> {
        let home = cluster.home(&format!("merge-{n}"));
        let mut puts: Vec<(i64, PutRecord)> = deliveries
            .iter()
            .map(|d| {
                let at = first().minus_minutes(-d.window).start_ms() + d.second * 1000;
                (
                    at,
                    PutRecord {
                        partition_key: "one-shard".into(),
                        data: event_line(d.event, at),
                        arrival_ms: Some(at),
                    },
                )
            })
            .collect();
        // Arrival times never go back within a shard.
        puts.sort_by_key(|(at, _)| *at);
        let stream = produce(&home, puts.into_iter().map(|(_, p)| p).collect(), 1);
        let conninfo = cluster.database(&format!("merge_{n}")).await;
        let stack = start_stack(&home, &conninfo).await;
        let second: Arc<dyn ObjectStore> = stack.store.clone();
        let other: Arc<dyn Warehouse> =
            Arc::new(PostgresWarehouse::connect(&conninfo, second).await.unwrap());
        let go = |w: i64, warehouse: &'static str| {
            let stack = &stack;
            let stream = &stream;
            let other = &other;
            async move {
                let clock = FixedClock(first().minus_minutes(-w).end_ms() + 60 * 60_000);
                let wh: Arc<dyn Warehouse> = if warehouse == "a" {
                    stack.warehouse.clone()
                } else {
                    other.clone()
                };
                let ports = LocalPorts {
                    stream: stream.clone(),
                    store: stack.store.clone(),
                    delivery: stack.firehose.clone(),
                    warehouse: wh,
                    notifier: stack.outbox.clone(),
                    clock: Arc::new(clock),
                };
                let executions = stack.home.executions_dir();
                let r = execute(ports, first().minus_minutes(-w), &executions)
                    .await
                    .unwrap_or_else(|e| panic!("window {w}: {e}"));
                assert!(r.adds_up());
            }
        };
        let mut i = 0;
        while i < order.len() {
            let (w, together) = order[i];
            if together && i + 1 < order.len() {
                tokio::join!(go(w, "a"), go(order[i + 1].0, "b"));
                i += 2;
            } else {
                go(w, "a").await;
                i += 1;
            }
        }
        let got = table(stack.warehouse.as_ref()).await;
        drop(other);
        stack.shutdown().await.unwrap();
        got
    }

    #[test]
    fn any_interleaving_of_duplicate_deliveries_gives_the_same_table() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let cluster = rt.block_on(Cluster::start());
        let deliveries = prop::collection::vec(
            (0..EVENTS, 0..WINDOWS, 0i64..60).prop_map(|(event, window, second)| Delivery {
                event,
                window,
                second,
            }),
            1..12,
        );
        // Every window at least once, in any order, some again, some pairs at once.
        let order = (
            Just((0..WINDOWS).collect::<Vec<_>>()).prop_shuffle(),
            prop::collection::vec(0..WINDOWS, 0..3),
            prop::collection::vec(any::<bool>(), 6),
        )
            .prop_map(|(mut all, again, together)| {
                all.extend(again);
                all.into_iter()
                    .zip(together.into_iter().chain(std::iter::repeat(false)))
                    .collect::<Vec<(i64, bool)>>()
            });
        let mut runner = TestRunner::new(Config {
            cases: 6,
            failure_persistence: None,
            ..Config::default()
        });
        let n = std::sync::atomic::AtomicUsize::new(0);
        let result = runner.run(&(deliveries, order), |(deliveries, order)| {
            let n = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let got = rt.block_on(case(&cluster, n, &deliveries, &order));
            prop_assert_eq!(got, expected(&deliveries), "order {:?}", order);
            Ok(())
        });
        drop(cluster);
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Races found once, each kept as the repro that proves it stays fixed.

/// Two `pushfeed run` processes on one fresh home both succeed. Three races once made the second
/// fail: concurrent `CREATE ... IF NOT EXISTS` in apply_schema (23505 on pg_class), the Firehose
/// stand-in's flushers claiming the same buffer file (NotFound), and the process that started
/// the private cluster stopping it under the other ("connection closed").
#[test]
fn two_pushfeed_run_processes_on_one_home() {
    let home = common::TempHome::new();
    let file = common::fixture("known-events.ndjson");
    let put = home.pushfeed(&[
        "--json",
        "produce",
        "--file",
        file.to_str().unwrap(),
        "--at",
        "2026-11-26T10:01:30Z",
    ]);
    assert!(put.status.success());
    for round in 0..3 {
        let spawn = || {
            std::process::Command::new(env!("CARGO_BIN_EXE_pushfeed"))
                .arg("--home")
                .arg(home.path())
                .args(["--json", "run", "--window", WINDOW])
                .env("PUSHFEED_FIREHOSE_INTERVAL_MS", "50")
                .env_remove("PUSHFEED_DATABASE_URL")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        assert!(
            a.status.success() && b.status.success(),
            "round {round}:\n{}\n{}",
            common::stderr(&a),
            common::stderr(&b)
        );
    }
}

/// An event id holding `"` or `\` is valid, but AwaitObjects never counts it: `RowTags` borrows
/// `&str`, which fails on an escaped JSON string, and scan_delivered skips the line.
#[tokio::test]
async fn an_event_id_with_an_escaped_quote_is_counted_as_delivered() {
    use pushfeed::adapters::local::firehose::LocalFirehose;
    use pushfeed::steps::contract::ReadWindowInput;
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let line = br#"{"id":"quote\"id","type":"SEND","occurred":"2026-11-26T10:01:00Z","processed":"2026-11-26T10:01:00Z","body":{"push_id":"p"}}"#;
    let stream = produce(
        &home,
        vec![PutRecord {
            partition_key: "k".into(),
            data: line.to_vec(),
            arrival_ms: Some(window().start_ms() + 1000),
        }],
        1,
    );
    let store = Arc::new(LocalObjectStore::new(home.bucket_dir(), "b"));
    let settings = settings();
    let read = pushfeed::steps::read_window(
        stream.as_ref(),
        store.as_ref(),
        &clock(),
        &settings,
        ReadWindowInput {
            window: Some(window()),
            ..ReadWindowInput::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(read.routes.len(), 1, "the event is valid and routed");
    let route = &read.routes[0];
    let firehose = LocalFirehose::new(
        home.firehose_dir(),
        store.clone(),
        settings.routes.clone(),
        hints(),
    );
    let branch = read.branch(route);
    pushfeed::steps::deliver(store.as_ref(), &firehose, &settings, branch.clone())
        .await
        .unwrap();
    firehose.flush(true).await.unwrap();
    let out = pushfeed::steps::await_objects(store.as_ref(), &settings, branch)
        .await
        .unwrap();
    assert_eq!(out.arrived, 1, "the delivered event is counted");
}

/// Two copies of one event in one window on different shards: ReadWindow once kept the copy of
/// the lower shard id, not the first-arrived one. It now stages both, merged by arrival and
/// numbered in that order; the load keeps the first-arrived (tests/local_adapters.rs
/// `postgres_load_types_every_column_and_refuses_a_bad_row`).
#[tokio::test]
async fn in_window_duplicates_across_shards_keep_the_first_arrived_copy() {
    use pushfeed::adapters::local::stream::shard_for_key;
    use pushfeed::steps::contract::ReadWindowInput;
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let key_for = |shard: u32| {
        (0..)
            .map(|i| format!("k{i}"))
            .find(|k| shard_for_key(k, 2) == shard)
            .unwrap()
    };
    let copy = |processed: &str| {
        format!(r#"{{"id":"dup-1","type":"SEND","occurred":"2026-11-26T10:00:00Z","processed":"{processed}","body":{{"push_id":"p"}}}}"#).into_bytes()
    };
    let early = window().start_ms() + 5_000;
    let late = window().start_ms() + 50_000;
    let stream = produce(
        &home,
        vec![
            PutRecord {
                partition_key: key_for(1),
                data: copy("2026-11-26T10:01:05Z"),
                arrival_ms: Some(early),
            },
            PutRecord {
                partition_key: key_for(0),
                data: copy("2026-11-26T10:01:50Z"),
                arrival_ms: Some(late),
            },
        ],
        2,
    );
    let store = LocalObjectStore::new(home.bucket_dir(), "b");
    let read = pushfeed::steps::read_window(
        stream.as_ref(),
        &store,
        &clock(),
        &settings(),
        ReadWindowInput {
            window: Some(window()),
            ..ReadWindowInput::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(read.routes[0].count, 2);
    let staged = store.get(&read.routes[0].staging_key).await.unwrap();
    let rows: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&staged)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let arrivals: Vec<(&serde_json::Value, &serde_json::Value)> =
        rows.iter().map(|r| (&r["row"], &r["arrived_at"])).collect();
    assert_eq!(
        arrivals,
        [
            (
                &serde_json::json!(0),
                &serde_json::json!(format_timestamp_ms(early))
            ),
            (
                &serde_json::json!(1),
                &serde_json::json!(format_timestamp_ms(late))
            )
        ],
        "copies are numbered in arrival order, whatever their shards"
    );
}

#[allow(dead_code)]
fn unused(_: &Path) {}
