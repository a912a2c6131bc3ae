//! Step Functions' quotas: 25,000 history events, 256 KiB payloads, the execution's
//! TimeoutSeconds (a year at most), each failing the execution as AWS reports it.
mod common;
use asl::{
    handler_fn, Clock, Definition, Execution, ExecutionOptions, ExecutionStatus, Executor, Limits,
    Registry,
};
use common::*;
use serde_json::{json, Value};

const HISTORY_CAUSE: &str = "The execution reached the maximum number of history events (25000).";

async fn run_on(
    def: &str,
    input: Value,
    registry: Registry,
    clock: Clock,
    limits: Limits,
) -> Execution {
    let d = Definition::from_json(def).expect("definition should be valid");
    Executor::new(registry, clock)
        .with_limits(limits)
        .start(&d, input, ExecutionOptions::default())
        .await
}

fn assert_history_full(e: &Execution) {
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
    assert_eq!(e.cause.as_deref(), Some(HISTORY_CAUSE));
    assert_eq!(e.history.events.len(), 25_000);
    let last = e.history.events.last().unwrap();
    assert_eq!(last.event_type, "ExecutionFailed");
    assert_eq!(last.id, 25_000);
}

const PASS_LOOP: &str = r#"{"StartAt":"Again","States":{"Again":{"Type":"Pass","Next":"Again"}}}"#;

#[tokio::test]
async fn a_pass_that_loops_to_itself_ends_at_the_history_quota_on_either_clock() {
    for clock in [clock(), Clock::Real] {
        let e = run_on(
            PASS_LOOP,
            json!({"n": 1}),
            Registry::new(),
            clock,
            Limits::default(),
        )
        .await;
        assert_history_full(&e);
    }
}

#[tokio::test]
async fn a_choice_loop_of_10000_steps_is_stopped_by_the_history_quota() {
    let def = r#"{"StartAt":"More","States":{
        "More":{"Type":"Choice","Choices":[{"Variable":"$.i","NumericLessThan":10000,"Next":"Inc"}],"Default":"Done"},
        "Inc":{"Type":"Pass","Parameters":{"i.$":"States.MathAdd($.i, 1)"},"Next":"More"},
        "Done":{"Type":"Succeed"}}}"#;
    let e = run(def, json!({"i": 0})).await;
    assert_history_full(&e);
    // Under the quota the same loop succeeds.
    let e = run(def, json!({"i": 9_000})).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{:?}", e.cause);
}

#[tokio::test]
async fn no_catcher_or_retrier_survives_the_history_quota() {
    let reg = Registry::new().resource(
        "arn:aws:states:::noop",
        handler_fn(|_| async { Err(asl::TaskError::new("Boom", "again")) }),
    );
    let def = r#"{"StartAt":"T","States":{
        "T":{"Type":"Task","Resource":"arn:aws:states:::noop",
             "Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":100000,"IntervalSeconds":1,"BackoffRate":1}],
             "End":true}}}"#;
    let e = run_with(def, json!({}), reg).await;
    assert_history_full(&e);
}

#[tokio::test]
async fn a_map_past_the_history_quota_fails_like_any_state() {
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
        "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}"#;
    let items: Vec<u32> = (0..10_000).collect();
    let e = run(def, json!({ "items": items })).await;
    assert_history_full(&e);
}

fn big(bytes: usize) -> Value {
    json!({"blob": "x".repeat(bytes)})
}

#[tokio::test]
async fn an_execution_input_over_256_kib_fails_without_running() {
    let e = run(PASS_LOOP, big(262_144)).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(
        e.cause.as_deref().unwrap().contains("262144 bytes"),
        "{:?}",
        e.cause
    );
    assert_eq!(e.history.types(), ["ExecutionStarted", "ExecutionFailed"]);
    // Exactly at the quota it runs (here: into the history quota).
    let at_quota = big(262_144 - r#"{"blob":""}"#.len());
    let limits = Limits {
        max_history_events: 10,
        ..Limits::default()
    };
    let e = run_on(PASS_LOOP, at_quota, Registry::new(), clock(), limits).await;
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn a_state_output_or_parameters_over_256_kib_is_data_limit_exceeded_and_not_catchable() {
    let blob = "x".repeat(200_000);
    // Parameters doubling a 200 KB string: the state's input after Parameters.
    let def = r#"{"StartAt":"Twice","States":{"Twice":{"Type":"Pass",
        "Parameters":{"a.$":"$.blob","b.$":"$.blob"},"End":true}}}"#;
    let e = run(def, json!({ "blob": blob })).await;
    assert_eq!(
        e.error.as_deref(),
        Some("States.DataLimitExceeded"),
        "{:?}",
        e.cause
    );
    assert!(e.cause.as_deref().unwrap().contains("'Twice'"));
    // ResultPath merging a copy into the input: the state's output.
    let def =
        r#"{"StartAt":"Copy","States":{"Copy":{"Type":"Pass","ResultPath":"$.copy","End":true}}}"#;
    let e = run(def, json!({ "blob": blob })).await;
    assert_eq!(e.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(
        e.cause.as_deref(),
        Some("The state/task 'Copy' returned a result with a size exceeding the maximum number of bytes service limit.")
    );
    assert!(!e.history.types().contains(&"PassStateExited"));
    // A task whose result is too large: its TaskFailed says so, and States.ALL catches nothing.
    let reg = Registry::new().lambda(
        "big",
        handler_fn(|_| async { Ok(json!({"blob": "y".repeat(300_000)})) }),
    );
    let def = r#"{"StartAt":"T","States":{
        "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"big"},
             "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}],"End":true},
        "Caught":{"Type":"Succeed"}}}"#;
    let e = run_with(def, json!({}), reg).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(
        e.cause.as_deref(),
        Some("The state/task 'lambda' returned a result with a size exceeding the maximum number of bytes service limit.")
    );
    let failed = e
        .history
        .of_type("TaskFailed")
        .next()
        .expect("a TaskFailed event");
    assert_eq!(
        failed.detail().unwrap()["error"],
        "States.DataLimitExceeded"
    );
}

