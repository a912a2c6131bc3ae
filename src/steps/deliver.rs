//! Deliver: streams one type's staging object into its Firehose delivery stream, in batches
//! within PutRecordBatch's limits, re-sending exactly the records Firehose reports failed.

use std::time::Duration;

use super::contract::{BranchInput, DeliverOutput};
use super::error::StepError;
use super::Settings;
use crate::domain::keys::ObjectKey;
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
    let bytes = store
        .get(&input.staging_key)
        .await
        .map_err(|e| StepError::from_port(&format!("{ctx}: reading staging object"), e))?;
    // Firehose concatenates records as they are, so each keeps its newline.
    let rows: Vec<&[u8]> = bytes
        .split_inclusive(|&b| b == b'\n')
        .filter(|r| r.len() > 1)
        .collect();
    if rows.len() as u64 != input.count {
        return Err(StepError::InvalidInput(format!(
            "{ctx}: staging object {} holds {} rows, but ReadWindow staged {}",
            input.staging_key,
            rows.len(),
            input.count
        )));
    }
    let (mut calls, mut resent) = (0u64, 0u64);
    let mut start = 0;
    while start < rows.len() {
        let mut end = start;
        let mut size = 0;
        while end < rows.len()
            && end - start < MAX_BATCH_RECORDS
            && size + rows[end].len() <= MAX_BATCH_BYTES
        {
            size += rows[end].len();
            end += 1;
        }
        let mut pending: Vec<&[u8]> = rows[start..end].to_vec();
        let mut attempt = 0u32;
        loop {
            calls += 1;
            let outcome = delivery
                .put_batch(&input.delivery_stream, &pending)
                .await
                .map_err(|e| {
                    StepError::from_port(
                        &format!("{ctx}: putting records into {}", input.delivery_stream),
                        e,
                    )
                })?;
            let failed: Vec<&[u8]> = pending
                .iter()
                .zip(&outcome.failed)
                .filter(|(_, f)| f.is_some())
                .map(|(r, _)| *r)
                .collect();
            if failed.is_empty() {
                break;
            }
            attempt += 1;
            if attempt >= settings.deliver_attempts {
                let codes: Vec<&str> = outcome
                    .failed
                    .iter()
                    .flatten()
                    .map(String::as_str)
                    .take(3)
                    .collect();
                return Err(StepError::Transient(format!(
                    "{ctx}: {} records still failed in {} after {attempt} attempts ({})",
                    failed.len(),
                    input.delivery_stream,
                    codes.join(", ")
                )));
            }
            resent += failed.len() as u64;
            pending = failed;
            let backoff = settings.deliver_backoff * 2u32.saturating_pow(attempt - 1);
            tokio::time::sleep(backoff.min(Duration::from_secs(5))).await;
        }
        start = end;
    }
    Ok(DeliverOutput {
        window: input.window,
        event_type: input.event_type,
        delivered: rows.len() as u64,
        calls,
        resent,
    })
}

/// A branch's names must agree with the routing table and the key layout; a table is never taken
/// from the input on trust.
pub fn check_branch(settings: &Settings, input: &BranchInput) -> Result<(), StepError> {
    let route = settings.routes.for_type(&input.event_type).ok_or_else(|| {
        StepError::InvalidInput(format!(
            "window {}: event type {} has no route in the routing table",
            input.window, input.event_type
        ))
    })?;
    if route.table != input.table || route.delivery_stream != input.delivery_stream {
        return Err(StepError::InvalidInput(format!(
            "window {}: {} routes to table {} through {}, not {} through {}",
            input.window,
            input.event_type,
            route.table,
            route.delivery_stream,
            input.table,
            input.delivery_stream
        )));
    }
    match ObjectKey::parse(&input.staging_key) {
        Ok(ObjectKey::Staging {
            window,
            event_type,
            batch,
        }) if window == input.window && event_type == input.event_type && batch == input.batch => {
            Ok(())
        }
        _ => Err(StepError::InvalidInput(format!(
            "window {}: `{}` is not the staging key of {} batch {}",
            input.window, input.staging_key, input.event_type, input.batch
        ))),
    }
}
