//! Resource dispatch and the result shapes of each integration.
mod common;
use asl::{handler_fn, ExecutionStatus, Registry, TaskError};
use common::*;
use serde_json::json;
use std::sync::{Arc, Mutex};

#[tokio::test]
async fn lambda_invoke_shapes_result_and_matches_arn_by_last_segment() {
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let reg = Registry::new().lambda(
        "ingest",
        handler_fn(move |call| {
            let s = s.clone();
            async move {
                *s.lock().unwrap() = Some((
                    call.input.clone(),
                    call.function_name.clone(),
                    call.state_name.clone(),
                ));
                Ok(json!({"rows": call.input["n"]}))
            }
        }),
    );
    let def = r#"{"StartAt":"Invoke","States":{"Invoke":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
        "Parameters":{"FunctionName":"arn:aws:lambda:eu-west-1:111122223333:function:ingest","Payload":{"n.$":"$.n"}},
        "ResultSelector":{"p.$":"$.Payload","code.$":"$.StatusCode"},"End":true}}}"#;
    let e = run_with(def, json!({"n": 3}), reg).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{:?}", e.cause);
    assert_eq!(e.output, Some(json!({"p": {"rows": 3}, "code": 200})));
    let (input, fname, state) = seen.lock().unwrap().clone().unwrap();
    assert_eq!(input, json!({"n": 3}));
    assert_eq!(
        fname.as_deref(),
        Some("arn:aws:lambda:eu-west-1:111122223333:function:ingest")
    );
    assert_eq!(state, "Invoke");
    let sched = e
        .history
        .of_type("TaskScheduled")
        .next()
        .unwrap()
        .detail()
        .unwrap()
        .clone();
    assert_eq!(sched["resourceType"], json!("lambda"));
    assert_eq!(sched["resource"], json!("invoke"));
}

#[tokio::test]
async fn lambda_invoke_full_result_shape() {
    let reg = Registry::new().lambda("f", handler_fn(|_| async { Ok(json!("hi")) }));
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
        "Parameters":{"FunctionName":"f","Payload.$":"$"},"End":true}}}"#;
    let out = run_with(def, json!({}), reg).await.output.unwrap();
    assert_eq!(out["ExecutedVersion"], json!("$LATEST"));
    assert_eq!(out["Payload"], json!("hi"));
    assert_eq!(out["StatusCode"], json!(200));
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    assert!(
        out["SdkResponseMetadata"]["RequestId"]
            .as_str()
            .unwrap()
            .len()
            == 36
    );
}

#[tokio::test]
async fn plain_lambda_arn_gets_effective_input_and_returns_payload() {
    let reg = Registry::new().lambda(
        "double",
        handler_fn(|call| async move { Ok(json!(call.input["x"].as_i64().unwrap() * 2)) }),
    );
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:double",
        "InputPath":"$.in","ResultPath":"$.out","End":true}}}"#;
    let e = run_with(def, json!({"in": {"x": 21}}), reg).await;
    assert_eq!(e.output, Some(json!({"in": {"x": 21}, "out": 42})));
    let types = e.history.types();
    assert!(
        types.contains(&"LambdaFunctionScheduled") && types.contains(&"LambdaFunctionSucceeded")
    );
    assert!(!types.contains(&"TaskScheduled"));
}

#[tokio::test]
async fn plain_lambda_arn_error_events() {
    let reg = Registry::new().lambda(
        "bad",
        handler_fn(|_| async { Err(TaskError::new("Pushfeed.Fatal", "boom")) }),
    );
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:bad","End":true}}}"#;
    let e = run_with(def, json!({}), reg).await;
    assert_eq!(e.error.as_deref(), Some("Pushfeed.Fatal"));
    let failed = e.history.of_type("LambdaFunctionFailed").next().unwrap();
    assert_eq!(failed.detail().unwrap()["error"], json!("Pushfeed.Fatal"));
}

#[tokio::test]
async fn sns_publish_gets_parameters_and_returns_message_id() {
    let got = Arc::new(Mutex::new(json!(null)));
    let g = got.clone();
    let reg = Registry::new().sns(handler_fn(move |call| {
        let g = g.clone();
        async move {
            *g.lock().unwrap() = call.input;
            Ok(json!({"MessageId": "m-1"}))
        }
    }));
    let def = r#"{"StartAt":"N","States":{"N":{"Type":"Task","Resource":"arn:aws:states:::sns:publish",
        "Parameters":{"TopicArn":"arn:aws:sns:us-east-1:1:alerts","Message.$":"$.msg","Subject":"S",
          "MessageAttributes":{"k":{"DataType":"String","StringValue":"v"}}},"End":true}}}"#;
    let e = run_with(def, json!({"msg": "hello"}), reg).await;
    let out = e.output.unwrap();
    assert_eq!(out["MessageId"], json!("m-1"));
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    assert!(out["SdkResponseMetadata"]["RequestId"].is_string());
    let p = got.lock().unwrap().clone();
    assert_eq!(p["TopicArn"], json!("arn:aws:sns:us-east-1:1:alerts"));
    assert_eq!(p["Message"], json!("hello"));
    assert_eq!(p["MessageAttributes"]["k"]["StringValue"], json!("v"));
}

#[tokio::test]
async fn generic_resource_passes_errors_unchanged() {
    let reg = Registry::new().resource(
        "arn:aws:states:::sqs:sendMessage",
        handler_fn(|_| async { Err(TaskError::new("SQS.QueueDoesNotExist", "no queue")) }),
    );
    let def = r#"{"StartAt":"Q","States":{"Q":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","End":true}}}"#;
    let e = run_with(def, json!({}), reg).await;
    assert_eq!(e.error.as_deref(), Some("SQS.QueueDoesNotExist"));
    assert_eq!(e.cause.as_deref(), Some("no queue"));
}

#[tokio::test]
async fn unknown_lambda_function_fails_naming_it() {
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
        "Parameters":{"FunctionName":"ghost"},"End":true}}}"#;
    let e = run(def, json!({})).await;
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
    assert!(e.cause.unwrap().contains("ghost"));
}

#[tokio::test]
async fn real_clock_runs_too() {
    let def = asl::Definition::from_json(
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}}"#,
    )
    .unwrap();
    let ex = asl::Executor::new(Registry::new(), asl::Clock::Real);
    let t = std::time::Instant::now();
    let e = ex.start(&def, json!({}), Default::default()).await;
    assert!(t.elapsed() >= std::time::Duration::from_millis(950));
    assert!(e.stop_millis - e.start_millis >= 950);
    assert_eq!(e.status, ExecutionStatus::Succeeded);
}
