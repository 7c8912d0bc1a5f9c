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

/// The most characters of a field's path a refusal repeats.
pub const SHOWN_FIELD: usize = 100;
/// The most characters of one reason a refusal repeats: its bad value is
/// cut well before, so a 10,000-character id comes back as its first
/// hundred characters, not as a status no client can read.
pub const SHOWN_REASON: usize = 240;
/// How many problems a refusal's message names; its details list more.
const MESSAGE_ISSUES: usize = 3;

/// At most `max` characters of `s`, with `…` where it was cut.
pub fn shown(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => s.into(),
        Some((cut, _)) => format!("{}…", &s[..cut]).into(),
    }
}

/// `field: reason` of the first few problems, and how many more there are.
fn list<'a>(f: &mut fmt::Formatter<'_>, issues: impl ExactSizeIterator<Item = (&'a str, &'a str)>) -> fmt::Result {
    let total = issues.len();
    for (n, (field, reason)) in issues.take(MESSAGE_ISSUES).enumerate() {
        let sep = if n == 0 { "" } else { "; " };
        write!(f, "{sep}{}: {}", shown(field, SHOWN_FIELD), shown(reason, SHOWN_REASON))?;
    }
    if total > MESSAGE_ISSUES {
        write!(f, "; and {} more", total - MESSAGE_ISSUES)?;
    }
    Ok(())
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = |s: &str| shown(s, SHOWN_REASON).into_owned();
        match self {
            Self::Invalid(issues) => {
                f.write_str("invalid request: ")?;
                list(f, issues.iter().map(|i| (i.field.as_str(), i.reason.as_str())))
            }
            Self::State(issues) => {
                f.write_str("refused by the recorded state: ")?;
                list(f, issues.iter().map(|i| (i.field.as_str(), i.description.as_str())))
            }
            Self::WrongRevision { field, stream, expected, actual } => write!(
                f,
                "{field}: stream {stream} is at revision {actual}, not the expected {expected}; read it and retry"
            ),
            Self::Conflict { field, event_id } => {
                write!(f, "{field}: event id {event_id} was already used for an event with other content")
            }
            Self::NotFound { resource, name } => write!(f, "{resource} {} not found", short(name)),
            Self::Unavailable(why) => write!(f, "unavailable: {}", short(why)),
            Self::Internal(why) => write!(f, "internal error: {why}"),
            Self::Unauthenticated(why) => write!(f, "unauthenticated: {}", short(why)),
            Self::Denied(why) => write!(f, "permission denied: {}", short(why)),
            Self::Exhausted { what, retry_after } => {
                write!(f, "limit reached: {}; retry after {} ms", short(what), retry_after.as_millis().max(1))
            }
        }
    }
}

/// A storage or runtime failure (INTERNAL).
pub fn internal(e: impl fmt::Display) -> Rejection {
    Rejection::Internal(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_names_a_few_problems_each_cut_short() {
        let issues: Vec<FieldIssue> =
            (0..1000).map(|i| FieldIssue::new(format!("events[{i}].event_id"), "x".repeat(10_000))).collect();
        let message = Rejection::Invalid(issues).to_string();
        assert!(message.len() < 1200, "{} bytes", message.len());
        assert!(message.ends_with("; and 997 more"), "{message}");
        assert_eq!(shown("依申请", 2), "依申…");
        assert_eq!(shown("abc", 3), "abc");
    }
}
