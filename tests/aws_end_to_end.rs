//! One window end to end through the Lambda handlers with the AWS adapters: Kinesis and S3 on
//! moto, Firehose mocked (aws-smithy-mocks) with what it receives written into the moto bucket
//! under the Firehose prefix, as its dynamic partitioning would, and the load through the real
//! Redshift adapter on the Redshift harness (crates/redshift-harness): the schema's Redshift DDL
//! and every route's load transaction run on PostgreSQL, COPY reading the manifest, the jsonpaths
//! file and the delivered objects from the moto bucket.
#![cfg(feature = "aws")]

mod conformance;
mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};
use conformance::postgres::Postgres;
use pushfeed::adapters::aws::config::s3_client;
use pushfeed::adapters::aws::lambda;
use pushfeed::adapters::aws::sdk::{aws_config, firehose, kinesis, s3};
use pushfeed::adapters::aws::{FirehoseDelivery, KinesisStream, S3ObjectStore};
use pushfeed::domain::sql::schema;
use pushfeed::domain::sql::Dialect;
use pushfeed::domain::window::{now_ms, Window};
use pushfeed::ports::{Clock, ObjectStore, Warehouse};
use pushfeed::steps::contract::ReadWindowOutput;
use serde_json::{json, Value};

fn moto_endpoint() -> String {
    std::env::var("PUSHFEED_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("PUSHFEED_MOTO_ENDPOINT is not set: this test needs moto's server; run scripts/test, which starts it")
    })
}

struct At(i64);
impl Clock for At {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// The records each delivery stream received, as the mocked Firehose saw them.
type Received = Arc<Mutex<BTreeMap<String, Vec<Vec<u8>>>>>;

fn recording_firehose(received: Received) -> firehose::Client {
    let rule = mock!(firehose::Client::put_record_batch).then_compute_output(move |req| {
        let stream = req.delivery_stream_name().unwrap().to_string();
        let mut all = received.lock().unwrap();
        let entries = all.entry(stream).or_default();
        for r in req.records() {
            entries.push(r.data().as_ref().to_vec());
        }
        firehose::operation::put_record_batch::PutRecordBatchOutput::builder()
            .failed_put_count(0)
            .set_request_responses(Some(
                req.records()
                    .iter()
                    .enumerate()
                    .map(|(i, _)| {
                        firehose::types::PutRecordBatchResponseEntry::builder()
                            .record_id(format!("r{i}"))
                            .build()
                    })
                    .collect(),
            ))
            .build()
            .unwrap()
    });
    let interceptor = MockResponseInterceptor::new()
        .rule_mode(RuleMode::MatchAny)
        .with_rule(&rule);
    firehose::Client::from_conf(
        firehose::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(firehose::config::Region::new("us-east-1"))
            .credentials_provider(firehose::config::Credentials::new(
                "a", "b", None, None, "test",
            ))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(interceptor)
            .build(),
    )
}

#[tokio::test]
async fn one_window_through_the_handlers_on_the_aws_adapters() {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto_endpoint())
        .credentials_provider(s3::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    let bucket = conformance::unique("pf-e2e");
    let s3c = s3_client(&sdk);
    s3c.create_bucket().bucket(&bucket).send().await.unwrap();
    let store = Arc::new(S3ObjectStore::new(s3c, &bucket));
    let kc = kinesis::Client::new(&sdk);
    let stream_name = conformance::unique("pf-e2e");
    kc.create_stream()
        .stream_name(&stream_name)
        .shard_count(2)
        .send()
        .await
        .unwrap();

    // The known events, dated yesterday so that they are neither future nor ancient against
    // moto's arrival times (now).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let expected: Value = serde_json::from_slice(
        &std::fs::read(root.join("tests/fixtures/known-events.expected.json")).unwrap(),
    )
    .unwrap();
    let yesterday = &pushfeed::domain::window::format_timestamp_ms(now_ms() - 86_400_000)[..10];
    let text = std::fs::read_to_string(root.join("tests/fixtures/known-events.ndjson"))
        .unwrap()
        .replace("2026-11-26T", &format!("{yesterday}T"));
    // All records must arrive in one window: start early in a minute.
    if now_ms() % 60_000 > 45_000 {
        tokio::time::sleep(std::time::Duration::from_millis(
            60_500 - (now_ms() % 60_000) as u64,
        ))
        .await;
    }
    let window = Window::containing(now_ms());
    for (i, line) in text.lines().enumerate() {
        kc.put_record()
            .stream_name(&stream_name)
            .partition_key(format!("pk-{i}"))
            .data(kinesis::primitives::Blob::new(line.as_bytes().to_vec()))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        Window::containing(now_ms()),
        window,
        "the puts crossed a minute"
    );

