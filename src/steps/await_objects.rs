//! AwaitObjects: counts this batch's rows in the Firehose output under the type's window prefix.
//! The state machine loops through Choice and Wait until all have arrived.

use super::branch::{check_branch, not_delivered, scan_delivered};
use super::contract::{AwaitOutput, BranchInput};
use super::error::StepError;
use super::Settings;
use crate::ports::ObjectStore;

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
        return Err(not_delivered(input, found.distinct, attempt));
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
