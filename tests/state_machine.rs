//! The state machine `statemachines/ingest-window.asl.json`, run by the local ASL executor (`asl`)
//! on a virtual clock. The task handlers emulate the four steps' contract: they parse their input
//! into the `pushfeed::steps::contract` types (so a payload the definition shapes wrongly fails the
//! test) and answer with those types serialized, and they fail with `StepError`'s stable names.
//!
//! asl-validator: `scripts/test` also checks the definition with the npm package asl-validator
//! (4.x, pinned in `.ci/node/package.json`). By hand:
//!
//!     npx asl-validator --json-path statemachines/ingest-window.asl.json
//!
//! It accepts the file with its `${...}` placeholders unfilled, since they only occur inside JSON
//! strings. Use `--json-path`: `--json-definition` takes JSON *text*, so given a file name it
//! prints "Unable to parse JSON definition #1" and still exits 0, having checked nothing.
//! asl-validator checks the intrinsic functions in Parameters/ItemSelector, but not a Fail
//! state's CausePath: the failure tests below run every one of those.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use asl::{
    handler_fn, Clock, Definition, Execution, ExecutionOptions, ExecutionStatus, Executor,
    HistoryEvent, Registry, TaskCall, TaskError, TaskHandler,
};
use pushfeed::deploy_contract::{self, RetryPolicies};
use pushfeed::domain::keys::BatchId;
use pushfeed::domain::window::Window;
use pushfeed::ports::PortError;
use pushfeed::steps::contract::{
    AwaitOutput, BranchInput, DeliverOutput, Kept, LoadOutput, ReadStats, ReadWindowInput,
    ReadWindowOutput, RouteBatch,
};
use pushfeed::steps::{names, StepError};
use serde_json::{json, Value};

const DEFINITION_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/statemachines/ingest-window.asl.json"
);
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/state_machine");

const REGION: &str = "eu-west-2";
const ACCOUNT: &str = "123456789012";
const MACHINE: &str = "pushfeed-ingest-window";
const EXECUTION_NAME: &str = "window-2026-11-26T10-01Z";
const WINDOW: &str = "2026-11-26T10:01Z";
/// The scheduled time whose window (lag 1 minute) is WINDOW.
const SCHEDULED: &str = "2026-11-26T10:03:00Z";
const BATCH: &str = "019ac0b2a4c80-5f3e2a11";
const TOPIC: &str = "arn:aws:sns:eu-west-2:123456789012:pushfeed-failures";

/// Every placeholder the definition uses; CDK's DefinitionSubstitutions must fill exactly these.
const PLACEHOLDERS: [&str; 8] = [
    "AwaitObjectsFunction",
    "AwaitWaitSeconds",
    "DeliverFunction",
    "FailureTopicArn",
    "LoadFunction",
    "ReadWindowFunction",
    "Region",
    "ReplayCommand",
];

/// States entered once per execution on the happy path: ResolveWindow, ManualWindow or
/// ScheduledWindow, ReadWindow, FanOut, Summarize, Done.
const FIXED_TRANSITIONS: usize = 6;
/// Per event type when the first AwaitObjects check is incomplete: Deliver, AwaitObjects,
/// AllDelivered?, WaitForFirehose, AwaitObjects, AllDelivered?, Load.
const TRANSITIONS_PER_TYPE: usize = 7;

fn machine_arn() -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{MACHINE}")
}

fn execution_arn() -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{MACHINE}:{EXECUTION_NAME}")
}

fn rerun_command() -> String {
    format!(
        "pushfeed replay --aws --state-machine {} --from {WINDOW} --to {WINDOW}",
        machine_arn()
    )
}

fn console_url() -> String {
    format!(
        "https://{REGION}.console.aws.amazon.com/states/home?region={REGION}#/v2/executions/details/{}",
        execution_arn()
    )
}

fn fixture(name: &str) -> String {
    let p = format!("{FIXTURES}/{name}");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {p}: {e}"))
}

fn definition_text() -> String {
    std::fs::read_to_string(DEFINITION_PATH)
        .unwrap_or_else(|e| panic!("read {DEFINITION_PATH}: {e}"))
}

/// The local names (tests/fixtures/state_machine/substitutions.json).
fn local_names() -> HashMap<String, String> {
    serde_json::from_str(&fixture("substitutions.json"))
        .expect("substitutions.json is a string map")
}

fn substituted(overrides: &[(&str, &str)]) -> String {
    let mut values = local_names();
    for (k, v) in overrides {
        values.insert(k.to_string(), v.to_string());
    }
    asl::substitute(&definition_text(), &values).expect("every placeholder has a local value")
}

fn window() -> Window {
    WINDOW.parse().expect("a window name")
}

fn batch() -> BatchId {
    BATCH.parse().expect("a batch id")
}

// ---------------------------------------------------------------------------------------------
// The emulated steps

fn route(event_type: &str, table: &str, count: u64) -> RouteBatch {
    RouteBatch {
        event_type: event_type.into(),
        table: table.into(),
        delivery_stream: format!("pushfeed-{}", table.replace('_', "-")),
        staging_key: format!("staging/window={WINDOW}/type={event_type}/batch={BATCH}.ndjson"),
        count,
    }
}

fn three_routes() -> Vec<RouteBatch> {
    vec![
        route("SEND", "push_sends", 1200),
        route("OPEN", "push_opens", 300),
        route("SEND_REJECTED", "push_send_rejections", 40),
    ]
}

/// An error a handler raises, `times` times, for one state (and one event type, for branches).
#[derive(Debug, Clone)]
struct Fault {
    state: &'static str,
    event_type: Option<&'static str>,
    error: &'static str,
    times: u32,
}

#[derive(Debug, Clone)]
struct Plan {
    routes: Vec<RouteBatch>,
    rejected: u64,
    unrouted: u64,
    /// AwaitObjects answers `complete: false` this many times per event type before `true`.
    incomplete_checks: u32,
    /// Like `Settings::await_attempts`: the check that fails with ObjectsNotDelivered.
    await_limit: u32,
    faults: Vec<Fault>,
    /// SNS refuses every publish, as it does while it is unavailable.
    sns_down: bool,
    /// SNS refuses publishes with this error this many times, then accepts them.
    sns_refusals: Option<(&'static str, u32)>,
}

impl Plan {
    fn new(routes: Vec<RouteBatch>) -> Plan {
        Plan {
            routes,
            rejected: 7,
            unrouted: 3,
            incomplete_checks: 1,
            await_limit: 20,
            faults: Vec::new(),
            sns_down: false,
            sns_refusals: None,
        }
    }

