//! The Firehose and Redshift Data API adapters against the SDK's own mocks (aws-smithy-mocks):
//! moto's Firehose and Redshift Data only accept the calls, so partial failures, throttling and
//! statement statuses are staged here.
#![cfg(feature = "aws")]

mod conformance;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};
use pushfeed::adapters::aws::redshift::{Polling, MAX_STATEMENT_BYTES};
use pushfeed::adapters::aws::sdk::{aws_config, firehose, redshiftdata};
use pushfeed::adapters::aws::{FirehoseDelivery, RedshiftAuth, RedshiftTarget, RedshiftWarehouse};
use pushfeed::domain::keys::BatchId;
use pushfeed::domain::routes::RoutingTable;
use pushfeed::domain::sql::{load_statements, loaded_columns, Dialect, LoadParams, S3Copy};
use pushfeed::domain::window::Window;
use pushfeed::ports::{Delivery, ErrorKind, LoadCounts, LoadJob, Warehouse};

use firehose::error::ErrorMetadata as FirehoseMeta;
use firehose::operation::put_record_batch::{PutRecordBatchError, PutRecordBatchOutput};
use firehose::types::PutRecordBatchResponseEntry;
use redshiftdata::operation::batch_execute_statement::BatchExecuteStatementOutput;
use redshiftdata::operation::cancel_statement::{CancelStatementError, CancelStatementOutput};
use redshiftdata::operation::describe_statement::DescribeStatementOutput;
use redshiftdata::types::{StatusString, SubStatementData};

macro_rules! mocked {
    ($sdk:ident, $rules:expr) => {{
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .region($sdk::config::Region::new("us-east-1"))
                .credentials_provider($sdk::config::Credentials::new("a", "b", None, None, "test"))
                // The adapters' own retries are under test, not the SDK's.
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .interceptor(interceptor)
                .build(),
        )
    }};
}

fn unavailable() -> PutRecordBatchError {
    PutRecordBatchError::ServiceUnavailableException(
        firehose::types::error::ServiceUnavailableException::builder()
            .message("Slow down.")
            .meta(
                FirehoseMeta::builder()
                    .code("ServiceUnavailableException")
                    .message("Slow down.")
                    .build(),
            )
            .build(),
    )
}

fn entry(error: Option<&str>) -> PutRecordBatchResponseEntry {
    match error {
        None => PutRecordBatchResponseEntry::builder()
            .record_id("r")
            .build(),
        Some(code) => PutRecordBatchResponseEntry::builder()
            .error_code(code)
            .error_message("Firehose is busy")
            .build(),
    }
}

fn delivery(client: firehose::Client) -> FirehoseDelivery {
    FirehoseDelivery::new(client, "pf-test-").with_retry(3, Duration::from_millis(1))
}

