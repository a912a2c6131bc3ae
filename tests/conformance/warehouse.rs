//! Warehouse scenarios: what the Load step relies on from Redshift and from its PostgreSQL
//! stand-in. Each scenario stages vendor events with the real ReadWindow (over a local stream),
//! writes the staged rows as Firehose would (gzip objects under `events/T/window=W/`), runs the
//! real Load step (`pushfeed::steps::load`) against the warehouse under test, and reads the tables
//! back through that same warehouse.
//!
//! Each scenario wants a database of its own (empty, schema not yet applied): it applies the
//! schema through the warehouse, as `pushfeed schema` does. Table contents are asserted before
//! load counts, so a scenario that fails on a count has already shown that the data is right.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use pushfeed::adapters::local::stream::{LocalStream, PutRecord};
use pushfeed::domain::keys::{BatchId, ObjectKey};
use pushfeed::domain::routes::Route;
use pushfeed::domain::schema::ColumnType;
use pushfeed::domain::sql::{
    jsonpaths_file, load_statements, loaded_columns, schema, LoadParams, S3Copy,
};
use pushfeed::domain::window::{parse_timestamp_ms, Window};
use pushfeed::ports::{Clock, LoadCounts, LoadJob, ObjectStore, Warehouse};
use pushfeed::steps::contract::{BranchInput, LoadOutput, ReadWindowInput, ReadWindowOutput};
use pushfeed::steps::{load, read_window, Settings};
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// The warehouse under test and what its loads read from.
pub struct Target<'a> {
    pub warehouse: &'a dyn Warehouse,
    /// A second session on the same database, for loads that race.
    pub second: &'a dyn Warehouse,
    /// Where ReadWindow and the Load step write and the warehouse's COPY reads.
    pub store: &'a dyn ObjectStore,
    /// `copy_role` set for a warehouse that COPYs from S3 (Redshift), None for PostgreSQL.
    pub settings: &'a Settings,
}

/// A first load: every staged event once, the first-arrived copy of an in-window duplicate, the
/// ledger row, `loaded_at` filled by the table's default.
pub async fn first_load(t: &Target<'_>) {
    prepare(t).await;
    let feed = Feed::new();
    let w = minute(1);
    feed.put(&[
        (send("fl-1"), at(w, 10)),
        (send("fl-2"), at(w, 20)),
        (send("fl-2"), at(w, 40)),
        (send("fl-3"), at(w, 30)),
        (open("fl-o1"), at(w, 35)),
    ]);
    let out = read(t, &feed, w, "first").await;
    deliver(t, &[&out]).await;
    let sends = load_type(t, t.warehouse, &out, "SEND").await;
    let opens = load_type(t, t.warehouse, &out, "OPEN").await;

    let table = rows(t, "push_sends").await;
    assert_rows(&table, &expected(t, &[&out], "SEND").await, "push_sends");
    assert_eq!(
        table["fl-2"]["arrived_at"],
        Some(at(w, 20).to_string()),
        "the first-arrived copy"
    );
    assert_rows(
        &rows(t, "push_opens").await,
        &expected(t, &[&out], "OPEN").await,
        "push_opens",
    );
    assert_eq!(
        scalar(t, "SELECT COUNT(*) FROM push_sends WHERE loaded_at IS NULL").await,
        "0",
        "loaded_at comes from the table's default"
    );
    assert_eq!(
        ledger(t, "push_sends").await,
        vec![(out.batch.to_string(), 4, 3, 0, 1)],
        "the ledger row: batch, staged, inserted, replaced, objects"
    );

    assert_eq!(
        counts(&sends),
        (4, 3, 0, 0, 1),
        "SEND: staged, inserted, replaced, unchanged, duplicates"
    );
    assert_eq!(counts(&opens), (1, 1, 0, 0, 0), "OPEN");
}

