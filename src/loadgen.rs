//! The load generator: realistic vendor traffic (from [`vendor_sim`]) put into a stream at a
//! set rate, in PutRecords-sized batches, reporting the rate achieved, each call's latency and the
//! throttles. It replaces the original solution's Locust scripts.
//!
//! The stream is reached through the [`Producer`] port: [`LocalTarget`] puts into the local stream
//! (and can emulate Kinesis's per-shard write limits, so throttling shows up locally too); the
//! Kinesis producer (`--aws --stream NAME`, `adapters/aws/kinesis_producer.rs`) is PutRecords,
//! mapping each `ErrorCode` of the response to a per-record `Some(code)`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;

use crate::adapters::local::stream::{shard_for_key, LocalStream, PutRecord};
use crate::ports::{ErrorKind, PortError, PortResult};
use vendor_sim::{generate, GeneratedRecord, TrafficProfile, Truth};

pub use crate::ports::{Producer, PutEntry, PUT_MAX_BYTES, PUT_MAX_RECORDS, THROTTLED};

/// Kinesis's write limit per shard, for emulating throttling on the local stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShardLimits {
    pub records_per_second: f64,
    pub bytes_per_second: f64,
}

impl Default for ShardLimits {
    /// Kinesis provisioned mode: 1,000 records and 1 MiB per second per shard.
    fn default() -> ShardLimits {
        ShardLimits {
            records_per_second: 1000.0,
            bytes_per_second: 1024.0 * 1024.0,
        }
    }
}

/// The local stream as a put target; records arrive "now".
pub struct LocalTarget {
    stream: LocalStream,
    limits: Option<ShardLimits>,
    /// Per shard: (records, bytes) of budget left, and when it was last refilled.
    buckets: Mutex<Vec<(f64, f64, Instant)>>,
}

impl LocalTarget {
    /// Puts without limits: as fast as the local disk takes it.
    pub fn new(stream: LocalStream) -> LocalTarget {
        LocalTarget::with_limits(stream, None)
    }

    /// Refuses records over each shard's write limit with [`THROTTLED`], as Kinesis does. A
    /// shard's budget holds at most one second's worth.
    pub fn with_limits(stream: LocalStream, limits: Option<ShardLimits>) -> LocalTarget {
        let now = Instant::now();
        let full = limits.map_or((0.0, 0.0), |l| (l.records_per_second, l.bytes_per_second));
        let buckets = (0..stream.shard_count())
            .map(|_| (full.0, full.1, now))
            .collect();
        LocalTarget {
            stream,
            limits,
            buckets: Mutex::new(buckets),
        }
    }

    /// Which records the shards' budgets admit now.
    fn admit(&self, records: &[PutEntry]) -> Vec<bool> {
        let Some(limits) = self.limits else {
            return vec![true; records.len()];
        };
        let mut buckets = self.buckets.lock().expect("buckets lock");
        let now = Instant::now();
        for b in buckets.iter_mut() {
            let dt = now.duration_since(b.2).as_secs_f64();
            b.0 = (b.0 + dt * limits.records_per_second).min(limits.records_per_second);
            b.1 = (b.1 + dt * limits.bytes_per_second).min(limits.bytes_per_second);
            b.2 = now;
        }
        let shards = self.stream.shard_count();
        records
            .iter()
            .map(|r| {
                let b = &mut buckets[shard_for_key(&r.partition_key, shards) as usize];
                let size = (r.data.len() + r.partition_key.len()) as f64;
                let ok = b.0 >= 1.0 && b.1 >= size;
                if ok {
                    b.0 -= 1.0;
                    b.1 -= size;
                }
                ok
            })
            .collect()
    }
}

#[async_trait]
impl Producer for LocalTarget {
    fn describe(&self) -> String {
        format!(
            "local stream {} ({} shards{})",
            self.stream.dir().display(),
            self.stream.shard_count(),
            match self.limits {
                Some(l) => format!(
                    ", {} records/s and {:.0} KiB/s per shard",
                    l.records_per_second,
                    l.bytes_per_second / 1024.0
                ),
                None => String::new(),
            }
        )
    }

