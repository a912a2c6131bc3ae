//! pushfeed: Kinesis push-notification feedback into warehouse tables, one minute window at a time,
//! exactly once.

pub mod adapters;
pub mod domain;
pub mod ports;
pub mod steps;
