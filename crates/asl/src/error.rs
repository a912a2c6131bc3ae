//! Error names from the Amazon States Language and the crate's typed errors.

use thiserror::Error;

/// Built-in error names, spelled exactly as AWS spells them.
///
/// Where this crate produces each one:
/// - `States.Runtime`: a path (InputPath, Parameters/ItemSelector/ResultSelector
///   `.$` values, OutputPath, ItemsPath, Choice `Variable`, `*Path` fields) names
///   nothing in its input; a Map's ItemsPath is not an array; a Wait or
///   TimeoutSecondsPath value of the wrong type; an unregistered task resource or
///   Lambda function. Terminal: see [`Failure::is_catchable`].
/// - `States.NoChoiceMatched`: a Choice state with no matching rule and no Default.
/// - `States.TaskFailed`: never produced itself; it is a matcher for any error that a
///   task invocation returned, except `States.Timeout`.
/// - `States.Timeout`: a Task ran longer than TimeoutSeconds/TimeoutSecondsPath, or the
///   execution passed its own TimeoutSeconds (at most a year, AWS's maximum).
/// - `States.IntrinsicFailure`: an intrinsic function got bad arguments.
/// - `States.ResultPathMatchFailure`: ResultPath cannot be applied to the input.
/// - `States.BranchFailed`: not produced; a failing branch or iteration propagates
///   its own error name, which is what AWS reports too.
/// - `States.DataLimitExceeded`: an execution's input, a state's input (on entering or
///   after Parameters/ItemSelector), a state's output or a task's result is over the
///   payload quota (see [`crate::limits`]). Terminal, like `States.Runtime`.
/// - `States.Runtime` also ends an execution whose history reached its quota of events.
/// - `States.ParameterPathFailure`, `States.Permissions`, `States.HeartbeatTimeout`:
///   not produced.
pub mod names {
    pub const ALL: &str = "States.ALL";
    pub const RUNTIME: &str = "States.Runtime";
    pub const TIMEOUT: &str = "States.Timeout";
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    pub const PERMISSIONS: &str = "States.Permissions";
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
}

/// A definition that cannot run. Every variant names where the problem is.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DefinitionError {
    #[error("definition is not valid JSON: {0}")]
    Json(String),
    #[error("{scope}: StartAt '{start_at}' names no state")]
    MissingStartAt { scope: String, start_at: String },
    #[error("state '{state}': {field} '{target}' names no state in the same scope")]
    UnknownTarget {
        state: String,
        field: String,
        target: String,
    },
    #[error("state '{state}': unknown Type '{type_name}'")]
    UnknownType { state: String, type_name: String },
    #[error("state '{state}': {message}")]
    Invalid { state: String, message: String },
    #[error("{scope}: {message}")]
    Structure { scope: String, message: String },
}

/// A state-level error as AWS reports it: an error name and a cause string.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error: String,
    pub cause: String,
    /// Whether the error came out of a task invocation; `States.TaskFailed`
    /// matches only those.
    pub from_task: bool,
    /// The execution's own TimeoutSeconds ran out: nothing catches that.
    pub execution_timed_out: bool,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Failure {
        Failure {
            error: error.into(),
            cause: cause.into(),
            from_task: false,
            execution_timed_out: false,
        }
    }

    pub(crate) fn execution_timeout(cause: impl Into<String>) -> Failure {
        Failure {
            execution_timed_out: true,
            ..Failure::new(names::TIMEOUT, cause)
        }
    }

    pub fn runtime(cause: impl Into<String>) -> Failure {
        Failure::new(names::RUNTIME, cause)
    }

    pub fn intrinsic(cause: impl Into<String>) -> Failure {
        Failure::new(names::INTRINSIC_FAILURE, cause)
    }

    /// AWS, "Error names" in the Step Functions developer guide: "States.ALL ... A
    /// wildcard that matches any known error name. The States.ALL error type can't
    /// catch the States.DataLimitExceeded terminal error and States.Runtime error
    /// types." and for States.Runtime: "An execution failed due to some exception
    /// that it couldn't process ... States.Runtime errors aren't retriable, and will
    /// always cause the execution to fail. A retry or catch on States.ALL won't catch
    /// States.Runtime errors." We read "always cause the execution to fail" as: no
    /// retrier or catcher handles them, not even one naming `States.Runtime`.
    pub fn is_catchable(&self) -> bool {
        !self.execution_timed_out
            && self.error != names::RUNTIME
            && self.error != names::DATA_LIMIT_EXCEEDED
    }

    /// Whether an `ErrorEquals` entry matches this failure.
    pub fn matches(&self, name: &str) -> bool {
        if !self.is_catchable() {
            return false;
        }
        match name {
            names::ALL => true,
            names::TASK_FAILED => {
                (self.from_task && self.error != names::TIMEOUT) || self.error == names::TASK_FAILED
            }
            other => other == self.error,
        }
    }
}

/// Errors from [`crate::substitute`].
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SubstituteError {
    #[error("placeholders left unfilled: {}", .0.join(", "))]
    Unfilled(Vec<String>),
}
