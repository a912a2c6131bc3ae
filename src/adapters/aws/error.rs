//! SDK errors to [`PortError`]s: the one place that decides what is worth retrying.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::ports::{ErrorKind, PortError};

/// Error codes that mean "slow down or try again": throttling, timeouts, the service's own faults.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "ProvisionedThroughputExceededException",
    "KMSThrottlingException",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServerException",
    "ExpiredIteratorException",
    "ActiveStatementsExceededException",
    "ConditionalRequestConflict",
    "OperationAborted",
];

/// Error codes that mean the thing named does not exist.
const NOT_FOUND_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "NoSuchKey",
    "NoSuchBucket",
    "NotFound",
    "NotFoundException",
    "ExecutionDoesNotExist",
    "StateMachineDoesNotExist",
];

/// The kind of a service error, by its code first and its HTTP status second.
pub fn kind_of(code: Option<&str>, status: Option<u16>) -> ErrorKind {
    match (code, status) {
        (Some(c), _) if TRANSIENT_CODES.contains(&c) => ErrorKind::Transient,
        (Some(c), _) if NOT_FOUND_CODES.contains(&c) => ErrorKind::NotFound,
        (Some("TrimmedDataAccessException"), _) => ErrorKind::Trimmed,
        (Some("PreconditionFailed"), _) | (_, Some(412)) => ErrorKind::AlreadyExists,
        (_, Some(404)) => ErrorKind::NotFound,
        (_, Some(429)) => ErrorKind::Transient,
        (_, Some(s)) if s >= 500 => ErrorKind::Transient,
        _ => ErrorKind::Permanent,
    }
}

/// Classifies any SDK operation's error. Connection failures, timeouts and unreadable responses
/// may pass; a request the SDK could not even build will not.
pub fn classify<E>(operation: impl Into<String>, e: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let kind = match &e {
        SdkError::ServiceError(se) => kind_of(se.err().code(), Some(se.raw().status().as_u16())),
        SdkError::ConstructionFailure(_) => ErrorKind::Permanent,
        // TimeoutError, DispatchFailure (connection), ResponseError (cut-off body) and the future.
        _ => ErrorKind::Transient,
    };
    PortError::new(kind, operation, ServiceError::new(message_of(&e), e))
}

/// An SDK error as a [`PortError`]'s cause: said as [`message_of`] says it, kept whole as its
/// source.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    message: String,
    #[source]
    source: crate::ports::BoxError,
}

impl ServiceError {
    pub fn new(message: String, source: impl Into<crate::ports::BoxError>) -> ServiceError {
        ServiceError {
            message,
            source: source.into(),
        }
    }
}

/// The service's code and message when there is one, else the SDK's whole error chain.
pub fn message_of<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        _ => DisplayErrorContext(e).to_string(),
    }
}

/// The service error code of an SDK error, if the service answered.
pub fn code_of<E>(e: &SdkError<E, HttpResponse>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match e {
        SdkError::ServiceError(se) => se.err().code(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_classify() {
        assert_eq!(
            kind_of(Some("ThrottlingException"), Some(400)),
            ErrorKind::Transient
        );
        assert_eq!(
            kind_of(Some("ProvisionedThroughputExceededException"), Some(400)),
            ErrorKind::Transient
        );
        assert_eq!(
            kind_of(Some("ResourceNotFoundException"), Some(400)),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind_of(Some("TrimmedDataAccessException"), Some(400)),
            ErrorKind::Trimmed
        );
        assert_eq!(
            kind_of(Some("PreconditionFailed"), Some(412)),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            kind_of(Some("AccessDenied"), Some(403)),
            ErrorKind::Permanent
        );
        assert_eq!(kind_of(None, Some(503)), ErrorKind::Transient);
        assert_eq!(kind_of(None, Some(404)), ErrorKind::NotFound);
        assert_eq!(
            kind_of(Some("ValidationException"), Some(400)),
            ErrorKind::Permanent
        );
    }
}
