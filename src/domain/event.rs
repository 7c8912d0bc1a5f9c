//! An event: one fact about an application, a review case, section 二 or
//! the report's text, as recorded in the log, and the rules each of its
//! fields obeys on its own. The wire chapter converts the proto form to it.

use chrono::{DateTime, Utc};

use crate::domain::codes::{
    ApplicantCategory, CatalogueKind, Channel, ConsultationParty, DecisionKind, DocumentKind, Outcome, ReportSection,
    ReviewKind, ReviewResult,
};
use crate::domain::date::CivilDate;
use crate::domain::ids::{AgencyId, EventId, StreamId, SubjectId};

/// Longest actor or correlation id, in bytes.
pub const MAX_TAG: usize = 256;
/// Longest free-text reason, in bytes.
pub const MAX_REASON: usize = 2000;
/// Most parts one application may be split into.
pub const MAX_PARTS: usize = 100;
/// Longest extension of the answer deadline (Art.33), in working days.
pub const MAX_EXTENSION_DAYS: u8 = 20;
/// Largest fee, in fen: far above any real fee, well inside i64.
pub const MAX_FEE_FEN: i64 = 1_000_000_000;
/// Most decisions one event may count.
pub const MAX_DECISIONS: u32 = 1_000_000;
/// Largest amount of money one section 二 event may record (10亿元).
pub const MAX_MONEY_FEN: i64 = 100_000_000_000;

/// A validated event, as sent by a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub id: EventId,
    pub agency: AgencyId,
    pub subject: SubjectId,
    pub occurred_on: CivilDate,
    pub actor: Option<String>,
    pub correlation_id: Option<String>,
    pub payload: Payload,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    ApplicationReceived {
        applicant: ApplicantCategory,
        channel: Channel,
    },
    SupplementRequested,
    SupplementReceived,
    ConsultationStarted {
        party: ConsultationParty,
    },
    /// The consultation of `party` ended (required when two run at once).
    ConsultationEnded {
        party: Option<ConsultationParty>,
    },
    DeadlineExtended {
        working_days: u8,
    },
    FeeNoticeIssued {
        amount_fen: i64,
    },
    FeePaid {
        amount_fen: i64,
    },
    ApplicationWithdrawn,
    ApplicationConcluded {
        outcome: Outcome,
    },
    ApplicationSplit {
        parts: Vec<SubjectId>,
    },
    ReviewCaseFiled {
        kind: ReviewKind,
        application: Option<SubjectId>,
    },
    ReviewCaseDecided {
        result: ReviewResult,
    },
    EventAmended(Amendment),
    EventVoided {
        target: EventId,
        reason: String,
    },
    DocumentIssued {
        kind: DocumentKind,
    },
    DocumentPublished,
    DocumentRepealed,
    CatalogueItemAdded {
        kind: CatalogueKind,
    },
    CatalogueItemRemoved,
    DecisionsMade {
        kind: DecisionKind,
        count: u32,
    },
    FeesCollected {
        amount_fen: i64,
    },
    ProcurementRecorded {
        amount_fen: i64,
    },
    ReportTextSet {
        year: i32,
        section: ReportSection,
        text: String,
    },
    /// The year's report was published as the log stands here.
    ReportPublished {
        year: i32,
        label: String,
    },
    /// A unit's table for a period, as submitted to its superior (the
    /// rules are in the submitted-table module).
    TableSubmitted {
        first_day: CivilDate,
        last_day: CivilDate,
        file_name: String,
        sha256: crate::domain::ids::Sha256,
        /// The table as read, in the exchange format.
        table: String,
    },
    /// The superior accepts the submission with this SHA-256 into its
    /// roll-ups.
    TableAccepted {
        sha256: crate::domain::ids::Sha256,
    },
}

/// The corrected facts of an earlier event; `None` leaves a fact unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Amendment {
    pub target: EventId,
    pub reason: String,
    pub occurred_on: Option<CivilDate>,
    pub applicant: Option<ApplicantCategory>,
    pub channel: Option<Channel>,
    pub outcome: Option<Outcome>,
    pub review_kind: Option<ReviewKind>,
    pub review_result: Option<ReviewResult>,
}

impl Amendment {
    /// Lays `later` over `self`: a later amendment of a field wins.
    pub fn merge(&mut self, later: &Amendment) {
        fn over<T: Copy>(field: &mut Option<T>, later: Option<T>) {
            if later.is_some() {
                *field = later;
            }
        }
        over(&mut self.occurred_on, later.occurred_on);
        over(&mut self.applicant, later.applicant);
        over(&mut self.channel, later.channel);
        over(&mut self.outcome, later.outcome);
        over(&mut self.review_kind, later.review_kind);
        over(&mut self.review_result, later.review_result);
    }
}

