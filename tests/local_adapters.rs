//! The local adapters' behaviour: Kinesis semantics of the file-backed stream, the Firehose
//! stand-in's partitioning and at-least-once flushing, the object store, and re-reading a window
//! from its checkpoint or raw archive.

mod common;

use std::sync::Arc;

use common::TempHome;
use pushfeed::adapters::local::firehose::{BufferHints, LocalFirehose};
use pushfeed::adapters::local::object_store::LocalObjectStore;
use pushfeed::adapters::local::stream::{shard_for_key, LocalStream, PutRecord};
use pushfeed::domain::routes::RoutingTable;
use pushfeed::domain::window::{parse_timestamp_ms, Window};
use pushfeed::ports::{Delivery, ErrorKind, ObjectStore, StartingPosition, Stream};

fn put(pk: &str, data: &str, at: i64) -> PutRecord {
    PutRecord {
        partition_key: pk.into(),
        data: data.as_bytes().to_vec(),
        arrival_ms: Some(at),
    }
}

#[test]
fn partition_keys_map_to_shards_by_md5_range() {
    // md5("a") = 0cc175b9..., md5("b") = 92eb5ffe..., md5("c") = 4a8a08f0...; 4 shards split the
    // 128-bit range in quarters.
    assert_eq!(shard_for_key("a", 4), 0);
    assert_eq!(shard_for_key("b", 4), 2);
    assert_eq!(shard_for_key("c", 4), 1);
    assert_eq!(shard_for_key("anything", 1), 0);
}

#[tokio::test]
async fn stream_reads_have_kinesis_semantics() {
    let home = TempHome::new();
    let stream = LocalStream::open_or_create(home.path().join("s"), 1).unwrap();
    let t0 = parse_timestamp_ms("2026-11-26T10:00:00Z").unwrap();
    let puts: Vec<PutRecord> = (0..10)
        .map(|i| put("k", &format!("r{i}"), t0 + i * 1000))
        .collect();
    let results = stream.put_records(puts).unwrap();
    assert_eq!(results.len(), 10);
    assert!(
        results
            .windows(2)
            .all(|w| w[0].sequence_number < w[1].sequence_number),
        "sequence numbers increase"
    );
    let shard = &results[0].shard_id;

    let all = stream
        .read(shard, &StartingPosition::TrimHorizon, 100)
        .await
        .unwrap();
    assert_eq!(all.records.len(), 10);
    assert_eq!(all.millis_behind_latest, 0);

    let at = stream
        .read(shard, &StartingPosition::AtTimestamp(t0 + 3500), 100)
        .await
        .unwrap();
    assert_eq!(at.records[0].data, b"r4");
    assert_eq!(at.records[0].arrival_ms, t0 + 4000);

    let after = stream
        .read(
            shard,
            &StartingPosition::AfterSequenceNumber(results[6].sequence_number.clone()),
            2,
        )
        .await
        .unwrap();
    let got: Vec<&[u8]> = after.records.iter().map(|r| r.data.as_slice()).collect();
    assert_eq!(got, [b"r7", b"r8"]);
    assert!(after.millis_behind_latest > 0, "one record is still behind");
    assert_eq!(
        after.next,
        Some(StartingPosition::AfterSequenceNumber(
            results[8].sequence_number.clone()
        ))
    );

    let exact = stream
        .read(
            shard,
            &StartingPosition::AtSequenceNumber(results[2].sequence_number.clone()),
            1,
        )
        .await
        .unwrap();
    assert_eq!(exact.records[0].data, b"r2");

    let beyond = stream
        .read(shard, &StartingPosition::AtTimestamp(t0 + 60_000), 10)
        .await
        .unwrap();
    assert!(beyond.records.is_empty() && beyond.millis_behind_latest == 0);

    let missing = stream
        .read(
            shard,
            &StartingPosition::AtSequenceNumber("000000000000000000007".into()),
            1,
        )
        .await;
    assert_eq!(missing.unwrap_err().kind, ErrorKind::NotFound);
    let unknown = stream
        .read("shardId-000000000009", &StartingPosition::TrimHorizon, 1)
        .await;
    assert_eq!(unknown.unwrap_err().kind, ErrorKind::NotFound);

    // Arrival times never go back within a shard.
    let err = stream.put_records(vec![put("k", "late", t0)]).unwrap_err();
    assert!(err.to_string().contains("never go back"), "{err}");
}

