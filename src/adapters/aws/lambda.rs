//! The Lambda functions' handlers: parse the Task state's payload, call the step, and turn a
//! [`StepError`] into the failure Lambda reports, whose `error_type` is the stable
//! `Pushfeed.*` name the state machine's Retry and Catch match (never a Rust type name).
//!
//! Each success prints one CloudWatch Embedded Metric Format line (see `crate::metrics`) to stdout,
//! which Lambda sends to CloudWatch Logs, where it becomes the dashboard's metrics.
//!
//! They take ports, not AWS clients, so tests call them with the local adapters and the
//! binaries in `tasks/` only build the AWS ports and hand them over.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::domain::window::now_ms;
use crate::metrics;
use crate::ports::{Clock, Delivery, ObjectStore, Stream, Warehouse};
use crate::steps::contract::{BranchInput, ReadWindowInput};
use crate::steps::{self, names, Settings, StepError};

/// A failed invocation as Lambda reports it: `errorType` and `errorMessage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskFailure {
    pub error_type: String,
    pub error_message: String,
}

impl From<StepError> for TaskFailure {
    fn from(e: StepError) -> TaskFailure {
        TaskFailure {
            error_type: e.name().to_string(),
            error_message: e.to_string(),
        }
    }
}

impl From<TaskFailure> for lambda_runtime::Diagnostic {
    fn from(f: TaskFailure) -> lambda_runtime::Diagnostic {
        lambda_runtime::Diagnostic {
            error_type: f.error_type,
            error_message: f.error_message,
        }
    }
}

/// JSON logs, one object per line, as CloudWatch Logs Insights reads them.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_current_span(false)
        .init();
}

fn parse<T: DeserializeOwned>(payload: Value, task: &str) -> Result<T, TaskFailure> {
    serde_json::from_value(payload).map_err(|e| TaskFailure {
        error_type: names::INVALID_INPUT.to_string(),
        error_message: format!("the input of {task} is not valid: {e}"),
    })
}

fn output<T: Serialize>(value: Result<T, StepError>) -> Result<Value, TaskFailure> {
    let value = value?;
    Ok(serde_json::to_value(value).expect("step outputs serialize"))
}

pub async fn read_window(
    stream: &dyn Stream,
    store: &dyn ObjectStore,
    clock: &dyn Clock,
    settings: &Settings,
    payload: Value,
) -> Result<Value, TaskFailure> {
    let input: ReadWindowInput = parse(payload, "ReadWindow")?;
    let started = now_ms();
    let out = steps::read_window(stream, store, clock, settings, input).await;
    if let Ok(o) = &out {
        println!("{}", metrics::read_window(o, now_ms(), now_ms() - started));
    }
    output(out)
}

pub async fn deliver(
    store: &dyn ObjectStore,
    delivery: &dyn Delivery,
    settings: &Settings,
    payload: Value,
) -> Result<Value, TaskFailure> {
    let input: BranchInput = parse(payload, "Deliver")?;
    let started = now_ms();
    let out = steps::deliver(store, delivery, settings, input).await;
    if let Ok(o) = &out {
        println!("{}", metrics::deliver(o, now_ms(), now_ms() - started));
    }
    output(out)
}

pub async fn await_objects(
    store: &dyn ObjectStore,
    settings: &Settings,
    payload: Value,
) -> Result<Value, TaskFailure> {
    let input: BranchInput = parse(payload, "AwaitObjects")?;
    let started = now_ms();
    let out = steps::await_objects(store, settings, input).await;
    if let Ok(o) = &out {
        println!(
            "{}",
            metrics::await_objects(o, now_ms(), now_ms() - started)
        );
    }
    output(out)
}

pub async fn load(
    store: &dyn ObjectStore,
    warehouse: &dyn Warehouse,
    settings: &Settings,
    payload: Value,
) -> Result<Value, TaskFailure> {
    let input: BranchInput = parse(payload, "Load")?;
    let started = now_ms();
    let out = steps::load(store, warehouse, settings, input).await;
    if let Ok(o) = &out {
        println!("{}", metrics::load(o, now_ms(), now_ms() - started));
    }
    output(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_keep_the_stable_name() {
        let e = StepError::Transient("window 2026-11-26T10:01Z: throttled".into());
        let d = lambda_runtime::Diagnostic::from(TaskFailure::from(e));
        assert_eq!(d.error_type, "Pushfeed.Transient");
        assert_eq!(d.error_message, "window 2026-11-26T10:01Z: throttled");
    }
}
