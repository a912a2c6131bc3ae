//! The interpreter: runs a [`Definition`] against registered handlers, applying
//! AWS's input/output processing, retries and catchers, and records the history.
//! Here are the execution, the loop that walks a machine's states, the retry loop and
//! what every state shares (`Run`); each kind of state runs from a module of its own.

mod flow;
mod fork_join;
mod map;
mod parallel;
mod pass;
mod task;
mod wait;

use crate::clock::Clock;
use crate::context::{ContextObject, StateContext};
use crate::definition::{Catcher, Definition, Kind, Machine, Retrier, Seconds, State};
use crate::error::{names, Failure};
use crate::history::{History, HistoryEvent};
use crate::limits::{self, json_size, Limits};
use crate::path::{self, JsonPath};
use crate::payload;
use crate::random::{self, Rng};
use crate::task::Registry;
use crate::timefmt::{format_millis, system_now, Millis};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Names and ARNs for one execution.
#[derive(Debug, Clone)]
pub struct ExecutionOptions {
    /// Execution name; a random UUID when `None`.
    pub name: Option<String>,
    pub state_machine_name: String,
    /// Defaults to `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`.
    pub state_machine_arn: Option<String>,
    pub region: String,
    pub account_id: String,
    pub role_arn: Option<String>,
}

impl Default for ExecutionOptions {
    fn default() -> Self {
        ExecutionOptions {
            name: None,
            state_machine_name: "StateMachine".into(),
            state_machine_arn: None,
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            role_arn: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Succeeded,
    Failed,
    TimedOut,
}

/// A finished execution, as DescribeExecution plus GetExecutionHistory would show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: ExecutionStatus,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub start_date: String,
    pub stop_date: String,
    pub start_millis: Millis,
    pub stop_millis: Millis,
    pub history: History,
}

/// Runs definitions. Cheap to clone; executions share nothing but the registry.
#[derive(Clone)]
pub struct Executor {
    registry: Arc<Registry>,
    clock: Clock,
    limits: Limits,
}

impl Executor {
    pub fn new(registry: Registry, clock: Clock) -> Executor {
        Executor {
            registry: Arc::new(registry),
            clock,
            limits: Limits::default(),
        }
    }

    /// The same executor under other quotas than AWS's (a benchmark may raise them).
    pub fn with_limits(mut self, limits: Limits) -> Executor {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Runs one execution to its end. Failures are reported in the returned
    /// [`Execution`], never as a panic.
    pub async fn start(
        &self,
        definition: &Definition,
        input: Value,
        options: ExecutionOptions,
    ) -> Execution {
        let start = self.clock.start();
        let id = Identity::new(&options);
        let base_ctx = id.context(start);
        let run = self.run(definition, &input, base_ctx, &options.region, start);
        let mut lane = Lane {
            now: start,
            last: 0,
        };
        let result = run
            .execute(&definition.machine, &input, &id.role_arn, &mut lane)
            .await;
        let end = run.close(result, &mut lane);
        let events = run.events.into_inner().unwrap_or_else(|e| e.into_inner());
        Execution {
            execution_arn: id.execution_arn,
            state_machine_arn: id.state_machine_arn,
            name: id.name,
            status: end.status,
            input,
            output: end.output,
            error: end.error,
            cause: end.cause,
            start_date: format_millis(start),
            stop_date: format_millis(end.stop),
            start_millis: start,
            stop_millis: end.stop,
            history: History { events },
        }
    }

    /// The shared context of one execution starting at `start`.
    fn run<'a>(
        &'a self,
        definition: &Definition,
        input: &'a Value,
        base_ctx: Value,
        region: &str,
        start: Millis,
    ) -> Run<'a> {
        // Without TimeoutSeconds an execution still ends at AWS's maximum execution time.
        let timeout = definition
            .timeout_seconds
            .unwrap_or(self.limits.max_execution_seconds);
        Run {
            registry: &self.registry,
            clock: self.clock,
            events: Mutex::new(Vec::new()),
            base_ctx,
            exec_input: input,
            deadline: Some(start.saturating_add(secs_to_ms(timeout))),
            region: region.to_string(),
            limits: self.limits,
            full: AtomicBool::new(false),
            payload_budget: Mutex::new(self.limits.history_payload_bytes),
            timeout_cause: match definition.timeout_seconds {
                Some(_) => "The execution exceeded its TimeoutSeconds".into(),
                None => format!(
                    "The execution exceeded the maximum execution time of {timeout} seconds"
                ),
            },
        }
    }
}