/// Loading the same batch again (a Load retried after its commit), a second execution of the
/// window (a new batch of the same records) and a later copy in another window change nothing,
/// and each says so in its counts.
pub async fn reload_changes_nothing(t: &Target<'_>) {
    prepare(t).await;
    let feed = Feed::new();
    let (w, next) = (minute(1), minute(2));
    feed.put(&[
        (send("rl-1"), at(w, 10)),
        (send("rl-2"), at(w, 20)),
        (send("rl-2"), at(w, 25)),
        (send("rl-3"), at(w, 30)),
        (send("rl-1"), at(next, 5)),
    ]);
    let a = read(t, &feed, w, "first").await;
    deliver(t, &[&a]).await;
    load_type(t, t.warehouse, &a, "SEND").await;
    let before = rows(t, "push_sends").await;
    assert_rows(&before, &expected(t, &[&a], "SEND").await, "push_sends");

    let again = load_type(t, t.warehouse, &a, "SEND").await;
    assert_eq!(
        rows(t, "push_sends").await,
        before,
        "re-loading the batch changes nothing"
    );
    let b = read(t, &feed, w, "second").await;
    assert_ne!(a.batch, b.batch);
    deliver(t, &[&b]).await;
    let rerun = load_type(t, t.warehouse, &b, "SEND").await;
    assert_eq!(
        rows(t, "push_sends").await,
        before,
        "a second execution changes nothing"
    );
    let c = read(t, &feed, next, "later").await;
    deliver(t, &[&c]).await;
    let later = load_type(t, t.warehouse, &c, "SEND").await;
    assert_eq!(
        rows(t, "push_sends").await,
        before,
        "a later copy changes nothing"
    );
    assert_eq!(
        ledger(t, "push_sends").await.len(),
        4,
        "every load has its ledger row"
    );

    // Counts: the events already in the table are `rows_unchanged`. On Redshift this count may
    // only come from statements whose ResultRows the Data API documents.
    assert_eq!(
        counts(&again),
        (4, 0, 0, 3, 1),
        "re-load: staged, inserted, replaced, unchanged, duplicates"
    );
    assert_eq!(counts(&rerun), (4, 0, 0, 3, 1), "second execution");
    assert_eq!(counts(&later), (1, 0, 0, 1, 0), "later copy");
}

/// A copy that arrived earlier, loaded later (its window re-run after a later one), replaces the
/// row; the table keeps the first-arrived copy of each event whatever the load order.
pub async fn earlier_copy_replaces(t: &Target<'_>) {
    prepare(t).await;
    let feed = Feed::new();
    let (w0, w1) = (minute(1), minute(2));
    feed.put(&[
        (send("ec-1"), at(w1, 10)),
        (send("ec-2"), at(w1, 20)),
        (send("ec-1"), at(w0, 30)),
        (send("ec-3"), at(w0, 40)),
    ]);
    let late = read(t, &feed, w1, "late").await;
    deliver(t, &[&late]).await;
    load_type(t, t.warehouse, &late, "SEND").await;
    let early = read(t, &feed, w0, "early").await;
    deliver(t, &[&early]).await;
    let replacing = load_type(t, t.warehouse, &early, "SEND").await;

    let table = rows(t, "push_sends").await;
    let mut want = expected(t, &[&late], "SEND").await;
    want.extend(expected(t, &[&early], "SEND").await);
    assert_rows(&table, &want, "push_sends");
    assert_eq!(table["ec-1"]["arrived_at"], Some(at(w0, 30).to_string()));
    assert_eq!(table["ec-1"]["batch_id"], Some(early.batch.to_string()));
    assert_eq!(table["ec-2"]["batch_id"], Some(late.batch.to_string()));

    assert_eq!(
        counts(&replacing),
        (2, 1, 1, 0, 0),
        "staged, inserted, replaced, unchanged, duplicates"
    );
}