    fn fault(
        mut self,
        state: &'static str,
        event_type: Option<&'static str>,
        error: &'static str,
        times: u32,
    ) -> Plan {
        self.faults.push(Fault {
            state,
            event_type,
            error,
            times,
        });
        self
    }
}

#[derive(Debug, Clone)]
struct Call {
    state: String,
    function: Option<String>,
    event_type: Option<String>,
    input: Value,
}

#[derive(Default)]
struct Log {
    calls: Vec<Call>,
    /// Every publish SNS accepted: the task's parameters.
    published: Vec<Value>,
    /// Publishes SNS refused.
    refused: u32,
}

impl Log {
    fn calls_of(&self, state: &str, event_type: Option<&str>) -> Vec<&Call> {
        self.calls
            .iter()
            .filter(|c| {
                c.state == state && (event_type.is_none() || c.event_type.as_deref() == event_type)
            })
            .collect()
    }
}

struct World {
    plan: Plan,
    log: Log,
}

type Shared = Arc<Mutex<World>>;

fn step_error(error: &str, state: &str, branch: Option<&BranchInput>) -> TaskError {
    let w = window();
    let e = match error {
        names::TRANSIENT => StepError::transient(format!("window {w}: reading the stream: ProvisionedThroughputExceededException on shardId-000000000001")),
        names::INVALID_INPUT => match branch {
            Some(b) => StepError::invalid(format!("window {w}, {}: delivery stream {} does not exist", b.event_type, b.delivery_stream)),
            None => StepError::invalid(format!(
                "checkpoint checkpoints/window={w}.json is not readable: expected value at line 1 column 1; delete it to re-read the window from the stream"
            )),
        },
        names::LOAD_FAILED => {
            let b = branch.expect("LoadFailed comes from Load");
            StepError::LoadFailed { window: w, table: b.table.clone(), source: PortError::permanent("running the load transaction", format!("relation \"{}\" does not exist", b.table)) }
        }
        other => return TaskError::new(other, format!("{state}: injected {other}")),
    };
    TaskError::new(e.name(), e.to_string())
}

fn parse<T: serde::de::DeserializeOwned>(state: &str, input: &Value) -> Result<T, TaskError> {
    serde_json::from_value(input.clone()).map_err(|e| {
        TaskError::new(
            names::INVALID_INPUT,
            format!("{state}: the payload does not match the contract: {e}: {input}"),
        )
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("contract types serialize")
}

fn answer(world: &Shared, call: &TaskCall) -> Result<Value, TaskError> {
    let mut w = world.lock().unwrap();
    let event_type = call
        .input
        .get("event_type")
        .and_then(Value::as_str)
        .map(str::to_string);
    w.log.calls.push(Call {
        state: call.state_name.clone(),
        function: call.function_name.clone(),
        event_type: event_type.clone(),
        input: call.input.clone(),
    });
    let branch: Option<BranchInput> = match call.state_name.as_str() {
        "ReadWindow" => None,
        s => Some(parse(s, &call.input)?),
    };
    if let Some(f) = w.plan.faults.iter_mut().find(|f| {
        f.times > 0
            && f.state == call.state_name
            && (f.event_type.is_none() || f.event_type.map(str::to_string) == event_type)
    }) {
        f.times -= 1;
        let error = f.error;
        return Err(step_error(error, &call.state_name, branch.as_ref()));
    }
    let plan = &w.plan;
    match call.state_name.as_str() {
        "ReadWindow" => {
            let input: ReadWindowInput = parse("ReadWindow", &call.input)?;
            let window = match (&input.window, &input.scheduled_time) {
                (Some(w), _) => *w,
                (None, Some(t)) => Window::for_scheduled_time(t, input.lag_minutes.unwrap_or(1))
                    .map_err(|e| TaskError::new(names::INVALID_INPUT, e.to_string()))?,
                (None, None) => return Err(TaskError::new(names::INVALID_INPUT, "no window")),
            };
            let routed: u64 = plan.routes.iter().map(|r| r.count).sum();
            let events = routed + plan.rejected + plan.unrouted;
            let out = ReadWindowOutput {
                window,
                batch: batch(),
                execution: input.execution,
                routes: plan.routes.clone(),
                rejected: Kept {
                    count: plan.rejected,
                    key: Some(format!("rejected/window={window}/batch={BATCH}.ndjson")),
                },
                unrouted: Kept {
                    count: plan.unrouted,
                    key: Some(format!("unrouted/window={window}/batch={BATCH}.ndjson")),
                },
                read: ReadStats {
                    records: events - events / 25,
                    events,
                    bytes: events * 900,
                    shards: 4,
                    source: "stream".into(),
                    beyond_checkpoint: 0,
                },
                raw_key: format!("raw/window={window}/batch={BATCH}.ndjson.gz"),
                checkpoint_key: format!("checkpoints/window={window}.json"),
            };
            Ok(to_json(&out))
        }
        "Deliver" => {
            let b = branch.expect("parsed");
            Ok(to_json(&DeliverOutput {
                window: b.window,
                event_type: b.event_type,
                delivered: b.count,
                calls: b.count.div_ceil(500),
                resent: 0,
            }))
        }
        "AwaitObjects" => {
            let b = branch.expect("parsed");
            let attempt = b.attempt + 1;
            let complete = attempt > plan.incomplete_checks;
            if !complete && attempt >= plan.await_limit {
                let e = StepError::ObjectsNotDelivered {
                    window: b.window,
                    event_type: b.event_type.clone(),
                    batch: b.batch.to_string(),
                    expected: b.count,
                    arrived: b.count / 2,
                    attempts: attempt,
                };
                return Err(TaskError::new(e.name(), e.to_string()));
            }
            let arrived = if complete { b.count } else { b.count / 2 };
            Ok(to_json(&AwaitOutput {
                window: b.window,
                event_type: b.event_type,
                expected: b.count,
                arrived,
                objects: 1 + arrived / 1000,
                complete,
                attempt,
            }))
        }
        "Load" => {
            let b = branch.expect("parsed");
            Ok(to_json(&LoadOutput {
                window: b.window,
                event_type: b.event_type.clone(),
                table: b.table.clone(),
                batch: b.batch.clone(),
                objects: 1 + b.count / 1000,
                manifest_key: format!(
                    "manifests/window={}/type={}/batch={}.json",
                    b.window, b.event_type, b.batch
                ),
                rows_staged: b.count,
                rows_inserted: b.count - b.count / 10 - b.count / 100,
                rows_replaced: b.count / 10,
                rows_unchanged: 0,
                duplicates: b.count / 100,
            }))
        }
        other => Err(TaskError::new(
            "States.Runtime",
            format!("no emulated step for {other}"),
        )),
    }
}

fn lambda(world: &Shared) -> Arc<dyn TaskHandler> {
    let world = world.clone();
    handler_fn(move |call: TaskCall| {
        let world = world.clone();
        async move { answer(&world, &call) }
    })
}

/// SNS as Publish validates: a subject under 100 characters, ASCII, one line.
fn sns(world: &Shared) -> Arc<dyn TaskHandler> {
    let world = world.clone();
    handler_fn(move |call: TaskCall| {
        let world = world.clone();
        async move {
            let mut w = world.lock().unwrap();
            if w.plan.sns_down {
                w.log.refused += 1;
                return Err(TaskError::new(
                    "SNS.InternalErrorException",
                    "Internal Error (Service: Sns, Status Code: 500)",
                ));
            }
            if let Some((error, times)) = w.plan.sns_refusals.as_mut().filter(|(_, n)| *n > 0) {
                *times -= 1;
                let error = *error;
                w.log.refused += 1;
                return Err(TaskError::new(error, format!("{error} (Service: Sns)")));
            }
            let subject = call.input["Subject"].as_str().unwrap_or("");
            if subject.chars().count() >= 100 || !subject.is_ascii() || subject.contains('\n') {
                w.log.refused += 1;
                return Err(TaskError::new(
                    "SNS.InvalidParameterException",
                    "Invalid parameter: Subject (Service: Sns, Status Code: 400)",
                ));
            }
            w.log.published.push(call.input.clone());
            Ok(json!({"MessageId": format!("message-{}", w.log.published.len())}))
        }
    })
}

struct Run {
    exec: Execution,
    log: Log,
}

async fn run_text(text: &str, plan: Plan, input: Value) -> Run {
    let def = Definition::from_json(text).expect("the definition is valid");
    let world: Shared = Arc::new(Mutex::new(World {
        plan,
        log: Log::default(),
    }));
    let names = local_names();
    let registry = Registry::new()
        .lambda(&names["ReadWindowFunction"], lambda(&world))
        .lambda(&names["DeliverFunction"], lambda(&world))
        .lambda(&names["AwaitObjectsFunction"], lambda(&world))
        .lambda(&names["LoadFunction"], lambda(&world))
        .sns(sns(&world));
    let clock = Clock::virtual_at("2026-11-26T10:03:00.000Z").expect("a valid instant");
    let options = ExecutionOptions {
        name: Some(EXECUTION_NAME.into()),
        state_machine_name: MACHINE.into(),
        region: REGION.into(),
        account_id: ACCOUNT.into(),
        ..ExecutionOptions::default()
    };
    let exec = Executor::new(registry, clock)
        .start(&def, input, options)
        .await;
    let log = std::mem::take(&mut world.lock().unwrap().log);
    Run { exec, log }
}

async fn run(plan: Plan, input: Value) -> Run {
    run_text(&substituted(&[]), plan, input).await
}

fn manual() -> Value {
    json!({"window": WINDOW})
}

// ---------------------------------------------------------------------------------------------
// Reading the history

fn detail_name(e: &HistoryEvent) -> Option<&str> {
    e.detail()?.get("name")?.as_str()
}

/// How many times a state was entered.
fn entered(exec: &Execution, state: &str) -> usize {
    exec.history
        .events
        .iter()
        .filter(|e| e.event_type.ends_with("StateEntered") && detail_name(e) == Some(state))
        .count()
}

/// The StateEntered event an event belongs to, by following previousEventId.
fn owning_state<'a>(exec: &'a Execution, event: &'a HistoryEvent) -> Option<&'a HistoryEvent> {
    let by_id: HashMap<u64, &HistoryEvent> =
        exec.history.events.iter().map(|e| (e.id, e)).collect();
    let mut cur = event;
    loop {
        if cur.event_type.ends_with("StateEntered") {
            return Some(cur);
        }
        cur = by_id.get(&cur.previous_event_id)?;
    }
}

/// `(state, event type, error)` of every failed task attempt.
fn task_failures(exec: &Execution) -> Vec<(String, Option<String>, String)> {
    exec.history
        .of_type("TaskFailed")
        .map(|e| {
            let st = owning_state(exec, e).expect("a task event follows its state");
            let input: Value =
                serde_json::from_str(st.detail().unwrap()["input"].as_str().unwrap()).unwrap();
            let event_type = input
                .pointer("/branch/event_type")
                .and_then(Value::as_str)
                .map(str::to_string);
            (
                detail_name(st).unwrap().to_string(),
                event_type,
                e.detail().unwrap()["error"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The largest state input, state output, task parameters or task result in the history.
fn largest_payload(exec: &Execution) -> (usize, String) {
    let mut best = (0, String::new());
    for e in &exec.history.events {
        let Some(Value::Object(d)) = e.detail() else {
            continue;
        };
        for key in ["input", "output", "parameters"] {
            if let Some(Value::String(s)) = d.get(key) {
                if s.len() > best.0 {
                    best = (s.len(), format!("{} {}", e.event_type, key));
                }
            }
        }
    }
    best
}

fn assert_succeeded(r: &Run) {
    assert_eq!(
        r.exec.status,
        ExecutionStatus::Succeeded,
        "error {:?}, cause {:?}",
        r.exec.error,
        r.exec.cause
    );
    assert!(
        r.log.published.is_empty(),
        "no failure email on success: {:?}",
        r.log.published
    );
}

// ---------------------------------------------------------------------------------------------
// The definition itself

fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(p) = rest.find("${") {
        let after = &rest[p + 2..];
        let end = after.find('}').expect("a closed placeholder");
        out.insert(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

/// Every state object, with its name, at every depth.
fn all_states(v: &Value, out: &mut Vec<(String, Value)>) {
    if let Some(states) = v.get("States").and_then(Value::as_object) {
        for (name, s) in states {
            out.push((name.clone(), s.clone()));
            if let Some(p) = s.get("ItemProcessor") {
                all_states(p, out);
            }
        }
    }
}

#[test]
fn definition_fills_every_placeholder_and_validates() {
    let text = definition_text();
    let found = placeholders(&text);
    let expected: BTreeSet<String> = PLACEHOLDERS.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        found, expected,
        "the placeholders CDK and the local runner must fill"
    );
    let names: BTreeSet<String> = local_names().keys().cloned().collect();
    assert_eq!(
        names, expected,
        "substitutions.json names every placeholder"
    );

    let filled = substituted(&[]);
    assert!(!filled.contains("${"), "an unfilled placeholder is left");
    let def = Definition::from_json(&filled).expect("asl validates the substituted definition");
    assert_eq!(
        def.state_names(),
        [
            "ComposeFailureMessage",
            "DescribeFanOutFailure",
            "Done",
            "FanOut",
            "FanOutFailed",
            "ManualWindow",
            "NoWindowGiven",
            "NotifyFailure",
            "NotifyFailureFallback",
            "ReadWindow",
            "ReadWindowFailed",
            "ResolveWindow",
            "ScheduledWindow",
            "SubjectNamesTheError?",
            "SubjectWithError",
            "SubjectWithoutError",
            "Summarize",
            "UnpackBranchFailure",
            "WindowFailed",
        ]
        .map(String::from)
        .to_vec()
    );

    // A missing value is reported, never left in place.
    let mut partial = local_names();
    partial.remove("Region");
    match asl::substitute(&text, &partial) {
        Err(asl::SubstituteError::Unfilled(missing)) => {
            assert_eq!(missing, vec!["Region".to_string()])
        }
        other => panic!("expected Unfilled, got {other:?}"),
    }
}

#[test]
fn every_task_retries_transient_errors_times_out_and_is_caught() {
    let v: Value = serde_json::from_str(&definition_text()).unwrap();
    assert_eq!(v["QueryLanguage"], "JSONPath");
    let mut states = Vec::new();
    all_states(&v, &mut states);
    let mut seen = BTreeSet::new();
    for (name, _) in &states {
        assert!(
            seen.insert(name.clone()),
            "state names must be unique across the machine: {name}"
        );
    }
    let tasks: Vec<&(String, Value)> = states.iter().filter(|(_, s)| s["Type"] == "Task").collect();
    let task_names: BTreeSet<&str> = tasks.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        task_names,
        BTreeSet::from([
            "ReadWindow",
            "Deliver",
            "AwaitObjects",
            "Load",
            "NotifyFailure",
            "NotifyFailureFallback"
        ])
    );
    for (name, s) in tasks {
        assert!(
            s["TimeoutSeconds"].as_u64().is_some_and(|t| t > 0),
            "{name} needs TimeoutSeconds"
        );
        let retriers = s["Retry"].as_array().unwrap();
        let errors = RetryPolicies::names(retriers);
        let contract = deploy_contract::get();
        if s["Resource"] == "arn:aws:states:::lambda:invoke" {
            assert_eq!(retriers, &contract.retry.lambda, "{name}");
            for e in [
                names::TRANSIENT,
                "Lambda.ServiceException",
                "Lambda.AWSLambdaException",
                "Lambda.SdkClientException",
                "Lambda.TooManyRequestsException",
                // A function killed at its timeout or out of memory, or a state that timed out.
                "Sandbox.Timedout",
                "Lambda.Unknown",
                "States.Timeout",
            ] {
                assert!(errors.contains(&e), "{name} must retry {e}");
            }
            for e in [
                names::INVALID_INPUT,
                names::LOAD_FAILED,
                names::OBJECTS_NOT_DELIVERED,
                "States.ALL",
                "States.TaskFailed",
            ] {
                assert!(!errors.contains(&e), "{name} must not retry {e}");
            }
            // The killed-function retrier tries once more; transient errors four times.
            assert_eq!(
                retriers
                    .iter()
                    .map(|r| r["MaxAttempts"].as_u64().unwrap())
                    .collect::<Vec<_>>(),
                [4, 1],
                "{name}"
            );
        } else {
            assert_eq!(s["Resource"], "arn:aws:states:::sns:publish");
            assert_eq!(retriers, &contract.retry.sns, "{name}");
            for e in [
                "SNS.InternalErrorException",
                "SNS.KMSThrottlingException",
                "States.Timeout",
            ] {
                assert!(errors.contains(&e), "{name} must retry {e}");
            }
            for e in [
                "States.TaskFailed",
                "States.ALL",
                "SNS.InvalidParameterException",
            ] {
                assert!(!errors.contains(&e), "{name} must not retry {e}");
            }
        }
        for retry in retriers {
            assert_eq!(
                (
                    retry["IntervalSeconds"].as_u64(),
                    retry["BackoffRate"].as_u64(),
                    retry["MaxDelaySeconds"].as_u64()
                ),
                (Some(2), Some(2), Some(30)),
                "{name}"
            );
            assert_eq!(retry["JitterStrategy"], "FULL", "{name}");
        }
        let catch = s["Catch"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} needs a Catch"));
        assert_eq!(
            catch.last().unwrap()["ErrorEquals"],
            json!(["States.ALL"]),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Happy paths

#[tokio::test]
async fn three_types_succeed_with_one_iteration_each_and_the_await_loop() {
    let r = run(Plan::new(three_routes()), manual()).await;
    assert_succeeded(&r);

    // `UPDATE_SNAPSHOTS=1` rewrites the golden output after an intended change.
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        let text = serde_json::to_string_pretty(r.exec.output.as_ref().unwrap()).unwrap() + "\n";
        std::fs::write(format!("{FIXTURES}/happy_path_output.json"), text).unwrap();
    }
    let expected: Value = serde_json::from_str(&fixture("happy_path_output.json")).unwrap();
    assert_eq!(r.exec.output.as_ref().unwrap(), &expected);

    assert_eq!(r.exec.history.of_type("MapIterationStarted").count(), 3);
    assert_eq!(r.exec.history.of_type("MapIterationSucceeded").count(), 3);
    for t in ["SEND", "OPEN", "SEND_REJECTED"] {
        assert_eq!(r.log.calls_of("Deliver", Some(t)).len(), 1, "{t}");
        assert_eq!(r.log.calls_of("Load", Some(t)).len(), 1, "{t}");
        // The first check is incomplete: Choice -> Wait -> a second check carrying attempt 1.
        let checks = r.log.calls_of("AwaitObjects", Some(t));
        let attempts: Vec<u64> = checks
            .iter()
            .map(|c| c.input["attempt"].as_u64().unwrap())
            .collect();
        assert_eq!(attempts, vec![0, 1], "{t}");
    }
    assert_eq!(entered(&r.exec, "WaitForFirehose"), 3);
    assert_eq!(entered(&r.exec, "AllDelivered?"), 6);
    // The Wait used ${AwaitWaitSeconds} (60) of virtual time.
    assert!(r.exec.stop_millis - r.exec.start_millis >= 60_000);

    // Each step got its own function, and the payloads carry the execution and the read's batch.
    let names = local_names();
    for (state, key) in [
        ("ReadWindow", "ReadWindowFunction"),
        ("Deliver", "DeliverFunction"),
        ("AwaitObjects", "AwaitObjectsFunction"),
        ("Load", "LoadFunction"),
    ] {
        for c in r.log.calls_of(state, None) {
            assert_eq!(c.function.as_deref(), Some(names[key].as_str()), "{state}");
            assert_eq!(c.input["execution"], json!(execution_arn()), "{state}");
        }
    }
    let read: ReadWindowInput =
        serde_json::from_value(r.log.calls_of("ReadWindow", None)[0].input.clone()).unwrap();
    assert_eq!(
        read,
        ReadWindowInput {
            window: Some(window()),
            execution: Some(execution_arn()),
            ..ReadWindowInput::default()
        }
    );
    let deliver: BranchInput =
        serde_json::from_value(r.log.calls_of("Deliver", Some("OPEN"))[0].input.clone()).unwrap();
    assert_eq!(
        deliver,
        BranchInput {
            window: window(),
            batch: batch(),
            event_type: "OPEN".into(),
            table: "push_opens".into(),
            delivery_stream: "pushfeed-push-opens".into(),
            staging_key: format!("staging/window={WINDOW}/type=OPEN/batch={BATCH}.ndjson"),
            count: 300,
            execution: Some(execution_arn()),
            attempt: 0,
        }
    );

    let transitions = r.exec.history.state_transitions();
    println!("happy path, 3 event types: {transitions} state transitions ({FIXED_TRANSITIONS} + {TRANSITIONS_PER_TYPE} per type)");
    assert_eq!(transitions, FIXED_TRANSITIONS + 3 * TRANSITIONS_PER_TYPE);
    assert!(transitions <= 3 * 10 + FIXED_TRANSITIONS);
}

#[tokio::test]
async fn a_scheduled_start_reads_the_window_of_its_scheduled_time() {
    let r = run(
        Plan::new(three_routes()),
        json!({"scheduled_time": SCHEDULED}),
    )
    .await;
    assert_succeeded(&r);
    assert_eq!(r.exec.output.as_ref().unwrap()["window"], json!(WINDOW));
    let read: ReadWindowInput =
        serde_json::from_value(r.log.calls_of("ReadWindow", None)[0].input.clone()).unwrap();
    assert_eq!(
        read,
        ReadWindowInput {
            scheduled_time: Some(SCHEDULED.into()),
            execution: Some(execution_arn()),
            ..ReadWindowInput::default()
        }
    );
    assert_eq!(entered(&r.exec, "ScheduledWindow"), 1);
    assert_eq!(entered(&r.exec, "ManualWindow"), 0);
}

#[tokio::test]
async fn a_window_without_events_succeeds_in_the_fixed_transitions() {
    let plan = Plan {
        rejected: 0,
        unrouted: 0,
        ..Plan::new(Vec::new())
    };
    let r = run(plan, manual()).await;
    assert_succeeded(&r);
    assert_eq!(r.exec.output.as_ref().unwrap()["loads"], json!([]));
    assert_eq!(r.exec.history.state_transitions(), FIXED_TRANSITIONS);
}

#[tokio::test]
async fn a_window_of_200000_events_keeps_every_payload_far_under_256_kib() {
    // Seven routes, 200,000 events, long keys: state data holds counts and keys, never records.
    let counts = [120_000u64, 45_000, 15_000, 8_000, 5_000, 4_000, 2_500];
    let tables = [
        "push_sends",
        "push_opens",
        "push_send_rejections",
        "push_send_aborts",
        "push_uninstalls",
        "push_controls",
        "push_web_clicks",
    ];
    let types = [
        "SEND",
        "OPEN",
        "SEND_REJECTED",
        "SEND_ABORTED",
        "UNINSTALL",
        "CONTROL",
        "WEB_CLICK",
    ];
    let routes: Vec<RouteBatch> = types
        .iter()
        .zip(tables)
        .zip(counts)
        .map(|((t, table), c)| route(t, table, c))
        .collect();
    let plan = Plan {
        rejected: 300,
        unrouted: 200,
        incomplete_checks: 2,
        ..Plan::new(routes)
    };
    let r = run(plan, manual()).await;
    assert_succeeded(&r);
    let out = r.exec.output.as_ref().unwrap();
    assert_eq!(out["read"]["events"], json!(200_000));
    assert_eq!(out["loads"].as_array().unwrap().len(), 7);

    let (largest, what) = largest_payload(&r.exec);
    let transitions = r.exec.history.state_transitions();
    println!("200,000 events in 7 types: largest state payload {largest} bytes ({what}); {transitions} state transitions");
    assert!(largest < 256 * 1024, "{what} is {largest} bytes");
    // Kept small on purpose: far under the cap even with many more types.
    assert!(largest < 8 * 1024, "{what} is {largest} bytes");
    // Two incomplete checks per type: 10 transitions per type.
    assert_eq!(
        transitions,
        FIXED_TRANSITIONS + 7 * (TRANSITIONS_PER_TYPE + 3)
    );
}

// ---------------------------------------------------------------------------------------------
// Retries

#[tokio::test]
async fn a_transient_error_in_each_task_is_retried_away() {
    for (state, event_type) in [
        ("ReadWindow", None),
        ("Deliver", Some("OPEN")),
        ("AwaitObjects", Some("OPEN")),
        ("Load", Some("OPEN")),
    ] {
        let plan = Plan::new(three_routes()).fault(state, event_type, names::TRANSIENT, 1);
        let r = run(plan, manual()).await;
        assert_succeeded(&r);
        assert_eq!(
            task_failures(&r.exec),
            vec![(
                state.to_string(),
                event_type.map(str::to_string),
                names::TRANSIENT.to_string()
            )],
            "{state}: the history shows one failed attempt"
        );
        // Retried within the same state: one StateEntered, two invocations.
        let calls = r.log.calls_of(state, event_type).len();
        let normal = if state == "AwaitObjects" { 2 } else { 1 };
        assert_eq!(calls, normal + 1, "{state}");
        assert_eq!(
            entered(&r.exec, state),
            if state == "ReadWindow" { 1 } else { 3 * normal },
            "{state}"
        );
        assert_eq!(
            r.exec.output.as_ref().unwrap()["loads"]
                .as_array()
                .unwrap()
                .len(),
            3,
            "{state}"
        );
    }
}

#[tokio::test]
async fn lambda_throttling_is_retried_too() {
    let plan =
        Plan::new(three_routes()).fault("Load", Some("SEND"), "Lambda.TooManyRequestsException", 2);
    let r = run(plan, manual()).await;
    assert_succeeded(&r);
    assert_eq!(r.log.calls_of("Load", Some("SEND")).len(), 3);
}

#[tokio::test]
async fn a_transient_error_that_persists_fails_after_five_attempts_with_one_email() {
    let plan = Plan::new(three_routes()).fault("Deliver", Some("SEND"), names::TRANSIENT, 100);
    let r = run(plan, manual()).await;
    assert_eq!(r.exec.status, ExecutionStatus::Failed);
    assert_eq!(r.exec.error.as_deref(), Some(names::TRANSIENT));
    assert_eq!(
        r.log.calls_of("Deliver", Some("SEND")).len(),
        5,
        "the first attempt and 4 retries"
    );
    assert_eq!(r.log.published.len(), 1);
    assert!(r.log.published[0]["Subject"]
        .as_str()
        .unwrap()
        .contains("Deliver (SEND)"));
}

// ---------------------------------------------------------------------------------------------
// Failures: exactly one email, then FAILED

struct Email {
    subject: String,
    message: String,
    attributes: Value,
}

fn the_one_email(r: &Run) -> Email {
    assert_eq!(
        r.log.published.len(),
        1,
        "exactly one failure email: {:#?}",
        r.log.published
    );
    assert_eq!(r.log.refused, 0);
    let p = &r.log.published[0];
    assert_eq!(p["TopicArn"], json!(TOPIC));
    Email {
        subject: p["Subject"].as_str().unwrap().to_string(),
        message: p["Message"].as_str().unwrap().to_string(),
        attributes: p["MessageAttributes"].clone(),
    }
}

fn attribute(e: &Email, name: &str) -> String {
    assert_eq!(e.attributes[name]["DataType"], "String");
    e.attributes[name]["StringValue"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_permanent_error_in_each_task_sends_one_email_and_fails() {
    struct Case {
        state: &'static str,
        event_type: Option<&'static str>,
        error: &'static str,
        /// A piece of the step's message that must reach the email.
        cause: &'static str,
    }
    let cases = [
        Case {
            state: "ReadWindow",
            event_type: None,
            error: names::INVALID_INPUT,
            cause: "is not readable",
        },
        Case {
            state: "Deliver",
            event_type: Some("OPEN"),
            error: names::INVALID_INPUT,
            cause: "delivery stream pushfeed-push-opens does not exist",
        },
        Case {
            state: "AwaitObjects",
            event_type: Some("SEND_REJECTED"),
            error: names::OBJECTS_NOT_DELIVERED,
            cause: "20 of 40 records of batch",
        },
        Case {
            state: "Load",
            event_type: Some("SEND"),
            error: names::LOAD_FAILED,
            cause: "loading push_sends failed",
        },
    ];
    for c in cases {
        let mut plan = Plan::new(three_routes());
        if c.error == names::OBJECTS_NOT_DELIVERED {
            // Firehose never delivers the type: the loop runs until AwaitObjects gives up.
            plan.incomplete_checks = u32::MAX;
            plan.await_limit = 4;
            plan.routes.retain(|r| r.event_type == "SEND_REJECTED");
        } else {
            plan = plan.fault(c.state, c.event_type, c.error, u32::MAX);
        }
        let r = run(plan, manual()).await;
        let state = c.state;
        assert_eq!(r.exec.status, ExecutionStatus::Failed, "{state}");
        assert_eq!(r.exec.error.as_deref(), Some(c.error), "{state}");
        let what = match c.event_type {
            Some(t) => format!("{state} ({t})"),
            None => state.to_string(),
        };
        let cause = r.exec.cause.as_deref().unwrap();
        assert!(
            cause.starts_with(&format!("{what} failed: ")) && cause.contains(c.cause),
            "{state}: {cause}"
        );

        // Not retried: one failed attempt, in that state.
        let failures = task_failures(&r.exec);
        assert_eq!(
            failures,
            vec![(
                state.to_string(),
                c.event_type.map(str::to_string),
                c.error.to_string()
            )],
            "{state}"
        );
        if c.error == names::OBJECTS_NOT_DELIVERED {
            assert_eq!(
                r.log.calls_of("AwaitObjects", Some("SEND_REJECTED")).len(),
                4
            );
            assert_eq!(entered(&r.exec, "WaitForFirehose"), 3);
        }

        let email = the_one_email(&r);
        assert_eq!(entered(&r.exec, "NotifyFailure"), 1);
        assert_eq!(entered(&r.exec, "NotifyFailureFallback"), 0);
        assert_eq!(entered(&r.exec, "WindowFailed"), 1);
        let s = &email.subject;
        assert!(s.chars().count() < 100, "{s}");
        // ReadWindow has not validated the window yet, so its subject leaves it to the message.
        let heading = match c.state {
            "ReadWindow" => "pushfeed ReadWindow".to_string(),
            _ => format!("pushfeed {WINDOW} {what}"),
        };
        assert_eq!(s, &format!("{heading}: {}", c.error));
        for part in [
            format!("pushfeed could not ingest window {WINDOW}."),
            format!("Failed state: {what}\n"),
            format!("Error: {}\n", c.error),
            c.cause.to_string(),
            format!("Execution: {}\n", execution_arn()),
            format!("Console: {}\n", console_url()),
            format!("Re-run the window with:\n\n  {}\n", rerun_command()),
        ] {
            assert!(
                email.message.contains(&part),
                "{state}: `{part}` missing from:\n{}",
                email.message
            );
        }
        assert_eq!(attribute(&email, "window"), WINDOW);
        assert_eq!(attribute(&email, "state"), state);
        assert_eq!(attribute(&email, "error"), c.error);
        println!("{state}: {s}");
    }
}

#[tokio::test]
async fn failures_in_two_branches_at_once_still_send_one_email() {
    let plan = Plan::new(three_routes())
        .fault("Load", Some("SEND"), names::LOAD_FAILED, 1)
        .fault("Load", Some("OPEN"), names::LOAD_FAILED, 1);
    let r = run(plan, manual()).await;
    assert_eq!(r.exec.status, ExecutionStatus::Failed);
    assert_eq!(r.exec.error.as_deref(), Some(names::LOAD_FAILED));
    let email = the_one_email(&r);
    assert!(
        email.subject.contains("Load (SEND)") || email.subject.contains("Load (OPEN)"),
        "{}",
        email.subject
    );
}

#[tokio::test]
async fn a_scheduled_run_that_fails_before_its_window_is_known_says_how_to_rerun_it() {
    let plan = Plan::new(three_routes()).fault("ReadWindow", None, names::INVALID_INPUT, u32::MAX);
    let r = run(plan, json!({"scheduled_time": SCHEDULED})).await;
    assert_eq!(r.exec.status, ExecutionStatus::Failed);
    let email = the_one_email(&r);
    assert_eq!(
        email.subject,
        format!("pushfeed ReadWindow: {}", names::INVALID_INPUT)
    );
    assert!(
        email.message.contains(&format!(
            "could not ingest window scheduled at {SCHEDULED}."
        )),
        "{}",
        email.message
    );
    // The exact command that starts the same scheduled run again.
    let prefix = format!(
        "  aws stepfunctions start-execution --state-machine-arn {} --input '",
        machine_arn()
    );
    let line = email
        .message
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no re-run command in:\n{}", email.message));
    let input: Value =
        serde_json::from_str(line[prefix.len()..].strip_suffix('\'').unwrap()).unwrap();
    assert_eq!(input, json!({"scheduled_time": SCHEDULED}));
}

#[tokio::test]
async fn an_input_without_a_window_is_refused_with_one_email() {
    let r = run(Plan::new(three_routes()), json!({"minute": "10:01"})).await;
    assert_eq!(r.exec.status, ExecutionStatus::Failed);
    assert_eq!(r.exec.error.as_deref(), Some(names::INVALID_INPUT));
    assert!(r.log.calls.is_empty(), "no step runs");
    let email = the_one_email(&r);
    assert_eq!(
        email.subject,
        format!("pushfeed ResolveWindow: {}", names::INVALID_INPUT)
    );
    assert!(
        email
            .message
            .contains(r#"nor a scheduled_time: {"minute":"10:01"}"#),
        "{}",
        email.message
    );
}

#[tokio::test]
async fn a_failure_of_the_fanout_itself_is_reported_as_fanout() {
    // A misconfigured wait: the FanOut's ItemSelector cannot parse it.
    let text = substituted(&[("AwaitWaitSeconds", "sixty")]);
    let r = run_text(&text, Plan::new(three_routes()), manual()).await;
    assert_eq!(r.exec.status, ExecutionStatus::Failed);
    assert_eq!(r.exec.error.as_deref(), Some("States.IntrinsicFailure"));
    assert_eq!(entered(&r.exec, "DescribeFanOutFailure"), 1);
    let email = the_one_email(&r);
    assert_eq!(
        email.subject,
        format!("pushfeed {WINDOW} FanOut: States.IntrinsicFailure")
    );
    assert!(email.message.contains(&rerun_command()));
}

#[tokio::test]
async fn a_publish_sns_refuses_is_not_retried_and_goes_out_under_a_fixed_subject() {
    // A refusal a second try cannot change (SNS.<Exception> of the sns:publish integration).
    for error in [
        "SNS.InvalidParameterException",
        "SNS.AuthorizationErrorException",
        "SNS.KMSDisabledException",
    ] {
        let mut plan =
            Plan::new(three_routes()).fault("Load", Some("OPEN"), names::LOAD_FAILED, u32::MAX);
        plan.sns_refusals = Some((error, 1));
        let r = run(plan, manual()).await;
        assert_eq!(r.exec.status, ExecutionStatus::Failed, "{error}");
        assert_eq!(r.exec.error.as_deref(), Some(names::LOAD_FAILED));
        assert_eq!(r.log.refused, 1, "{error} is not retried");
        assert_eq!(entered(&r.exec, "NotifyFailureFallback"), 1);
        assert_eq!(r.log.published.len(), 1);
        let p = &r.log.published[0];
        assert_eq!(p["Subject"], "pushfeed: a window failed");
        let message = p["Message"].as_str().unwrap();
        assert!(
            message.contains("Failed state: Load (OPEN)") && message.contains(&rerun_command()),
            "{message}"
        );
    }
}

#[tokio::test]
async fn throttling_and_internal_errors_of_sns_are_retried() {
    for error in [
        "SNS.InternalErrorException",
        "SNS.ThrottledException",
        "SNS.KMSThrottlingException",
    ] {
        let mut plan =
            Plan::new(three_routes()).fault("Load", Some("OPEN"), names::LOAD_FAILED, u32::MAX);
        plan.sns_refusals = Some((error, 2));
        let r = run(plan, manual()).await;
        assert_eq!(r.log.refused, 2, "{error}");
        assert_eq!(entered(&r.exec, "NotifyFailureFallback"), 0, "{error}");
        assert_eq!(r.log.published.len(), 1);
        assert_eq!(
            r.log.published[0]["Subject"],
            format!("pushfeed {WINDOW} Load (OPEN): {}", names::LOAD_FAILED)
        );
    }
}

#[tokio::test]
async fn a_lambda_killed_at_its_timeout_is_retried_once() {
    // AWS, "Handle Lambda service exceptions": "Unhandled errors in Lambda are reported as
    // Lambda.Unknown in the error output. These include out-of-memory errors and function
    // timeouts." A timed-out invocation's errorType is Sandbox.Timedout.
    for error in ["Sandbox.Timedout", "Lambda.Unknown", "States.Timeout"] {
        let plan = Plan::new(three_routes()).fault("Load", Some("SEND"), error, 1);
        let r = run(plan, manual()).await;
        assert_succeeded(&r);
        assert_eq!(r.log.calls_of("Load", Some("SEND")).len(), 2, "{error}");

        let plan = Plan::new(three_routes()).fault("Load", Some("SEND"), error, 2);
        let r = run(plan, manual()).await;
        assert_eq!(r.exec.error.as_deref(), Some(error));
        assert_eq!(
            r.log.calls_of("Load", Some("SEND")).len(),
            2,
            "{error}: one retry"
        );
        assert_eq!(r.log.published.len(), 1);
    }
}

#[tokio::test]
async fn the_failure_subject_never_reaches_snss_limit() {
    // Each part at its longest: the longest routed event type, the longest state, an error name
    // from the subject's list or any other (a Lambda service error, a runaway name), and windows
    // or scheduled times given as free text that ReadWindow refuses.
    let longest_type = "T".repeat(pushfeed::domain::routes::MAX_ROUTED_EVENT_TYPE_CHARS);
    let longest_type: &'static str = Box::leak(longest_type.into_boxed_str());
    let runaway: &'static str = Box::leak(format!("Custom.{}", "E".repeat(200)).into_boxed_str());
    let mut errors: Vec<&'static str> = deploy_contract::get()
        .notification
        .subject_error_names
        .iter()
        .map(|e| &*Box::leak(e.clone().into_boxed_str()))
        .collect();
    errors.extend(["Lambda.ClientExecutionTimeoutException", runaway]);
    let mut subjects = Vec::new();
    for &error in &errors {
        for state in ["Deliver", "AwaitObjects", "Load"] {
            let plan =
                Plan::new(vec![route(longest_type, "t", 10)]).fault(state, None, error, u32::MAX);
            let r = run(plan, manual()).await;
            subjects.push(the_one_email(&r).subject);
        }
        if error == names::LOAD_FAILED {
            continue; // only Load reports it
        }
        let long_window = "2026-11-26T10:01Z".repeat(30);
        let plan = Plan::new(three_routes()).fault("ReadWindow", None, error, u32::MAX);
        let r = run(plan.clone(), json!({ "window": long_window })).await;
        subjects.push(the_one_email(&r).subject);
        let r = run(plan, json!({ "scheduled_time": long_window })).await;
        subjects.push(the_one_email(&r).subject);
    }
    let r = run(
        Plan::new(three_routes()),
        json!({ "minute": "x".repeat(500) }),
    )
    .await;
    subjects.push(the_one_email(&r).subject);
    let longest = subjects.iter().max_by_key(|s| s.chars().count()).unwrap();
    println!(
        "{} subjects; the longest ({}): {longest}",
        subjects.len(),
        longest.len()
    );
    assert!(
        longest.chars().count() <= deploy_contract::get().notification.subject_max_chars,
        "{longest}"
    );
    // An error name the subject has no room for is left to the message.
    assert!(
        subjects.contains(&format!("pushfeed {WINDOW} Load ({longest_type}) failed")),
        "{subjects:#?}"
    );
    assert!(
        subjects.contains(&format!(
            "pushfeed {WINDOW} AwaitObjects ({longest_type}): {}",
            names::OBJECTS_NOT_DELIVERED
        )),
        "the longest listed error is named: {subjects:#?}"
    );
}

#[tokio::test]
async fn when_sns_is_down_the_execution_still_fails_with_the_original_error() {
    let mut plan =
        Plan::new(three_routes()).fault("Load", Some("OPEN"), names::LOAD_FAILED, u32::MAX);
    plan.sns_down = true;
    let r = run(plan, manual()).await;
    assert_eq!(r.exec.status, ExecutionStatus::Failed);
    assert_eq!(r.exec.error.as_deref(), Some(names::LOAD_FAILED));
    assert!(r
        .exec
        .cause
        .as_deref()
        .unwrap()
        .starts_with("Load (OPEN) failed: "));
    assert_eq!(r.log.refused, 10, "both publishes, each retried 4 times");
    assert!(r.log.published.is_empty());
}

#[tokio::test]
async fn the_failure_path_is_short_too() {
    // Counted for the record: failures are rare, but they should not loop.
    let plan = Plan::new(three_routes()).fault("Load", Some("SEND"), names::LOAD_FAILED, u32::MAX);
    let r = run(plan, manual()).await;
    let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
    for e in r
        .exec
        .history
        .events
        .iter()
        .filter(|e| e.event_type.ends_with("StateEntered"))
    {
        *by_state
            .entry(detail_name(e).unwrap().to_string())
            .or_default() += 1;
    }
    for s in [
        "LoadFailed",
        "BranchFailed",
        "FanOutFailed",
        "UnpackBranchFailure",
        "ComposeFailureMessage",
        "NotifyFailure",
        "WindowFailed",
    ] {
        assert_eq!(by_state.get(s), Some(&1), "{s}: {by_state:?}");
    }
    assert!(r.exec.history.state_transitions() <= FIXED_TRANSITIONS + 3 * TRANSITIONS_PER_TYPE + 8);
}