#[tokio::test]
async fn firehose_reports_per_record_failures_under_the_prefixed_stream() {
    let rule = mock!(firehose::Client::put_record_batch)
        .match_requests(|r| {
            r.delivery_stream_name() == Some("pf-test-pushfeed-opens") && r.records().len() == 3
        })
        .then_output(|| {
            PutRecordBatchOutput::builder()
                .failed_put_count(1)
                .set_request_responses(Some(vec![
                    entry(None),
                    entry(Some("ServiceUnavailableException")),
                    entry(None),
                ]))
                .build()
                .unwrap()
        });
    let d = delivery(mocked!(firehose, [&rule]));
    let out = d
        .put_batch(
            "pushfeed-opens",
            &[b"{\"a\":1}\n", b"{\"a\":2}\n", b"{\"a\":3}\n"],
        )
        .await
        .unwrap();
    assert_eq!(out.failed_count(), 1);
    assert_eq!(out.failed[0], None);
    assert!(out.failed[1]
        .as_deref()
        .unwrap()
        .starts_with("ServiceUnavailableException"));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn firehose_retries_a_throttled_call_then_gives_up_as_transient() {
    let rule = mock!(firehose::Client::put_record_batch)
        .sequence()
        .error(unavailable)
        .error(unavailable)
        .output(|| {
            PutRecordBatchOutput::builder()
                .failed_put_count(0)
                .set_request_responses(Some(vec![entry(None)]))
                .build()
                .unwrap()
        })
        .build();
    let d = delivery(mocked!(firehose, [&rule]));
    let out = d.put_batch("pushfeed-opens", &[b"x"]).await.unwrap();
    assert_eq!(out.failed_count(), 0);
    assert_eq!(rule.num_calls(), 3);

    let always = mock!(firehose::Client::put_record_batch).then_error(unavailable);
    let d = delivery(mocked!(firehose, [&always]));
    let e = d.put_batch("pushfeed-opens", &[b"x"]).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    assert!(e.to_string().contains("pf-test-pushfeed-opens"), "{e}");
    assert_eq!(always.num_calls(), 3);
}

#[tokio::test]
async fn firehose_unknown_stream_is_not_found_and_limits_are_enforced_before_calling() {
    let rule = mock!(firehose::Client::put_record_batch).then_error(|| {
        PutRecordBatchError::ResourceNotFoundException(
            firehose::types::error::ResourceNotFoundException::builder()
                .meta(
                    FirehoseMeta::builder()
                        .code("ResourceNotFoundException")
                        .build(),
                )
                .build(),
        )
    });
    let d = delivery(mocked!(firehose, [&rule]));
    let e = d.put_batch("pushfeed-nope", &[b"x"]).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    let many: Vec<&[u8]> = vec![b"x"; 501];
    assert_eq!(
        d.put_batch("pushfeed-opens", &many).await.unwrap_err().kind,
        ErrorKind::Permanent
    );
    let big = vec![b'x'; 1000 * 1024 + 1];
    assert_eq!(
        d.put_batch("pushfeed-opens", &[&big])
            .await
            .unwrap_err()
            .kind,
        ErrorKind::Permanent
    );
    assert_eq!(rule.num_calls(), 1, "refused batches never reach Firehose");
}

/// The Delivery scenarios on a mocked Firehose that behaves as PutRecordBatch documents: an
/// unknown stream is ResourceNotFoundException, and per-record failures come back in order (here
/// for the records marked `"fail":true`) while the others are accepted.
#[tokio::test]
async fn firehose_adapter_conforms_on_the_sdk_mocks() {
    let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let unknown = mock!(firehose::Client::put_record_batch)
        .match_requests(|r| r.delivery_stream_name() != Some("pf-test-pushfeed-push-opens"))
        .then_error(|| {
            PutRecordBatchError::ResourceNotFoundException(
                firehose::types::error::ResourceNotFoundException::builder()
                    .message("Firehose pf-test-pushfeed-push-nothing under account 123456789012 not found.")
                    .meta(FirehoseMeta::builder().code("ResourceNotFoundException").build())
                    .build(),
            )
        });
    let sink = received.clone();
    let known = mock!(firehose::Client::put_record_batch).then_compute_output(move |req| {
        let mut arrived = sink.lock().unwrap();
        let entries: Vec<PutRecordBatchResponseEntry> = req
            .records()
            .iter()
            .map(|r| {
                let data = r.data().as_ref();
                if data.windows(11).any(|w| w == b"\"fail\":true") {
                    entry(Some("ServiceUnavailableException"))
                } else {
                    arrived.push(data.to_vec());
                    entry(None)
                }
            })
            .collect();
        PutRecordBatchOutput::builder()
            .failed_put_count(entries.iter().filter(|e| e.error_code.is_some()).count() as i32)
            .set_request_responses(Some(entries))
            .build()
            .unwrap()
    });
    let d = delivery(mocked!(firehose, [&unknown, &known]));
    let streams = conformance::delivery::Streams {
        known: "pushfeed-push-opens",
        unknown: "pushfeed-push-nothing",
    };
    conformance::delivery::all(&d, &streams, true, async || {
        std::mem::take(&mut *received.lock().unwrap())
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Redshift Data API

fn load_job(copy_role: Option<&str>) -> LoadJob {
    let routes = RoutingTable::default_routes();
    let route = routes.for_type("OPEN").unwrap();
    let batch: BatchId = "0019abf9bf360-1a2b3c4d".parse().unwrap();
    let params = LoadParams {
        route,
        window: "2026-11-26T10:01Z".parse::<Window>().unwrap(),
        batch: &batch,
        execution: "arn:aws:states:us-east-1:123456789012:execution:ingest:x",
        object_count: 2,
    };
    let s3 = copy_role.map(|role| S3Copy {
        manifest_url:
            "s3://b/manifests/window=2026-11-26T10:01Z/type=OPEN/batch=0019abf9bf360-1a2b3c4d.json"
                .into(),
        jsonpaths_url: "s3://b/jsonpaths/push_opens.json".into(),
        iam_role: role.into(),
        gzip: true,
    });
    LoadJob {
        table: route.table.clone(),
        statements: load_statements(&params, Dialect::Redshift, s3.as_ref()),
        objects: vec!["events/OPEN/window=2026-11-26T10:01Z/a.gz".into()],
        columns: loaded_columns(route),
    }
}

fn warehouse(client: redshiftdata::Client) -> RedshiftWarehouse {
    RedshiftWarehouse::new(
        client,
        RedshiftTarget::Workgroup("pushfeed".into()),
        "dev",
        RedshiftAuth::SecretArn("arn:aws:secretsmanager:us-east-1:123456789012:secret:pf".into()),
    )
    .with_polling(Polling {
        first: Duration::from_millis(1),
        max: Duration::from_millis(5),
        deadline: Duration::from_secs(5),
    })
}

fn batch_rule(statements: usize) -> Rule {
    mock!(redshiftdata::Client::batch_execute_statement)
        .match_requests(move |r| {
            r.workgroup_name() == Some("pushfeed")
                && r.database() == Some("dev")
                && r.secret_arn().is_some()
                && r.sqls().len() == statements
                && r.sqls()[0].starts_with("LOCK push_opens")
        })
        .then_output(|| BatchExecuteStatementOutput::builder().id("stmt-7").build())
}

fn status(s: StatusString) -> DescribeStatementOutput {
    DescribeStatementOutput::builder()
        .id("stmt-7")
        .status(s)
        .build()
        .unwrap()
}

#[tokio::test]
async fn redshift_load_polls_until_finished_and_counts_by_role() {
    let job = load_job(Some("arn:aws:iam::123456789012:role/pushfeed-copy"));
    let n = job.statements.len();
    // ResultRows in statement order: Setup, Setup, Copy 10, OtherBatches 1, Setup, Distinct 8,
    // Setup, Replace 2, Setup, Insert 7, Ledger 1 (see src/domain/snapshots/load.redshift.sql).
    // The CREATE TABLE AS setups report -1, as the Data API may for statements whose count it
    // does not document: the counts must not depend on them.
    let rows: Vec<i64> = vec![-1, -1, 10, 1, -1, 8, -1, 2, -1, 7, 1];
    assert_eq!(rows.len(), n, "the load has the snapshot's statements");
    let batch = batch_rule(n);
    let describe = mock!(redshiftdata::Client::describe_statement)
        .match_requests(|r| r.id() == Some("stmt-7"))
        .sequence()
        .output(|| status(StatusString::Submitted))
        .output(|| status(StatusString::Started))
        .output(move || {
            let subs = rows
                .iter()
                .enumerate()
                .rev() // out of order on purpose: the adapter orders by sub-statement id
                .map(|(i, r)| {
                    SubStatementData::builder()
                        .id(format!("stmt-7:{}", i + 1))
                        .result_rows(*r)
                        .build()
                        .unwrap()
                })
                .collect();
            DescribeStatementOutput::builder()
                .id("stmt-7")
                .status(StatusString::Finished)
                .set_sub_statements(Some(subs))
                .build()
                .unwrap()
        })
        .build();
    let w = warehouse(mocked!(redshiftdata, [&batch, &describe]));
    let counts = w.load(&job).await.unwrap();
    assert_eq!(
        counts,
        LoadCounts {
            rows_staged: 9,
            rows_inserted: 5,
            rows_replaced: 2,
            rows_unchanged: 1
        }
    );
    assert_eq!((batch.num_calls(), describe.num_calls()), (1, 3));
}

async fn load_ending(error: Option<&'static str>, end: StatusString) -> pushfeed::ports::PortError {
    let job = load_job(Some("arn:aws:iam::123456789012:role/pushfeed-copy"));
    let batch = batch_rule(job.statements.len());
    let describe = mock!(redshiftdata::Client::describe_statement)
        .sequence()
        .output(|| status(StatusString::Picked))
        .output(move || {
            DescribeStatementOutput::builder()
                .id("stmt-7")
                .status(end.clone())
                .set_error(error.map(str::to_string))
                .build()
                .unwrap()
        })
        .build();
    let w = warehouse(mocked!(redshiftdata, [&batch, &describe]));
    w.load(&job).await.unwrap_err()
}

#[tokio::test]
async fn redshift_failed_and_aborted_statements_carry_their_text() {
    let e = load_ending(
        Some("ERROR: Load into table 'pf_stage' failed. Check 'sys_load_error_detail' system table for details."),
        StatusString::Failed,
    )
    .await;
    assert_eq!(e.kind, ErrorKind::Permanent, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("stmt-7")
            && text.contains("push_opens")
            && text.contains("sys_load_error_detail"),
        "{text}"
    );

    let e = load_ending(None, StatusString::Aborted).await;
    assert_eq!(e.kind, ErrorKind::Permanent, "{e}");
    assert!(e.to_string().contains("ABORTED"), "{e}");

    let e = load_ending(
        Some("ERROR: 1023 DETAIL: Serializable isolation violation on table - 100, transactions forming the cycle are: 1, 2"),
        StatusString::Failed,
    )
    .await;
    assert_eq!(
        e.kind,
        ErrorKind::Transient,
        "a conflict with another load is retried: {e}"
    );
}

#[tokio::test]
async fn redshift_refuses_oversized_statements_and_a_missing_copy_role_without_calling() {
    let batch = mock!(redshiftdata::Client::batch_execute_statement)
        .then_output(|| BatchExecuteStatementOutput::builder().id("stmt-7").build());
    let w = warehouse(mocked!(redshiftdata, [&batch]));

    let e = w.load(&load_job(None)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Permanent);
    assert!(e.to_string().contains("PUSHFEED_COPY_ROLE_ARN"), "{e}");

    let mut job = load_job(Some("arn:aws:iam::123456789012:role/pushfeed-copy"));
    job.statements[1].sql = format!("-- {}\nSELECT 1", "x".repeat(MAX_STATEMENT_BYTES));
    let e = w.load(&job).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Permanent);
    assert!(e.to_string().contains("at most 100000"), "{e}");
    assert_eq!(batch.num_calls(), 0);
}

fn short_deadline() -> Polling {
    Polling {
        first: Duration::from_millis(5),
        max: Duration::from_millis(10),
        deadline: Duration::from_millis(60),
    }
}

/// DescribeStatement says STARTED until CancelStatement was called, then `after`.
fn cancellable(after: StatusString) -> (Rule, Rule, Arc<AtomicBool>) {
    let cancelled = Arc::new(AtomicBool::new(false));
    let flag = cancelled.clone();
    let cancel = mock!(redshiftdata::Client::cancel_statement)
        .match_requests(|r| r.id() == Some("stmt-7"))
        .then_output(move || {
            flag.store(true, Ordering::SeqCst);
            CancelStatementOutput::builder().status(true).build()
        });
    let flag = cancelled.clone();
    let describe = mock!(redshiftdata::Client::describe_statement)
        .match_requests(|r| r.id() == Some("stmt-7"))
        .then_output(move || {
            if flag.load(Ordering::SeqCst) {
                status(after.clone())
            } else {
                status(StatusString::Started)
            }
        });
    (cancel, describe, cancelled)
}

#[tokio::test]
async fn redshift_cancels_the_statement_at_the_deadline_before_reporting_transient() {
    // Past the deadline the Lambda would soon be killed with the transaction still running, and it
    // could commit after the failure email: the adapter cancels it first.
    let job = load_job(Some("arn:aws:iam::123456789012:role/pushfeed-copy"));
    let batch = batch_rule(job.statements.len());
    let (cancel, describe, cancelled) = cancellable(StatusString::Aborted);
    let w = warehouse(mocked!(redshiftdata, [&batch, &cancel, &describe]))
        .with_polling(short_deadline());
    let e = w.load(&job).await.unwrap_err();
    assert!(cancelled.load(Ordering::SeqCst));
    assert_eq!(
        cancel.num_calls(),
        1,
        "one CancelStatement for the statement"
    );
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("stmt-7")
            && text.contains("still STARTED")
            && text.contains("cancelled it, so it cannot commit later"),
        "{text}"
    );
}

#[tokio::test]
async fn a_statement_that_finishes_while_being_cancelled_is_the_loads_result() {
    let job = load_job(Some("arn:aws:iam::123456789012:role/pushfeed-copy"));
    let batch = batch_rule(job.statements.len());
    let n = job.statements.len();
    let cancelled = Arc::new(AtomicBool::new(false));
    let flag = cancelled.clone();
    // Too late to cancel: the Data API refuses, and the statement is FINISHED.
    let cancel = mock!(redshiftdata::Client::cancel_statement).then_error(move || {
        flag.store(true, Ordering::SeqCst);
        CancelStatementError::ValidationException(
            redshiftdata::types::error::ValidationException::builder()
                .message("Could not cancel a query that is already in FINISHED state")
                .build(),
        )
    });
    let flag = cancelled.clone();
    let describe = mock!(redshiftdata::Client::describe_statement).then_output(move || {
        if !flag.load(Ordering::SeqCst) {
            return status(StatusString::Started);
        }
        let subs = (1..=n)
            .map(|i| {
                SubStatementData::builder()
                    .id(format!("stmt-7:{i}"))
                    .result_rows(1)
                    .build()
                    .unwrap()
            })
            .collect();
        DescribeStatementOutput::builder()
            .id("stmt-7")
            .status(StatusString::Finished)
            .set_sub_statements(Some(subs))
            .build()
            .unwrap()
    });
    let w = warehouse(mocked!(redshiftdata, [&batch, &cancel, &describe]))
        .with_polling(short_deadline());
    w.load(&job)
        .await
        .expect("the committed load is reported as done");
    assert_eq!(cancel.num_calls(), 1);
}

#[tokio::test]
async fn a_statement_that_cannot_be_cancelled_is_transient_and_says_it_may_commit() {
    let job = load_job(Some("arn:aws:iam::123456789012:role/pushfeed-copy"));
    let batch = batch_rule(job.statements.len());
    let (cancel, describe, _) = cancellable(StatusString::Started);
    let w = warehouse(mocked!(redshiftdata, [&batch, &cancel, &describe]))
        .with_polling(short_deadline());
    let e = w.load(&job).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    assert!(
        e.to_string()
            .contains("CancelStatement accepted, but it is still STARTED: it may yet commit"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// Kinesis: what moto cannot stage (throttling, expired iterators, empty pages, closed shards)

use kinesis::error::ErrorMetadata as KinesisMeta;
use kinesis::operation::get_records::{GetRecordsError, GetRecordsOutput};
use kinesis::operation::get_shard_iterator::GetShardIteratorOutput;
use pushfeed::adapters::aws::sdk::kinesis;
use pushfeed::adapters::aws::KinesisStream;
use pushfeed::ports::{StartingPosition, Stream};

fn kinesis_record(seq: &str) -> kinesis::types::Record {
    kinesis::types::Record::builder()
        .sequence_number(seq)
        .partition_key("pk")
        .approximate_arrival_timestamp(kinesis::primitives::DateTime::from_millis(
            1_795_000_000_000,
        ))
        .data(kinesis::primitives::Blob::new(format!("r{seq}")))
        .build()
        .unwrap()
}

fn page(seqs: &[&str], next: Option<&str>, behind: i64) -> GetRecordsOutput {
    GetRecordsOutput::builder()
        .set_records(Some(seqs.iter().map(|s| kinesis_record(s)).collect()))
        .set_next_shard_iterator(next.map(str::to_string))
        .millis_behind_latest(behind)
        .build()
        .unwrap()
}

fn get_records_error(code: &'static str) -> impl Fn() -> GetRecordsError + Send + Sync {
    move || {
        let meta = KinesisMeta::builder()
            .code(code)
            .message("try later")
            .build();
        match code {
            "ExpiredIteratorException" => GetRecordsError::ExpiredIteratorException(
                kinesis::types::error::ExpiredIteratorException::builder()
                    .meta(meta)
                    .build(),
            ),
            _ => GetRecordsError::ProvisionedThroughputExceededException(
                kinesis::types::error::ProvisionedThroughputExceededException::builder()
                    .meta(meta)
                    .build(),
            ),
        }
    }
}

#[tokio::test]
async fn kinesis_backs_off_when_throttled_and_renews_expired_iterators() {
    let iterators = mock!(kinesis::Client::get_shard_iterator)
        .match_requests(|r| {
            r.shard_id() == Some("shardId-000000000001")
                && r.shard_iterator_type() == Some(&kinesis::types::ShardIteratorType::AtTimestamp)
                && r.timestamp().map(|t| t.to_millis().unwrap()) == Some(1_795_000_000_000)
        })
        .then_output(|| {
            GetShardIteratorOutput::builder()
                .shard_iterator("it-fresh")
                .build()
        });
    let records = mock!(kinesis::Client::get_records)
        .sequence()
        .error(get_records_error("ProvisionedThroughputExceededException"))
        .error(get_records_error("ExpiredIteratorException"))
        .output(|| page(&["11", "12"], Some("it-next"), 500))
        .build();
    let stream = KinesisStream::new(mocked!(kinesis, [&iterators, &records]), "vendor-feedback");
    let started = std::time::Instant::now();
    let b = stream
        .read(
            "shardId-000000000001",
            &StartingPosition::AtTimestamp(1_795_000_000_000),
            100,
        )
        .await
        .unwrap();
    assert_eq!(b.records.len(), 2);
    assert_eq!(b.millis_behind_latest, 500);
    assert_eq!(
        b.next,
        Some(StartingPosition::AfterSequenceNumber("12".into()))
    );
    assert_eq!(
        (iterators.num_calls(), records.num_calls()),
        (2, 3),
        "one renewal after the expiry"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "5 calls/s/shard and a backoff: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn kinesis_follows_empty_pages_and_reuses_the_returned_iterator() {
    let iterators = mock!(kinesis::Client::get_shard_iterator).then_output(|| {
        GetShardIteratorOutput::builder()
            .shard_iterator("it-0")
            .build()
    });
    let records = mock!(kinesis::Client::get_records)
        .sequence()
        .output(|| page(&[], Some("it-1"), 86_400_000))
        .output(|| page(&["5"], Some("it-2"), 0))
        .output(|| page(&["6"], None, 0))
        .build();
    let stream = KinesisStream::new(mocked!(kinesis, [&iterators, &records]), "vendor-feedback");
    let b = stream
        .read("shardId-000000000000", &StartingPosition::TrimHorizon, 10)
        .await
        .unwrap();
    assert_eq!(b.records[0].data, b"r5");
    // The next read goes on from the iterator Kinesis returned: no new GetShardIterator.
    let b = stream
        .read("shardId-000000000000", b.next.as_ref().unwrap(), 10)
        .await
        .unwrap();
    assert_eq!(b.records[0].data, b"r6");
    assert_eq!(b.next, None, "a closed shard read to its end");
    assert_eq!((iterators.num_calls(), records.num_calls()), (1, 3));
}

#[tokio::test]
async fn kinesis_gives_up_on_lasting_throttling_as_transient() {
    let iterators = mock!(kinesis::Client::get_shard_iterator).then_output(|| {
        GetShardIteratorOutput::builder()
            .shard_iterator("it-0")
            .build()
    });
    let records = mock!(kinesis::Client::get_records)
        .then_error(get_records_error("ProvisionedThroughputExceededException"));
    let mut stream =
        KinesisStream::new(mocked!(kinesis, [&iterators, &records]), "vendor-feedback");
    stream.set_throttle_attempts(2);
    let e = stream
        .read("shardId-000000000000", &StartingPosition::TrimHorizon, 10)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    assert!(
        e.to_string()
            .contains("shardId-000000000000 of stream vendor-feedback"),
        "{e}"
    );
}

fn query_ending(describe: DescribeStatementOutput) -> (Rule, Rule) {
    let exec = mock!(redshiftdata::Client::execute_statement).then_output(|| {
        redshiftdata::operation::execute_statement::ExecuteStatementOutput::builder()
            .id("stmt-7")
            .build()
    });
    let describe =
        mock!(redshiftdata::Client::describe_statement).then_output(move || describe.clone());
    (exec, describe)
}

#[tokio::test]
async fn redshift_refuses_results_over_the_data_api_limits_saying_what_to_do() {
    // A finished result larger than the Data API's result-set limit is refused before any page.
    let (exec, describe) = query_ending(
        DescribeStatementOutput::builder()
            .id("stmt-7")
            .status(StatusString::Finished)
            .has_result_set(true)
            .result_size(200 * 1024 * 1024)
            .build()
            .unwrap(),
    );
    let w = warehouse(mocked!(redshiftdata, [&exec, &describe]));
    let e = w.query("SELECT raw FROM push_opens").await.unwrap_err();
    assert_eq!(e.kind, pushfeed::ports::ErrorKind::Permanent);
    assert!(
        e.to_string().contains("over the 104857600 bytes") && e.to_string().contains("LIMIT"),
        "{e}"
    );
    // A row over 64 KB fails the statement; the error says which limit and what to do.
    let (exec, describe) = query_ending(
        DescribeStatementOutput::builder()
            .id("stmt-7")
            .status(StatusString::Failed)
            .error("Packet for query is too large (70123 > 65536)")
            .build()
            .unwrap(),
    );
    let w = warehouse(mocked!(redshiftdata, [&exec, &describe]));
    let e = w.query("SELECT raw FROM push_opens").await.unwrap_err();
    assert!(
        e.to_string().contains("65536 bytes per row") && e.to_string().contains("raw"),
        "{e}"
    );
}
