//! The Lambda functions: [`serve`] is each binary's `main`, and the handlers run a task through
//! [`crate::steps::task`] (JSON in, the step, a failure under its stable `Pushfeed.*` name) and
//! hand Lambda the failure as a `Diagnostic` whose `error_type` is that name.
//!
//! Each success prints one CloudWatch Embedded Metric Format line (see `crate::metrics`) to stdout,
//! which Lambda sends to CloudWatch Logs, where it becomes the dashboard's metrics.
//!
//! They take ports, not AWS clients, so tests call them with the local adapters and the
//! binaries in `tasks/` only build the AWS ports and hand them over.

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

use super::AwsPorts;
use crate::domain::window::now_ms;
use crate::metrics;
use crate::ports::{Clock, Delivery, ObjectStore, Stream, Warehouse};
use crate::steps::task::{self, Done, Task};
use crate::steps::Settings;

pub use crate::steps::task::TaskFailure;

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

/// A Lambda function's `main`: builds the task's AWS ports once per container from environment
/// variables (docs/aws.md), then runs the task for each invocation.
pub async fn serve(task: Task) -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let ports = AwsPorts::from_env().await?;
    let (store, settings) = (ports.store()?, &ports.settings);
    match task {
        Task::ReadWindow => {
            let stream = ports.stream()?;
            let clock = &*ports.clock;
            lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async {
                read_window(&*stream, &*store, clock, settings, event.payload)
                    .await
                    .map_err(Diagnostic::from)
            }))
            .await
        }
        Task::Deliver => {
            let delivery = ports.delivery();
            lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async {
                deliver(&*store, &*delivery, settings, event.payload)
                    .await
                    .map_err(Diagnostic::from)
            }))
            .await
        }
        Task::AwaitObjects => {
            lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async {
                await_objects(&*store, settings, event.payload)
                    .await
                    .map_err(Diagnostic::from)
            }))
            .await
        }
        Task::Load => {
            let warehouse = ports.warehouse()?;
            lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async {
                load(&*store, &*warehouse, settings, event.payload)
                    .await
                    .map_err(Diagnostic::from)
            }))
            .await
        }
    }
}

/// The JSON result of a task that succeeded, after printing its metric line.
fn report<O>(done: Done<O>, started: i64, metric: fn(&O, i64, i64) -> String) -> Value {
    let now = now_ms();
    println!("{}", metric(&done.output, now, now - started));
    done.json
}

pub async fn read_window(
    stream: &dyn Stream,
    store: &dyn ObjectStore,
    clock: &dyn Clock,
    settings: &Settings,
    payload: Value,
) -> Result<Value, TaskFailure> {
    let started = now_ms();
    let done = task::read_window(stream, store, clock, settings, payload).await?;
    Ok(report(done, started, metrics::read_window))
}

pub async fn deliver(
    store: &dyn ObjectStore,
    delivery: &dyn Delivery,
    settings: &Settings,
    payload: Value,
) -> Result<Value, TaskFailure> {
    let started = now_ms();
    let done = task::deliver(store, delivery, settings, payload).await?;
    Ok(report(done, started, metrics::deliver))
}

pub async fn await_objects(
    store: &dyn ObjectStore,
    settings: &Settings,
    payload: Value,
) -> Result<Value, TaskFailure> {
    let started = now_ms();
    let done = task::await_objects(store, settings, payload).await?;
    Ok(report(done, started, metrics::await_objects))
}

pub async fn load(
    store: &dyn ObjectStore,
    warehouse: &dyn Warehouse,
    settings: &Settings,
    payload: Value,
) -> Result<Value, TaskFailure> {
    let started = now_ms();
    let done = task::load(store, warehouse, settings, payload).await?;
    Ok(report(done, started, metrics::load))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::StepError;

    #[test]
    fn failures_keep_the_stable_name() {
        let e = StepError::transient("window 2026-11-26T10:01Z: throttled");
        let d = lambda_runtime::Diagnostic::from(TaskFailure::from(e));
        assert_eq!(d.error_type, "Pushfeed.Transient");
        assert_eq!(d.error_message, "window 2026-11-26T10:01Z: throttled");
    }
}
