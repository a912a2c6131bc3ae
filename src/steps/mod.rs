//! Steps: one library function per Task state, over the ports. Their serde inputs and outputs
//! (in `contract`) are the state machine's contract; their errors carry the stable names.

pub mod await_objects;
pub mod branch;
pub mod contract;
pub mod deliver;
pub mod error;
pub mod load;
pub mod read_window;
pub mod task;

use std::time::Duration;

use crate::domain::event::Limits;
use crate::domain::routes::RoutingTable;

pub use await_objects::await_objects;
pub use deliver::deliver;
pub use error::{names, StepError};
pub use load::load;
pub use read_window::read_window;

/// How much of an object the steps read at a time (inflated). Deliver's memory is about this
/// plus one PutRecordBatch (4 MiB), whatever the window's size; larger parts only made the
/// inflated buffer, and so the peak, grow with the object (docs/performance.md, Memory).
pub const READ_CHUNK: usize = 2 << 20;

/// What the steps need to know besides their ports.
#[derive(Debug, Clone)]
pub struct Settings {
    pub routes: RoutingTable,
    pub limits: Limits,
    /// Minutes between a scheduled time and the end of the window it reads.
    pub lag_minutes: u32,
    /// How long after a window's end records may still arrive; reading waits for it.
    pub settle_ms: i64,
    /// Records per stream read (Kinesis GetRecords takes at most 10,000).
    pub read_limit: usize,
    /// Attempts for records Firehose reports failed, before Deliver gives up as transient.
    pub deliver_attempts: u32,
    pub deliver_backoff: Duration,
    /// AwaitObjects checks before `Pushfeed.ObjectsNotDelivered`.
    pub await_attempts: u32,
    /// Redshift's COPY role; None for warehouses that are fed from the object store directly.
    pub copy_role: Option<String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            routes: RoutingTable::default_routes(),
            limits: Limits::default(),
            lag_minutes: 1,
            settle_ms: 5_000,
            read_limit: 10_000,
            deliver_attempts: 8,
            deliver_backoff: Duration::from_millis(100),
            await_attempts: 20,
            copy_role: None,
        }
    }
}
