//! Step Functions Local mock config files.
mod common;
use asl::{
    handler_fn, substitute, Definition, ExecutionOptions, ExecutionStatus, Executor, MockConfig,
    MockError, Registry,
};
use common::*;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

fn definition() -> Definition {
    let vars = HashMap::from([
        (
            "LoadFunction".to_string(),
            "arn:aws:lambda:us-east-1:1:function:load".to_string(),
        ),
        (
            "Topic".to_string(),
            "arn:aws:sns:us-east-1:1:done".to_string(),
        ),
    ]);
    Definition::from_json(&substitute(&fixture("ingest.asl.json"), &vars).unwrap()).unwrap()
}

async fn run_case(case: &str, registry: Registry) -> (asl::Execution, Arc<asl::MockTestCase>) {
    let cfg = MockConfig::from_json(&fixture("mock_config.json")).unwrap();
    let tc = Arc::new(cfg.test_case("Ingest", case).unwrap());
    let ex = Executor::new(registry.mock(tc.clone()), clock());
    let opts = ExecutionOptions {
        state_machine_name: "Ingest".into(),
        ..Default::default()
    };
    (
        ex.start(&definition(), json!({"window": "w1"}), opts).await,
        tc,
    )
}

#[tokio::test]
async fn happy_path_returns_whole_mocked_result() {
    let (e, tc) = run_case("HappyPath", Registry::new()).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{:?}", e.cause);
    assert_eq!(
        e.output,
        Some(json!({"window": "w1", "load": {"rows": 10}}))
    );
    assert_eq!(tc.invocations("Load"), 1);
    assert_eq!(tc.invocations("Notify"), 1);
}

#[tokio::test]
async fn retry_path_numbers_invocations_across_retries_with_ranges() {
    let sns = handler_fn(|_| async { Ok(json!({})) });
    let (e, tc) = run_case("RetryPath", Registry::new().sns(sns)).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{:?}", e.cause);
    assert_eq!(e.output.as_ref().unwrap()["load"], json!({"rows": 7}));
    assert_eq!(tc.invocations("Load"), 4);
    let errors: Vec<String> = e
        .history
        .of_type("TaskFailed")
        .map(|x| x.detail().unwrap()["error"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        errors,
        vec![
            "Lambda.ServiceException",
            "Pushfeed.Transient",
            "Pushfeed.Transient"
        ]
    );
    assert_eq!(gaps(&e, "TaskScheduled")[..3], [2000, 4000, 8000]);
}

#[tokio::test]
async fn last_response_repeats_past_the_last_key() {
    let sns = handler_fn(|_| async { Ok(json!({})) });
    let (e, tc) = run_case("AlwaysFails", Registry::new().sns(sns)).await;
    // One try plus three retries, all answered by key "0"; then the catcher.
    assert_eq!(tc.invocations("Load"), 4);
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(
        e.output.unwrap()["error"],
        json!({"Error": "Pushfeed.Transient", "Cause": "down"})
    );
}

#[test]
fn bad_configs_are_reported() {
    let cfg = MockConfig::from_json(&fixture("mock_config.json")).unwrap();
    assert!(matches!(
        cfg.test_case("Nope", "HappyPath"),
        Err(MockError::NoStateMachine(_))
    ));
    assert!(matches!(
        cfg.test_case("Ingest", "Nope"),
        Err(MockError::NoTestCase { .. })
    ));
    let missing =
        r#"{"StateMachines":{"S":{"TestCases":{"C":{"A":"Missing"}}}},"MockedResponses":{}}"#;
    assert!(matches!(
        MockConfig::from_json(missing).unwrap().test_case("S", "C"),
        Err(MockError::NoResponse { .. })
    ));
    let bad_key = r#"{"StateMachines":{},"MockedResponses":{"R":{"x":{"Return":1}}}}"#;
    assert!(matches!(
        MockConfig::from_json(bad_key),
        Err(MockError::Invalid(_))
    ));
    let both =
        r#"{"StateMachines":{},"MockedResponses":{"R":{"0":{"Return":1,"Throw":{"Error":"e"}}}}}"#;
    assert!(matches!(
        MockConfig::from_json(both),
        Err(MockError::Invalid(_))
    ));
}
