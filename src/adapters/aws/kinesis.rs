//! The Stream port over Kinesis Data Streams: ListShards (every shard, closed parents included),
//! GetShardIterator for the port's positions, and GetRecords within the per-shard read limits.
//!
//! The port is position-based (`read(shard, from, limit)`) while Kinesis reads through
//! iterators, so the adapter keeps the iterator GetRecords returned under the position it stands
//! for: the next call from that position goes on with it instead of asking for a new one. An
//! expired iterator (they live 5 minutes) is renewed from its position.
//!
//! KPL aggregation is not supported: the vendor (Airship) writes one JSON document per record and
//! never aggregates. An aggregated record (magic bytes F3 89 9A C2) is not UTF-8 JSON, so
//! ReadWindow rejects it whole with its bytes kept in `rejected/`: nothing is lost silently.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::ShardIteratorType;
use aws_sdk_kinesis::Client;
use tokio::sync::Mutex;

use super::error::{classify, code_of};
use crate::ports::{
    ErrorKind, PortError, PortResult, ReadBatch, ShardInfo, StartingPosition, Stream, StreamRecord,
};

/// Kinesis allows 5 GetRecords calls per second per shard, shared by every reader of the shard.
const MIN_CALL_INTERVAL: Duration = Duration::from_millis(200);
/// Iterators expire after 5 minutes; one older than this is not reused.
const ITERATOR_MAX_AGE: Duration = Duration::from_secs(270);
/// GetRecords takes at most 10,000 records per call.
const MAX_LIMIT: usize = 10_000;

pub struct KinesisStream {
    client: Client,
    stream_name: String,
    /// Attempts on ProvisionedThroughputExceeded before the read fails as transient.
    throttle_attempts: u32,
    /// Empty GetRecords answers followed while the shard still has records ahead, before the
    /// adapter answers "no records" (Kinesis may return empty pages well before the tip).
    empty_pages: u32,
    shards: Mutex<HashMap<String, ShardState>>,
}

#[derive(Default)]
struct ShardState {
    last_call: Option<Instant>,
    /// Iterators by the position they stand for.
    iterators: HashMap<String, (String, Instant)>,
}

/// The cache key of a position (StartingPosition has no Hash).
fn position_key(p: &StartingPosition) -> String {
    match p {
        StartingPosition::TrimHorizon => "trim".into(),
        StartingPosition::AtTimestamp(t) => format!("at-ts:{t}"),
        StartingPosition::AtSequenceNumber(s) => format!("at-seq:{s}"),
        StartingPosition::AfterSequenceNumber(s) => format!("after-seq:{s}"),
    }
}

impl KinesisStream {
    pub fn new(client: Client, stream_name: impl Into<String>) -> KinesisStream {
        KinesisStream {
            client,
            stream_name: stream_name.into(),
            throttle_attempts: 8,
            empty_pages: 20,
            shards: Mutex::new(HashMap::new()),
        }
    }

    /// Sets the attempts on ProvisionedThroughputExceeded (at least 1) before a read fails.
    pub fn set_throttle_attempts(&mut self, attempts: u32) {
        self.throttle_attempts = attempts.max(1);
    }

    pub fn stream_name(&self) -> &str {
        &self.stream_name
    }

