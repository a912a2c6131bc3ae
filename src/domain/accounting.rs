//! Every minute accounted for: what state a window is in, from what the object store (its
//! checkpoint), the warehouse (its ledger rows) and the executions say about it. Pure logic over
//! what the ports return; the commands and the audit only gather the facts and print the verdict.
//!
//! A window is **complete** when its checkpoint exists and every event type the checkpoint routed
//! has a ledger row for the window (an empty window is complete with its checkpoint alone). Any
//! batch of the window counts: every execution of a window reads exactly the records its
//! checkpoint pins, so a re-run's load of a type stands for the first run's.

use std::collections::BTreeSet;

use serde::Serialize;

use super::window::Window;

/// What the executions of a window say, the latest one deciding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LastExecution {
    Running,
    Succeeded,
    /// Failed, timed out or aborted.
    Failed,
}

/// The facts about one window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WindowFacts {
    /// The event types the window's checkpoint routed; None when there is no checkpoint.
    pub routed: Option<BTreeSet<String>>,
    /// The event types with a ledger row for the window.
    pub loaded: BTreeSet<String>,
    /// The latest execution of the window, if any is known.
    pub last_execution: Option<LastExecution>,
}

/// Where a window stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WindowState {
    Complete,
    /// An execution of the window is running and it is not complete yet.
    Running,
    /// Its latest execution failed and it is not complete.
    Failed {
        /// Routed types still without a ledger row (empty when ReadWindow itself failed).
        unloaded: Vec<String>,
    },
    /// No checkpoint and no execution known: nothing ever read it.
    Missing,
    /// A checkpoint, but a routed type without its ledger row, and no execution running or
    /// failed to explain it (a run stopped half-way, or a ledger row lost).
    Partial {
        unloaded: Vec<String>,
    },
}

impl WindowState {
    pub fn is_complete(&self) -> bool {
        matches!(self, WindowState::Complete)
    }

    /// The name `gaps` prints and the audit's metrics count by.
    pub fn name(&self) -> &'static str {
        match self {
            WindowState::Complete => "complete",
            WindowState::Running => "running",
            WindowState::Failed { .. } => "failed",
            WindowState::Missing => "missing",
            WindowState::Partial { .. } => "partial",
        }
    }
}

/// The state of a window from its facts.
///
/// Complete wins over everything (a re-run that is still going, or failed after the loads, does
/// not undo loaded rows); then a running execution (it may still complete it); then the latest
/// execution's failure; then the absence of a checkpoint; what is left is partial.
pub fn classify(facts: &WindowFacts) -> WindowState {
    let unloaded: Option<Vec<String>> = facts
        .routed
        .as_ref()
        .map(|routed| routed.difference(&facts.loaded).cloned().collect());
    match (&unloaded, facts.last_execution) {
        (Some(u), _) if u.is_empty() => WindowState::Complete,
        (_, Some(LastExecution::Running)) => WindowState::Running,
        (u, Some(LastExecution::Failed)) => WindowState::Failed {
            unloaded: u.clone().unwrap_or_default(),
        },
        (None, _) => WindowState::Missing,
        (Some(u), _) => WindowState::Partial {
            unloaded: u.clone(),
        },
    }
}

/// A window that is not complete, with what repairing it is up against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub window: Window,
    #[serde(flatten)]
    pub state: WindowState,
    /// When the stream's retention drops the window's first records (epoch ms). A window with
    /// a checkpoint can still be replayed from the raw archive after that; one without cannot.
    pub retention_ends_ms: i64,
}

impl Gap {
    /// Whether its records are only in the stream, so they are lost once retention ends.
    pub fn only_in_stream(&self) -> bool {
        matches!(self.state, WindowState::Missing)
            || matches!(&self.state, WindowState::Failed { unloaded } if unloaded.is_empty())
    }

    /// Milliseconds left before retention drops the window's records (negative once past).
    pub fn time_left_ms(&self, now_ms: i64) -> i64 {
        self.retention_ends_ms - now_ms
    }
}

