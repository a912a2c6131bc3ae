//! `pushfeed catch-up`: runs every window `gaps` lists, oldest first, a bounded number at once,
//! with a progress bar on a terminal and a line per window otherwise. Ctrl-C stops starting
//! windows, lets the ones in flight finish, and the summary says what is left.

#[cfg(feature = "local")]
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use crate::domain::window::Window;

/// How one repair execution ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The execution's name (or ARN on AWS).
    pub execution: String,
    /// The execution's error when it did not succeed.
    pub error: Option<String>,
}

/// Runs one window to its end: the local state machine, or an execution in Step Functions.
#[async_trait]
pub trait Repair: Send + Sync {
    async fn run(&self, window: Window) -> anyhow::Result<Outcome>;
}

/// What a catch-up did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CatchUpReport {
    /// Windows whose repair execution succeeded.
    pub repaired: Vec<Window>,
    /// Windows whose repair execution failed, with its error.
    pub failed: Vec<FailedRepair>,
    /// Windows not started because the catch-up was interrupted.
    pub left: Vec<Window>,
    /// Windows skipped because an execution of theirs is still running.
    pub skipped_running: Vec<Window>,
    pub interrupted: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailedRepair {
    pub window: Window,
    pub execution: String,
    pub error: String,
}

impl CatchUpReport {
    /// Whether everything it set out to repair was repaired.
    pub fn all_repaired(&self) -> bool {
        self.failed.is_empty() && self.left.is_empty()
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    // A second Ctrl-C means "now": end at once, as an interrupted command does.
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
}

/// From here on, Ctrl-C (SIGINT) asks the catch-up to stop starting windows instead of ending
/// the process half-way through a window's load.
fn catch_interrupts() {
    INTERRUPTED.store(false, Ordering::SeqCst);
    // SAFETY: installs a handler that only touches an atomic (and calls _exit), both
    // async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A progress bar on a terminal, a plain line per window otherwise.
pub enum Progress {
    #[cfg(feature = "local")]
    Bar(indicatif::ProgressBar),
    Lines,
    Quiet,
}

impl Progress {
    /// A bar when stderr is a terminal (and not `--json`), lines on stdout otherwise.
    #[cfg(feature = "local")]
    pub fn for_terminal(total: usize, json: bool) -> Progress {
        if std::io::stderr().is_terminal() {
            Progress::Bar(bar(total as u64, "windows"))
        } else if json {
            Progress::Quiet
        } else {
            Progress::Lines
        }
    }

    fn done(&self, line: String) {
        match self {
            #[cfg(feature = "local")]
            Progress::Bar(b) => {
                b.set_message(line);
                b.inc(1);
            }
            Progress::Lines => println!("{line}"),
            Progress::Quiet => {}
        }
    }

    fn finish(&self) {
        #[cfg(feature = "local")]
        if let Progress::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}

/// A progress bar on stderr when it is a terminal; None otherwise (a log or a test).
#[cfg(feature = "local")]
pub fn terminal_bar(total: u64, unit: &str) -> Option<indicatif::ProgressBar> {
    std::io::stderr().is_terminal().then(|| bar(total, unit))
}

/// A progress bar of `total` steps counted in `unit`, drawn on stderr.
#[cfg(feature = "local")]
pub fn bar(total: u64, unit: &str) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(total);
    let template = format!("[{{elapsed_precise}}] {{bar:30}} {{pos}}/{{len}} {unit}  {{msg}}");
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        b.set_style(style);
    }
    b
}

/// Runs `windows` (oldest first) through `repair`, `parallel` at once.
pub async fn catch_up(
    repair: &dyn Repair,
    windows: &[Window],
    parallel: usize,
    progress: &Progress,
) -> CatchUpReport {
    catch_interrupts();
    let report = Mutex::new(CatchUpReport::default());
    let mut ordered = windows.to_vec();
    ordered.sort();
    stream::iter(ordered)
        .map(|window| {
            let report = &report;
            async move {
                // Checked as each window is about to start, so an interrupt stops new starts
                // while the windows in flight finish.
                if interrupted() {
                    report.lock().expect("not poisoned").left.push(window);
                    return;
                }
                let outcome = repair.run(window).await;
                let mut r = report.lock().expect("not poisoned");
                let line = match outcome {
                    Ok(Outcome {
                        execution,
                        error: None,
                    }) => {
                        r.repaired.push(window);
                        format!("{window}  repaired  {execution}")
                    }
                    Ok(Outcome {
                        execution,
                        error: Some(error),
                    }) => {
                        let line = format!("{window}  FAILED  {execution}: {error}");
                        r.failed.push(FailedRepair {
                            window,
                            execution,
                            error,
                        });
                        line
                    }
                    Err(e) => {
                        let error = format!("{e:#}");
                        let line = format!("{window}  FAILED  {error}");
                        r.failed.push(FailedRepair {
                            window,
                            execution: String::new(),
                            error,
                        });
                        line
                    }
                };
                progress.done(line);
            }
        })
        .buffer_unordered(parallel.max(1))
        .collect::<()>()
        .await;
    progress.finish();
    let mut report = report.into_inner().expect("not poisoned");
    report.interrupted = interrupted();
    report.repaired.sort();
    report.left.sort();
    report.failed.sort_by_key(|f| f.window);
    report
}

/// The summary at the end; `repair` is the command that repairs a range.
pub fn print_summary(report: &CatchUpReport, repair: &dyn Fn(Window, Window) -> String) {
    println!(
        "caught up: {} repaired, {} failed, {} left{}",
        report.repaired.len(),
        report.failed.len(),
        report.left.len(),
        if report.skipped_running.is_empty() {
            String::new()
        } else {
            format!(", {} skipped (still running)", report.skipped_running.len())
        }
    );
    for f in &report.failed {
        println!("  failed {}  {}: {}", f.window, f.execution, f.error);
    }
    if report.interrupted {
        match (report.left.first(), report.left.last()) {
            (Some(a), Some(b)) => println!(
                "interrupted: {} windows left, {a} to {b}; run again to finish: {}",
                report.left.len(),
                repair(*a, *b)
            ),
            _ => println!("interrupted after the last window had started: nothing is left"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    struct Fake {
        running: AtomicUsize,
        most: AtomicUsize,
        fail: Window,
        interrupt_after: Option<usize>,
        started: AtomicUsize,
    }

    #[async_trait]
    impl Repair for Fake {
        async fn run(&self, window: Window) -> anyhow::Result<Outcome> {
            let n = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(n, Ordering::SeqCst);
            let started = self.started.fetch_add(1, Ordering::SeqCst) + 1;
            if Some(started) == self.interrupt_after {
                INTERRUPTED.store(true, Ordering::SeqCst);
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            Ok(Outcome {
                execution: format!("x-{window}"),
                error: (window == self.fail).then(|| "Pushfeed.LoadFailed".to_string()),
            })
        }
    }

    fn fake(fail: Window, interrupt_after: Option<usize>) -> Fake {
        Fake {
            running: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
            fail,
            interrupt_after,
            started: AtomicUsize::new(0),
        }
    }

    // One test, because the interrupt flag is process-wide.
    #[tokio::test]
    async fn windows_run_bounded_and_an_interrupt_leaves_the_rest() {
        let first: Window = "2026-11-26T10:01Z".parse().unwrap();
        let all = Window::range_inclusive(first, first.minus_minutes(-9)).unwrap();
        let repair = fake(first.next(), None);
        let mut shuffled = all.clone();
        shuffled.reverse();
        let report = catch_up(&repair, &shuffled, 3, &Progress::Quiet).await;
        assert_eq!(repair.most.load(Ordering::SeqCst), 3);
        assert_eq!(report.repaired.len(), 9);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].window, first.next());
        assert!(!report.all_repaired() && !report.interrupted);

        // Interrupted as the second window starts, one at a time: the rest are left.
        let repair = fake(first.minus_minutes(100), Some(2));
        let report = catch_up(&repair, &all, 1, &Progress::Quiet).await;
        assert!(report.interrupted);
        assert_eq!(report.repaired, all[..2]);
        assert_eq!(report.left, all[2..]);
        INTERRUPTED.store(false, Ordering::SeqCst);
    }
}