    async fn put_records(&self, records: &[PutEntry]) -> PortResult<Vec<Option<String>>> {
        let bytes: usize = records
            .iter()
            .map(|r| r.data.len() + r.partition_key.len())
            .sum();
        if records.len() > PUT_MAX_RECORDS || bytes > PUT_MAX_BYTES {
            return Err(PortError::permanent(
                format!("putting {} records", records.len()),
                "PutRecords takes at most 500 records and 5 MiB",
            ));
        }
        let admitted = self.admit(records);
        let puts: Vec<PutRecord> = records
            .iter()
            .zip(&admitted)
            .filter(|(_, ok)| **ok)
            .map(|(r, _)| PutRecord {
                partition_key: r.partition_key.clone(),
                data: r.data.clone(),
                arrival_ms: None,
            })
            .collect();
        if !puts.is_empty() {
            let stream = self.stream.clone();
            tokio::task::spawn_blocking(move || stream.put_records(puts))
                .await
                .map_err(|e| PortError::permanent("putting records", e))??;
        }
        Ok(admitted
            .into_iter()
            .map(|ok| (!ok).then(|| THROTTLED.to_string()))
            .collect())
    }
}

/// A campaign: for `length` from `start` into the run, the rate is multiplied by `factor`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Burst {
    pub start: Duration,
    pub length: Duration,
    pub factor: f64,
}

