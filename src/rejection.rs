//! Why a request was refused, and how that becomes a gRPC status with rich
//! `google.rpc` details. A rejected request never changes the store.

use std::fmt;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// A field of the request that is wrong whatever the stored state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldIssue {
    /// Path of the field, e.g. `events[2].occurred_on`.
    pub field: String,
    pub reason: String,
}

impl FieldIssue {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

/// A rule about the stored state that the request would break.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateIssue {
    /// A short machine-readable name of the rule, e.g. `CONCLUDED_BEFORE_RECEIPT`.
    pub rule: &'static str,
    /// Path of the offending field, e.g. `events[2].occurred_on`.
    pub field: String,
    pub description: String,
}

/// A refused request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// INVALID_ARGUMENT with `BadRequest` field violations.
    Invalid(Vec<FieldIssue>),
    /// FAILED_PRECONDITION with `PreconditionFailure` violations.
    State(Vec<StateIssue>),
    /// ABORTED: optimistic concurrency failed; read the stream and retry.
    WrongRevision { field: String, stream: String, expected: u64, actual: u64 },
    /// ALREADY_EXISTS: an event id reused with other content.
    Conflict { field: String, event_id: String },
    /// NOT_FOUND.
    NotFound { resource: &'static str, name: String },
    /// UNAVAILABLE: starting, draining, or stopped after a storage failure.
    Unavailable(String),
    /// INTERNAL: a storage error; logged where it happens.
    Internal(String),
    /// UNAUTHENTICATED: no token, or not a valid one.
    Unauthenticated(String),
    /// PERMISSION_DENIED: the token's role or scope does not cover it.
    Denied(String),
    /// RESOURCE_EXHAUSTED: a limit was reached; try again after a while.
    Exhausted { what: String, retry_after: std::time::Duration },
}

impl Rejection {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldIssue::new(field, reason)])
    }

    pub fn state(rule: &'static str, field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::State(vec![StateIssue { rule, field: field.into(), description: description.into() }])
    }

    /// The gRPC status code.
    pub fn code(&self) -> Code {
        match self {
            Self::Invalid(_) => Code::InvalidArgument,
            Self::State(_) => Code::FailedPrecondition,
            Self::WrongRevision { .. } => Code::Aborted,
            Self::Conflict { .. } => Code::AlreadyExists,
            Self::NotFound { .. } => Code::NotFound,
            Self::Unavailable(_) => Code::Unavailable,
            Self::Internal(_) => Code::Internal,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::Denied(_) => Code::PermissionDenied,
            Self::Exhausted { .. } => Code::ResourceExhausted,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(issues) => {
                let parts: Vec<_> = issues.iter().map(|i| format!("{}: {}", i.field, i.reason)).collect();
                write!(f, "invalid request: {}", parts.join("; "))
            }
            Self::State(issues) => {
                let parts: Vec<_> = issues.iter().map(|i| format!("{}: {}", i.field, i.description)).collect();
                write!(f, "refused by the recorded state: {}", parts.join("; "))
            }
            Self::WrongRevision { field, stream, expected, actual } => write!(
                f,
                "{field}: stream {stream} is at revision {actual}, not the expected {expected}; read it and retry"
            ),
            Self::Conflict { field, event_id } => {
                write!(f, "{field}: event id {event_id} was already used for an event with other content")
            }
            Self::NotFound { resource, name } => write!(f, "{resource} {name} not found"),
            Self::Unavailable(why) => write!(f, "unavailable: {why}"),
            Self::Internal(why) => write!(f, "internal error: {why}"),
            Self::Unauthenticated(why) => write!(f, "unauthenticated: {why}"),
            Self::Denied(why) => write!(f, "permission denied: {why}"),
            Self::Exhausted { what, retry_after } => {
                write!(f, "limit reached: {what}; retry after {} ms", retry_after.as_millis().max(1))
            }
        }
    }
}

impl From<Rejection> for Status {
    fn from(rejection: Rejection) -> Self {
        let message = rejection.to_string();
        let mut details = ErrorDetails::new();
        match &rejection {
            Rejection::Invalid(issues) => {
                for i in issues {
                    details.add_bad_request_violation(i.field.clone(), i.reason.clone());
                }
            }
            Rejection::State(issues) => {
                for i in issues {
                    details.add_precondition_failure_violation(i.rule, i.field.clone(), i.description.clone());
                }
            }
            Rejection::WrongRevision { field, expected, actual, .. } => {
                details.add_precondition_failure_violation(
                    "STREAM_REVISION",
                    field.clone(),
                    format!("expected revision {expected}, stream is at {actual}"),
                );
            }
            Rejection::Conflict { field, event_id } => {
                details.add_bad_request_violation(
                    field.clone(),
                    format!("event id {event_id} is already recorded with other content"),
                );
            }
            Rejection::NotFound { resource, name } => {
                details.set_resource_info(*resource, name.clone(), "", "not found");
            }
            Rejection::Unauthenticated(why) | Rejection::Denied(why) => {
                let reason =
                    if matches!(rejection, Rejection::Denied(_)) { "PERMISSION_DENIED" } else { "UNAUTHENTICATED" };
                details.set_error_info(reason, "disclosure-ledger", [("why".to_owned(), why.clone())]);
            }
            Rejection::Exhausted { what, retry_after } => {
                details.set_retry_info(Some(*retry_after));
                details.add_quota_failure_violation(what.clone(), "limit reached");
            }
            Rejection::Unavailable(_) | Rejection::Internal(_) => {
                return Status::new(rejection.code(), message);
            }
        }
        Status::with_error_details(rejection.code(), message, details)
    }
}

/// Logs a refusal once, where the RPC answers, at a level fitting whose
/// fault it is, and turns it into a status.
pub fn refuse(rejection: Rejection) -> Status {
    match &rejection {
        Rejection::Internal(_) => tracing::error!(code = ?rejection.code(), "{rejection}"),
        Rejection::Unavailable(_) | Rejection::Exhausted { .. } => {
            tracing::warn!(code = ?rejection.code(), "{rejection}")
        }
        _ => tracing::info!(code = ?rejection.code(), "{rejection}"),
    }
    rejection.into()
}

/// A status as a `google.rpc.Status` message, with its rich details, for
/// answers that carry an error in a message rather than end the call.
pub fn rpc_status(status: &Status) -> crate::proto::google::rpc::Status {
    use prost::Message as _;
    // The details bytes are the encoded google.rpc.Status itself (code,
    // message and details) whenever rich details were attached.
    crate::proto::google::rpc::Status::decode(status.details())
        .ok()
        .filter(|s| s.code == status.code() as i32)
        .unwrap_or_else(|| crate::proto::google::rpc::Status {
            code: status.code() as i32,
            message: status.message().to_owned(),
            details: Vec::new(),
        })
}

/// A storage or runtime failure, reported as INTERNAL.
pub fn internal(e: impl fmt::Display) -> Rejection {
    Rejection::Internal(e.to_string())
}

/// Runs blocking store reads off the async runtime.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Rejection> + Send + 'static,
) -> Result<T, Rejection> {
    tokio::task::spawn_blocking(f).await.map_err(internal)?
}
