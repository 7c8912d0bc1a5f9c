//! An event on the wire: the proto envelope converted into domain types
//! and back. Every field is checked on the way in (with the rules of
//! [`crate::domain::event::check`]) and every problem is reported with its
//! path; the proto encoding is also the canonical form stored in the log.

use chrono::DateTime;
use prost::Message;

use crate::domain::codes::{
    ApplicantCategory, CatalogueKind, Channel, ConsultationParty, DecisionKind, DocumentKind, Outcome, ReportSection,
    ReviewKind, ReviewResult,
};
use crate::domain::date::CivilDate;
use crate::domain::event::check::{fee, money, non_empty, reason, split_parts, tag};
use crate::domain::event::{Amendment, Event, MAX_DECISIONS, MAX_EXTENSION_DAYS, Payload, Recorded, check};
use crate::domain::ids::{AgencyId, EventId, SubjectId};
use crate::domain::rejection::FieldIssue;
use crate::domain::report_text;
use crate::domain::submitted_table::{self, Sha256};
use crate::wire::proto::{self, event::Payload as WirePayload};

/// How ids are read: canonical from a request, as written from the log.
#[derive(Clone, Copy)]
enum Ids {
    Canonical,
    AsStored,
}

impl Ids {
    fn agency(self, s: &str) -> Result<AgencyId, String> {
        match self {
            Self::Canonical => AgencyId::parse(s),
            Self::AsStored => AgencyId::stored(s),
        }
    }

    fn subject(self, s: &str) -> Result<SubjectId, String> {
        match self {
            Self::Canonical => SubjectId::parse(s),
            Self::AsStored => SubjectId::stored(s),
        }
    }
}

impl Event {
    /// Converts and checks a wire event. `at` is the path of the event in the
    /// request (e.g. `events[3]`), used in every reported field.
    pub fn from_proto(wire: &proto::Event, at: &str) -> Result<Self, Vec<FieldIssue>> {
        Self::convert(wire, at, Ids::Canonical)
    }

    fn convert(wire: &proto::Event, at: &str, ids: Ids) -> Result<Self, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        let mut check = |field: &str, r: Result<(), String>| {
            if let Err(reason) = r {
                issues.push(FieldIssue::new(format!("{at}.{field}"), reason));
            }
        };
        let id = EventId::parse(&wire.event_id);
        let agency = ids.agency(&wire.agency_id);
        let subject = ids.subject(&wire.subject_id);
        let occurred_on = business_date(wire.occurred_on.as_ref());
        check("event_id", id.as_ref().map(|_| ()).map_err(Clone::clone));
        check("agency_id", agency.as_ref().map(|_| ()).map_err(Clone::clone));
        check("subject_id", subject.as_ref().map(|_| ()).map_err(Clone::clone));
        check("occurred_on", occurred_on.as_ref().map(|_| ()).map_err(Clone::clone));
        check("actor", tag(&wire.actor));
        check("correlation_id", tag(&wire.correlation_id));
        let payload = match &wire.payload {
            None => Err(vec![FieldIssue::new(format!("{at}.payload"), "is required: set one event kind")]),
            Some(p) => payload_from_proto(p, at, ids),
        };
        let payload = match payload {
            Ok(p) => Some(p),
            Err(more) => {
                issues.extend(more);
                None
            }
        };
        if let (Ok(subject), Some(Payload::ReportTextSet { year, .. } | Payload::ReportPublished { year, .. })) =
            (&subject, &payload)
        {
            let wanted = report_text::subject_for(*year);
            if subject.as_str() != wanted {
                issues.push(FieldIssue::new(
                    format!("{at}.subject_id"),
                    format!("is {:?}; the text of the {year} report belongs to subject {wanted:?}", subject.as_str()),
                ));
            }
        }
        if let (Ok(subject), Some(Payload::TableSubmitted { first_day, last_day, .. })) = (&subject, &payload) {
            let wanted = submitted_table::subject_for(*first_day, *last_day);
            if subject.as_str() != wanted {
                issues.push(FieldIssue::new(
                    format!("{at}.subject_id"),
                    format!(
                        "is {:?}; the table of {first_day}..{last_day} belongs to subject {wanted:?}",
                        subject.as_str()
                    ),
                ));
            }
        }
        match (id, agency, subject, occurred_on, payload) {
            (Ok(id), Ok(agency), Ok(subject), Ok(occurred_on), Some(payload)) if issues.is_empty() => Ok(Self {
                id,
                agency,
                subject,
                occurred_on,
                actor: non_empty(&wire.actor),
                correlation_id: non_empty(&wire.correlation_id),
                payload,
            }),
            _ => Err(issues),
        }
    }

    /// The canonical wire form (the form stored in the log).
    pub fn to_proto(&self) -> proto::Event {
        proto::Event {
            event_id: self.id.to_string(),
            agency_id: self.agency.to_string(),
            subject_id: self.subject.to_string(),
            occurred_on: Some(self.occurred_on.to_proto()),
            actor: self.actor.clone().unwrap_or_default(),
            correlation_id: self.correlation_id.clone().unwrap_or_default(),
            payload: Some(payload_to_proto(&self.payload)),
        }
    }
}

