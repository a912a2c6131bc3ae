//! History event types, ids and fields.
mod common;
use asl::{handler_fn, History, Registry};
use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn small_machine_event_types_in_order() {
    let reg = Registry::new().lambda("f", handler_fn(|_| async { Ok(json!({"v": 1})) }));
    let def = r#"{"StartAt":"P","States":{
        "P":{"Type":"Pass","Next":"T"},
        "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},"Next":"C"},
        "C":{"Type":"Choice","Choices":[{"Variable":"$.StatusCode","NumericEquals":200,"Next":"W"}]},
        "W":{"Type":"Wait","Seconds":1,"Next":"M"},
        "M":{"Type":"Map","ItemsPath":"$.Payload.items","Next":"S","ResultPath":null,
             "ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}},
        "S":{"Type":"Succeed"}}}"#;
    let e = run_with(
        &def.replace("$.Payload.items", "$.SdkResponseMetadata.items"),
        json!({}),
        reg,
    )
    .await;
    // ItemsPath points nowhere: States.Runtime ends the run after MapStateEntered.
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));

    let reg = Registry::new().lambda("f", handler_fn(|_| async { Ok(json!({"items": [1]})) }));
    let e = run_with(def, json!({}), reg).await;
    assert_eq!(e.status, asl::ExecutionStatus::Succeeded, "{:?}", e.cause);
    assert_eq!(
        e.history.types(),
        vec![
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded",
        ]
    );
    assert_eq!(e.history.state_transitions(), 7);
    for (i, ev) in e.history.events.iter().enumerate() {
        assert_eq!(ev.id, i as u64 + 1);
        assert_eq!(
            ev.previous_event_id, i as u64,
            "linear history links each event to the one before"
        );
    }
}

#[tokio::test]
async fn serialises_like_get_execution_history() {
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"a":1},"End":true}}}"#;
    let e = run(def, json!({"in": 1})).await;
    let v = e.history.to_json();
    let events = v["events"].as_array().unwrap();
    assert_eq!(events[0]["type"], json!("ExecutionStarted"));
    assert_eq!(events[0]["id"], json!(1));
    assert_eq!(events[0]["previousEventId"], json!(0));
    assert_eq!(events[0]["timestamp"], json!("2024-01-01T00:00:00.000Z"));
    assert_eq!(
        events[0]["executionStartedEventDetails"]["input"],
        json!("{\"in\":1}")
    );
    assert_eq!(events[1]["stateEnteredEventDetails"]["name"], json!("P"));
    assert_eq!(
        events[2]["stateExitedEventDetails"]["output"],
        json!("{\"a\":1}")
    );
    assert_eq!(
        events[3]["executionSucceededEventDetails"]["output"],
        json!("{\"a\":1}")
    );
    let back: History = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(back, e.history);
    let whole: Value = serde_json::to_value(&e).unwrap();
    assert_eq!(whole["status"], json!("SUCCEEDED"));
}

#[tokio::test]
async fn failure_events_carry_error_and_cause() {
    let reg = Registry::new().resource(
        "arn:aws:states:::x:y",
        handler_fn(|_| async { Err(asl::TaskError::new("E.x", "c")) }),
    );
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::x:y","End":true}}}"#;
    let e = run_with(def, json!({}), reg).await;
    let failed = e
        .history
        .of_type("TaskFailed")
        .next()
        .unwrap()
        .detail()
        .unwrap()
        .clone();
    assert_eq!(
        failed,
        json!({"error": "E.x", "cause": "c", "resourceType": "x", "resource": "y"})
    );
    let ef = e
        .history
        .of_type("ExecutionFailed")
        .next()
        .unwrap()
        .detail()
        .unwrap()
        .clone();
    assert_eq!(ef, json!({"error": "E.x", "cause": "c"}));
    assert_eq!(e.history.types().last(), Some(&"ExecutionFailed"));
}
