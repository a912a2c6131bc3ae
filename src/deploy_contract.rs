//! The contract between the CDK app and the task Lambdas, `config/contract.json`, compiled in and
//! parsed into typed values: environment variable names, S3 prefixes, the Firehose output layout,
//! error names, metric names, retry policies and the timeout chain.
//!
//! The CDK app builds from the same file, and tests on both sides (tests/deploy_contract.rs,
//! cdk/test/contract.test.ts) check their own copies against it, so a rename on one side fails a
//! test on the other. The Rust code reads from it only where that removes a hand-written copy of
//! a number (the Redshift polling deadline); names stay literal in their modules and are checked.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

/// The file as checked in.
pub const CONTRACT_JSON: &str = include_str!("../config/contract.json");

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeployContract {
    pub errors: ErrorNames,
    /// Variable key (the `TaskEnv` field it fills) → environment variable name.
    pub environment: BTreeMap<String, String>,
    pub tasks: Tasks,
    pub s3: S3Layout,
    pub metrics: Metrics,
    pub timeouts: Timeouts,
    pub retry: RetryPolicies,
    pub notification: Notification,
}

/// The stable error names of `crate::steps::names`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorNames {
    pub transient: String,
    pub invalid_input: String,
    pub objects_not_delivered: String,
    pub load_failed: String,
}

impl ErrorNames {
    pub fn all(&self) -> [&str; 4] {
        [
            &self.transient,
            &self.invalid_input,
            &self.objects_not_delivered,
            &self.load_failed,
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Tasks {
    #[serde(rename = "read-window")]
    pub read_window: Task,
    pub deliver: Task,
    #[serde(rename = "await-objects")]
    pub await_objects: Task,
    pub load: Task,
}

impl Tasks {
    /// The four tasks under their cargo-lambda binary names.
    pub fn all(&self) -> [(&'static str, &Task); 4] {
        [
            ("read-window", &self.read_window),
            ("deliver", &self.deliver),
            ("await-objects", &self.await_objects),
            ("load", &self.load),
        ]
    }
}

/// One task Lambda: its Task state, its variables (keys of `environment`) and its timeouts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Task {
    pub state: String,
    pub required: Vec<String>,
    #[serde(default)]
    pub optional: Vec<String>,
    /// Groups of which exactly one variable must be set.
    #[serde(default)]
    pub exactly_one_of: Vec<Vec<String>>,
    /// Groups of which at most one variable may be set.
    #[serde(default)]
    pub at_most_one_of: Vec<Vec<String>>,
    /// The longest the step itself waits for something (the Redshift statement), if it does.
    pub step_deadline_seconds: Option<u64>,
    pub lambda_timeout_seconds: u64,
    pub state_timeout_seconds: u64,
}

impl Task {
    /// Every variable key the task may read.
    pub fn variables(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self
            .required
            .iter()
            .chain(&self.optional)
            .chain(self.exactly_one_of.iter().flatten())
            .chain(self.at_most_one_of.iter().flatten())
            .map(String::as_str)
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct S3Layout {
    /// The top-level prefixes of the S3 layout (docs/design.md), each ending in `/`.
    pub prefixes: BTreeMap<String, String>,
    pub firehose: FirehoseOutput,
}

impl S3Layout {
    /// The prefix under a key of `prefixes`, like `raw` → `raw/`.
    pub fn prefix(&self, key: &str) -> &str {
        self.prefixes
            .get(key)
            .unwrap_or_else(|| panic!("config/contract.json has no S3 prefix `{key}`"))
    }
}

/// How Firehose names what it writes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FirehoseOutput {
    /// With `{event_type}` for the route's type; `!{partitionKeyFromQuery:window}` is Firehose's.
    pub prefix: String,
    /// With `{delivery_stream}` for the stream's full name.
    pub error_output_prefix: String,
    /// The record key dynamic partitioning reads.
    pub partition_key: String,
    pub compression: String,
    pub file_extension: String,
}

impl FirehoseOutput {
    /// The prefix Firehose writes one type's records of one window under.
    pub fn prefix_for(&self, event_type: &str, window: &str) -> String {
        self.prefix.replace("{event_type}", event_type).replace(
            &format!("!{{partitionKeyFromQuery:{}}}", self.partition_key),
            window,
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Metrics {
    pub namespace: String,
    pub event_type_dimension: String,
    /// Per window, without dimensions.
    pub window: Vec<String>,
    /// Per window and event type.
    pub per_event_type: Vec<String>,
    /// Without dimensions; the stream-lag alarm reads it.
    pub lag: String,
    /// Under any dimensions (the dashboard uses a SEARCH).
    pub duration: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Timeouts {
    pub execution_seconds: u64,
    pub lambda_over_step_deadline_min_seconds: u64,
    pub state_over_lambda_min_seconds: u64,
    pub notify_state_seconds: u64,
    pub fan_out_max_concurrency: u64,
}

/// The Retry arrays of the ASL, exactly as the definition spells them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RetryPolicies {
    /// Every `lambda:invoke` Task state.
    pub lambda: Vec<Value>,
    /// NotifyFailure and NotifyFailureFallback.
    pub sns: Vec<Value>,
}

impl RetryPolicies {
    /// Every error name a list of retriers matches.
    pub fn names(retriers: &[Value]) -> Vec<&str> {
        retriers
            .iter()
            .flat_map(|r| r["ErrorEquals"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Notification {
    /// SNS refuses a subject of 100 characters or more.
    pub subject_max_chars: usize,
    /// The longest event type a route may have, so the failure subject stays within the limit.
    pub routed_event_type_max_chars: usize,
    /// The error names the failure subject carries; any other error is named in the message only.
    pub subject_error_names: Vec<String>,
}

/// The parsed contract.
pub fn get() -> &'static DeployContract {
    static CONTRACT: OnceLock<DeployContract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        serde_json::from_str(CONTRACT_JSON)
            .expect("config/contract.json is parsed by its unit test")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_in_contract_parses_and_names_only_known_variables() {
        let c: DeployContract = serde_json::from_str(CONTRACT_JSON).unwrap();
        for (name, task) in c.tasks.all() {
            for key in task.variables() {
                assert!(
                    c.environment.contains_key(key),
                    "task {name} names variable `{key}`, which `environment` does not define"
                );
            }
        }
        assert_eq!(
            c.s3.firehose.prefix_for("OPEN", "2026-11-26T10:01Z"),
            "events/OPEN/window=2026-11-26T10:01Z/"
        );
        assert_eq!(c.tasks.load.step_deadline_seconds, Some(480));
    }
}
