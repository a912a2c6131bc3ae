//! `pushfeed chaos`: generated traffic through the state machine with faults injected into every
//! port, failed windows re-run as a person would after the failure email, and the invariant
//! checked against the generator's ground truth and a fault-free run of the same traffic.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use serde::Serialize;

use crate::adapters::local::outbox::LocalOutbox;
use crate::adapters::local::stack::{Database, Home, LocalStack};
use crate::adapters::local::stream::{LocalStream, PutRecord};
use crate::domain::routes::RoutingTable;
use crate::domain::window::{now_ms, Window};
use crate::faults::{
    FaultKind, FaultProfile, Faults, FaultyDelivery, FaultyNotifier, FaultyStore, FaultyStream,
    FaultyWarehouse,
};
use crate::machine::{LocalPorts, LocalRunner};
use crate::ports::{ObjectStore, SystemClock, Warehouse};
use crate::steps::Settings;
use vendor_sim::{generate, GeneratedRecord, TrafficProfile, Truth};

pub struct ChaosOptions {
    pub windows: u32,
    pub seed: u64,
    pub faults: FaultProfile,
    /// Mean events per second of the generated traffic.
    pub rate: f64,
    /// Every this many windows, the first execution meets a stream outage it cannot retry past,
    /// so failures are notified and windows re-executed on every run.
    pub outage_every: u32,
}

/// What a chaos run did and found. `lost` and `duplicated` must be 0.
#[derive(Debug, Serialize)]
pub struct ChaosReport {
    pub home: PathBuf,
    pub windows: u32,
    pub records: u64,
    pub valid_events: u64,
    pub malformed_records: u64,
    pub faults: BTreeMap<&'static str, u64>,
    pub fault_kinds_not_injected: Vec<&'static str>,
    /// Task attempts that failed and were retried by the state machine.
    pub retries: u64,
    pub executions_failed: u64,
    pub failures_notified: u64,
    pub reexecutions: u64,
    /// Windows whose start the schedule skipped, and how many of them catch-up ran (every one
    /// that `gaps` listed); `gaps_after_catch_up` must be 0.
    pub schedule_skips: u64,
    pub caught_up: u64,
    pub gaps_after_catch_up: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub rejected_missing: u64,
    pub raw_records_missing: u64,
    pub tables_equal_reference: bool,
}

impl ChaosReport {
    pub fn holds(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.rejected_missing == 0
            && self.raw_records_missing == 0
            && self.tables_equal_reference
            && self.gaps_after_catch_up == 0
    }
}

const MAX_EXECUTIONS_PER_WINDOW: u32 = 10;

pub async fn chaos(root: &Path, routes: &RoutingTable, opts: &ChaosOptions) -> Result<ChaosReport> {
    let run_dir = root
        .join("chaos")
        .join(format!("seed-{}-{}", opts.seed, now_ms()));
    let (faulty_home, reference_home) = (
        Home::new(run_dir.join("faulty")),
        Home::new(run_dir.join("reference")),
    );
    let settings = Settings {
        routes: routes.clone(),
        // On the virtual clock the AwaitObjects loop costs no time; late objects need more checks.
        await_attempts: 500,
        ..Settings::default()
    };
    // The last window must have settled, or ReadWindow would refuse it (on the virtual clock its
    // retries pass in no time): end the traffic a settle time before now.
    let current = Window::containing(now_ms() - settings.settle_ms - 1_000);
    let first = current.minus_minutes(i64::from(opts.windows));
    let windows = Window::range_inclusive(first, current.previous())?;
    let traffic = generate(&TrafficProfile {
        start_ms: first.start_ms(),
        minutes: opts.windows,
        rate_per_second: opts.rate,
        seed: opts.seed,
        malformed: 0.02,
        duplicates: 0.05,
        ..TrafficProfile::default()
    });
    for home in [&faulty_home, &reference_home] {
        let stream = LocalStream::open_or_create(home.stream_dir(), 4)?;
        stream.put_records(
            traffic
                .iter()
                .map(|g| PutRecord {
                    partition_key: g.partition_key.clone(),
                    data: g.data.clone(),
                    arrival_ms: Some(g.arrival_ms),
                })
                .collect(),
        )?;
    }

    // The fault-free reference run.
    let reference = LocalStack::start(
        reference_home.clone(),
        routes,
        Database::Private,
        Default::default(),
    )
    .await?;
    let outcome = run_reference(&reference, &reference_home, &settings, &windows).await;
    let reference_tables = match outcome {
        Ok(()) => dump_tables(reference.warehouse.as_ref(), routes).await,
        Err(e) => Err(e),
    };
    reference.shutdown().await?;
    let reference_tables = reference_tables?;

    // The faulty run.
    let stack = LocalStack::start(
        faulty_home.clone(),
        routes,
        Database::Private,
        Default::default(),
    )
    .await?;
    let result = run_faulty(&stack, &faulty_home, &settings, &windows, opts).await;
    let checked = match result {
        Ok(counts) => check(&stack, routes, &traffic, &reference_tables, counts).await,
        Err(e) => Err(e),
    };
    stack.shutdown().await?;
    let mut report = checked?;
    report.home = run_dir;
    report.windows = opts.windows;
    Ok(report)
}

