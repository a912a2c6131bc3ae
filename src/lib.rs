//! pushfeed: Kinesis push-notification feedback into warehouse tables, one minute window at a time,
//! exactly once.

pub mod adapters;
pub mod analysts;
pub mod audit;
pub mod bounds;
pub mod canary;
pub mod catch_up;
pub mod chaos;
pub mod cli;
pub mod deploy_contract;
pub mod doctor;
pub mod domain;
pub mod faults;
pub mod gaps_cli;
pub mod gc;
pub mod generate;
pub mod loadgen;
pub mod machine;
pub mod metrics;
pub mod object_lines;
pub mod ports;
pub mod steps;
