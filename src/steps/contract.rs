//! The steps' inputs and outputs: the contract with the state machine. They stay small (counts and
//! keys, never records) because a state's input and output are capped at 256 KiB.

use serde::{Deserialize, Serialize};

use crate::domain::keys::BatchId;
use crate::domain::window::Window;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadWindowInput {
    /// An explicit window, as a manual re-run passes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// EventBridge Scheduler's `<aws.scheduler.scheduled-time>`; the window is derived from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_time: Option<String>,
    /// Overrides the configured lag, in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_minutes: Option<u32>,
    /// The execution (name or ARN), recorded in the ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
}

/// One event type present in the window: one FanOut branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteBatch {
    pub event_type: String,
    pub table: String,
    pub delivery_stream: String,
    pub staging_key: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Kept {
    pub count: u64,
    /// None when nothing was kept, so no empty object is written.
    pub key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReadStats {
    /// Kinesis records read.
    pub records: u64,
    /// Events in them (a record may hold several), before validation.
    pub events: u64,
    pub bytes: u64,
    pub shards: u64,
    /// `stream`, `checkpoint` (a re-run reading the first run's sequence ranges) or `archive`.
    pub source: String,
    /// On a re-run from the checkpoint: records the stream now holds in the window beyond the
    /// ranges the checkpoint pins (produced after the first run). They are not loaded; the
    /// summary says how to load them deliberately.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub beyond_checkpoint: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadWindowOutput {
    pub window: Window,
    pub batch: BatchId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    pub routes: Vec<RouteBatch>,
    pub rejected: Kept,
    pub unrouted: Kept,
    pub read: ReadStats,
    pub raw_key: String,
    pub checkpoint_key: String,
}

impl ReadWindowOutput {
    /// The FanOut branch of one of the window's routes, as the state machine's ItemSelector
    /// builds it (statemachines/ingest-window.asl.json), before the first AwaitObjects check.
    pub fn branch(&self, route: &RouteBatch) -> BranchInput {
        BranchInput {
            window: self.window,
            batch: self.batch.clone(),
            event_type: route.event_type.clone(),
            table: route.table.clone(),
            delivery_stream: route.delivery_stream.clone(),
            staging_key: route.staging_key.clone(),
            count: route.count,
            execution: self.execution.clone(),
            attempt: 0,
        }
    }
}

/// The input of Deliver, AwaitObjects and Load: one branch of the FanOut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchInput {
    pub window: Window,
    pub batch: BatchId,
    pub event_type: String,
    pub table: String,
    pub delivery_stream: String,
    pub staging_key: String,
    /// Rows staged for the type, numbered 0..count in their `row` key; copies of one event
    /// included (Load keeps the first-arrived).
    pub count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    /// AwaitObjects checks made so far (the state machine's loop counter).
    #[serde(default)]
    pub attempt: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverOutput {
    pub window: Window,
    pub event_type: String,
    pub delivered: u64,
    pub calls: u64,
    /// Records sent again after Firehose reported them failed.
    pub resent: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwaitOutput {
    pub window: Window,
    pub event_type: String,
    pub expected: u64,
    /// Distinct rows of this batch found in delivered objects.
    pub arrived: u64,
    pub objects: u64,
    pub complete: bool,
    pub attempt: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadOutput {
    pub window: Window,
    pub event_type: String,
    pub table: String,
    pub batch: BatchId,
    pub objects: u64,
    pub manifest_key: String,
    pub rows_staged: u64,
    pub rows_inserted: u64,
    pub rows_replaced: u64,
    pub rows_unchanged: u64,
    /// Later copies of an event already in the batch (the vendor's re-deliveries within the
    /// window): not loaded.
    #[serde(default)]
    pub duplicates: u64,
}

/// Distinct events of the window the warehouse holds after `loads`, new or already there.
pub fn rows_loaded(loads: &[LoadOutput]) -> u64 {
    loads
        .iter()
        .map(|l| l.rows_inserted + l.rows_replaced + l.rows_unchanged)
        .sum()
}

/// Later copies of an event within the window, dropped by `loads`.
pub fn duplicates(loads: &[LoadOutput]) -> u64 {
    loads.iter().map(|l| l.duplicates).sum()
}

/// read = rejected + unrouted + duplicates dropped + rows loaded: every event of a window
/// accounted for.
pub fn adds_up(read: &ReadStats, rejected: &Kept, unrouted: &Kept, loads: &[LoadOutput]) -> bool {
    read.events == rejected.count + unrouted.count + duplicates(loads) + rows_loaded(loads)
}