/// The windows of `windows` that are not complete, oldest first, given each one's facts.
pub fn gaps<'a>(
    windows: impl IntoIterator<Item = (Window, &'a WindowFacts)>,
    retention_hours: u32,
) -> Vec<Gap> {
    let mut out: Vec<Gap> = windows
        .into_iter()
        .filter_map(|(window, facts)| {
            let state = classify(facts);
            (!state.is_complete()).then(|| Gap {
                window,
                retention_ends_ms: window.retention_ends_ms(retention_hours),
                state,
            })
        })
        .collect();
    out.sort_by_key(|g| g.window);
    out
}

/// The windows a look-back of `hours` covers by default: up to the newest window whose run the
/// schedule started at least `grace_ms` ago (a younger one may simply not have finished), and
/// back `hours` from there.
pub fn default_range(now_ms: i64, lag_minutes: u32, grace_ms: i64, hours: u32) -> (Window, Window) {
    let to = Window::for_schedule(now_ms - grace_ms, lag_minutes);
    let from = to.minus_minutes(i64::from(hours) * 60 - 1);
    (from, to)
}

/// `CAST('<rfc3339>' AS TIMESTAMPTZ)`, as the load's SQL writes instants.
fn instant(ms: i64) -> String {
    format!(
        "CAST('{}' AS TIMESTAMPTZ)",
        super::window::format_timestamp_ms(ms)
    )
}

/// The ledger rows of the windows `from..=to`: window start (epoch seconds) and event type, once
/// each. The same text runs on Redshift and PostgreSQL.
pub fn ledger_query(from: Window, to: Window) -> String {
    format!(
        "SELECT DISTINCT CAST(EXTRACT(EPOCH FROM window_start) AS BIGINT) AS window_epoch, event_type FROM {} WHERE window_start >= {} AND window_start < {}",
        super::sql::LEDGER_TABLE,
        instant(from.start_ms()),
        instant(to.end_ms())
    )
}

/// The event types with a ledger row, per window, from [`ledger_query`]'s rows. A row that is
/// not a whole minute or has no type is not pushfeed's and is skipped.
pub fn ledger_rows(
    rows: &[Vec<Option<String>>],
) -> std::collections::BTreeMap<Window, BTreeSet<String>> {
    let mut out: std::collections::BTreeMap<Window, BTreeSet<String>> = Default::default();
    for row in rows {
        let (Some(Some(epoch)), Some(Some(event_type))) = (row.first(), row.get(1)) else {
            continue;
        };
        let Ok(seconds) = epoch.trim().parse::<i64>() else {
            continue;
        };
        let window = Window::containing(seconds * 1000);
        if window.start_ms() == seconds * 1000 {
            out.entry(window).or_default().insert(event_type.clone());
        }
    }
    out
}

