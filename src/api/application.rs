//! An application as the API shows it: its state from the folded record,
//! and its statutory deadline with how it was computed; and a review case
//! the same way. Shared by every service that answers with them.

use crate::deadline::statutory::{Deadline, Standing};
use crate::domain::application::{Application, Status as AppStatus};
use crate::domain::date::CivilDate;
use crate::domain::ids::StreamId;
use crate::domain::subject::{SubjectRecord, SubjectState};
use crate::wire::proto;

/// The wire view of a review case's record (`None` if it is not one).
pub fn review_case_to_proto(stream: &StreamId, record: &SubjectRecord) -> Option<proto::ReviewCase> {
    let SubjectState::ReviewCase(c) = &record.state else { return None };
    Some(proto::ReviewCase {
        agency_id: stream.agency.to_string(),
        case_id: stream.subject.to_string(),
        kind: c.kind.to_proto() as i32,
        filed_on: Some(c.filed_on.to_proto()),
        decided_on: c.decision.map(|(on, _)| on.to_proto()),
        result: c.decision.map_or(0, |(_, r)| r.to_proto() as i32),
        application_id: c.application.as_ref().map(ToString::to_string).unwrap_or_default(),
        revision: record.revision(),
        last_position: record.positions.last().copied().unwrap_or(0),
    })
}

/// The wire view of an application record.
pub fn application_to_proto(stream: &StreamId, record: &SubjectRecord) -> proto::Application {
    let mut out = proto::Application {
        agency_id: stream.agency.to_string(),
        application_id: stream.subject.to_string(),
        revision: record.revision(),
        last_position: record.positions.last().copied().unwrap_or(0),
        ..Default::default()
    };
    let Some(app) = record.application() else {
        out.set_status(proto::ApplicationStatus::Voided);
        return out;
    };
    out.set_status(wire_status(app));
    out.applicant_category = app.applicant.to_proto() as i32;
    out.channel = app.channel.to_proto() as i32;
    out.received_on = Some(app.received_on.to_proto());
    if let Some(c) = app.conclusion {
        out.concluded_on = Some(c.on.to_proto());
        out.outcome = c.outcome.to_proto() as i32;
        out.withdrawn = c.withdrawn;
    }
    out.supplement_requested_on = app.supplement_requested_on.map(CivilDate::to_proto);
    out.supplement_received_on = app.supplement_received_on.map(CivilDate::to_proto);
    if let Some(c) = app.consultations.iter().find(|c| c.ended_on.is_none()) {
        out.open_consultation = c.party.to_proto() as i32;
    }
    out.extension_working_days = app.extension_days.map_or(0, u32::from);
    out.fee_noticed_fen = app.fee_noticed_fen.unwrap_or(0);
    out.fee_paid_fen = app.fee_paid_fen.unwrap_or(0);
    out.split_into = app.split_into.iter().map(ToString::to_string).collect();
    out.split_from = app.split_from.as_ref().map(ToString::to_string).unwrap_or_default();
    out
}

/// The status an application shows on the wire.
pub fn wire_status(a: &Application) -> proto::ApplicationStatus {
    match a.status() {
        AppStatus::Open => proto::ApplicationStatus::Open,
        AppStatus::Concluded => proto::ApplicationStatus::Concluded,
        AppStatus::Split => proto::ApplicationStatus::Split,
    }
}

/// The wire form of a deadline (or of why there is none).
pub fn deadline_to_proto(d: Result<Deadline, String>) -> proto::Deadline {
    let d = match d {
        Ok(d) => d,
        Err(calendar_error) => return proto::Deadline { calendar_error, ..Default::default() },
    };
    let standing = match d.standing {
        Standing::AwaitingSupplement => proto::DeadlineStanding::AwaitingSupplement,
        Standing::Paused => proto::DeadlineStanding::Paused,
        Standing::OnTime => proto::DeadlineStanding::OnTime,
        Standing::DueSoon => proto::DeadlineStanding::DueSoon,
        Standing::Overdue => proto::DeadlineStanding::Overdue,
        Standing::AnsweredOnTime => proto::DeadlineStanding::AnsweredOnTime,
        Standing::AnsweredLate => proto::DeadlineStanding::AnsweredLate,
    };
    proto::Deadline {
        clock_starts: Some(d.clock_starts.to_proto()),
        paused_working_days: d.paused_days,
        extension_working_days: d.extension_days,
        due: d.due.map(CivilDate::to_proto),
        remaining_working_days: d.remaining.unwrap_or(0),
        standing: standing as i32,
        supplement_request_by: Some(d.supplement_request_by.to_proto()),
        supplement_request_late: d.supplement_request_late,
        calendar_error: String::new(),
        clock_stops: d.clock_stops.map(CivilDate::to_proto),
        notes: d
            .notes
            .into_iter()
            .map(|n| proto::DeadlineNote { code: n.code.into(), on: Some(n.on.to_proto()), text: n.text })
            .collect(),
    }
}
