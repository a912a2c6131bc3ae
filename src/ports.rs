//! Ports: the traits the steps talk to. Each has an AWS adapter and a local one; the steps never
//! know which.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::sql::{Dialect, Statement};

/// The cause of a [`PortError`]: the service's or the library's own error, kept as it was.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An error from an adapter. `kind` says whether trying again may succeed; the steps turn it
/// into `Pushfeed.Transient` (retried by the state machine) or a permanent error.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {source}")]
pub struct PortError {
    /// What was attempted, naming the key, shard, stream or table, e.g. "reading object raw/...".
    pub operation: String,
    /// Why it failed: the SDK's, the I/O or the database error (or a sentence, when the adapter
    /// itself found the problem).
    #[source]
    pub source: BoxError,
    pub kind: ErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    AlreadyExists,
    /// Throttling, timeouts, connection loss, serialization failures: worth retrying.
    Transient,
    /// Bad request, missing permissions, SQL errors: retrying will not help.
    Permanent,
    /// Data older than the stream's retention: read the raw archive instead.
    Trimmed,
}

impl PortError {
    pub fn new(
        kind: ErrorKind,
        operation: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> PortError {
        PortError {
            operation: operation.into(),
            source: source.into(),
            kind,
        }
    }

    pub fn transient(operation: impl Into<String>, source: impl Into<BoxError>) -> PortError {
        PortError::new(ErrorKind::Transient, operation, source)
    }

    pub fn permanent(operation: impl Into<String>, source: impl Into<BoxError>) -> PortError {
        PortError::new(ErrorKind::Permanent, operation, source)
    }

    pub fn not_found(operation: impl Into<String>, source: impl Into<BoxError>) -> PortError {
        PortError::new(ErrorKind::NotFound, operation, source)
    }

    /// The cause, if it is of type `E` (e.g. [`crate::object_lines::NotGzip`]).
    pub fn cause<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.source.downcast_ref::<E>()
    }

    /// The cause taken out, if it is of type `E`, for a caller that reports it under its own
    /// words; otherwise the error as it was.
    pub fn into_cause<E: std::error::Error + Send + Sync + 'static>(self) -> Result<E, PortError> {
        match self.source.downcast::<E>() {
            Ok(cause) => Ok(*cause),
            Err(source) => Err(PortError {
                operation: self.operation,
                source,
                kind: self.kind,
            }),
        }
    }

    /// Classifies an I/O error: running out of something or being interrupted may pass.
    pub fn io(operation: impl Into<String>, e: std::io::Error) -> PortError {
        use std::io::ErrorKind as K;
        let kind = match e.kind() {
            K::NotFound => ErrorKind::NotFound,
            K::AlreadyExists => ErrorKind::AlreadyExists,
            K::Interrupted | K::TimedOut | K::WouldBlock | K::StorageFull | K::ResourceBusy => {
                ErrorKind::Transient
            }
            _ => ErrorKind::Permanent,
        };
        PortError::new(kind, operation, e)
    }
}

pub type PortResult<T> = Result<T, PortError>;

// ---------------------------------------------------------------------------------------------
// Stream (Kinesis)

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub shard_id: String,
    pub parent_shard_id: Option<String>,
    pub adjacent_parent_shard_id: Option<String>,
    /// Set once the shard is closed by a reshard; it still holds records until retention ends.
    pub ending_sequence_number: Option<String>,
}

/// Where a read starts, with Kinesis's iterator semantics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartingPosition {
    TrimHorizon,
    /// The first record whose arrival time is at or after this instant (epoch ms).
    AtTimestamp(i64),
    AtSequenceNumber(String),
    AfterSequenceNumber(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    pub sequence_number: String,
    /// ApproximateArrivalTimestamp, epoch ms.
    pub arrival_ms: i64,
    pub partition_key: String,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBatch {
    pub records: Vec<StreamRecord>,
    /// How far the last record is behind the shard's tip; 0 means the read is at the tip.
    pub millis_behind_latest: i64,
    /// None when the shard is closed and fully read.
    pub next: Option<StartingPosition>,
}

#[async_trait]
pub trait Stream: Send + Sync {
    /// Every shard, open and closed, including parents after a reshard.
    async fn list_shards(&self) -> PortResult<Vec<ShardInfo>>;
    /// Up to `limit` records of a shard from a position.
    async fn read(
        &self,
        shard_id: &str,
        from: &StartingPosition,
        limit: usize,
    ) -> PortResult<ReadBatch>;
}

// ---------------------------------------------------------------------------------------------
// Producer (Kinesis PutRecords)

/// PutRecords' limits: 500 records and 5 MiB (data and partition keys) per call.
pub const PUT_MAX_RECORDS: usize = 500;
pub const PUT_MAX_BYTES: usize = 5 * 1024 * 1024;
/// The error code Kinesis gives a record refused for exceeding its shard's write limit.
pub const THROTTLED: &str = "ProvisionedThroughputExceededException";

/// One record to put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutEntry {
    pub partition_key: String,
    pub data: Vec<u8>,
}

