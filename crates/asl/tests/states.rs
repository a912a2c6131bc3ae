//! Each state type on its own.
mod common;
use asl::{handler_fn, ExecutionStatus, Registry};
use common::*;
use serde_json::json;

#[tokio::test]
async fn pass_result_and_parameters() {
    let def = r#"{"StartAt":"A","States":{
        "A":{"Type":"Pass","Result":{"x":1},"ResultPath":"$.r","Next":"B"},
        "B":{"Type":"Pass","Parameters":{"y.$":"$.r.x","k":"lit","name.$":"$$.Execution.Name","st.$":"$$.State.Name"},"End":true}}}"#;
    let e = run(def, json!({"in": true})).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(
        e.output,
        Some(json!({"y": 1, "k": "lit", "name": "exec-1", "st": "B"}))
    );
}

#[tokio::test]
async fn succeed_applies_input_and_output_path() {
    let def =
        r#"{"StartAt":"S","States":{"S":{"Type":"Succeed","InputPath":"$.a","OutputPath":"$.b"}}}"#;
    let e = run(def, json!({"a": {"b": 7}})).await;
    assert_eq!(e.output, Some(json!(7)));
}

#[tokio::test]
async fn fail_with_constants_and_paths() {
    let def =
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Custom.Err","Cause":"because"}}}"#;
    let e = run(def, json!({})).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.error.as_deref(), Some("Custom.Err"));
    assert_eq!(e.cause.as_deref(), Some("because"));

    let def = r#"{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e","CausePath":"States.Format('n={}', $.n)"}}}"#;
    let e = run(def, json!({"e": "Dyn.Err", "n": 3})).await;
    assert_eq!(e.error.as_deref(), Some("Dyn.Err"));
    assert_eq!(e.cause.as_deref(), Some("n=3"));
    assert_eq!(e.history.types().last(), Some(&"ExecutionFailed"));
}

fn choice_def(rule: serde_json::Value) -> String {
    let mut r = rule;
    r["Next"] = json!("Yes");
    json!({"StartAt":"C","States":{
        "C":{"Type":"Choice","Choices":[r],"Default":"No"},
        "Yes":{"Type":"Pass","Result":"yes","End":true},
        "No":{"Type":"Pass","Result":"no","End":true}}})
    .to_string()
}

