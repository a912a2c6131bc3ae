//! ReadWindow: reads every shard for one window and writes the raw archive, one staging object
//! per event type, the rejected and unrouted records, and the checkpoint. Returns only a summary.
//!
//! Records stream through: each goes to the writers as it is read, so memory holds a few MiB of
//! records read ahead and the writers' buffers, never the window (docs/performance.md, Memory).

use std::collections::BTreeMap;
use std::io::Write;

use base64::Engine;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};

use super::contract::{Kept, ReadStats, ReadWindowInput, ReadWindowOutput, RouteBatch};
use super::error::StepError;
use super::Settings;
use crate::domain::event::Event;
use crate::domain::keys::{BatchId, ObjectKey};
use crate::domain::record::{for_each_item, Item};
use crate::domain::rejection::Rejection;
use crate::domain::row::{write_row, RowContext};
use crate::domain::window::{format_timestamp_ms, Window};
use crate::ports::{
    Clock, ErrorKind, ObjectStore, ObjectWriter, PortError, StartingPosition, Stream, StreamRecord,
};

/// Writers flush to the store once their buffer holds this much. Small, because up to ten
/// writers are open at once and each buffer keeps its capacity for the whole window.
const CHUNK: usize = 256 << 10;
/// Records held ahead across all shards while merging them by arrival, in bytes: a read asks for
/// as many records as its shard's share holds (at the window's average record size so far).
const READ_AHEAD: usize = 4 << 20;
/// A shard's share never drops below this, so many shards are not read in calls too small to
/// reach Kinesis's 2 MiB/s per shard within its 5 reads per second.
const MIN_READ_PER_SHARD: usize = 512 << 10;
/// Archive lines are compressed in blocks of this size.
const RAW_BLOCK: usize = 256 << 10;

/// The sequence range read from one shard: a re-run reads exactly this range again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRange {
    pub first_sequence: String,
    pub last_sequence: String,
    pub records: u64,
    /// MD5 (hex) over the shard's records as read, in order: sequence number, arrival time,
    /// partition key and data, each length-prefixed. A re-read must give the same; checkpoints
    /// written before it existed have none and are checked by range and count only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// How a re-read differs from what the checkpoint pins, naming the shard; None if it matches.
fn differs(cp: &Checkpoint, read: &BTreeMap<String, ShardRange>) -> Option<String> {
    for (shard, want) in &cp.shards {
        let Some(got) = read.get(shard) else {
            return Some(format!(
                "shard {shard}: the checkpoint pins {} records ({} to {}), none were read",
                want.records, want.first_sequence, want.last_sequence
            ));
        };
        if got.first_sequence != want.first_sequence || got.last_sequence != want.last_sequence {
            return Some(format!(
                "shard {shard}: read sequence numbers {} to {}, the checkpoint pins {} to {}",
                got.first_sequence, got.last_sequence, want.first_sequence, want.last_sequence
            ));
        }
        if got.records != want.records {
            return Some(format!(
                "shard {shard}: read {} records, the checkpoint pins {}",
                got.records, want.records
            ));
        }
        if let (Some(w), Some(g)) = (&want.digest, &got.digest) {
            if w != g {
                return Some(format!(
                    "shard {shard}: the records' digest is {g}, the checkpoint's is {w} (same range and count, different bytes)"
                ));
            }
        }
    }
    read.keys()
        .find(|s| !cp.shards.contains_key(*s))
        .map(|s| format!("shard {s}: records were read, the checkpoint pins none"))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub window: Window,
    pub batch: BatchId,
    pub raw_key: String,
    /// Shards with records in the window; shards absent here had none.
    pub shards: BTreeMap<String, ShardRange>,
    /// The event types the window routed, in routing-file order: each must have its ledger row
    /// for the window to count as complete (src/domain/accounting.rs). None in checkpoints
    /// written before it was recorded; those are judged by the window's staging objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routed: Option<Vec<String>>,
}

