//! The chaos run of the test command: faults of every kind injected into every port, failed
//! windows re-executed, and nothing lost or loaded twice.

mod common;

use common::{json_ok, TempHome};

#[test]
fn every_fault_kind_is_survived_with_nothing_lost_or_duplicated() {
    let mut injected = std::collections::BTreeMap::new();
    for seed in [1, 2] {
        let home = TempHome::new();
        let report = json_ok(&home.pushfeed(&[
            "--json",
            "chaos",
            "--windows",
            "3",
            "--seed",
            &seed.to_string(),
            "--faults",
            "ci",
            "--outage-every",
            "2",
            "--rate",
            "8",
        ]));
        assert_eq!(report["lost"], 0, "seed {seed}: {report}");
        assert_eq!(report["duplicated"], 0, "seed {seed}: {report}");
        assert_eq!(report["rejected_missing"], 0, "seed {seed}: {report}");
        assert_eq!(report["raw_records_missing"], 0, "seed {seed}: {report}");
        assert_eq!(
            report["tables_equal_reference"], true,
            "seed {seed}: {report}"
        );
        // Every window whose start the schedule skipped was found and caught up.
        assert_eq!(
            report["caught_up"], report["schedule_skips"],
            "seed {seed}: {report}"
        );
        assert_eq!(report["gaps_after_catch_up"], 0, "seed {seed}: {report}");
        for (kind, n) in report["faults"].as_object().unwrap() {
            *injected.entry(kind.clone()).or_insert(0) += n.as_u64().unwrap();
        }
        assert!(
            report["reexecutions"].as_u64().unwrap() >= 2,
            "seed {seed}: {report}"
        );
        assert!(
            report["failures_notified"].as_u64().unwrap() >= 1,
            "seed {seed}: {report}"
        );
        assert!(
            report["retries"].as_u64().unwrap() > 0,
            "seed {seed}: {report}"
        );
        assert!(
            report["malformed_records"].as_u64().unwrap() > 0,
            "seed {seed}: {report}"
        );
    }
    // Across the CI run's seeds, every kind of fault happened at least once.
    let never: Vec<&String> = injected
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(k, _)| k)
        .collect();
    assert!(never.is_empty(), "never injected: {never:?}");
    assert_eq!(injected.len(), pushfeed::faults::FaultKind::ALL.len());
}
