//! The ports' conformance suites (tests/conformance/) run against the local adapters; the AWS
//! adapters run the same scenarios against moto in tests/aws_moto.rs.

mod conformance;

use pushfeed::adapters::local::object_store::LocalObjectStore;
use pushfeed::adapters::local::outbox::LocalOutbox;
use pushfeed::adapters::local::stream::{shard_id, LocalStream, PutRecord};

#[tokio::test]
async fn local_object_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalObjectStore::new(dir.path(), "pushfeed-local");
    conformance::object_store::all(&store, "pushfeed-local", 1005).await;
}

#[tokio::test]
async fn local_stream_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let stream = LocalStream::open_or_create(dir.path().join("s"), 1).unwrap();
    let data: Vec<Vec<u8>> = (0..7)
        .map(|i| format!("{{\"n\":{i}}}").into_bytes())
        .collect();
    let base = 1_795_000_000_000;
    stream
        .put_records(
            data.iter()
                .enumerate()
                .map(|(i, d)| PutRecord {
                    partition_key: format!("pk-{i}"),
                    data: d.clone(),
                    // Two records share an arrival time, as they do in Kinesis.
                    arrival_ms: Some(base + (i as i64 / 2) * 1000),
                })
                .collect(),
        )
        .unwrap();
    conformance::stream::reads(&stream, &shard_id(0), &data).await;
}

#[tokio::test]
async fn local_outbox_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = LocalOutbox::new(dir.path(), false);
    conformance::notifier::publish(&outbox, async || outbox.messages().unwrap()).await;
}
