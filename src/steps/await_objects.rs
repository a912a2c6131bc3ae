//! AwaitObjects: counts this batch's records in the Firehose output under the type's window
//! prefix. The state machine loops through Choice and Wait until all have arrived.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};

use super::contract::{AwaitOutput, BranchInput};
use super::deliver::{check_branch, ObjectLines, READ_CHUNK};
use super::error::StepError;
use super::Settings;
use crate::domain::keys::ObjectKey;
use crate::domain::row::RowTags;
use crate::ports::{ErrorKind, ObjectStore};

/// The delivered objects that hold records of the batch, and how many distinct events they hold.
pub struct Delivered {
    pub objects: Vec<(String, u64)>,
    pub distinct: u64,
}

/// Scans the type's window prefix. Firehose may deliver a record twice and may put another
/// batch's records in the same object, so events are counted once each, by id, for this batch.
pub async fn scan_delivered(
    store: &dyn ObjectStore,
    input: &BranchInput,
) -> Result<Delivered, StepError> {
    let prefix = ObjectKey::delivered_prefix(&input.event_type, input.window);
    let ctx = format!("window {}, {}", input.window, input.event_type);
    let listed = store
        .list(&prefix)
        .await
        .map_err(|e| StepError::from_port(&format!("{ctx}: listing {prefix}"), e))?;
    let hasher = std::collections::hash_map::RandomState::new();
    let mut seen = HashSet::new();
    let mut objects = Vec::new();
    for meta in listed {
        match ObjectKey::parse(&meta.key) {
            Ok(ObjectKey::Delivered {
                event_type, window, ..
            }) if event_type == input.event_type && window == input.window => {}
            _ => continue,
        }
        // Read in parts: a delivered object may be large (Firehose buffers up to 128 MiB).
        let reading = |e| StepError::from_port(&format!("{ctx}: reading {}", meta.key), e);
        let mut lines = ObjectLines::open(store, &meta.key, READ_CHUNK)
            .await
            .map_err(reading)?;
        let mut mine = 0;
        while let Some(block) = lines.next_block().await.map_err(|e| match e.kind {
            ErrorKind::Permanent if e.operation.starts_with("inflating ") => {
                StepError::InvalidInput(format!(
                    "{ctx}: delivered object {} is not gzip: {}",
                    meta.key, e.message
                ))
            }
            _ => reading(e),
        })? {
            for line in block.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let Ok(tags) = serde_json::from_slice::<RowTags>(line) else {
                    continue;
                };
                if tags.batch_id != input.batch.as_str() {
                    continue;
                }
                mine += 1;
                let mut h = hasher.build_hasher();
                h.write(tags.event_id.as_bytes());
                let mut h2 = hasher.build_hasher();
                h2.write_u8(1);
                h2.write(tags.event_id.as_bytes());
                seen.insert((u128::from(h.finish()) << 64) | u128::from(h2.finish()));
            }
        }
        if mine > 0 {
            objects.push((meta.key, mine));
        }
    }
    Ok(Delivered {
        objects,
        distinct: seen.len() as u64,
    })
}

pub async fn await_objects(
    store: &dyn ObjectStore,
    settings: &Settings,
    input: BranchInput,
) -> Result<AwaitOutput, StepError> {
    check_branch(settings, &input)?;
    let found = scan_delivered(store, &input).await?;
    let attempt = input.attempt + 1;
    let complete = found.distinct >= input.count;
    if !complete && attempt >= settings.await_attempts {
        return Err(StepError::ObjectsNotDelivered {
            window: input.window,
            event_type: input.event_type,
            batch: input.batch.to_string(),
            expected: input.count,
            arrived: found.distinct,
            attempts: attempt,
        });
    }
    Ok(AwaitOutput {
        window: input.window,
        event_type: input.event_type,
        expected: input.count,
        arrived: found.distinct,
        objects: found.objects.len() as u64,
        complete,
        attempt,
    })
}
