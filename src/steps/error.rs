//! Step errors and their stable names. The state machine's Retry and Catch match these names, so
//! they are defined once here and never derived from Rust type names.

use crate::domain::window::Window;
use crate::ports::{ErrorKind, PortError};

/// The error names the state machine matches.
pub mod names {
    /// Worth retrying: throttling, timeouts, a window not yet settled, a lost connection.
    pub const TRANSIENT: &str = "Pushfeed.Transient";
    /// The request cannot succeed as given: a bad window, a missing or foreign object, an
    /// unknown delivery stream, a permission refused. Not retried.
    pub const INVALID_INPUT: &str = "Pushfeed.InvalidInput";
    /// Firehose never delivered all of a batch's records.
    pub const OBJECTS_NOT_DELIVERED: &str = "Pushfeed.ObjectsNotDelivered";
    /// The warehouse refused the load transaction.
    pub const LOAD_FAILED: &str = "Pushfeed.LoadFailed";
    pub const ALL: [&str; 4] = [TRANSIENT, INVALID_INPUT, OBJECTS_NOT_DELIVERED, LOAD_FAILED];
}

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// `message` names the window and what was attempted; `source` is the port's failure, when
    /// one caused it.
    #[error("{message}")]
    Transient {
        message: String,
        #[source]
        source: Option<PortError>,
    },
    #[error("{0}")]
    InvalidInput(String),
    #[error("window {window}, {event_type}: {arrived} of {expected} records of batch {batch} reached S3 after {attempts} checks; Firehose delivered no more")]
    ObjectsNotDelivered {
        window: Window,
        event_type: String,
        batch: String,
        expected: u64,
        arrived: u64,
        attempts: u32,
    },
    #[error("window {window}: loading {table} failed: {message}")]
    LoadFailed {
        window: Window,
        table: String,
        message: String,
    },
}

impl StepError {
    /// The stable name the state machine matches.
    pub fn name(&self) -> &'static str {
        match self {
            StepError::Transient { .. } => names::TRANSIENT,
            StepError::InvalidInput(_) => names::INVALID_INPUT,
            StepError::ObjectsNotDelivered { .. } => names::OBJECTS_NOT_DELIVERED,
            StepError::LoadFailed { .. } => names::LOAD_FAILED,
        }
    }

    /// A failure worth retrying that no port reported (e.g. a window not settled yet).
    pub fn transient(message: impl Into<String>) -> StepError {
        StepError::Transient {
            message: message.into(),
            source: None,
        }
    }

    /// A port failure in a step: retried if the adapter says it may pass, else not.
    pub fn from_port(context: &str, e: PortError) -> StepError {
        let text = format!("{context}: {e}");
        match e.kind {
            ErrorKind::Transient => StepError::Transient {
                message: text,
                source: Some(e),
            },
            ErrorKind::NotFound
            | ErrorKind::AlreadyExists
            | ErrorKind::Permanent
            | ErrorKind::Trimmed => StepError::InvalidInput(text),
        }
    }
}
