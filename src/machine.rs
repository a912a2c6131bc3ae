//! The ingest-window state machine on the local executor: the same definition file AWS runs, with
//! pushfeed's steps registered as its Lambda functions and the Notifier as its SNS topic.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use asl::{
    handler_fn, Definition, Execution, ExecutionOptions, Executor, Registry, TaskCall, TaskError,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::window::Window;
use crate::ports::{Clock, Delivery, ErrorKind, Message, Notifier, ObjectStore, Stream, Warehouse};
use crate::steps::contract::{self, Kept, LoadOutput, ReadStats};
use crate::steps::task::{self, TaskFailure};
use crate::steps::Settings;

/// The definition, as checked in; CDK inlines the same file.
pub const DEFINITION: &str = include_str!("../statemachines/ingest-window.asl.json");

pub const STATE_MACHINE_NAME: &str = "pushfeed-ingest-window";

/// The local names of the definition's `${...}` placeholders.
pub mod functions {
    pub const READ_WINDOW: &str = "pushfeed-read-window";
    pub const DELIVER: &str = "pushfeed-deliver";
    pub const AWAIT_OBJECTS: &str = "pushfeed-await-objects";
    pub const LOAD: &str = "pushfeed-load";
}

/// The ports the steps run on, shared by every task invocation.
#[derive(Clone)]
pub struct LocalPorts {
    pub stream: Arc<dyn Stream>,
    pub store: Arc<dyn ObjectStore>,
    pub delivery: Arc<dyn Delivery>,
    pub warehouse: Arc<dyn Warehouse>,
    pub notifier: Arc<dyn Notifier>,
    pub clock: Arc<dyn Clock>,
}

/// Placeholder values for a local run. `wait_seconds` is the AwaitObjects loop's Wait: Firehose
/// needs a minute or more, the local stand-in well under a second.
/// `replay_command` is the command, without its window flags, that the failure email tells a
/// person to run; it sits inside a `States.Format` text, so its special characters are escaped.
pub fn local_substitutions(wait_seconds: u32, replay_command: &str) -> HashMap<String, String> {
    let replay_command = replay_command
        .replace('\\', "\\\\\\\\")
        .replace('\'', "\\\\'")
        .replace('{', "\\\\{")
        .replace('}', "\\\\}");
    [
        ("ReadWindowFunction", functions::READ_WINDOW.to_string()),
        ("DeliverFunction", functions::DELIVER.to_string()),
        ("AwaitObjectsFunction", functions::AWAIT_OBJECTS.to_string()),
        ("LoadFunction", functions::LOAD.to_string()),
        (
            "FailureTopicArn",
            "arn:aws:sns:local:000000000000:pushfeed-failures".to_string(),
        ),
        ("Region", "local".to_string()),
        ("AwaitWaitSeconds", wait_seconds.to_string()),
        ("ReplayCommand", replay_command),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A task's failure as the executor reports it: the stable name, and the message as its cause.
fn task_error(f: TaskFailure) -> TaskError {
    TaskError::new(f.error_type, f.error_message)
}

/// The error name the `sns:publish` integration reports for a failed publish: Step Functions names
/// SNS's exception `SNS.<ExceptionName>` (Publish's errors are listed in the SNS API reference). A
/// failure that may pass on a second try gets a name NotifyFailure retries
/// (config/contract.json `retry.sns`); any other a name it does not, so it goes straight to
/// NotifyFailureFallback.
pub fn sns_error_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Transient => "SNS.InternalErrorException",
        ErrorKind::NotFound => "SNS.NotFoundException",
        ErrorKind::AlreadyExists | ErrorKind::Permanent | ErrorKind::Trimmed => {
            "SNS.InvalidParameterException"
        }
    }
}

