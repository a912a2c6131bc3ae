//! Input/output processing order and path failures.
mod common;
use asl::{handler_fn, ExecutionStatus, Registry};
use common::*;
use serde_json::json;

fn echo_registry() -> Registry {
    Registry::new().resource(
        "arn:aws:states:::custom:echo",
        handler_fn(|call| async move { Ok(json!({"got": call.input, "extra": "x"})) }),
    )
}

#[tokio::test]
async fn processing_order_input_parameters_selector_result_output() {
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::custom:echo",
        "InputPath":"$.inner",
        "Parameters":{"p.$":"$.v","const":1},
        "ResultSelector":{"sel.$":"$.got.p"},
        "ResultPath":"$.inner.res",
        "OutputPath":"$.inner",
        "End":true}}}"#;
    let e = run_with(
        def,
        json!({"inner": {"v": 42}, "outer": true}),
        echo_registry(),
    )
    .await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{:?}", e.cause);
    // ResultPath writes into the raw state input, not the InputPath-filtered one.
    assert_eq!(e.output, Some(json!({"v": 42, "res": {"sel": 42}})));
    let sched = e.history.of_type("TaskScheduled").next().unwrap();
    let params: serde_json::Value =
        serde_json::from_str(sched.detail().unwrap()["parameters"].as_str().unwrap()).unwrap();
    assert_eq!(params, json!({"p": 42, "const": 1}));
}

#[tokio::test]
async fn result_path_null_discards_result() {
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::custom:echo","ResultPath":null,"End":true}}}"#;
    let e = run_with(def, json!({"keep": 1}), echo_registry()).await;
    assert_eq!(e.output, Some(json!({"keep": 1})));
}

#[tokio::test]
async fn result_path_dollar_replaces_and_nested_path_creates_objects() {
    let def = r#"{"StartAt":"A","States":{
        "A":{"Type":"Pass","Result":{"r":1},"ResultPath":"$.a.b.c","Next":"B"},
        "B":{"Type":"Pass","Result":"all","ResultPath":"$","End":true}}}"#;
    let e = run(def, json!({"x": 0})).await;
    assert_eq!(e.output, Some(json!("all")));
    let exited = e.history.of_type("PassStateExited").next().unwrap();
    let out: serde_json::Value =
        serde_json::from_str(exited.detail().unwrap()["output"].as_str().unwrap()).unwrap();
    assert_eq!(out, json!({"x": 0, "a": {"b": {"c": {"r": 1}}}}));
}

#[tokio::test]
async fn input_path_null_and_output_path_null_give_empty_object() {
    let def = r#"{"StartAt":"A","States":{
        "A":{"Type":"Pass","InputPath":null,"Next":"B"},
        "B":{"Type":"Pass","ResultPath":"$.r","Result":1,"OutputPath":null,"End":true}}}"#;
    let e = run(def, json!({"x": 1})).await;
    assert_eq!(e.output, Some(json!({})));
}

#[tokio::test]
async fn result_path_into_non_object_is_result_path_match_failure() {
    let def = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"ResultPath":"$.a.b","End":true}}}"#;
    let e = run(def, json!({"a": "str"})).await;
    assert_eq!(e.error.as_deref(), Some("States.ResultPathMatchFailure"));
}

#[tokio::test]
async fn missing_paths_are_states_runtime() {
    for def in [
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$.nope","End":true}}}"#,
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"$.nope"},"End":true}}}"#,
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","OutputPath":"$.nope","End":true}}}"#,
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"$$.Nope.Thing"},"End":true}}}"#,
    ] {
        let e = run(def, json!({"a": 1})).await;
        assert_eq!(e.status, ExecutionStatus::Failed, "{def}");
        assert_eq!(e.error.as_deref(), Some("States.Runtime"), "{def}");
        assert!(e.cause.unwrap().contains("nope") || def.contains("Nope"));
    }
}

#[tokio::test]
async fn states_all_does_not_catch_runtime() {
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::custom:echo",
        "Parameters":{"x.$":"$.missing"},
        "Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":5}],
        "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}],"End":true},
        "Caught":{"Type":"Succeed"}}}"#;
    let e = run_with(def, json!({}), echo_registry()).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
    assert_eq!(e.history.of_type("TaskScheduled").count(), 0);
}

#[tokio::test]
async fn bracket_and_index_paths() {
    let def = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"$['odd key'][1]","ids.$":"$.list[*].id"},"End":true}}}"#;
    let e = run(
        def,
        json!({"odd key": [0, "one"], "list": [{"id": 1}, {"id": 2}]}),
    )
    .await;
    assert_eq!(e.output, Some(json!({"a": "one", "ids": [1, 2]})));
}

#[tokio::test]
async fn context_object_fields() {
    let def = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{
        "id.$":"$$.Execution.Id","input.$":"$$.Execution.Input","start.$":"$$.Execution.StartTime",
        "entered.$":"$$.State.EnteredTime","retry.$":"$$.State.RetryCount",
        "smid.$":"$$.StateMachine.Id","smname.$":"$$.StateMachine.Name"},"End":true}}}"#;
    let e = run(def, json!({"q": 1})).await;
    let out = e.output.unwrap();
    assert_eq!(
        out["id"],
        json!("arn:aws:states:us-east-1:123456789012:execution:StateMachine:exec-1")
    );
    assert_eq!(out["input"], json!({"q": 1}));
    assert_eq!(out["start"], json!(T0));
    assert_eq!(out["entered"], json!(T0));
    assert_eq!(out["retry"], json!(0));
    assert_eq!(
        out["smid"],
        json!("arn:aws:states:us-east-1:123456789012:stateMachine:StateMachine")
    );
    assert_eq!(out["smname"], json!("StateMachine"));
}
