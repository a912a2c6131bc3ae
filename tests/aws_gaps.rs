//! `pushfeed gaps|status|catch-up --aws` through the binary: checkpoints in S3 and executions in
//! Step Functions on moto, the stream's retention from Kinesis on moto, and the ledger through the
//! Redshift Data API on the Redshift harness (crates/redshift-harness).
#![cfg(feature = "aws")]

mod conformance;
mod harness;

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use conformance::postgres::Postgres;
use pushfeed::adapters::aws::audit::{AuditFunction, AwsAccounting};
use pushfeed::adapters::aws::config::s3_client;
use pushfeed::adapters::aws::sdk::{aws_config, kinesis, s3, sfn};
use pushfeed::adapters::aws::{S3ObjectStore, StepFunctions, TaskEnv};
use pushfeed::domain::routes::RoutingTable;
use pushfeed::domain::sql::{schema, Dialect};
use pushfeed::domain::window::now_ms;
use pushfeed::ports::{ObjectStore, Warehouse};
use serde_json::{json, Value};

fn moto_endpoint() -> String {
    std::env::var("PUSHFEED_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("PUSHFEED_MOTO_ENDPOINT is not set: this test needs moto's server; run scripts/test, which starts it")
    })
}

/// Fails W4, passes every other window (it writes nothing: the facts are the test's).
const DEFINITION: &str = r#"{
  "StartAt": "Check",
  "States": {
    "Check": {"Type": "Choice", "Choices": [{"Variable": "$.window", "StringEquals": "2026-11-26T10:04Z", "Next": "Broken"}], "Default": "Done"},
    "Done": {"Type": "Pass", "End": true},
    "Broken": {"Type": "Fail", "Error": "Pushfeed.LoadFailed", "Cause": "window 2026-11-26T10:04Z: loading push_opens failed"}
  }
}"#;