/// An event's kind, as the protos name its payload (`application_received`,
/// `event_amended`…): what histories show. Empty without a payload.
pub fn kind(event: &proto::Event) -> &'static str {
    event.payload.as_ref().map_or("", wire_kind)
}

impl Recorded {
    pub fn to_proto(&self) -> proto::RecordedEvent {
        proto::RecordedEvent {
            event: Some(self.event.to_proto()),
            position: self.position,
            stream_revision: self.revision,
            recorded_at: Some(pbjson_types::Timestamp {
                seconds: self.recorded_at.timestamp(),
                nanos: self.recorded_at.timestamp_subsec_nanos() as i32,
            }),
        }
    }

    /// The bytes stored in the log.
    pub fn encode(&self) -> Vec<u8> {
        self.to_proto().encode_to_vec()
    }

    /// Reads stored bytes back; they were validated when written, so a
    /// failure here means the store is damaged.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let wire = proto::RecordedEvent::decode(bytes).map_err(|e| format!("undecodable log entry: {e}"))?;
        let event = wire.event.as_ref().ok_or("log entry without event")?;
        // Stored events passed these checks when written, and they only get
        // easier with time (a date can't leave the past), so a failure here
        // means the store is damaged. Ids are read as written: those stored
        // before ids were canonical keep their stored form.
        let event = Event::convert(event, "stored", Ids::AsStored).map_err(|issues| {
            issues.iter().map(|i| format!("{}: {}", i.field, i.reason)).collect::<Vec<_>>().join("; ")
        })?;
        let ts = wire.recorded_at.unwrap_or_default();
        let recorded_at = DateTime::from_timestamp(ts.seconds, ts.nanos.max(0) as u32).unwrap_or_default();
        Ok(Self { position: wire.position, revision: wire.stream_revision, recorded_at, event })
    }
}

fn business_date(date: Option<&proto::google::r#type::Date>) -> Result<CivilDate, String> {
    check::not_before_regulations(CivilDate::from_proto(date.ok_or("is required")?)?)
}

/// Collects the problems of one payload; `Ok` only when there are none.
struct Fields {
    at: String,
    issues: Vec<FieldIssue>,
}

impl Fields {
    fn new(at: &str, kind: &str) -> Self {
        Self { at: format!("{at}.{kind}"), issues: Vec::new() }
    }

    fn take<T>(&mut self, field: &str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(reason) => {
                self.issues.push(FieldIssue::new(format!("{}.{field}", self.at), reason));
                None
            }
        }
    }

    fn finish(self, payload: Option<Payload>) -> Result<Payload, Vec<FieldIssue>> {
        match payload {
            Some(p) if self.issues.is_empty() => Ok(p),
            _ => Err(self.issues),
        }
    }
}

