//! The local stand-in for Kinesis: file-backed shards with sequence numbers and arrival times.
//!
//! Each shard is an append-only log plus an index of fixed 16-byte entries (log offset, arrival
//! ms). A log record is a header (partition key length, data length, arrival ms and, in streams
//! created with checksums, a CRC-32 of all of the record before and after it), the key, then the
//! data; a record whose
//! bytes no longer match its checksum is refused as damaged when read. A record's sequence number is its log offset, so sequence numbers increase per shard and
//! AT_SEQUENCE_NUMBER is a binary search. Arrival times never go back within a shard, as in
//! Kinesis, so AT_TIMESTAMP is a binary search too. Writers hold an exclusive file lock on the
//! shard, so concurrent producers in any number of processes lose nothing.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::ports::{
    ErrorKind, PortError, PortResult, ReadBatch, ShardInfo, StartingPosition, Stream, StreamRecord,
};

/// A record's header without, and with, its checksum.
const HEADER: usize = 16;
const HEADER_WITH_CHECKSUM: usize = 20;
const INDEX_ENTRY: u64 = 16;
/// Kinesis's limit; the local stream keeps it so tests meet the real ceiling.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    shards: u32,
    /// Whether each record carries a CRC-32; streams created before checksums have none and
    /// are read as they were written.
    #[serde(default)]
    checksums: bool,
}

/// A record to put: the vendor's side of the stream.
#[derive(Debug, Clone)]
pub struct PutRecord {
    pub partition_key: String,
    pub data: Vec<u8>,
    /// Arrival time to stamp (tests and backfill); None stamps the current time.
    pub arrival_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    pub shard_id: String,
    pub sequence_number: String,
}

#[derive(Clone)]
pub struct LocalStream {
    dir: PathBuf,
    shards: u32,
    checksums: bool,
}

pub fn shard_id(index: u32) -> String {
    format!("shardId-{index:012}")
}

fn shard_index(id: &str) -> Option<u32> {
    id.strip_prefix("shardId-")?.parse().ok()
}

fn sequence_number(offset: u64) -> String {
    // Fixed width so that text order is numeric order, as with Kinesis's sequence numbers.
    format!("{offset:021}")
}

fn parse_sequence(text: &str, shard: &str) -> PortResult<u64> {
    text.parse().map_err(|_| {
        PortError::permanent(
            format!("reading {shard}"),
            format!("`{text}` is not a sequence number of this stream"),
        )
    })
}

/// Which shard a partition key maps to: MD5 of the key as a 128-bit number, with the hash key
/// range split evenly, as Kinesis does for a stream created with N shards.
pub fn shard_for_key(partition_key: &str, shards: u32) -> u32 {
    let digest = Md5::digest(partition_key.as_bytes());
    let hash = u128::from_be_bytes(digest.into());
    // hash * shards / 2^128, on the top 64 bits so the product cannot overflow.
    (((hash >> 64) * u128::from(shards.max(1))) >> 64) as u32
}