/// On the virtual clock the AwaitObjects loop's Wait takes no real time, so a Firehose stand-in
/// that flushes on a real-time interval could be checked hundreds of times before it writes. In a
/// chaos run it writes its objects as each batch is put instead; late and duplicated objects are
/// the fault layer's job.
struct FlushOnPut(Arc<crate::adapters::local::firehose::LocalFirehose>);

#[async_trait::async_trait]
impl crate::ports::Delivery for FlushOnPut {
    async fn put_batch(
        &self,
        stream: &str,
        records: &[&[u8]],
    ) -> crate::ports::PortResult<crate::ports::PutOutcome> {
        let outcome = self.0.put_batch(stream, records).await?;
        self.0.flush(true).await?;
        Ok(outcome)
    }
}

fn local_ports(stack: &LocalStack, home: &Home) -> Result<LocalPorts> {
    Ok(LocalPorts {
        stream: Arc::new(LocalStream::open(home.stream_dir())?),
        store: stack.store.clone(),
        delivery: Arc::new(FlushOnPut(stack.firehose.clone())),
        warehouse: stack.warehouse.clone(),
        notifier: stack.outbox.clone(),
        clock: Arc::new(SystemClock),
    })
}

async fn run_reference(
    stack: &LocalStack,
    home: &Home,
    settings: &Settings,
    windows: &[Window],
) -> Result<()> {
    let runner = LocalRunner::new(
        local_ports(stack, home)?,
        settings.clone(),
        "pushfeed replay",
        home.executions_dir(),
    )?
    .virtual_clock();
    for &w in windows {
        let run = runner.run(w, "reference").await?;
        if !run.succeeded() {
            return Err(anyhow!(
                "the fault-free reference run failed window {w}: {:?}",
                run.execution.error
            ));
        }
    }
    Ok(())
}

struct RunCounts {
    faults: Arc<Faults>,
    retries: u64,
    executions_failed: u64,
    reexecutions: u64,
    schedule_skips: u64,
    caught_up: u64,
    gaps_after_catch_up: u64,
}