fn payload_from_proto(wire: &WirePayload, at: &str, ids: Ids) -> Result<Payload, Vec<FieldIssue>> {
    use WirePayload as W;
    let mut f = Fields::new(at, wire_kind(wire));
    let payload = match wire {
        W::ApplicationReceived(m) => {
            let applicant = f.take("applicant_category", ApplicantCategory::from_proto(m.applicant_category));
            let channel = f.take("channel", Channel::from_proto(m.channel));
            applicant.zip(channel).map(|(applicant, channel)| Payload::ApplicationReceived { applicant, channel })
        }
        W::SupplementRequested(_) => Some(Payload::SupplementRequested),
        W::SupplementReceived(_) => Some(Payload::SupplementReceived),
        W::ConsultationStarted(m) => {
            f.take("party", ConsultationParty::from_proto(m.party)).map(|party| Payload::ConsultationStarted { party })
        }
        W::ConsultationEnded(m) => match m.party {
            0 => Some(Payload::ConsultationEnded { party: None }),
            p => {
                f.take("party", ConsultationParty::from_proto(p)).map(|p| Payload::ConsultationEnded { party: Some(p) })
            }
        },
        W::DeadlineExtended(m) => f
            .take(
                "working_days",
                match u8::try_from(m.working_days) {
                    Ok(d) if (1..=MAX_EXTENSION_DAYS).contains(&d) => Ok(d),
                    _ => Err(format!(
                        "{} is out of range: an extension is 1 to {MAX_EXTENSION_DAYS} working days (Art.33)",
                        m.working_days
                    )),
                },
            )
            .map(|working_days| Payload::DeadlineExtended { working_days }),
        W::FeeNoticeIssued(m) => {
            f.take("amount_fen", fee(m.amount_fen)).map(|amount_fen| Payload::FeeNoticeIssued { amount_fen })
        }
        W::FeePaid(m) => f.take("amount_fen", fee(m.amount_fen)).map(|amount_fen| Payload::FeePaid { amount_fen }),
        W::ApplicationWithdrawn(_) => Some(Payload::ApplicationWithdrawn),
        W::ApplicationConcluded(m) => {
            f.take("outcome", Outcome::from_proto(m.outcome)).map(|outcome| Payload::ApplicationConcluded { outcome })
        }
        W::ApplicationSplit(m) => {
            let parts = f.take("part_subject_ids", split_parts(&m.part_subject_ids, |s| ids.subject(s)));
            parts.map(|parts| Payload::ApplicationSplit { parts })
        }
        W::ReviewCaseFiled(m) => {
            let kind = f.take("kind", ReviewKind::from_proto(m.kind));
            let application = f.take(
                "application_subject_id",
                if m.application_subject_id.is_empty() {
                    Ok(None)
                } else {
                    ids.subject(&m.application_subject_id).map(Some)
                },
            );
            kind.zip(application).map(|(kind, application)| Payload::ReviewCaseFiled { kind, application })
        }
        W::ReviewCaseDecided(m) => {
            f.take("result", ReviewResult::from_proto(m.result)).map(|result| Payload::ReviewCaseDecided { result })
        }
        W::EventAmended(m) => amendment_from_proto(m, &mut f).map(Payload::EventAmended),
        W::DocumentIssued(m) => {
            f.take("kind", DocumentKind::from_proto(m.kind)).map(|kind| Payload::DocumentIssued { kind })
        }
        W::DocumentPublished(_) => Some(Payload::DocumentPublished),
        W::DocumentRepealed(_) => Some(Payload::DocumentRepealed),
        W::CatalogueItemAdded(m) => {
            f.take("kind", CatalogueKind::from_proto(m.kind)).map(|kind| Payload::CatalogueItemAdded { kind })
        }
        W::CatalogueItemRemoved(_) => Some(Payload::CatalogueItemRemoved),
        W::DecisionsMade(m) => {
            let kind = f.take("kind", DecisionKind::from_proto(m.kind));
            let count = f.take(
                "count",
                if (1..=MAX_DECISIONS).contains(&m.count) {
                    Ok(m.count)
                } else {
                    Err(format!("{} is out of range: 1 to {MAX_DECISIONS} decisions", m.count))
                },
            );
            kind.zip(count).map(|(kind, count)| Payload::DecisionsMade { kind, count })
        }
        W::FeesCollected(m) => {
            f.take("amount_fen", money(m.amount_fen)).map(|amount_fen| Payload::FeesCollected { amount_fen })
        }
        W::ProcurementRecorded(m) => {
            f.take("amount_fen", money(m.amount_fen)).map(|amount_fen| Payload::ProcurementRecorded { amount_fen })
        }
        W::ReportTextSet(m) => {
            let year = f.take("year", report_text::check_year(m.year));
            let section = f.take("section", ReportSection::from_proto(m.section));
            let text = f.take("text", report_text::check_text(&m.text));
            match (year, section, text) {
                (Some(year), Some(section), Some(text)) => Some(Payload::ReportTextSet { year, section, text }),
                _ => None,
            }
        }
        W::ReportPublished(m) => {
            let year = f.take("year", report_text::check_year(m.year));
            let label = f.take("label", report_text::check_label(&m.label));
            year.zip(label).map(|(year, label)| Payload::ReportPublished { year, label })
        }
        W::TableSubmitted(m) => {
            let first_day = f.take("first_day", business_date(m.first_day.as_ref()));
            let last_day = f.take("last_day", business_date(m.last_day.as_ref()));
            let sha256 = f.take("sha256", Sha256::parse(&m.sha256));
            let file_name = f.take("file_name", file_name(&m.file_name));
            let table = f.take(
                "table_json",
                match m.table_json.len() {
                    0 => Err("is required: the table as read, in the exchange format".to_string()),
                    n if n > submitted_table::MAX_TABLE => {
                        Err(format!("is {n} bytes long; at most {}", submitted_table::MAX_TABLE))
                    }
                    _ => Ok(m.table_json.clone()),
                },
            );
            if let (Some(first), Some(last)) = (first_day, last_day)
                && last < first
            {
                f.take::<()>("last_day", Err(format!("{last} is before first_day {first}")));
            }
            match (first_day, last_day, file_name, sha256, table) {
                (Some(first_day), Some(last_day), Some(file_name), Some(sha256), Some(table)) => {
                    Some(Payload::TableSubmitted { first_day, last_day, file_name, sha256, table })
                }
                _ => None,
            }
        }
        W::TableAccepted(m) => {
            f.take("sha256", Sha256::parse(&m.sha256)).map(|sha256| Payload::TableAccepted { sha256 })
        }
        W::EventVoided(m) => {
            let target = f.take("target_event_id", EventId::parse(&m.target_event_id));
            let why = f.take("reason", reason(&m.reason));
            target.zip(why).map(|(target, reason)| Payload::EventVoided { target, reason })
        }
    };
    f.finish(payload)
}

