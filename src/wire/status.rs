//! A refusal on the wire: the gRPC status code of each kind of
//! [`Rejection`], with its rich `google.rpc` details, logged once where the
//! RPC answers.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::rejection::Rejection;

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