/// One line of the raw archive: a record exactly as read, so a window can be re-read after the
/// stream's retention has passed.
#[derive(Debug, Serialize, Deserialize)]
struct ArchivedRecord {
    shard: String,
    sequence_number: String,
    arrival_ms: i64,
    partition_key: String,
    data_base64: String,
}

#[derive(Serialize)]
struct RejectedLine<'a> {
    reason: String,
    shard: &'a str,
    sequence_number: &'a str,
    arrived_at: &'a str,
    /// The line within the record, from 1; 0 when the whole record was refused.
    line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_base64: Option<String>,
}

#[derive(Serialize)]
struct UnroutedHeader<'a> {
    event_type: &'a str,
    event_id: &'a str,
    shard: &'a str,
    sequence_number: &'a str,
    arrived_at: &'a str,
}

/// An object written in chunks, created on first use.
struct Sink {
    key: String,
    buf: Vec<u8>,
    writer: Option<Box<dyn ObjectWriter>>,
    count: u64,
}

impl Sink {
    fn new(key: String) -> Sink {
        Sink {
            key,
            buf: Vec::new(),
            writer: None,
            count: 0,
        }
    }

    async fn flush_if_full(&mut self, store: &dyn ObjectStore) -> Result<(), PortError> {
        if self.buf.len() >= CHUNK {
            self.flush(store).await?;
            // One large record can leave the buffer far bigger than CHUNK: do not keep that.
            self.buf.shrink_to(2 * CHUNK);
        }
        Ok(())
    }

    async fn flush(&mut self, store: &dyn ObjectStore) -> Result<(), PortError> {
        if self.writer.is_none() {
            self.writer = Some(store.writer(&self.key).await?);
        }
        let writer = self.writer.as_mut().expect("set above");
        writer.write(&self.buf).await?;
        self.buf.clear();
        Ok(())
    }

    /// Finishes the object; returns its key, or None if nothing was ever written.
    async fn finish(mut self, store: &dyn ObjectStore) -> Result<Option<String>, PortError> {
        if self.count == 0 && self.writer.is_none() {
            return Ok(None);
        }
        self.flush(store).await?;
        self.writer.take().expect("flushed").finish().await?;
        Ok(Some(self.key))
    }
}

/// The window's outputs while it is being read.
struct WindowWriter<'s> {
    store: &'s dyn ObjectStore,
    settings: &'s Settings,
    window: Window,
    batch: BatchId,
    window_start: String,
    raw: GzEncoder<Vec<u8>>,
    /// Archive lines not yet compressed: the encoder clears its output buffer on every write, so
    /// it is handed large blocks rather than one small JSON write at a time.
    raw_lines: Vec<u8>,
    raw_sink: Sink,
    /// On a re-run, the first run's raw archive, named by the checkpoint: the records read must
    /// verify against it, so it already holds them, and a re-run writes no second copy.
    archive: Option<String>,
    staging: BTreeMap<String, Sink>,
    rejected: Sink,
    unrouted: Sink,
    stats: ReadStats,
    ranges: BTreeMap<String, ShardRange>,
    digests: BTreeMap<String, md5::Md5>,
}

