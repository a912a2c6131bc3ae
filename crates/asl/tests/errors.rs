//! Retry, Catch, error names and timeouts.
mod common;
use asl::{handler_fn, ExecutionStatus, Registry, TaskError};
use common::*;
use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// A Lambda that fails `fails` times with `Pushfeed.Transient`, then succeeds.
fn flaky(fails: u32) -> (Registry, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let reg = Registry::new().lambda(
        "flaky",
        handler_fn(move |call| {
            let c = c.clone();
            async move {
                let n = c.fetch_add(1, Ordering::SeqCst);
                assert_eq!(call.attempt, n + 1);
                if n < fails {
                    Err(TaskError::new("Pushfeed.Transient", format!("attempt {n}")))
                } else {
                    Ok(json!({"ok": n}))
                }
            }
        }),
    );
    (reg, calls)
}

fn task_def(retry: serde_json::Value, catch: serde_json::Value) -> String {
    json!({"StartAt":"T","States":{
        "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
             "Parameters":{"FunctionName":"flaky","Payload.$":"$"},
             "Retry": retry, "Catch": catch, "Next":"Done"},
        "Done":{"Type":"Succeed"},
        "Handled":{"Type":"Pass","End":true}}})
    .to_string()
}

#[tokio::test]
async fn backoff_sequence_1_2_4_on_virtual_clock() {
    let (reg, calls) = flaky(3);
    let def = task_def(
        json!([{"ErrorEquals":["Pushfeed.Transient"],"IntervalSeconds":1,"BackoffRate":2,"MaxAttempts":3}]),
        json!([]),
    );
    let e = run_with(&def, json!({}), reg).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{:?}", e.cause);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(gaps(&e, "TaskScheduled"), vec![1000, 2000, 4000]);
    assert_eq!(e.output.unwrap()["Payload"], json!({"ok": 3}));
}

#[tokio::test]
async fn retries_exhausted_fail_with_function_error() {
    let (reg, calls) = flaky(10);
    let def = task_def(
        json!([{"ErrorEquals":["Pushfeed.Transient"],"MaxAttempts":2}]),
        json!([]),
    );
    let e = run_with(&def, json!({}), reg).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(e.error.as_deref(), Some("Pushfeed.Transient"));
    let cause: serde_json::Value = serde_json::from_str(e.cause.as_deref().unwrap()).unwrap();
    assert_eq!(
        cause,
        json!({"errorMessage": "attempt 2", "errorType": "Pushfeed.Transient", "trace": []})
    );
}

#[tokio::test]
async fn max_delay_seconds_caps_backoff() {
    let (reg, _) = flaky(4);
    let def = task_def(
        json!([{"ErrorEquals":["States.ALL"],"IntervalSeconds":2,"BackoffRate":3,"MaxAttempts":4,"MaxDelaySeconds":10}]),
        json!([]),
    );
    let e = run_with(&def, json!({}), reg).await;
    assert_eq!(gaps(&e, "TaskScheduled"), vec![2000, 6000, 10000, 10000]);
}

#[tokio::test]
async fn full_jitter_stays_within_delay() {
    let (reg, _) = flaky(3);
    let def = task_def(
        json!([{"ErrorEquals":["States.ALL"],"IntervalSeconds":4,"BackoffRate":2,"MaxAttempts":3,"JitterStrategy":"FULL"}]),
        json!([]),
    );
    let e = run_with(&def, json!({}), reg).await;
    let g = gaps(&e, "TaskScheduled");
    assert_eq!(g.len(), 3);
    for (gap, max) in g.iter().zip([4000, 8000, 16000]) {
        assert!((0..=max).contains(gap), "gap {gap} outside [0, {max}]");
    }
}

#[tokio::test]
async fn max_attempts_zero_never_retries_and_first_match_wins() {
    let (reg, calls) = flaky(1);
    let def = task_def(
        json!([
            {"ErrorEquals":["Pushfeed.Transient"],"MaxAttempts":0},
            {"ErrorEquals":["States.ALL"],"MaxAttempts":5}
        ]),
        json!([]),
    );
    let e = run_with(&def, json!({}), reg).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(e.status, ExecutionStatus::Failed);
}