impl Payload {
    /// The event kind, as named in the proto `oneof`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ApplicationReceived { .. } => "application_received",
            Self::SupplementRequested => "supplement_requested",
            Self::SupplementReceived => "supplement_received",
            Self::ConsultationStarted { .. } => "consultation_started",
            Self::ConsultationEnded { .. } => "consultation_ended",
            Self::DeadlineExtended { .. } => "deadline_extended",
            Self::FeeNoticeIssued { .. } => "fee_notice_issued",
            Self::FeePaid { .. } => "fee_paid",
            Self::ApplicationWithdrawn => "application_withdrawn",
            Self::ApplicationConcluded { .. } => "application_concluded",
            Self::ApplicationSplit { .. } => "application_split",
            Self::ReviewCaseFiled { .. } => "review_case_filed",
            Self::ReviewCaseDecided { .. } => "review_case_decided",
            Self::EventAmended(_) => "event_amended",
            Self::EventVoided { .. } => "event_voided",
            Self::DocumentIssued { .. } => "document_issued",
            Self::DocumentPublished => "document_published",
            Self::DocumentRepealed => "document_repealed",
            Self::CatalogueItemAdded { .. } => "catalogue_item_added",
            Self::CatalogueItemRemoved => "catalogue_item_removed",
            Self::DecisionsMade { .. } => "decisions_made",
            Self::FeesCollected { .. } => "fees_collected",
            Self::ProcurementRecorded { .. } => "procurement_recorded",
            Self::ReportTextSet { .. } => "report_text_set",
            Self::ReportPublished { .. } => "report_published",
            Self::TableSubmitted { .. } => "table_submitted",
            Self::TableAccepted { .. } => "table_accepted",
        }
    }

    /// The event a correction points at.
    pub fn correction_target(&self) -> Option<EventId> {
        match self {
            Self::EventAmended(a) => Some(a.target),
            Self::EventVoided { target, .. } => Some(*target),
            _ => None,
        }
    }
}

impl Event {
    /// The stream this event belongs to.
    pub fn stream(&self) -> StreamId {
        StreamId { agency: self.agency.clone(), subject: self.subject.clone() }
    }
}

/// An event as recorded: with its log position, stream revision and the
/// time the server recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub position: u64,
    pub revision: u64,
    pub recorded_at: DateTime<Utc>,
    pub event: Event,
}

/// The rules each field of an event obeys whatever the stored state:
/// lengths, ranges and characters. The wire conversion applies them field
/// by field and reports every failure with the field's path.
pub mod check {
    use super::*;
    use crate::domain::date::EARLIEST;

    /// An actor or correlation id.
    pub fn tag(s: &str) -> Result<(), String> {
        text(s, MAX_TAG)
    }

    /// Free text of at most `max` bytes, without control characters other than
    /// newline and tab.
    pub fn text(s: &str, max: usize) -> Result<(), String> {
        if s.len() > max {
            return Err(format!("is {} bytes long; at most {max}", s.len()));
        }
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err("contains a control character".into());
        }
        Ok(())
    }

    /// Why a correction was made: required.
    pub fn reason(s: &str) -> Result<String, String> {
        if s.trim().is_empty() {
            return Err("is required: say why".into());
        }
        text(s, MAX_REASON)?;
        Ok(s.to_owned())
    }

    /// An optional text: empty means absent.
    pub fn non_empty(s: &str) -> Option<String> {
        (!s.is_empty()).then(|| s.to_owned())
    }

    /// A fee (Art.42), in fen.
    pub fn fee(amount: i64) -> Result<i64, String> {
        if amount <= 0 || amount > MAX_FEE_FEN {
            return Err(format!("{amount} is out of range: a fee is 1 to {MAX_FEE_FEN} fen"));
        }
        Ok(amount)
    }

    /// An amount of section 二, in fen.
    pub fn money(amount: i64) -> Result<i64, String> {
        if amount <= 0 || amount > MAX_MONEY_FEN {
            return Err(format!("{amount} is out of range: 1 to {MAX_MONEY_FEN} fen"));
        }
        Ok(amount)
    }

    /// The new applications a split makes: 2 to [`MAX_PARTS`] distinct ids,
    /// each read by `subject`.
    pub fn split_parts(
        ids: &[String],
        subject: impl Fn(&str) -> Result<SubjectId, String>,
    ) -> Result<Vec<SubjectId>, String> {
        if ids.len() < 2 || ids.len() > MAX_PARTS {
            return Err(format!("has {} ids; a split makes 2 to {MAX_PARTS} applications", ids.len()));
        }
        let mut parts = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            let part = subject(id).map_err(|e| format!("[{i}] {e}"))?;
            if parts.contains(&part) {
                return Err(format!("[{i}] {part} is listed twice"));
            }
            parts.push(part);
        }
        Ok(parts)
    }

    /// A business date: none is older than the Regulations. Only the
    /// clock-free part; the future is checked where events come in.
    pub fn not_before_regulations(date: CivilDate) -> Result<CivilDate, String> {
        if date < EARLIEST {
            return Err(format!("{date} is before {EARLIEST}, when the Regulations came into force"));
        }
        Ok(date)
    }
}