/// Every byte of a record (header, key, data) is covered: a flipped bit anywhere in a new
/// stream's record is refused as damaged on the first read, naming the log and the offset;
/// a stream created before checksums (its stream.json says none) still reads as written.
#[tokio::test]
async fn a_damaged_record_is_refused_by_its_checksum_and_old_streams_still_read() {
    let home = TempHome::new();
    let dir = home.path().join("s");
    let t0 = parse_timestamp_ms("2026-11-26T10:00:00Z").unwrap();
    let stream = LocalStream::open_or_create(&dir, 1).unwrap();
    stream
        .put_records(vec![put("key", "{\"id\":1}", t0)])
        .unwrap();
    let shard = "shardId-000000000000";
    let log = dir.join(format!("{shard}.log"));
    let clean = std::fs::read(&log).unwrap();
    for at in 0..clean.len() {
        let mut bytes = clean.clone();
        bytes[at] ^= 0x10;
        std::fs::write(&log, &bytes).unwrap();
        let e = stream
            .read(shard, &StartingPosition::TrimHorizon, 10)
            .await
            .map(|b| b.records.len())
            .expect_err(&format!("a flipped bit at byte {at} was read as good"));
        let text = e.to_string();
        assert!(
            text.contains("damaged at byte 0") && text.contains(&log.display().to_string()),
            "byte {at}: {text}"
        );
        assert_eq!(e.kind, ErrorKind::Permanent, "byte {at}");
    }
    std::fs::write(&log, &clean).unwrap();
    let good = stream
        .read(shard, &StartingPosition::TrimHorizon, 10)
        .await
        .unwrap();
    assert_eq!(good.records[0].data, b"{\"id\":1}");

    // A stream from before checksums: 16-byte headers, and stream.json without the flag.
    let old = home.path().join("old");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("stream.json"), br#"{"shards":1}"#).unwrap();
    let mut record = Vec::new();
    record.extend_from_slice(&3u32.to_le_bytes());
    record.extend_from_slice(&2u32.to_le_bytes());
    record.extend_from_slice(&t0.to_le_bytes());
    record.extend_from_slice(b"keyhi");
    std::fs::write(old.join(format!("{shard}.log")), &record).unwrap();
    let mut index = Vec::new();
    index.extend_from_slice(&0u64.to_le_bytes());
    index.extend_from_slice(&t0.to_le_bytes());
    std::fs::write(old.join(format!("{shard}.idx")), &index).unwrap();
    let old_stream = LocalStream::open(&old).unwrap();
    let read = old_stream
        .read(shard, &StartingPosition::TrimHorizon, 10)
        .await
        .unwrap();
    assert_eq!(read.records.len(), 1);
    assert_eq!(read.records[0].partition_key, "key");
    assert_eq!(read.records[0].data, b"hi");
}

