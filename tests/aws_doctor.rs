//! `pushfeed doctor --aws --stage NAME` through the binary: a stage built on moto the way the CDK
//! app builds it (stack outputs, stream, bucket, one Firehose stream per route, the state machine
//! with the substituted definition, the schedule, a subscribed topic) with its warehouse on the
//! Redshift harness passes every check; the same stage broken (bucket deleted, schedule disabled,
//! a table dropped) fails, naming each broken check.
#![cfg(feature = "aws")]

mod conformance;
mod harness;

use std::process::Output;
use std::sync::Arc;

use conformance::postgres::Postgres;
use pushfeed::adapters::aws::config::s3_client;
use pushfeed::adapters::aws::sdk::{
    aws_config, cloudformation, firehose, kinesis, s3, scheduler, sfn, sns,
};
use pushfeed::adapters::aws::S3ObjectStore;
use pushfeed::domain::routes::RoutingTable;
use pushfeed::domain::sql::{schema, Dialect};
use pushfeed::ports::{ObjectStore, Warehouse};
use serde_json::{json, Value};

fn moto_endpoint() -> String {
    std::env::var("PUSHFEED_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("PUSHFEED_MOTO_ENDPOINT is not set: this test needs moto's server; run scripts/test, which starts it")
    })
}

async fn sdk() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto_endpoint())
        .credentials_provider(s3::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

/// `pushfeed doctor --aws --stage STAGE --json` with every service on moto but the Data API,
/// which goes to the harness.
fn doctor(stage: &str, data_api: &str) -> Output {
    let home = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_pushfeed"))
        .arg("--home")
        .arg(home.path())
        .args(["doctor", "--aws", "--stage", stage, "--json"])
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_ENDPOINT_URL_REDSHIFT_DATA", data_api)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("PUSHFEED_ROUTES")
        .output()
        .unwrap()
}

fn checks(out: &Output) -> Vec<(String, bool, String)> {
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor's output is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["ok"].as_bool().unwrap(),
                format!("{c}"),
            )
        })
        .collect()
}

/// The stage's resources, as `cdk deploy -c stage=STAGE` leaves them (what doctor reads of them).
struct Stage {
    name: String,
    bucket: String,
    state_machine: String,
}

