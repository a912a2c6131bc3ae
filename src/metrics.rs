//! CloudWatch Embedded Metric Format: one JSON line per step that CloudWatch turns into metrics
//! (namespace `pushfeed`), so the dashboard and alarms need no metrics API calls from the tasks.
//! ReadWindow's metrics have no dimensions; the branch steps' are by `EventType`, as the CDK
//! dashboard charts them.

use serde_json::{json, Map, Value};

use crate::steps::contract::{AwaitOutput, DeliverOutput, LoadOutput, ReadWindowOutput};

pub const NAMESPACE: &str = "pushfeed";

/// One EMF document: the metrics share one set of dimensions.
fn document(
    timestamp_ms: i64,
    dimensions: &[(&str, &str)],
    metrics: &[(&str, f64, &str)],
    extra: &[(&str, Value)],
) -> String {
    let mut root = Map::new();
    let dimension_names: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimension_names],
                "Metrics": metrics.iter().map(|(name, _, unit)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        }),
    );
    for (k, v) in dimensions {
        root.insert((*k).into(), json!(v));
    }
    for (name, value, _) in metrics {
        root.insert((*name).into(), json!(value));
    }
    for (k, v) in extra {
        root.insert((*k).into(), v.clone());
    }
    Value::Object(root).to_string()
}

/// ReadWindow: records read, rejected, unrouted, duration and how far behind the
/// window is (stream lag: from the window's end to the end of the read).
pub fn read_window(out: &ReadWindowOutput, now_ms: i64, duration_ms: i64) -> String {
    let lag = (now_ms - out.window.end_ms()).max(0) as f64;
    document(
        now_ms,
        &[],
        &[
            ("RecordsRead", out.read.records as f64, "Count"),
            ("EventsRead", out.read.events as f64, "Count"),
            ("RecordsRejected", out.rejected.count as f64, "Count"),
            ("RecordsUnrouted", out.unrouted.count as f64, "Count"),
            (
                "RecordsBeyondCheckpoint",
                out.read.beyond_checkpoint as f64,
                "Count",
            ),
            ("StepDurationMs", duration_ms as f64, "Milliseconds"),
            ("StreamLagMs", lag, "Milliseconds"),
        ],
        &[
            ("Step", json!("ReadWindow")),
            ("window", json!(out.window)),
            ("batch", json!(out.batch)),
        ],
    )
}

pub fn deliver(out: &DeliverOutput, now_ms: i64, duration_ms: i64) -> String {
    document(
        now_ms,
        &[("EventType", &out.event_type)],
        &[
            ("RecordsDelivered", out.delivered as f64, "Count"),
            ("RecordsResent", out.resent as f64, "Count"),
            ("StepDurationMs", duration_ms as f64, "Milliseconds"),
        ],
        &[("Step", json!("Deliver")), ("window", json!(out.window))],
    )
}

pub fn await_objects(out: &AwaitOutput, now_ms: i64, duration_ms: i64) -> String {
    document(
        now_ms,
        &[("EventType", &out.event_type)],
        &[
            ("RecordsArrived", out.arrived as f64, "Count"),
            ("StepDurationMs", duration_ms as f64, "Milliseconds"),
        ],
        &[
            ("Step", json!("AwaitObjects")),
            ("window", json!(out.window)),
            ("complete", json!(out.complete)),
        ],
    )
}

pub fn load(out: &LoadOutput, now_ms: i64, duration_ms: i64) -> String {
    document(
        now_ms,
        &[("EventType", &out.event_type)],
        &[
            ("RowsLoaded", out.rows_inserted as f64, "Count"),
            ("RowsReplaced", out.rows_replaced as f64, "Count"),
            ("RowsUnchanged", out.rows_unchanged as f64, "Count"),
            ("DuplicatesDropped", out.duplicates as f64, "Count"),
            ("StepDurationMs", duration_ms as f64, "Milliseconds"),
        ],
        &[
            ("Step", json!("Load")),
            ("window", json!(out.window)),
            ("table", json!(out.table)),
        ],
    )
}

/// The audit's metric names (config/contract.json `metrics.audit`, charted and alarmed by the CDK
/// app).
pub mod audit_names {
    pub const MISSING: &str = "WindowsMissing";
    pub const FAILED: &str = "WindowsFailed";
    pub const PARTIAL: &str = "WindowsPartial";
    pub const OLDEST_GAP_MINUTES: &str = "OldestGapMinutes";
    pub const FRESHNESS_SECONDS: &str = "FreshnessSeconds";
    /// The dimension of FreshnessSeconds.
    pub const TABLE: &str = "Table";
}

