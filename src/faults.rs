//! Fault injection over the ports: wrappers that implement [`Stream`], [`ObjectStore`],
//! [`Delivery`], [`Warehouse`] and [`Notifier`] around real adapters and, driven by a seed and a
//! probability per kind of fault, make them fail the way AWS does.
//!
//! Where the port allows it, a fault happens either *before* the side effect (the request is
//! refused, nothing changed) or *after* it (the side effect took place, then the caller saw an
//! error, as when a task crashes after Firehose accepted its records or after the load transaction
//! committed). The second kind is what tests exactly-once: the caller retries a request that
//! already took effect.
//!
//! Every injected fault is counted by kind in a shared [`FaultLog`], so a chaos run can show that
//! each kind happened. Decisions are deterministic for a seed and a sequence of calls per kind:
//! the n-th decision about a kind is a hash of (seed, kind, n), whichever task asks.
//!
//! ```text
//! let faults = Faults::new(FaultProfile::parse("ci", 7)?);
//! let stream = FaultyStream::new(Arc::new(stream), faults.clone());
//! let store = FaultyStore::new(stack.store.clone(), faults.clone());
//! let delivery = FaultyDelivery::new(stack.firehose.clone(), faults.clone());
//! let warehouse = FaultyWarehouse::new(stack.warehouse.clone(), faults.clone());
//! let notifier = FaultyNotifier::new(stack.outbox.clone(), faults.clone());
//! // ... run windows through the ports ...
//! println!("{}", faults.log().summary());
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
// The fault sequences are replayed from a seed, like the traffic: the same mixer serves both.
use vendor_sim::rng::splitmix64;

use crate::domain::keys::ObjectKey;
use crate::domain::sql::Dialect;
use crate::ports::{
    Delivery, ErrorKind, LoadCounts, LoadJob, Message, Notifier, ObjectMeta, ObjectStore,
    ObjectWriter, PortError, PortResult, PutOutcome, QueryResult, ReadBatch, ShardInfo,
    StartingPosition, Stream, Warehouse,
};

// ---------------------------------------------------------------------------------------------
// Kinds

/// Whether a fault happens before the side effect (nothing changed) or after it (it took effect,
/// but the caller sees an error or a surprise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Before,
    After,
}

/// Every kind of fault the layer injects. The names (see [`FaultKind::name`]) are stable: they
/// appear in profiles and summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// Kinesis throttling (ProvisionedThroughputExceededException) on ListShards or GetRecords.
    StreamThrottled,
    /// ExpiredIteratorException on GetRecords: the read must start again from a position.
    StreamIteratorExpired,
    /// An S3 request refused (503 SlowDown, a timeout) before it took effect.
    StoreErrorBefore,
    /// An S3 write that took effect, but whose response was lost (the caller sees an error).
    StoreErrorAfter,
    /// The Firehose delivery stream refused the whole batch (ServiceUnavailableException).
    DeliveryErrorBefore,
    /// Firehose accepted the batch, then the task crashed before it returned.
    DeliveryCrashAfterAccept,
    /// PutRecordBatch partially failed: some records carry an error code (FailedPutCount > 0).
    DeliveryPartialFailure,
    /// Firehose delivered records twice (at-least-once).
    DeliveryDuplicate,
    /// The task crashed half-way through appending a batch to the local Firehose buffer, leaving
    /// a torn tail that the next append must cut back (local stack only).
    DeliveryTornAppend,
    /// Firehose's objects appear under their prefix only some listings later than written.
    ObjectsLate,
    /// The load transaction failed with a serialization failure (SQLSTATE 40001).
    WarehouseSerializationFailure,
    /// The load transaction timed out waiting for the table lock (SQLSTATE 55P03).
    WarehouseLockTimeout,
    /// The load transaction committed, then the task crashed before it returned.
    WarehouseCrashAfterCommit,
    /// SNS refused the failure message.
    NotifierFailure,
    /// SNS published the message, then the response was lost.
    NotifierFailureAfterPublish,
    /// The schedule never started a window's execution (throttled, disabled, a deploy): nothing
    /// runs it until the audit finds the gap and catch-up repairs it.
    ScheduleSkipsStart,
}