fn amendment_from_proto(m: &proto::EventAmended, f: &mut Fields) -> Option<Amendment> {
    fn optional<T>(v: i32, parse: impl Fn(i32) -> Result<T, String>) -> Result<Option<T>, String> {
        if v == 0 { Ok(None) } else { parse(v).map(Some) }
    }
    let target = f.take("target_event_id", EventId::parse(&m.target_event_id));
    let why = f.take("reason", reason(&m.reason));
    let occurred_on = f.take("occurred_on", m.occurred_on.as_ref().map(|d| business_date(Some(d))).transpose());
    let applicant = f.take("applicant_category", optional(m.applicant_category, ApplicantCategory::from_proto));
    let channel = f.take("channel", optional(m.channel, Channel::from_proto));
    let outcome = f.take("outcome", optional(m.outcome, Outcome::from_proto));
    let review_kind = f.take("review_kind", optional(m.review_kind, ReviewKind::from_proto));
    let review_result = f.take("review_result", optional(m.review_result, ReviewResult::from_proto));
    let amendment = Amendment {
        target: target?,
        reason: why?,
        occurred_on: occurred_on?,
        applicant: applicant?,
        channel: channel?,
        outcome: outcome?,
        review_kind: review_kind?,
        review_result: review_result?,
    };
    let changes_something = amendment.occurred_on.is_some()
        || amendment.applicant.is_some()
        || amendment.channel.is_some()
        || amendment.outcome.is_some()
        || amendment.review_kind.is_some()
        || amendment.review_result.is_some();
    if !changes_something {
        f.take::<()>("occurred_on", Err("an amendment must set at least one corrected fact".into()));
        return None;
    }
    Some(amendment)
}