/// The audit: the windows not complete by state and the oldest gap's age (no dimensions), then
/// one document per table with its freshness (dimension `Table`; an empty table has none).
pub fn audit(report: &crate::audit::StatusReport, now_ms: i64) -> Vec<String> {
    use audit_names::*;
    let mut docs = vec![document(
        now_ms,
        &[],
        &[
            (MISSING, report.counts.missing as f64, "Count"),
            (FAILED, report.counts.failed as f64, "Count"),
            (PARTIAL, report.counts.partial as f64, "Count"),
            (
                OLDEST_GAP_MINUTES,
                report.oldest_gap_minutes(now_ms) as f64,
                "None",
            ),
        ],
        &[
            ("Step", json!("Audit")),
            ("from", json!(report.from)),
            ("to", json!(report.to)),
            (
                "oldest_gap",
                json!(report.oldest_gap.as_ref().map(|g| g.window)),
            ),
        ],
    )];
    for t in &report.tables {
        if let Some(age) = t.age_seconds {
            docs.push(document(
                now_ms,
                &[(TABLE, &t.table)],
                &[(FRESHNESS_SECONDS, age as f64, "Seconds")],
                &[("Step", json!("Audit"))],
            ));
        }
    }
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_metric_names_are_the_contracts() {
        use audit_names::*;
        let contract: Value = serde_json::from_str(crate::deploy_contract::CONTRACT_JSON).unwrap();
        assert_eq!(
            contract["metrics"]["audit"],
            json!([
                MISSING,
                FAILED,
                PARTIAL,
                OLDEST_GAP_MINUTES,
                FRESHNESS_SECONDS
            ])
        );
        assert_eq!(contract["metrics"]["audit_table_dimension"], TABLE);
    }

    #[test]
    fn audit_documents_count_the_gaps_and_each_tables_freshness() {
        use crate::domain::accounting::{Counts, Freshness};
        let w: crate::domain::window::Window = "2026-11-26T10:01Z".parse().unwrap();
        let report = crate::audit::StatusReport {
            at: String::new(),
            from: w,
            to: w.minus_minutes(-10),
            last_complete_window: None,
            counts: Counts {
                missing: 2,
                failed: 1,
                partial: 0,
                running: 3,
            },
            tables: vec![
                Freshness {
                    table: "push_sends".into(),
                    latest_arrived_at: None,
                    age_seconds: Some(42),
                },
                Freshness {
                    table: "push_opens".into(),
                    latest_arrived_at: None,
                    age_seconds: None,
                },
            ],
            stream_lag_ms: None,
            retention_hours: 24,
            oldest_gap: None,
            gaps: vec![],
        };
        let docs: Vec<Value> = audit(&report, w.end_ms() + 60_000)
            .iter()
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        assert_eq!(docs.len(), 2, "an empty table has no freshness");
        assert_eq!(docs[0]["WindowsMissing"], 2.0);
        assert_eq!(docs[0]["WindowsFailed"], 1.0);
        assert_eq!(docs[0]["WindowsPartial"], 0.0);
        assert_eq!(docs[0]["OldestGapMinutes"], 0.0);
        assert_eq!(
            docs[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert_eq!(docs[1]["FreshnessSeconds"], 42.0);
        assert_eq!(docs[1]["Table"], "push_sends");
        assert_eq!(
            docs[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Table"]])
        );
    }
    use crate::steps::contract::{Kept, ReadStats};

    #[test]
    fn read_window_document_is_valid_emf() {
        let out = ReadWindowOutput {
            window: "2026-11-26T10:01Z".parse().unwrap(),
            batch: "b1".parse().unwrap(),
            execution: None,
            routes: vec![],
            rejected: Kept {
                count: 3,
                key: None,
            },
            unrouted: Kept {
                count: 2,
                key: None,
            },
            read: ReadStats {
                records: 10,
                events: 12,
                bytes: 900,
                shards: 2,
                source: "stream".into(),
                beyond_checkpoint: 4,
            },
            raw_key: "raw/x".into(),
            checkpoint_key: "checkpoints/x".into(),
        };
        let end = out.window.end_ms();
        let doc: Value = serde_json::from_str(&read_window(&out, end + 65_000, 420)).unwrap();
        let spec = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(spec["Namespace"], "pushfeed");
        // The dashboard charts the window's totals without dimensions.
        assert_eq!(spec["Dimensions"], json!([[]]));
        assert_eq!(doc["Step"], "ReadWindow");
        // Every declared metric has a value at the root, as EMF requires.
        for m in spec["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(doc[name].is_number(), "{name} has no value");
        }
        assert_eq!(doc["RecordsRejected"], 3.0);
        assert_eq!(doc["RecordsBeyondCheckpoint"], 4.0);
        assert_eq!(doc["StreamLagMs"], 65_000.0);
        assert_eq!(doc["_aws"]["Timestamp"], end + 65_000);
        assert_eq!(doc["window"], "2026-11-26T10:01Z");
    }

    #[test]
    fn branch_documents_carry_the_event_type_dimension() {
        let out = LoadOutput {
            window: "2026-11-26T10:01Z".parse().unwrap(),
            event_type: "OPEN".into(),
            table: "push_opens".into(),
            batch: "b1".parse().unwrap(),
            objects: 1,
            manifest_key: "m".into(),
            rows_staged: 5,
            rows_inserted: 4,
            rows_replaced: 1,
            rows_unchanged: 0,
            duplicates: 2,
        };
        let doc: Value = serde_json::from_str(&load(&out, 0, 10)).unwrap();
        assert_eq!(doc["DuplicatesDropped"], 2.0);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["EventType"]])
        );
        assert_eq!(
            (doc["EventType"].as_str(), doc["RowsLoaded"].as_f64()),
            (Some("OPEN"), Some(4.0))
        );
    }
}