impl<'s> WindowWriter<'s> {
    fn new(
        store: &'s dyn ObjectStore,
        settings: &'s Settings,
        window: Window,
        batch: BatchId,
        archive: Option<String>,
    ) -> WindowWriter<'s> {
        WindowWriter {
            archive,
            store,
            settings,
            window,
            window_start: window.start_rfc3339(),
            raw: GzEncoder::new(Vec::new(), Compression::fast()),
            raw_lines: Vec::with_capacity(RAW_BLOCK),
            raw_sink: Sink::new(ObjectKey::raw(window, &batch).to_string()),
            staging: BTreeMap::new(),
            rejected: Sink::new(
                ObjectKey::Rejected {
                    window,
                    batch: batch.clone(),
                }
                .to_string(),
            ),
            unrouted: Sink::new(
                ObjectKey::Unrouted {
                    window,
                    batch: batch.clone(),
                }
                .to_string(),
            ),
            batch,
            stats: ReadStats::default(),
            ranges: BTreeMap::new(),
            digests: BTreeMap::new(),
        }
    }

    /// The ranges read so far, each with the digest of its records.
    fn sealed_ranges(&self) -> BTreeMap<String, ShardRange> {
        use md5::Digest;
        let mut ranges = self.ranges.clone();
        for (shard, range) in ranges.iter_mut() {
            if let Some(h) = self.digests.get(shard) {
                let sum = h.clone().finalize();
                range.digest = Some(sum.iter().map(|b| format!("{b:02x}")).collect());
            }
        }
        ranges
    }

    async fn record(&mut self, shard: &str, r: &StreamRecord) -> Result<(), PortError> {
        self.stats.records += 1;
        self.stats.bytes += r.data.len() as u64;
        let range = self
            .ranges
            .entry(shard.to_string())
            .or_insert_with(|| ShardRange {
                first_sequence: r.sequence_number.clone(),
                last_sequence: r.sequence_number.clone(),
                records: 0,
                digest: None,
            });
        range.last_sequence = r.sequence_number.clone();
        range.records += 1;
        {
            use md5::Digest;
            let h = self.digests.entry(shard.to_string()).or_default();
            for part in [
                r.sequence_number.as_bytes(),
                r.partition_key.as_bytes(),
                &r.data,
            ] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part);
            }
            h.update(r.arrival_ms.to_le_bytes());
        }

        if self.archive.is_none() {
            let archived = ArchivedRecord {
                shard: shard.to_string(),
                sequence_number: r.sequence_number.clone(),
                arrival_ms: r.arrival_ms,
                partition_key: r.partition_key.clone(),
                data_base64: base64::engine::general_purpose::STANDARD.encode(&r.data),
            };
            serde_json::to_writer(&mut self.raw_lines, &archived).expect("writing to memory");
            self.raw_lines.push(b'\n');
            if self.raw_lines.len() >= RAW_BLOCK {
                self.raw
                    .write_all(&self.raw_lines)
                    .expect("writing to memory");
                self.raw_lines.clear();
            }
            if self.raw.get_ref().len() >= CHUNK {
                self.raw_sink.buf.append(self.raw.get_mut());
                self.raw_sink.flush(self.store).await?;
            }
        }

        let arrived_at = format_timestamp_ms(r.arrival_ms);
        let (window_start, batch) = (self.window_start.clone(), self.batch.clone());
        let ctx = RowContext {
            window: self.window,
            window_start: &window_start,
            arrived_at: &arrived_at,
            batch: &batch,
        };
        let limits = self.settings.limits;
        for_each_item(&r.data, r.arrival_ms, &limits, |item| {
            self.stats.events += 1;
            match item {
                Item::Rejected {
                    line,
                    reason,
                    bytes,
                } => self.reject(shard, r, &arrived_at, line, reason, bytes),
                Item::Event(event) => self.event(shard, r, &ctx, &event),
            }
        });
        // Sinks flush between records, so events are handled without awaiting.
        for sink in self.staging.values_mut() {
            sink.flush_if_full(self.store).await?;
        }
        self.rejected.flush_if_full(self.store).await?;
        self.unrouted.flush_if_full(self.store).await
    }

    /// Stages or keeps one valid event. Copies of an event are staged like any other row (Load
    /// keeps the first-arrived), so ReadWindow holds no per-event state and its memory does not
    /// grow with the window.
    fn event(&mut self, shard: &str, r: &StreamRecord, ctx: &RowContext<'_>, event: &Event<'_>) {
        match self.settings.routes.for_type(&event.event_type) {
            Some(route) => {
                let sink = self
                    .staging
                    .entry(route.event_type.clone())
                    .or_insert_with(|| {
                        Sink::new(
                            ObjectKey::staging(ctx.window, &route.event_type, ctx.batch)
                                .to_string(),
                        )
                    });
                write_row(&mut sink.buf, event, ctx, sink.count);
                sink.count += 1;
            }
            None => {
                let header = UnroutedHeader {
                    event_type: &event.event_type,
                    event_id: &event.id,
                    shard,
                    sequence_number: &r.sequence_number,
                    arrived_at: ctx.arrived_at,
                };
                let buf = &mut self.unrouted.buf;
                serde_json::to_writer(&mut *buf, &header).expect("writing to memory");
                buf.pop();
                buf.extend_from_slice(b",\"event\":");
                buf.extend_from_slice(event.raw.as_bytes());
                buf.extend_from_slice(b"}\n");
                self.unrouted.count += 1;
            }
        }
    }

    fn reject(
        &mut self,
        shard: &str,
        r: &StreamRecord,
        arrived_at: &str,
        line: usize,
        reason: Rejection,
        bytes: &[u8],
    ) {
        let text = std::str::from_utf8(bytes).ok();
        let entry = RejectedLine {
            reason: reason.code(),
            shard,
            sequence_number: &r.sequence_number,
            arrived_at,
            line,
            data: text,
            data_base64: match text {
                Some(_) => None,
                None => Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            },
        };
        serde_json::to_writer(&mut self.rejected.buf, &entry).expect("writing to memory");
        self.rejected.buf.push(b'\n');
        self.rejected.count += 1;
    }

    async fn finish(
        mut self,
        execution: Option<String>,
    ) -> Result<(ReadWindowOutput, Checkpoint), PortError> {
        let shards = self.sealed_ranges();
        let raw_key = match self.archive.take() {
            Some(first_run) => first_run,
            None => {
                self.raw
                    .write_all(&self.raw_lines)
                    .expect("writing to memory");
                let raw_tail = std::mem::replace(
                    &mut self.raw,
                    GzEncoder::new(Vec::new(), Compression::fast()),
                )
                .finish()
                .expect("writing to memory");
                self.raw_sink.buf.extend_from_slice(&raw_tail);
                self.raw_sink.count = self.stats.records.max(1);
                self.raw_sink
                    .finish(self.store)
                    .await?
                    .expect("the archive is always written")
            }
        };
        let mut routes = Vec::new();
        for (event_type, sink) in std::mem::take(&mut self.staging) {
            let count = sink.count;
            let route = self
                .settings
                .routes
                .for_type(&event_type)
                .expect("staged types are routed");
            let staging_key = sink
                .finish(self.store)
                .await?
                .expect("a staged type has rows");
            routes.push(RouteBatch {
                event_type,
                table: route.table.clone(),
                delivery_stream: route.delivery_stream.clone(),
                staging_key,
                count,
            });
        }
        // Branches in routing-file order, so histories read the same every minute.
        routes.sort_by_key(|r| {
            self.settings
                .routes
                .routes()
                .iter()
                .position(|x| x.event_type == r.event_type)
        });
        let rejected = Kept {
            count: self.rejected.count,
            key: None,
        };
        let unrouted = Kept {
            count: self.unrouted.count,
            key: None,
        };
        let rejected = Kept {
            key: self.rejected.finish(self.store).await?,
            ..rejected
        };
        let unrouted = Kept {
            key: self.unrouted.finish(self.store).await?,
            ..unrouted
        };
        let checkpoint = Checkpoint {
            window: self.window,
            batch: self.batch.clone(),
            raw_key: raw_key.clone(),
            shards,
            routed: Some(routes.iter().map(|r| r.event_type.clone()).collect()),
        };
        let output = ReadWindowOutput {
            window: self.window,
            batch: self.batch,
            execution,
            routes,
            rejected,
            unrouted,
            read: self.stats,
            raw_key,
            checkpoint_key: ObjectKey::Checkpoint {
                window: self.window,
            }
            .to_string(),
        };
        Ok((output, checkpoint))
    }
}

