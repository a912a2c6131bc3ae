//! The local stand-in for Kinesis Data Firehose: one durable buffer per delivery stream, flushed
//! into objects under `events/<type>/window=W/` once it is old or large enough.
//!
//! Like Firehose it is at-least-once: a buffer is renamed before it is flushed and deleted after,
//! so a crash in between flushes it again on the next start (duplicates, never loss). Like
//! Firehose's dynamic partitioning it reads each record's `window` key to pick the partition, and
//! records without one go to the error prefix.
//!
//! A buffer is `[first record's time: 8 bytes]` then, per batch, `[length: 4][record]...` frames
//! closed by a commit frame `[u32::MAX][batch bytes: 4]`. A crash mid-append leaves a batch
//! without its commit frame; the next append sees that at once and cuts the buffer back to its
//! last whole record before writing, so a torn length never swallows the records behind it.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::domain::keys::ObjectKey;
use crate::domain::routes::RoutingTable;
use crate::domain::window::{now_ms, Window};
use crate::ports::{Delivery, ObjectStore, PortError, PortResult, PutOutcome};

use crate::ports::{
    DELIVERY_MAX_BATCH_BYTES as MAX_BATCH_BYTES, DELIVERY_MAX_BATCH_RECORDS as MAX_BATCH_RECORDS,
    DELIVERY_MAX_RECORD_BYTES as MAX_RECORD_BYTES,
};

#[derive(Debug, Clone, Copy)]
pub struct BufferHints {
    /// Flush a buffer this long after its first record (Firehose: 60 s minimum with dynamic
    /// partitioning; locally much shorter so a demo takes seconds).
    pub interval: Duration,
    /// Flush a buffer once it holds this many bytes.
    pub size_bytes: u64,
    pub gzip: bool,
}

impl Default for BufferHints {
    fn default() -> BufferHints {
        BufferHints {
            interval: Duration::from_millis(500),
            size_bytes: 64 * 1024 * 1024,
            gzip: true,
        }
    }
}

pub struct LocalFirehose {
    dir: PathBuf,
    store: Arc<dyn ObjectStore>,
    routes: RoutingTable,
    hints: BufferHints,
    /// Why the last flush could not write into the bucket, until a flush succeeds again. Like
    /// Firehose, the stand-in keeps the records and retries; unlike AWS, there is no delivery
    /// log to look in, so the run reports this itself.
    problem: std::sync::Mutex<Option<String>>,
}

static OBJECT_COUNTER: AtomicU64 = AtomicU64::new(0);

impl LocalFirehose {
    pub fn new(
        dir: impl Into<PathBuf>,
        store: Arc<dyn ObjectStore>,
        routes: RoutingTable,
        hints: BufferHints,
    ) -> LocalFirehose {
        LocalFirehose {
            dir: dir.into(),
            store,
            routes,
            hints,
            problem: std::sync::Mutex::new(None),
        }
    }

    /// Why delivery into the bucket is failing now, if it is: the flusher's last error.
    pub fn delivery_problem(&self) -> Option<String> {
        self.problem.lock().map_or(None, |p| p.clone())
    }

    /// Records the outcome of a background flush, saying so on stderr when a new problem
    /// starts: a run may otherwise wait out every AwaitObjects check before the cause shows.
    fn note_flush(&self, result: &PortResult<usize>) {
        let Ok(mut problem) = self.problem.lock() else {
            return;
        };
        match result {
            Ok(_) => *problem = None,
            Err(e) => {
                let text = e.to_string();
                if problem.as_deref() != Some(text.as_str()) {
                    eprintln!(
                        "pushfeed: the Firehose stand-in cannot write delivered objects into the bucket: {text}; the records wait under {} and are delivered once it is writable",
                        self.dir.display()
                    );
                    *problem = Some(text);
                }
            }
        }
    }

    fn stream_dir(&self, stream: &str) -> PathBuf {
        self.dir.join(stream)
    }

    /// Appends the first half of a batch's bytes and stops, as a crash mid-append does: the
    /// fault layer's `delivery_torn_append`, so chaos runs prove the next append recovers.
    pub fn tear_append(&self, stream: &str, records: &[&[u8]]) -> PortResult<()> {
        let framed = frame(records);
        let cut = (framed.len() / 2).max(1);
        append_buffer(&self.stream_dir(stream), &framed[..cut])
            .map_err(|e| PortError::io(format!("tearing an append to {stream}"), e))
    }