impl FaultKind {
    pub const ALL: [FaultKind; 16] = [
        FaultKind::StreamThrottled,
        FaultKind::StreamIteratorExpired,
        FaultKind::StoreErrorBefore,
        FaultKind::StoreErrorAfter,
        FaultKind::DeliveryErrorBefore,
        FaultKind::DeliveryCrashAfterAccept,
        FaultKind::DeliveryPartialFailure,
        FaultKind::DeliveryDuplicate,
        FaultKind::DeliveryTornAppend,
        FaultKind::ObjectsLate,
        FaultKind::WarehouseSerializationFailure,
        FaultKind::WarehouseLockTimeout,
        FaultKind::WarehouseCrashAfterCommit,
        FaultKind::NotifierFailure,
        FaultKind::NotifierFailureAfterPublish,
        FaultKind::ScheduleSkipsStart,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::StreamThrottled => "stream_throttled",
            FaultKind::StreamIteratorExpired => "stream_iterator_expired",
            FaultKind::StoreErrorBefore => "store_error_before",
            FaultKind::StoreErrorAfter => "store_error_after",
            FaultKind::DeliveryErrorBefore => "delivery_error_before",
            FaultKind::DeliveryCrashAfterAccept => "delivery_crash_after_accept",
            FaultKind::DeliveryPartialFailure => "delivery_partial_failure",
            FaultKind::DeliveryDuplicate => "delivery_duplicate",
            FaultKind::DeliveryTornAppend => "delivery_torn_append",
            FaultKind::ObjectsLate => "objects_late",
            FaultKind::WarehouseSerializationFailure => "warehouse_serialization_failure",
            FaultKind::WarehouseLockTimeout => "warehouse_lock_timeout",
            FaultKind::WarehouseCrashAfterCommit => "warehouse_crash_after_commit",
            FaultKind::NotifierFailure => "notifier_failure",
            FaultKind::NotifierFailureAfterPublish => "notifier_failure_after_publish",
            FaultKind::ScheduleSkipsStart => "schedule_skips_start",
        }
    }

    /// The port the fault is injected into.
    pub fn port(self) -> &'static str {
        match self {
            FaultKind::StreamThrottled | FaultKind::StreamIteratorExpired => "stream",
            FaultKind::StoreErrorBefore | FaultKind::StoreErrorAfter | FaultKind::ObjectsLate => {
                "store"
            }
            FaultKind::DeliveryErrorBefore
            | FaultKind::DeliveryCrashAfterAccept
            | FaultKind::DeliveryPartialFailure
            | FaultKind::DeliveryDuplicate
            | FaultKind::DeliveryTornAppend => "delivery",
            FaultKind::WarehouseSerializationFailure
            | FaultKind::WarehouseLockTimeout
            | FaultKind::WarehouseCrashAfterCommit => "warehouse",
            FaultKind::NotifierFailure | FaultKind::NotifierFailureAfterPublish => "notifier",
            FaultKind::ScheduleSkipsStart => "schedule",
        }
    }

    pub fn phase(self) -> Phase {
        match self {
            FaultKind::StoreErrorAfter
            | FaultKind::DeliveryCrashAfterAccept
            | FaultKind::DeliveryDuplicate
            | FaultKind::ObjectsLate
            | FaultKind::WarehouseCrashAfterCommit
            | FaultKind::NotifierFailureAfterPublish => Phase::After,
            _ => Phase::Before,
        }
    }

    fn index(self) -> usize {
        FaultKind::ALL
            .iter()
            .position(|k| *k == self)
            .expect("ALL lists every kind")
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FaultKind {
    type Err = FaultProfileError;
    fn from_str(s: &str) -> Result<FaultKind, FaultProfileError> {
        FaultKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| FaultProfileError(format!("unknown fault kind `{s}`")))
    }
}

// ---------------------------------------------------------------------------------------------
// Profiles

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault profile: {0} (use none, light, ci, heavy, or kind=probability,... with kinds {kinds})", kinds = FaultKind::ALL.map(FaultKind::name).join(", "))]
pub struct FaultProfileError(String);

/// What to inject: a seed and a probability per kind (per call of the operation the kind
/// applies to), plus a few shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultProfile {
    pub seed: u64,
    probabilities: [f64; FaultKind::ALL.len()],
    /// How many listings of its prefix a late object stays invisible for.
    pub late_listings: u32,
    /// Stop injecting a kind once it was injected this often (None: no limit).
    pub max_per_kind: Option<u64>,
    /// Share of a partially failed batch's records that fail (at least one always does).
    pub partial_failure_share: f64,
}

impl FaultProfile {
    /// No faults at all: the wrappers pass every call through.
    pub fn none(seed: u64) -> FaultProfile {
        FaultProfile {
            seed,
            probabilities: [0.0; FaultKind::ALL.len()],
            late_listings: 3,
            max_per_kind: None,
            partial_failure_share: 0.3,
        }
    }

    /// Every kind at the same probability.
    pub fn uniform(seed: u64, p: f64) -> FaultProfile {
        let mut profile = FaultProfile::none(seed);
        for k in FaultKind::ALL {
            profile.set(k, p);
        }
        profile
    }

    /// Named profiles, or a list like `stream_throttled=0.1,warehouse_lock_timeout=0.05`
    /// (`all=P` sets every kind; later entries override earlier ones, e.g. `ci,objects_late=0`).
    ///
    /// - `none`: nothing.
    /// - `light`: 2% per call for each kind.
    /// - `ci`: tuned so that a short run (a handful of windows) injects every kind at least once
    ///   while each window still completes after the state machine's retries.
    /// - `heavy`: 15% per call for each kind, for soaks.
    pub fn parse(text: &str, seed: u64) -> Result<FaultProfile, FaultProfileError> {
        let mut profile = FaultProfile::none(seed);
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "none" => profile = FaultProfile::none(seed),
                "light" => profile = FaultProfile::uniform(seed, 0.02),
                "heavy" => profile = FaultProfile::uniform(seed, 0.15),
                "ci" => profile = FaultProfile::ci(seed),
                _ => {
                    let (name, p) = part.split_once('=').ok_or_else(|| {
                        FaultProfileError(format!("`{part}` is not a profile or kind=probability"))
                    })?;
                    let p: f64 = p
                        .trim()
                        .parse()
                        .ok()
                        .filter(|p: &f64| (0.0..=1.0).contains(p))
                        .ok_or_else(|| {
                            FaultProfileError(format!(
                                "`{part}`: the probability must be between 0 and 1"
                            ))
                        })?;
                    match name.trim() {
                        "all" => FaultKind::ALL.into_iter().for_each(|k| profile.set(k, p)),
                        "late_listings" => profile.late_listings = p as u32,
                        kind => profile.set(kind.parse()?, p),
                    }
                }
            }
        }
        Ok(profile)
    }

    /// The profile of the CI chaos run.
    pub fn ci(seed: u64) -> FaultProfile {
        let mut profile = FaultProfile::none(seed);
        for (kind, p) in [
            (FaultKind::StreamThrottled, 0.05),
            (FaultKind::StreamIteratorExpired, 0.05),
            (FaultKind::StoreErrorBefore, 0.02),
            (FaultKind::StoreErrorAfter, 0.02),
            (FaultKind::DeliveryErrorBefore, 0.1),
            (FaultKind::DeliveryCrashAfterAccept, 0.2),
            (FaultKind::DeliveryPartialFailure, 0.2),
            (FaultKind::DeliveryDuplicate, 0.2),
            (FaultKind::DeliveryTornAppend, 0.1),
            (FaultKind::ObjectsLate, 0.2),
            (FaultKind::WarehouseSerializationFailure, 0.1),
            (FaultKind::WarehouseLockTimeout, 0.15),
            (FaultKind::WarehouseCrashAfterCommit, 0.1),
            (FaultKind::NotifierFailure, 0.5),
            (FaultKind::NotifierFailureAfterPublish, 0.5),
            (FaultKind::ScheduleSkipsStart, 0.3),
        ] {
            profile.set(kind, p);
        }
        profile
    }

    pub fn set(&mut self, kind: FaultKind, p: f64) {
        self.probabilities[kind.index()] = p.clamp(0.0, 1.0);
    }

    pub fn with(mut self, kind: FaultKind, p: f64) -> FaultProfile {
        self.set(kind, p);
        self
    }

    pub fn probability(&self, kind: FaultKind) -> f64 {
        self.probabilities[kind.index()]
    }
}

