//! A refusal on the wire: the gRPC status code of each kind of
//! [`Rejection`], with its rich `google.rpc` details, logged once where the
//! RPC answers.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::rejection::{Rejection, SHOWN_FIELD, SHOWN_REASON, shown};

impl Rejection {
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

/// The most violations one status lists; one more says how many were left
/// out.
pub const MAX_VIOLATIONS: usize = 20;
/// The most bytes of a status's details (`grpc-status-details-bin`, sent
/// base64, a third larger): under 4 KiB on the wire, so that clients with
/// grpc-java's 8 KiB metadata limit read the real status.
pub const MAX_DETAILS: usize = 3 * 1024;

impl From<Rejection> for Status {
    fn from(rejection: Rejection) -> Self {
        let message = rejection.to_string();
        // Fewer violations until the details fit (each is already short, so
        // this takes a step or two at most).
        let mut shown = MAX_VIOLATIONS;
        loop {
            let Some(details) = details(&rejection, shown) else {
                return Status::new(rejection.code(), message);
            };
            let status = Status::with_error_details(rejection.code(), message.clone(), details);
            if status.details().len() <= MAX_DETAILS || shown == 0 {
                return status;
            }
            shown /= 2;
        }
    }
}

/// The rich details of a refusal, listing at most `shown` violations.
fn details(rejection: &Rejection, shown: usize) -> Option<ErrorDetails> {
    let field = |s: &str| short(s, SHOWN_FIELD);
    let reason = |s: &str| short(s, SHOWN_REASON);
    let mut details = ErrorDetails::new();
    match rejection {
        Rejection::Invalid(issues) => {
            for i in issues.iter().take(shown) {
                details.add_bad_request_violation(field(&i.field), reason(&i.reason));
            }
            if let Some(more) = left_out(issues.len(), shown) {
                details.add_bad_request_violation("", more);
            }
        }
        Rejection::State(issues) => {
            for i in issues.iter().take(shown) {
                details.add_precondition_failure_violation(i.rule, field(&i.field), reason(&i.description));
            }
            if let Some(more) = left_out(issues.len(), shown) {
                details.add_precondition_failure_violation("MORE", "", more);
            }
        }
        Rejection::WrongRevision { field: f, expected, actual, .. } => {
            details.add_precondition_failure_violation(
                "STREAM_REVISION",
                field(f),
                format!("expected revision {expected}, stream is at {actual}"),
            );
        }
        Rejection::Conflict { field: f, event_id } => {
            details.add_bad_request_violation(
                field(f),
                format!("event id {event_id} is already recorded with other content"),
            );
        }
        Rejection::NotFound { resource, name } => {
            details.set_resource_info(*resource, reason(name), "", "not found");
        }
        Rejection::Unauthenticated(why) | Rejection::Denied(why) => {
            let kind = if matches!(rejection, Rejection::Denied(_)) { "PERMISSION_DENIED" } else { "UNAUTHENTICATED" };
            details.set_error_info(kind, "disclosure-ledger", [("why".to_owned(), reason(why))]);
        }
        Rejection::Exhausted { what, retry_after } => {
            details.set_retry_info(Some(*retry_after));
            details.add_quota_failure_violation(reason(what), "limit reached");
        }
        Rejection::Unavailable(_) | Rejection::Internal(_) => return None,
    }
    Some(details)
}

fn short(s: &str, max: usize) -> String {
    shown(s, max).into_owned()
}

/// The last violation of a list cut short: how many more there were.
fn left_out(total: usize, shown: usize) -> Option<String> {
    (total > shown).then(|| format!("and {} more problems not listed; fix these and send again", total - shown))
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
pub fn rpc_status(status: &Status) -> crate::wire::proto::google::rpc::Status {
    use prost::Message as _;
    // The details bytes are the encoded google.rpc.Status itself (code,
    // message and details) whenever rich details were attached.
    crate::wire::proto::google::rpc::Status::decode(status.details())
        .ok()
        .filter(|s| s.code == status.code() as i32)
        .unwrap_or_else(|| crate::wire::proto::google::rpc::Status {
            code: status.code() as i32,
            message: status.message().to_owned(),
            details: Vec::new(),
        })
}

#[cfg(test)]
mod tests {
    use tonic_types::StatusExt as _;

    use super::*;
    use crate::domain::rejection::FieldIssue;

    #[test]
    fn a_thousand_long_violations_fit_in_a_status_every_client_reads() {
        let issues: Vec<FieldIssue> = (0..1000)
            .map(|i| {
                FieldIssue::new(format!("events[{i}].occurred_on"), format!("{} does not exist", "9".repeat(5000)))
            })
            .collect();
        let status = Status::from(Rejection::Invalid(issues));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.details().len() <= MAX_DETAILS, "{} bytes of details", status.details().len());
        assert!(status.message().len() < 1200, "{} bytes of message", status.message().len());
        let violations = status.get_details_bad_request().expect("rich details").field_violations;
        assert!(violations.len() > 1 && violations.len() <= MAX_VIOLATIONS + 1, "{}", violations.len());
        let last = violations.last().unwrap();
        assert!(last.description.starts_with("and ") && last.description.contains("more problems"), "{last:?}");
        assert!(violations[0].description.chars().count() <= SHOWN_REASON + 1);
    }

    #[test]
    fn a_few_short_violations_are_listed_whole() {
        let issues = vec![FieldIssue::new("events[0].event_id", "is required (a UUID)")];
        let status = Status::from(Rejection::Invalid(issues));
        let violations = status.get_details_bad_request().expect("rich details").field_violations;
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].field, "events[0].event_id");
        assert_eq!(violations[0].description, "is required (a UUID)");
    }
}
