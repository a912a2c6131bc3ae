//! The AWS adapters against moto's server (started by scripts/test, address in
//! PUSHFEED_MOTO_ENDPOINT): the ports' conformance suites for S3, Kinesis and SNS, a reshard, and
//! Step Functions StartExecution/DescribeExecution/ListExecutions/GetExecutionHistory.
//!
//! Without PUSHFEED_MOTO_ENDPOINT these tests fail, saying how to start moto: never skipped.
#![cfg(feature = "aws")]

mod conformance;

use std::collections::BTreeMap;
use std::time::Duration;

use pushfeed::adapters::aws::sdk::{aws_config, kinesis, s3, sfn, sns};
use pushfeed::adapters::aws::{
    config::s3_client, KinesisStream, S3ObjectStore, SnsNotifier, StepFunctions,
};
use pushfeed::ports::{Message, StartingPosition, Stream};

/// moto's address; a clear failure when the test command did not start it.
pub fn moto_endpoint() -> String {
    std::env::var("PUSHFEED_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "PUSHFEED_MOTO_ENDPOINT is not set: these tests need moto's server. Run scripts/test, \
             or start one with `.ci/venv/bin/python scripts/moto-server.py PORT_FILE` and export \
             PUSHFEED_MOTO_ENDPOINT=http://127.0.0.1:$(cat PORT_FILE)"
        )
    })
}

