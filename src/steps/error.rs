//! Step errors and their stable names. The state machine's Retry and Catch match these names, so
//! they are defined once here and never derived from Rust type names.

use crate::domain::window::Window;
use crate::ports::{BoxError, ErrorKind, PortError};

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
    /// `message` names the window, key, shard or table, what was expected and what to do, and
    /// says the cause in its own words when the sentence needs it; `source` keeps the cause.
    ///
    /// The cause is boxed rather than one enum of the types it may be: they are several and
    /// unrelated (a [`PortError`], a checkpoint's `serde_json::Error`, a `WindowError`, a
    /// `KeyError`, an object's `NotGzip`), and a box makes `source()` the cause itself, so
    /// [`StepError::cause`] downcasts straight to it. A wrapping enum would be a link of its own in
    /// the chain, repeating the text of the error it wraps, or, made transparent, would hand on
    /// that error's own source and hide the error from `source()`.
    #[error("{message}")]
    InvalidInput {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
    #[error("window {window}, {event_type}: {arrived} of {expected} records of batch {batch} reached S3 after {attempts} checks; Firehose delivered no more")]
    ObjectsNotDelivered {
        window: Window,
        event_type: String,
        batch: String,
        expected: u64,
        arrived: u64,
        attempts: u32,
    },
    /// The warehouse refused the load transaction of `table` for `window`; `source` is the
    /// warehouse's error, said after them.
    #[error("window {window}: loading {table} failed: {source}")]
    LoadFailed {
        window: Window,
        table: String,
        #[source]
        source: PortError,
    },
}