/// What names one execution: its ARNs and the role it runs as.
struct Identity {
    name: String,
    state_machine_name: String,
    state_machine_arn: String,
    execution_arn: String,
    role_arn: String,
}

impl Identity {
    fn new(options: &ExecutionOptions) -> Identity {
        let name = options.name.clone().unwrap_or_else(random::uuid_v4);
        let sm_name = options.state_machine_name.clone();
        let state_machine_arn = options.state_machine_arn.clone().unwrap_or_else(|| {
            format!(
                "arn:aws:states:{}:{}:stateMachine:{sm_name}",
                options.region, options.account_id
            )
        });
        let execution_arn = format!(
            "arn:aws:states:{}:{}:execution:{sm_name}:{name}",
            options.region, options.account_id
        );
        let role_arn = options.role_arn.clone().unwrap_or_else(|| {
            format!("arn:aws:iam::{}:role/StepFunctionsRole", options.account_id)
        });
        Identity {
            name,
            state_machine_name: sm_name,
            state_machine_arn,
            execution_arn,
            role_arn,
        }
    }

    /// The context object's `Execution` (without `Input`) and `StateMachine`.
    fn context(&self, start: Millis) -> Value {
        json!({
            "Execution": {
                "Id": self.execution_arn,
                "Name": self.name,
                "RoleArn": self.role_arn,
                "StartTime": format_millis(start),
                "RedriveCount": 0,
            },
            "StateMachine": {"Id": self.state_machine_arn, "Name": self.state_machine_name},
        })
    }
}

/// How an execution ended, once its closing event is recorded.
struct Closed {
    status: ExecutionStatus,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    stop: Millis,
}

/// One path of execution: its own virtual "now" and the last event it emitted.
#[derive(Debug, Clone, Copy)]
struct Lane {
    now: Millis,
    last: u64,
}

/// One attempt at a Task, Parallel or Map state, as the retry loop makes it.
struct Attempt<'a> {
    state: &'a State,
    /// The state's input as it arrived; ResultPath writes the result into it.
    raw: &'a Value,
    /// The input after InputPath.
    eff: Value,
    ctx: &'a StateContext<'a>,
    /// 1 for the first try, 2 for the first retry, and so on.
    number: u32,
}

/// Where a state sends its output: to the next state, or out of its machine.
enum Step {
    Next(String, Value),
    End(Value),
}

/// What every state of one execution shares: the handlers and the clock, the history
/// and its quotas, the context object and the deadline.
struct Run<'a> {
    registry: &'a Registry,
    clock: Clock,
    events: Mutex<Vec<HistoryEvent>>,
    /// The context object without `Execution.Input`, which is `exec_input`.
    base_ctx: Value,
    exec_input: &'a Value,
    deadline: Option<Millis>,
    region: String,
    limits: Limits,
    /// The history reached its quota: no event is recorded any more, and every state
    /// loop ends at its next step.
    full: AtomicBool,
    /// Bytes of payload text the history may still keep (see [`Limits::history_payload_bytes`]).
    payload_budget: Mutex<usize>,
    timeout_cause: String,
}

fn type_name(k: &Kind) -> &'static str {
    match k {
        Kind::Pass { .. } => "Pass",
        Kind::Task { .. } => "Task",
        Kind::Choice { .. } => "Choice",
        Kind::Wait(_) => "Wait",
        Kind::Succeed => "Succeed",
        Kind::Fail { .. } => "Fail",
        Kind::Parallel { .. } => "Parallel",
        Kind::Map { .. } => "Map",
    }
}