pub async fn moto_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto_endpoint())
        .credentials_provider(s3::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

#[tokio::test]
async fn s3_adapter_conforms_on_moto() {
    let sdk = moto_config().await;
    let client = s3_client(&sdk);
    let bucket = conformance::unique("pf-conf");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let store = S3ObjectStore::new(client, &bucket).with_part_size(5 * 1024 * 1024);
    conformance::object_store::all(&store, &bucket, 1005).await;
}

async fn create_stream(client: &kinesis::Client, name: &str, shards: i32) {
    client
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .unwrap();
    for _ in 0..50 {
        let d = client
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .unwrap();
        if d.stream_description_summary.unwrap().stream_status
            == kinesis::types::StreamStatus::Active
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("stream {name} never became active");
}

async fn put(client: &kinesis::Client, stream: &str, data: &[Vec<u8>]) -> Vec<String> {
    let mut seqs = Vec::new();
    for (i, d) in data.iter().enumerate() {
        let out = client
            .put_record()
            .stream_name(stream)
            .partition_key(format!("pk-{i}"))
            .data(kinesis::primitives::Blob::new(d.clone()))
            .send()
            .await
            .unwrap();
        seqs.push(out.sequence_number);
    }
    seqs
}

#[tokio::test]
async fn kinesis_adapter_conforms_on_moto() {
    let sdk = moto_config().await;
    let client = kinesis::Client::new(&sdk);
    let name = conformance::unique("pf-conf");
    create_stream(&client, &name, 1).await;
    let data: Vec<Vec<u8>> = (0..7)
        .map(|i| format!("{{\"n\":{i}}}").into_bytes())
        .collect();
    put(&client, &name, &data).await;
    let stream = KinesisStream::new(client, &name);
    let shards = stream.list_shards().await.unwrap();
    assert_eq!(shards.len(), 1);
    conformance::stream::reads(&stream, &shards[0].shard_id, &data).await;
}

/// After a reshard the closed parent is still listed, with its end and its children's links,
/// and reading it to its end says so (no next position).
#[tokio::test]
async fn kinesis_lists_and_reads_closed_parents_after_a_reshard() {
    let sdk = moto_config().await;
    let client = kinesis::Client::new(&sdk);
    let name = conformance::unique("pf-reshard");
    create_stream(&client, &name, 1).await;
    let before: Vec<Vec<u8>> = (0..3).map(|i| format!("before-{i}").into_bytes()).collect();
    put(&client, &name, &before).await;
    client
        .update_shard_count()
        .stream_name(&name)
        .target_shard_count(2)
        .scaling_type(kinesis::types::ScalingType::UniformScaling)
        .send()
        .await
        .unwrap();
    let stream = KinesisStream::new(client.clone(), &name);
    let shards = stream.list_shards().await.unwrap();
    let parent = shards
        .iter()
        .find(|s| s.ending_sequence_number.is_some())
        .unwrap_or_else(|| panic!("a closed parent is listed: {shards:?}"));
    let children: Vec<_> = shards
        .iter()
        .filter(|s| s.parent_shard_id.as_deref() == Some(parent.shard_id.as_str()))
        .collect();
    assert!(!children.is_empty(), "{shards:?}");
    let read = conformance::stream::read_all(&stream, &parent.shard_id, 10).await;
    let got: Vec<Vec<u8>> = read.into_iter().map(|r| r.data).collect();
    assert_eq!(got, before);
    // Kinesis ends a closed shard's last page with no NextShardIterator (the adapter's `next:
    // None`); moto never does, so here the parent ends like an open shard's tip: an empty page,
    // not behind. ReadWindow stops on either.
    let after_last = stream
        .read(&parent.shard_id, &StartingPosition::TrimHorizon, 100)
        .await
        .unwrap();
    assert_eq!(after_last.records.len(), before.len());
    assert_eq!(after_last.millis_behind_latest, 0);
}

/// SNS's delivery of a message to an SQS subscriber, parsed back into a Message.
async fn receive_from_sqs(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Message> {
    let mut out = Vec::new();
    for _ in 0..20 {
        let r = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for m in r.messages.unwrap_or_default() {
            let envelope: serde_json::Value =
                serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
            let attributes: BTreeMap<String, String> = envelope["MessageAttributes"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v["Value"].as_str().unwrap().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            out.push(Message {
                subject: envelope["Subject"].as_str().unwrap_or_default().to_string(),
                body: envelope["Message"].as_str().unwrap().to_string(),
                attributes,
            });
        }
        if !out.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    out
}

#[tokio::test]
async fn sns_adapter_conforms_on_moto() {
    let sdk = moto_config().await;
    let sns_client = sns::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let name = conformance::unique("pf-failures");
    let topic = sns_client
        .create_topic()
        .name(&name)
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    sns_client
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .unwrap();
    let notifier = SnsNotifier::new(sns_client, &topic);
    conformance::notifier::publish(&notifier, async || receive_from_sqs(&sqs, &queue_url).await)
        .await;
}

/// A state machine of Pass states (moto runs them with execute_state_machine on); its input's
/// window decides success or failure, so both statuses can be observed.
pub const TEST_DEFINITION: &str = r#"{
  "StartAt": "Check",
  "States": {
    "Check": {"Type": "Choice", "Choices": [{"Variable": "$.window", "StringEquals": "2026-11-26T10:02Z", "Next": "Broken"}], "Default": "Done"},
    "Done": {"Type": "Pass", "Result": {"loaded": true}, "End": true},
    "Broken": {"Type": "Fail", "Error": "Pushfeed.LoadFailed", "Cause": "window 2026-11-26T10:02Z: loading push_opens failed"}
  }
}"#;

/// Turns on moto's real execution of state machines (otherwise executions stay RUNNING).
pub async fn moto_execute_state_machines() {
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
    assert!(
        response.starts_with("HTTP/1.") && response.contains(" 201 "),
        "{response}"
    );
}

pub async fn create_state_machine(sdk: &aws_config::SdkConfig) -> String {
    moto_execute_state_machines().await;
    sfn::Client::new(sdk)
        .create_state_machine()
        .name(conformance::unique("pf-ingest"))
        .definition(TEST_DEFINITION)
        .role_arn("arn:aws:iam::123456789012:role/pushfeed-states")
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

#[tokio::test]
async fn step_functions_start_describe_list_history_on_moto() {
    let sdk = moto_config().await;
    let arn = create_state_machine(&sdk).await;
    let sf = StepFunctions::new(sfn::Client::new(&sdk));
    let ok = sf
        .start(
            &arn,
            "2026-11-26T10-01Z-replay-1",
            &serde_json::json!({"window": "2026-11-26T10:01Z"}),
        )
        .await
        .unwrap();
    let bad = sf
        .start(
            &arn,
            "2026-11-26T10-02Z-replay-1",
            &serde_json::json!({"window": "2026-11-26T10:02Z"}),
        )
        .await
        .unwrap();
    let ok_info = sf.wait(&ok, Duration::from_secs(20)).await.unwrap();
    assert_eq!(ok_info.status, "SUCCEEDED", "{ok_info:?}");
    assert_eq!(ok_info.name, "2026-11-26T10-01Z-replay-1");
    assert_eq!(
        ok_info.input,
        Some(serde_json::json!({"window": "2026-11-26T10:01Z"}))
    );
    assert_eq!(ok_info.output, Some(serde_json::json!({"loaded": true})));
    let bad_info = sf.wait(&bad, Duration::from_secs(20)).await.unwrap();
    assert_eq!(bad_info.status, "FAILED", "{bad_info:?}");
    assert_eq!(bad_info.error.as_deref(), Some("Pushfeed.LoadFailed"));

    let listed = sf.list(&arn, 10).await.unwrap();
    let mut names: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["2026-11-26T10-01Z-replay-1", "2026-11-26T10-02Z-replay-1"]
    );

    let history = sf.history(&bad).await.unwrap();
    let types: Vec<String> = history
        .iter()
        .map(|e| e.r#type.as_str().to_string())
        .collect();
    assert_eq!(
        types.first().map(String::as_str),
        Some("ExecutionStarted"),
        "{types:?}"
    );
    assert_eq!(
        types.last().map(String::as_str),
        Some("ExecutionFailed"),
        "{types:?}"
    );
    let last = pushfeed::adapters::aws::sfn::event_json(history.last().unwrap());
    assert_eq!(last["details"]["error"], "Pushfeed.LoadFailed");

    // Names are unique per state machine: starting one again is refused, naming it.
    let e = sf
        .start(
            &arn,
            "2026-11-26T10-01Z-replay-1",
            &serde_json::json!({"window": "2026-11-26T10:01Z"}),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("2026-11-26T10-01Z-replay-1"), "{e}");
}