// ---------------------------------------------------------------------------------------------
// The log

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    pub kind: FaultKind,
    /// What was being done, e.g. "put_batch pushfeed-push-sends (12 records)".
    pub operation: String,
}

/// Counts of injected faults by kind, shared by every wrapper of one [`Faults`].
#[derive(Debug, Default)]
pub struct FaultLog {
    counts: [AtomicU64; FaultKind::ALL.len()],
    recent: Mutex<Vec<Injected>>,
}

/// How many injected faults the log keeps in full; counts are kept for all.
const RECENT: usize = 1000;

impl FaultLog {
    fn record(&self, kind: FaultKind, operation: impl Into<String>) {
        self.counts[kind.index()].fetch_add(1, Ordering::Relaxed);
        let mut recent = self.recent.lock().expect("fault log lock");
        if recent.len() < RECENT {
            recent.push(Injected {
                kind,
                operation: operation.into(),
            });
        }
    }

    pub fn count(&self, kind: FaultKind) -> u64 {
        self.counts[kind.index()].load(Ordering::Relaxed)
    }

    pub fn total(&self) -> u64 {
        FaultKind::ALL.iter().map(|k| self.count(*k)).sum()
    }

    /// Every kind with its count, zeros included, in [`FaultKind::ALL`] order.
    pub fn counts(&self) -> Vec<(FaultKind, u64)> {
        FaultKind::ALL
            .iter()
            .map(|k| (*k, self.count(*k)))
            .collect()
    }

    /// Counts by kind name, for JSON output.
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.counts()
            .into_iter()
            .map(|(k, n)| (k.name(), n))
            .collect()
    }

    /// The kinds never injected: a CI run checks this is empty.
    pub fn missing(&self) -> Vec<FaultKind> {
        self.counts()
            .into_iter()
            .filter(|(_, n)| *n == 0)
            .map(|(k, _)| k)
            .collect()
    }

    /// The first faults injected (up to 1000), in order.
    pub fn recent(&self) -> Vec<Injected> {
        self.recent.lock().expect("fault log lock").clone()
    }

    /// A small table: kind, port, phase, count.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "{:<34} {:<10} {:<7} {:>7}\n",
            "fault", "port", "phase", "count"
        );
        for (k, n) in self.counts() {
            let phase = match k.phase() {
                Phase::Before => "before",
                Phase::After => "after",
            };
            out.push_str(&format!(
                "{:<34} {:<10} {:<7} {:>7}\n",
                k.name(),
                k.port(),
                phase,
                n
            ));
        }
        out.push_str(&format!("{:<53} {:>7}\n", "total", self.total()));
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The injector

/// The decisions and the log, shared by every wrapper of one run.
#[derive(Debug)]
pub struct Faults {
    profile: FaultProfile,
    enabled: AtomicBool,
    draws: [AtomicU64; FaultKind::ALL.len()],
    log: FaultLog,
    /// Delivered objects being held back: key -> listings left before it shows.
    late: Mutex<HashMap<String, u32>>,
}

impl Faults {
    pub fn new(profile: FaultProfile) -> Arc<Faults> {
        Arc::new(Faults {
            profile,
            enabled: AtomicBool::new(true),
            draws: Default::default(),
            log: FaultLog::default(),
            late: Mutex::new(HashMap::new()),
        })
    }

    pub fn profile(&self) -> &FaultProfile {
        &self.profile
    }

    pub fn log(&self) -> &FaultLog {
        &self.log
    }

    /// Turns injection off (e.g. for the re-executions a person makes after a failure email) or
    /// back on. Objects already held back stay late until listed enough.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::SeqCst);
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::SeqCst)
    }

    /// The next pseudo-random number of a kind's sequence.
    fn draw(&self, kind: FaultKind) -> u64 {
        let n = self.draws[kind.index()].fetch_add(1, Ordering::Relaxed);
        splitmix64(self.profile.seed ^ ((kind.index() as u64 + 1) << 56) ^ splitmix64(n))
    }

    /// Whether to inject `kind` now. Does not count it: call [`Faults::inject`] for that.
    fn roll(&self, kind: FaultKind) -> bool {
        let p = self.profile.probability(kind);
        if p <= 0.0 || !self.is_enabled() {
            return false;
        }
        if let Some(max) = self.profile.max_per_kind {
            if self.log.count(kind) >= max {
                return false;
            }
        }
        let x = (self.draw(kind) >> 11) as f64 / (1u64 << 53) as f64;
        x < p
    }

    /// Whether the schedule skips starting this window's execution (counted when it does).
    pub fn schedule_skips(&self, window: crate::domain::window::Window) -> bool {
        self.inject(FaultKind::ScheduleSkipsStart, || {
            format!("starting the execution of window {window}")
        })
    }

    /// Rolls and, on a hit, counts the fault.
    fn inject(&self, kind: FaultKind, operation: impl FnOnce() -> String) -> bool {
        if self.roll(kind) {
            self.log.record(kind, operation());
            true
        } else {
            false
        }
    }
}

