//! `pushfeed replay|executions|history --aws` against Step Functions on moto, through the binary
//! (built with the `aws` feature) with the standard AWS environment variables pointing at moto.
#![cfg(feature = "aws")]

mod conformance;

use std::process::{Command, Output};

use pushfeed::adapters::aws::sdk::{aws_config, s3, sfn};

fn moto_endpoint() -> String {
    std::env::var("PUSHFEED_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("PUSHFEED_MOTO_ENDPOINT is not set: these tests need moto's server; run scripts/test, which starts it")
    })
}

fn pushfeed(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pushfeed"))
        .arg("--home")
        .arg(home.path())
        .args(args)
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pushfeed {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const DEFINITION: &str =
    r#"{"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}}"#;

#[tokio::test]
async fn replay_executions_and_history_on_step_functions() {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto_endpoint())
        .credentials_provider(s3::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    let arn = sfn::Client::new(&sdk)
        .create_state_machine()
        .name(conformance::unique("pf-cli"))
        .definition(DEFINITION)
        .role_arn("arn:aws:iam::123456789012:role/pushfeed-states")
        .send()
        .await
        .unwrap()
        .state_machine_arn;

    let out = pushfeed(&[
        "replay",
        "--aws",
        "--state-machine",
        &arn,
        "--from",
        "2026-11-26T10:01Z",
        "--to",
        "2026-11-26T10:03Z",
        "--json",
    ]);
    let started: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let started = started.as_array().unwrap();
    assert_eq!(started.len(), 3);
    assert_eq!(started[0]["window"], "2026-11-26T10:01Z");
    assert!(started[0]["name"]
        .as_str()
        .unwrap()
        .starts_with("2026-11-26T10-01Z-replay-"));
    assert!(started[2]["console"]
        .as_str()
        .unwrap()
        .starts_with("https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/arn:aws:states:us-east-1:"));

    let out = pushfeed(&["executions", "--aws", "--state-machine", &arn, "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut windows: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["window"].as_str().unwrap())
        .collect();
    windows.sort();
    assert_eq!(
        windows,
        [
            "2026-11-26T10:01Z",
            "2026-11-26T10:02Z",
            "2026-11-26T10:03Z"
        ]
    );

    let text =
        String::from_utf8(pushfeed(&["executions", "--aws", "--state-machine", &arn]).stdout)
            .unwrap();
    assert!(
        text.starts_with("NAME")
            && text.contains("2026-11-26T10:02Z")
            && text.contains("console.aws.amazon.com"),
        "{text}"
    );

    let execution = started[1]["execution_arn"].as_str().unwrap();
    let out = pushfeed(&["history", "--aws", execution, "--json"]);
    let events: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(events[0]["type"], "ExecutionStarted", "{events}");
    let text = String::from_utf8(pushfeed(&["history", "--aws", execution]).stdout).unwrap();
    assert!(
        text.contains("ExecutionStarted") && text.contains(execution),
        "{text}"
    );
}

/// The tables belong to the user who creates them and the Load connects as the stage's secret
/// (or database user): `schema --aws` refuses to create them as anyone else.
#[test]
fn schema_aws_creates_the_tables_as_the_loads_user_only() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pushfeed"))
            .arg("--home")
            .arg(home.path())
            .args(["schema", "--aws", "--database", "pushfeed"])
            .args(args)
            .env("AWS_ENDPOINT_URL", moto_endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap()
    };
    let out = run(&["--workgroup", "wg"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("needs --secret-arn"),
        "{err}"
    );
    let out = run(&["--cluster-id", "c"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("needs --db-user"),
        "{err}"
    );
}