fn step(state: &State, out: Value) -> Step {
    match &state.next {
        Some(n) => Step::Next(n.clone(), out),
        None => Step::End(out),
    }
}

impl Run<'_> {
    fn now(&self, lane: &mut Lane) -> Millis {
        if !self.clock.is_virtual() {
            lane.now = system_now();
        }
        lane.now
    }

    async fn sleep(&self, lane: &mut Lane, ms: i64) {
        let ms = ms.max(0);
        if self.clock.is_virtual() {
            lane.now = lane.now.saturating_add(ms);
        } else {
            let ms = self.clock.wait_ms(ms);
            tokio::time::sleep(Duration::from_millis(ms as u64)).await;
            lane.now = system_now();
        }
    }

    /// Records one event, unless the history is full; then it marks the run as full and
    /// records nothing, leaving the one slot the closing event needs.
    fn emit(&self, lane: &mut Lane, ty: &str, details: Option<(&str, Value)>) -> u64 {
        self.push_event(lane, ty, details, false)
    }

    /// Records the execution's closing event, which always fits.
    fn emit_last(&self, lane: &mut Lane, ty: &str, details: Option<(&str, Value)>) -> u64 {
        self.push_event(lane, ty, details, true)
    }

    fn push_event(
        &self,
        lane: &mut Lane,
        ty: &str,
        details: Option<(&str, Value)>,
        last: bool,
    ) -> u64 {
        let ts = self.now(lane);
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        if !last && events.len() + 1 >= self.limits.max_history_events {
            self.full.store(true, Ordering::Relaxed);
            return lane.last;
        }
        let id = events.len() as u64 + 1;
        let mut map = Map::new();
        if let Some((k, v)) = details {
            map.insert(k.to_string(), v);
        }
        events.push(HistoryEvent {
            id,
            previous_event_id: lane.last,
            timestamp: format_millis(ts),
            event_type: ty.to_string(),
            details: map,
        });
        lane.last = id;
        id
    }

    fn timed_out(&self) -> Failure {
        Failure::execution_timeout(self.timeout_cause.clone())
    }

    fn is_full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    fn history_full(&self) -> Failure {
        limits::history_full(self.limits.max_history_events)
    }

    /// A payload as the history keeps it: its JSON text, or `("", true)` once the
    /// history's payload budget is spent.
    fn payload(&self, v: &Value) -> (String, bool) {
        if self.is_full() {
            return (String::new(), true);
        }
        let mut left = self
            .payload_budget
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match limits::json_text(v, *left) {
            Some(text) => {
                *left -= text.len();
                (text, false)
            }
            None => {
                *left = 0;
                (String::new(), true)
            }
        }
    }

    /// States.DataLimitExceeded when `v` is over the payload quota.
    fn check_input(&self, state: &State, v: &Value) -> Result<(), Failure> {
        let max = self.limits.max_payload_bytes;
        let size = json_size(v, max);
        if size > max {
            return Err(limits::input_limit(&state.name, size, max));
        }
        Ok(())
    }

    fn last_event_id(&self) -> u64 {
        self.events.lock().map(|e| e.len() as u64).unwrap_or(0)
    }

    fn ctx(&self, state: &State, entered: Millis, retry_count: u32) -> StateContext<'_> {
        StateContext {
            base: &self.base_ctx,
            input: self.exec_input,
            state: json!({"Name": state.name, "EnteredTime": format_millis(entered), "RetryCount": retry_count}),
            map: None,
        }
    }

    /// Records ExecutionStarted and runs the machine: its output, or why it failed.
    async fn execute(
        &self,
        machine: &Machine,
        input: &Value,
        role_arn: &str,
        lane: &mut Lane,
    ) -> Result<Value, Failure> {
        let max = self.limits.max_payload_bytes;
        let too_big = json_size(input, max) > max;
        let (input_text, truncated) = if too_big {
            (String::new(), true)
        } else {
            self.payload(input)
        };
        self.emit(
            lane,
            "ExecutionStarted",
            Some((
                "executionStartedEventDetails",
                json!({"input": input_text, "inputDetails": {"truncated": truncated}, "roleArn": role_arn}),
            )),
        );
        let result = if too_big {
            // StartExecution itself refuses such an input in AWS; a caller that did not
            // check first gets a failed execution, never a run on it.
            Err(Failure::new(
                names::DATA_LIMIT_EXCEEDED,
                format!(
                    "The execution input is over the maximum of {max} bytes (UTF-8) that Step Functions accepts for an execution's input."
                ),
            ))
        } else {
            self.run_to_deadline(machine, input.clone(), lane).await
        };
        if self.is_full() {
            Err(self.history_full())
        } else {
            result
        }
    }

    async fn run_to_deadline(
        &self,
        machine: &Machine,
        input: Value,
        lane: &mut Lane,
    ) -> Result<Value, Failure> {
        if self.clock.is_virtual() {
            return self.run_machine(machine, input, lane).await;
        }
        // On the wall clock a Task or Wait may still be running at the deadline:
        // the execution ends there, as AWS ends it, whatever is in flight.
        let remaining = self
            .deadline
            .map(|d| d.saturating_sub(system_now()).max(0))
            .unwrap_or(i64::MAX);
        let fut = self.run_machine(machine, input, lane);
        match tokio::time::timeout(Duration::from_millis(remaining as u64), fut).await {
            Ok(r) => r,
            Err(_) => Err(self.timed_out()),
        }
    }

    /// Records the closing event: ExecutionSucceeded, ExecutionTimedOut (a success past
    /// the deadline included) or ExecutionFailed.
    fn close(&self, result: Result<Value, Failure>, lane: &mut Lane) -> Closed {
        let mut stop = self.now(lane);
        let result = match (result, self.deadline) {
            (Ok(_), Some(d)) if stop > d => {
                stop = d;
                Err(self.timed_out())
            }
            (r, _) => r,
        };
        match result {
            Ok(out) => {
                let (text, truncated) = self.payload(&out);
                self.emit_last(
                    lane,
                    "ExecutionSucceeded",
                    Some((
                        "executionSucceededEventDetails",
                        json!({"output": text, "outputDetails": {"truncated": truncated}}),
                    )),
                );
                Closed {
                    status: ExecutionStatus::Succeeded,
                    output: Some(out),
                    error: None,
                    cause: None,
                    stop,
                }
            }
            Err(f) if f.execution_timed_out => {
                if let Some(d) = self.deadline {
                    if self.clock.is_virtual() {
                        lane.now = d;
                        stop = d;
                    }
                }
                self.emit_last(
                    lane,
                    "ExecutionTimedOut",
                    Some((
                        "executionTimedOutEventDetails",
                        json!({"error": f.error, "cause": f.cause}),
                    )),
                );
                Closed {
                    status: ExecutionStatus::TimedOut,
                    output: None,
                    error: Some(f.error),
                    cause: Some(f.cause),
                    stop,
                }
            }
            Err(f) => {
                self.emit_last(
                    lane,
                    "ExecutionFailed",
                    Some((
                        "executionFailedEventDetails",
                        json!({"error": f.error, "cause": f.cause}),
                    )),
                );
                Closed {
                    status: ExecutionStatus::Failed,
                    output: None,
                    error: Some(f.error),
                    cause: Some(f.cause),
                    stop,
                }
            }
        }
    }

    fn run_machine<'a>(
        &'a self,
        m: &'a Machine,
        input: Value,
        lane: &'a mut Lane,
    ) -> BoxFut<'a, Result<Value, Failure>> {
        Box::pin(async move {
            let mut name = m.start_at.clone();
            let mut input = input;
            loop {
                if let Some(d) = self.deadline {
                    if self.now(lane) > d {
                        return Err(self.timed_out());
                    }
                }
                if self.is_full() {
                    return Err(self.history_full());
                }
                let state = m
                    .states
                    .get(&name)
                    .ok_or_else(|| Failure::runtime(format!("state '{name}' does not exist")))?;
                let ty = type_name(&state.kind);
                let entered = self.now(lane);
                // AWS counts "input data when ... entering a state" against the quota.
                self.check_input(state, &input)?;
                let (text, truncated) = self.payload(&input);
                self.emit(
                    lane,
                    &format!("{ty}StateEntered"),
                    Some((
                        "stateEnteredEventDetails",
                        json!({"name": name, "input": text, "inputDetails": {"truncated": truncated}}),
                    )),
                );
                let (next, out) = match self.run_state(state, input, lane, entered).await? {
                    Step::Next(n, out) => (Some(n), out),
                    Step::End(out) => (None, out),
                };
                // AWS: States.DataLimitExceeded "when the output of a state is larger
                // than payload size quota"; the state does not exit.
                if json_size(&out, self.limits.max_payload_bytes) > self.limits.max_payload_bytes {
                    return Err(limits::data_limit(&state.name));
                }
                let (text, truncated) = self.payload(&out);
                self.emit(
                    lane,
                    &format!("{ty}StateExited"),
                    Some((
                        "stateExitedEventDetails",
                        json!({"name": name, "output": text, "outputDetails": {"truncated": truncated}}),
                    )),
                );
                match next {
                    Some(n) => {
                        name = n;
                        input = out;
                    }
                    None => return Ok(out),
                }
            }
        })
    }

    async fn run_state(
        &self,
        state: &State,
        raw: Value,
        lane: &mut Lane,
        entered: Millis,
    ) -> Result<Step, Failure> {
        let ctx = self.ctx(state, entered, 0);
        match &state.kind {
            Kind::Pass { result } => self.pass(state, result.as_ref(), raw, &ctx),
            Kind::Succeed => flow::succeed(state, &raw),
            Kind::Fail { error, cause } => {
                flow::fail(state, error.as_ref(), cause.as_ref(), &raw, &ctx)
            }
            Kind::Choice { choices, default } => {
                flow::choice(state, choices, default.as_deref(), &raw, &ctx)
            }
            Kind::Wait(w) => self.wait(state, w, raw, &ctx, lane).await,
            Kind::Task { .. } | Kind::Parallel { .. } | Kind::Map { .. } => {
                self.run_with_retry(state, raw, lane, entered).await
            }
        }
    }

    async fn run_with_retry(
        &self,
        state: &State,
        raw: Value,
        lane: &mut Lane,
        entered: Millis,
    ) -> Result<Step, Failure> {
        let mut counts = vec![0u32; state.retry.len()];
        let mut retries = 0u32;
        loop {
            let ctx = self.ctx(state, entered, retries);
            let f = match self.attempt(state, &raw, lane, &ctx, retries + 1).await {
                Ok(out) => return Ok(step(state, out)),
                Err(f) => f,
            };
            if !f.is_catchable() {
                return Err(f);
            }
            if self.is_full() {
                return Err(self.history_full());
            }
            // Only the first retrier that matches counts; once it is exhausted the
            // error goes to the catchers, never on to a later retrier.
            if let Some(i) = state
                .retry
                .iter()
                .position(|r| r.error_equals.iter().any(|e| f.matches(e)))
            {
                let r = &state.retry[i];
                if counts[i] < r.max_attempts {
                    let delay = backoff_ms(r, counts[i]);
                    counts[i] += 1;
                    retries += 1;
                    self.sleep(lane, delay).await;
                    continue;
                }
            }
            if let Some(c) = state
                .catch
                .iter()
                .find(|c| c.error_equals.iter().any(|e| f.matches(e)))
            {
                return Ok(Step::Next(c.next.clone(), caught(state, c, &raw, f)?));
            }
            return Err(f);
        }
    }

    async fn attempt(
        &self,
        state: &State,
        raw: &Value,
        lane: &mut Lane,
        ctx: &StateContext<'_>,
        attempt: u32,
    ) -> Result<Value, Failure> {
        let eff = input_path(state, raw)?;
        let at = Attempt {
            state,
            raw,
            eff,
            ctx,
            number: attempt,
        };
        match &state.kind {
            Kind::Task { resource, timeout } => {
                self.task(at, resource, timeout.as_ref(), lane).await
            }
            Kind::Parallel { branches } => self.parallel(at, branches, lane).await,
            Kind::Map {
                processor,
                items_path,
                item_selector,
                max_concurrency,
            } => {
                let selector = item_selector.as_ref();
                self.map(at, processor, items_path, selector, *max_concurrency, lane)
                    .await
            }
            _ => Err(Failure::runtime(format!(
                "state '{}' cannot be retried",
                state.name
            ))),
        }
    }
}

