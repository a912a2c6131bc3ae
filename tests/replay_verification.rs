//! A re-run reads what the first run read, or says why it cannot: damaged shard logs, torn
//! tails, edited or foreign checkpoints, each checked against the checkpoint's per-shard ranges,
//! counts and digests, with the raw archive as the fallback when it verifies.

use std::path::PathBuf;

use pushfeed::adapters::local::object_store::LocalObjectStore;
use pushfeed::adapters::local::stream::{LocalStream, PutRecord};
use pushfeed::domain::window::Window;
use pushfeed::ports::{Clock, ObjectStore};
use pushfeed::steps::contract::{ReadWindowInput, ReadWindowOutput};
use pushfeed::steps::error::StepError;
use pushfeed::steps::{read_window, Settings};
use serde_json::Value;

struct FixedClock(i64);

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    stream_dir: PathBuf,
    s3: PathBuf,
    stream: LocalStream,
    store: LocalObjectStore,
    window: Window,
}

const WINDOW: &str = "2026-11-26T10:01Z";

fn event(i: usize) -> Vec<u8> {
    format!(
        r#"{{"id":"9c1e3f80-5b7a-11ef-8000-{i:012}","occurred":"2026-11-26T10:01:03.500Z","processed":"2026-11-26T10:01:04.010Z","type":"OPEN","device":{{"channel":"1b0f8a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b","device_type":"IOS"}},"body":{{"session_id":"e0e0e0e0-1111-4222-8333-444455556666"}}}}"#
    )
    .into_bytes()
}

/// One shard with 20 records in the window, read once (so the checkpoint exists).
async fn first_run() -> (Setup, ReadWindowOutput) {
    let dir = tempfile::tempdir().unwrap();
    let stream_dir = dir.path().join("stream");
    let s3 = dir.path().join("s3");
    let window: Window = WINDOW.parse().unwrap();
    let stream = LocalStream::open_or_create(&stream_dir, 1).unwrap();
    let records = (0..20)
        .map(|i| PutRecord {
            partition_key: format!("k{i}"),
            data: event(i),
            arrival_ms: Some(window.start_ms() + 1000 + i as i64 * 100),
        })
        .collect();
    stream.put_records(records).unwrap();
    let s = Setup {
        store: LocalObjectStore::new(&s3, "test"),
        stream,
        stream_dir,
        s3,
        window,
        _dir: dir,
    };
    let out = read(&s).await.expect("the first run reads");
    assert_eq!(out.read.records, 20);
    (s, out)
}

async fn read(s: &Setup) -> Result<ReadWindowOutput, StepError> {
    let clock = FixedClock(s.window.end_ms() + 10 * 60_000);
    let input = ReadWindowInput {
        window: Some(s.window),
        ..ReadWindowInput::default()
    };
    read_window(&s.stream, &s.store, &clock, &Settings::default(), input).await
}

fn log(s: &Setup) -> PathBuf {
    s.stream_dir.join("shardId-000000000000.log")
}

fn checkpoint(s: &Setup) -> (PathBuf, Value) {
    let path = s.s3.join(format!("checkpoints/window={WINDOW}.json"));
    let v = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    (path, v)
}

fn invalid(e: StepError) -> String {
    match e {
        StepError::InvalidInput { message, .. } => message,
        other => panic!(
            "expected Pushfeed.InvalidInput, got {} {other}",
            other.name()
        ),
    }
}

#[tokio::test]
async fn the_checkpoint_carries_range_count_and_digest_per_shard() {
    let (s, _) = first_run().await;
    let (_, cp) = checkpoint(&s);
    let shard = &cp["shards"]["shardId-000000000000"];
    assert_eq!(shard["records"], 20);
    assert_eq!(shard["digest"].as_str().unwrap().len(), 32);
    assert!(shard["first_sequence"].is_string() && shard["last_sequence"].is_string());
    // A re-run of an intact stream reads from the checkpoint and matches.
    let again = read(&s).await.unwrap();
    assert_eq!(again.read.source, "checkpoint");
}

