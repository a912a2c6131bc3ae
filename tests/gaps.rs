//! Every minute accounted for, end to end on the local stack: an hour of traffic of which only
//! some windows ran (some failed under the fault layer, one lost a ledger row), then `gaps` lists
//! exactly the others with their states, `catch-up` repairs them so the tables equal a run of
//! every window in order, and a second `catch-up` does nothing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::{json_ok, stderr, stdout, TempHome};
use pushfeed::adapters::local::firehose::LocalFirehose;
use pushfeed::adapters::local::stack::{Database, Home, LocalStack};
use pushfeed::adapters::local::stream::{LocalStream, PutRecord};
use pushfeed::domain::routes::RoutingTable;
use pushfeed::domain::window::{now_ms, Window};
use pushfeed::faults::{FaultKind, FaultProfile, Faults, FaultyStream, FaultyWarehouse};
use pushfeed::machine::{LocalPorts, LocalRunner};
use pushfeed::ports::{Delivery, PortResult, PutOutcome, SystemClock, Warehouse};
use pushfeed::steps::Settings;
use serde_json::Value;
use vendor_sim::{generate, TrafficProfile};

const MINUTES: u32 = 60;

/// On the virtual clock the AwaitObjects loop takes no real time, so the Firehose stand-in
/// writes its objects as each batch is put.
struct FlushOnPut(Arc<LocalFirehose>);

#[async_trait::async_trait]
impl Delivery for FlushOnPut {
    async fn put_batch(&self, stream: &str, records: &[&[u8]]) -> PortResult<PutOutcome> {
        let outcome = self.0.put_batch(stream, records).await?;
        self.0.flush(true).await?;
        Ok(outcome)
    }
}

fn ports(stack: &LocalStack, home: &Home) -> LocalPorts {
    LocalPorts {
        stream: Arc::new(LocalStream::open(home.stream_dir()).unwrap()),
        store: stack.store.clone(),
        delivery: Arc::new(FlushOnPut(stack.firehose.clone())),
        warehouse: stack.warehouse.clone(),
        notifier: stack.outbox.clone(),
        clock: Arc::new(SystemClock),
    }
}

fn settings() -> Settings {
    Settings {
        routes: RoutingTable::default_routes(),
        ..Settings::default()
    }
}

/// Each table's rows without the columns a run sets, ordered by event id.
async fn dump(warehouse: &dyn Warehouse) -> BTreeMap<String, Vec<Vec<Option<String>>>> {
    let mut out = BTreeMap::new();
    for r in RoutingTable::default_routes().routes() {
        let cols: Vec<&str> = r
            .profile()
            .columns()
            .iter()
            .map(|c| c.name)
            .filter(|n| *n != "batch_id" && *n != "loaded_at")
            .collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY event_id",
            cols.join(", "),
            r.table
        );
        out.insert(r.table.clone(), warehouse.query(&sql).await.unwrap().rows);
    }
    out
}

fn put_traffic(home: &Home, first: Window, seed: u64) -> usize {
    let traffic = generate(&TrafficProfile {
        start_ms: first.start_ms(),
        minutes: MINUTES,
        rate_per_second: 1.0,
        seed,
        malformed: 0.02,
        duplicates: 0.05,
        ..TrafficProfile::default()
    });
    let stream = LocalStream::open_or_create(home.stream_dir(), 2).unwrap();
    stream
        .put_records(
            traffic
                .iter()
                .map(|g| PutRecord {
                    partition_key: g.partition_key.clone(),
                    data: g.data.clone(),
                    arrival_ms: Some(g.arrival_ms),
                })
                .collect(),
        )
        .unwrap();
    traffic.len()
}

async fn start(home: &Home) -> LocalStack {
    LocalStack::start(
        home.clone(),
        &RoutingTable::default_routes(),
        Database::Private,
        Default::default(),
    )
    .await
    .unwrap()
}

