//! Deliver: streams one type's staging object into its Firehose delivery stream, in batches
//! within PutRecordBatch's limits, re-sending exactly the records Firehose reports failed. The
//! object is read in parts ([`crate::object_lines::ObjectLines`]), so memory stays flat however
//! large the window.

use std::time::Duration;

use super::branch::check_branch;
use super::contract::{BranchInput, DeliverOutput};
use super::error::StepError;
use super::{Settings, READ_CHUNK};
use crate::object_lines::ObjectLines;
use crate::ports::{
    Delivery, ObjectStore, DELIVERY_MAX_BATCH_BYTES as MAX_BATCH_BYTES,
    DELIVERY_MAX_BATCH_RECORDS as MAX_BATCH_RECORDS,
};

pub async fn deliver(
    store: &dyn ObjectStore,
    delivery: &dyn Delivery,
    settings: &Settings,
    input: BranchInput,
) -> Result<DeliverOutput, StepError> {
    let ctx = format!("window {}, {}", input.window, input.event_type);
    check_branch(settings, &input)?;
    let reading = |e| StepError::from_port(&format!("{ctx}: reading staging object"), e);
    let mut lines = ObjectLines::open(store, &input.staging_key, READ_CHUNK)
        .await
        .map_err(reading)?;
    let mismatch = |rows: &str| {
        StepError::invalid(format!(
            "{ctx}: staging object {} holds {rows} rows, but ReadWindow staged {}",
            input.staging_key, input.count
        ))
    };
    // The staging object streams through in PutRecordBatch-sized batches. A count that does not
    // match fails the step; rows already sent stay unloaded, since Load never runs for the batch.
    let mut batch = Batch::default();
    let mut put = Put {
        delivery,
        settings,
        stream: &input.delivery_stream,
        ctx: &ctx,
        calls: 0,
        resent: 0,
    };
    let mut rows = 0u64;
    while let Some(block) = lines.next_block().await.map_err(reading)? {
        // Firehose concatenates records as they are, so each keeps its newline.
        for row in block
            .split_inclusive(|&b| b == b'\n')
            .filter(|r| r.len() > 1)
        {
            rows += 1;
            if rows > input.count {
                return Err(mismatch(&format!("more than {}", input.count)));
            }
            if !batch.fits(row) {
                put.send(&batch.records()).await?;
                batch.clear();
            }
            batch.push(row);
        }
    }
    if rows != input.count {
        return Err(mismatch(&rows.to_string()));
    }
    if !batch.ends.is_empty() {
        put.send(&batch.records()).await?;
    }
    Ok(DeliverOutput {
        window: input.window,
        event_type: input.event_type,
        delivered: rows,
        calls: put.calls,
        resent: put.resent,
    })
}

/// Records gathered for one PutRecordBatch, in one buffer.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Batch {
    /// Whether `row` may join the batch within PutRecordBatch's limits. An empty batch takes any
    /// row, so an oversized one reaches Firehose and is refused there by name.
    fn fits(&self, row: &[u8]) -> bool {
        self.ends.is_empty()
            || (self.ends.len() < MAX_BATCH_RECORDS
                && self.bytes.len() + row.len() <= MAX_BATCH_BYTES)
    }

    fn push(&mut self, row: &[u8]) {
        self.bytes.extend_from_slice(row);
        self.ends.push(self.bytes.len());
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    fn records(&self) -> Vec<&[u8]> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                let r = &self.bytes[start..end];
                start = end;
                r
            })
            .collect()
    }
}

/// PutRecordBatch calls into one delivery stream, re-sending exactly the failed records.
struct Put<'a> {
    delivery: &'a dyn Delivery,
    settings: &'a Settings,
    stream: &'a str,
    ctx: &'a str,
    calls: u64,
    resent: u64,
}

impl Put<'_> {
    async fn send(&mut self, records: &[&[u8]]) -> Result<(), StepError> {
        let ctx = self.ctx;
        let mut pending: Vec<&[u8]> = records.to_vec();
        let mut attempt = 0u32;
        loop {
            self.calls += 1;
            let outcome = self
                .delivery
                .put_batch(self.stream, &pending)
                .await
                .map_err(|e| {
                    StepError::from_port(&format!("{ctx}: putting records into {}", self.stream), e)
                })?;
            let failed: Vec<&[u8]> = pending
                .iter()
                .zip(&outcome.failed)
                .filter(|(_, f)| f.is_some())
                .map(|(r, _)| *r)
                .collect();
            if failed.is_empty() {
                return Ok(());
            }
            attempt += 1;
            if attempt >= self.settings.deliver_attempts {
                let codes: Vec<&str> = outcome
                    .failed
                    .iter()
                    .flatten()
                    .map(String::as_str)
                    .take(3)
                    .collect();
                return Err(StepError::transient(format!(
                    "{ctx}: {} records still failed in {} after {attempt} attempts ({})",
                    failed.len(),
                    self.stream,
                    codes.join(", ")
                )));
            }
            self.resent += failed.len() as u64;
            pending = failed;
            let backoff = self.settings.deliver_backoff * 2u32.saturating_pow(attempt - 1);
            tokio::time::sleep(backoff.min(Duration::from_secs(5))).await;
        }
    }
}