fn injected(kind: FaultKind, operation: String, message: &str) -> PortError {
    PortError::transient(operation, format!("injected {kind}: {message}"))
}

// ---------------------------------------------------------------------------------------------
// Stream

pub struct FaultyStream {
    inner: Arc<dyn Stream>,
    faults: Arc<Faults>,
}

impl FaultyStream {
    pub fn new(inner: Arc<dyn Stream>, faults: Arc<Faults>) -> FaultyStream {
        FaultyStream { inner, faults }
    }
}

#[async_trait]
impl Stream for FaultyStream {
    async fn list_shards(&self) -> PortResult<Vec<ShardInfo>> {
        let op = || "listing shards".to_string();
        if self.faults.inject(FaultKind::StreamThrottled, op) {
            return Err(injected(
                FaultKind::StreamThrottled,
                op(),
                "LimitExceededException: rate exceeded for ListShards",
            ));
        }
        self.inner.list_shards().await
    }

    async fn read(
        &self,
        shard_id: &str,
        from: &StartingPosition,
        limit: usize,
    ) -> PortResult<ReadBatch> {
        let op = || format!("reading {shard_id} from {from:?}");
        if self.faults.inject(FaultKind::StreamThrottled, op) {
            return Err(injected(
                FaultKind::StreamThrottled,
                op(),
                "ProvisionedThroughputExceededException: rate exceeded for shard",
            ));
        }
        if self.faults.inject(FaultKind::StreamIteratorExpired, op) {
            return Err(injected(
                FaultKind::StreamIteratorExpired,
                op(),
                "ExpiredIteratorException: the shard iterator has expired",
            ));
        }
        self.inner.read(shard_id, from, limit).await
    }
}

// ---------------------------------------------------------------------------------------------
// ObjectStore

pub struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    faults: Arc<Faults>,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn ObjectStore>, faults: Arc<Faults>) -> FaultyStore {
        FaultyStore { inner, faults }
    }

    fn before(&self, op: impl Fn() -> String) -> PortResult<()> {
        if self.faults.inject(FaultKind::StoreErrorBefore, &op) {
            return Err(injected(
                FaultKind::StoreErrorBefore,
                op(),
                "503 SlowDown: please reduce your request rate",
            ));
        }
        Ok(())
    }

    fn after(&self, op: impl Fn() -> String) -> PortResult<()> {
        if self.faults.inject(FaultKind::StoreErrorAfter, &op) {
            return Err(injected(
                FaultKind::StoreErrorAfter,
                op(),
                "the write took effect, but the connection was reset before the response",
            ));
        }
        Ok(())
    }

    /// Hides Firehose output objects for a few listings after they first appear.
    fn hold_back_late(&self, listed: Vec<ObjectMeta>) -> Vec<ObjectMeta> {
        let mut late = self.faults.late.lock().expect("late objects lock");
        listed
            .into_iter()
            .filter(|meta| {
                if !matches!(ObjectKey::parse(&meta.key), Ok(ObjectKey::Delivered { .. })) {
                    return true;
                }
                match late.get_mut(&meta.key) {
                    Some(0) => true,
                    Some(left) => {
                        *left -= 1;
                        false
                    }
                    None => {
                        let hide = self
                            .faults
                            .inject(FaultKind::ObjectsLate, || format!("listing {}", meta.key));
                        let listings = if hide {
                            self.faults.profile.late_listings
                        } else {
                            0
                        };
                        late.insert(meta.key.clone(), listings.saturating_sub(1));
                        !hide || listings == 0
                    }
                }
            })
            .collect()
    }
}

#[async_trait]
impl ObjectStore for FaultyStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> PortResult<()> {
        let op = || format!("storing object {key}");
        self.before(op)?;
        self.inner.put(key, bytes).await?;
        self.after(op)
    }

    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> PortResult<()> {
        let op = || format!("creating object {key}");
        self.before(op)?;
        self.inner.put_if_absent(key, bytes).await?;
        self.after(op)
    }

    async fn get(&self, key: &str) -> PortResult<Vec<u8>> {
        self.before(|| format!("reading object {key}"))?;
        self.inner.get(key).await
    }

    async fn get_if_exists(&self, key: &str) -> PortResult<Option<Vec<u8>>> {
        self.before(|| format!("reading object {key}"))?;
        self.inner.get_if_exists(key).await
    }

    async fn list(&self, prefix: &str) -> PortResult<Vec<ObjectMeta>> {
        self.before(|| format!("listing {prefix}"))?;
        let listed = self.inner.list(prefix).await?;
        Ok(self.hold_back_late(listed))
    }

    async fn writer(&self, key: &str) -> PortResult<Box<dyn ObjectWriter>> {
        self.before(|| format!("starting object {key}"))?;
        Ok(Box::new(FaultyWriter {
            inner: self.inner.writer(key).await?,
            faults: self.faults.clone(),
            key: key.to_string(),
        }))
    }

    fn url(&self, key: &str) -> String {
        self.inner.url(key)
    }
}

struct FaultyWriter {
    inner: Box<dyn ObjectWriter>,
    faults: Arc<Faults>,
    key: String,
}

#[async_trait]
impl ObjectWriter for FaultyWriter {
    async fn write(&mut self, bytes: &[u8]) -> PortResult<()> {
        self.inner.write(bytes).await
    }

    async fn finish(self: Box<Self>) -> PortResult<ObjectMeta> {
        let op = || format!("completing object {}", self.key);
        if self.faults.inject(FaultKind::StoreErrorBefore, op) {
            return Err(injected(
                FaultKind::StoreErrorBefore,
                op(),
                "500 InternalError: CompleteMultipartUpload failed",
            ));
        }
        let meta = self.inner.finish().await?;
        if self.faults.inject(FaultKind::StoreErrorAfter, op) {
            return Err(injected(
                FaultKind::StoreErrorAfter,
                op(),
                "the upload completed, but the connection was reset before the response",
            ));
        }
        Ok(meta)
    }
}