/// Two executions of one window load at once, on two sessions, from Firehose objects that mix
/// both batches' rows: the table ends as one load would leave it.
pub async fn concurrent_loads(t: &Target<'_>) {
    prepare(t).await;
    let feed = Feed::new();
    let w = minute(1);
    let n = 20;
    let events: Vec<(String, i64)> = (0..n)
        .map(|i| (send(&format!("cc-{i:02}")), at(w, 5 + i)))
        .collect();
    feed.put(&events);
    let a = read(t, &feed, w, "a").await;
    let b = read(t, &feed, w, "b").await;
    deliver(t, &[&a, &b]).await;
    let (ra, rb) = tokio::join!(
        load_type(t, t.warehouse, &a, "SEND"),
        load_type(t, t.second, &b, "SEND")
    );

    let table = rows(t, "push_sends").await;
    let mut want = expected(t, &[&a], "SEND").await;
    for (id, row) in &table {
        let batch = row["batch_id"].clone().unwrap_or_default();
        assert!(
            batch == a.batch.as_str() || batch == b.batch.as_str(),
            "{id}: {batch}"
        );
        // Either execution's copy is the one load's: they differ only in their batch.
        want.get_mut(id)
            .expect("an event of the window")
            .values
            .insert("batch_id".into(), Some(batch));
    }
    assert_rows(&table, &want, "push_sends");
    assert_eq!(table.len(), n as usize);
    assert_eq!(ledger(t, "push_sends").await.len(), 2);

    let n = n as u64;
    assert_eq!(
        ra.rows_inserted + rb.rows_inserted,
        n,
        "the events are inserted once between the two"
    );
    for (name, r) in [("a", &ra), ("b", &rb)] {
        assert_eq!((r.rows_staged, r.rows_replaced), (n, 0), "{name}");
        assert_eq!(
            r.rows_inserted + r.rows_unchanged,
            n,
            "{name}: each load accounts for every event, inserted or already there ({r:?})"
        );
    }
}

/// A load whose delivered objects hold none of its batch's rows (only another execution's) loads
/// nothing and still writes its ledger row. The job is built as the Load step builds it: the
/// manifest naming the objects, the jsonpaths file, the statements of `load_statements`.
pub async fn zero_rows(t: &Target<'_>) {
    prepare(t).await;
    let feed = Feed::new();
    let w = minute(1);
    feed.put(&[(send("zr-1"), at(w, 10)), (send("zr-2"), at(w, 20))]);
    let other = read(t, &feed, w, "other").await;
    deliver(t, &[&other]).await;
    let route = t.settings.routes.for_type("SEND").unwrap();
    let objects: Vec<String> = t
        .store
        .list(&ObjectKey::delivered_prefix("SEND", w))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    let batch = BatchId::generate(w.end_ms() + 90_000);
    let manifest_key = ObjectKey::manifest(w, "SEND", &batch).to_string();
    let manifest = json!({
        "entries": objects.iter().map(|k| json!({"url": t.store.url(k), "mandatory": true})).collect::<Vec<_>>()
    });
    t.store
        .put(&manifest_key, serde_json::to_vec_pretty(&manifest).unwrap())
        .await
        .unwrap();
    let jsonpaths_key = ObjectKey::Jsonpaths {
        table: route.table.clone(),
    }
    .to_string();
    t.store
        .put(&jsonpaths_key, jsonpaths_file(route))
        .await
        .unwrap();
    let s3 = t.settings.copy_role.as_ref().map(|role| S3Copy {
        manifest_url: t.store.url(&manifest_key),
        jsonpaths_url: t.store.url(&jsonpaths_key),
        iam_role: role.clone(),
        gzip: true,
    });
    let params = LoadParams {
        route,
        window: w,
        batch: &batch,
        execution: "zero",
        object_count: objects.len(),
    };
    let job = LoadJob {
        table: route.table.clone(),
        statements: load_statements(&params, t.warehouse.dialect(), s3.as_ref()),
        objects,
        columns: loaded_columns(route),
    };
    let counts = t
        .warehouse
        .load(&job)
        .await
        .unwrap_or_else(|e| panic!("the zero-row load: {e}"));
    assert!(rows(t, "push_sends").await.is_empty());
    assert_eq!(
        ledger(t, "push_sends").await,
        vec![(batch.to_string(), 0, 0, 0, 1)]
    );
    assert_eq!(counts, LoadCounts::default());
}

