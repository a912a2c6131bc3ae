//! What the branch steps (Deliver, AwaitObjects, Load) share: the check that a branch's names
//! agree with the routing table, `Pushfeed.ObjectsNotDelivered`, and the scan that counts a batch's
//! rows in the Firehose output. Steps never import each other; what two of them need lives here.

use super::contract::BranchInput;
use super::error::StepError;
use super::{Settings, READ_CHUNK};
use crate::domain::keys::ObjectKey;
use crate::domain::routes::Route;
use crate::domain::row::RowTags;
use crate::object_lines::{NotGzip, ObjectLines};
use crate::ports::{ObjectStore, PortError};

/// A branch's names must agree with the routing table and the key layout; a table is never taken
/// from the input on trust. Returns the branch's route.
pub fn check_branch<'s>(
    settings: &'s Settings,
    input: &BranchInput,
) -> Result<&'s Route, StepError> {
    let route = settings.routes.for_type(&input.event_type).ok_or_else(|| {
        StepError::invalid(format!(
            "window {}: event type {} has no route in the routing table",
            input.window, input.event_type
        ))
    })?;
    if route.table != input.table || route.delivery_stream != input.delivery_stream {
        return Err(StepError::invalid(format!(
            "window {}: {} routes to table {} through {}, not {} through {}",
            input.window,
            input.event_type,
            route.table,
            route.delivery_stream,
            input.table,
            input.delivery_stream
        )));
    }
    match ObjectKey::parse(&input.staging_key) {
        Ok(ObjectKey::Staging {
            window,
            event_type,
            batch,
        }) if window == input.window && event_type == input.event_type && batch == input.batch => {
            Ok(route)
        }
        parsed => {
            let message = format!(
                "window {}: `{}` is not the staging key of {} batch {}",
                input.window, input.staging_key, input.event_type, input.batch
            );
            // A key that is not in pushfeed's layout at all keeps the parser's reason; one that
            // parses names another window, type or batch, which the message says.
            Err(match parsed {
                Err(e) => StepError::invalid_because(message, e),
                Ok(_) => StepError::invalid(message),
            })
        }
    }
}

/// `Pushfeed.ObjectsNotDelivered`: fewer of the batch's rows reached S3 than ReadWindow staged.
pub fn not_delivered(input: BranchInput, arrived: u64, attempts: u32) -> StepError {
    StepError::ObjectsNotDelivered {
        window: input.window,
        event_type: input.event_type,
        batch: input.batch.to_string(),
        expected: input.count,
        arrived,
        attempts,
    }
}

/// The delivered objects that hold records of the batch, and how many distinct rows they hold.
pub struct Delivered {
    pub objects: Vec<(String, u64)>,
    pub distinct: u64,
    /// How many of `objects` are gzip-compressed (by their magic bytes).
    pub gzip_objects: usize,
}

/// Which of a batch's rows (numbered 0..count by ReadWindow) have been seen: one bit each, so
/// a million-row batch costs 128 KiB.
struct RowsSeen {
    bits: Vec<u64>,
    count: u64,
    distinct: u64,
}

impl RowsSeen {
    fn new(count: u64) -> RowsSeen {
        RowsSeen {
            bits: vec![0; count.div_ceil(64) as usize],
            count,
            distinct: 0,
        }
    }

    /// False for a number outside the batch, which no row of this batch can carry.
    fn insert(&mut self, row: u64) -> bool {
        if row >= self.count {
            return false;
        }
        let (word, bit) = ((row / 64) as usize, 1u64 << (row % 64));
        if self.bits[word] & bit == 0 {
            self.bits[word] |= bit;
            self.distinct += 1;
        }
        true
    }
}

/// Scans the type's window prefix. Firehose may deliver a record twice and may put another
/// batch's records in the same object, so rows are counted once each, by number, for this batch.
pub async fn scan_delivered(
    store: &dyn ObjectStore,
    input: &BranchInput,
) -> Result<Delivered, StepError> {
    let prefix = ObjectKey::delivered_prefix(&input.event_type, input.window);
    let ctx = format!("window {}, {}", input.window, input.event_type);
    let listed = store
        .list(&prefix)
        .await
        .map_err(|e| StepError::from_port(&format!("{ctx}: listing {prefix}"), e))?;
    let mut seen = RowsSeen::new(input.count);
    let mut objects = Vec::new();
    let mut gzip_objects = 0;
    let mut head = Vec::new();
    for meta in listed {
        match ObjectKey::parse(&meta.key) {
            Ok(ObjectKey::Delivered {
                event_type, window, ..
            }) if event_type == input.event_type && window == input.window => {}
            _ => continue,
        }
        // One transient failure among many objects should not cost the whole scan (and with
        // it the step, whose retry reads every object again): each object is retried on its
        // own, a few times. Its rows are counted by number, so a part read twice counts once.
        let mut tries = 0;
        let (mine, gzip) = loop {
            tries += 1;
            match scan_object(store, &meta.key, input, &ctx, &mut seen, &mut head).await {
                Err(StepError::Transient { .. }) if tries < OBJECT_READ_TRIES => {
                    tokio::time::sleep(std::time::Duration::from_millis(20 << tries)).await;
                }
                result => break result?,
            }
        };
        if mine > 0 {
            gzip_objects += usize::from(gzip);
            objects.push((meta.key, mine));
        }
    }
    Ok(Delivered {
        objects,
        distinct: seen.distinct,
        gzip_objects,
    })
}