/// Resolves the window of a run: an explicit window, or the one its schedule implies.
pub fn resolve_window(input: &ReadWindowInput, default_lag: u32) -> Result<Window, StepError> {
    match (&input.window, &input.scheduled_time) {
        (Some(w), _) => Ok(*w),
        (None, Some(t)) => Window::for_scheduled_time(t, input.lag_minutes.unwrap_or(default_lag))
            .map_err(|e| StepError::invalid_because(e.to_string(), e)),
        (None, None) => Err(StepError::invalid(
            "the input names no window: pass {\"window\": \"2026-11-26T10:01Z\"} or {\"scheduled_time\": \"<RFC 3339>\"}",
        )),
    }
}

fn seq_le(a: &str, b: &str) -> bool {
    // Sequence numbers are decimal strings of varying width: compare as numbers.
    (a.len(), a) <= (b.len(), b)
}

pub async fn read_window(
    stream: &dyn Stream,
    store: &dyn ObjectStore,
    clock: &dyn Clock,
    settings: &Settings,
    input: ReadWindowInput,
) -> Result<ReadWindowOutput, StepError> {
    let window = resolve_window(&input, settings.lag_minutes)?;
    let now = clock.now_ms();
    let settled_at = window.end_ms() + settings.settle_ms;
    if now < settled_at {
        return Err(StepError::transient(format!(
            "window {window} is not settled until {}: records may still be arriving",
            format_timestamp_ms(settled_at)
        )));
    }
    let checkpoint_key = ObjectKey::Checkpoint { window }.to_string();
    // A first run finds no checkpoint: absence is an answer of the store, never a failed read.
    let previous: Option<Checkpoint> = match store.get_if_exists(&checkpoint_key).await {
        Ok(Some(bytes)) => Some(serde_json::from_slice(&bytes).map_err(|e| {
            StepError::invalid_because(format!("checkpoint {checkpoint_key} is not readable: {e}; delete it to re-read the window from the stream"), e)
        })?),
        Ok(None) => None,
        Err(e) => return Err(StepError::from_port(&format!("window {window}: reading {checkpoint_key}"), e)),
    };
    if let Some(cp) = &previous {
        if cp.window != window {
            return Err(StepError::invalid(format!(
                "checkpoint {checkpoint_key} is the checkpoint of window {}, not of window {window}: it was copied or edited; restore window {window}'s own checkpoint, or delete it to re-read the window from the stream",
                cp.window
            )));
        }
    }
    let batch = BatchId::generate(now);
    let ctx = |what: &str| format!("window {window}: {what}");

    let archive = previous.as_ref().map(|cp| cp.raw_key.clone());
    let mut writer = WindowWriter::new(store, settings, window, batch.clone(), archive.clone());
    let outcome = match &previous {
        Some(cp) => read_ranges(stream, &mut writer, cp, settings).await,
        None => read_stream(stream, &mut writer, window, settings).await,
    };
    match outcome {
        Ok(()) => {}
        Err(e) if previous.is_some() && e.kind != ErrorKind::Transient => {
            // The stream no longer holds the range, or cannot give it back whole (a damaged
            // shard log): replay the first run's archive instead, which must then verify.
            let cp = previous.as_ref().expect("checked");
            writer = WindowWriter::new(store, settings, window, batch.clone(), archive.clone());
            match read_archive(store, &mut writer, cp).await {
                Ok(()) => {}
                Err(archive) if archive.kind == ErrorKind::Transient => {
                    return Err(StepError::from_port(&ctx("re-reading the raw archive"), archive))
                }
                // The archive was the last way to the records, so its failure is the cause; the
                // stream's, which sent the read there, is said in the message.
                Err(archive) => {
                    return Err(StepError::invalid_because(format!(
                        "window {window}: the stream cannot give back the checkpoint's records ({e}), and the raw archive {} cannot be read either ({archive}): restore the archive object, or delete {checkpoint_key} to re-read the window from what the stream holds now",
                        cp.raw_key
                    ), archive))
                }
            }
            if let Some(diff) = differs(cp, &writer.sealed_ranges()) {
                return Err(StepError::invalid(format!(
                    "window {window}: the stream no longer holds the checkpoint's records, and the raw archive {} does not match the checkpoint either ({diff}): restore the archive object, or delete {checkpoint_key} to re-read the window from what the stream holds now",
                    cp.raw_key
                )));
            }
        }
        Err(e) => return Err(StepError::from_port(&ctx("reading the stream"), e)),
    }
    // A re-read from the stream must be what the first run read; if the stream's bytes changed,
    // the first run's raw archive is the truth when it still verifies.
    if let Some(cp) = &previous {
        if writer.stats.source != "archive" {
            if let Some(stream_diff) = differs(cp, &writer.sealed_ranges()) {
                writer = WindowWriter::new(store, settings, window, batch.clone(), archive.clone());
                let (archive_diff, unreadable) = match read_archive(store, &mut writer, cp).await {
                    Ok(()) => (differs(cp, &writer.sealed_ranges()), None),
                    Err(e) => (Some(format!("reading it failed: {e}")), Some(e)),
                };
                if let Some(archive_diff) = archive_diff {
                    let message = format!(
                        "window {window}: the stream's records differ from what the first run read ({stream_diff}), and the raw archive {} does not verify either ({archive_diff}): restore the archive object, or delete {checkpoint_key} to re-read the window from what the stream holds now",
                        cp.raw_key
                    );
                    return Err(match unreadable {
                        Some(e) => StepError::invalid_because(message, e),
                        None => StepError::invalid(message),
                    });
                }
            }
        }
    }
    writer.stats.source = match (&previous, writer.stats.source.as_str()) {
        (_, "archive") => "archive".into(),
        (Some(_), _) => "checkpoint".into(),
        (None, _) => "stream".into(),
    };
    if let (Some(cp), "checkpoint") = (&previous, writer.stats.source.as_str()) {
        writer.stats.beyond_checkpoint = match count_beyond(stream, cp, window, settings).await {
            Ok(n) => n,
            // The stream dropped what lies past the ranges: nothing there to report.
            Err(e) if matches!(e.kind, ErrorKind::NotFound | ErrorKind::Trimmed) => 0,
            Err(e) => {
                return Err(StepError::from_port(
                    &ctx("looking for records beyond the checkpoint"),
                    e,
                ))
            }
        };
    }
    let (output, checkpoint) = writer
        .finish(input.execution)
        .await
        .map_err(|e| StepError::from_port(&ctx("writing the window's objects"), e))?;
    if previous.is_none() {
        let bytes = serde_json::to_vec_pretty(&checkpoint).expect("a checkpoint serializes");
        // Two first runs at once read the same settled range; whichever checkpoint lands is right.
        match store.put_if_absent(&checkpoint_key, bytes).await {
            Ok(()) => {}
            Err(e) if e.kind == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(StepError::from_port(&ctx("writing the checkpoint"), e)),
        }
    }
    Ok(output)
}