    let settings = harness::redshift_settings();
    let stream = KinesisStream::new(kc, &stream_name);
    let clock = At(window.end_ms() + settings.settle_ms + 1);
    let out = lambda::read_window(
        &stream,
        &*store,
        &clock,
        &settings,
        json!({"window": window, "execution": "e2e"}),
    )
    .await
    .unwrap();
    let read: ReadWindowOutput = serde_json::from_value(out).unwrap();
    let rejected = expected["rejected"].as_array().unwrap().len() as u64;
    assert_eq!(read.rejected.count, rejected, "{read:?}");

    let received: Received = Arc::default();
    let delivery = FirehoseDelivery::new(recording_firehose(received.clone()), "e2e-");
    let branches: Vec<Value> = read
        .routes
        .iter()
        .map(|r| {
            json!({
                "window": read.window, "batch": read.batch, "event_type": r.event_type, "table": r.table,
                "delivery_stream": r.delivery_stream, "staging_key": r.staging_key, "count": r.count,
                "execution": read.execution,
            })
        })
        .collect();
    for b in &branches {
        lambda::deliver(&*store, &delivery, &settings, b.clone())
            .await
            .unwrap();
    }
    // Firehose's dynamic partitioning: one gzip object per stream under events/T/window=W/.
    let received = received.lock().unwrap().clone();
    for r in &read.routes {
        let records = &received[&format!("e2e-{}", r.delivery_stream)];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for rec in records {
            gz.write_all(rec).unwrap();
        }
        let key = format!(
            "events/{}/window={}/{}-1-e2e.ndjson.gz",
            r.event_type, read.window, r.delivery_stream
        );
        store.put(&key, gz.finish().unwrap()).await.unwrap();
    }
    for b in &branches {
        let check = lambda::await_objects(&*store, &settings, b.clone())
            .await
            .unwrap();
        assert_eq!(check["complete"], true, "{check}");
    }

    let pg = Postgres::start().await;
    let conninfo = pg.database("pushfeed").await;
    let harness = harness::harness(&conninfo, store.clone() as Arc<dyn ObjectStore>).await;
    let redshift = harness::warehouse(&harness).await;
    redshift
        .apply_schema(&schema(settings.routes.routes(), Dialect::Redshift))
        .await
        .unwrap();
    let mut duplicates = 0;
    for b in &branches {
        let out = lambda::load(&*store, &redshift, &settings, b.clone())
            .await
            .unwrap();
        duplicates += out["duplicates"].as_u64().unwrap();
    }
    assert_eq!(duplicates, expected["duplicates"].as_u64().unwrap());
    // Every route's load went to the Data API as one batch whose COPY read the moto bucket.
    let copies = harness
        .received()
        .into_iter()
        .filter(|batch| {
            batch.iter().any(|sql| {
                sql.starts_with("COPY pf_stage (")
                    && sql.contains(&format!("s3://{bucket}/manifests/"))
            })
        })
        .count();
    assert_eq!(copies, read.routes.len());
    let mut result = BTreeMap::new();
    for (table, ids) in expected["tables"].as_object().unwrap() {
        let want: BTreeSet<String> = ids
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let got: BTreeSet<String> = redshift
            .query(&format!("select event_id from {table}"))
            .await
            .unwrap()
            .rows
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect();
        result.insert(table.clone(), (want, got));
    }
    for (table, (want, got)) in result {
        assert_eq!(got, want, "{table}");
    }
}