#[tokio::test]
async fn choice_every_operator() {
    let input = json!({
        "s": "banana", "s2": "cherry", "n": 5, "n2": 5.0, "b": true, "nul": null,
        "t": "2024-05-01T10:00:00Z", "t2": "2024-05-01T12:00:00+02:00", "f": "log-2024.txt"
    });
    let cases = vec![
        (json!({"Variable":"$.s","StringEquals":"banana"}), true),
        (json!({"Variable":"$.s","StringEquals":"apple"}), false),
        (json!({"Variable":"$.s","StringLessThan":"cherry"}), true),
        (json!({"Variable":"$.s","StringGreaterThan":"apple"}), true),
        (
            json!({"Variable":"$.s","StringLessThanEquals":"banana"}),
            true,
        ),
        (
            json!({"Variable":"$.s","StringGreaterThanEquals":"banana"}),
            true,
        ),
        (json!({"Variable":"$.s","StringEqualsPath":"$.s2"}), false),
        (json!({"Variable":"$.s","StringLessThanPath":"$.s2"}), true),
        (
            json!({"Variable":"$.s","StringGreaterThanPath":"$.s2"}),
            false,
        ),
        (
            json!({"Variable":"$.s","StringLessThanEqualsPath":"$.s2"}),
            true,
        ),
        (
            json!({"Variable":"$.s","StringGreaterThanEqualsPath":"$.s2"}),
            false,
        ),
        (json!({"Variable":"$.n","NumericEquals":5}), true),
        (json!({"Variable":"$.n","NumericLessThan":5}), false),
        (json!({"Variable":"$.n","NumericGreaterThan":4.5}), true),
        (json!({"Variable":"$.n","NumericLessThanEquals":5}), true),
        (
            json!({"Variable":"$.n","NumericGreaterThanEquals":6}),
            false,
        ),
        (json!({"Variable":"$.n","NumericEqualsPath":"$.n2"}), true),
        (
            json!({"Variable":"$.n","NumericLessThanPath":"$.n2"}),
            false,
        ),
        (
            json!({"Variable":"$.n","NumericGreaterThanPath":"$.n2"}),
            false,
        ),
        (
            json!({"Variable":"$.n","NumericLessThanEqualsPath":"$.n2"}),
            true,
        ),
        (
            json!({"Variable":"$.n","NumericGreaterThanEqualsPath":"$.n2"}),
            true,
        ),
        (json!({"Variable":"$.s","NumericEquals":5}), false),
        (json!({"Variable":"$.b","BooleanEquals":true}), true),
        (json!({"Variable":"$.b","BooleanEqualsPath":"$.b"}), true),
        (json!({"Variable":"$.n","BooleanEquals":true}), false),
        (
            json!({"Variable":"$.t","TimestampEquals":"2024-05-01T10:00:00Z"}),
            true,
        ),
        (json!({"Variable":"$.t","TimestampEqualsPath":"$.t2"}), true),
        (
            json!({"Variable":"$.t","TimestampLessThan":"2024-05-01T10:00:01Z"}),
            true,
        ),
        (
            json!({"Variable":"$.t","TimestampGreaterThan":"2024-05-01T10:00:01Z"}),
            false,
        ),
        (
            json!({"Variable":"$.t","TimestampLessThanEquals":"2024-05-01T10:00:00Z"}),
            true,
        ),
        (
            json!({"Variable":"$.t","TimestampGreaterThanEquals":"2024-05-01T09:00:00Z"}),
            true,
        ),
        (
            json!({"Variable":"$.t","TimestampLessThanPath":"$.t2"}),
            false,
        ),
        (
            json!({"Variable":"$.t","TimestampGreaterThanPath":"$.t2"}),
            false,
        ),
        (
            json!({"Variable":"$.t","TimestampLessThanEqualsPath":"$.t2"}),
            true,
        ),
        (
            json!({"Variable":"$.t","TimestampGreaterThanEqualsPath":"$.t2"}),
            true,
        ),
        (
            json!({"Variable":"$.s","TimestampEquals":"2024-05-01T10:00:00Z"}),
            false,
        ),
        (json!({"Variable":"$.missing","IsPresent":false}), true),
        (json!({"Variable":"$.s","IsPresent":true}), true),
        (json!({"Variable":"$.nul","IsNull":true}), true),
        (json!({"Variable":"$.s","IsNull":true}), false),
        (json!({"Variable":"$.s","IsString":true}), true),
        (json!({"Variable":"$.n","IsNumeric":true}), true),
        (json!({"Variable":"$.s","IsNumeric":false}), true),
        (json!({"Variable":"$.b","IsBoolean":true}), true),
        (json!({"Variable":"$.t","IsTimestamp":true}), true),
        (json!({"Variable":"$.s","IsTimestamp":true}), false),
        (json!({"Variable":"$.f","StringMatches":"log-*.txt"}), true),
        (
            json!({"Variable":"$.f","StringMatches":"log-\\*.txt"}),
            false,
        ),
        (
            json!({"And":[{"Variable":"$.n","NumericEquals":5},{"Variable":"$.b","BooleanEquals":true}]}),
            true,
        ),
        (
            json!({"And":[{"Variable":"$.n","NumericEquals":5},{"Variable":"$.b","BooleanEquals":false}]}),
            false,
        ),
        (
            json!({"Or":[{"Variable":"$.n","NumericEquals":6},{"Variable":"$.b","BooleanEquals":true}]}),
            true,
        ),
        (
            json!({"Not":{"Variable":"$.s","StringEquals":"banana"}}),
            false,
        ),
        (json!({"Variable":"$$.State.Name","StringEquals":"C"}), true),
    ];
    for (rule, expected) in cases {
        let e = run(&choice_def(rule.clone()), input.clone()).await;
        assert_eq!(
            e.status,
            ExecutionStatus::Succeeded,
            "rule {rule}: {:?}",
            e.cause
        );
        let want = if expected { "yes" } else { "no" };
        assert_eq!(e.output, Some(json!(want)), "rule {rule}");
    }
}

#[tokio::test]
async fn string_matches_escaped_star() {
    let e = run(
        &choice_def(json!({"Variable":"$.f","StringMatches":"a\\*b"})),
        json!({"f": "a*b"}),
    )
    .await;
    assert_eq!(e.output, Some(json!("yes")));
}

#[tokio::test]
async fn choice_without_match_or_default_fails() {
    let def = r#"{"StartAt":"C","States":{
        "C":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":1,"Next":"D"}]},
        "D":{"Type":"Succeed"}}}"#;
    let e = run(def, json!({"x": 2})).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.error.as_deref(), Some("States.NoChoiceMatched"));
}