fn wire_kind(wire: &WirePayload) -> &'static str {
    use WirePayload as W;
    match wire {
        W::ApplicationReceived(_) => "application_received",
        W::SupplementRequested(_) => "supplement_requested",
        W::SupplementReceived(_) => "supplement_received",
        W::ConsultationStarted(_) => "consultation_started",
        W::ConsultationEnded(_) => "consultation_ended",
        W::DeadlineExtended(_) => "deadline_extended",
        W::FeeNoticeIssued(_) => "fee_notice_issued",
        W::FeePaid(_) => "fee_paid",
        W::ApplicationWithdrawn(_) => "application_withdrawn",
        W::ApplicationConcluded(_) => "application_concluded",
        W::ApplicationSplit(_) => "application_split",
        W::ReviewCaseFiled(_) => "review_case_filed",
        W::ReviewCaseDecided(_) => "review_case_decided",
        W::EventAmended(_) => "event_amended",
        W::EventVoided(_) => "event_voided",
        W::DocumentIssued(_) => "document_issued",
        W::DocumentPublished(_) => "document_published",
        W::DocumentRepealed(_) => "document_repealed",
        W::CatalogueItemAdded(_) => "catalogue_item_added",
        W::CatalogueItemRemoved(_) => "catalogue_item_removed",
        W::DecisionsMade(_) => "decisions_made",
        W::FeesCollected(_) => "fees_collected",
        W::ProcurementRecorded(_) => "procurement_recorded",
        W::ReportTextSet(_) => "report_text_set",
        W::ReportPublished(_) => "report_published",
        W::TableSubmitted(_) => "table_submitted",
        W::TableAccepted(_) => "table_accepted",
    }
}