async fn deploy(sdk: &aws_config::SdkConfig, routes: &RoutingTable) -> Stage {
    let stage = conformance::unique("doc");
    let bucket = format!("{stage}-data");
    s3_client(sdk)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let stream = format!("{stage}-pushfeed-feedback");
    kinesis::Client::new(sdk)
        .create_stream()
        .stream_name(&stream)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let contract = &pushfeed::deploy_contract::get().s3.firehose;
    let fh = firehose::Client::new(sdk);
    for r in routes.routes() {
        let name = format!("{stage}-{}", r.delivery_stream);
        fh.create_delivery_stream()
            .delivery_stream_name(&name)
            .delivery_stream_type(firehose::types::DeliveryStreamType::DirectPut)
            .extended_s3_destination_configuration(
                firehose::types::ExtendedS3DestinationConfiguration::builder()
                    .bucket_arn(format!("arn:aws:s3:::{bucket}"))
                    .role_arn("arn:aws:iam::123456789012:role/firehose")
                    .prefix(contract.prefix.replace("{event_type}", &r.event_type))
                    .error_output_prefix(
                        contract
                            .error_output_prefix
                            .replace("{delivery_stream}", &name),
                    )
                    .compression_format(firehose::types::CompressionFormat::Gzip)
                    .file_extension(&contract.file_extension)
                    .dynamic_partitioning_configuration(
                        firehose::types::DynamicPartitioningConfiguration::builder()
                            .enabled(true)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let topic = sns::Client::new(sdk)
        .create_topic()
        .name(format!("{stage}-pushfeed-failures"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    sns::Client::new(sdk)
        .subscribe()
        .topic_arn(&topic)
        .protocol("email")
        .endpoint("ops@example.com")
        .send()
        .await
        .unwrap();
    // The definition as CloudFormation's DefinitionSubstitutions fill it.
    let mut values = std::collections::HashMap::new();
    for k in [
        "ReadWindowFunction",
        "DeliverFunction",
        "AwaitObjectsFunction",
        "LoadFunction",
    ] {
        values.insert(
            k.to_string(),
            format!("arn:aws:lambda:us-east-1:123456789012:function:{stage}-{k}"),
        );
    }
    values.insert("FailureTopicArn".into(), topic.clone());
    values.insert("AwaitWaitSeconds".into(), "75".into());
    values.insert("Region".into(), "us-east-1".into());
    values.insert(
        "ReplayCommand".into(),
        "pushfeed replay --aws --state-machine arn".into(),
    );
    let definition = asl_substitute(&values);
    let state_machine = sfn::Client::new(sdk)
        .create_state_machine()
        .name(format!("{stage}-pushfeed-ingest-window"))
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/states")
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    scheduler::Client::new(sdk)
        .create_schedule()
        .name(format!("{stage}-pushfeed-every-minute"))
        .schedule_expression("rate(1 minute)")
        .state(scheduler::types::ScheduleState::Enabled)
        .flexible_time_window(
            scheduler::types::FlexibleTimeWindow::builder()
                .mode(scheduler::types::FlexibleTimeWindowMode::Off)
                .build()
                .unwrap(),
        )
        .target(
            scheduler::types::Target::builder()
                .arn(&state_machine)
                .role_arn("arn:aws:iam::123456789012:role/scheduler")
                .input(r#"{"scheduled_time": "<aws.scheduler.scheduled-time>"}"#)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // The stack: only its outputs matter to doctor; construct outputs carry CDK's path and hash.
    let outputs = json!({
        "BucketName": {"Value": bucket},
        "StreamStreamName2B3C4D5E": {"Value": stream},
        "WorkflowStateMachineArn1A2B3C4D": {"Value": state_machine},
        "AlertsFailureTopicArn9A8B7C6D": {"Value": topic},
        "SchemaCommand": {"Value": "pushfeed schema --aws --workgroup harness --database pushfeed --secret-arn arn:aws:secretsmanager:us-east-1:123456789012:secret:admin"},
        "WarehouseCopyRoleArnF0E1D2C3": {"Value": harness::COPY_ROLE},
    });
    let template = json!({
        "Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": format!("{stage}-marker")}}},
        "Outputs": outputs,
    });
    cloudformation::Client::new(sdk)
        .create_stack()
        .stack_name(format!("pushfeed-{stage}"))
        .template_body(template.to_string())
        .send()
        .await
        .unwrap();
    Stage {
        name: stage,
        bucket,
        state_machine,
    }
}

fn asl_substitute(values: &std::collections::HashMap<String, String>) -> String {
    asl::substitute(pushfeed::doctor::DEFINITION, values).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployed_stage_passes_and_a_broken_one_names_each_failure() {
    let sdk = sdk().await;
    let routes = RoutingTable::default_routes();
    let stage = deploy(&sdk, &routes).await;

    let pg = Postgres::start().await;
    let conninfo = pg.database("pushfeed").await;
    let store: Arc<dyn ObjectStore> = Arc::new(S3ObjectStore::new(s3_client(&sdk), &stage.bucket));
    let harness = harness::harness(&conninfo, store).await;
    let redshift = harness::warehouse(&harness).await;
    redshift
        .apply_schema(&schema(routes.routes(), Dialect::Redshift))
        .await
        .unwrap();

    let out = doctor(&stage.name, harness.endpoint());
    let all = checks(&out);
    let failed: Vec<&String> = all.iter().filter(|c| !c.1).map(|c| &c.2).collect();
    assert!(
        failed.is_empty() && out.status.success(),
        "a correct stage fails: {failed:#?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<&str> = all.iter().map(|c| c.0.as_str()).collect();
    for want in [
        "stack",
        "stream",
        "bucket",
        "firehose SEND",
        "firehose WEB_CLICK",
        "state machine",
        "schedule",
        "failure topic",
        "warehouse",
        "ledger",
        "table push_opens",
        "view push_campaign_performance",
        "executions",
    ] {
        assert!(names.contains(&want), "no check {want}: {names:?}");
    }

    // Break it: the bucket is gone, the schedule is off, a table is missing.
    let s3c = s3_client(&sdk);
    s3c.delete_bucket()
        .bucket(&stage.bucket)
        .send()
        .await
        .unwrap();
    let sc = scheduler::Client::new(&sdk);
    let name = format!("{}-pushfeed-every-minute", stage.name);
    let s = sc.get_schedule().name(&name).send().await.unwrap();
    sc.update_schedule()
        .name(&name)
        .schedule_expression(s.schedule_expression().unwrap())
        .set_flexible_time_window(s.flexible_time_window().cloned())
        .set_target(s.target().cloned())
        .state(scheduler::types::ScheduleState::Disabled)
        .send()
        .await
        .unwrap();
    redshift.query("DROP TABLE push_uninstalls").await.unwrap();

    let out = doctor(&stage.name, harness.endpoint());
    assert_eq!(out.status.code(), Some(1), "a broken stage must exit 1");
    let failed: Vec<String> = checks(&out)
        .into_iter()
        .filter(|c| !c.1)
        .map(|c| c.0)
        .collect();
    assert_eq!(
        failed,
        ["bucket", "schedule", "table push_uninstalls"],
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("3 of"), "{text}");
    let _ = stage.state_machine;
}

/// The records in the stream whose ids carry the canary's prefix, read from the start.
async fn canary_records(sdk: &aws_config::SdkConfig, stream: &str) -> Vec<Value> {
    let k = kinesis::Client::new(sdk);
    let mut found = Vec::new();
    let shards = k.list_shards().stream_name(stream).send().await.unwrap();
    for shard in shards.shards() {
        let mut iterator = k
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(kinesis::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator;
        while let Some(it) = iterator.take() {
            let page = k.get_records().shard_iterator(it).send().await.unwrap();
            for r in page.records() {
                let v: Value = serde_json::from_slice(r.data().as_ref()).unwrap();
                if v["id"]
                    .as_str()
                    .unwrap()
                    .starts_with(pushfeed::canary::CANARY_ID_PREFIX)
                {
                    found.push(v);
                }
            }
            if page.records().is_empty() {
                break;
            }
            iterator = page.next_shard_iterator;
        }
    }
    found
}

fn canary(stage: &str, data_api: &str, deadline: &str) -> std::process::Child {
    let home = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_pushfeed"))
        .arg("--home")
        .arg(home.path())
        .args([
            "canary",
            "--aws",
            "--stage",
            stage,
            "--json",
            "--deadline",
            deadline,
        ])
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_ENDPOINT_URL_REDSHIFT_DATA", data_api)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("PUSHFEED_ROUTES")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canary_puts_marked_events_and_waits_for_their_rows_through_the_data_api() {
    let sdk = sdk().await;
    let routes = RoutingTable::default_routes();
    let stage = deploy(&sdk, &routes).await;
    let stream = format!("{}-pushfeed-feedback", stage.name);
    let pg = Postgres::start().await;
    let conninfo = pg.database("pushfeed").await;
    let store: Arc<dyn ObjectStore> = Arc::new(S3ObjectStore::new(s3_client(&sdk), &stage.bucket));
    let harness = harness::harness(&conninfo, store).await;
    let redshift = harness::warehouse(&harness).await;
    redshift
        .apply_schema(&schema(routes.routes(), Dialect::Redshift))
        .await
        .unwrap();

    // Nothing runs the windows here: past its deadline, every type is reported missing.
    let out = canary(&stage.name, harness.endpoint(), "1")
        .wait_with_output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert!(
        v["types"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["arrived"] == false),
        "{v}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("7 of 7 canary events did not reach"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = canary_records(&sdk, &stream).await;
    assert_eq!(
        first.len(),
        routes.routes().len(),
        "one marked event per route: {first:?}"
    );

    // Now play the pipeline: each event's row appears in its table while the canary waits.
    let child = canary(&stage.name, harness.endpoint(), "120");
    let mut records = Vec::new();
    for _ in 0..100 {
        records = canary_records(&sdk, &stream).await;
        if records.len() == 2 * routes.routes().len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(records.len(), 2 * routes.routes().len());
    for r in &records {
        let id = r["id"].as_str().unwrap();
        if first.iter().any(|f| f["id"] == id) {
            continue;
        }
        let table = &routes.for_type(r["type"].as_str().unwrap()).unwrap().table;
        redshift
            .query(&format!("INSERT INTO {table} (event_id) VALUES ('{id}')"))
            .await
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    // The canary deleted what it saw.
    for r in routes.routes() {
        let left = redshift
            .query(&format!(
                "SELECT event_id FROM {} WHERE event_id LIKE 'pushfeed-canary-%'",
                r.table
            ))
            .await
            .unwrap();
        assert!(left.rows.is_empty(), "{}: {:?}", r.table, left.rows);
    }
}