impl LocalStream {
    /// Opens the stream in `dir`, creating it with `shards` shards when it does not exist yet.
    pub fn open_or_create(dir: impl Into<PathBuf>, shards: u32) -> PortResult<LocalStream> {
        let dir = dir.into();
        let meta_path = dir.join("stream.json");
        let op = || format!("opening local stream {}", dir.display());
        match std::fs::read(&meta_path) {
            Ok(bytes) => {
                let meta: Meta = serde_json::from_slice(&bytes).map_err(|e| {
                    let logs = std::fs::read_dir(&dir)
                        .map(|d| {
                            d.flatten()
                                .filter(|f| f.file_name().to_string_lossy().ends_with(".log"))
                                .count()
                        })
                        .unwrap_or(0)
                        .max(1);
                    PortError::permanent(
                        op(),
                        format!(
                            "{} does not describe a stream ({e}): it must hold the shard count and whether records carry checksums, like {{\"shards\": {logs}, \"checksums\": true}} for the {logs} shard logs there (false for a stream created before pushfeed wrote checksums); write that into it",
                            meta_path.display()
                        ),
                    )
                })?;
                Ok(LocalStream {
                    dir,
                    shards: meta.shards,
                    checksums: meta.checksums,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if shards == 0 || shards > 1024 {
                    return Err(PortError::permanent(
                        op(),
                        "a stream needs between 1 and 1024 shards",
                    ));
                }
                std::fs::create_dir_all(&dir).map_err(|e| PortError::io(op(), e))?;
                let tmp = dir.join("stream.json.tmp");
                std::fs::write(
                    &tmp,
                    serde_json::to_vec(&Meta {
                        shards,
                        checksums: true,
                    })
                    .expect("meta serializes"),
                )
                .map_err(|e| PortError::io(op(), e))?;
                std::fs::rename(&tmp, &meta_path).map_err(|e| PortError::io(op(), e))?;
                Ok(LocalStream {
                    dir,
                    shards,
                    checksums: true,
                })
            }
            Err(e) => Err(PortError::io(op(), e)),
        }
    }

    /// Opens an existing stream; NotFound if nothing was ever produced into it.
    pub fn open(dir: impl Into<PathBuf>) -> PortResult<LocalStream> {
        let dir = dir.into();
        if !dir.join("stream.json").exists() {
            return Err(PortError::not_found(
                format!("opening local stream {}", dir.display()),
                "no records were produced yet: run `pushfeed produce` or `pushfeed generate` first",
            ));
        }
        LocalStream::open_or_create(dir, 1)
    }

    pub fn shard_count(&self) -> u32 {
        self.shards
    }

    fn header_len(&self) -> usize {
        if self.checksums {
            HEADER_WITH_CHECKSUM
        } else {
            HEADER
        }
    }

    fn log_path(&self, shard: u32) -> PathBuf {
        self.dir.join(format!("{}.log", shard_id(shard)))
    }

    fn index_path(&self, shard: u32) -> PathBuf {
        self.dir.join(format!("{}.idx", shard_id(shard)))
    }

    /// Puts records, stamping arrival times; like PutRecords, but all-or-error per shard.
    pub fn put_records(&self, records: Vec<PutRecord>) -> PortResult<Vec<PutResult>> {
        let mut by_shard: Vec<Vec<(usize, PutRecord)>> =
            (0..self.shards).map(|_| Vec::new()).collect();
        for (i, r) in records.into_iter().enumerate() {
            if r.data.len() > MAX_RECORD_BYTES
                || r.partition_key.is_empty()
                || r.partition_key.len() > 256
            {
                return Err(PortError::permanent(
                    "putting a record",
                    format!(
                        "record {i} breaks Kinesis's limits: data at most 1 MiB ({} bytes given), partition key 1-256 characters",
                        r.data.len()
                    ),
                ));
            }
            by_shard[shard_for_key(&r.partition_key, self.shards) as usize].push((i, r));
        }
        let mut results: Vec<Option<PutResult>> = Vec::new();
        for (shard, batch) in by_shard.into_iter().enumerate() {
            if batch.is_empty() {
                continue;
            }
            for (i, seq) in self.append(shard as u32, batch)? {
                if results.len() <= i {
                    results.resize(i + 1, None);
                }
                results[i] = Some(PutResult {
                    shard_id: shard_id(shard as u32),
                    sequence_number: seq,
                });
            }
        }
        Ok(results.into_iter().flatten().collect())
    }

    fn append(
        &self,
        shard: u32,
        batch: Vec<(usize, PutRecord)>,
    ) -> PortResult<Vec<(usize, String)>> {
        let op = || format!("appending to local {}", shard_id(shard));
        let mut log = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(self.log_path(shard))
            .map_err(|e| PortError::io(op(), e))?;
        log.lock().map_err(|e| PortError::io(op(), e))?;
        let index = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(self.index_path(shard))
            .map_err(|e| PortError::io(op(), e))?;
        // A crash between the log and index writes leaves a torn tail; the index is the truth.
        let index_len =
            index.metadata().map_err(|e| PortError::io(op(), e))?.len() / INDEX_ENTRY * INDEX_ENTRY;
        index
            .set_len(index_len)
            .map_err(|e| PortError::io(op(), e))?;
        let mut last_arrival = if index_len == 0 {
            i64::MIN
        } else {
            read_entry(&index, index_len / INDEX_ENTRY - 1)
                .map_err(|e| PortError::io(op(), e))?
                .1
        };
        let mut offset = log.metadata().map_err(|e| PortError::io(op(), e))?.len();
        let header_len = self.header_len();
        let now = crate::domain::window::now_ms();
        let mut log_out = BufWriter::with_capacity(1 << 20, &mut log);
        let mut index_out = Vec::with_capacity(batch.len() * INDEX_ENTRY as usize);
        let mut done = Vec::with_capacity(batch.len());
        for (i, r) in batch {
            let arrival = match r.arrival_ms {
                Some(t) if t < last_arrival => {
                    return Err(PortError::new(
                        ErrorKind::Permanent,
                        op(),
                        format!(
                            "arrival time {} is before the shard's latest arrival {}: arrival times never go back in a Kinesis shard; produce older traffic into a fresh --home",
                            crate::domain::window::format_timestamp_ms(t),
                            crate::domain::window::format_timestamp_ms(last_arrival)
                        ),
                    ))
                }
                Some(t) => t,
                // The wall clock may step back a little; arrival order must not.
                None => now.max(last_arrival),
            };
            last_arrival = arrival;
            let pk = r.partition_key.as_bytes();
            let mut header = [0u8; HEADER_WITH_CHECKSUM];
            header[..4].copy_from_slice(&(pk.len() as u32).to_le_bytes());
            header[4..8].copy_from_slice(&(r.data.len() as u32).to_le_bytes());
            header[8..16].copy_from_slice(&arrival.to_le_bytes());
            let sum = checksum(&header[..HEADER], pk, &r.data);
            header[16..].copy_from_slice(&sum.to_le_bytes());
            log_out
                .write_all(&header[..header_len])
                .map_err(|e| PortError::io(op(), e))?;
            log_out.write_all(pk).map_err(|e| PortError::io(op(), e))?;
            log_out
                .write_all(&r.data)
                .map_err(|e| PortError::io(op(), e))?;
            index_out.extend_from_slice(&offset.to_le_bytes());
            index_out.extend_from_slice(&arrival.to_le_bytes());
            done.push((i, sequence_number(offset)));
            offset += (header_len + pk.len() + r.data.len()) as u64;
        }
        log_out.flush().map_err(|e| PortError::io(op(), e))?;
        drop(log_out);
        index
            .write_all_at(&index_out, index_len)
            .map_err(|e| PortError::io(op(), e))?;
        // Dropping `log` releases the lock.
        Ok(done)
    }

    fn read_sync(
        &self,
        shard_id_text: &str,
        from: &StartingPosition,
        limit: usize,
    ) -> PortResult<ReadBatch> {
        let op = || format!("reading local {shard_id_text}");
        let shard = shard_index(shard_id_text)
            .filter(|s| *s < self.shards)
            .ok_or_else(|| {
                PortError::not_found(
                    op(),
                    format!("the stream has shards 0 to {}", self.shards - 1),
                )
            })?;
        let (index, log) = match (
            File::open(self.index_path(shard)),
            File::open(self.log_path(shard)),
        ) {
            (Ok(i), Ok(l)) => (i, l),
            _ => {
                return Ok(ReadBatch {
                    records: Vec::new(),
                    millis_behind_latest: 0,
                    next: Some(from.clone()),
                })
            }
        };
        let count = index.metadata().map_err(|e| PortError::io(op(), e))?.len() / INDEX_ENTRY;
        let entry = |i: u64| read_entry(&index, i).map_err(|e| PortError::io(op(), e));
        let first = match from {
            StartingPosition::TrimHorizon => 0,
            StartingPosition::AtTimestamp(t) => partition_point(count, |i| Ok(entry(i)?.1 < *t))?,
            StartingPosition::AtSequenceNumber(s) | StartingPosition::AfterSequenceNumber(s) => {
                let want = parse_sequence(s, shard_id_text)?;
                let i = partition_point(count, |i| Ok(entry(i)?.0 < want))?;
                if i >= count || entry(i)?.0 != want {
                    return Err(PortError::new(
                        ErrorKind::NotFound,
                        op(),
                        format!("sequence number {s} is not in this shard"),
                    ));
                }
                if matches!(from, StartingPosition::AfterSequenceNumber(_)) {
                    i + 1
                } else {
                    i
                }
            }
        };
        let last = (first + limit as u64).min(count);
        let mut records = Vec::with_capacity((last - first) as usize);
        let log_len = log.metadata().map_err(|e| PortError::io(op(), e))?.len();
        let header_len = self.header_len();
        for i in first..last {
            let (offset, arrival) = entry(i)?;
            let mut header = [0u8; HEADER_WITH_CHECKSUM];
            log.read_exact_at(&mut header[..header_len], offset)
                .map_err(|e| PortError::io(op(), e))?;
            let pk_len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
            let data_len = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes")) as usize;
            // Damaged bytes must not turn into a multi-gigabyte allocation.
            if pk_len > 256
                || data_len > MAX_RECORD_BYTES
                || offset + (header_len + pk_len + data_len) as u64 > log_len
            {
                return Err(PortError::permanent(
                    op(),
                    format!(
                        "{} is damaged at byte {offset}: the record there claims a {pk_len}-byte partition key and {data_len} bytes of data, past Kinesis's limits or the log's end; a re-run reads the window from the raw archive instead",
                        self.log_path(shard).display()
                    ),
                ));
            }
            let mut body = vec![0u8; pk_len + data_len];
            log.read_exact_at(&mut body, offset + header_len as u64)
                .map_err(|e| PortError::io(op(), e))?;
            let data = body.split_off(pk_len);
            if self.checksums {
                let stored = u32::from_le_bytes(header[16..20].try_into().expect("4 bytes"));
                if stored != checksum(&header[..HEADER], &body, &data) {
                    return Err(PortError::permanent(
                        op(),
                        format!(
                            "{} is damaged at byte {offset}: the record's bytes do not match its checksum; a re-run reads the window from the raw archive instead",
                            self.log_path(shard).display()
                        ),
                    ));
                }
            }
            records.push(StreamRecord {
                sequence_number: sequence_number(offset),
                arrival_ms: arrival,
                partition_key: String::from_utf8_lossy(&body).into_owned(),
                data,
            });
        }
        let tip_arrival = if count == 0 { 0 } else { entry(count - 1)?.1 };
        let millis_behind_latest = match records.last() {
            Some(r) if last < count => (tip_arrival - r.arrival_ms).max(1),
            _ => 0,
        };
        let next = match records.last() {
            Some(r) => StartingPosition::AfterSequenceNumber(r.sequence_number.clone()),
            None => from.clone(),
        };
        Ok(ReadBatch {
            records,
            millis_behind_latest,
            next: Some(next),
        })
    }
}

/// CRC-32 of a record's lengths and arrival (the header before the checksum), partition key
/// and data, as its header stores it.
fn checksum(lengths_and_arrival: &[u8], partition_key: &[u8], data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(lengths_and_arrival);
    h.update(partition_key);
    h.update(data);
    h.finalize()
}

fn read_entry(index: &File, i: u64) -> std::io::Result<(u64, i64)> {
    let mut buf = [0u8; INDEX_ENTRY as usize];
    index.read_exact_at(&mut buf, i * INDEX_ENTRY)?;
    Ok((
        u64::from_le_bytes(buf[..8].try_into().expect("8 bytes")),
        i64::from_le_bytes(buf[8..].try_into().expect("8 bytes")),
    ))
}

/// The first index in `0..count` for which `before` is false (`before` must be monotone).
fn partition_point(count: u64, mut before: impl FnMut(u64) -> PortResult<bool>) -> PortResult<u64> {
    let (mut lo, mut hi) = (0, count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid)? {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

#[async_trait]
impl Stream for LocalStream {
    async fn list_shards(&self) -> PortResult<Vec<ShardInfo>> {
        Ok((0..self.shards)
            .map(|i| ShardInfo {
                shard_id: shard_id(i),
                parent_shard_id: None,
                adjacent_parent_shard_id: None,
                ending_sequence_number: None,
            })
            .collect())
    }

    async fn read(
        &self,
        shard_id: &str,
        from: &StartingPosition,
        limit: usize,
    ) -> PortResult<ReadBatch> {
        let (me, shard, from) = (self.clone(), shard_id.to_string(), from.clone());
        tokio::task::spawn_blocking(move || me.read_sync(&shard, &from, limit))
            .await
            .map_err(|e| PortError::permanent(format!("reading local {shard_id}"), e))?
    }
}

impl LocalStream {
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A stream that is not there (its directory was removed): every call answers NotFound with the
/// reason, so a re-run with a checkpoint falls back to the raw archive and a first run fails
/// naming the missing stream.
pub struct MissingStream {
    why: PortError,
}

impl MissingStream {
    pub fn new(why: PortError) -> MissingStream {
        MissingStream { why }
    }

    fn error(&self) -> PortError {
        PortError::not_found(self.why.operation.clone(), self.why.source.to_string())
    }
}

#[async_trait]
impl Stream for MissingStream {
    async fn list_shards(&self) -> PortResult<Vec<ShardInfo>> {
        Err(self.error())
    }

    async fn read(
        &self,
        _shard_id: &str,
        _from: &StartingPosition,
        _limit: usize,
    ) -> PortResult<ReadBatch> {
        Err(self.error())
    }
}