fn payload_to_proto(payload: &Payload) -> WirePayload {
    use WirePayload as W;
    match payload {
        Payload::ApplicationReceived { applicant, channel } => W::ApplicationReceived(proto::ApplicationReceived {
            applicant_category: applicant.to_proto() as i32,
            channel: channel.to_proto() as i32,
        }),
        Payload::SupplementRequested => W::SupplementRequested(proto::SupplementRequested {}),
        Payload::SupplementReceived => W::SupplementReceived(proto::SupplementReceived {}),
        Payload::ConsultationStarted { party } => {
            W::ConsultationStarted(proto::ConsultationStarted { party: party.to_proto() as i32 })
        }
        Payload::ConsultationEnded { party } => {
            W::ConsultationEnded(proto::ConsultationEnded { party: party.map_or(0, |p| p.to_proto() as i32) })
        }
        Payload::DeadlineExtended { working_days } => {
            W::DeadlineExtended(proto::DeadlineExtended { working_days: u32::from(*working_days) })
        }
        Payload::FeeNoticeIssued { amount_fen } => {
            W::FeeNoticeIssued(proto::FeeNoticeIssued { amount_fen: *amount_fen })
        }
        Payload::FeePaid { amount_fen } => W::FeePaid(proto::FeePaid { amount_fen: *amount_fen }),
        Payload::ApplicationWithdrawn => W::ApplicationWithdrawn(proto::ApplicationWithdrawn {}),
        Payload::ApplicationConcluded { outcome } => {
            W::ApplicationConcluded(proto::ApplicationConcluded { outcome: outcome.to_proto() as i32 })
        }
        Payload::ApplicationSplit { parts } => W::ApplicationSplit(proto::ApplicationSplit {
            part_subject_ids: parts.iter().map(ToString::to_string).collect(),
        }),
        Payload::ReviewCaseFiled { kind, application } => W::ReviewCaseFiled(proto::ReviewCaseFiled {
            kind: kind.to_proto() as i32,
            application_subject_id: application.as_ref().map(ToString::to_string).unwrap_or_default(),
        }),
        Payload::ReviewCaseDecided { result } => {
            W::ReviewCaseDecided(proto::ReviewCaseDecided { result: result.to_proto() as i32 })
        }
        Payload::EventAmended(a) => W::EventAmended(proto::EventAmended {
            target_event_id: a.target.to_string(),
            reason: a.reason.clone(),
            occurred_on: a.occurred_on.map(CivilDate::to_proto),
            applicant_category: a.applicant.map_or(0, |v| v.to_proto() as i32),
            channel: a.channel.map_or(0, |v| v.to_proto() as i32),
            outcome: a.outcome.map_or(0, |v| v.to_proto() as i32),
            review_kind: a.review_kind.map_or(0, |v| v.to_proto() as i32),
            review_result: a.review_result.map_or(0, |v| v.to_proto() as i32),
        }),
        Payload::EventVoided { target, reason } => {
            W::EventVoided(proto::EventVoided { target_event_id: target.to_string(), reason: reason.clone() })
        }
        Payload::DocumentIssued { kind } => W::DocumentIssued(proto::DocumentIssued { kind: kind.to_proto() as i32 }),
        Payload::DocumentPublished => W::DocumentPublished(proto::DocumentPublished {}),
        Payload::DocumentRepealed => W::DocumentRepealed(proto::DocumentRepealed {}),
        Payload::CatalogueItemAdded { kind } => {
            W::CatalogueItemAdded(proto::CatalogueItemAdded { kind: kind.to_proto() as i32 })
        }
        Payload::CatalogueItemRemoved => W::CatalogueItemRemoved(proto::CatalogueItemRemoved {}),
        Payload::DecisionsMade { kind, count } => {
            W::DecisionsMade(proto::DecisionsMade { kind: kind.to_proto() as i32, count: *count })
        }
        Payload::FeesCollected { amount_fen } => W::FeesCollected(proto::FeesCollected { amount_fen: *amount_fen }),
        Payload::ProcurementRecorded { amount_fen } => {
            W::ProcurementRecorded(proto::ProcurementRecorded { amount_fen: *amount_fen })
        }
        Payload::ReportTextSet { year, section, text } => W::ReportTextSet(proto::ReportTextSet {
            year: *year,
            section: section.to_proto() as i32,
            text: text.clone(),
        }),
        Payload::ReportPublished { year, label } => {
            W::ReportPublished(proto::ReportPublished { year: *year, label: label.clone() })
        }
        Payload::TableSubmitted { first_day, last_day, file_name, sha256, table } => {
            W::TableSubmitted(proto::TableSubmitted {
                first_day: Some(first_day.to_proto()),
                last_day: Some(last_day.to_proto()),
                file_name: file_name.clone(),
                sha256: sha256.to_string(),
                table_json: table.clone(),
            })
        }
        Payload::TableAccepted { sha256 } => W::TableAccepted(proto::TableAccepted { sha256: sha256.to_string() }),
    }
}

/// A submitted file's name: 1 to 255 characters, no path, no control.
fn file_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    match name.chars().count() {
        0 => Err("is required (the file's name as received)".into()),
        n if n > 255 => Err(format!("is {n} characters long; at most 255")),
        _ if name.contains(['/', '\\']) || name.chars().any(char::is_control) => {
            Err("is a file's name, without a path or control characters".into())
        }
        _ => Ok(name.to_owned()),
    }
}

#[cfg(test)]
mod stored_tests {
    use super::*;

    #[test]
    fn a_stored_event_reads_back_whatever_the_clock_says() {
        // Accepted yesterday as "tomorrow"; the clock has since been set
        // back. The edge would refuse the date now, the store must not.
        let wire = proto::RecordedEvent {
            event: Some(proto::Event {
                event_id: "0b0e7f4e-8f7e-4a57-9f44-000000000001".into(),
                agency_id: "a".into(),
                subject_id: "s".into(),
                occurred_on: Some(proto::google::r#type::Date { year: 2999, month: 1, day: 1 }),
                payload: Some(WirePayload::SupplementRequested(proto::SupplementRequested {})),
                ..Default::default()
            }),
            position: 1,
            stream_revision: 1,
            recorded_at: None,
        };
        let recorded = Recorded::decode(&wire.encode_to_vec()).expect("stored events are not re-judged by the clock");
        assert_eq!(recorded.event.occurred_on.year(), 2999);
        assert!(recorded.event.occurred_on.check_not_future().is_err(), "while the edge refuses it");
    }
}