/// Every valid event of the bad-input corpus (tests/corpus/: unicode, escapes, surrogate pairs,
/// deep nesting, huge numbers, CRLF, gzip records...) loads with every column as staged.
pub async fn corpus_values(t: &Target<'_>) {
    prepare(t).await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let arrival = parse_timestamp_ms(manifest["arrival"].as_str().unwrap()).unwrap();
    let window: Window = manifest["window"].as_str().unwrap().parse().unwrap();
    let feed = Feed::new();
    let records: Vec<(Vec<u8>, i64)> = manifest["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["routed"].as_u64().unwrap() > 0)
        .map(|k| {
            (
                std::fs::read(dir.join("records").join(k["file"].as_str().unwrap())).unwrap(),
                arrival,
            )
        })
        .collect();
    assert!(
        records.len() >= 10,
        "the corpus holds valid events of many kinds"
    );
    feed.put_bytes(&records);
    let out = read(t, &feed, window, "corpus").await;
    deliver(t, &[&out]).await;
    load_every_type_unaltered(t, &out).await;
}

/// Values at and over the Redshift column sizes that validation admits: an id of exactly 256
/// bytes of multibyte text, a rejection reason of 4,096 bytes and one of 4,097 bytes (2,049
/// characters), and a 65,536-byte string inside the raw event. Whatever ReadWindow stages must
/// reach the table unaltered.
pub async fn values_at_the_column_limits(t: &Target<'_>) {
    prepare(t).await;
    let feed = Feed::new();
    let w = minute(1);
    let id_256 = format!("{}x", "€".repeat(85));
    assert_eq!(id_256.len(), 256);
    let reason = |bytes: usize| format!("{}{}", "é".repeat(bytes / 2), "x".repeat(bytes % 2));
    let mut long_raw: Value = serde_json::from_str(&send("lv-raw")).unwrap();
    long_raw["x_note"] = json!("n".repeat(65_536));
    feed.put(&[
        (send(&id_256), at(w, 10)),
        (rejected("lv-r4096", &reason(4096)), at(w, 20)),
        (rejected("lv-r4097", &reason(4097)), at(w, 30)),
        (long_raw.to_string(), at(w, 40)),
    ]);
    let out = read(t, &feed, w, "limits").await;
    assert_eq!(out.routes.len(), 2, "{:?}", out.routes);
    deliver(t, &[&out]).await;
    load_every_type_unaltered(t, &out).await;
}

/// Loads every type of the window and checks each table, then reports every failure at once.
async fn load_every_type_unaltered(t: &Target<'_>, out: &ReadWindowOutput) {
    let mut failures = Vec::new();
    for r in &out.routes {
        if let Err(e) = try_load(t, t.warehouse, out, &r.event_type).await {
            failures.push(e);
            continue;
        }
        let want = expected(t, &[out], &r.event_type).await;
        if let Err(e) = compare_rows(&rows(t, &r.table).await, &want, &r.table) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} types did not load unaltered:\n{}",
        failures.len(),
        out.routes.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Fixture

async fn prepare(t: &Target<'_>) {
    t.warehouse
        .apply_schema(&schema(t.settings.routes.routes(), t.warehouse.dialect()))
        .await
        .unwrap_or_else(|e| panic!("applying the schema: {e}"));
}

/// The minute `2026-11-26T10:<m>Z`.
fn minute(m: u32) -> Window {
    format!("2026-11-26T10:{m:02}Z").parse().unwrap()
}

/// `seconds` into the window, as epoch ms.
fn at(w: Window, seconds: i64) -> i64 {
    w.start_ms() + seconds * 1_000
}

fn device() -> Value {
    json!({"channel": "1b0f8a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "device_type": "IOS", "named_user_id": "cust-0042017",
           "attributes": {"iana_timezone": "Europe/London", "locale_country_code": "GB", "app_version": "8.14.0"}})
}

fn envelope(id: &str, ty: &str, body: Value) -> String {
    json!({"id": id, "type": ty, "occurred": "2026-11-26T09:59:58.120Z", "processed": "2026-11-26T09:59:59.000Z",
           "device": device(), "body": body})
    .to_string()
}

fn send(id: &str) -> String {
    envelope(
        id,
        "SEND",
        json!({"push_id": "5d1c2b3a-0000-4000-8000-0000000000aa", "group_id": "77aa66bb-0000-4000-8000-0000000000bb", "variant_id": 2}),
    )
}

fn open(id: &str) -> String {
    envelope(
        id,
        "OPEN",
        json!({"session_id": "e0e0e0e0-1111-4222-8333-444455556666",
        "triggering_push": {"push_id": "5d1c2b3a-0000-4000-8000-0000000000aa", "campaigns": {"categories": ["black-friday", "womens"]}}}),
    )
}

fn rejected(id: &str, reason: &str) -> String {
    envelope(
        id,
        "SEND_REJECTED",
        json!({"push_id": "5d1c2b3a-0000-4000-8000-0000000000aa", "reason": reason}),
    )
}

struct At(i64);

impl Clock for At {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// A local Kinesis stream of one shard that records are put into with their arrival times.
struct Feed {
    _dir: tempfile::TempDir,
    stream: LocalStream,
}

impl Feed {
    fn new() -> Feed {
        let dir = tempfile::tempdir().unwrap();
        let stream = LocalStream::open_or_create(dir.path().join("stream"), 1).unwrap();
        Feed { _dir: dir, stream }
    }

    fn put(&self, records: &[(String, i64)]) {
        let bytes: Vec<(Vec<u8>, i64)> = records
            .iter()
            .map(|(r, a)| (r.clone().into_bytes(), *a))
            .collect();
        self.put_bytes(&bytes);
    }

    /// Puts the records in arrival order, as a Kinesis shard holds them.
    fn put_bytes(&self, records: &[(Vec<u8>, i64)]) {
        let mut records = records.to_vec();
        records.sort_by_key(|(_, arrival)| *arrival);
        self.stream
            .put_records(
                records
                    .iter()
                    .enumerate()
                    .map(|(i, (data, arrival))| PutRecord {
                        partition_key: format!("pk-{i}"),
                        data: data.clone(),
                        arrival_ms: Some(*arrival),
                    })
                    .collect(),
            )
            .unwrap();
    }
}

async fn read(t: &Target<'_>, feed: &Feed, window: Window, execution: &str) -> ReadWindowOutput {
    let clock = At(window.end_ms() + t.settings.settle_ms + 1_000);
    let input = ReadWindowInput {
        window: Some(window),
        execution: Some(execution.to_string()),
        ..ReadWindowInput::default()
    };
    read_window(&feed.stream, t.store, &clock, t.settings, input)
        .await
        .unwrap_or_else(|e| panic!("ReadWindow of {window}: {} {e}", e.name()))
}

/// Firehose's side: per event type, one gzip object under the type's window prefix holding the
/// staged rows of every given batch, interleaved (Firehose mixes executions' records).
async fn deliver(t: &Target<'_>, outs: &[&ReadWindowOutput]) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    // (type, window, delivery stream) -> each batch's staged lines.
    type Lines = Vec<Vec<u8>>;
    let mut by_type: BTreeMap<(String, Window, String), Vec<Lines>> = BTreeMap::new();
    for out in outs {
        for r in &out.routes {
            let staged = t.store.get(&r.staging_key).await.unwrap();
            let lines = staged
                .split_inclusive(|&b| b == b'\n')
                .map(<[u8]>::to_vec)
                .collect();
            by_type
                .entry((r.event_type.clone(), out.window, r.delivery_stream.clone()))
                .or_default()
                .push(lines);
        }
    }
    for ((event_type, window, stream), batches) in by_type {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let longest = batches.iter().map(Vec::len).max().unwrap_or(0);
        for i in 0..longest {
            for lines in &batches {
                if let Some(line) = lines.get(i) {
                    gz.write_all(line).unwrap();
                }
            }
        }
        let key = ObjectKey::Delivered {
            event_type,
            window,
            name: format!("{stream}-1-{}.ndjson.gz", N.fetch_add(1, Ordering::Relaxed)),
        }
        .to_string();
        t.store.put(&key, gz.finish().unwrap()).await.unwrap();
    }
}

async fn load_type(
    t: &Target<'_>,
    warehouse: &dyn Warehouse,
    out: &ReadWindowOutput,
    event_type: &str,
) -> LoadOutput {
    try_load(t, warehouse, out, event_type)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn try_load(
    t: &Target<'_>,
    warehouse: &dyn Warehouse,
    out: &ReadWindowOutput,
    event_type: &str,
) -> Result<LoadOutput, String> {
    let r = out
        .routes
        .iter()
        .find(|r| r.event_type == event_type)
        .unwrap_or_else(|| panic!("no {event_type} in window {}", out.window));
    let branch = BranchInput {
        attempt: 1,
        ..out.branch(r)
    };
    load(t.store, warehouse, t.settings, branch)
        .await
        .map_err(|e| {
            format!(
                "the Load of {} in {}: {} {e}",
                r.table,
                out.window,
                e.name()
            )
        })
}

fn counts(o: &LoadOutput) -> (u64, u64, u64, u64, u64) {
    (
        o.rows_staged,
        o.rows_inserted,
        o.rows_replaced,
        o.rows_unchanged,
        o.duplicates,
    )
}

/// One table row: each loaded column's value as text, timestamps as epoch ms.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    values: BTreeMap<String, Option<String>>,
}

impl std::ops::Index<&str> for Row {
    type Output = Option<String>;
    fn index(&self, column: &str) -> &Option<String> {
        &self.values[column]
    }
}

fn timestamp_columns(route: &Route) -> BTreeSet<&'static str> {
    route
        .profile()
        .columns()
        .iter()
        .filter(|c| c.ty == ColumnType::Timestamp)
        .map(|c| c.name)
        .collect()
}

fn local_timestamp_columns(route: &Route) -> BTreeSet<&'static str> {
    route
        .profile()
        .columns()
        .iter()
        .filter(|c| c.ty == ColumnType::LocalTimestamp)
        .map(|c| c.name)
        .collect()
}

/// A wall-clock time without zone (`2026-11-26 10:01:00.5`, the staging row's or the warehouse's
/// spelling) as its milliseconds, so the two spellings of one time compare equal.
fn local_ms(text: &str) -> String {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .map(|d| d.and_utc().timestamp_millis().to_string())
        .unwrap_or_else(|e| panic!("`{text}` is not a wall-clock time: {e}"))
}

/// `2026-11-26 10:01:00.5+00` (any offset) as epoch ms.
fn text_ms(text: &str) -> String {
    chrono::DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z")
        .map(|d| d.timestamp_millis().to_string())
        .unwrap_or_else(|e| panic!("`{text}` is not a timestamp: {e}"))
}

/// A table's rows by event id, read through the warehouse under test (`loaded_at` included).
async fn rows(t: &Target<'_>, table: &str) -> BTreeMap<String, Row> {
    let route = t.settings.routes.for_table(table).unwrap();
    let times = timestamp_columns(route);
    let locals = local_timestamp_columns(route);
    let mut columns = loaded_columns(route);
    columns.push("loaded_at");
    let result = t
        .warehouse
        .query(&format!(
            "SELECT {} FROM {table} ORDER BY event_id",
            columns.join(", ")
        ))
        .await
        .unwrap_or_else(|e| panic!("reading {table}: {e}"));
    let mut out = BTreeMap::new();
    for values in result.rows {
        let mut row = BTreeMap::new();
        for (c, v) in columns.iter().zip(values) {
            let v = if times.contains(c) {
                v.map(|s| text_ms(&s))
            } else if locals.contains(c) {
                v.map(|s| local_ms(&s))
            } else {
                v
            };
            row.insert(c.to_string(), v);
        }
        let id = row["event_id"].clone().expect("an event id");
        assert!(
            out.insert(id.clone(), Row { values: row }).is_none(),
            "{table} holds {id} twice"
        );
    }
    out
}

/// What the table must hold for these batches of one type: the first-arrived copy of each staged
/// event (as the load keeps it), every loaded column as the staging row has it.
async fn expected(
    t: &Target<'_>,
    outs: &[&ReadWindowOutput],
    event_type: &str,
) -> BTreeMap<String, Row> {
    let route = t.settings.routes.for_type(event_type).unwrap();
    let times = timestamp_columns(route);
    let locals = local_timestamp_columns(route);
    let mut best: BTreeMap<String, (i64, i64, Row)> = BTreeMap::new();
    for out in outs {
        let Some(r) = out.routes.iter().find(|r| r.event_type == event_type) else {
            continue;
        };
        let staged = t.store.get(&r.staging_key).await.unwrap();
        for line in staged.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let fields: BTreeMap<String, &RawValue> =
                serde_json::from_slice(line).expect("a staging row");
            let mut values = BTreeMap::new();
            for c in loaded_columns(route) {
                let v = fields
                    .get(c)
                    .map(|raw| raw.get())
                    .filter(|raw| *raw != "null")
                    .map(|raw| {
                        let text = if raw.starts_with('"') && c != "raw" {
                            serde_json::from_str::<String>(raw).unwrap()
                        } else {
                            raw.to_string()
                        };
                        if times.contains(c) {
                            parse_timestamp_ms(&text).unwrap().to_string()
                        } else if locals.contains(c) {
                            local_ms(&text)
                        } else {
                            text
                        }
                    });
                values.insert(c.to_string(), v);
            }
            let ms = |c: &str| values[c].as_ref().unwrap().parse::<i64>().unwrap();
            let key = (ms("arrived_at"), ms("processed_at"));
            let id = values["event_id"].clone().unwrap();
            match best.get(&id) {
                Some((a, p, _)) if (*a, *p) <= key => {}
                _ => {
                    best.insert(id, (key.0, key.1, Row { values }));
                }
            }
        }
    }
    best.into_iter()
        .map(|(id, (_, _, row))| (id, row))
        .collect()
}