async fn run_faulty(
    stack: &LocalStack,
    home: &Home,
    settings: &Settings,
    windows: &[Window],
    opts: &ChaosOptions,
) -> Result<RunCounts> {
    let faults = Faults::new(opts.faults.clone());
    let plain = local_ports(stack, home)?;
    let faulty = LocalPorts {
        stream: Arc::new(FaultyStream::new(plain.stream.clone(), faults.clone())),
        store: Arc::new(FaultyStore::new(plain.store.clone(), faults.clone())),
        delivery: Arc::new({
            let firehose = stack.firehose.clone();
            FaultyDelivery::new(plain.delivery.clone(), faults.clone()).with_tear(Arc::new(
                move |stream: &str, records: &[&[u8]]| firehose.tear_append(stream, records),
            ))
        }),
        warehouse: Arc::new(FaultyWarehouse::new(
            plain.warehouse.clone(),
            faults.clone(),
        )),
        notifier: Arc::new(FaultyNotifier::new(plain.notifier.clone(), faults.clone())),
        clock: plain.clock.clone(),
    };
    // An outage: the stream refuses every read, more often than ReadWindow's retries allow.
    let outage_faults =
        Faults::new(FaultProfile::none(opts.seed).with(FaultKind::StreamThrottled, 1.0));
    let outage = LocalPorts {
        stream: Arc::new(FaultyStream::new(faulty.stream.clone(), outage_faults)),
        ..faulty.clone()
    };
    let runner = LocalRunner::new(
        faulty,
        settings.clone(),
        "pushfeed replay",
        home.executions_dir(),
    )?
    .virtual_clock();
    let outage_runner = runner.with_ports(outage);
    let mut counts = RunCounts {
        faults: faults.clone(),
        retries: 0,
        executions_failed: 0,
        reexecutions: 0,
        schedule_skips: 0,
        caught_up: 0,
        gaps_after_catch_up: 0,
    };
    let bar = crate::catch_up::terminal_bar(windows.len() as u64, "windows");
    for (i, &w) in windows.iter().enumerate() {
        if let Some(b) = &bar {
            b.inc(1);
        }
        if faults.schedule_skips(w) {
            counts.schedule_skips += 1;
            continue;
        }
        run_until_done(&runner, &outage_runner, w, i, opts, &mut counts).await?;
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    // Nothing ran the skipped windows: as in production, the audit finds them and catch-up runs
    // every window `gaps` lists, under the same faults.
    let sources = |log| crate::audit::Sources {
        store: stack.store.as_ref(),
        warehouse: stack.warehouse.as_ref(),
        executions: log,
        routes: &settings.routes,
    };
    let log = crate::audit::LocalExecutions {
        dir: home.executions_dir(),
        lag_minutes: settings.lag_minutes,
    };
    let (first, last) = (windows[0], windows[windows.len() - 1]);
    let gaps = accounting_gaps(&sources(&log), first, last).await?;
    for w in gaps {
        counts.caught_up += 1;
        // The window's first execution is now: it meets the outage its schedule would have.
        let i = windows.iter().position(|x| *x == w).unwrap_or(0);
        run_until_done(&runner, &outage_runner, w, i, opts, &mut counts).await?;
    }
    counts.gaps_after_catch_up = accounting_gaps(&sources(&log), first, last).await?.len() as u64;
    Ok(counts)
}

/// The windows `gaps` would list for `first..=last`.
async fn accounting_gaps(
    sources: &crate::audit::Sources<'_>,
    first: Window,
    last: Window,
) -> Result<Vec<Window>> {
    let gathered = crate::audit::gather(sources, first, last).await?;
    Ok(
        crate::domain::accounting::gaps(gathered.facts.iter().map(|(w, f)| (*w, f)), 24)
            .into_iter()
            .map(|g| g.window)
            .collect(),
    )
}

/// Runs a window until an execution succeeds, re-executing after each failure as a person would
/// after the failure email.
async fn run_until_done(
    runner: &LocalRunner,
    outage_runner: &LocalRunner,
    w: Window,
    i: usize,
    opts: &ChaosOptions,
    counts: &mut RunCounts,
) -> Result<()> {
    let mut attempt = 0;
    loop {
        let in_outage =
            attempt == 0 && opts.outage_every > 0 && (i as u32).is_multiple_of(opts.outage_every);
        let run = if in_outage {
            outage_runner.run(w, "chaos").await?
        } else {
            runner.run(w, "chaos").await?
        };
        counts.retries += run.execution.history.of_type("TaskFailed").count() as u64
            + run
                .execution
                .history
                .of_type("LambdaFunctionFailed")
                .count() as u64;
        if run.succeeded() {
            break;
        }
        counts.executions_failed += 1;
        attempt += 1;
        if attempt >= MAX_EXECUTIONS_PER_WINDOW {
            return Err(anyhow!(
                "window {w} still failed after {attempt} executions: {:?} {:?}",
                run.execution.error,
                run.execution.cause
            ));
        }
        // The person reads the email and re-runs the window.
        counts.reexecutions += 1;
    }
    Ok(())
}

/// Each table's rows without the columns a run sets (batch_id, loaded_at), ordered by event id.
async fn dump_tables(
    warehouse: &dyn Warehouse,
    routes: &RoutingTable,
) -> Result<BTreeMap<String, Vec<Vec<Option<String>>>>> {
    let mut out = BTreeMap::new();
    for r in routes.routes() {
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
        out.insert(r.table.clone(), warehouse.query(&sql).await?.rows);
    }
    Ok(out)
}

async fn read_lines(store: &dyn ObjectStore, key: &str) -> Result<Vec<serde_json::Value>> {
    let bytes = store.get(key).await?;
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .with_context(|| format!("inflating {key}"))?;
        out
    } else {
        bytes
    };
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).with_context(|| format!("a line of {key}")))
        .collect()
}