/// Turns on moto's real execution of state machines (otherwise executions stay RUNNING).
async fn moto_execute_state_machines() {
    let endpoint = moto_endpoint();
    let addr = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let body = r#"{"stepfunctions": {"execute_state_machine": true}}"#;
    let request = format!(
        "POST /moto-api/config HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).await.unwrap();
    assert!(response.contains(" 201 "), "{response}");
}

fn checkpoint(window: &str, routed: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "window": window, "batch": "0019abf9bf360-1a2b3c4d",
        "raw_key": format!("raw/window={window}/batch=0019abf9bf360-1a2b3c4d.ndjson.gz"),
        "shards": {}, "routed": routed,
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_status_and_catch_up_on_s3_step_functions_and_the_data_api() {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto_endpoint())
        .credentials_provider(s3::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    let bucket = conformance::unique("pf-gaps");
    let s3c = s3_client(&sdk);
    s3c.create_bucket().bucket(&bucket).send().await.unwrap();
    let store = Arc::new(S3ObjectStore::new(s3c, &bucket));
    let stream = conformance::unique("pf-gaps");
    kinesis::Client::new(&sdk)
        .create_stream()
        .stream_name(&stream)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    moto_execute_state_machines().await;
    let arn = sfn::Client::new(&sdk)
        .create_state_machine()
        .name(conformance::unique("pf-gaps"))
        .definition(DEFINITION)
        .role_arn("arn:aws:iam::123456789012:role/pushfeed-states")
        .send()
        .await
        .unwrap()
        .state_machine_arn;

    // The ledger's home: the Redshift DDL on the harness.
    let pg = Postgres::start().await;
    let conninfo = pg.database("pushfeed").await;
    let harness = harness::harness(&conninfo, store.clone()).await;
    let warehouse = harness::warehouse(&harness).await;
    warehouse
        .apply_schema(&schema(
            RoutingTable::default_routes().routes(),
            Dialect::Redshift,
        ))
        .await
        .unwrap();
    let ledger = |window: &str, event_type: &str, table: &str| {
        format!(
            "INSERT INTO pushfeed_loads (window_start, event_type, table_name, batch_id, object_count, rows_staged, rows_inserted, rows_replaced, execution) VALUES (CAST('{window}:00.000Z' AS TIMESTAMPTZ), '{event_type}', '{table}', 'b', 1, 1, 1, 0, 'x')",
            window = window.trim_end_matches('Z')
        )
    };

    // W1 complete, W2 partial (OPEN unloaded), W3 missing, W4 failed before it read anything.
    let (w1, w2, w3, w4) = (
        "2026-11-26T10:01Z",
        "2026-11-26T10:02Z",
        "2026-11-26T10:03Z",
        "2026-11-26T10:04Z",
    );
    store
        .put(
            &format!("checkpoints/window={w1}.json"),
            checkpoint(w1, &["SEND"]),
        )
        .await
        .unwrap();
    store
        .put(
            &format!("checkpoints/window={w2}.json"),
            checkpoint(w2, &["SEND", "OPEN"]),
        )
        .await
        .unwrap();
    warehouse
        .query(&ledger(w1, "SEND", "push_sends"))
        .await
        .unwrap();
    warehouse
        .query(&ledger(w2, "SEND", "push_sends"))
        .await
        .unwrap();
    let sf = StepFunctions::new(sfn::Client::new(&sdk));
    let failed = sf
        .start(&arn, "w4-first", &json!({"window": w4}))
        .await
        .unwrap();
    assert_eq!(
        sf.wait(&failed, Duration::from_secs(20))
            .await
            .unwrap()
            .status,
        "FAILED"
    );

    let run = |args: &[&str]| -> Output {
        let home = tempfile::tempdir().unwrap();
        Command::new(env!("CARGO_BIN_EXE_pushfeed"))
            .arg("--home")
            .arg(home.path())
            .args(args)
            .args([
                "--aws",
                "--state-machine",
                &arn,
                "--bucket",
                &bucket,
                "--stream",
                &stream,
            ])
            .args([
                "--workgroup",
                "harness",
                "--database",
                "pushfeed",
                "--from",
                w1,
                "--to",
                w4,
            ])
            .env("AWS_ENDPOINT_URL", moto_endpoint())
            .env("AWS_ENDPOINT_URL_REDSHIFT_DATA", harness.endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .env_remove("PUSHFEED_REDSHIFT_SECRET_ARN")
            .env_remove("PUSHFEED_REDSHIFT_CLUSTER_ID")
            .output()
            .unwrap()
    };
    let text = |o: &Output| {
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };

    let out = run(&["--json", "gaps"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let states: BTreeMap<&str, &str> = report["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["window"].as_str().unwrap(), g["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        BTreeMap::from([(w2, "partial"), (w3, "missing"), (w4, "failed")])
    );
    assert_eq!(report["retention_hours"], 24, "from the stream's retention");
    assert_eq!(report["gaps"][0]["unloaded"], json!(["OPEN"]));
    let repair = report["gaps"][1]["repair"].as_str().unwrap();
    assert!(
        repair.starts_with(&format!(
            "pushfeed catch-up --aws --state-machine {arn} --bucket {bucket} --stream {stream}"
        )) && repair.ends_with(&format!("--from {w3} --to {w3}")),
        "{repair}"
    );

    let out = run(&["--json", "status"]);
    assert!(out.status.success(), "{}", text(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            status["missing"].as_u64(),
            status["failed"].as_u64(),
            status["partial"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(status["last_complete_window"], w1);
    assert_eq!(status["oldest_gap"]["window"], w2);

    // The audit: the same counts as metrics, and with repairs allowed, the two oldest gaps
    // started (not awaited).
    let env = TaskEnv::from_lookup(|name| match name {
        "PUSHFEED_BUCKET" => Some(bucket.clone()),
        "PUSHFEED_STREAM_NAME" => Some(stream.clone()),
        "PUSHFEED_REDSHIFT_WORKGROUP" => Some("harness".into()),
        "PUSHFEED_REDSHIFT_DATABASE" => Some("pushfeed".into()),
        _ => None,
    })
    .unwrap();
    let mut accounting = AwsAccounting::build(&env, &sdk, &arn).unwrap();
    accounting.warehouse = harness::warehouse(&harness).await;
    let audit = AuditFunction {
        accounting,
        repair_max: 2,
    };
    let out = audit
        .run_range(w1.parse().unwrap(), w4.parse().unwrap(), now_ms())
        .await
        .unwrap();
    assert_eq!(
        (
            out["missing"].as_u64(),
            out["failed"].as_u64(),
            out["partial"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{out}"
    );
    let repairs: Vec<&str> = out["repairs_started"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["window"].as_str().unwrap())
        .collect();
    assert_eq!(repairs, [w2, w3]);

    // catch-up starts one execution per gap, oldest first, and waits for each: the test's state
    // machine passes W2 and W3 and fails W4 again, so it ends with exit status 3.
    let out = run(&["--json", "catch-up"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["repaired"], json!([w2, w3]), "{done}");
    assert_eq!(done["failed"][0]["window"], w4, "{done}");
    assert!(
        done["failed"][0]["error"]
            .as_str()
            .unwrap()
            .contains("Pushfeed.LoadFailed"),
        "{done}"
    );
    let started = sf.list(&arn, 100).await.unwrap();
    assert_eq!(
        started
            .iter()
            .filter(|e| e.name.contains("-catch-up-"))
            .count(),
        3
    );
    assert_eq!(
        started
            .iter()
            .filter(|e| e.name.contains("-audit-"))
            .count(),
        2
    );
}
