//! The ports' shared conformance suites: `pub async fn scenario(port: &dyn Port, ...)` functions
//! that every adapter of a port runs (the local one always, the AWS one against moto), like
//! object_store's `integration.rs`. A difference between adapters is an argument, never a
//! second copy of a scenario.
#![allow(dead_code)]

pub mod delivery;
pub mod notifier;
pub mod object_store;
pub mod postgres;
pub mod stream;
pub mod warehouse;

/// A name unique to this test process and call, for buckets, streams and topics shared by
/// tests running at once against one emulator.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{nanos:x}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