async fn check(
    stack: &LocalStack,
    routes: &RoutingTable,
    traffic: &[GeneratedRecord],
    reference: &BTreeMap<String, Vec<Vec<Option<String>>>>,
    counts: RunCounts,
) -> Result<ChaosReport> {
    let store = stack.store.as_ref();
    let warehouse = stack.warehouse.as_ref();
    // Ground truth: each valid event's table, and each malformed record's reason.
    let mut expected: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut valid = BTreeSet::new();
    let mut malformed: BTreeMap<String, u64> = BTreeMap::new();
    for g in traffic {
        match &g.truth {
            Truth::Valid { events } | Truth::Duplicate { events } => {
                for e in events {
                    valid.insert(e.id.clone());
                    if let Some(route) = routes.for_type(&e.event_type) {
                        expected
                            .entry(route.table.clone())
                            .or_default()
                            .insert(e.id.clone());
                    }
                }
            }
            Truth::Malformed { reason } => *malformed.entry(reason.to_string()).or_default() += 1,
        }
    }
    let (mut lost, mut duplicated) = (0u64, 0u64);
    for r in routes.routes() {
        let rows = warehouse
            .query(&format!(
                "SELECT event_id, COUNT(*) FROM {} GROUP BY event_id",
                r.table
            ))
            .await?
            .rows;
        let mut present = BTreeSet::new();
        for row in rows {
            let id = row[0].clone().unwrap_or_default();
            if row[1].as_deref() != Some("1") {
                duplicated += 1;
            }
            present.insert(id);
        }
        let want = expected.remove(&r.table).unwrap_or_default();
        lost += want.difference(&present).count() as u64;
        // A row no valid event explains is as wrong as a duplicate.
        duplicated += present.difference(&want).count() as u64;
    }
    // Every malformed record is in rejected/ with its reason, counted once however often its
    // window was read.
    let mut rejected: BTreeMap<(String, String, u64), String> = BTreeMap::new();
    for meta in store.list("rejected/").await? {
        for v in read_lines(store, &meta.key).await? {
            let key = (
                v["shard"].as_str().unwrap_or_default().to_string(),
                v["sequence_number"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                v["line"].as_u64().unwrap_or(0),
            );
            rejected.insert(key, v["reason"].as_str().unwrap_or_default().to_string());
        }
    }
    let mut found: BTreeMap<String, u64> = BTreeMap::new();
    for reason in rejected.values() {
        *found.entry(reason.clone()).or_default() += 1;
    }
    let rejected_missing = malformed
        .iter()
        .map(|(reason, n)| n.saturating_sub(*found.get(reason).unwrap_or(&0)))
        .sum();
    // The raw archive holds every record put.
    let mut archived = BTreeSet::new();
    for meta in store.list("raw/").await? {
        for v in read_lines(store, &meta.key).await? {
            archived.insert((
                v["shard"].as_str().unwrap_or_default().to_string(),
                v["sequence_number"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ));
        }
    }
    let raw_records_missing = (traffic.len() as u64).saturating_sub(archived.len() as u64);
    let tables = dump_tables(warehouse, routes).await?;
    let outbox = LocalOutbox::new(stack.home.outbox_dir(), false)
        .messages()?
        .len() as u64;
    let log = counts.faults.log();
    Ok(ChaosReport {
        home: PathBuf::new(),
        windows: 0,
        records: traffic.len() as u64,
        valid_events: valid.len() as u64,
        malformed_records: malformed.values().sum(),
        faults: log.snapshot(),
        fault_kinds_not_injected: log.missing().into_iter().map(|k| k.name()).collect(),
        retries: counts.retries,
        executions_failed: counts.executions_failed,
        failures_notified: outbox,
        reexecutions: counts.reexecutions,
        schedule_skips: counts.schedule_skips,
        caught_up: counts.caught_up,
        gaps_after_catch_up: counts.gaps_after_catch_up,
        lost,
        duplicated,
        rejected_missing,
        raw_records_missing,
        tables_equal_reference: &tables == reference,
    })
}
