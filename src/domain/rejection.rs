//! Why a request was refused, in the service's own words: a bad field, a
//! rule of the recorded state, a wrong revision, a missing thing, a denied
//! caller, a limit. A rejected request never changes the store; how a
//! refusal is written on the wire (a gRPC status with rich `google.rpc`
//! details) is the wire chapter's.

use std::fmt;

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

/// A storage or runtime failure (INTERNAL).
pub fn internal(e: impl fmt::Display) -> Rejection {
    Rejection::Internal(e.to_string())
}