impl StepError {
    /// The stable name the state machine matches.
    pub fn name(&self) -> &'static str {
        match self {
            StepError::Transient { .. } => names::TRANSIENT,
            StepError::InvalidInput { .. } => names::INVALID_INPUT,
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

    /// A request that cannot succeed as given, found by the step itself: nothing failed below it.
    pub fn invalid(message: impl Into<String>) -> StepError {
        StepError::InvalidInput {
            message: message.into(),
            source: None,
        }
    }

    /// A request that cannot succeed as given, because of `cause` (a domain error such as a
    /// checkpoint that does not parse). A cause the message does not say is still said in the
    /// task's failure message ([`super::task::chain_message`]).
    pub fn invalid_because(message: impl Into<String>, cause: impl Into<BoxError>) -> StepError {
        StepError::InvalidInput {
            message: message.into(),
            source: Some(cause.into()),
        }
    }

    /// A port failure in a step: retried if the adapter says it may pass, else not. Either way
    /// the port's error is the source.
    pub fn from_port(context: &str, e: PortError) -> StepError {
        let message = format!("{context}: {e}");
        match e.kind {
            ErrorKind::Transient => StepError::Transient {
                message,
                source: Some(e),
            },
            ErrorKind::NotFound
            | ErrorKind::AlreadyExists
            | ErrorKind::Permanent
            | ErrorKind::Trimmed => StepError::invalid_because(message, e),
        }
    }

    /// The direct cause, if it is of type `E`: a [`PortError`], or the domain error a step found.
    pub fn cause<E: std::error::Error + 'static>(&self) -> Option<&E> {
        std::error::Error::source(self)?.downcast_ref::<E>()
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;
    use crate::domain::keys::{KeyError, ObjectKey};
    use crate::steps::task::TaskFailure;

    fn refused() -> PortError {
        PortError::permanent(
            "reading object staging/window=2026-11-26T10:01Z/type=OPEN/b.ndjson",
            "AccessDenied: Access Denied",
        )
    }

    #[test]
    fn a_permanent_port_failure_is_invalid_input_that_keeps_the_port_error() {
        let e = StepError::from_port(
            "window 2026-11-26T10:01Z, OPEN: reading staging object",
            refused(),
        );
        assert_eq!(e.name(), names::INVALID_INPUT);
        let port = e
            .source()
            .and_then(|s| s.downcast_ref::<PortError>())
            .expect("the port's error is the source");
        assert_eq!(port.kind, ErrorKind::Permanent);
        assert_eq!(port.operation, refused().operation);
        assert_eq!(
            e.cause::<PortError>().map(|p| p.kind),
            Some(ErrorKind::Permanent)
        );
        // The email says the port's own text, once.
        let failure = TaskFailure::from(e);
        assert_eq!(failure.error_type, names::INVALID_INPUT);
        assert_eq!(
            failure.error_message,
            "window 2026-11-26T10:01Z, OPEN: reading staging object: reading object staging/window=2026-11-26T10:01Z/type=OPEN/b.ndjson failed: AccessDenied: Access Denied"
        );
    }

    #[test]
    fn every_kind_of_port_failure_keeps_the_port_error_as_its_source() {
        for kind in [
            ErrorKind::NotFound,
            ErrorKind::AlreadyExists,
            ErrorKind::Transient,
            ErrorKind::Permanent,
            ErrorKind::Trimmed,
        ] {
            let e = StepError::from_port(
                "window 2026-11-26T10:01Z",
                PortError::new(kind, "listing", "why"),
            );
            let want = match kind {
                ErrorKind::Transient => names::TRANSIENT,
                _ => names::INVALID_INPUT,
            };
            assert_eq!(e.name(), want, "{kind:?}");
            assert_eq!(
                e.cause::<PortError>().map(|p| p.kind),
                Some(kind),
                "{kind:?}"
            );
            assert_eq!(
                e.to_string(),
                "window 2026-11-26T10:01Z: listing failed: why"
            );
        }
    }

    #[test]
    fn a_domain_cause_is_kept_and_said_in_the_failure_even_when_the_message_does_not_say_it() {
        let key = "staging/elsewhere.ndjson";
        let parse = ObjectKey::parse(key).unwrap_err();
        let e = StepError::invalid_because(
            format!("window 2026-11-26T10:01Z: `{key}` is not the staging key of OPEN batch b"),
            parse.clone(),
        );
        assert_eq!(e.cause::<KeyError>(), Some(&parse));
        assert!(e.cause::<PortError>().is_none());
        let failure = TaskFailure::from(e);
        assert_eq!(failure.error_type, names::INVALID_INPUT);
        assert!(
            failure
                .error_message
                .starts_with("window 2026-11-26T10:01Z: `staging/elsewhere.ndjson` is not")
                && failure.error_message.ends_with(&format!(": {parse}")),
            "{}",
            failure.error_message
        );
    }

    #[test]
    fn a_refused_load_names_window_and_table_and_keeps_the_warehouse_error() {
        let e = StepError::LoadFailed {
            window: "2026-11-26T10:01Z".parse().unwrap(),
            table: "push_opens".into(),
            source: PortError::permanent(
                "loading push_opens (commit)",
                "relation \"push_opens\" does not exist (42P01)",
            ),
        };
        assert_eq!(e.name(), names::LOAD_FAILED);
        let warehouse = e
            .cause::<PortError>()
            .expect("the warehouse's error is the source");
        assert_eq!(
            (warehouse.kind, warehouse.operation.as_str()),
            (ErrorKind::Permanent, "loading push_opens (commit)")
        );
        let failure = TaskFailure::from(e);
        assert_eq!(failure.error_type, names::LOAD_FAILED);
        assert_eq!(
            failure.error_message,
            "window 2026-11-26T10:01Z: loading push_opens failed: loading push_opens (commit) failed: relation \"push_opens\" does not exist (42P01)"
        );
    }

    #[test]
    fn what_a_step_finds_by_itself_has_no_source() {
        let e = StepError::invalid("window 2026-11-26T10:01Z: event type X has no route");
        assert!(e.source().is_none());
        assert_eq!(
            TaskFailure::from(e).error_message,
            "window 2026-11-26T10:01Z: event type X has no route"
        );
    }
}