#[tokio::test]
async fn each_retrier_counts_its_own_attempts() {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    // Alternates two error names: A, B, A, B, then success.
    let reg = Registry::new().lambda(
        "flaky",
        handler_fn(move |_| {
            let c = c.clone();
            async move {
                let n = c.fetch_add(1, Ordering::SeqCst);
                match n {
                    0 | 2 => Err(TaskError::new("Err.A", "")),
                    1 | 3 => Err(TaskError::new("Err.B", "")),
                    _ => Ok(json!(n)),
                }
            }
        }),
    );
    let def = task_def(
        json!([
            {"ErrorEquals":["Err.A"],"MaxAttempts":2,"IntervalSeconds":1,"BackoffRate":1},
            {"ErrorEquals":["Err.B"],"MaxAttempts":2,"IntervalSeconds":10,"BackoffRate":1}
        ]),
        json!([]),
    );
    let e = run_with(&def, json!({}), reg).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(gaps(&e, "TaskScheduled"), vec![1000, 10000, 1000, 10000]);
}

#[tokio::test]
async fn retry_count_in_context_object() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let reg = Registry::new().lambda(
        "flaky",
        handler_fn(move |call| {
            let s = s.clone();
            async move {
                let rc = call.context["State"]["RetryCount"].as_u64().unwrap();
                s.lock().unwrap().push(rc);
                if rc < 2 {
                    Err(TaskError::new("E", ""))
                } else {
                    Ok(json!(null))
                }
            }
        }),
    );
    let def = task_def(json!([{"ErrorEquals":["States.ALL"]}]), json!([]));
    let e = run_with(&def, json!({}), reg).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(*seen.lock().unwrap(), vec![0, 1, 2]);
}

#[tokio::test]
async fn task_failed_catches_task_error_with_result_path() {
    let (reg, _) = flaky(10);
    let def = task_def(
        json!([]),
        json!([{"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.error","Next":"Handled"}]),
    );
    let e = run_with(&def, json!({"orig": 1}), reg).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    let out = e.output.unwrap();
    assert_eq!(out["orig"], json!(1));
    assert_eq!(out["error"]["Error"], json!("Pushfeed.Transient"));
    assert!(out["error"]["Cause"]
        .as_str()
        .unwrap()
        .contains("errorMessage"));
}

#[tokio::test]
async fn catch_default_result_path_replaces_input() {
    let (reg, _) = flaky(10);
    let def = task_def(
        json!([]),
        json!([{"ErrorEquals":["Other"],"Next":"Done"},{"ErrorEquals":["States.ALL"],"Next":"Handled"}]),
    );
    let e = run_with(&def, json!({"orig": 1}), reg).await;
    let out = e.output.unwrap();
    assert_eq!(out.as_object().unwrap().len(), 2);
    assert_eq!(out["Error"], json!("Pushfeed.Transient"));
    let entered: Vec<_> = e.history.of_type("PassStateEntered").collect();
    assert_eq!(entered.len(), 1);
}

fn slow_registry() -> Registry {
    Registry::new().resource(
        "arn:aws:states:::custom:slow",
        handler_fn(|_| async {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            Ok(json!("late"))
        }),
    )
}

#[tokio::test]
async fn task_timeout_is_states_timeout_not_task_failed() {
    let def = r#"{"StartAt":"T","States":{
        "T":{"Type":"Task","Resource":"arn:aws:states:::custom:slow","TimeoutSeconds":1,
             "Catch":[{"ErrorEquals":["States.TaskFailed"],"Next":"Wrong"},{"ErrorEquals":["States.Timeout"],"ResultPath":"$.e","Next":"Right"}],"End":true},
        "Wrong":{"Type":"Fail","Error":"wrong"},
        "Right":{"Type":"Pass","End":true}}}"#;
    let e = run_with(def, json!({}), slow_registry()).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{:?}", e.error);
    assert_eq!(
        e.output.as_ref().unwrap()["e"]["Error"],
        json!("States.Timeout")
    );
    let types = e.history.types();
    assert!(types.contains(&"TaskTimedOut"));
    // Under the virtual clock a timed-out task takes exactly its timeout.
    assert_eq!(gaps(&e, "TaskStateEntered").len(), 0);
    let sched = e
        .history
        .of_type("TaskScheduled")
        .next()
        .unwrap()
        .millis()
        .unwrap();
    let timed = e
        .history
        .of_type("TaskTimedOut")
        .next()
        .unwrap()
        .millis()
        .unwrap();
    assert_eq!(timed - sched, 1000);
}

#[tokio::test]
async fn timeout_seconds_path() {
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::custom:slow","TimeoutSecondsPath":"$.t","End":true}}}"#;
    let e = run_with(def, json!({"t": 1}), slow_registry()).await;
    assert_eq!(e.error.as_deref(), Some("States.Timeout"));
}

#[tokio::test]
async fn unknown_resource_fails_naming_it() {
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","End":true,
        "Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}]},"C":{"Type":"Succeed"}}}"#;
    let e = run(def, json!({})).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
    assert!(e
        .cause
        .unwrap()
        .contains("arn:aws:states:::dynamodb:putItem"));
}