/// The latest `arrived_at` loaded into each table, in epoch milliseconds (NULL for an empty
/// table): one statement for every table.
pub fn freshness_query(tables: &[&str]) -> String {
    tables
        .iter()
        .map(|t| {
            format!(
                "SELECT '{t}' AS table_name, CAST(EXTRACT(EPOCH FROM MAX(arrived_at)) * 1000 AS BIGINT) AS latest_ms FROM {t}"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// How fresh one table is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Freshness {
    pub table: String,
    /// The latest `arrived_at` loaded (RFC 3339); None when the table is empty.
    pub latest_arrived_at: Option<String>,
    /// Seconds from that arrival to now.
    pub age_seconds: Option<i64>,
}

/// [`freshness_query`]'s rows as each table's freshness at `now_ms`, in the order of `tables`.
pub fn freshness(tables: &[&str], rows: &[Vec<Option<String>>], now_ms: i64) -> Vec<Freshness> {
    tables
        .iter()
        .map(|t| {
            let latest = rows
                .iter()
                .find(|r| r.first().and_then(|c| c.as_deref()) == Some(*t))
                .and_then(|r| r.get(1).cloned().flatten())
                .and_then(|v| v.trim().parse::<i64>().ok());
            Freshness {
                table: t.to_string(),
                latest_arrived_at: latest.map(super::window::format_timestamp_ms),
                age_seconds: latest.map(|ms| (now_ms - ms).max(0) / 1000),
            }
        })
        .collect()
}

/// How many windows are in each state that is not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    pub missing: usize,
    pub failed: usize,
    pub partial: usize,
    pub running: usize,
}

impl Counts {
    pub fn of(gaps: &[Gap]) -> Counts {
        let mut c = Counts::default();
        for g in gaps {
            match g.state {
                WindowState::Missing => c.missing += 1,
                WindowState::Failed { .. } => c.failed += 1,
                WindowState::Partial { .. } => c.partial += 1,
                WindowState::Running => c.running += 1,
                WindowState::Complete => {}
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(types: &[&str]) -> BTreeSet<String> {
        types.iter().map(|t| t.to_string()).collect()
    }

    fn facts(routed: Option<&[&str]>, loaded: &[&str], last: Option<LastExecution>) -> WindowFacts {
        WindowFacts {
            routed: routed.map(set),
            loaded: set(loaded),
            last_execution: last,
        }
    }

    use LastExecution::*;

    #[test]
    fn complete_needs_the_checkpoint_and_a_ledger_row_per_routed_type() {
        let all = Some(&["OPEN", "SEND"][..]);
        assert_eq!(
            classify(&facts(all, &["OPEN", "SEND"], Some(Succeeded))),
            WindowState::Complete
        );
        // A re-run going on, or one that failed after the loads, does not undo them.
        assert_eq!(
            classify(&facts(all, &["OPEN", "SEND"], Some(Running))),
            WindowState::Complete
        );
        assert_eq!(
            classify(&facts(all, &["OPEN", "SEND"], Some(Failed))),
            WindowState::Complete
        );
        // Extra ledger rows (a type routed by an earlier routing file) do not matter.
        assert_eq!(
            classify(&facts(all, &["OPEN", "SEND", "X"], None)),
            WindowState::Complete
        );
    }

    #[test]
    fn an_empty_window_is_complete_with_its_checkpoint_alone() {
        assert_eq!(
            classify(&facts(Some(&[]), &[], None)),
            WindowState::Complete
        );
        assert_eq!(
            classify(&facts(Some(&[]), &[], Some(Succeeded))),
            WindowState::Complete
        );
    }

    #[test]
    fn missing_is_no_checkpoint_and_no_execution() {
        assert_eq!(classify(&facts(None, &[], None)), WindowState::Missing);
        // A succeeded execution without a checkpoint cannot be: the checkpoint was removed.
        assert_eq!(
            classify(&facts(None, &[], Some(Succeeded))),
            WindowState::Missing
        );
    }

    #[test]
    fn running_is_an_execution_that_may_still_complete_it() {
        assert_eq!(
            classify(&facts(None, &[], Some(Running))),
            WindowState::Running
        );
        assert_eq!(
            classify(&facts(Some(&["OPEN"]), &[], Some(Running))),
            WindowState::Running
        );
    }

    #[test]
    fn failed_names_what_is_still_unloaded() {
        assert_eq!(
            classify(&facts(None, &[], Some(Failed))),
            WindowState::Failed { unloaded: vec![] }
        );
        assert_eq!(
            classify(&facts(Some(&["OPEN", "SEND"]), &["SEND"], Some(Failed))),
            WindowState::Failed {
                unloaded: vec!["OPEN".into()]
            }
        );
    }

    #[test]
    fn partial_is_a_checkpoint_with_a_routed_type_unloaded_and_nothing_to_explain_it() {
        assert_eq!(
            classify(&facts(Some(&["OPEN", "SEND"]), &["OPEN"], None)),
            WindowState::Partial {
                unloaded: vec!["SEND".into()]
            }
        );
        assert_eq!(
            classify(&facts(Some(&["OPEN"]), &[], Some(Succeeded))),
            WindowState::Partial {
                unloaded: vec!["OPEN".into()]
            }
        );
    }

    #[test]
    fn gaps_are_the_incomplete_windows_oldest_first_with_their_retention() {
        let w = |m: &str| -> Window { format!("2026-11-26T10:{m}Z").parse().unwrap() };
        let done = facts(Some(&[]), &[], Some(Succeeded));
        let never = facts(None, &[], None);
        let half = facts(Some(&["OPEN"]), &[], Some(Failed));
        let found = gaps([(w("03"), &never), (w("01"), &done), (w("02"), &half)], 24);
        assert_eq!(
            found
                .iter()
                .map(|g| (g.window, g.state.name()))
                .collect::<Vec<_>>(),
            vec![(w("02"), "failed"), (w("03"), "missing")]
        );
        let missing = &found[1];
        assert_eq!(
            missing.retention_ends_ms,
            w("03").start_ms() + 24 * 3_600_000
        );
        assert!(missing.only_in_stream() && !found[0].only_in_stream());
        assert_eq!(missing.time_left_ms(w("03").start_ms()), 24 * 3_600_000);
        let json = serde_json::to_value(&found[0]).unwrap();
        assert_eq!(json["state"], "failed");
        assert_eq!(json["unloaded"], serde_json::json!(["OPEN"]));
        assert_eq!(json["window"], "2026-11-26T10:02Z");
    }

    #[test]
    fn the_default_range_ends_at_the_newest_window_whose_run_had_time() {
        let now = crate::domain::window::parse_timestamp_ms("2026-11-26T10:30:20Z").unwrap();
        // Due (scheduled) at 10:30 with a lag of 1: the 10:28 window; 5 minutes' grace: 10:23.
        let (from, to) = default_range(now, 1, 5 * 60_000, 24);
        assert_eq!(to.to_string(), "2026-11-26T10:23Z");
        assert_eq!(from.to_string(), "2026-11-25T10:24Z");
        assert_eq!(Window::range_inclusive(from, to).unwrap().len(), 24 * 60);
    }

    #[test]
    fn ledger_rows_are_grouped_by_window_and_strangers_skipped() {
        let w: Window = "2026-11-26T10:01Z".parse().unwrap();
        let secs = (w.start_ms() / 1000).to_string();
        let row = |a: Option<&str>, b: Option<&str>| vec![a.map(String::from), b.map(String::from)];
        let rows = vec![
            row(Some(&secs), Some("OPEN")),
            row(Some(&secs), Some("SEND")),
            row(Some(&(w.start_ms() / 1000 + 7).to_string()), Some("OPEN")),
            row(None, Some("OPEN")),
            row(Some("x"), Some("OPEN")),
            row(Some(&secs), None),
        ];
        let got = ledger_rows(&rows);
        assert_eq!(got.len(), 1);
        assert_eq!(got[&w], set(&["OPEN", "SEND"]));
        let sql = ledger_query(w, w.next());
        assert!(
            sql.contains("window_start >= CAST('2026-11-26T10:01:00.000Z' AS TIMESTAMPTZ)"),
            "{sql}"
        );
        assert!(
            sql.contains("window_start < CAST('2026-11-26T10:03:00.000Z' AS TIMESTAMPTZ)"),
            "{sql}"
        );
    }

    #[test]
    fn freshness_is_the_age_of_the_latest_arrival_per_table() {
        let rows = vec![
            vec![Some("push_opens".into()), Some("1795000000000".into())],
            vec![Some("push_sends".into()), None],
        ];
        let got = freshness(&["push_sends", "push_opens"], &rows, 1_795_000_090_500);
        assert_eq!(got[0].latest_arrived_at, None);
        assert_eq!(got[0].age_seconds, None);
        assert_eq!(got[1].table, "push_opens");
        assert_eq!(got[1].age_seconds, Some(90));
        assert_eq!(
            got[1].latest_arrived_at.as_deref(),
            Some("2026-11-18T11:06:40.000Z")
        );
        assert_eq!(
            freshness_query(&["a", "b"]),
            "SELECT 'a' AS table_name, CAST(EXTRACT(EPOCH FROM MAX(arrived_at)) * 1000 AS BIGINT) AS latest_ms FROM a UNION ALL SELECT 'b' AS table_name, CAST(EXTRACT(EPOCH FROM MAX(arrived_at)) * 1000 AS BIGINT) AS latest_ms FROM b"
        );
    }

    #[test]
    fn counts_are_by_state() {
        let w: Window = "2026-11-26T10:01Z".parse().unwrap();
        let gap = |state| Gap {
            window: w,
            state,
            retention_ends_ms: 0,
        };
        let c = Counts::of(&[
            gap(WindowState::Missing),
            gap(WindowState::Missing),
            gap(WindowState::Failed { unloaded: vec![] }),
            gap(WindowState::Partial {
                unloaded: vec!["OPEN".into()],
            }),
        ]);
        assert_eq!(
            c,
            Counts {
                missing: 2,
                failed: 1,
                partial: 1,
                running: 0
            }
        );
    }
}