    /// Flushes every buffer that is due, or every buffer when `force` is set. Returns the number
    /// of objects written.
    pub async fn flush(&self, force: bool) -> PortResult<usize> {
        let mut written = 0;
        for route in self.routes.routes() {
            written += self
                .flush_stream(&route.delivery_stream, &route.event_type, force)
                .await?;
        }
        Ok(written)
    }

    async fn flush_stream(&self, stream: &str, event_type: &str, force: bool) -> PortResult<usize> {
        let dir = self.stream_dir(stream);
        let op = || format!("flushing local delivery stream {stream}");
        let hints = self.hints;
        let claimed = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || claim_due(&dir, hints, force))
                .await
                .map_err(|e| PortError::permanent(op(), e))?
                .map_err(|e| PortError::io(op(), e))?
        };
        let mut written = 0;
        for path in claimed {
            // Another process's flusher may have taken this file first: that is its to write.
            let bytes = match tokio::fs::read(&path).await {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(PortError::io(op(), e)),
            };
            written += self.write_objects(stream, event_type, &bytes).await?;
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(PortError::io(op(), e)),
            }
        }
        Ok(written)
    }

    async fn write_objects(
        &self,
        stream: &str,
        event_type: &str,
        buffer: &[u8],
    ) -> PortResult<usize> {
        // Records are referenced in the buffer, not copied: a buffer holds up to 64 MiB.
        let mut partitions: BTreeMap<Option<Window>, Vec<&[u8]>> = BTreeMap::new();
        let mut rest = buffer.get(8..).unwrap_or_default();
        while rest.len() >= 4 {
            let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
            if len == COMMIT as usize {
                rest = rest.get(8..).unwrap_or_default();
                continue;
            }
            let Some(record) = rest.get(4..4 + len) else {
                break;
            };
            partitions
                .entry(partition_of(record))
                .or_default()
                .push(record);
            rest = &rest[4 + len..];
        }
        let stamp = now_ms();
        let mut written = 0;
        for (window, records) in partitions {
            let n = OBJECT_COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!(
                "{stream}-{stamp}-{}-{n}.ndjson{}",
                std::process::id(),
                if self.hints.gzip { ".gz" } else { "" }
            );
            let key = match window {
                Some(window) => ObjectKey::Delivered {
                    event_type: event_type.to_string(),
                    window,
                    name,
                }
                .to_string(),
                None => format!("firehose-errors/{stream}/partitioning-failed/{name}"),
            };
            let body = if self.hints.gzip {
                gzip(&records)
            } else {
                records.concat()
            };
            self.store.put(&key, body).await?;
            written += 1;
        }
        Ok(written)
    }

    /// Flushes due buffers until `stop` resolves, then once more for everything.
    pub async fn run_flusher(
        self: Arc<Self>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> PortResult<()> {
        let tick = (self.hints.interval / 4).max(Duration::from_millis(10));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(tick) => {
                    // Firehose retries a failed S3 delivery; so does the stand-in, on the next tick.
                    let result = self.flush(false).await;
                    self.note_flush(&result);
                }
                _ = stop.changed() => { break; }
            }
        }
        self.flush(true).await.map(|_| ())
    }
}

/// The length field of a commit frame, which closes each appended batch.
const COMMIT: u32 = u32::MAX;

/// The records of one batch as the buffer file frames them: each one's length, then its bytes,
/// then the commit frame with the batch's size.
fn frame(records: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.iter().map(|r| r.len() + 4).sum::<usize>() + 8);
    for r in records {
        out.extend_from_slice(&(r.len() as u32).to_le_bytes());
        out.extend_from_slice(r);
    }
    let size = out.len() as u32;
    out.extend_from_slice(&COMMIT.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out
}

