//! Every minute accounted for, as commands see it: gathers each window's facts through the ports
//! (checkpoints from the object store, ledger rows and freshness from the warehouse, executions
//! from an [`ExecutionLog`]) and turns the domain's verdicts into the reports `gaps`, `status`
//! and the audit print or publish.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use async_trait::async_trait;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::accounting::{
    self, classify, Counts, Freshness, Gap, LastExecution, WindowFacts, WindowState,
};
use crate::domain::keys::ObjectKey;
use crate::domain::routes::RoutingTable;
use crate::domain::window::{format_timestamp_ms, Window, MINUTE_MS};
use crate::ports::{ObjectStore, PortError, PortResult, Warehouse};

/// The longest range one command looks at: a week of windows.
pub const MAX_WINDOWS: usize = 7 * 24 * 60;
/// The command line's default look-back gives a window's run this long after its schedule fired
/// before it counts: a normal run takes two or three minutes.
pub const CLI_GRACE_MS: i64 = 5 * MINUTE_MS;
/// The audit counts a window only once its run is this late, so its alarms mean "missing or
/// failed for longer than 15 minutes".
pub const AUDIT_GRACE_MS: i64 = 15 * MINUTE_MS;
/// Checkpoints read at once.
const CONCURRENT_READS: usize = 16;

/// What the executions of the state machine say about windows: the one fact the object store and
/// the warehouse cannot give (a run going on, or one that failed before writing anything).
#[async_trait]
pub trait ExecutionLog: Send + Sync {
    /// The latest execution of each window in `from..=to` that is known.
    async fn latest(&self, from: Window, to: Window)
        -> PortResult<BTreeMap<Window, LastExecution>>;
}

/// The window an execution's input names: `{"window": W}` (a re-run) or
/// `{"scheduled_time": T}` (the schedule), with the input's lag or the stage's.
pub fn input_window(input: &Value, lag_minutes: u32) -> Option<Window> {
    if let Some(w) = input.get("window").and_then(Value::as_str) {
        return w.parse().ok();
    }
    let t = input.get("scheduled_time").and_then(Value::as_str)?;
    let lag = input
        .get("lag_minutes")
        .and_then(Value::as_u64)
        .and_then(|l| u32::try_from(l).ok())
        .unwrap_or(lag_minutes);
    Window::for_scheduled_time(t, lag).ok()
}

/// Keeps the latest of several executions of one window.
pub fn keep_latest(
    latest: &mut BTreeMap<Window, (i64, LastExecution)>,
    window: Window,
    started_ms: i64,
    state: LastExecution,
) {
    let entry = latest.entry(window).or_insert((started_ms, state));
    if started_ms >= entry.0 {
        *entry = (started_ms, state);
    }
}

/// The local state machine's executions, one JSON file each under the home's `executions/`.
pub struct LocalExecutions {
    pub dir: PathBuf,
    pub lag_minutes: u32,
}

#[async_trait]
impl ExecutionLog for LocalExecutions {
    async fn latest(
        &self,
        from: Window,
        to: Window,
    ) -> PortResult<BTreeMap<Window, LastExecution>> {
        let op = || format!("listing executions under {}", self.dir.display());
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(PortError::io(op(), e)),
        };
        let mut latest = BTreeMap::new();
        for entry in entries {
            let path = entry.map_err(|e| PortError::io(op(), e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            // Files being written start with a dot; anything else is not an execution.
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let Ok(e) = serde_json::from_slice::<LocalExecution>(&bytes) else {
                continue;
            };
            let Some(window) = input_window(&e.input, self.lag_minutes) else {
                continue;
            };
            if window < from || window > to {
                continue;
            }
            let state = match e.status.as_str() {
                "SUCCEEDED" => LastExecution::Succeeded,
                _ => LastExecution::Failed,
            };
            keep_latest(&mut latest, window, e.start_millis, state);
        }
        Ok(latest.into_iter().map(|(w, (_, s))| (w, s)).collect())
    }
}

/// What the local executor saves of an execution, as far as accounting needs it (a finished
/// execution only: the local executor writes its file when it ends).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocalExecution {
    status: String,
    input: Value,
    start_millis: i64,
}