// ---------------------------------------------------------------------------------------------
// Delivery

/// Error codes Firehose puts on records of a partially failed PutRecordBatch.
const PUT_ERROR_CODES: [&str; 2] = ["ServiceUnavailableException", "InternalFailure"];

/// Writes part of a batch into a delivery stream's durable buffer, as a crash mid-append would.
pub type TearAppend = Arc<dyn Fn(&str, &[&[u8]]) -> PortResult<()> + Send + Sync>;

pub struct FaultyDelivery {
    inner: Arc<dyn Delivery>,
    faults: Arc<Faults>,
    tear: Option<TearAppend>,
}

impl FaultyDelivery {
    pub fn new(inner: Arc<dyn Delivery>, faults: Arc<Faults>) -> FaultyDelivery {
        FaultyDelivery {
            inner,
            faults,
            tear: None,
        }
    }

    /// Enables `delivery_torn_append` through a buffer that can be torn (the local stand-in).
    pub fn with_tear(mut self, tear: TearAppend) -> FaultyDelivery {
        self.tear = Some(tear);
        self
    }
}

#[async_trait]
impl Delivery for FaultyDelivery {
    async fn put_batch(&self, stream: &str, records: &[&[u8]]) -> PortResult<PutOutcome> {
        let op = || format!("put_batch {stream} ({} records)", records.len());
        if records.is_empty() {
            return self.inner.put_batch(stream, records).await;
        }
        if self.faults.inject(FaultKind::DeliveryErrorBefore, op) {
            return Err(injected(
                FaultKind::DeliveryErrorBefore,
                op(),
                "ServiceUnavailableException: slow down",
            ));
        }
        if let Some(tear) = &self.tear {
            if self.faults.inject(FaultKind::DeliveryTornAppend, op) {
                tear(stream, records)?;
                return Err(injected(
                    FaultKind::DeliveryTornAppend,
                    op(),
                    "the task crashed half-way through appending the batch",
                ));
            }
        }
        // Partial failure: the failed records never reach the inner stream.
        let mut failed: Vec<Option<String>> = vec![None; records.len()];
        if self.faults.inject(FaultKind::DeliveryPartialFailure, op) {
            let share = self.faults.profile.partial_failure_share;
            for (i, slot) in failed.iter_mut().enumerate() {
                let x = self.faults.draw(FaultKind::DeliveryPartialFailure);
                if i == 0 || ((x >> 11) as f64 / (1u64 << 53) as f64) < share {
                    *slot = Some(PUT_ERROR_CODES[(x % 2) as usize].to_string());
                }
            }
            // Not always the first: rotate by a draw so any position can fail.
            let r = (self.faults.draw(FaultKind::DeliveryPartialFailure) as usize) % failed.len();
            failed.rotate_right(r);
        }
        let passed: Vec<&[u8]> = records
            .iter()
            .zip(&failed)
            .filter(|(_, f)| f.is_none())
            .map(|(r, _)| *r)
            .collect();
        let mut outcome = PutOutcome {
            failed: failed.clone(),
        };
        if !passed.is_empty() {
            let inner = self.inner.put_batch(stream, &passed).await?;
            let mut it = inner.failed.into_iter();
            for slot in outcome.failed.iter_mut().filter(|f| f.is_none()) {
                *slot = it.next().flatten();
            }
            if self.faults.inject(FaultKind::DeliveryDuplicate, op) {
                // Firehose's at-least-once: the accepted records reach S3 a second time.
                let _ = self.inner.put_batch(stream, &passed).await;
            }
        }
        if self.faults.inject(FaultKind::DeliveryCrashAfterAccept, op) {
            return Err(injected(
                FaultKind::DeliveryCrashAfterAccept,
                op(),
                "the task crashed after Firehose accepted the records",
            ));
        }
        Ok(outcome)
    }
}

// ---------------------------------------------------------------------------------------------
// Warehouse

pub struct FaultyWarehouse {
    inner: Arc<dyn Warehouse>,
    faults: Arc<Faults>,
}

impl FaultyWarehouse {
    pub fn new(inner: Arc<dyn Warehouse>, faults: Arc<Faults>) -> FaultyWarehouse {
        FaultyWarehouse { inner, faults }
    }
}

#[async_trait]
impl Warehouse for FaultyWarehouse {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }

    async fn apply_schema(&self, statements: &[String]) -> PortResult<()> {
        self.inner.apply_schema(statements).await
    }

    async fn load(&self, job: &LoadJob) -> PortResult<LoadCounts> {
        let op = || format!("loading {} ({} objects)", job.table, job.objects.len());
        if self
            .faults
            .inject(FaultKind::WarehouseSerializationFailure, op)
        {
            return Err(injected(
                FaultKind::WarehouseSerializationFailure,
                op(),
                "could not serialize access due to concurrent update (40001)",
            ));
        }
        if self.faults.inject(FaultKind::WarehouseLockTimeout, op) {
            return Err(injected(
                FaultKind::WarehouseLockTimeout,
                op(),
                "canceling statement due to lock timeout (55P03)",
            ));
        }
        let counts = self.inner.load(job).await?;
        if self.faults.inject(FaultKind::WarehouseCrashAfterCommit, op) {
            return Err(injected(
                FaultKind::WarehouseCrashAfterCommit,
                op(),
                "the task crashed after the load transaction committed",
            ));
        }
        Ok(counts)
    }

    async fn query(&self, sql: &str) -> PortResult<QueryResult> {
        self.inner.query(sql).await
    }
}

// ---------------------------------------------------------------------------------------------
// Notifier