#[tokio::test]
async fn a_map_item_selector_over_256_kib_is_data_limit_exceeded() {
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
        "ItemSelector":{"a.$":"$.blob","b.$":"$.blob"},
        "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}"#;
    let e = run(def, json!({"items": [1], "blob": "x".repeat(140_000)})).await;
    assert_eq!(
        e.error.as_deref(),
        Some("States.DataLimitExceeded"),
        "{:?}",
        e.cause
    );
}

#[tokio::test]
async fn a_loop_over_a_large_payload_keeps_the_history_within_its_budget() {
    let limits = Limits {
        history_payload_bytes: 200_000,
        max_history_events: 1_000,
        ..Limits::default()
    };
    let e = run_on(PASS_LOOP, big(20_000), Registry::new(), clock(), limits).await;
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
    assert_eq!(e.history.events.len(), 1_000);
    let kept: usize = e
        .history
        .events
        .iter()
        .filter_map(|ev| ev.detail()?.get("input").or(ev.detail()?.get("output")))
        .filter_map(Value::as_str)
        .map(str::len)
        .sum();
    assert!(kept <= 200_000, "{kept}");
    let last_entered = e.history.of_type("PassStateEntered").last().unwrap();
    assert_eq!(
        last_entered.detail().unwrap()["inputDetails"]["truncated"],
        true
    );
}

#[tokio::test]
async fn the_execution_timeout_ends_a_wait_or_a_task_in_flight() {
    // Virtual clock: a Wait past TimeoutSeconds.
    let def = r#"{"TimeoutSeconds":10,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100,"End":true}}}"#;
    let e = run(def, json!({})).await;
    assert_eq!(e.status, ExecutionStatus::TimedOut);
    assert_eq!(e.error.as_deref(), Some("States.Timeout"));
    assert_eq!(e.stop_millis - e.start_millis, 10_000);
    // Without TimeoutSeconds, AWS's one-year maximum.
    let def = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":63072000,"End":true}}}"#;
    let e = run(def, json!({})).await;
    assert_eq!(e.status, ExecutionStatus::TimedOut);
    assert_eq!(e.stop_millis - e.start_millis, 31_536_000_000);
    // Wall clock: a task that would never finish is cut off at the deadline.
    let reg = Registry::new().resource(
        "arn:aws:states:::forever",
        handler_fn(|_| async {
            std::future::pending::<()>().await;
            Ok(json!({}))
        }),
    );
    let def = r#"{"TimeoutSeconds":1,"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::forever","End":true}}}"#;
    let e = run_on(def, json!({}), reg, Clock::Real, Limits::default()).await;
    assert_eq!(e.status, ExecutionStatus::TimedOut);
    assert_eq!(
        e.history.events.last().unwrap().event_type,
        "ExecutionTimedOut"
    );
}

#[tokio::test]
async fn map_work_is_linear_in_its_items() {
    // Counted, not timed: the history grows by the same number of events per item.
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":10,
        "ItemSelector":{"v.$":"$$.Map.Item.Value"},
        "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"ResultPath":null,"End":true}}}"#;
    let raised = Limits {
        max_history_events: usize::MAX,
        max_payload_bytes: usize::MAX,
        ..Limits::default()
    };
    let mut counts = Vec::new();
    for n in [10usize, 100, 1_000, 10_000] {
        let items: Vec<usize> = (0..n).collect();
        let e = run_on(
            def,
            json!({ "items": items }),
            Registry::new(),
            clock(),
            raised,
        )
        .await;
        assert_eq!(e.status, ExecutionStatus::Succeeded, "{:?}", e.cause);
        counts.push((n, e.history.events.len()));
    }
    // events = 4·N + 6: per item MapIterationStarted, PassStateEntered/Exited,
    // MapIterationSucceeded; around them the execution's and the Map state's own.
    for (n, events) in counts {
        assert_eq!(events, 4 * n + 6, "{n} items");
    }
}