/// Where one shard's read of the window stops.
enum Bound {
    /// A first read: at the first record that arrived at or after the window's end, or at the tip.
    ArrivedBefore(i64),
    /// A re-read: at the last sequence number the first read recorded.
    LastSequence(String),
}

/// One shard's position in the merge, with the records read ahead.
struct Cursor {
    shard: String,
    pos: StartingPosition,
    bound: Bound,
    ahead: std::collections::VecDeque<StreamRecord>,
    done: bool,
}

impl Cursor {
    /// Reads ahead when nothing is buffered, so the merge can compare this shard's next record.
    async fn fill(&mut self, stream: &dyn Stream, limit: usize) -> Result<(), PortError> {
        while self.ahead.is_empty() && !self.done {
            let batch = stream.read(&self.shard, &self.pos, limit).await?;
            let got = !batch.records.is_empty();
            for r in batch.records {
                match &self.bound {
                    Bound::ArrivedBefore(end) if r.arrival_ms >= *end => {
                        self.done = true;
                        break;
                    }
                    Bound::LastSequence(last) => {
                        if !seq_le(&r.sequence_number, last) {
                            self.done = true;
                            break;
                        }
                        let is_last = &r.sequence_number == last;
                        self.ahead.push_back(r);
                        if is_last {
                            self.done = true;
                            break;
                        }
                    }
                    Bound::ArrivedBefore(_) => self.ahead.push_back(r),
                }
            }
            if self.done {
                break;
            }
            match (batch.next, &self.bound) {
                (Some(next), Bound::ArrivedBefore(_)) if got || batch.millis_behind_latest > 0 => {
                    self.pos = next
                }
                // The window has settled, so the tip (or a closed shard's end) ends it too.
                (_, Bound::ArrivedBefore(_)) => self.done = true,
                (Some(next), Bound::LastSequence(_)) if got => self.pos = next,
                (_, Bound::LastSequence(last)) => {
                    return Err(PortError::new(
                        ErrorKind::Trimmed,
                        format!("re-reading {}", self.shard),
                        format!("the stream ends before sequence number {last}"),
                    ))
                }
            }
        }
        Ok(())
    }
}