/// The raw event compared as JSON where serde_json can hold both sides (up to its nesting limit
/// and f64 numbers); beyond that the stored value is only required to be there.
fn same_json(want: &str, got: &str) -> bool {
    match (
        serde_json::from_str::<Value>(want),
        serde_json::from_str::<Value>(got),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => true,
    }
}

fn assert_rows(table: &BTreeMap<String, Row>, want: &BTreeMap<String, Row>, name: &str) {
    if let Err(e) = compare_rows(table, want, name) {
        panic!("{e}");
    }
}

/// The first difference between a table and what it must hold, if any.
fn compare_rows(
    table: &BTreeMap<String, Row>,
    want: &BTreeMap<String, Row>,
    name: &str,
) -> Result<(), String> {
    let (got_ids, want_ids): (BTreeSet<&String>, BTreeSet<&String>) =
        (table.keys().collect(), want.keys().collect());
    if got_ids != want_ids {
        return Err(format!(
            "{name}: the table holds event ids {got_ids:?} where {want_ids:?} were staged"
        ));
    }
    for (id, w) in want {
        let g = &table[id];
        for (column, value) in &w.values {
            let stored = &g.values[column];
            if column == "raw" {
                let (Some(value), Some(stored)) = (value, stored) else {
                    return Err(format!("{name} {id}: raw is missing"));
                };
                if !same_json(value, stored) {
                    return Err(format!(
                        "{name} {id}: raw differs\n  staged: {value:.300}\n  stored: {stored:.300}"
                    ));
                }
                continue;
            }
            if stored != value {
                let clip =
                    |v: &Option<String>| v.as_ref().map(|v| v.chars().take(40).collect::<String>());
                return Err(format!(
                    "{name} {id}: column {column} holds {} bytes where {} bytes were staged ({:?}... for {:?}...)",
                    stored.as_ref().map_or(0, String::len),
                    value.as_ref().map_or(0, String::len),
                    clip(stored),
                    clip(value)
                ));
            }
        }
    }
    Ok(())
}

/// One value of a one-row query.
async fn scalar(t: &Target<'_>, sql: &str) -> String {
    let r = t
        .warehouse
        .query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.rows[0][0].clone().unwrap_or_default()
}

/// The ledger's rows for a table, in load order: (batch, staged, inserted, replaced, objects).
async fn ledger(t: &Target<'_>, table: &str) -> Vec<(String, u64, u64, u64, u64)> {
    let r = t
        .warehouse
        .query(&format!(
            "SELECT batch_id, rows_staged, rows_inserted, rows_replaced, object_count FROM pushfeed_loads \
             WHERE table_name = '{table}' ORDER BY loaded_at, batch_id"
        ))
        .await
        .unwrap_or_else(|e| panic!("reading the ledger: {e}"));
    r.rows
        .into_iter()
        .map(|v| {
            let n = |i: usize| v[i].as_deref().unwrap().parse::<u64>().unwrap();
            (v[0].clone().unwrap(), n(1), n(2), n(3), n(4))
        })
        .collect()
}