/// The part of a checkpoint accounting reads; the rest (shard ranges) is ReadWindow's.
#[derive(Deserialize)]
struct CheckpointRoutes {
    #[serde(default)]
    routed: Option<Vec<String>>,
}

/// Where the facts come from.
pub struct Sources<'a> {
    pub store: &'a dyn ObjectStore,
    pub warehouse: &'a dyn Warehouse,
    pub executions: &'a dyn ExecutionLog,
    pub routes: &'a RoutingTable,
}

/// Each window's facts, and the newest window with a checkpoint (how far the reads have come).
pub struct Gathered {
    pub facts: BTreeMap<Window, WindowFacts>,
    pub newest_read: Option<Window>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("--from {from} --to {to} spans {count} windows; look at most a week ({MAX_WINDOWS}) at a time")]
    TooLong {
        from: Window,
        to: Window,
        count: usize,
    },
    #[error(transparent)]
    Window(#[from] crate::domain::window::WindowError),
    #[error("checking windows {from} to {to}: {source}")]
    Port {
        from: Window,
        to: Window,
        #[source]
        source: PortError,
    },
}

/// The windows from `from` to `to`, both included, refusing more than [`MAX_WINDOWS`].
pub fn windows(from: Window, to: Window) -> Result<Vec<Window>, AuditError> {
    let all = Window::range_inclusive(from, to)?;
    if all.len() > MAX_WINDOWS {
        return Err(AuditError::TooLong {
            from,
            to,
            count: all.len(),
        });
    }
    Ok(all)
}

/// The distinct `checkpoints/window=YYYY-MM-DDTHH:` prefixes of a range: one listing per hour, so
/// a day costs 25 listings however many checkpoints the bucket has kept.
fn hour_prefixes(windows: &[Window]) -> BTreeSet<String> {
    windows
        .iter()
        .map(|w| {
            let name = w.to_string();
            format!("checkpoints/window={}", &name[..name.len().min(14)])
        })
        .collect()
}

/// The facts of every window from `from` to `to`.
pub async fn gather(
    sources: &Sources<'_>,
    from: Window,
    to: Window,
) -> Result<Gathered, AuditError> {
    let all = windows(from, to)?;
    let port = |source| AuditError::Port { from, to, source };
    let mut checkpointed = BTreeSet::new();
    for prefix in hour_prefixes(&all) {
        for meta in sources.store.list(&prefix).await.map_err(port)? {
            if let Ok(ObjectKey::Checkpoint { window }) = ObjectKey::parse(&meta.key) {
                if window >= from && window <= to {
                    checkpointed.insert(window);
                }
            }
        }
    }
    let store = sources.store;
    let routed: BTreeMap<Window, BTreeSet<String>> = stream::iter(checkpointed.iter().copied())
        .map(|window| async move { routed_types(store, window).await.map(|r| (window, r)) })
        .buffer_unordered(CONCURRENT_READS)
        .try_collect()
        .await
        .map_err(port)?;
    let ledger = sources
        .warehouse
        .query(&accounting::ledger_query(from, to))
        .await
        .map_err(port)?;
    let mut loaded = accounting::ledger_rows(&ledger.rows);
    let mut executions = sources.executions.latest(from, to).await.map_err(port)?;
    let mut routed = routed;
    let facts = all
        .iter()
        .map(|&w| {
            (
                w,
                WindowFacts {
                    routed: routed.remove(&w),
                    loaded: loaded.remove(&w).unwrap_or_default(),
                    last_execution: executions.remove(&w),
                },
            )
        })
        .collect();
    Ok(Gathered {
        facts,
        newest_read: checkpointed.last().copied(),
    })
}