/// Reads the shards together, handing records on in arrival order (ties by shard), so a type's
/// rows are numbered in the order they arrived, whatever shard each is on.
async fn merge_shards(
    stream: &dyn Stream,
    w: &mut WindowWriter<'_>,
    mut cursors: Vec<Cursor>,
    limit: usize,
) -> Result<(), PortError> {
    cursors.sort_by(|a, b| a.shard.cmp(&b.shard));
    w.stats.shards = cursors.len() as u64;
    let share = (READ_AHEAD / cursors.len().max(1)).max(MIN_READ_PER_SHARD);
    loop {
        // Reads are sized to the budget, so memory holds a few MiB of records whatever the
        // window's size and however many records a full read would return.
        let average = match w.stats.records {
            0 => 1024,
            n => (w.stats.bytes / n) as usize + 64,
        };
        let limit = (share / average.max(1)).clamp(1, limit);
        for c in cursors.iter_mut() {
            c.fill(stream, limit).await?;
        }
        let next = cursors
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.ahead.front().map(|r| (r.arrival_ms, i)))
            .min();
        let Some((_, i)) = next else { return Ok(()) };
        let r = cursors[i].ahead.pop_front().expect("front exists");
        let shard = cursors[i].shard.clone();
        w.record(&shard, &r).await?;
    }
}

