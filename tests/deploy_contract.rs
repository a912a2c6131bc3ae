//! The Rust side of config/contract.json: the names and numbers the tasks and the state machine
//! definition use are the contract's, so a rename here or in the CDK app fails a test.
//! (cdk/test/contract.test.ts checks the CDK side against the same file.)

use std::collections::BTreeSet;

use pushfeed::deploy_contract::{self, RetryPolicies};
use pushfeed::domain::keys::{BatchId, ObjectKey};
use pushfeed::domain::routes::MAX_ROUTED_EVENT_TYPE_CHARS;
use pushfeed::domain::window::Window;
use pushfeed::machine::{sns_error_name, DEFINITION};
use pushfeed::metrics;
use pushfeed::ports::ErrorKind;
use pushfeed::steps::contract::{
    AwaitOutput, DeliverOutput, Kept, LoadOutput, ReadStats, ReadWindowOutput,
};
use pushfeed::steps::names;
use serde_json::Value;

fn window() -> Window {
    "2026-11-26T10:01Z".parse().unwrap()
}

fn definition() -> Value {
    serde_json::from_str(DEFINITION).expect("the definition is JSON before substitution")
}

/// Every state of the definition, with its name, at every depth.
fn states(v: &Value, out: &mut Vec<(String, Value)>) {
    if let Some(all) = v.get("States").and_then(Value::as_object) {
        for (name, s) in all {
            out.push((name.clone(), s.clone()));
            if let Some(p) = s.get("ItemProcessor") {
                states(p, out);
            }
        }
    }
}

fn state(name: &str) -> Value {
    let mut all = Vec::new();
    states(&definition(), &mut all);
    all.into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("the definition has no state {name}"))
        .1
}

/// Every string anywhere in a JSON value.
fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[test]
fn error_names_are_the_steps_names() {
    let c = deploy_contract::get();
    assert_eq!(c.errors.all(), names::ALL);
    // Every Pushfeed.* name the definition matches is one the steps report.
    let def = definition();
    let mut all = Vec::new();
    strings(&def, &mut all);
    for s in all.iter().filter(|s| s.starts_with("Pushfeed.")) {
        assert!(
            names::ALL.contains(s),
            "the definition names unknown error {s}"
        );
    }
}

#[test]
fn s3_prefixes_are_the_key_layouts() {
    let s3 = &deploy_contract::get().s3;
    let b: BatchId = "0019abf9bf360-1a2b3c4d".parse().unwrap();
    let w = window();
    let keys = [
        ("raw", ObjectKey::raw(w, &b)),
        ("staging", ObjectKey::staging(w, "OPEN", &b)),
        (
            "rejected",
            ObjectKey::Rejected {
                window: w,
                batch: b.clone(),
            },
        ),
        (
            "unrouted",
            ObjectKey::Unrouted {
                window: w,
                batch: b.clone(),
            },
        ),
        ("checkpoints", ObjectKey::Checkpoint { window: w }),
        (
            "events",
            ObjectKey::Delivered {
                event_type: "OPEN".into(),
                window: w,
                name: "x.ndjson.gz".into(),
            },
        ),
        ("manifests", ObjectKey::manifest(w, "OPEN", &b)),
        (
            "jsonpaths",
            ObjectKey::Jsonpaths {
                table: "push_opens".into(),
            },
        ),
    ];
    for (prefix, key) in &keys {
        let text = key.to_string();
        assert!(
            text.starts_with(s3.prefix(prefix)),
            "{text} is not under the contract's {prefix} prefix {}",
            s3.prefix(prefix)
        );
    }
    // firehose-errors/ is written by Firehose only; every other prefix is one the tasks write.
    let named: BTreeSet<&str> = keys.iter().map(|(p, _)| *p).collect();
    let contract: BTreeSet<&str> = s3
        .prefixes
        .keys()
        .map(String::as_str)
        .filter(|p| *p != "firehose_errors")
        .collect();
    assert_eq!(named, contract);
    assert_eq!(
        ObjectKey::delivered_prefix("SEND_REJECTED", w),
        s3.firehose.prefix_for("SEND_REJECTED", &w.to_string()),
        "AwaitObjects and Load list what Firehose writes"
    );
    assert!(s3.firehose.prefix.starts_with(s3.prefix("events")));
    assert!(s3
        .firehose
        .error_output_prefix
        .starts_with(s3.prefix("firehose_errors")));
    assert!(
        s3.firehose.file_extension.ends_with(".gz") && s3.firehose.compression == "GZIP",
        "the extension says what the compression is"
    );
}