/// Reads of one delivered object before a transient failure fails the scan.
const OBJECT_READ_TRIES: u32 = 3;

/// Counts one delivered object's rows of the batch into `seen`: how many it holds, and whether
/// it is gzip.
async fn scan_object(
    store: &dyn ObjectStore,
    key: &str,
    input: &BranchInput,
    ctx: &str,
    seen: &mut RowsSeen,
    head: &mut Vec<u8>,
) -> Result<(u64, bool), StepError> {
    // An object that starts like gzip but does not inflate is at fault, not the read: the
    // inflater's error is the cause, whether the first part (inflated by `open`) shows it or a
    // later one.
    let failed = |e: PortError| match e.into_cause::<NotGzip>() {
        Ok(bad) => StepError::invalid_because(
            format!("{ctx}: delivered object {key} is not gzip: {bad}"),
            bad,
        ),
        Err(e) => StepError::from_port(&format!("{ctx}: reading {key}"), e),
    };
    // Read in parts: a delivered object may be large (Firehose buffers up to 128 MiB).
    let mut lines = ObjectLines::open(store, key, READ_CHUNK)
        .await
        .map_err(failed)?;
    let mut mine = 0;
    while let Some(block) = lines.next_block().await.map_err(failed)? {
        for line in block.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let Some(tags) = row_tags(line, head) else {
                continue;
            };
            if tags.batch_id != input.batch.as_str() {
                continue;
            }
            if !seen.insert(tags.row) {
                return Err(StepError::invalid(format!(
                    "{ctx}: delivered object {key} holds row {} of batch {}, which has {} rows",
                    tags.row, input.batch, input.count
                )));
            }
            mine += 1;
        }
    }
    Ok((mine, lines.is_gzip()))
}

/// The tags of a staging row, parsed from the part before its raw event when it can be: `raw`
/// is the last key `write_row` writes and most of the row's bytes. `,"raw":` cannot occur earlier
/// in the line, since a quote inside a JSON string is always escaped.
fn row_tags<'a>(line: &'a [u8], head: &'a mut Vec<u8>) -> Option<RowTags<'a>> {
    const RAW: &[u8] = b",\"raw\":";
    if let Some(at) = memchr::memmem::find(line, RAW) {
        head.clear();
        head.extend_from_slice(&line[..at]);
        head.push(b'}');
        let head: &'a [u8] = head;
        if let Ok(tags) = serde_json::from_slice::<RowTags>(head) {
            return Some(tags);
        }
    }
    serde_json::from_slice::<RowTags>(line).ok()
}

#[cfg(all(test, feature = "local"))]
mod tests {
    use super::*;

    #[test]
    fn tags_come_from_the_head_of_the_row_or_the_whole_row() {
        let mut head = Vec::new();
        // An id holding the raw key's text is escaped, so the cut falls at the real key.
        let line = br#"{"event_id":"a\",\"raw\":{","window":"2026-11-26T10:01Z","row":7,"batch_id":"b1","raw":{"id":"x","batch_id":"no"}}"#;
        let tags = row_tags(line, &mut head).unwrap();
        assert_eq!(
            (&*tags.event_id, &*tags.batch_id, tags.row),
            ("a\",\"raw\":{", "b1", 7)
        );
        let line =
            br#"{"window":"2026-11-26T10:01Z","raw":{},"batch_id":"b2","row":0,"event_id":"e"}"#;
        assert_eq!(&*row_tags(line, &mut head).unwrap().batch_id, "b2");
        assert!(row_tags(b"{\"raw\":1}", &mut head).is_none());
        assert!(row_tags(b"not json", &mut head).is_none());
    }

    /// A store whose reads of delivered objects fail transiently a given number of times each.
    struct Flaky {
        inner: crate::adapters::local::object_store::LocalObjectStore,
        failures: u32,
        seen: std::sync::Mutex<std::collections::HashMap<String, u32>>,
    }

    #[async_trait::async_trait]
    impl ObjectStore for Flaky {
        async fn put(&self, key: &str, bytes: Vec<u8>) -> crate::ports::PortResult<()> {
            self.inner.put(key, bytes).await
        }
        async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> crate::ports::PortResult<()> {
            self.inner.put_if_absent(key, bytes).await
        }
        async fn get(&self, key: &str) -> crate::ports::PortResult<Vec<u8>> {
            let n = {
                let mut seen = self.seen.lock().unwrap();
                let n = seen.entry(key.to_string()).or_default();
                *n += 1;
                *n
            };
            if n <= self.failures {
                return Err(crate::ports::PortError::transient(
                    format!("reading {key}"),
                    "503 SlowDown",
                ));
            }
            self.inner.get(key).await
        }
        async fn list(
            &self,
            prefix: &str,
        ) -> crate::ports::PortResult<Vec<crate::ports::ObjectMeta>> {
            self.inner.list(prefix).await
        }
        async fn writer(
            &self,
            key: &str,
        ) -> crate::ports::PortResult<Box<dyn crate::ports::ObjectWriter>> {
            self.inner.writer(key).await
        }
        fn url(&self, key: &str) -> String {
            self.inner.url(key)
        }
    }