#[tokio::test]
async fn choice_on_missing_variable_is_runtime_error() {
    let e = run(
        &choice_def(json!({"Variable":"$.nope","StringEquals":"x"})),
        json!({}),
    )
    .await;
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn wait_forms_advance_virtual_time() {
    let def = r#"{"StartAt":"W1","States":{
        "W1":{"Type":"Wait","Seconds":10,"Next":"W2"},
        "W2":{"Type":"Wait","SecondsPath":"$.s","Next":"W3"},
        "W3":{"Type":"Wait","Timestamp":"2024-01-01T01:00:00Z","Next":"W4"},
        "W4":{"Type":"Wait","TimestampPath":"$.ts","End":true}}}"#;
    let started = std::time::Instant::now();
    let e = run(def, json!({"s": 20, "ts": "2024-01-02T00:00:00Z"})).await;
    assert!(
        started.elapsed().as_secs() < 2,
        "virtual waits must not sleep"
    );
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    let exits: Vec<String> = e
        .history
        .of_type("WaitStateExited")
        .map(|x| x.timestamp.clone())
        .collect();
    assert_eq!(
        exits,
        vec![
            "2024-01-01T00:00:10.000Z",
            "2024-01-01T00:00:30.000Z",
            "2024-01-01T01:00:00.000Z",
            "2024-01-02T00:00:00.000Z"
        ]
    );
    assert_eq!(e.stop_date, "2024-01-02T00:00:00.000Z");
}

#[tokio::test]
async fn wait_seconds_path_of_wrong_type_fails() {
    let def = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.s","End":true}}}"#;
    let e = run(def, json!({"s": "ten"})).await;
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn parallel_results_in_branch_order_and_time_is_max() {
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
        {"StartAt":"Slow","States":{"Slow":{"Type":"Wait","Seconds":30,"Next":"R1"},"R1":{"Type":"Pass","Result":1,"End":true}}},
        {"StartAt":"Fast","States":{"Fast":{"Type":"Pass","InputPath":"$.v","End":true}}}
    ]}}}"#;
    let e = run(def, json!({"v": 2})).await;
    assert_eq!(e.output, Some(json!([1, 2])));
    let exit = e.history.of_type("ParallelStateExited").next().unwrap();
    assert_eq!(exit.timestamp, "2024-01-01T00:00:30.000Z");
    let types = e.history.types();
    assert!(types.contains(&"ParallelStateStarted") && types.contains(&"ParallelStateSucceeded"));
}

#[tokio::test]
async fn parallel_branch_failure_fails_state_and_can_be_caught() {
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"Done",
        "Catch":[{"ErrorEquals":["Branch.Boom"],"ResultPath":"$.err","Next":"Done"}],
        "Branches":[
        {"StartAt":"Ok","States":{"Ok":{"Type":"Pass","End":true}}},
        {"StartAt":"Bad","States":{"Bad":{"Type":"Fail","Error":"Branch.Boom","Cause":"x"}}}
    ]},"Done":{"Type":"Succeed"}}}"#;
    let e = run(def, json!({"a": 1})).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(
        e.output,
        Some(json!({"a": 1, "err": {"Error": "Branch.Boom", "Cause": "x"}}))
    );
    assert!(e.history.types().contains(&"ParallelStateFailed"));

    let uncaught = def.replace("\"Catch\":[{\"ErrorEquals\":[\"Branch.Boom\"],\"ResultPath\":\"$.err\",\"Next\":\"Done\"}],", "");
    let e = run(&uncaught, json!({})).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.error.as_deref(), Some("Branch.Boom"));
}

#[tokio::test]
async fn map_item_selector_and_context() {
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
        "ItemSelector":{"i.$":"$$.Map.Item.Index","v.$":"$$.Map.Item.Value","k.$":"$.k"},
        "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},
        "ResultPath":"$.out","End":true}}}"#;
    let e = run(def, json!({"items": ["a", "b"], "k": 9})).await;
    assert_eq!(
        e.output,
        Some(
            json!({"items": ["a", "b"], "k": 9, "out": [{"i": 0, "v": "a", "k": 9}, {"i": 1, "v": "b", "k": 9}]})
        )
    );
    let iters: Vec<_> = e
        .history
        .of_type("MapIterationStarted")
        .map(|x| x.detail().unwrap()["index"].clone())
        .collect();
    assert_eq!(iters, vec![json!(0), json!(1)]);
}

#[tokio::test]
async fn map_legacy_iterator_and_parameters() {
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map",
        "Parameters":{"v.$":"$$.Map.Item.Value"},
        "Iterator":{"StartAt":"P","States":{"P":{"Type":"Pass","OutputPath":"$.v","End":true}}},
        "End":true}}}"#;
    let e = run(def, json!([3, 1, 2])).await;
    assert_eq!(e.output, Some(json!([3, 1, 2])));
}

async fn map_with_concurrency(max: usize) -> (asl::Execution, usize) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (f, p) = (in_flight.clone(), peak.clone());
    let reg = Registry::new().lambda(
        "work",
        handler_fn(move |call| {
            let (f, p) = (f.clone(), p.clone());
            async move {
                let now = f.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                // Later items finish sooner, so completion order differs from input order.
                let n = call.input.as_u64().unwrap_or(0);
                tokio::time::sleep(std::time::Duration::from_millis(60 - 10 * n)).await;
                f.fetch_sub(1, Ordering::SeqCst);
                Ok(json!(n * 10))
            }
        }),
    );
    let def = json!({"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency": max,
        "ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:work","Next":"W"},
        "W":{"Type":"Wait","Seconds":5,"End":true}}},"End":true}}})
    .to_string();
    let e = run_with(&def, json!([0, 1, 2, 3, 4]), reg).await;
    let pk = peak.load(Ordering::SeqCst);
    (e, pk)
}