impl Burst {
    /// A typical push campaign within a run of `duration`: ten times the base rate for a sixth of
    /// the run (at most 60 s), starting a third of the way in.
    pub fn campaign(duration: Duration) -> Burst {
        Burst {
            start: duration / 3,
            length: (duration / 6).min(Duration::from_secs(60)),
            factor: 10.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoadgenOptions {
    /// Base rate, in records per second (a record holds one event, 1% hold 2-3).
    pub rate: f64,
    pub duration: Duration,
    pub seed: u64,
    /// Shares of malformed records and re-deliveries, as in `pushfeed generate`.
    pub malformed: f64,
    pub duplicates: f64,
    pub burst: Option<Burst>,
    /// PutRecords calls in flight at once.
    pub concurrency: usize,
    /// Calls per record before a refused record is dropped (counted in `dropped`).
    pub max_attempts: u32,
}

impl Default for LoadgenOptions {
    fn default() -> LoadgenOptions {
        LoadgenOptions {
            rate: 100.0,
            duration: Duration::from_secs(10),
            seed: 1,
            malformed: 0.01,
            duplicates: 0.01,
            burst: None,
            concurrency: 4,
            max_attempts: 5,
        }
    }
}

impl LoadgenOptions {
    /// Records planned by `t` into the run: the integral of the rate.
    fn planned_by(&self, t: Duration) -> f64 {
        let t = t.min(self.duration).as_secs_f64();
        let mut n = self.rate * t;
        if let Some(b) = self.burst {
            let (s, e) = (b.start.as_secs_f64(), (b.start + b.length).as_secs_f64());
            let overlap = (t.min(e) - s).max(0.0);
            n += self.rate * (b.factor - 1.0).max(-1.0) * overlap;
        }
        n.max(0.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadgenReport {
    pub target: String,
    /// Records the rate and duration called for.
    pub planned: u64,
    /// Records the stream accepted.
    pub sent: u64,
    /// Events in the accepted records.
    pub events: u64,
    pub bytes: u64,
    /// PutRecords calls made, retries included.
    pub calls: u64,
    pub elapsed_s: f64,
    /// Accepted records per second over the run.
    pub achieved_rate: f64,
    /// Latency of PutRecords calls, in milliseconds.
    pub latency_p50_ms: f64,
    pub latency_p90_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    /// Record refusals for throughput (each retry that is refused again counts again).
    pub throttles: u64,
    /// Records given up after `max_attempts` calls.
    pub dropped: u64,
    /// Whole calls that failed.
    pub errors: u64,
    pub burst: Option<Burst>,
}

/// Realistic records, generated a minute's worth at a time, one chunk ahead.
struct Source {
    opts: LoadgenOptions,
    chunk: u64,
    ready: VecDeque<(PutEntry, u64)>,
    next: Option<tokio::task::JoinHandle<Vec<GeneratedRecord>>>,
}

impl Source {
    fn new(opts: &LoadgenOptions) -> Source {
        let mut s = Source {
            opts: opts.clone(),
            chunk: 0,
            ready: VecDeque::new(),
            next: None,
        };
        s.next = Some(s.spawn());
        s
    }

    fn spawn(&mut self) -> tokio::task::JoinHandle<Vec<GeneratedRecord>> {
        let peak = self.opts.rate * self.opts.burst.map_or(1.0, |b| b.factor.max(1.0));
        let profile = TrafficProfile {
            start_ms: crate::domain::window::now_ms() / 60_000 * 60_000,
            minutes: 1,
            // At least 20 s of the peak rate per chunk, so chunks are rarely regenerated.
            rate_per_second: (peak / 3.0).clamp(1.0, 20_000.0),
            seed: self.opts.seed.wrapping_add(self.chunk),
            malformed: self.opts.malformed,
            duplicates: self.opts.duplicates,
            ..TrafficProfile::default()
        };
        self.chunk += 1;
        tokio::task::spawn_blocking(move || generate(&profile))
    }

    async fn take(&mut self) -> PortResult<(PutEntry, u64)> {
        loop {
            if let Some(r) = self.ready.pop_front() {
                return Ok(r);
            }
            let handle = self.next.take().unwrap_or_else(|| self.spawn());
            let records = handle
                .await
                .map_err(|e| PortError::permanent("generating traffic", e))?;
            self.next = Some(self.spawn());
            self.ready.extend(records.into_iter().map(|g| {
                let events = match &g.truth {
                    Truth::Valid { events } | Truth::Duplicate { events } => events.len(),
                    Truth::Malformed { .. } => 1,
                } as u64;
                (
                    PutEntry {
                        partition_key: g.partition_key,
                        data: g.data,
                    },
                    events,
                )
            }));
        }
    }
}

#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    sent: u64,
    events: u64,
    bytes: u64,
    throttles: u64,
    dropped: u64,
    errors: u64,
}

/// One batch through PutRecords, re-sending refused records with backoff.
async fn put_batch(
    target: &dyn Producer,
    mut batch: Vec<(PutEntry, u64)>,
    max_attempts: u32,
) -> Outcome {
    let mut out = Outcome::default();
    for attempt in 1..=max_attempts.max(1) {
        let entries: Vec<PutEntry> = batch.iter().map(|(e, _)| e.clone()).collect();
        let started = Instant::now();
        let result = target.put_records(&entries).await;
        out.latencies.push(started.elapsed());
        let refused: Vec<(PutEntry, u64)> = match result {
            Ok(codes) => {
                let mut refused = Vec::new();
                for ((entry, events), code) in batch.into_iter().zip(codes) {
                    match code {
                        None => {
                            out.sent += 1;
                            out.events += events;
                            out.bytes += entry.data.len() as u64;
                        }
                        Some(_) => {
                            out.throttles += 1;
                            refused.push((entry, events));
                        }
                    }
                }
                refused
            }
            Err(e) => {
                out.errors += 1;
                if e.kind != ErrorKind::Transient {
                    out.dropped += batch.len() as u64;
                    return out;
                }
                batch
            }
        };
        if refused.is_empty() {
            return out;
        }
        batch = refused;
        if attempt < max_attempts {
            let backoff = Duration::from_millis(50) * 2u32.pow(attempt.min(6) - 1);
            tokio::time::sleep(backoff).await;
        } else {
            out.dropped += batch.len() as u64;
        }
    }
    out
}

/// Puts realistic traffic into `target` at `opts.rate` records per second (times the burst's
/// factor during a burst) for `opts.duration`, in batches of at most 500 records and 5 MiB, with
/// up to `opts.concurrency` calls in flight. Records are paced by a schedule: a slow call is
/// caught up on by the following ones, and whatever is still due when the duration ends is sent
/// before returning.
pub async fn loadgen(target: &dyn Producer, opts: &LoadgenOptions) -> PortResult<LoadgenReport> {
    if !(opts.rate.is_finite() && opts.rate > 0.0) {
        return Err(PortError::permanent(
            "generating load",
            "the rate must be a positive number of records per second",
        ));
    }
    let total = opts.planned_by(opts.duration).round() as u64;
    let mut source = Source::new(opts);
    let mut inflight = FuturesUnordered::new();
    let mut outcome = Outcome::default();
    let mut queued = 0u64;
    let start = Instant::now();
    let tick = Duration::from_millis(5);
    let bar = crate::catch_up::terminal_bar(total, "records put");
    loop {
        let due = (opts.planned_by(start.elapsed()).floor() as u64).min(total);
        while queued < due && inflight.len() < opts.concurrency.max(1) {
            let mut batch = Vec::new();
            let mut bytes = 0;
            while queued < due && batch.len() < PUT_MAX_RECORDS {
                let (entry, events) = source.take().await?;
                let size = entry.data.len() + entry.partition_key.len();
                if !batch.is_empty() && bytes + size > PUT_MAX_BYTES {
                    source.ready.push_front((entry, events));
                    break;
                }
                bytes += size;
                batch.push((entry, events));
                queued += 1;
            }
            inflight.push(put_batch(target, batch, opts.max_attempts));
        }
        if queued >= total && inflight.is_empty() {
            break;
        }
        tokio::select! {
            Some(done) = inflight.next(), if !inflight.is_empty() => {
                let done: Outcome = done;
                outcome.latencies.extend(done.latencies);
                outcome.sent += done.sent;
                if let Some(b) = &bar {
                    b.inc(done.sent);
                }
                outcome.events += done.events;
                outcome.bytes += done.bytes;
                outcome.throttles += done.throttles;
                outcome.dropped += done.dropped;
                outcome.errors += done.errors;
            }
            _ = tokio::time::sleep(tick), if queued < total => {}
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let elapsed = start.elapsed().max(opts.duration.min(start.elapsed()));
    let mut ms: Vec<f64> = outcome
        .latencies
        .iter()
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if ms.is_empty() {
            return 0.0;
        }
        let i = ((p / 100.0) * ms.len() as f64).ceil() as usize;
        ms[i.clamp(1, ms.len()) - 1]
    };
    Ok(LoadgenReport {
        target: target.describe(),
        planned: total,
        sent: outcome.sent,
        events: outcome.events,
        bytes: outcome.bytes,
        calls: ms.len() as u64,
        elapsed_s: elapsed.as_secs_f64(),
        achieved_rate: outcome.sent as f64 / elapsed.as_secs_f64().max(1e-9),
        latency_p50_ms: pct(50.0),
        latency_p90_ms: pct(90.0),
        latency_p99_ms: pct(99.0),
        latency_max_ms: ms.last().copied().unwrap_or(0.0),
        throttles: outcome.throttles,
        dropped: outcome.dropped,
        errors: outcome.errors,
        burst: opts.burst,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_integrates_the_burst() {
        let opts = LoadgenOptions {
            rate: 100.0,
            duration: Duration::from_secs(60),
            burst: Some(Burst {
                start: Duration::from_secs(10),
                length: Duration::from_secs(5),
                factor: 10.0,
            }),
            ..LoadgenOptions::default()
        };
        assert_eq!(opts.planned_by(Duration::from_secs(10)), 1000.0);
        assert_eq!(opts.planned_by(Duration::from_secs(15)), 1000.0 + 5000.0);
        assert_eq!(opts.planned_by(Duration::from_secs(60)), 6000.0 + 4500.0);
        assert_eq!(opts.planned_by(Duration::from_secs(600)), 10500.0);
    }

    #[tokio::test]
    async fn puts_every_planned_record_in_limited_batches() {
        let dir = tempfile::tempdir().unwrap();
        let stream = LocalStream::open_or_create(dir.path().join("s"), 2).unwrap();
        let target = LocalTarget::new(stream.clone());
        let opts = LoadgenOptions {
            rate: 2000.0,
            duration: Duration::from_millis(300),
            ..LoadgenOptions::default()
        };
        let report = loadgen(&target, &opts).await.unwrap();
        assert_eq!(report.planned, 600);
        assert_eq!(report.sent, 600);
        assert!(report.events >= 600);
        assert_eq!((report.throttles, report.dropped, report.errors), (0, 0, 0));
        assert!(report.calls >= 2, "{report:?}");
        let mut stored = 0;
        for shard in 0..2 {
            let batch = crate::ports::Stream::read(
                &stream,
                &crate::adapters::local::stream::shard_id(shard),
                &crate::ports::StartingPosition::TrimHorizon,
                10_000,
            )
            .await
            .unwrap();
            stored += batch.records.len();
        }
        assert_eq!(stored, 600);
    }

    #[tokio::test]
    async fn shard_limits_throttle_and_retries_deliver() {
        let dir = tempfile::tempdir().unwrap();
        let stream = LocalStream::open_or_create(dir.path().join("s"), 1).unwrap();
        let limits = ShardLimits {
            records_per_second: 200.0,
            bytes_per_second: 1e9,
        };
        let target = LocalTarget::with_limits(stream, Some(limits));
        let opts = LoadgenOptions {
            rate: 1000.0,
            duration: Duration::from_millis(400),
            concurrency: 1,
            max_attempts: 20,
            ..LoadgenOptions::default()
        };
        let report = loadgen(&target, &opts).await.unwrap();
        assert!(report.throttles > 0, "{report:?}");
        assert_eq!(report.sent + report.dropped, report.planned);
    }
}
