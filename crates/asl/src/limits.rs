//! Step Functions' quotas for Standard workflows, and the failures AWS reports when an
//! execution runs into one. The executor applies them; callers may raise them (benchmarks).

use crate::error::{names, Failure};
use serde_json::Value;

/// AWS, "Step Functions service quotas", quotas related to state machine executions:
/// "Maximum execution history size: 25,000 events. If the execution history reaches this
/// quota, the execution will fail."
pub const MAX_HISTORY_EVENTS: usize = 25_000;

/// AWS, "Step Functions service quotas", quotas related to task executions: "Maximum
/// input or output size for a task, state, or execution: 262,144 bytes of data as a UTF-8
/// encoded string. This quota affects tasks (activity, Lambda function, or integrated
/// service), state or execution output, and input data when scheduling a task, entering a
/// state, or starting an execution."
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// AWS, "Step Functions service quotas": "Maximum execution time: 1 year. If an execution
/// runs for more than the 1-year maximum, it will fail with a States.Timeout error". It is
/// the deadline of an execution whose definition sets no TimeoutSeconds.
pub const MAX_EXECUTION_SECONDS: u64 = 365 * 24 * 3600;

/// AWS, "Step Functions service quotas", quotas related to accounts: "Maximum size of
/// state machine definition: 1 MB" (a hard quota).
pub const MAX_DEFINITION_BYTES: usize = 1_048_576;

/// The quotas one executor applies. [`Limits::default`] is AWS's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Events in one execution's history, the final `ExecutionFailed` included.
    pub max_history_events: usize,
    /// Bytes of a state's input or output, a task's result or the execution's input,
    /// counted as compact UTF-8 JSON.
    pub max_payload_bytes: usize,
    /// The execution's deadline when its definition has no TimeoutSeconds.
    pub max_execution_seconds: u64,
    /// Not an AWS quota: the bytes of payload text one history keeps. AWS keeps every
    /// input and output, but 25,000 events of up to 256 KiB each would be 6 GiB on one
    /// machine; past this budget an event keeps an empty payload marked `truncated`, so
    /// a loop over a large payload cannot exhaust memory.
    pub history_payload_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_history_events: MAX_HISTORY_EVENTS,
            max_payload_bytes: MAX_PAYLOAD_BYTES,
            max_execution_seconds: MAX_EXECUTION_SECONDS,
            history_payload_bytes: 256 * 1024 * 1024,
        }
    }
}

/// A writer that keeps (when `keep`) or counts the bytes written, and fails once they
/// pass `cap`, which stops serde_json early.
struct Capped {
    buf: Vec<u8>,
    n: usize,
    cap: usize,
    keep: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.n += buf.len();
        if self.n > self.cap {
            return Err(std::io::Error::other("over the cap"));
        }
        if self.keep {
            self.buf.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How many bytes `v` takes as compact JSON, counting no further than `cap + 1`: a
/// hostile payload costs at most the quota to measure.
pub fn json_size(v: &Value, cap: usize) -> usize {
    let mut c = Capped {
        buf: Vec::new(),
        n: 0,
        cap,
        keep: false,
    };
    let _ = serde_json::to_writer(&mut c, v);
    c.n
}

/// `v` as compact JSON text when it takes at most `cap` bytes; `None` otherwise, having
/// written no more than `cap + 1` of them.
pub fn json_text(v: &Value, cap: usize) -> Option<String> {
    let mut c = Capped {
        buf: Vec::new(),
        n: 0,
        cap,
        keep: true,
    };
    serde_json::to_writer(&mut c, v).ok()?;
    String::from_utf8(c.buf).ok()
}

/// The failure AWS reports when the history is full; the cause is AWS's own sentence.
pub(crate) fn history_full(max: usize) -> Failure {
    Failure::new(
        names::RUNTIME,
        format!("The execution reached the maximum number of history events ({max})."),
    )
}

/// AWS's cause for States.DataLimitExceeded names "the state/task": the state's name for
/// a state's input or output, the resource for a task's result.
pub(crate) fn data_limit(what: &str) -> Failure {
    Failure::new(
        names::DATA_LIMIT_EXCEEDED,
        format!(
            "The state/task '{what}' returned a result with a size exceeding the maximum number of bytes service limit."
        ),
    )
}

/// A state's input (on entering, or after Parameters) that is over the quota.
pub(crate) fn input_limit(state: &str, size: usize, max: usize) -> Failure {
    Failure::new(
        names::DATA_LIMIT_EXCEEDED,
        format!(
            "The state/task '{state}' has an input of {size} bytes or more, over the maximum of {max} bytes (UTF-8) that Step Functions passes to a state."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_size_counts_utf8_bytes_and_stops_past_the_cap() {
        assert_eq!(json_size(&json!({"a": "é"}), 100), r#"{"a":"é"}"#.len());
        let big = json!("x".repeat(10_000));
        assert_eq!(json_size(&big, 100_000), 10_002);
        let n = json_size(&big, 100);
        assert!(n > 100 && n < 10_002, "{n}");
        assert_eq!(json_text(&json!([1, 2]), 5).as_deref(), Some("[1,2]"));
        assert_eq!(json_text(&json!([1, 2]), 4), None);
    }
}
