//! The Delivery port over Kinesis Data Firehose: one PutRecordBatch per call, per-record failures
//! reported back (Deliver re-sends exactly those), whole-call throttling retried with backoff.
//!
//! The delivery stream called is the configured prefix plus the route's `delivery_stream`, so one
//! account can hold several deployments (`PUSHFEED_DELIVERY_STREAM_PREFIX`).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;
use aws_sdk_firehose::Client;

use super::error::classify;
use crate::ports::{
    Delivery, ErrorKind, PortError, PortResult, PutOutcome, DELIVERY_MAX_BATCH_BYTES,
    DELIVERY_MAX_BATCH_RECORDS, DELIVERY_MAX_RECORD_BYTES,
};

pub struct FirehoseDelivery {
    client: Client,
    prefix: String,
    /// Whole-call attempts when Firehose throttles (ServiceUnavailableException) or times out.
    attempts: u32,
    backoff: Duration,
}

impl FirehoseDelivery {
    pub fn new(client: Client, prefix: impl Into<String>) -> FirehoseDelivery {
        FirehoseDelivery {
            client,
            prefix: prefix.into(),
            attempts: 5,
            backoff: Duration::from_millis(200),
        }
    }

    /// Sets the whole-call retry policy (tests use a short backoff).
    pub fn with_retry(mut self, attempts: u32, backoff: Duration) -> FirehoseDelivery {
        self.attempts = attempts.max(1);
        self.backoff = backoff;
        self
    }

    /// The Firehose stream's name for a route's delivery stream.
    pub fn stream_name(&self, stream: &str) -> String {
        format!("{}{stream}", self.prefix)
    }
}

#[async_trait]
impl Delivery for FirehoseDelivery {
    async fn put_batch(&self, stream: &str, records: &[&[u8]]) -> PortResult<PutOutcome> {
        let name = self.stream_name(stream);
        let op = || {
            format!(
                "putting {} records into delivery stream {name}",
                records.len()
            )
        };
        if records.is_empty() {
            return Ok(PutOutcome::default());
        }
        let total: usize = records.iter().map(|r| r.len()).sum();
        if records.len() > DELIVERY_MAX_BATCH_RECORDS || total > DELIVERY_MAX_BATCH_BYTES {
            return Err(PortError::permanent(
                op(),
                format!("a batch holds at most {DELIVERY_MAX_BATCH_RECORDS} records and {DELIVERY_MAX_BATCH_BYTES} bytes ({total} bytes given)"),
            ));
        }
        if let Some((i, r)) = records
            .iter()
            .enumerate()
            .find(|(_, r)| r.len() > DELIVERY_MAX_RECORD_BYTES)
        {
            return Err(PortError::permanent(
                op(),
                format!(
                    "record {i} is {} bytes; Firehose takes at most {DELIVERY_MAX_RECORD_BYTES}",
                    r.len()
                ),
            ));
        }
        let entries: Vec<Record> = records
            .iter()
            .map(|r| {
                Record::builder()
                    .data(Blob::new(r.to_vec()))
                    .build()
                    .expect("data is set")
            })
            .collect();
        let mut delay = self.backoff;
        let mut attempt = 1;
        let out = loop {
            match self
                .client
                .put_record_batch()
                .delivery_stream_name(&name)
                .set_records(Some(entries.clone()))
                .send()
                .await
            {
                Ok(out) => break out,
                Err(e) => {
                    let err = classify(op(), e);
                    if err.kind == ErrorKind::Transient && attempt < self.attempts {
                        attempt += 1;
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(5));
                        continue;
                    }
                    return Err(err);
                }
            }
        };
        let responses = out.request_responses;
        if responses.len() != records.len() {
            return Err(PortError::transient(
                op(),
                format!(
                    "Firehose answered {} entries for {} records",
                    responses.len(),
                    records.len()
                ),
            ));
        }
        Ok(PutOutcome {
            failed: responses
                .into_iter()
                .map(|r| match (r.error_code, r.record_id) {
                    (Some(code), _) => Some(match r.error_message {
                        Some(m) => format!("{code}: {m}"),
                        None => code,
                    }),
                    (None, Some(_)) => None,
                    (None, None) => Some("no record id returned".to_string()),
                })
                .collect(),
        })
    }
}