/// A stream that takes PutRecords calls, as the vendor writes into Kinesis: the load generator's
/// port (not one the steps use).
#[async_trait]
pub trait Producer: Send + Sync {
    /// What the report calls the target, e.g. `local stream .pushfeed/stream/pushfeed`.
    fn describe(&self) -> String;
    /// One PutRecords call (at most [`PUT_MAX_RECORDS`] records, [`PUT_MAX_BYTES`] bytes). The
    /// outcome is per record, in input order: `None` stored, `Some(code)` refused (a partial
    /// failure, like Kinesis's `FailedRecordCount`). `Err` means the whole call failed.
    async fn put_records(&self, records: &[PutEntry]) -> PortResult<Vec<Option<String>>>;
}

// ---------------------------------------------------------------------------------------------
// ObjectStore (S3)

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
}

/// An object being written in parts; nothing is visible under its key until `finish`.
#[async_trait]
pub trait ObjectWriter: Send {
    async fn write(&mut self, bytes: &[u8]) -> PortResult<()>;
    async fn finish(self: Box<Self>) -> PortResult<ObjectMeta>;
}

/// An object being read front to back in parts, so that a large object never sits whole in
/// memory (S3: one GetObject whose body is consumed as it arrives).
#[async_trait]
pub trait ObjectReader: Send {
    /// Appends the object's next bytes to `out`, at most `max` of them, and returns how many it
    /// appended: fewer than `max` only at the end of the object, 0 once it is exhausted.
    async fn read_into(&mut self, out: &mut Vec<u8>, max: usize) -> PortResult<usize>;
}

/// The fallback [`ObjectStore::reader`]: the object read whole, then handed out in parts.
struct WholeObjectReader {
    bytes: Vec<u8>,
    pos: usize,
}

#[async_trait]
impl ObjectReader for WholeObjectReader {
    async fn read_into(&mut self, out: &mut Vec<u8>, max: usize) -> PortResult<usize> {
        let end = self.pos.saturating_add(max).min(self.bytes.len());
        out.extend_from_slice(&self.bytes[self.pos..end]);
        let n = end - self.pos;
        self.pos = end;
        Ok(n)
    }
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> PortResult<()>;
    /// Writes only if nothing is stored under the key; `AlreadyExists` otherwise.
    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> PortResult<()>;
    async fn get(&self, key: &str) -> PortResult<Vec<u8>>;
    /// The object under `key`, or `None` when nothing is stored there. Steps that expect a key
    /// may be absent (a window's first checkpoint lookup) ask this, never `get` and its
    /// `NotFound`: S3 reports a missing key as 403 AccessDenied to a caller that may not list the
    /// bucket, so an S3 adapter decides absence by listing. The default reads with `get`, for
    /// stores whose reads report absence truthfully (the local directory).
    async fn get_if_exists(&self, key: &str) -> PortResult<Option<Vec<u8>>> {
        match self.get(key).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
    /// Every object whose key starts with `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> PortResult<Vec<ObjectMeta>>;
    /// Starts a streamed write, for objects too large to hold in memory.
    async fn writer(&self, key: &str) -> PortResult<Box<dyn ObjectWriter>>;
    /// Starts a streamed read, for objects too large to hold in memory; `NotFound` if the key
    /// holds nothing. The default reads the object whole with `get` and hands it out in parts:
    /// correct, but not bounded, so adapters override it (the local store reads its file in
    /// parts; an S3 adapter consumes the GetObject body as it arrives).
    async fn reader(&self, key: &str) -> PortResult<Box<dyn ObjectReader>> {
        Ok(Box::new(WholeObjectReader {
            bytes: self.get(key).await?,
            pos: 0,
        }))
    }
    /// The `s3://bucket/key` form of a key, as a COPY manifest names it.
    fn url(&self, key: &str) -> String;
}

// ---------------------------------------------------------------------------------------------
// Delivery (Firehose)

/// Per-record result of a batch put, in input order; `Some(code)` means that record failed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PutOutcome {
    pub failed: Vec<Option<String>>,
}