/// A first read: every shard from AT_TIMESTAMP(start) to the first record at or after the end.
async fn read_stream(
    stream: &dyn Stream,
    w: &mut WindowWriter<'_>,
    window: Window,
    settings: &Settings,
) -> Result<(), PortError> {
    let cursors = stream
        .list_shards()
        .await?
        .into_iter()
        .map(|s| Cursor {
            shard: s.shard_id,
            pos: StartingPosition::AtTimestamp(window.start_ms()),
            bound: Bound::ArrivedBefore(window.end_ms()),
            ahead: Default::default(),
            done: false,
        })
        .collect();
    merge_shards(stream, w, cursors, settings.read_limit).await
}

/// A re-run: exactly the sequence ranges the first run recorded, merged the same way.
async fn read_ranges(
    stream: &dyn Stream,
    w: &mut WindowWriter<'_>,
    cp: &Checkpoint,
    settings: &Settings,
) -> Result<(), PortError> {
    let cursors = cp
        .shards
        .iter()
        .map(|(shard, range)| Cursor {
            shard: shard.clone(),
            pos: StartingPosition::AtSequenceNumber(range.first_sequence.clone()),
            bound: Bound::LastSequence(range.last_sequence.clone()),
            ahead: Default::default(),
            done: false,
        })
        .collect();
    merge_shards(stream, w, cursors, settings.read_limit).await
}

