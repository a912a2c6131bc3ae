//! The Task states as JSON functions: the state's input in, the step's output out, or a failure
//! under the stable `Pushfeed.*` name the state machine's Retry and Catch match. The Lambda
//! functions (`adapters/aws/lambda.rs`) and the local executor (`machine.rs`) both call these, so
//! a task parses, fails and is named the same way on either.

use std::future::Future;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::contract::{AwaitOutput, DeliverOutput, LoadOutput, ReadWindowOutput};
use super::{names, Settings, StepError};
use crate::ports::{Clock, Delivery, ObjectStore, Stream, Warehouse};

/// The Task states of ingest-window that run pushfeed's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    ReadWindow,
    Deliver,
    AwaitObjects,
    Load,
}

impl Task {
    /// The state's name in statemachines/ingest-window.asl.json.
    pub fn state_name(self) -> &'static str {
        match self {
            Task::ReadWindow => "ReadWindow",
            Task::Deliver => "Deliver",
            Task::AwaitObjects => "AwaitObjects",
            Task::Load => "Load",
        }
    }
}

/// A failed task as Lambda reports it: `errorType` is the stable name (never a Rust type name),
/// `errorMessage` says what happened and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskFailure {
    pub error_type: String,
    pub error_message: String,
}

impl From<StepError> for TaskFailure {
    fn from(e: StepError) -> TaskFailure {
        TaskFailure {
            error_type: e.name().to_string(),
            error_message: chain_message(&e),
        }
    }
}

/// An error and its causes as one line, "what failed: why": the message operators read in the
/// failure email, so a cause kept only as a `source()` still reaches them. An error that already
/// says its cause in its own text (a [`crate::ports::PortError`], most step errors) also keeps it
/// as its source: the walk stops at the first cause the text already holds, whose own causes that
/// cause said as it chose to.
pub fn chain_message(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let said = cause.to_string();
        if text.contains(&said) {
            break;
        }
        text = format!("{text}: {said}");
        next = cause.source();
    }
    text
}

/// A task that succeeded: the step's output, typed (the Lambda wiring makes metrics of it) and
/// as the state's JSON result.
#[derive(Debug, Clone)]
pub struct Done<O> {
    pub output: O,
    pub json: Value,
}

/// Parses the state's input, runs the step and writes its output.
async fn call<I, O, Fut>(
    task: Task,
    payload: Value,
    step: impl FnOnce(I) -> Fut,
) -> Result<Done<O>, TaskFailure>
where
    I: DeserializeOwned,
    O: Serialize,
    Fut: Future<Output = Result<O, StepError>>,
{
    let input: I = serde_json::from_value(payload).map_err(|e| TaskFailure {
        error_type: names::INVALID_INPUT.to_string(),
        error_message: format!("the input of {} is not valid: {e}", task.state_name()),
    })?;
    let output = step(input).await?;
    // The outputs are plain structs with string keys, so this does not fail; if it ever did,
    // retrying would not help.
    let json = serde_json::to_value(&output).map_err(|e| TaskFailure {
        error_type: names::INVALID_INPUT.to_string(),
        error_message: format!("the output of {} is not JSON: {e}", task.state_name()),
    })?;
    Ok(Done { output, json })
}

pub async fn read_window(
    stream: &dyn Stream,
    store: &dyn ObjectStore,
    clock: &dyn Clock,
    settings: &Settings,
    payload: Value,
) -> Result<Done<ReadWindowOutput>, TaskFailure> {
    call(Task::ReadWindow, payload, |input| {
        super::read_window(stream, store, clock, settings, input)
    })
    .await
}

pub async fn deliver(
    store: &dyn ObjectStore,
    delivery: &dyn Delivery,
    settings: &Settings,
    payload: Value,
) -> Result<Done<DeliverOutput>, TaskFailure> {
    call(Task::Deliver, payload, |input| {
        super::deliver(store, delivery, settings, input)
    })
    .await
}

pub async fn await_objects(
    store: &dyn ObjectStore,
    settings: &Settings,
    payload: Value,
) -> Result<Done<AwaitOutput>, TaskFailure> {
    call(Task::AwaitObjects, payload, |input| {
        super::await_objects(store, settings, input)
    })
    .await
}

pub async fn load(
    store: &dyn ObjectStore,
    warehouse: &dyn Warehouse,
    settings: &Settings,
    payload: Value,
) -> Result<Done<LoadOutput>, TaskFailure> {
    call(Task::Load, payload, |input| {
        super::load(store, warehouse, settings, input)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{ObjectMeta, ObjectWriter, PortResult};

    #[tokio::test]
    async fn an_input_that_does_not_fit_is_invalid_input_naming_the_state() {
        let store = NoStore;
        let f = await_objects(
            &store,
            &Settings::default(),
            serde_json::json!({"window": 1}),
        )
        .await
        .unwrap_err();
        assert_eq!(f.error_type, names::INVALID_INPUT);
        assert!(
            f.error_message
                .starts_with("the input of AwaitObjects is not valid: "),
            "{}",
            f.error_message
        );
    }

    /// An error whose text may or may not say its cause.
    #[derive(Debug)]
    struct Said {
        text: &'static str,
        source: Option<Box<Said>>,
    }

    impl std::fmt::Display for Said {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.text)
        }
    }

    impl std::error::Error for Said {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.source.as_deref().map(|s| s as _)
        }
    }

    fn said(text: &'static str, source: Option<Said>) -> Said {
        Said {
            text,
            source: source.map(Box::new),
        }
    }

    #[test]
    fn the_message_says_each_cause_once() {
        // A cause kept only as a source is said after the error.
        let e = said("window 2026-11-26T10:01Z: bad key", Some(said("why", None)));
        assert_eq!(chain_message(&e), "window 2026-11-26T10:01Z: bad key: why");
        // A cause the text already says is not said again, nor are the causes it said itself.
        let e = said(
            "reading k: listing failed: 503 SlowDown",
            Some(said(
                "listing failed: 503 SlowDown",
                Some(said("503 SlowDown", Some(said("connection reset", None)))),
            )),
        );
        assert_eq!(chain_message(&e), "reading k: listing failed: 503 SlowDown");
        assert_eq!(chain_message(&said("alone", None)), "alone");
    }

    /// The input is refused before any port is called.
    struct NoStore;

    #[async_trait::async_trait]
    impl ObjectStore for NoStore {
        async fn put(&self, _: &str, _: Vec<u8>) -> PortResult<()> {
            unreachable!("no port is called")
        }
        async fn put_if_absent(&self, _: &str, _: Vec<u8>) -> PortResult<()> {
            unreachable!("no port is called")
        }
        async fn get(&self, _: &str) -> PortResult<Vec<u8>> {
            unreachable!("no port is called")
        }
        async fn list(&self, _: &str) -> PortResult<Vec<ObjectMeta>> {
            unreachable!("no port is called")
        }
        async fn writer(&self, _: &str) -> PortResult<Box<dyn ObjectWriter>> {
            unreachable!("no port is called")
        }
        fn url(&self, key: &str) -> String {
            key.to_string()
        }
    }
}