/// The types a window's checkpoint routed; for a checkpoint that predates recording them, the
/// types its staging objects hold (ReadWindow writes them before the checkpoint).
async fn routed_types(store: &dyn ObjectStore, window: Window) -> PortResult<BTreeSet<String>> {
    let key = ObjectKey::Checkpoint { window }.to_string();
    let bytes = store.get(&key).await?;
    let parsed: CheckpointRoutes = serde_json::from_slice(&bytes).map_err(|e| {
        PortError::permanent(
            format!("reading checkpoint {key}"),
            format!(
                "it is not a checkpoint ({e}); delete it to re-read the window from the stream"
            ),
        )
    })?;
    if let Some(types) = parsed.routed {
        return Ok(types.into_iter().collect());
    }
    let mut types = BTreeSet::new();
    for meta in store.list(&format!("staging/window={window}/")).await? {
        if let Ok(ObjectKey::Staging { event_type, .. }) = ObjectKey::parse(&meta.key) {
            types.insert(event_type);
        }
    }
    Ok(types)
}

/// One line of `gaps`: a window that is not complete, what repairing it is up against, and the
/// command that repairs it.
#[derive(Debug, Clone, Serialize)]
pub struct GapLine {
    pub window: Window,
    pub state: &'static str,
    /// Routed types still without a ledger row.
    pub unloaded: Vec<String>,
    /// When the stream's retention drops the window's first records.
    pub retention_ends_at: String,
    /// Minutes left before then (negative once past).
    pub minutes_left: i64,
    /// Whether its records are only in the stream (no checkpoint, so no raw archive): lost once
    /// retention ends.
    pub only_in_stream: bool,
    pub repair: String,
}

impl GapLine {
    pub fn new(gap: &Gap, now_ms: i64, repair: &dyn Fn(Window, Window) -> String) -> GapLine {
        let unloaded = match &gap.state {
            WindowState::Failed { unloaded } | WindowState::Partial { unloaded } => {
                unloaded.clone()
            }
            _ => vec![],
        };
        GapLine {
            window: gap.window,
            state: gap.state.name(),
            unloaded,
            retention_ends_at: format_timestamp_ms(gap.retention_ends_ms),
            minutes_left: gap.time_left_ms(now_ms).div_euclid(MINUTE_MS),
            only_in_stream: gap.only_in_stream(),
            repair: repair(gap.window, gap.window),
        }
    }

    /// "23h 12m left", or what passing retention means for this window.
    pub fn time_left(&self) -> String {
        if self.minutes_left >= 0 {
            format!(
                "{}h {:02}m left",
                self.minutes_left / 60,
                self.minutes_left % 60
            )
        } else if self.only_in_stream {
            "past the stream's retention: its records are gone".to_string()
        } else {
            "past the stream's retention: re-read from the raw archive".to_string()
        }
    }
}

/// What `gaps` reports.
#[derive(Debug, Clone, Serialize)]
pub struct GapsReport {
    pub from: Window,
    pub to: Window,
    pub windows: usize,
    pub complete: usize,
    pub retention_hours: u32,
    pub gaps: Vec<GapLine>,
    /// Repairs every gap of the range at once.
    pub repair_all: Option<String>,
}

/// The gaps of a range from its facts.
pub fn gaps_report(
    gathered: &Gathered,
    from: Window,
    to: Window,
    retention_hours: u32,
    now_ms: i64,
    repair: &dyn Fn(Window, Window) -> String,
) -> (GapsReport, Vec<Gap>) {
    let gaps = accounting::gaps(gathered.facts.iter().map(|(w, f)| (*w, f)), retention_hours);
    let lines: Vec<GapLine> = gaps
        .iter()
        .map(|g| GapLine::new(g, now_ms, repair))
        .collect();
    let report = GapsReport {
        from,
        to,
        windows: gathered.facts.len(),
        complete: gathered.facts.len() - gaps.len(),
        retention_hours,
        repair_all: match (gaps.first(), gaps.last()) {
            (Some(a), Some(b)) => Some(repair(a.window, b.window)),
            _ => None,
        },
        gaps: lines,
    };
    (report, gaps)
}

