//! Test support: runs one window by calling the steps in the state machine's order, on borrowed
//! ports and without retries, so concurrency and fault tests can hand each run its own ports and
//! clock. The product runs windows through the state machine (`pushfeed::machine`).

use std::time::Duration;

use serde::Serialize;

use pushfeed::domain::window::Window;
use pushfeed::ports::{Clock, Delivery, Notifier, ObjectStore, Stream, Warehouse};
use pushfeed::steps::contract::{self, BranchInput, LoadOutput, ReadWindowInput, ReadWindowOutput};
use pushfeed::steps::notify::{failure_message, Failure};
use pushfeed::steps::{self, Settings, StepError};

/// What one window did: the summary `pushfeed run` prints.
#[derive(Debug, Clone, Serialize)]
pub struct WindowReport {
    pub window: Window,
    pub read: ReadWindowOutput,
    pub loads: Vec<LoadOutput>,
}

impl WindowReport {
    /// Distinct events of the window the warehouse took, new or already present.
    pub fn rows_loaded(&self) -> u64 {
        contract::rows_loaded(&self.loads)
    }

    /// Later copies of an event within the window, dropped by the loads.
    pub fn duplicates(&self) -> u64 {
        contract::duplicates(&self.loads)
    }

    /// read = rejected + unrouted + duplicates dropped + rows loaded: every event accounted for.
    pub fn adds_up(&self) -> bool {
        let r = &self.read;
        contract::adds_up(&r.read, &r.rejected, &r.unrouted, &self.loads)
    }
}

pub struct Ports<'a> {
    pub stream: &'a dyn Stream,
    pub store: &'a dyn ObjectStore,
    pub delivery: &'a dyn Delivery,
    pub warehouse: &'a dyn Warehouse,
    pub notifier: &'a dyn Notifier,
    pub clock: &'a dyn Clock,
}

/// A failed window: the step's error, after the failure message was sent.
#[derive(Debug, thiserror::Error)]
#[error("window {window} failed in {state}: {error}")]
pub struct WindowFailed {
    pub window: Window,
    pub state: &'static str,
    pub error: StepError,
}

pub async fn run_window(
    ports: &Ports<'_>,
    settings: &Settings,
    window: Window,
    poll: Duration,
    rerun: &str,
) -> Result<WindowReport, WindowFailed> {
    let execution = format!("local-{window}-{}", ports.clock.now_ms());
    let execution_ref = &execution;
    let fail = move |state: &'static str, event_type: Option<String>, error: StepError| async move {
        let failure = Failure {
            window: window.to_string(),
            state: state.to_string(),
            event_type,
            error: error.name().to_string(),
            cause: error.to_string(),
            execution: execution_ref.clone(),
            console_url: None,
            rerun: rerun.to_string(),
        };
        if let Err(e) = ports.notifier.publish(&failure_message(&failure)).await {
            eprintln!("pushfeed: could not send the failure message: {e}");
        }
        WindowFailed {
            window,
            state,
            error,
        }
    };
    let input = ReadWindowInput {
        window: Some(window),
        execution: Some(execution.clone()),
        ..ReadWindowInput::default()
    };
    let read =
        match steps::read_window(ports.stream, ports.store, ports.clock, settings, input).await {
            Ok(r) => r,
            Err(e) => return Err(fail("ReadWindow", None, e).await),
        };
    // Branches run side by side, as the state machine's Map runs them.
    let branches = read
        .routes
        .iter()
        .map(|route| run_branch(ports, settings, read.branch(route), poll));
    let mut loads = Vec::new();
    for (result, route) in futures_util::future::join_all(branches)
        .await
        .into_iter()
        .zip(&read.routes)
    {
        match result {
            Ok(out) => loads.push(out),
            Err((state, e)) => return Err(fail(state, Some(route.event_type.clone()), e).await),
        }
    }
    Ok(WindowReport {
        window,
        read,
        loads,
    })
}

async fn run_branch(
    ports: &Ports<'_>,
    settings: &Settings,
    mut branch: BranchInput,
    poll: Duration,
) -> Result<LoadOutput, (&'static str, StepError)> {
    steps::deliver(ports.store, ports.delivery, settings, branch.clone())
        .await
        .map_err(|e| ("Deliver", e))?;
    loop {
        let out = steps::await_objects(ports.store, settings, branch.clone())
            .await
            .map_err(|e| ("AwaitObjects", e))?;
        if out.complete {
            break;
        }
        branch.attempt = out.attempt;
        tokio::time::sleep(poll).await;
    }
    steps::load(ports.store, ports.warehouse, settings, branch)
        .await
        .map_err(|e| ("Load", e))
}
