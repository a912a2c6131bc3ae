//! The ports' conformance suites (tests/conformance/) run against the local adapters; the AWS
//! adapters run the same scenarios against moto in tests/aws_moto.rs, the SDK's mocks in
//! tests/aws_mocks.rs and the Redshift harness in tests/aws_redshift_harness.rs.

mod conformance;

use std::collections::BTreeSet;
use std::io::Read;
use std::sync::{Arc, Mutex};

use conformance::delivery::Streams;
use conformance::warehouse::Target;
use pushfeed::adapters::local::firehose::{BufferHints, LocalFirehose};
use pushfeed::adapters::local::postgres::PostgresWarehouse;
use pushfeed::domain::routes::RoutingTable;
use pushfeed::ports::ObjectStore;
use pushfeed::steps::Settings;

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

/// The Warehouse scenarios against the PostgreSQL stand-in, each in a database of its own, with
/// a second connection for the loads that race.
#[tokio::test]
async fn local_postgres_warehouse_conforms() {
    let pg = conformance::postgres::Postgres::start().await;
    macro_rules! run {
        ($($scenario:ident),*) => {$({
            let conninfo = pg.database(stringify!($scenario)).await;
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(LocalObjectStore::new(dir.path(), "pushfeed-local"));
            let warehouse = PostgresWarehouse::connect(&conninfo, store.clone()).await.unwrap();
            let second = PostgresWarehouse::connect(&conninfo, store.clone()).await.unwrap();
            let settings = Settings::default();
            let target = Target { warehouse: &warehouse, second: &second, store: &*store, settings: &settings };
            conformance::warehouse::$scenario(&target).await;
        })*};
    }
    run!(
        first_load,
        reload_changes_nothing,
        earlier_copy_replaces,
        concurrent_loads,
        zero_rows,
        corpus_values,
        values_at_the_column_limits
    );
}

/// The Delivery scenarios against the Firehose stand-in; what arrived is read from the objects
/// it flushes under `events/OPEN/`.
#[tokio::test]
async fn local_firehose_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalObjectStore::new(
        dir.path().join("s3"),
        "pushfeed-local",
    ));
    let firehose = LocalFirehose::new(
        dir.path().join("firehose"),
        store.clone(),
        RoutingTable::default_routes(),
        BufferHints::default(),
    );
    let seen = Mutex::new(BTreeSet::new());
    let streams = Streams {
        known: "pushfeed-push-opens",
        unknown: "pushfeed-push-nothing",
    };
    conformance::delivery::all(&firehose, &streams, false, async || {
        firehose.flush(true).await.unwrap();
        let mut arrived = Vec::new();
        for meta in store.list("events/OPEN/").await.unwrap() {
            let new = seen.lock().unwrap().insert(meta.key.clone());
            if !new {
                continue;
            }
            let mut text = Vec::new();
            flate2::read::MultiGzDecoder::new(&store.get(&meta.key).await.unwrap()[..])
                .read_to_end(&mut text)
                .unwrap();
            arrived.extend(text.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec));
        }
        arrived
    })
    .await;
}