#[test]
fn concurrent_writers_lose_nothing() {
    let home = TempHome::new();
    let dir = home.path().join("s");
    LocalStream::open_or_create(&dir, 3).unwrap();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let stream = LocalStream::open(&dir).unwrap();
                for batch in 0..25 {
                    let puts = (0..20)
                        .map(|i| PutRecord {
                            partition_key: format!("w{w}-b{batch}-{i}"),
                            data: format!("{w}-{batch}-{i}").into_bytes(),
                            arrival_ms: None,
                        })
                        .collect();
                    stream.put_records(puts).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let stream = LocalStream::open(&dir).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut seen = std::collections::HashSet::new();
    for shard in 0..3 {
        let id = format!("shardId-{shard:012}");
        let batch = rt
            .block_on(stream.read(&id, &StartingPosition::TrimHorizon, 10_000))
            .unwrap();
        assert!(batch
            .records
            .windows(2)
            .all(|w| w[0].arrival_ms <= w[1].arrival_ms));
        for r in batch.records {
            assert!(seen.insert(r.data), "a record was stored twice");
        }
    }
    assert_eq!(seen.len(), 4 * 25 * 20);
}

#[tokio::test]
async fn object_store_is_atomic_and_refuses_escaping_keys() {
    let home = TempHome::new();
    let store = LocalObjectStore::new(home.path().join("s3"), "b");
    store.put("a/x=1/one.json", b"1".to_vec()).await.unwrap();
    store.put("a/x=1/two.json", b"22".to_vec()).await.unwrap();
    store.put("a/y/three.json", b"333".to_vec()).await.unwrap();
    let keys: Vec<String> = store
        .list("a/x=1/")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(keys, ["a/x=1/one.json", "a/x=1/two.json"]);
    assert_eq!(store.list("a/").await.unwrap().len(), 3);
    assert_eq!(store.list("a/x").await.unwrap().len(), 2);
    assert!(store.list("nothing/").await.unwrap().is_empty());
    assert_eq!(store.get("a/y/three.json").await.unwrap(), b"333");
    assert_eq!(
        store.get("a/none").await.unwrap_err().kind,
        ErrorKind::NotFound
    );
    store
        .put_if_absent("c/once", b"first".to_vec())
        .await
        .unwrap();
    let again = store
        .put_if_absent("c/once", b"second".to_vec())
        .await
        .unwrap_err();
    assert_eq!(again.kind, ErrorKind::AlreadyExists);
    assert_eq!(store.get("c/once").await.unwrap(), b"first");
    for bad in ["../x", "/abs", "a//b", "a/./b", ""] {
        assert!(store.put(bad, vec![]).await.is_err(), "{bad}");
    }
    let mut w = store.writer("big/object").await.unwrap();
    w.write(b"part1-").await.unwrap();
    assert!(
        store.get("big/object").await.is_err(),
        "nothing is visible before finish"
    );
    w.write(b"part2").await.unwrap();
    let meta = w.finish().await.unwrap();
    assert_eq!(meta.size, 11);
    assert_eq!(store.get("big/object").await.unwrap(), b"part1-part2");
    assert_eq!(store.url("k/1"), "s3://b/k/1");
}

#[tokio::test]
async fn firehose_stand_in_partitions_by_window_and_flushes_at_least_once() {
    let home = TempHome::new();
    let store: Arc<dyn ObjectStore> = Arc::new(LocalObjectStore::new(home.path().join("s3"), "b"));
    let hints = BufferHints {
        gzip: true,
        ..BufferHints::default()
    };
    let firehose = LocalFirehose::new(
        home.path().join("fh"),
        store.clone(),
        RoutingTable::default_routes(),
        hints,
    );
    let rows: Vec<&[u8]> = vec![
        b"{\"window\":\"2026-11-26T10:01Z\",\"event_id\":\"a\"}\n",
        b"{\"window\":\"2026-11-26T10:02Z\",\"event_id\":\"b\"}\n",
        b"{\"event_id\":\"no window\"}\n",
    ];
    let out = firehose
        .put_batch("pushfeed-push-sends", &rows)
        .await
        .unwrap();
    assert_eq!(out.failed_count(), 0);
    assert_eq!(firehose.flush(false).await.unwrap(), 0, "not due yet");
    assert_eq!(firehose.flush(true).await.unwrap(), 3);
    let w1 = store
        .list("events/SEND/window=2026-11-26T10:01Z/")
        .await
        .unwrap();
    assert_eq!(w1.len(), 1);
    assert!(w1[0].key.ends_with(".ndjson.gz"));
    let bytes = store.get(&w1[0].key).await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .unwrap();
    assert_eq!(
        text,
        "{\"window\":\"2026-11-26T10:01Z\",\"event_id\":\"a\"}\n"
    );
    assert_eq!(
        store
            .list("firehose-errors/pushfeed-push-sends/")
            .await
            .unwrap()
            .len(),
        1
    );

    // A flush that crashed after claiming its buffer is flushed again: duplicates, never loss.
    firehose
        .put_batch("pushfeed-push-sends", &rows[..1])
        .await
        .unwrap();
    let dir = home.path().join("fh/pushfeed-push-sends");
    std::fs::rename(dir.join("buffer"), dir.join("claimed-0-crashed")).unwrap();
    assert_eq!(firehose.flush(false).await.unwrap(), 1);
    assert_eq!(
        store
            .list("events/SEND/window=2026-11-26T10:01Z/")
            .await
            .unwrap()
            .len(),
        2
    );

    let unknown = firehose
        .put_batch("no-such-stream", &rows)
        .await
        .unwrap_err();
    assert_eq!(unknown.kind, ErrorKind::NotFound);
    let too_many: Vec<&[u8]> = vec![b"{}\n"; 501];
    assert!(firehose
        .put_batch("pushfeed-push-sends", &too_many)
        .await
        .is_err());
}

#[test]
fn window_names_survive_the_store_layout() {
    let w: Window = "2026-11-26T10:01Z".parse().unwrap();
    let key = pushfeed::domain::keys::ObjectKey::Checkpoint { window: w }.to_string();
    assert_eq!(key, "checkpoints/window=2026-11-26T10:01Z.json");
}

/// The PostgreSQL load on its own: every column typed from the staging rows (escapes, unicode,
/// absent values), the first-arrived copy kept, and a row that is not a staging row refused with
/// its object and line, leaving the table as it was.
#[tokio::test]
async fn postgres_load_types_every_column_and_refuses_a_bad_row() {
    use pushfeed::adapters::local::postgres::PostgresWarehouse;
    use pushfeed::adapters::local::stack::start_private;
    use pushfeed::domain::keys::BatchId;
    use pushfeed::domain::sql::{load_statements, loaded_columns, schema, LoadParams};
    use pushfeed::ports::{LoadJob, Warehouse};

    let home = TempHome::new();
    let (conninfo, cluster) = start_private(&home.path().join("postgres")).await.unwrap();
    let store = Arc::new(LocalObjectStore::new(home.path().join("s3"), "b"));
    let warehouse = PostgresWarehouse::connect(&conninfo, store.clone())
        .await
        .unwrap();
    let routes = RoutingTable::default_routes();
    let route = routes.for_type("SEND_REJECTED").unwrap();
    warehouse
        .apply_schema(&schema(routes.routes(), warehouse.dialect()))
        .await
        .unwrap();
    let window: Window = "2026-11-26T10:01Z".parse().unwrap();
    let batch: BatchId = "0019abf9bf360-1a2b3c4d".parse().unwrap();
    let row = |id: &str, arrived: &str, reason: &str| {
        serde_json::json!({
            "event_id": id, "window": "2026-11-26T10:01Z", "window_start": "2026-11-26T10:01:00.000Z",
            "occurred_at": "2026-11-26T10:00:58.120Z", "processed_at": "2026-11-26T10:00:59.000Z",
            "arrived_at": arrived, "channel_id": "c1", "variant_id": 7, "reason": reason,
            "batch_id": batch.as_str(), "raw": {"id": id, "body": {"reason": reason}},
        })
        .to_string()
    };
    let tricky = "quote \" backslash \\ tab \t newline \n é ☃";
    let text = [
        row("e1", "2026-11-26T10:01:00.500Z", tricky),
        row("e2\\\"x", "2026-11-26T10:01:00.600Z", "later copy"),
        row("e2\\\"x", "2026-11-26T10:01:00.550Z", "first copy"),
        row("e3", "2026-11-26T10:01:00.700Z", "other batch")
            .replace(batch.as_str(), "0019abf9bf360-ffffffff"),
    ]
    .join("\n");
    let key = format!("events/SEND_REJECTED/window={window}/a.ndjson.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
    store.put(&key, gz.finish().unwrap()).await.unwrap();
    let params = LoadParams {
        route,
        window,
        batch: &batch,
        execution: "x",
        object_count: 1,
    };
    let job = |objects: Vec<String>| LoadJob {
        table: route.table.clone(),
        statements: load_statements(&params, warehouse.dialect(), None),
        objects,
        columns: loaded_columns(route),
    };
    let counts = warehouse.load(&job(vec![key.clone()])).await.unwrap();
    assert_eq!(
        (
            counts.rows_staged,
            counts.rows_inserted,
            counts.rows_replaced
        ),
        (3, 2, 0)
    );
    let q = warehouse
        .query(&format!(
            "SELECT event_id, reason, raw->'body'->>'reason', variant_id, channel_id, push_id IS NULL, \
             to_char(arrived_at AT TIME ZONE 'UTC', 'SS.MS') FROM {} ORDER BY event_id",
            route.table
        ))
        .await
        .unwrap();
    let get = |r: usize, c: usize| q.rows[r][c].clone().unwrap_or_default();
    assert_eq!(q.rows.len(), 2);
    assert_eq!(
        (get(0, 0), get(0, 1), get(0, 2)),
        ("e1".into(), tricky.into(), tricky.into())
    );
    assert_eq!(
        (get(0, 3), get(0, 4), get(0, 5)),
        ("7".into(), "c1".into(), "t".into())
    );
    assert_eq!(
        (get(1, 0), get(1, 1), get(1, 6)),
        ("e2\\\"x".into(), "first copy".into(), "00.550".into())
    );

    // A line that is not a staging row: the load fails whole, naming the object and the line.
    let bad = format!("events/SEND_REJECTED/window={window}/b.ndjson");
    store
        .put(
            &bad,
            format!(
                "{}\n{{\"event_id\": \"e9\"",
                row("e9", "2026-11-26T10:01:00.900Z", "x")
            )
            .into_bytes(),
        )
        .await
        .unwrap();
    let err = warehouse
        .load(&job(vec![key, bad.clone()]))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    let text = err.to_string();
    assert!(text.contains(&bad) && text.contains("line 2"), "{text}");
    let after = warehouse
        .query(&format!("SELECT count(*) FROM {}", route.table))
        .await
        .unwrap();
    assert_eq!(after.rows[0][0].as_deref(), Some("2"));
    drop(warehouse);
    if let Some(cluster) = cluster {
        cluster.stop().unwrap();
    }
}

/// ReadWindow holds a bounded number of bytes of records ahead, however many a read may return:
/// after the first read, each asks for about its shard's share of the budget at the window's
/// record size, and every record is still read, in arrival order.
#[tokio::test]
async fn read_window_sizes_its_reads_to_a_memory_budget() {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use pushfeed::ports::{PortResult, ReadBatch, ShardInfo};
    use pushfeed::steps::contract::ReadWindowInput;
    use pushfeed::steps::Settings;

    struct Recording {
        inner: LocalStream,
        limits: Mutex<Vec<(usize, usize)>>,
    }
    #[async_trait]
    impl Stream for Recording {
        async fn list_shards(&self) -> PortResult<Vec<ShardInfo>> {
            self.inner.list_shards().await
        }
        async fn read(
            &self,
            shard_id: &str,
            from: &StartingPosition,
            limit: usize,
        ) -> PortResult<ReadBatch> {
            let batch = self.inner.read(shard_id, from, limit).await?;
            self.limits
                .lock()
                .unwrap()
                .push((limit, batch.records.len()));
            Ok(batch)
        }
    }
    struct At(i64);
    impl pushfeed::ports::Clock for At {
        fn now_ms(&self) -> i64 {
            self.0
        }
    }

    let home = TempHome::new();
    let window: Window = "2026-11-26T10:01Z".parse().unwrap();
    let stream = LocalStream::open_or_create(home.path().join("stream"), 2).unwrap();
    // 6,000 events of about 4 KB: 24 MB, far over the 4 MiB read-ahead budget.
    let pad = "x".repeat(3_900);
    let puts: Vec<PutRecord> = (0..6_000)
        .map(|i| {
            let data = format!(
                r#"{{"id":"e{i}","type":"SEND","occurred":"2026-11-26T10:01:00Z","processed":"2026-11-26T10:01:00Z","body":{{"push_id":"p"}},"pad":"{pad}"}}"#
            );
            put(&format!("k{i}"), &data, window.start_ms() + i as i64 * 5)
        })
        .collect();
    stream.put_records(puts).unwrap();
    let recording = Recording {
        inner: stream,
        limits: Mutex::new(Vec::new()),
    };
    let store = LocalObjectStore::new(home.path().join("s3"), "b");
    let settings = Settings::default();
    let out = pushfeed::steps::read_window(
        &recording,
        &store,
        &At(window.end_ms() + settings.settle_ms + 1),
        &settings,
        ReadWindowInput {
            window: Some(window),
            ..ReadWindowInput::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(out.read.events, 6_000);
    assert_eq!(out.routes[0].count, 6_000);
    let limits = recording.limits.lock().unwrap().clone();
    // The first reads guess 1 KiB a record; later ones know better: a 2 MiB share per shard at
    // ~4 KB a record is about 500 records, never the 10,000 a read may return.
    let later: Vec<usize> = limits.iter().skip(2).map(|(limit, _)| *limit).collect();
    assert!(!later.is_empty());
    assert!(later.iter().all(|&l| l <= 600), "{limits:?}");
    assert!(limits.iter().all(|&(limit, got)| got <= limit));
}

/// A local warehouse whose tables predate a column (an older home) gets the column when the
/// schema is applied, so the views and the load work on it.
#[tokio::test]
async fn applying_the_schema_adds_columns_an_older_table_lacks() {
    use pushfeed::adapters::local::postgres::PostgresWarehouse;
    use pushfeed::adapters::local::stack::start_private;
    use pushfeed::domain::sql::schema;
    use pushfeed::ports::Warehouse;

    let home = TempHome::new();
    let (conninfo, cluster) = start_private(&home.path().join("postgres")).await.unwrap();
    let store = Arc::new(LocalObjectStore::new(home.path().join("s3"), "b"));
    let warehouse = PostgresWarehouse::connect(&conninfo, store).await.unwrap();
    let routes = RoutingTable::default_routes();
    warehouse
        .apply_schema(&[
            "CREATE TABLE push_opens (event_id TEXT NOT NULL PRIMARY KEY, occurred_at TIMESTAMPTZ)"
                .to_string(),
        ])
        .await
        .unwrap();
    warehouse
        .apply_schema(&schema(routes.routes(), warehouse.dialect()))
        .await
        .unwrap();
    let columns = warehouse
        .query("SELECT column_name FROM information_schema.columns WHERE table_name = 'push_opens' ORDER BY column_name")
        .await
        .unwrap();
    let have: Vec<String> = columns
        .rows
        .into_iter()
        .filter_map(|r| r[0].clone())
        .collect();
    for c in routes.for_type("OPEN").unwrap().profile().columns() {
        assert!(
            have.iter().any(|h| h == c.name),
            "{} missing: {have:?}",
            c.name
        );
    }
    // The views over it were created too.
    warehouse
        .query("SELECT * FROM customer_send_hours")
        .await
        .unwrap();
    if let Some(c) = cluster {
        c.stop().unwrap();
    }
}
