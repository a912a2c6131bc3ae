//! The Producer port over Kinesis PutRecords: how the load generator (`pushfeed loadgen --aws`)
//! writes into the stream as the vendor does. Per-record error codes are throttles, reported per
//! record as the port promises; a failed call is transient.

use async_trait::async_trait;
use aws_sdk_kinesis::error::DisplayErrorContext;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_sdk_kinesis::Client;

use super::config::load_sdk_config;
use super::error::ServiceError;
use crate::ports::{PortError, PortResult, Producer, PutEntry};

pub struct KinesisProducer {
    client: Client,
    stream: String,
}

impl KinesisProducer {
    pub fn new(client: Client, stream: impl Into<String>) -> KinesisProducer {
        KinesisProducer {
            client,
            stream: stream.into(),
        }
    }

    /// A producer for `stream` with the SDK's default configuration (credentials, region).
    pub async fn connect(stream: &str) -> KinesisProducer {
        KinesisProducer::new(Client::new(&load_sdk_config().await), stream)
    }
}

#[async_trait]
impl Producer for KinesisProducer {
    fn describe(&self) -> String {
        format!("Kinesis stream {}", self.stream)
    }

    async fn put_records(&self, records: &[PutEntry]) -> PortResult<Vec<Option<String>>> {
        let op = || {
            format!(
                "putting {} records into Kinesis stream {}",
                records.len(),
                self.stream
            )
        };
        let entries = records
            .iter()
            .map(|r| {
                PutRecordsRequestEntry::builder()
                    .partition_key(&r.partition_key)
                    .data(Blob::new(r.data.clone()))
                    .build()
                    .map_err(|e| PortError::permanent(op(), e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .put_records()
            .stream_name(&self.stream)
            .set_records(Some(entries))
            .send()
            .await
            .map_err(|e| {
                let message = DisplayErrorContext(&e).to_string();
                PortError::transient(op(), ServiceError::new(message, e))
            })?;
        Ok(out
            .records()
            .iter()
            .map(|r| r.error_code().map(str::to_string))
            .collect())
    }
}