fn read_output() -> ReadWindowOutput {
    ReadWindowOutput {
        window: window(),
        batch: "b1".parse().unwrap(),
        execution: None,
        routes: vec![],
        rejected: Kept {
            count: 3,
            key: None,
        },
        unrouted: Kept {
            count: 2,
            key: None,
        },
        read: ReadStats {
            records: 10,
            events: 12,
            bytes: 900,
            shards: 2,
            source: "stream".into(),
            beyond_checkpoint: 0,
        },
        raw_key: "raw/x".into(),
        checkpoint_key: "checkpoints/x".into(),
    }
}

/// An EMF document's namespace, dimension sets and metric names.
fn emf(doc: &str) -> (String, Value, BTreeSet<String>) {
    let doc: Value = serde_json::from_str(doc).unwrap();
    let spec = &doc["_aws"]["CloudWatchMetrics"][0];
    let names = spec["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap().to_string())
        .collect();
    (
        spec["Namespace"].as_str().unwrap().to_string(),
        spec["Dimensions"].clone(),
        names,
    )
}

#[test]
fn metrics_the_dashboard_reads_are_the_ones_the_tasks_emit() {
    let m = &deploy_contract::get().metrics;
    let w = window();
    let (ns, dims, read) = emf(&metrics::read_window(&read_output(), w.end_ms() + 1, 5));
    assert_eq!(ns, m.namespace);
    assert_eq!(metrics::NAMESPACE, m.namespace);
    assert_eq!(
        dims,
        serde_json::json!([[]]),
        "window metrics have no dimensions"
    );
    for name in m.window.iter().chain([&m.lag, &m.duration]) {
        assert!(read.contains(name), "ReadWindow does not emit {name}");
    }
    let by_type = serde_json::json!([[m.event_type_dimension]]);
    let deliver = emf(&metrics::deliver(
        &DeliverOutput {
            window: w,
            event_type: "OPEN".into(),
            delivered: 1,
            calls: 1,
            resent: 0,
        },
        0,
        1,
    ));
    let awaited = emf(&metrics::await_objects(
        &AwaitOutput {
            window: w,
            event_type: "OPEN".into(),
            expected: 1,
            arrived: 1,
            objects: 1,
            complete: true,
            attempt: 1,
        },
        0,
        1,
    ));
    let load = emf(&metrics::load(
        &LoadOutput {
            window: w,
            event_type: "OPEN".into(),
            table: "push_opens".into(),
            batch: "b1".parse().unwrap(),
            objects: 1,
            manifest_key: "m".into(),
            rows_staged: 1,
            rows_inserted: 1,
            rows_replaced: 0,
            rows_unchanged: 0,
            duplicates: 0,
        },
        0,
        1,
    ));
    for (ns, dims, names) in [&deliver, &awaited, &load] {
        assert_eq!((ns, dims), (&m.namespace, &by_type));
        assert!(names.contains(&m.duration));
    }
    let branch: BTreeSet<&String> = deliver.2.iter().chain(&load.2).collect();
    for name in &m.per_event_type {
        assert!(branch.contains(name), "no branch step emits {name}");
    }
}

#[test]
fn the_definitions_timeouts_and_retries_are_the_contracts() {
    let c = deploy_contract::get();
    let def = definition();
    assert_eq!(
        def["TimeoutSeconds"].as_u64(),
        Some(c.timeouts.execution_seconds)
    );
    assert_eq!(
        state("FanOut")["MaxConcurrency"].as_u64(),
        Some(c.timeouts.fan_out_max_concurrency)
    );
    for (name, task) in c.tasks.all() {
        let s = state(&task.state);
        assert_eq!(s["Resource"], "arn:aws:states:::lambda:invoke", "{name}");
        assert_eq!(
            s["TimeoutSeconds"].as_u64(),
            Some(task.state_timeout_seconds),
            "{}'s TimeoutSeconds",
            task.state
        );
        assert_eq!(
            s["Retry"].as_array().unwrap(),
            &c.retry.lambda,
            "{}'s Retry",
            task.state
        );
    }
    for notify in ["NotifyFailure", "NotifyFailureFallback"] {
        let s = state(notify);
        assert_eq!(
            s["TimeoutSeconds"].as_u64(),
            Some(c.timeouts.notify_state_seconds)
        );
        assert_eq!(s["Retry"].as_array().unwrap(), &c.retry.sns, "{notify}");
    }
}

#[test]
fn timeouts_nest_step_deadline_lambda_state() {
    let c = deploy_contract::get();
    let t = &c.timeouts;
    for (name, task) in c.tasks.all() {
        if let Some(deadline) = task.step_deadline_seconds {
            assert!(
                deadline + t.lambda_over_step_deadline_min_seconds <= task.lambda_timeout_seconds,
                "{name}: its deadline {deadline} s leaves under {} s before its Lambda timeout {} s",
                t.lambda_over_step_deadline_min_seconds,
                task.lambda_timeout_seconds
            );
        }
        assert!(
            task.lambda_timeout_seconds + t.state_over_lambda_min_seconds
                <= task.state_timeout_seconds,
            "{name}: Lambda timeout {} s is not {} s under its state's TimeoutSeconds {} s",
            task.lambda_timeout_seconds,
            t.state_over_lambda_min_seconds,
            task.state_timeout_seconds
        );
        assert!(
            task.lambda_timeout_seconds <= 900,
            "{name}: Lambda stops at 15 minutes"
        );
    }
}

#[test]
fn a_lambda_that_was_killed_is_retried_once_and_only_transient_errors_are_retried() {
    let c = deploy_contract::get();
    let lambda = RetryPolicies::names(&c.retry.lambda);
    // AWS, "Handle Lambda service exceptions": "Unhandled errors in Lambda are reported as
    // Lambda.Unknown in the error output. These include out-of-memory errors and function
    // timeouts." The runtime reports a timed-out invocation with errorType Sandbox.Timedout.
    for e in [
        names::TRANSIENT,
        "Sandbox.Timedout",
        "Lambda.Unknown",
        "States.Timeout",
    ] {
        assert!(lambda.contains(&e), "the Lambda tasks must retry {e}");
    }
    for e in [
        names::INVALID_INPUT,
        names::OBJECTS_NOT_DELIVERED,
        names::LOAD_FAILED,
        "States.ALL",
        "States.TaskFailed",
    ] {
        assert!(!lambda.contains(&e), "the Lambda tasks must not retry {e}");
    }
    let sns = RetryPolicies::names(&c.retry.sns);
    assert!(!sns.contains(&"States.TaskFailed") && !sns.contains(&"States.ALL"));
    for e in [
        "SNS.InvalidParameterException",
        "SNS.AuthorizationErrorException",
        "SNS.NotFoundException",
        "SNS.KMSDisabledException",
    ] {
        assert!(!sns.contains(&e), "{e} never passes on a second try");
    }
    // The local executor's SNS handler reports the names the integration does.
    assert!(sns.contains(&sns_error_name(ErrorKind::Transient)));
    for kind in [ErrorKind::Permanent, ErrorKind::NotFound] {
        assert!(!sns.contains(&sns_error_name(kind)), "{kind:?}");
    }
}

#[test]
fn the_failure_subject_names_only_errors_it_has_room_for() {
    let n = &deploy_contract::get().notification;
    assert_eq!(MAX_ROUTED_EVENT_TYPE_CHARS, n.routed_event_type_max_chars);
    // The Choice that decides whether the subject names the error lists exactly these names.
    let choice = state("SubjectNamesTheError?");
    let mut listed: Vec<&str> = choice["Choices"][0]["Or"]
        .as_array()
        .expect("one Or rule")
        .iter()
        .map(|r| {
            assert_eq!(r["Variable"], "$.failure.error");
            r["StringEquals"].as_str().unwrap()
        })
        .collect();
    listed.sort_unstable();
    let mut contract: Vec<&str> = n.subject_error_names.iter().map(String::as_str).collect();
    contract.sort_unstable();
    assert_eq!(listed, contract);
    for e in names::ALL {
        assert!(contract.contains(&e), "the subject names {e}");
    }
    // The longest subject: "pushfeed <window> AwaitObjects (<type>): <error>".
    let longest_error = contract.iter().map(|e| e.len()).max().unwrap();
    let longest = "pushfeed ".len()
        + window().to_string().len()
        + " AwaitObjects (".len()
        + n.routed_event_type_max_chars
        + "): ".len()
        + longest_error;
    assert!(
        longest <= n.subject_max_chars,
        "the longest subject has {longest} characters"
    );
}

#[cfg(feature = "aws")]
mod aws {
    use std::cell::RefCell;
    use std::collections::{BTreeSet, HashMap};
    use std::time::Duration;

    use pushfeed::adapters::aws::redshift::Polling;
    use pushfeed::adapters::aws::sdk::aws_config;
    use pushfeed::adapters::aws::{AwsPorts, TaskEnv};
    use pushfeed::deploy_contract::{self, Task};

    #[test]
    fn the_tasks_read_exactly_the_contracts_variables() {
        let c = deploy_contract::get();
        let read = RefCell::new(BTreeSet::new());
        TaskEnv::from_lookup(|name| {
            read.borrow_mut().insert(name.to_string());
            None
        })
        .unwrap();
        let contract: BTreeSet<String> = c.environment.values().cloned().collect();
        assert_eq!(read.into_inner(), contract);
    }

    fn sdk() -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-2"))
            .build()
    }

    /// What `tasks/<task>/src/main.rs` builds before serving an invocation.
    fn start(task: &str, env: &HashMap<String, String>) -> Result<(), String> {
        let env = TaskEnv::from_lookup(|k| env.get(k).cloned()).map_err(|e| e.to_string())?;
        let ports = AwsPorts::build(env, &sdk()).map_err(|e| e.to_string())?;
        let e = |r: Result<(), pushfeed::adapters::aws::config::ConfigError>| {
            r.map_err(|e| e.to_string())
        };
        match task {
            "read-window" => e(ports.store().map(drop).and(ports.stream().map(drop))),
            "deliver" | "await-objects" => e(ports.store().map(drop)),
            "load" => e(ports.store().map(drop).and(ports.warehouse().map(drop))),
            other => panic!("unknown task {other}"),
        }
    }

    fn required_env(task: &Task) -> HashMap<String, String> {
        let c = deploy_contract::get();
        task.required
            .iter()
            .chain(task.exactly_one_of.iter().map(|g| &g[0]))
            .chain(task.at_most_one_of.iter().map(|g| &g[0]))
            .map(|k| (c.environment[k].clone(), format!("value-of-{k}")))
            .collect()
    }

    #[test]
    fn each_task_starts_with_its_required_variables_and_names_a_missing_one() {
        let c = deploy_contract::get();
        for (name, task) in c.tasks.all() {
            let env = required_env(task);
            start(name, &env).unwrap_or_else(|e| panic!("{name} does not start: {e}"));
            for key in &task.required {
                let var = &c.environment[key];
                let mut without = env.clone();
                without.remove(var);
                let err = start(name, &without).expect_err(var);
                assert!(err.contains(var), "{name} without {var}: {err}");
            }
            for group in &task.exactly_one_of {
                let mut both = env.clone();
                for k in group {
                    both.insert(c.environment[k].clone(), "x".into());
                }
                assert!(start(name, &both).is_err(), "{name}: both of {group:?}");
                let mut neither = env.clone();
                for k in group {
                    neither.remove(&c.environment[k]);
                }
                assert!(start(name, &neither).is_err(), "{name}: none of {group:?}");
            }
        }
    }

    #[test]
    fn the_redshift_polling_deadline_is_the_load_tasks() {
        let load = &deploy_contract::get().tasks.load;
        let deadline = load.step_deadline_seconds.expect("Load has a deadline");
        assert_eq!(Polling::default().deadline, Duration::from_secs(deadline));
        assert!(Polling::default().deadline < Duration::from_secs(load.lambda_timeout_seconds));
    }
}
