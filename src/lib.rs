//! pushfeed: Kinesis push-notification feedback into warehouse tables, one minute window at a time,
//! exactly once.

pub mod adapters;
#[cfg(feature = "local")]
pub mod chaos;
#[cfg(feature = "local")]
pub mod cli;
pub mod deploy_contract;
pub mod domain;
#[cfg(feature = "local")]
pub mod faults;
#[cfg(feature = "local")]
pub mod generate;
#[cfg(feature = "local")]
pub mod loadgen;
#[cfg(feature = "local")]
pub mod machine;
pub mod metrics;
pub mod object_lines;
pub mod ports;
pub mod steps;