/// The wait before a retrier's next retry, after `count` retries of its own.
fn backoff_ms(r: &Retrier, count: u32) -> i64 {
    let exp = i32::try_from(count).unwrap_or(i32::MAX);
    let mut delay = r.interval_seconds * r.backoff_rate.powi(exp);
    if let Some(cap) = r.max_delay_seconds {
        delay = delay.min(cap);
    }
    // One year is far past any cap AWS allows; it keeps the
    // conversion to millis finite.
    delay = delay.min(31_536_000.0);
    if r.full_jitter {
        delay *= Rng::from_entropy().unit();
    }
    (delay * 1000.0).round() as i64
}

/// The state's output when a catcher takes `f`: the raw input, with the error at the
/// catcher's ResultPath.
fn caught(state: &State, c: &Catcher, raw: &Value, f: Failure) -> Result<Value, Failure> {
    let err = json!({"Error": f.error, "Cause": f.cause});
    match &c.result_path {
        None => Ok(raw.clone()),
        Some(p) => set_result(state, raw.clone(), p, err),
    }
}

fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000)
}

fn input_path(state: &State, raw: &Value) -> Result<Value, Failure> {
    match &state.input_path {
        None => Ok(json!({})),
        Some(p) => payload::read_path(p, raw, &Value::Null, &state.name, "InputPath"),
    }
}