impl PutOutcome {
    pub fn failed_count(&self) -> usize {
        self.failed.iter().filter(|f| f.is_some()).count()
    }
}

/// PutRecordBatch's limits, which every Delivery adapter enforces.
pub const DELIVERY_MAX_BATCH_RECORDS: usize = 500;
pub const DELIVERY_MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;
pub const DELIVERY_MAX_RECORD_BYTES: usize = 1000 * 1024;

#[async_trait]
pub trait Delivery: Send + Sync {
    /// PutRecordBatch: at most 500 records and 4 MiB. Partial failure is not an error.
    async fn put_batch(&self, stream: &str, records: &[&[u8]]) -> PortResult<PutOutcome>;
}

// ---------------------------------------------------------------------------------------------
// Warehouse (Redshift Data API)

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LoadCounts {
    /// Rows of this batch in the delivered objects, duplicates included.
    pub rows_staged: u64,
    /// Events new to the table.
    pub rows_inserted: u64,
    /// Rows replaced by an earlier-arrived copy of the same event.
    pub rows_replaced: u64,
    /// Events of the batch already in the table as they are (a re-run, or a concurrent one).
    pub rows_unchanged: u64,
}

/// One load transaction: the statements of [`crate::domain::sql::load_statements`], plus the
/// delivered objects for adapters that stream them into the stage themselves.
#[derive(Debug, Clone)]
pub struct LoadJob {
    pub table: String,
    pub statements: Vec<Statement>,
    pub objects: Vec<String>,
    /// The staging rows' keys the stage is filled from, in the COPY's column order
    /// ([`crate::domain::sql::loaded_columns`]).
    pub columns: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl QueryResult {
    /// The column names made unique, for results keyed by name (JSON objects): a repeated name
    /// gets `_2`, `_3`... (skipping names the result already has), so no column is dropped.
    pub fn unique_columns(&self) -> Vec<String> {
        let mut taken: std::collections::HashSet<String> = self.columns.iter().cloned().collect();
        let mut seen = std::collections::HashSet::new();
        self.columns
            .iter()
            .map(|c| {
                if seen.insert(c.clone()) {
                    return c.clone();
                }
                let name = (2..)
                    .map(|n| format!("{c}_{n}"))
                    .find(|n| !taken.contains(n))
                    .expect("an unused name");
                taken.insert(name.clone());
                name
            })
            .collect()
    }
}

#[async_trait]
pub trait Warehouse: Send + Sync {
    fn dialect(&self) -> Dialect;
    /// Runs DDL statements, each idempotent.
    async fn apply_schema(&self, statements: &[String]) -> PortResult<()>;
    /// Runs the load in one transaction.
    async fn load(&self, job: &LoadJob) -> PortResult<LoadCounts>;
    /// A read-only query for the CLI and tests, values as text.
    async fn query(&self, sql: &str) -> PortResult<QueryResult>;
}

// ---------------------------------------------------------------------------------------------
// Notifier (SNS)

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub subject: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
}

#[async_trait]
pub trait Notifier: Send + Sync {
    /// Publishes a message and returns its id.
    async fn publish(&self, message: &Message) -> PortResult<String>;
}

// ---------------------------------------------------------------------------------------------
// Clock

/// The current time; a port so tests and the local executor's virtual clock can set it.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        crate::domain::window::now_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_column_names_are_made_unique_without_taking_an_existing_one() {
        let r = QueryResult {
            columns: ["a", "a", "a_2", "b", "a"].map(String::from).to_vec(),
            rows: vec![],
        };
        assert_eq!(r.unique_columns(), ["a", "a_3", "a_2", "b", "a_4"]);
    }
}