#[tokio::test]
async fn map_max_concurrency_one_is_sequential_and_ordered() {
    let (e, peak) = map_with_concurrency(1).await;
    assert_eq!(e.output, Some(json!([0, 10, 20, 30, 40])));
    assert_eq!(peak, 1);
    // Five iterations of a 5 s wait, one at a time: 25 s of virtual time.
    assert_eq!(e.stop_date, "2024-01-01T00:00:25.000Z");
}

#[tokio::test]
async fn map_max_concurrency_zero_runs_all_at_once() {
    let (e, peak) = map_with_concurrency(0).await;
    assert_eq!(e.output, Some(json!([0, 10, 20, 30, 40])));
    assert_eq!(peak, 5);
    assert_eq!(e.stop_date, "2024-01-01T00:00:05.000Z");
}

#[tokio::test]
async fn map_max_concurrency_two_schedules_in_slots() {
    let (e, peak) = map_with_concurrency(2).await;
    assert_eq!(peak, 2);
    assert_eq!(e.stop_date, "2024-01-01T00:00:15.000Z");
}

#[tokio::test]
async fn map_iteration_failure_fails_the_map() {
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,
        "ItemProcessor":{"StartAt":"C","States":{
            "C":{"Type":"Choice","Choices":[{"Variable":"$","NumericEquals":2,"Next":"Bad"}],"Default":"Ok"},
            "Bad":{"Type":"Fail","Error":"Item.Bad"},"Ok":{"Type":"Succeed"}}}}}}"#;
    let e = run(def, json!([1, 2, 3])).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.error.as_deref(), Some("Item.Bad"));
    let types = e.history.types();
    assert!(types.contains(&"MapIterationFailed"));
    assert!(types.contains(&"MapStateFailed"));
}

#[tokio::test]
async fn map_items_path_not_array_is_runtime() {
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.x","End":true,
        "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}"#;
    let e = run(def, json!({"x": 5})).await;
    assert_eq!(e.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn execution_timeout_seconds_times_out() {
    let def = r#"{"TimeoutSeconds":60,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":120,"Next":"P"},"P":{"Type":"Pass","End":true}}}"#;
    let e = run(def, json!({})).await;
    assert_eq!(e.status, ExecutionStatus::TimedOut);
    assert_eq!(e.history.types().last(), Some(&"ExecutionTimedOut"));
    assert_eq!(e.stop_date, "2024-01-01T00:01:00.000Z");
}

#[tokio::test]
async fn execution_future_is_send() {
    let def =
        asl::Definition::from_json(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#)
            .unwrap();
    let ex = asl::Executor::new(Registry::new(), clock());
    let h = tokio::spawn(async move { ex.start(&def, json!(1), Default::default()).await });
    assert_eq!(h.await.unwrap().output, Some(json!(1)));
}

#[tokio::test]
async fn a_hurried_clock_shortens_waits_and_retry_intervals_by_its_divisor() {
    // A 20 s Wait and a 20 s retry interval, on a clock that makes them last 1/1000: the
    // history's wall-clock timestamps show each took about 20 ms, not 20 s.
    let def = r#"{"StartAt":"W","States":{
        "W":{"Type":"Wait","Seconds":20,"Next":"T"},
        "T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:flaky",
             "Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":20,"MaxAttempts":1}],"End":true}}}"#;
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let c = calls.clone();
    let reg = Registry::new().lambda(
        "flaky",
        handler_fn(move |_| {
            let n = c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err(asl::TaskError::new("Flaky", "first call"))
                } else {
                    Ok(json!({"ok": true}))
                }
            }
        }),
    );
    let ex = asl::Executor::new(reg, asl::Clock::Hurried { divisor: 1000 });
    let def = asl::Definition::from_json(def).unwrap();
    let e = ex
        .start(&def, json!({}), asl::ExecutionOptions::default())
        .await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{:?}", e.cause);
    let at = |t: &str, n: usize| e.history.of_type(t).nth(n).unwrap().millis().unwrap();
    let waited = at("WaitStateExited", 0) - at("WaitStateEntered", 0);
    assert!((20..20_000).contains(&waited), "the Wait took {waited} ms");
    let between = at("LambdaFunctionScheduled", 1) - at("LambdaFunctionFailed", 0);
    assert!(
        (20..20_000).contains(&between),
        "the retry came after {between} ms"
    );
}