/// Records of the window that the stream holds beyond the checkpoint's ranges: after each
/// range's last sequence, and on shards the checkpoint has no range for. Each shard's read stops
/// at the first record that arrived at or after the window's end, or at the tip.
async fn count_beyond(
    stream: &dyn Stream,
    cp: &Checkpoint,
    window: Window,
    settings: &Settings,
) -> Result<u64, PortError> {
    let mut beyond = 0;
    for shard in stream.list_shards().await? {
        let mut pos = match cp.shards.get(&shard.shard_id) {
            Some(range) => StartingPosition::AfterSequenceNumber(range.last_sequence.clone()),
            None => StartingPosition::AtTimestamp(window.start_ms()),
        };
        loop {
            let batch = stream
                .read(&shard.shard_id, &pos, settings.read_limit)
                .await?;
            let got = batch.records.len();
            let inside = batch
                .records
                .iter()
                .take_while(|r| r.arrival_ms < window.end_ms())
                .count();
            beyond += inside as u64;
            match batch.next {
                Some(next) if got > 0 && inside == got => pos = next,
                _ => break,
            }
        }
    }
    Ok(beyond)
}

async fn read_archive(
    store: &dyn ObjectStore,
    w: &mut WindowWriter<'_>,
    cp: &Checkpoint,
) -> Result<(), PortError> {
    let op = || format!("reading raw archive {}", cp.raw_key);
    // Read and inflated in parts, so a re-run from the archive is as bounded as a first read.
    let mut lines =
        crate::object_lines::ObjectLines::open(store, &cp.raw_key, super::READ_CHUNK).await?;
    w.stats.shards = cp.shards.len() as u64;
    while let Some(block) = lines.next_block().await? {
        for line in block.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let a: ArchivedRecord =
                serde_json::from_slice(line).map_err(|e| PortError::permanent(op(), e))?;
            let data = base64::engine::general_purpose::STANDARD
                .decode(&a.data_base64)
                .map_err(|e| PortError::permanent(op(), e))?;
            let r = StreamRecord {
                sequence_number: a.sequence_number,
                arrival_ms: a.arrival_ms,
                partition_key: a.partition_key,
                data,
            };
            w.record(&a.shard, &r).await?;
        }
    }
    w.stats.source = "archive".into();
    Ok(())
}

#[cfg(test)]
mod checkpoint_tests {
    use super::*;

    #[test]
    fn a_scheduled_time_that_is_not_one_is_invalid_input_caused_by_the_window_error() {
        let input = ReadWindowInput {
            scheduled_time: Some("yesterday".into()),
            ..ReadWindowInput::default()
        };
        let e = resolve_window(&input, 1).unwrap_err();
        assert_eq!(e.name(), super::super::names::INVALID_INPUT);
        assert_eq!(
            e.cause::<crate::domain::window::WindowError>(),
            Some(&crate::domain::window::WindowError::BadScheduledTime {
                text: "yesterday".into()
            })
        );
        assert!(e.to_string().contains("`yesterday`"), "{e}");
        let none = resolve_window(&ReadWindowInput::default(), 1).unwrap_err();
        assert!(std::error::Error::source(&none).is_none());
    }

    #[test]
    fn a_checkpoint_without_routed_types_still_reads_and_a_new_one_names_them() {
        let old = r#"{"window": "2026-11-26T10:01Z", "batch": "0019abf9bf360-1a2b3c4d",
            "raw_key": "raw/window=2026-11-26T10:01Z/batch=0019abf9bf360-1a2b3c4d.ndjson.gz",
            "shards": {}}"#;
        let cp: Checkpoint = serde_json::from_str(old).unwrap();
        assert_eq!(cp.routed, None);
        let new = Checkpoint {
            routed: Some(vec!["SEND".into(), "OPEN".into()]),
            ..cp
        };
        let json = serde_json::to_value(&new).unwrap();
        assert_eq!(json["routed"], serde_json::json!(["SEND", "OPEN"]));
        assert_eq!(serde_json::from_value::<Checkpoint>(json).unwrap(), new);
    }
}