fn output_path(state: &State, v: Value) -> Result<Value, Failure> {
    match &state.output_path {
        None => Ok(json!({})),
        Some(p) if p.segments.is_empty() && !p.context => Ok(v),
        Some(p) => payload::read_path(p, &v, &Value::Null, &state.name, "OutputPath"),
    }
}

fn parameters(state: &State, eff: Value, ctx: &dyn ContextObject) -> Result<Value, Failure> {
    match &state.parameters {
        None => Ok(eff),
        Some(t) => payload::apply(t, &eff, ctx, &state.name),
    }
}

fn set_result(state: &State, raw: Value, p: &JsonPath, result: Value) -> Result<Value, Failure> {
    path::set(raw, p, result).map_err(|e| {
        Failure::new(
            names::RESULT_PATH_MATCH_FAILURE,
            format!(
                "state '{}': unable to apply ResultPath '{}': {e}",
                state.name, p.text
            ),
        )
    })
}

/// ResultSelector (when allowed) -> ResultPath against the raw state input -> OutputPath.
fn finish(
    state: &State,
    raw: &Value,
    result: Value,
    ctx: &dyn ContextObject,
    selector: bool,
) -> Result<Value, Failure> {
    let result = match (&state.result_selector, selector) {
        (Some(t), true) => payload::apply(t, &result, ctx, &state.name)?,
        _ => result,
    };
    let combined = match &state.result_path {
        None => raw.clone(),
        Some(p) => set_result(state, raw.clone(), p, result)?,
    };
    output_path(state, combined)
}

fn seconds(
    s: &Seconds,
    eff: &Value,
    ctx: &dyn ContextObject,
    state: &State,
    field: &str,
) -> Result<u64, Failure> {
    match s {
        Seconds::Fixed(n) => Ok(*n),
        Seconds::Path(p) => {
            let v = payload::read_path(p, eff, ctx, &state.name, field)?;
            v.as_u64().ok_or_else(|| {
                Failure::runtime(format!(
                    "state '{}': {field} '{}' must select a non-negative integer, got {v}",
                    state.name, p.text
                ))
            })
        }
    }
}