/// Where the buffer's whole records end: its length if it ends with a commit frame (the common
/// case, one read), else the end of its last whole frame, found by walking the frames.
fn whole_length(file: &std::fs::File) -> std::io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata()?.len();
    if len <= 8 {
        return Ok(if len == 8 { 8 } else { 0 });
    }
    let mut tail = [0u8; 8];
    if len >= 16 {
        file.read_exact_at(&mut tail, len - 8)?;
        let size = u64::from(u32::from_le_bytes(tail[4..].try_into().expect("4 bytes")));
        if tail[..4] == COMMIT.to_le_bytes() && size + 16 <= len {
            return Ok(len);
        }
    }
    let mut pos = 8;
    let mut head = [0u8; 4];
    loop {
        if pos + 4 > len {
            return Ok(pos);
        }
        file.read_exact_at(&mut head, pos)?;
        let n = u32::from_le_bytes(head);
        let next = if n == COMMIT {
            pos + 8
        } else if n as usize <= MAX_RECORD_BYTES {
            pos + 4 + u64::from(n)
        } else {
            return Ok(pos);
        };
        if next > len {
            return Ok(pos);
        }
        pos = next;
    }
}

/// Appends framed records to a stream's buffer under an exclusive lock. The buffer starts with
/// the time of its first record, which decides when it is due.
fn append_buffer(dir: &std::path::Path, out: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    loop {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(dir.join("buffer"))?;
        file.lock()?;
        // A flusher may have claimed (renamed) the buffer between our open and our lock; writing
        // into a claimed buffer could come after its flush. Start again on the new buffer.
        if !is_current(&file, &dir.join("buffer"))? {
            continue;
        }
        // A crash mid-append left a batch cut short: its sender saw no answer and re-sends it,
        // so the torn part goes, and the records before it stay.
        let whole = whole_length(&file)?;
        if whole < file.metadata()?.len() {
            file.set_len(whole)?;
        }
        if whole == 0 {
            file.write_all(&now_ms().to_le_bytes())?;
        }
        return file.write_all(out);
    }
}

/// Whether `file` is still the one at `path` (not renamed away since it was opened).
fn is_current(file: &std::fs::File, path: &std::path::Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.ino() == file.metadata()?.ino() && m.dev() == file.metadata()?.dev()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Renames the due buffer (if any) to a claimed file and returns every claimed file, including
/// ones left by a crashed flush.
fn claim_due(
    dir: &std::path::Path,
    hints: BufferHints,
    force: bool,
) -> std::io::Result<Vec<PathBuf>> {
    let buffer = dir.join("buffer");
    if let Ok(file) = OpenOptions::new().read(true).write(true).open(&buffer) {
        file.lock()?;
        // Another process's flusher may have claimed it between our open and our lock.
        if !is_current(&file, &buffer)? {
            return list_claimed(dir);
        }
        let len = file.metadata()?.len();
        let mut first = [0u8; 8];
        let due = len >= 8 && {
            use std::os::unix::fs::FileExt;
            file.read_exact_at(&mut first, 0)?;
            let age = now_ms() - i64::from_le_bytes(first);
            force || age >= hints.interval.as_millis() as i64 || len >= hints.size_bytes
        };
        if due {
            let n = OBJECT_COUNTER.fetch_add(1, Ordering::Relaxed);
            std::fs::rename(
                &buffer,
                dir.join(format!("claimed-{}-{}-{n}", now_ms(), std::process::id())),
            )?;
        }
    }
    list_claimed(dir)
}

/// Every claimed buffer of the stream, oldest first.
fn list_claimed(dir: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
    let mut claimed: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("claimed-"))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    claimed.sort();
    Ok(claimed)
}

/// The window a record is partitioned by: its `window` key, like a JQ `.window` query.
fn partition_of(record: &[u8]) -> Option<Window> {
    #[derive(serde::Deserialize)]
    struct Tag<'a> {
        #[serde(borrow)]
        window: std::borrow::Cow<'a, str>,
    }
    let line = record.strip_suffix(b"\n").unwrap_or(record);
    serde_json::from_slice::<Tag>(line)
        .ok()?
        .window
        .parse()
        .ok()
}