    #[tokio::test]
    async fn a_transient_read_of_one_object_is_retried_on_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let batch: crate::domain::keys::BatchId = "0019abf9bf360-1a2b3c4d".parse().unwrap();
        let window = "2026-11-26T10:01Z".parse().unwrap();
        let input = BranchInput {
            window,
            batch: batch.clone(),
            event_type: "UNINSTALL".into(),
            table: "push_uninstalls".into(),
            delivery_stream: "pushfeed-push-uninstalls".into(),
            staging_key: String::new(),
            count: 3,
            execution: None,
            attempt: 0,
        };
        for failures in [0, OBJECT_READ_TRIES - 1, OBJECT_READ_TRIES] {
            let store = Flaky {
                inner: crate::adapters::local::object_store::LocalObjectStore::new(dir.path(), "b"),
                failures,
                seen: Default::default(),
            };
            for row in 0..3 {
                let line = format!("{{\"event_id\":\"e{row}\",\"window\":\"2026-11-26T10:01Z\",\"row\":{row},\"batch_id\":\"{batch}\",\"raw\":{{}}}}\n");
                let key = format!("events/UNINSTALL/window=2026-11-26T10:01Z/part-{row}");
                store.inner.put(&key, line.into_bytes()).await.unwrap();
            }
            match scan_delivered(&store, &input).await {
                Ok(found) if failures < OBJECT_READ_TRIES => {
                    assert_eq!((found.distinct, found.objects.len()), (3, 3));
                }
                Err(StepError::Transient { message: m, source })
                    if failures == OBJECT_READ_TRIES =>
                {
                    assert!(m.contains("part-0") && m.contains("503"), "{m}");
                    let cause = source.expect("the port's failure is kept").to_string();
                    assert!(cause.contains("503 SlowDown"), "{cause}");
                }
                other => panic!(
                    "{failures} failures per object: {:?}",
                    other.map(|f| f.distinct)
                ),
            }
        }
    }

    fn branch(staging_key: &str) -> BranchInput {
        BranchInput {
            window: "2026-11-26T10:01Z".parse().unwrap(),
            batch: "0019abf9bf360-1a2b3c4d".parse().unwrap(),
            event_type: "UNINSTALL".into(),
            table: "push_uninstalls".into(),
            delivery_stream: "pushfeed-push-uninstalls".into(),
            staging_key: staging_key.into(),
            count: 1,
            execution: None,
            attempt: 0,
        }
    }

    #[test]
    fn a_staging_key_outside_the_layout_keeps_the_parsers_reason() {
        let settings = Settings::default();
        let e = check_branch(&settings, &branch("staging/elsewhere.ndjson")).unwrap_err();
        assert!(matches!(
            e.cause::<crate::domain::keys::KeyError>(),
            Some(crate::domain::keys::KeyError::NotOurs { key, .. }) if key == "staging/elsewhere.ndjson"
        ));
        // A key of another window parses: the message says what is wrong, nothing lies below.
        let other =
            "staging/window=2026-11-26T10:02Z/type=UNINSTALL/batch=0019abf9bf360-1a2b3c4d.ndjson";
        let e = check_branch(&settings, &branch(other)).unwrap_err();
        assert!(
            e.to_string()
                .contains("is not the staging key of UNINSTALL"),
            "{e}"
        );
        assert!(std::error::Error::source(&e).is_none());
    }

    #[tokio::test]
    async fn a_delivered_object_that_does_not_inflate_is_invalid_input_caused_by_not_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::adapters::local::object_store::LocalObjectStore::new(dir.path(), "b");
        let key = "events/UNINSTALL/window=2026-11-26T10:01Z/part-0";
        let mut torn = vec![0x1f, 0x8b];
        torn.extend_from_slice(b"not deflate at all");
        store.put(key, torn).await.unwrap();
        let e = match scan_delivered(&store, &branch("")).await {
            Err(e) => e,
            Ok(_) => panic!("a torn object was counted"),
        };
        assert_eq!(e.name(), crate::steps::names::INVALID_INPUT);
        assert!(e.cause::<NotGzip>().is_some(), "{e:?}");
        assert!(
            e.to_string().contains(&format!("{key} is not gzip: ")),
            "{e}"
        );
    }

    #[test]
    fn rows_are_counted_once_and_only_inside_the_batch() {
        let mut seen = RowsSeen::new(130);
        for row in [0, 64, 129, 64, 0] {
            assert!(seen.insert(row));
        }
        assert_eq!(seen.distinct, 3);
        assert!(!seen.insert(130));
        assert_eq!(RowsSeen::new(0).bits.len(), 0);
    }
}