    /// Waits until this shard may be called again, then marks the call.
    async fn pace(&self, shard: &str) {
        let wait = {
            let mut shards = self.shards.lock().await;
            let state = shards.entry(shard.to_string()).or_default();
            let now = Instant::now();
            let at = match state.last_call {
                Some(last) if last + MIN_CALL_INTERVAL > now => last + MIN_CALL_INTERVAL,
                _ => now,
            };
            state.last_call = Some(at);
            at - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    async fn cached_iterator(&self, shard: &str, key: &str) -> Option<String> {
        let mut shards = self.shards.lock().await;
        let state = shards.get_mut(shard)?;
        match state.iterators.remove(key) {
            Some((it, at)) if at.elapsed() < ITERATOR_MAX_AGE => Some(it),
            _ => None,
        }
    }

    async fn remember(&self, shard: &str, key: String, iterator: String) {
        let mut shards = self.shards.lock().await;
        let state = shards.entry(shard.to_string()).or_default();
        // A reader follows one position at a time per shard; stale ones only waste memory.
        if state.iterators.len() > 64 {
            state.iterators.clear();
        }
        state.iterators.insert(key, (iterator, Instant::now()));
    }

    async fn new_iterator(&self, shard: &str, from: &StartingPosition) -> PortResult<String> {
        let op = || {
            format!(
                "getting an iterator for {shard} of stream {} at {from:?}",
                self.stream_name
            )
        };
        let mut req = self
            .client
            .get_shard_iterator()
            .stream_name(&self.stream_name)
            .shard_id(shard);
        req = match from {
            StartingPosition::TrimHorizon => {
                req.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            StartingPosition::AtTimestamp(ms) => req
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(DateTime::from_millis(*ms)),
            StartingPosition::AtSequenceNumber(s) => req
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .starting_sequence_number(s),
            StartingPosition::AfterSequenceNumber(s) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(s),
        };
        let mut delay = MIN_CALL_INTERVAL;
        for attempt in 1.. {
            match req.clone().send().await {
                Ok(out) => {
                    return out.shard_iterator.ok_or_else(|| {
                        // Kinesis answers without an iterator for a closed shard read to its end.
                        PortError::not_found(
                            op(),
                            "the shard is closed and has no records from this position",
                        )
                    });
                }
                Err(e) => {
                    let err = classify(op(), e);
                    if err.kind == ErrorKind::Transient && attempt < self.throttle_attempts {
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(5));
                        continue;
                    }
                    return Err(err);
                }
            }
        }
        unreachable!("the loop returns")
    }
}

#[async_trait]
impl Stream for KinesisStream {
    async fn list_shards(&self) -> PortResult<Vec<ShardInfo>> {
        let op = || format!("listing the shards of stream {}", self.stream_name);
        let mut shards = Vec::new();
        let mut token: Option<String> = None;
        loop {
            // With a NextToken, ListShards refuses the stream name: the token carries it.
            let req = match &token {
                Some(t) => self.client.list_shards().next_token(t),
                None => self.client.list_shards().stream_name(&self.stream_name),
            };
            // No ShardFilter: the default lists every shard still within retention, open and
            // closed, so parents of a reshard that hold the window's records are read too.
            let out = req
                .max_results(1000)
                .send()
                .await
                .map_err(|e| classify(op(), e))?;
            for s in out.shards.unwrap_or_default() {
                shards.push(ShardInfo {
                    ending_sequence_number: s
                        .sequence_number_range
                        .as_ref()
                        .and_then(|r| r.ending_sequence_number.clone()),
                    shard_id: s.shard_id,
                    parent_shard_id: s.parent_shard_id,
                    adjacent_parent_shard_id: s.adjacent_parent_shard_id,
                });
            }
            match out.next_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        Ok(shards)
    }

    async fn read(
        &self,
        shard_id: &str,
        from: &StartingPosition,
        limit: usize,
    ) -> PortResult<ReadBatch> {
        let op = || format!("reading {shard_id} of stream {}", self.stream_name);
        let limit = limit.clamp(1, MAX_LIMIT) as i32;
        let key = position_key(from);
        let mut iterator = match self.cached_iterator(shard_id, &key).await {
            Some(it) => it,
            None => self.new_iterator(shard_id, from).await?,
        };
        let (mut throttled, mut renewed, mut empty) = (0u32, 0u32, 0u32);
        let mut backoff = MIN_CALL_INTERVAL;
        loop {
            self.pace(shard_id).await;
            let out = match self
                .client
                .get_records()
                .shard_iterator(&iterator)
                .limit(limit)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => match code_of(&e) {
                    Some("ExpiredIteratorException") if renewed < 3 => {
                        renewed += 1;
                        iterator = self.new_iterator(shard_id, from).await?;
                        continue;
                    }
                    Some("ProvisionedThroughputExceededException")
                        if throttled + 1 < self.throttle_attempts =>
                    {
                        throttled += 1;
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                    _ => return Err(classify(op(), e)),
                },
            };
            let behind = out.millis_behind_latest.unwrap_or(0);
            let records: Vec<StreamRecord> = out
                .records
                .into_iter()
                .map(|r| StreamRecord {
                    arrival_ms: r
                        .approximate_arrival_timestamp
                        .map(|t| t.to_millis().unwrap_or(0))
                        .unwrap_or(0),
                    sequence_number: r.sequence_number,
                    partition_key: r.partition_key.unwrap_or_default(),
                    data: r.data.into_inner(),
                })
                .collect();
            let Some(next_iterator) = out.next_shard_iterator else {
                // A closed shard read to its end.
                return Ok(ReadBatch {
                    records,
                    millis_behind_latest: 0,
                    next: None,
                });
            };
            if records.is_empty() && behind > 0 && empty < self.empty_pages {
                // Kinesis may answer empty pages before reaching records (sparse shards, an
                // AT_TIMESTAMP iterator far back): follow them, so that "no records" from this
                // adapter means the tip, as it does for the local stream.
                empty += 1;
                iterator = next_iterator;
                continue;
            }
            let next = match records.last() {
                Some(r) => StartingPosition::AfterSequenceNumber(r.sequence_number.clone()),
                None => from.clone(),
            };
            self.remember(shard_id, position_key(&next), next_iterator)
                .await;
            return Ok(ReadBatch {
                records,
                millis_behind_latest: behind,
                next: Some(next),
            });
        }
    }
}