fn gzip(records: &[&[u8]]) -> Vec<u8> {
    let size: usize = records.iter().map(|r| r.len()).sum();
    let mut enc = GzEncoder::new(Vec::with_capacity(size / 4), Compression::fast());
    // Records are small: the encoder is handed blocks, as it zeroes its buffer on every write.
    let mut block = Vec::with_capacity(256 << 10);
    for record in records {
        block.extend_from_slice(record);
        if block.len() >= 256 << 10 {
            enc.write_all(&block).expect("writing to a Vec cannot fail");
            block.clear();
        }
    }
    enc.write_all(&block).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

#[async_trait]
impl Delivery for LocalFirehose {
    async fn put_batch(&self, stream: &str, records: &[&[u8]]) -> PortResult<PutOutcome> {
        let op = || {
            format!(
                "putting {} records into local delivery stream {stream}",
                records.len()
            )
        };
        if self.routes.for_stream(stream).is_none() {
            return Err(PortError::not_found(
                op(),
                "no route names this delivery stream",
            ));
        }
        let total: usize = records.iter().map(|r| r.len()).sum();
        if records.len() > MAX_BATCH_RECORDS || total > MAX_BATCH_BYTES {
            return Err(PortError::permanent(
                op(),
                "a batch takes at most 500 records and 4 MiB",
            ));
        }
        if let Some(i) = records.iter().position(|r| r.len() > MAX_RECORD_BYTES) {
            return Err(PortError::permanent(
                op(),
                format!("record {i} is over 1,000 KiB"),
            ));
        }
        let dir = self.stream_dir(stream);
        // One copy, framed here: the blocking thread only writes it.
        let framed = frame(records);
        tokio::task::spawn_blocking(move || append_buffer(&dir, &framed))
            .await
            .map_err(|e| PortError::permanent(op(), e))?
            .map_err(|e| PortError::io(op(), e))?;
        Ok(PutOutcome {
            failed: vec![None; records.len()],
        })
    }
}

#[cfg(test)]
mod torn_tail_tests {
    use super::*;

    fn records_of(buffer: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut rest = buffer.get(8..).unwrap_or_default();
        while rest.len() >= 4 {
            let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
            if len == COMMIT as usize {
                rest = rest.get(8..).unwrap_or_default();
                continue;
            }
            let Some(r) = rest.get(4..4 + len) else { break };
            out.push(r.to_vec());
            rest = &rest[4 + len..];
        }
        out
    }

    /// A crash at any byte of an append: the next append keeps every whole record before the
    /// cut and all of its own, and no torn length swallows them.
    #[test]
    fn an_append_after_a_crash_at_any_offset_loses_nothing_whole() {
        let dir = tempfile::tempdir().unwrap();
        let first: Vec<&[u8]> = vec![b"{\"window\":\"a\"}\n", b"{\"b\":1}\n"];
        let second: Vec<&[u8]> = vec![b"{\"c\":2}\n", b"{\"d\":3}\n", b"{\"e\":4}\n"];
        let third: Vec<&[u8]> = vec![b"{\"f\":5}\n"];
        append_buffer(dir.path(), &frame(&first)).unwrap();
        let before = std::fs::metadata(dir.path().join("buffer")).unwrap().len();
        append_buffer(dir.path(), &frame(&second)).unwrap();
        let full = std::fs::read(dir.path().join("buffer")).unwrap();
        for cut in before..full.len() as u64 {
            let path = dir.path().join("buffer");
            std::fs::write(&path, &full[..cut as usize]).unwrap();
            append_buffer(dir.path(), &frame(&third)).unwrap();
            let got = records_of(&std::fs::read(&path).unwrap());
            // The second batch's whole records survive (its sender re-sends them anyway).
            let whole_second = {
                let mut pos = before as usize;
                let mut n = 0;
                for r in &second {
                    pos += 4 + r.len();
                    if pos <= cut as usize {
                        n += 1;
                    }
                }
                n
            };
            let mut want: Vec<Vec<u8>> = first.iter().map(|r| r.to_vec()).collect();
            want.extend(second.iter().take(whole_second).map(|r| r.to_vec()));
            want.extend(third.iter().map(|r| r.to_vec()));
            assert_eq!(got, want, "cut at byte {cut} of {}", full.len());
        }
        // A cut inside the first record's time stamp starts a fresh buffer.
        for cut in 0..8 {
            let path = dir.path().join("buffer");
            std::fs::write(&path, &full[..cut]).unwrap();
            append_buffer(dir.path(), &frame(&third)).unwrap();
            let got = records_of(&std::fs::read(&path).unwrap());
            assert_eq!(got, vec![third[0].to_vec()], "cut at byte {cut}");
        }
    }
}