#[cfg(feature = "local")]
pub fn print_gaps(report: &GapsReport) {
    if report.gaps.is_empty() {
        println!(
            "all {} windows from {} to {} are complete",
            report.windows, report.from, report.to
        );
        return;
    }
    let rows: Vec<Vec<String>> = report
        .gaps
        .iter()
        .map(|g| {
            let state = if g.unloaded.is_empty() {
                g.state.to_string()
            } else {
                format!("{} ({} unloaded)", g.state, g.unloaded.join(", "))
            };
            vec![g.window.to_string(), state, g.time_left(), g.repair.clone()]
        })
        .collect();
    crate::cli::print_table(&["window", "state", "retention", "repair"], &rows, "");
    println!(
        "{} of {} windows from {} to {} are not complete; repair them all: {}",
        report.gaps.len(),
        report.windows,
        report.from,
        report.to,
        report.repair_all.as_deref().unwrap_or_default()
    );
}

/// What `status` reports, and the audit publishes.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub at: String,
    pub from: Window,
    pub to: Window,
    pub last_complete_window: Option<Window>,
    #[serde(flatten)]
    pub counts: Counts,
    pub tables: Vec<Freshness>,
    /// From the end of the newest window read to now.
    pub stream_lag_ms: Option<i64>,
    pub retention_hours: u32,
    pub oldest_gap: Option<GapLine>,
    /// Every gap, oldest first (for the audit's bounded repair).
    #[serde(skip)]
    pub gaps: Vec<Gap>,
}

impl StatusReport {
    /// Minutes the oldest unrepaired gap has been waiting since its window ended.
    pub fn oldest_gap_minutes(&self, now_ms: i64) -> i64 {
        self.oldest_gap
            .as_ref()
            .map_or(0, |g| ((now_ms - g.window.end_ms()) / MINUTE_MS).max(0))
    }
}

/// The state of the pipeline at `now_ms`: the range's verdicts and each table's freshness.
pub async fn status(
    sources: &Sources<'_>,
    from: Window,
    to: Window,
    retention_hours: u32,
    now_ms: i64,
    repair: &dyn Fn(Window, Window) -> String,
) -> Result<StatusReport, AuditError> {
    let gathered = gather(sources, from, to).await?;
    let (report, gaps) = gaps_report(&gathered, from, to, retention_hours, now_ms, repair);
    let tables: Vec<&str> = sources
        .routes
        .routes()
        .iter()
        .map(|r| r.table.as_str())
        .collect();
    let fresh = sources
        .warehouse
        .query(&accounting::freshness_query(&tables))
        .await
        .map_err(|source| AuditError::Port { from, to, source })?;
    let last_complete_window = gathered
        .facts
        .iter()
        .rev()
        .find(|(_, f)| classify(f).is_complete())
        .map(|(w, _)| *w);
    Ok(StatusReport {
        at: format_timestamp_ms(now_ms),
        from,
        to,
        last_complete_window,
        counts: Counts::of(&gaps),
        tables: accounting::freshness(&tables, &fresh.rows, now_ms),
        stream_lag_ms: gathered.newest_read.map(|w| (now_ms - w.end_ms()).max(0)),
        retention_hours,
        oldest_gap: report.gaps.into_iter().next(),
        gaps,
    })
}

#[cfg(feature = "local")]
pub fn print_status(s: &StatusReport) {
    let or_none = |w: Option<Window>| w.map_or("none".to_string(), |w| w.to_string());
    println!("windows {} to {} (at {})", s.from, s.to, s.at);
    println!(
        "  last complete window  {}",
        or_none(s.last_complete_window)
    );
    println!(
        "  not complete          {} missing, {} failed, {} partial, {} running",
        s.counts.missing, s.counts.failed, s.counts.partial, s.counts.running
    );
    match &s.oldest_gap {
        Some(g) => println!(
            "  oldest gap            {} {} ({}): {}",
            g.window,
            g.state,
            g.time_left(),
            g.repair
        ),
        None => println!("  oldest gap            none"),
    }
    match s.stream_lag_ms {
        Some(ms) => println!(
            "  stream lag            {:.0} s behind (newest window read ends then)",
            ms as f64 / 1000.0
        ),
        None => println!("  stream lag            no window read in the range"),
    }
    println!("  stream retention      {} h", s.retention_hours);
    let rows: Vec<Vec<String>> = s
        .tables
        .iter()
        .map(|f| {
            vec![
                f.table.clone(),
                f.latest_arrived_at.clone().unwrap_or_else(|| "-".into()),
                f.age_seconds.map_or("-".into(), |a| format!("{a} s")),
            ]
        })
        .collect();
    crate::cli::print_table(&["table", "latest arrived_at", "age"], &rows, "  ");
}