fn executions_count(home: &TempHome) -> usize {
    std::fs::read_dir(home.path().join("executions"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_lists_exactly_the_windows_not_complete_and_catch_up_repairs_them() {
    let (home, reference) = (TempHome::new(), TempHome::new());
    let (h, r) = (Home::new(home.path()), Home::new(reference.path()));
    // An hour that has settled, ending a few minutes ago.
    let last = Window::containing(now_ms()).minus_minutes(2);
    let first = last.minus_minutes(i64::from(MINUTES) - 1);
    let windows = Window::range_inclusive(first, last).unwrap();
    assert!(put_traffic(&h, first, 13) > 1_000);
    put_traffic(&r, first, 13);

    // The reference: every window once, in order.
    let stack = start(&r).await;
    let runner = LocalRunner::new(
        ports(&stack, &r),
        settings(),
        "pushfeed replay",
        r.executions_dir(),
    )
    .unwrap()
    .virtual_clock();
    for &w in &windows {
        assert!(
            runner.run(w, "reference").await.unwrap().succeeded(),
            "reference {w}"
        );
    }
    let want_tables = dump(stack.warehouse.as_ref()).await;
    stack.shutdown().await.unwrap();

    // The home under test: a third of the windows never run (the schedule skipped them), some
    // fail at the load, one fails before anything is read, one loses a ledger row.
    let mut expected: BTreeMap<Window, &str> = BTreeMap::new();
    let stack = start(&h).await;
    let plain = ports(&stack, &h);
    let load_fails =
        Faults::new(FaultProfile::none(1).with(FaultKind::WarehouseSerializationFailure, 1.0));
    let outage = Faults::new(FaultProfile::none(1).with(FaultKind::StreamThrottled, 1.0));
    let runner = LocalRunner::new(
        plain.clone(),
        settings(),
        "pushfeed replay",
        h.executions_dir(),
    )
    .unwrap()
    .virtual_clock();
    let failing_load = runner.with_ports(LocalPorts {
        warehouse: Arc::new(FaultyWarehouse::new(plain.warehouse.clone(), load_fails)),
        ..plain.clone()
    });
    let failing_read = runner.with_ports(LocalPorts {
        stream: Arc::new(FaultyStream::new(plain.stream.clone(), outage)),
        ..plain.clone()
    });
    for (i, &w) in windows.iter().enumerate() {
        let run = match i % 6 {
            0 | 3 => {
                expected.insert(w, "missing");
                continue;
            }
            1 if i % 12 == 1 => {
                expected.insert(w, "failed");
                failing_load.run(w, "first").await.unwrap()
            }
            4 if i == 4 => {
                expected.insert(w, "failed");
                failing_read.run(w, "first").await.unwrap()
            }
            _ => runner.run(w, "first").await.unwrap(),
        };
        assert_eq!(run.succeeded(), !expected.contains_key(&w), "window {w}");
    }
    // A window whose ledger row went missing after its run succeeded.
    let partial = windows[5];
    let deleted = stack
        .warehouse
        .query(&format!(
            "WITH d AS (DELETE FROM pushfeed_loads WHERE window_start = '{}' AND event_type = (SELECT MIN(event_type) FROM pushfeed_loads WHERE window_start = '{}') RETURNING 1) SELECT COUNT(*) FROM d",
            partial.start_rfc3339(),
            partial.start_rfc3339()
        ))
        .await
        .unwrap();
    assert_eq!(deleted.rows[0][0].as_deref(), Some("1"));
    expected.insert(partial, "partial");
    stack.shutdown().await.unwrap();

    // The checkpoint of a window that ran names the types it routed.
    let cp: Value = serde_json::from_slice(
        &std::fs::read(
            home.path()
                .join(format!("s3/checkpoints/window={}.json", windows[2])),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(!cp["routed"].as_array().unwrap().is_empty(), "{cp}");

    let (from, to) = (first.to_string(), last.to_string());
    let range = ["--from", from.as_str(), "--to", to.as_str()];
    let with = |cmd: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        v.extend(range.iter().map(|s| s.to_string()));
        v
    };
    let run =
        |args: Vec<String>| home.pushfeed(&args.iter().map(String::as_str).collect::<Vec<_>>());

    // gaps: exactly the windows not complete, each with its state, and exit status 3.
    let out = run(with(&["--json", "gaps"]));
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}\n{}",
        stderr(&out),
        stdout(&out)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: BTreeMap<Window, String> = report["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["window"].as_str().unwrap().parse().unwrap(),
                g["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: BTreeMap<Window, String> =
        expected.iter().map(|(w, s)| (*w, s.to_string())).collect();
    assert_eq!(got, want);
    assert_eq!(report["windows"], MINUTES as u64);
    let gap = |w: Window| {
        report["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["window"] == w.to_string())
            .unwrap()
            .clone()
    };
    // The load failed: every routed type is unloaded. The read failed: nothing was routed.
    assert!(!gap(windows[1])["unloaded"].as_array().unwrap().is_empty());
    assert_eq!(gap(windows[4])["unloaded"], serde_json::json!([]));
    assert_eq!(gap(windows[4])["only_in_stream"], true);
    assert_eq!(gap(windows[5])["unloaded"].as_array().unwrap().len(), 1);
    let missing = gap(windows[0]);
    assert_eq!(
        missing["repair"],
        format!(
            "pushfeed catch-up --home {} --from {} --to {}",
            home.path().display(),
            windows[0],
            windows[0]
        )
    );
    let left = missing["minutes_left"].as_i64().unwrap();
    assert!((22 * 60..24 * 60).contains(&left), "{left} minutes left");

    // The text form: one line per gap with its state and repair command.
    let out = run(with(&["gaps"]));
    assert_eq!(out.status.code(), Some(3));
    let text = stdout(&out);
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("pushfeed catch-up"))
            .count(),
        expected.len() + 1,
        "{text}"
    );
    assert!(text.contains("partial ("), "{text}");

    // status: the same counts, and each table's freshness.
    let status = json_ok(&run(with(&["--json", "status"])));
    assert_eq!(
        status["missing"],
        expected.values().filter(|s| **s == "missing").count()
    );
    assert_eq!(
        status["failed"],
        expected.values().filter(|s| **s == "failed").count()
    );
    assert_eq!(status["partial"], 1);
    assert_eq!(status["oldest_gap"]["window"], first.to_string());
    assert!(status["tables"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["age_seconds"].is_number()));

    // catch-up repairs every one of them.
    let out = run(with(&["--json", "catch-up", "--parallel", "3"]));
    let done = json_ok(&out);
    let repaired: BTreeSet<String> = done["repaired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        repaired,
        expected
            .keys()
            .map(|w| w.to_string())
            .collect::<BTreeSet<_>>()
    );
    assert_eq!(done["failed"], serde_json::json!([]));

    let out = run(with(&["gaps"]));
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!("all {MINUTES} windows")),
        "{}",
        stdout(&out)
    );

    // A second catch-up does nothing.
    let before = executions_count(&home);
    let out = run(with(&["catch-up"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("nothing to catch up"),
        "{}",
        stdout(&out)
    );
    assert_eq!(executions_count(&home), before);

    // The tables equal the run of every window in order.
    let stack = start(&h).await;
    let got_tables = dump(stack.warehouse.as_ref()).await;
    stack.shutdown().await.unwrap();
    assert_eq!(
        got_tables.values().map(Vec::len).sum::<usize>(),
        want_tables.values().map(Vec::len).sum::<usize>()
    );
    assert!(
        got_tables == want_tables,
        "the tables differ from the reference run"
    );
}

#[test]
fn gaps_refuses_a_bad_range_in_one_sentence() {
    let home = TempHome::new();
    let out = home.pushfeed(&[
        "gaps",
        "--from",
        "2026-11-26T10:05Z",
        "--to",
        "2026-11-26T10:01Z",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is empty"), "{}", stderr(&out));
    let out = home.pushfeed(&["catch-up", "--from", "yesterday"]);
    assert!(
        stderr(&out).contains("--from: window `yesterday`"),
        "{}",
        stderr(&out)
    );
}
