//! An inline Map over N items, each through an ItemSelector that reads `$$.Map.Item.Value`
//! and a Pass state, on the virtual clock. The work per item must not grow with N: the
//! time per item at 1k, 10k and 100k items should stay flat.
//!
//! `cargo bench -p asl --bench map`. The quotas are raised: AWS would stop such a Map at
//! 25,000 history events and refuse an input over 256 KiB (see `asl::limits`).

use asl::{Clock, Definition, ExecutionOptions, ExecutionStatus, Executor, Limits, Registry};
use divan::counter::ItemsCount;
use divan::Bencher;
use serde_json::{json, Value};

const DEFINITION: &str = r#"{
  "StartAt": "Each",
  "States": {
    "Each": {
      "Type": "Map",
      "ItemsPath": "$.items",
      "ItemSelector": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
      "ItemProcessor": {
        "StartAt": "Touch",
        "States": {"Touch": {"Type": "Pass", "Parameters": {"id.$": "$.item.id"}, "End": true}}
      },
      "ResultPath": null,
      "End": true
    }
  }
}"#;

fn main() {
    divan::main();
}

fn input(n: usize) -> Value {
    json!({"items": (0..n).map(|i| json!({"id": i, "kind": "send"})).collect::<Vec<_>>()})
}

#[divan::bench(args = [1_000, 10_000, 100_000], sample_count = 5)]
fn map_items(bencher: Bencher, n: usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let definition = Definition::from_json(DEFINITION).expect("the definition is valid");
    let executor = Executor::new(Registry::new(), Clock::virtual_now()).with_limits(Limits {
        max_history_events: usize::MAX,
        max_payload_bytes: usize::MAX,
        ..Limits::default()
    });
    bencher
        .counter(ItemsCount::new(n))
        .with_inputs(|| input(n))
        .bench_local_values(|input| {
            let e =
                runtime.block_on(executor.start(&definition, input, ExecutionOptions::default()));
            assert_eq!(e.status, ExecutionStatus::Succeeded);
            e.history.events.len()
        });
}