/// The task registry: pushfeed's four steps and the SNS topic.
pub fn registry(ports: LocalPorts, settings: Arc<Settings>) -> Registry {
    let (p, s) = (ports.clone(), settings.clone());
    let read = handler_fn(move |call: TaskCall| {
        let (p, s) = (p.clone(), s.clone());
        async move {
            let (stream, store, clock) = (p.stream.as_ref(), p.store.as_ref(), p.clock.as_ref());
            let done = task::read_window(stream, store, clock, &s, call.input).await;
            done.map(|d| d.json).map_err(task_error)
        }
    });
    let (p, s) = (ports.clone(), settings.clone());
    let deliver = handler_fn(move |call: TaskCall| {
        let (p, s) = (p.clone(), s.clone());
        async move {
            let done = task::deliver(p.store.as_ref(), p.delivery.as_ref(), &s, call.input).await;
            done.map(|d| d.json).map_err(task_error)
        }
    });
    let (p, s) = (ports.clone(), settings.clone());
    let await_objects = handler_fn(move |call: TaskCall| {
        let (p, s) = (p.clone(), s.clone());
        async move {
            let done = task::await_objects(p.store.as_ref(), &s, call.input).await;
            done.map(|d| d.json).map_err(task_error)
        }
    });
    let (p, s) = (ports.clone(), settings);
    let load = handler_fn(move |call: TaskCall| {
        let (p, s) = (p.clone(), s.clone());
        async move {
            let done = task::load(p.store.as_ref(), p.warehouse.as_ref(), &s, call.input).await;
            done.map(|d| d.json).map_err(task_error)
        }
    });
    let notifier = ports.notifier.clone();
    let sns = handler_fn(move |call: TaskCall| {
        let notifier = notifier.clone();
        async move {
            let text = |k: &str| {
                call.input
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let attributes = call
                .input
                .get("MessageAttributes")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| {
                            Some((k.clone(), v.get("StringValue")?.as_str()?.to_string()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let message = Message {
                subject: text("Subject"),
                body: text("Message"),
                attributes,
            };
            let id = notifier
                .publish(&message)
                .await
                .map_err(|e| TaskError::new(sns_error_name(e.kind), e.to_string()))?;
            Ok(serde_json::json!({ "MessageId": id }))
        }
    });
    Registry::new()
        .lambda(functions::READ_WINDOW, read)
        .lambda(functions::DELIVER, deliver)
        .lambda(functions::AWAIT_OBJECTS, await_objects)
        .lambda(functions::LOAD, load)
        .sns(sns)
}

#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    #[error(
        "the state machine definition {origin} still has placeholders: {0:?}",
        origin = "statemachines/ingest-window.asl.json"
    )]
    Unfilled(Vec<String>),
    #[error("the state machine definition is not valid: {0}")]
    Invalid(String),
}

/// The definition with local names filled in, validated.
pub fn local_definition(
    wait_seconds: u32,
    replay_command: &str,
) -> Result<Definition, MachineError> {
    let text = asl::substitute(
        DEFINITION,
        &local_substitutions(wait_seconds, replay_command),
    )
    .map_err(|e| match e {
        asl::SubstituteError::Unfilled(names) => MachineError::Unfilled(names),
    })?;
    Definition::from_json(&text).map_err(|e| MachineError::Invalid(e.to_string()))
}

/// Runs one execution and saves its record under `executions_dir`.
pub async fn execute(
    definition: &Definition,
    registry: Registry,
    clock: asl::Clock,
    input: Value,
    name: String,
    executions_dir: &Path,
) -> std::io::Result<(Execution, PathBuf)> {
    let executor = Executor::new(registry, clock);
    let options = ExecutionOptions {
        name: Some(name.clone()),
        state_machine_name: STATE_MACHINE_NAME.to_string(),
        region: "local".to_string(),
        account_id: "000000000000".to_string(),
        ..ExecutionOptions::default()
    };
    let execution = executor.start(definition, input, options).await;
    std::fs::create_dir_all(executions_dir)?;
    let path = executions_dir.join(format!("{name}.json"));
    let tmp = executions_dir.join(format!(".{name}.json.tmp"));
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(&execution).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(&tmp, &path)?;
    Ok((execution, path))
}

/// A readable, unique execution name: the window, the kind of run, and the time.
pub fn execution_name(window: Window, kind: &str, now_ms: i64) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let w = window.to_string().replace(':', "");
    format!("{w}-{kind}-{now_ms}-{}-{n}", std::process::id())
}