/// The windows of a gaps report to run, and the running ones to leave alone (a second execution
/// would only race the first).
pub fn plan(gaps: &[crate::domain::accounting::Gap]) -> (Vec<Window>, Vec<Window>) {
    let (running, rest): (Vec<_>, Vec<_>) = gaps
        .iter()
        .partition(|g| matches!(g.state, crate::domain::accounting::WindowState::Running));
    (
        rest.iter().map(|g| g.window).collect(),
        running.iter().map(|g| g.window).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_execution_input_names_its_window_either_way() {
        let w: Window = "2026-11-26T10:01Z".parse().unwrap();
        assert_eq!(
            input_window(&serde_json::json!({"window": "2026-11-26T10:01Z"}), 1),
            Some(w)
        );
        assert_eq!(
            input_window(
                &serde_json::json!({"scheduled_time": "2026-11-26T10:03:00Z"}),
                1
            ),
            Some(w)
        );
        assert_eq!(
            input_window(
                &serde_json::json!({"scheduled_time": "2026-11-26T10:03:00Z", "lag_minutes": 0}),
                1
            ),
            Some(w.next())
        );
        assert_eq!(input_window(&serde_json::json!({"other": 1}), 1), None);
    }

    #[test]
    fn the_latest_execution_of_a_window_decides() {
        let w: Window = "2026-11-26T10:01Z".parse().unwrap();
        let mut latest = BTreeMap::new();
        keep_latest(&mut latest, w, 20, LastExecution::Succeeded);
        keep_latest(&mut latest, w, 10, LastExecution::Failed);
        assert_eq!(latest[&w].1, LastExecution::Succeeded);
        keep_latest(&mut latest, w, 30, LastExecution::Running);
        assert_eq!(latest[&w].1, LastExecution::Running);
    }

    #[test]
    fn checkpoints_are_listed_once_per_hour() {
        let from: Window = "2026-11-26T09:58Z".parse().unwrap();
        let all = windows(from, "2026-11-26T11:00Z".parse().unwrap()).unwrap();
        let got: Vec<String> = hour_prefixes(&all).into_iter().collect();
        assert_eq!(
            got,
            [
                "checkpoints/window=2026-11-26T09:",
                "checkpoints/window=2026-11-26T10:",
                "checkpoints/window=2026-11-26T11:"
            ]
        );
        assert!(matches!(
            windows(from, from.minus_minutes(-(MAX_WINDOWS as i64))),
            Err(AuditError::TooLong { .. })
        ));
    }

    #[test]
    fn a_gap_line_says_what_passing_retention_means() {
        let w: Window = "2026-11-26T10:01Z".parse().unwrap();
        let repair = |a: Window, b: Window| format!("pushfeed catch-up --from {a} --to {b}");
        let missing = Gap {
            window: w,
            state: WindowState::Missing,
            retention_ends_ms: w.retention_ends_ms(24),
        };
        let line = GapLine::new(&missing, w.start_ms() + 30 * MINUTE_MS, &repair);
        assert_eq!(line.minutes_left, 23 * 60 + 30);
        assert_eq!(line.time_left(), "23h 30m left");
        assert_eq!(
            line.repair,
            "pushfeed catch-up --from 2026-11-26T10:01Z --to 2026-11-26T10:01Z"
        );
        let late = GapLine::new(&missing, w.start_ms() + 25 * 60 * MINUTE_MS, &repair);
        assert!(late.time_left().contains("gone"), "{}", late.time_left());
        let partial = Gap {
            state: WindowState::Partial {
                unloaded: vec!["OPEN".into()],
            },
            ..missing
        };
        let late = GapLine::new(&partial, w.start_ms() + 25 * 60 * MINUTE_MS, &repair);
        assert!(late.time_left().contains("raw archive"));
        assert_eq!(late.unloaded, ["OPEN"]);
    }
}
