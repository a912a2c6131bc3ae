//! The Lambda handlers (src/adapters/aws/lambda.rs, called by tasks/*) invoked directly with the
//! JSON fixtures of tests/fixtures/tasks/, over the local adapters; and those fixtures
//! round-tripped through the steps' contract types.
#![cfg(feature = "aws")]

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use pushfeed::adapters::aws::lambda;
use pushfeed::adapters::local::firehose::{BufferHints, LocalFirehose};
use pushfeed::adapters::local::object_store::LocalObjectStore;
use pushfeed::adapters::local::stream::{LocalStream, PutRecord};
use pushfeed::domain::sql::Dialect;
use pushfeed::domain::window::parse_timestamp_ms;
use pushfeed::ports::{
    Clock, LoadCounts, LoadJob, ObjectStore, PortResult, QueryResult, Warehouse,
};
use pushfeed::steps::contract::{BranchInput, ReadWindowInput, ReadWindowOutput};
use pushfeed::steps::Settings;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tasks")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug>(
    name: &str,
) {
    let first: T = serde_json::from_value(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again: T = serde_json::from_value(serde_json::to_value(&first).unwrap()).unwrap();
    assert_eq!(first, again, "{name}");
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        fixture(name),
        "{name} is in canonical form"
    );
}

#[test]
fn task_fixtures_round_trip() {
    round_trip::<ReadWindowInput>("read-window.window.json");
    round_trip::<ReadWindowInput>("read-window.scheduled.json");
    round_trip::<BranchInput>("branch.open.json");
    assert!(
        serde_json::from_value::<ReadWindowInput>(fixture("read-window.unknown-field.json"))
            .is_err()
    );
}

struct At(i64);
impl Clock for At {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// Load's handler must fail before reaching the warehouse in these tests.
struct Unreachable;
#[async_trait]
impl Warehouse for Unreachable {
    fn dialect(&self) -> Dialect {
        Dialect::Redshift
    }
    async fn apply_schema(&self, _: &[String]) -> PortResult<()> {
        unreachable!()
    }
    async fn load(&self, _: &LoadJob) -> PortResult<LoadCounts> {
        unreachable!("the load must stop before the warehouse")
    }
    async fn query(&self, _: &str) -> PortResult<QueryResult> {
        unreachable!()
    }
}

#[tokio::test]
async fn handlers_run_a_window_through_read_deliver_and_await() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(LocalObjectStore::new(
        dir.path().join("s3"),
        "pushfeed-test",
    ));
    let stream = LocalStream::open_or_create(dir.path().join("stream"), 2).unwrap();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/known-events.ndjson"),
    )
    .unwrap();
    let at = parse_timestamp_ms("2026-11-26T10:01:30Z").unwrap();
    stream
        .put_records(
            text.lines()
                .enumerate()
                .map(|(i, l)| PutRecord {
                    partition_key: format!("pk{i}"),
                    data: l.as_bytes().to_vec(),
                    arrival_ms: Some(at),
                })
                .collect(),
        )
        .unwrap();
    let settings = Settings::default();
    let clock = At(parse_timestamp_ms("2026-11-26T10:05:00Z").unwrap());

    let out = lambda::read_window(
        &stream,
        &*store,
        &clock,
        &settings,
        fixture("read-window.window.json"),
    )
    .await
    .unwrap();
    let read: ReadWindowOutput = serde_json::from_value(out).unwrap();
    assert_eq!(read.window.to_string(), "2026-11-26T10:01Z");
    assert!(!read.routes.is_empty());

    let firehose = LocalFirehose::new(
        dir.path().join("firehose"),
        store.clone(),
        settings.routes.clone(),
        BufferHints::default(),
    );
    for route in &read.routes {
        let branch = serde_json::json!({
            "window": read.window, "batch": read.batch, "event_type": route.event_type, "table": route.table,
            "delivery_stream": route.delivery_stream, "staging_key": route.staging_key, "count": route.count,
            "execution": read.execution,
        });
        let delivered = lambda::deliver(&*store, &firehose, &settings, branch.clone())
            .await
            .unwrap();
        assert_eq!(delivered["delivered"], route.count);
        // Before Firehose flushes: not complete, and Load refuses with the stable name.
        let check = lambda::await_objects(&*store, &settings, branch.clone())
            .await
            .unwrap();
        assert_eq!(check["complete"], false);
        let e = lambda::load(&*store, &Unreachable, &settings, branch.clone())
            .await
            .unwrap_err();
        assert_eq!(e.error_type, "Pushfeed.ObjectsNotDelivered", "{e:?}");
        firehose.flush(true).await.unwrap();
        let check = lambda::await_objects(&*store, &settings, branch)
            .await
            .unwrap();
        assert_eq!(check["complete"], true, "{check}");
        assert_eq!(check["arrived"], route.count);
    }
}

#[tokio::test]
async fn handler_failures_carry_the_stable_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalObjectStore::new(dir.path().join("s3"), "pushfeed-test");
    let stream = LocalStream::open_or_create(dir.path().join("stream"), 1).unwrap();
    let settings = Settings::default();

    // Unknown field: refused before the step, as InvalidInput.
    let e = lambda::read_window(
        &stream,
        &store,
        &At(0),
        &settings,
        fixture("read-window.unknown-field.json"),
    )
    .await
    .unwrap_err();
    assert_eq!(e.error_type, "Pushfeed.InvalidInput");
    assert!(e.error_message.contains("ReadWindow"), "{e:?}");

    // A window not settled yet is transient (the state machine retries it).
    let e = lambda::read_window(
        &stream,
        &store,
        &At(parse_timestamp_ms("2026-11-26T10:02:01Z").unwrap()),
        &settings,
        fixture("read-window.window.json"),
    )
    .await
    .unwrap_err();
    assert_eq!(e.error_type, "Pushfeed.Transient", "{e:?}");

    // A branch whose staging object does not exist.
    let e = lambda::deliver(&store, &NoDelivery, &settings, fixture("branch.open.json"))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Pushfeed.InvalidInput", "{e:?}");
    assert!(e.error_message.contains("staging"), "{e:?}");

    // Twenty checks without objects: ObjectsNotDelivered.
    let mut branch = fixture("branch.open.json");
    branch["attempt"] = 19.into();
    let e = lambda::await_objects(&store, &settings, branch)
        .await
        .unwrap_err();
    assert_eq!(e.error_type, "Pushfeed.ObjectsNotDelivered", "{e:?}");
}

struct NoDelivery;
#[async_trait]
impl pushfeed::ports::Delivery for NoDelivery {
    async fn put_batch(&self, _: &str, _: &[&[u8]]) -> PortResult<pushfeed::ports::PutOutcome> {
        unreachable!("nothing to deliver")
    }
}