/// The Succeed state's output: what one window did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSummary {
    pub window: Window,
    pub batch: String,
    pub read: ReadStats,
    pub rejected: Kept,
    pub unrouted: Kept,
    pub loads: Vec<LoadOutput>,
}

impl WindowSummary {
    /// Distinct events of the window the warehouse holds from this run, new or already there.
    pub fn rows_loaded(&self) -> u64 {
        contract::rows_loaded(&self.loads)
    }

    /// Later copies of an event within the window, dropped by the loads.
    pub fn duplicates(&self) -> u64 {
        contract::duplicates(&self.loads)
    }

    /// read = rejected + unrouted + duplicates dropped + rows loaded: every event accounted for.
    pub fn adds_up(&self) -> bool {
        contract::adds_up(&self.read, &self.rejected, &self.unrouted, &self.loads)
    }
}

/// One execution of the state machine for one window.
pub struct WindowRun {
    pub window: Window,
    pub execution: Execution,
    /// The Succeed state's output; None when the execution failed.
    pub summary: Option<WindowSummary>,
}

impl WindowRun {
    pub fn succeeded(&self) -> bool {
        self.execution.status == asl::ExecutionStatus::Succeeded
    }
}

/// Runs windows through the state machine on a set of local ports, saving each execution.
pub struct LocalRunner {
    ports: LocalPorts,
    settings: Arc<Settings>,
    definition: Definition,
    executions_dir: PathBuf,
    clock: asl::Clock,
}

/// Firehose's stand-in flushes in under a second, so the AwaitObjects loop waits one second.
pub const LOCAL_WAIT_SECONDS: u32 = 1;

impl LocalRunner {
    pub fn new(
        ports: LocalPorts,
        settings: Settings,
        replay_command: &str,
        executions_dir: PathBuf,
    ) -> Result<LocalRunner, MachineError> {
        Ok(LocalRunner {
            ports,
            settings: Arc::new(settings),
            definition: local_definition(LOCAL_WAIT_SECONDS, replay_command)?,
            executions_dir,
            clock: asl::Clock::Real,
        })
    }

    /// Runs executions on the virtual clock: retry backoff and Wait states take no real time.
    pub fn virtual_clock(mut self) -> LocalRunner {
        self.clock = asl::Clock::virtual_now();
        self
    }

    /// Runs executions on the wall clock with every Wait and retry interval `divisor` times
    /// shorter: for tests and benchmarks whose Firehose stand-in flushes in milliseconds, where
    /// the AwaitObjects loop must still wait for real work between its checks.
    pub fn hurried(mut self, divisor: u32) -> LocalRunner {
        self.clock = asl::Clock::Hurried { divisor };
        self
    }

    /// The same runner on other ports (e.g. with faults injected).
    pub fn with_ports(&self, ports: LocalPorts) -> LocalRunner {
        LocalRunner {
            ports,
            settings: self.settings.clone(),
            definition: self.definition.clone(),
            executions_dir: self.executions_dir.clone(),
            clock: self.clock,
        }
    }

    /// One execution for `window`; `kind` (run, replay, demo...) goes into its name.
    pub async fn run(&self, window: Window, kind: &str) -> std::io::Result<WindowRun> {
        let name = execution_name(window, kind, crate::domain::window::now_ms());
        let registry = registry(self.ports.clone(), self.settings.clone());
        let input = serde_json::json!({ "window": window });
        // A virtual clock starts at the current time for each execution; the wall clock, hurried
        // or not, is the same for every execution.
        let clock = match self.clock {
            asl::Clock::Virtual { .. } => asl::Clock::virtual_now(),
            wall @ (asl::Clock::Real | asl::Clock::Hurried { .. }) => wall,
        };
        let (execution, _) = execute(
            &self.definition,
            registry,
            clock,
            input,
            name,
            &self.executions_dir,
        )
        .await?;
        let summary = execution
            .output
            .clone()
            .and_then(|o| serde_json::from_value(o).ok());
        Ok(WindowRun {
            window,
            execution,
            summary,
        })
    }
}