/// Damage at any of many places in the log (zeroed bytes, random bytes, a torn tail): the
/// re-run notices, and reads the raw archive, which verifies.
#[tokio::test]
async fn damaged_shard_logs_fall_back_to_the_verified_archive() {
    let (s, first) = first_run().await;
    let original = std::fs::read(log(&s)).unwrap();
    let len = original.len();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for at in (0..len).step_by(len / 13) {
        let mut zeroed = original.clone();
        zeroed[at..(at + 7).min(len)].fill(0);
        cases.push((format!("7 zero bytes at {at}"), zeroed));
        let mut random = original.clone();
        for (k, b) in random[at..(at + 5).min(len)].iter_mut().enumerate() {
            *b = b.wrapping_mul(31).wrapping_add(17 + k as u8);
        }
        cases.push((format!("5 changed bytes at {at}"), random));
    }
    for cut in [len - 1, len - 40, len / 2] {
        cases.push((format!("torn at {cut}"), original[..cut].to_vec()));
    }
    for (what, bytes) in cases {
        std::fs::write(log(&s), &bytes).unwrap();
        let out = read(&s)
            .await
            .unwrap_or_else(|e| panic!("{what}: {} {e}", e.name()));
        assert_eq!(out.read.source, "archive", "{what}");
        assert_eq!(out.read.records, first.read.records, "{what}");
        assert_eq!(out.read.events, first.read.events, "{what}");
    }
    std::fs::write(log(&s), &original).unwrap();
}

#[tokio::test]
async fn damage_in_both_the_stream_and_the_archive_is_invalid_input_naming_shard_and_window() {
    let (s, first) = first_run().await;
    let mut bytes = std::fs::read(log(&s)).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0x55;
    std::fs::write(log(&s), &bytes).unwrap();
    s.store
        .put(&first.raw_key, b"not gzip".to_vec())
        .await
        .unwrap();
    let m = invalid(read(&s).await.unwrap_err());
    assert!(m.contains(&format!("window {WINDOW}")), "{m}");
    // The record's checksum finds the damage before the checkpoint's digest could.
    assert!(m.contains("shardId-000000000000"), "{m}");
    assert!(m.contains("checksum"), "{m}");
    assert!(m.contains(&first.raw_key), "{m}");
}

#[tokio::test]
async fn an_edited_checkpoint_is_refused() {
    let (s, _) = first_run().await;
    let (path, mut cp) = checkpoint(&s);
    let original = cp.clone();
    let shard = "shardId-000000000000";
    // An edited last sequence number, record count, or digest.
    let first_seq = cp["shards"][shard]["first_sequence"].clone();
    cp["shards"][shard]["last_sequence"] = first_seq;
    std::fs::write(&path, serde_json::to_vec(&cp).unwrap()).unwrap();
    let m = invalid(read(&s).await.unwrap_err());
    assert!(m.contains(shard) && m.contains(WINDOW), "{m}");

    let mut cp = original.clone();
    cp["shards"][shard]["records"] = 19.into();
    std::fs::write(&path, serde_json::to_vec(&cp).unwrap()).unwrap();
    let m = invalid(read(&s).await.unwrap_err());
    assert!(m.contains("read 20 records, the checkpoint pins 19"), "{m}");

    let mut cp = original.clone();
    cp["shards"][shard]["digest"] = "00000000000000000000000000000000".into();
    std::fs::write(&path, serde_json::to_vec(&cp).unwrap()).unwrap();
    let m = invalid(read(&s).await.unwrap_err());
    assert!(m.contains("digest"), "{m}");

    // A checkpoint without digests (written before they existed) still reads.
    let mut cp = original.clone();
    cp["shards"][shard]
        .as_object_mut()
        .unwrap()
        .remove("digest");
    std::fs::write(&path, serde_json::to_vec(&cp).unwrap()).unwrap();
    assert_eq!(read(&s).await.unwrap().read.source, "checkpoint");
}

#[tokio::test]
async fn another_windows_checkpoint_copied_in_is_refused() {
    let (s, _) = first_run().await;
    let (path, mut cp) = checkpoint(&s);
    cp["window"] = "2026-11-26T10:07Z".into();
    std::fs::write(&path, serde_json::to_vec(&cp).unwrap()).unwrap();
    let m = invalid(read(&s).await.unwrap_err());
    assert!(
        m.contains(&format!(
            "is the checkpoint of window 2026-11-26T10:07Z, not of window {WINDOW}"
        )),
        "{m}"
    );
}

#[tokio::test]
async fn a_rerun_names_the_first_runs_archive_and_writes_no_second_copy() {
    let (s, first) = first_run().await;
    let again = read(&s).await.expect("the re-run reads");
    assert_eq!(again.read.source, "checkpoint");
    assert_ne!(again.batch, first.batch, "the re-run is a new batch");
    assert_eq!(again.raw_key, first.raw_key);
    let raw = s.store.list("raw/").await.unwrap();
    let keys: Vec<&str> = raw.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(
        keys,
        [first.raw_key.as_str()],
        "one archive copy of the window"
    );
    // Its staging objects are the re-run's own: the load reads them.
    assert!(again
        .routes
        .iter()
        .all(|r| r.staging_key.contains(&again.batch.to_string())));
}
