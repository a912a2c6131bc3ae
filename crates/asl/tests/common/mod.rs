//! Shared helpers for the integration tests: a fixed virtual clock and runners.
#![allow(dead_code)]

use asl::{Clock, Definition, Execution, ExecutionOptions, Executor, Registry};
use serde_json::Value;

pub const T0: &str = "2024-01-01T00:00:00.000Z";

pub fn clock() -> Clock {
    Clock::virtual_at(T0).expect("valid start time")
}

pub async fn run_with(def: &str, input: Value, registry: Registry) -> Execution {
    let d = Definition::from_json(def).expect("definition should be valid");
    Executor::new(registry, clock())
        .start(
            &d,
            input,
            ExecutionOptions {
                name: Some("exec-1".into()),
                ..Default::default()
            },
        )
        .await
}

pub async fn run(def: &str, input: Value) -> Execution {
    run_with(def, input, Registry::new()).await
}

pub fn fixture(name: &str) -> String {
    let p = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {p}: {e}"))
}

/// Seconds between consecutive events of `ty`.
pub fn gaps(exec: &Execution, ty: &str) -> Vec<i64> {
    let ts: Vec<i64> = exec
        .history
        .of_type(ty)
        .map(|e| e.millis().expect("timestamp"))
        .collect();
    ts.windows(2).map(|w| w[1] - w[0]).collect()
}