pub struct FaultyNotifier {
    inner: Arc<dyn Notifier>,
    faults: Arc<Faults>,
}

impl FaultyNotifier {
    pub fn new(inner: Arc<dyn Notifier>, faults: Arc<Faults>) -> FaultyNotifier {
        FaultyNotifier { inner, faults }
    }
}

#[async_trait]
impl Notifier for FaultyNotifier {
    async fn publish(&self, message: &Message) -> PortResult<String> {
        let op = || format!("publishing `{}`", message.subject);
        if self.faults.inject(FaultKind::NotifierFailure, op) {
            return Err(PortError::new(
                ErrorKind::Transient,
                op(),
                "injected notifier_failure: SNS Throttling: rate exceeded",
            ));
        }
        let id = self.inner.publish(message).await?;
        if self
            .faults
            .inject(FaultKind::NotifierFailureAfterPublish, op)
        {
            return Err(injected(
                FaultKind::NotifierFailureAfterPublish,
                op(),
                "the message was published, but the response was lost",
            ));
        }
        Ok(id)
    }
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    // In-memory ports, so the wrappers are tested on their own.

    #[derive(Default)]
    struct MemStore {
        objects: Mutex<BTreeMap<String, Vec<u8>>>,
    }

    struct MemWriter<'a> {
        store: &'a MemStore,
        key: String,
        buf: Vec<u8>,
    }

    #[async_trait]
    impl ObjectWriter for MemWriter<'static> {
        async fn write(&mut self, bytes: &[u8]) -> PortResult<()> {
            self.buf.extend_from_slice(bytes);
            Ok(())
        }
        async fn finish(self: Box<Self>) -> PortResult<ObjectMeta> {
            let size = self.buf.len() as u64;
            self.store
                .objects
                .lock()
                .unwrap()
                .insert(self.key.clone(), self.buf);
            Ok(ObjectMeta {
                key: self.key,
                size,
            })
        }
    }

    #[async_trait]
    impl ObjectStore for &'static MemStore {
        async fn put(&self, key: &str, bytes: Vec<u8>) -> PortResult<()> {
            self.objects.lock().unwrap().insert(key.into(), bytes);
            Ok(())
        }
        async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> PortResult<()> {
            let mut o = self.objects.lock().unwrap();
            if o.contains_key(key) {
                return Err(PortError::new(ErrorKind::AlreadyExists, key, "exists"));
            }
            o.insert(key.into(), bytes);
            Ok(())
        }
        async fn get(&self, key: &str) -> PortResult<Vec<u8>> {
            self.objects
                .lock()
                .unwrap()
                .get(key)
                .cloned()
                .ok_or_else(|| PortError::not_found(key, "no such key"))
        }
        async fn list(&self, prefix: &str) -> PortResult<Vec<ObjectMeta>> {
            Ok(self
                .objects
                .lock()
                .unwrap()
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| ObjectMeta {
                    key: k.clone(),
                    size: v.len() as u64,
                })
                .collect())
        }
        async fn writer(&self, key: &str) -> PortResult<Box<dyn ObjectWriter>> {
            Ok(Box::new(MemWriter {
                store: self,
                key: key.into(),
                buf: Vec::new(),
            }))
        }
        fn url(&self, key: &str) -> String {
            format!("s3://mem/{key}")
        }
    }

    fn mem_store() -> (&'static MemStore, Arc<dyn ObjectStore>) {
        let store: &'static MemStore = Box::leak(Box::default());
        (store, Arc::new(store))
    }

    #[derive(Default)]
    struct MemDelivery {
        records: Mutex<Vec<Vec<u8>>>,
    }

    #[async_trait]
    impl Delivery for MemDelivery {
        async fn put_batch(&self, _stream: &str, records: &[&[u8]]) -> PortResult<PutOutcome> {
            let mut all = self.records.lock().unwrap();
            all.extend(records.iter().map(|r| r.to_vec()));
            Ok(PutOutcome {
                failed: vec![None; records.len()],
            })
        }
    }

    #[derive(Default)]
    struct MemWarehouse {
        loads: AtomicU64,
    }

    #[async_trait]
    impl Warehouse for MemWarehouse {
        fn dialect(&self) -> Dialect {
            Dialect::Postgres
        }
        async fn apply_schema(&self, _: &[String]) -> PortResult<()> {
            Ok(())
        }
        async fn load(&self, _job: &LoadJob) -> PortResult<LoadCounts> {
            self.loads.fetch_add(1, Ordering::SeqCst);
            Ok(LoadCounts::default())
        }
        async fn query(&self, _: &str) -> PortResult<QueryResult> {
            Ok(QueryResult::default())
        }
    }

    #[derive(Default)]
    struct MemNotifier {
        sent: AtomicU64,
    }

    #[async_trait]
    impl Notifier for MemNotifier {
        async fn publish(&self, _: &Message) -> PortResult<String> {
            Ok(self.sent.fetch_add(1, Ordering::SeqCst).to_string())
        }
    }

    struct OneShard;

    #[async_trait]
    impl Stream for OneShard {
        async fn list_shards(&self) -> PortResult<Vec<ShardInfo>> {
            Ok(vec![ShardInfo {
                shard_id: "shardId-000000000000".into(),
                parent_shard_id: None,
                adjacent_parent_shard_id: None,
                ending_sequence_number: None,
            }])
        }
        async fn read(&self, _: &str, from: &StartingPosition, _: usize) -> PortResult<ReadBatch> {
            Ok(ReadBatch {
                records: Vec::new(),
                millis_behind_latest: 0,
                next: Some(from.clone()),
            })
        }
    }

    fn only(kind: FaultKind, p: f64) -> Arc<Faults> {
        Faults::new(FaultProfile::none(42).with(kind, p))
    }

    fn load_job() -> LoadJob {
        LoadJob {
            table: "push_sends".into(),
            statements: Vec::new(),
            objects: vec!["events/SEND/window=2026-11-26T10:01Z/a".into()],
            columns: Vec::new(),
        }
    }

    #[test]
    fn profiles_parse_and_name_every_kind() {
        for k in FaultKind::ALL {
            assert_eq!(k.name().parse::<FaultKind>().unwrap(), k);
        }
        let p = FaultProfile::parse("ci,objects_late=0,stream_throttled=0.5", 3).unwrap();
        assert_eq!(p.seed, 3);
        assert_eq!(p.probability(FaultKind::ObjectsLate), 0.0);
        assert_eq!(p.probability(FaultKind::StreamThrottled), 0.5);
        assert!(p.probability(FaultKind::WarehouseLockTimeout) > 0.0);
        let all = FaultProfile::parse("all=0.25", 1).unwrap();
        assert!(FaultKind::ALL.iter().all(|k| all.probability(*k) == 0.25));
        assert_eq!(
            FaultProfile::parse("none", 1).unwrap(),
            FaultProfile::none(1)
        );
        assert!(FaultProfile::parse("bogus=0.1", 1).is_err());
        assert!(FaultProfile::parse("stream_throttled=2", 1).is_err());
        assert!(FaultProfile::parse("heavy", 1).is_ok());
        let ci = FaultProfile::ci(1);
        assert!(FaultKind::ALL.iter().all(|k| ci.probability(*k) > 0.0));
    }

    #[test]
    fn decisions_follow_the_seed_and_the_probability() {
        let decide = |seed| {
            let f = Faults::new(FaultProfile::uniform(seed, 0.3));
            (0..200)
                .map(|_| f.roll(FaultKind::StreamThrottled))
                .collect::<Vec<_>>()
        };
        assert_eq!(decide(7), decide(7), "same seed, same decisions");
        assert_ne!(decide(7), decide(8));
        let hits = decide(7).iter().filter(|h| **h).count();
        assert!((30..90).contains(&hits), "about 30% of 200: {hits}");
        let never = Faults::new(FaultProfile::none(1));
        assert!((0..100).all(|_| !never.roll(FaultKind::StreamThrottled)));
        let always = only(FaultKind::StreamThrottled, 1.0);
        always.set_enabled(false);
        assert!(!always.roll(FaultKind::StreamThrottled), "disabled");
        let capped = Faults::new(FaultProfile {
            max_per_kind: Some(2),
            ..FaultProfile::uniform(1, 1.0)
        });
        let n = (0..10)
            .filter(|_| capped.inject(FaultKind::NotifierFailure, String::new))
            .count();
        assert_eq!(n, 2);
    }

    #[tokio::test]
    async fn stream_throttles_and_expires_iterators_before_reading() {
        let faults = only(FaultKind::StreamThrottled, 1.0);
        let s = FaultyStream::new(Arc::new(OneShard), faults.clone());
        let e = s.list_shards().await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Transient);
        assert!(e.to_string().contains("stream_throttled"), "{e}");
        let e = s
            .read("shardId-000000000000", &StartingPosition::TrimHorizon, 10)
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Transient);
        assert_eq!(faults.log().count(FaultKind::StreamThrottled), 2);

        let faults = only(FaultKind::StreamIteratorExpired, 1.0);
        let s = FaultyStream::new(Arc::new(OneShard), faults.clone());
        assert!(s.list_shards().await.is_ok(), "only reads expire");
        let e = s
            .read("shardId-000000000000", &StartingPosition::TrimHorizon, 10)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("ExpiredIteratorException"));
        assert_eq!(faults.log().count(FaultKind::StreamIteratorExpired), 1);
        assert_eq!(faults.log().total(), 1);
    }

    #[tokio::test]
    async fn store_errors_before_change_nothing_and_after_keep_the_write() {
        let (mem, inner) = mem_store();
        let before = FaultyStore::new(inner.clone(), only(FaultKind::StoreErrorBefore, 1.0));
        assert!(before.put("a", b"1".to_vec()).await.is_err());
        assert!(mem.objects.lock().unwrap().is_empty(), "nothing written");
        let mut w = before.writer("b").await.err();
        assert!(w.take().is_some(), "writer refused");

        let after_faults = only(FaultKind::StoreErrorAfter, 1.0);
        let after = FaultyStore::new(inner.clone(), after_faults.clone());
        let e = after.put("a", b"1".to_vec()).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Transient);
        assert_eq!(
            mem.objects.lock().unwrap()["a"],
            b"1",
            "the write took effect"
        );
        // A retried put_if_absent then finds the object: the caller must treat that as done.
        assert!(after.put_if_absent("c", b"x".to_vec()).await.is_err());
        let retry = FaultyStore::new(inner.clone(), Faults::new(FaultProfile::none(1)));
        assert_eq!(
            retry
                .put_if_absent("c", b"x".to_vec())
                .await
                .unwrap_err()
                .kind,
            ErrorKind::AlreadyExists
        );
        let mut w = after.writer("d").await.unwrap();
        w.write(b"xyz").await.unwrap();
        assert!(w.finish().await.is_err());
        assert_eq!(mem.objects.lock().unwrap()["d"], b"xyz");
        assert_eq!(after_faults.log().count(FaultKind::StoreErrorAfter), 3);
        // Reads are never "after" faults.
        assert_eq!(after.get("a").await.unwrap(), b"1");
    }

    #[tokio::test]
    async fn delivered_objects_show_up_late() {
        let (_, inner) = mem_store();
        let mut profile = FaultProfile::none(1).with(FaultKind::ObjectsLate, 1.0);
        profile.late_listings = 2;
        let faults = Faults::new(profile);
        let store = FaultyStore::new(inner.clone(), faults.clone());
        let key = "events/SEND/window=2026-11-26T10:01Z/obj-1.ndjson.gz";
        inner.put(key, b"x".to_vec()).await.unwrap();
        inner
            .put(
                "raw/window=2026-11-26T10:01Z/batch=b.ndjson.gz",
                b"r".to_vec(),
            )
            .await
            .unwrap();
        let prefix = "events/SEND/window=2026-11-26T10:01Z/";
        assert!(store.list(prefix).await.unwrap().is_empty(), "listing 1");
        assert!(store.list(prefix).await.unwrap().is_empty(), "listing 2");
        assert_eq!(store.list(prefix).await.unwrap().len(), 1, "listing 3");
        assert_eq!(store.list(prefix).await.unwrap().len(), 1, "stays visible");
        assert_eq!(
            store.list("raw/").await.unwrap().len(),
            1,
            "only Firehose output is late"
        );
        assert_eq!(faults.log().count(FaultKind::ObjectsLate), 1);
        assert_eq!(store.get(key).await.unwrap(), b"x", "get is not affected");
    }

    #[tokio::test]
    async fn partial_failures_name_failed_records_and_withhold_them() {
        let inner = Arc::new(MemDelivery::default());
        let faults = only(FaultKind::DeliveryPartialFailure, 1.0);
        let d = FaultyDelivery::new(inner.clone(), faults.clone());
        let records: Vec<Vec<u8>> = (0..50).map(|i| format!("r{i}\n").into_bytes()).collect();
        let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
        let out = d.put_batch("s", &refs).await.unwrap();
        assert_eq!(out.failed.len(), 50);
        let failed = out.failed_count();
        assert!((1..50).contains(&failed), "{failed}");
        assert!(out
            .failed
            .iter()
            .flatten()
            .all(|c| PUT_ERROR_CODES.contains(&c.as_str())));
        let delivered = inner.records.lock().unwrap().clone();
        assert_eq!(delivered.len(), 50 - failed);
        for (r, f) in records.iter().zip(&out.failed) {
            assert_eq!(
                delivered.contains(r),
                f.is_none(),
                "failed records are withheld"
            );
        }
    }

    #[tokio::test]
    async fn duplicates_and_crashes_after_accept_deliver_anyway() {
        let inner = Arc::new(MemDelivery::default());
        let d = FaultyDelivery::new(inner.clone(), only(FaultKind::DeliveryDuplicate, 1.0));
        let out = d.put_batch("s", &[b"a\n", b"b\n"]).await.unwrap();
        assert_eq!(out.failed_count(), 0);
        assert_eq!(inner.records.lock().unwrap().len(), 4, "each record twice");

        let inner = Arc::new(MemDelivery::default());
        let faults = only(FaultKind::DeliveryCrashAfterAccept, 1.0);
        let d = FaultyDelivery::new(inner.clone(), faults.clone());
        let e = d.put_batch("s", &[b"a\n"]).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Transient);
        assert_eq!(
            inner.records.lock().unwrap().len(),
            1,
            "accepted before the crash"
        );

        let inner = Arc::new(MemDelivery::default());
        let d = FaultyDelivery::new(inner.clone(), only(FaultKind::DeliveryErrorBefore, 1.0));
        assert!(d.put_batch("s", &[b"a\n"]).await.is_err());
        assert!(inner.records.lock().unwrap().is_empty(), "refused whole");
    }

    #[tokio::test]
    async fn warehouse_faults_before_and_after_the_commit() {
        for kind in [
            FaultKind::WarehouseSerializationFailure,
            FaultKind::WarehouseLockTimeout,
        ] {
            let inner = Arc::new(MemWarehouse::default());
            let w = FaultyWarehouse::new(inner.clone(), only(kind, 1.0));
            let e = w.load(&load_job()).await.unwrap_err();
            assert_eq!(e.kind, ErrorKind::Transient, "{kind}");
            assert_eq!(inner.loads.load(Ordering::SeqCst), 0, "{kind}: no commit");
        }
        let inner = Arc::new(MemWarehouse::default());
        let faults = only(FaultKind::WarehouseCrashAfterCommit, 1.0);
        let w = FaultyWarehouse::new(inner.clone(), faults.clone());
        let e = w.load(&load_job()).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Transient);
        assert!(e.to_string().contains("committed"));
        assert_eq!(inner.loads.load(Ordering::SeqCst), 1, "committed");
        assert!(w.query("select 1").await.is_ok(), "queries pass through");
        assert_eq!(w.dialect(), Dialect::Postgres);
    }

    #[tokio::test]
    async fn notifier_fails_before_or_after_publishing() {
        let msg = Message {
            subject: "s".into(),
            body: "b".into(),
            attributes: BTreeMap::new(),
        };
        let inner = Arc::new(MemNotifier::default());
        let n = FaultyNotifier::new(inner.clone(), only(FaultKind::NotifierFailure, 1.0));
        assert!(n.publish(&msg).await.is_err());
        assert_eq!(inner.sent.load(Ordering::SeqCst), 0);
        let n = FaultyNotifier::new(
            inner.clone(),
            only(FaultKind::NotifierFailureAfterPublish, 1.0),
        );
        assert!(n.publish(&msg).await.is_err());
        assert_eq!(inner.sent.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_log_counts_by_kind_and_names_the_missing() {
        let faults = Faults::new(FaultProfile::uniform(1, 1.0));
        assert!(faults.inject(FaultKind::ObjectsLate, || "x".into()));
        assert!(faults.inject(FaultKind::ObjectsLate, || "y".into()));
        assert_eq!(faults.log().count(FaultKind::ObjectsLate), 2);
        assert_eq!(faults.log().missing().len(), FaultKind::ALL.len() - 1);
        assert_eq!(faults.log().snapshot()["objects_late"], 2);
        assert_eq!(faults.log().recent()[1].operation, "y");
        let summary = faults.log().summary();
        assert!(summary.contains("objects_late") && summary.contains("total"));
    }
}
