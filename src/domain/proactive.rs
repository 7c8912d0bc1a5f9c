//! Section 二 (主动公开政府信息情况): the subjects behind its numbers, each
//! with its own stream and rules, like an application's.
//!
//! - a document (规章, 规范性文件): issued, then at most once published and
//!   at most once repealed, neither before it was issued;
//! - a catalogue item (事项) for licensing, other services, penalties,
//!   coercion or fees: added, then at most once removed;
//! - a record of decisions made, fees collected or one procurement project:
//!   a single event (correct it by voiding it and recording it again).

use serde::{Deserialize, Serialize};

use crate::domain::codes::{CatalogueKind, DecisionKind, DocumentKind};
use crate::domain::date::CivilDate;
use crate::domain::event::Payload;
use crate::domain::rule::Broken;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub kind: DocumentKind,
    pub issued_on: CivilDate,
    pub published_on: Option<CivilDate>,
    pub repealed_on: Option<CivilDate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueItem {
    pub kind: CatalogueKind,
    pub added_on: CivilDate,
    pub removed_on: Option<CivilDate>,
}

/// A one-event record of section 二.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    Decisions { kind: DecisionKind, count: u32, on: CivilDate },
    Fees { amount_fen: i64, on: CivilDate },
    Procurement { amount_fen: i64, on: CivilDate },
}

impl Payload {
    /// Whether the event belongs to section 二.
    pub fn is_proactive(&self) -> bool {
        matches!(
            self,
            Payload::DocumentIssued { .. }
                | Payload::DocumentPublished
                | Payload::DocumentRepealed
                | Payload::CatalogueItemAdded { .. }
                | Payload::CatalogueItemRemoved
                | Payload::DecisionsMade { .. }
                | Payload::FeesCollected { .. }
                | Payload::ProcurementRecorded { .. }
        )
    }
}

fn wrong_kind(what: &str) -> Broken {
    Broken::new(
        "WRONG_SUBJECT_KIND",
        "payload",
        format!("this subject is {what}; other facts need a subject id of their own"),
    )
}

fn not_before(rule: &'static str, on: CivilDate, start: CivilDate, what: &str) -> Result<(), Broken> {
    if on < start {
        return Err(Broken::new(rule, "occurred_on", format!("{on} is before the {what} on {start}")));
    }
    Ok(())
}

impl Document {
    pub fn apply(&mut self, on: CivilDate, payload: &Payload) -> Result<(), Broken> {
        match payload {
            Payload::DocumentPublished => {
                if let Some(when) = self.published_on {
                    return Err(Broken::new(
                        "ALREADY_PUBLISHED",
                        "document_published",
                        format!("the document was already published on {when}"),
                    ));
                }
                not_before("PUBLISHED_BEFORE_ISSUED", on, self.issued_on, "issue")?;
                if let Some(repealed) = self.repealed_on.filter(|r| *r < on) {
                    return Err(Broken::new(
                        "PUBLISHED_AFTER_REPEAL",
                        "occurred_on",
                        format!("{on} is after the document was repealed on {repealed}"),
                    ));
                }
                self.published_on = Some(on);
                Ok(())
            }
            Payload::DocumentRepealed => {
                if let Some(when) = self.repealed_on {
                    return Err(Broken::new(
                        "ALREADY_REPEALED",
                        "document_repealed",
                        format!("the document was already repealed on {when}"),
                    ));
                }
                not_before("REPEALED_BEFORE_ISSUED", on, self.issued_on, "issue")?;
                self.repealed_on = Some(on);
                Ok(())
            }
            Payload::DocumentIssued { .. } => Err(Broken::new(
                "ALREADY_ISSUED",
                "document_issued",
                format!("the document was already issued on {}", self.issued_on),
            )),
            _ => Err(wrong_kind("a document")),
        }
    }
}

impl CatalogueItem {
    pub fn apply(&mut self, on: CivilDate, payload: &Payload) -> Result<(), Broken> {
        match payload {
            Payload::CatalogueItemRemoved => {
                if let Some(when) = self.removed_on {
                    return Err(Broken::new(
                        "ALREADY_REMOVED",
                        "catalogue_item_removed",
                        format!("the item was already removed on {when}; a returning item needs a new id"),
                    ));
                }
                not_before("REMOVED_BEFORE_ADDED", on, self.added_on, "item's addition")?;
                self.removed_on = Some(on);
                Ok(())
            }
            Payload::CatalogueItemAdded { .. } => Err(Broken::new(
                "ALREADY_ADDED",
                "catalogue_item_added",
                format!("the item was already added on {}", self.added_on),
            )),
            _ => Err(wrong_kind("a catalogue item")),
        }
    }
}

impl Record {
    /// A record is one event: nothing follows it but corrections.
    pub fn apply(&mut self, _on: CivilDate, _payload: &Payload) -> Result<(), Broken> {
        Err(Broken::new(
            "RECORD_IS_ONE_EVENT",
            "subject_id",
            "a record of decisions, fees or procurement is one event: give each its own subject id (correct one by \
             voiding it and recording it again)",
        ))
    }
}

/// A section 二 subject as its first event starts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Started {
    Document(Document),
    CatalogueItem(CatalogueItem),
    Record(Record),
}

/// What a first event of section 二 starts, if it is one.
pub fn start(on: CivilDate, payload: &Payload) -> Option<Result<Started, Broken>> {
    use Started as S;
    Some(match payload {
        Payload::DocumentIssued { kind } => {
            Ok(S::Document(Document { kind: *kind, issued_on: on, published_on: None, repealed_on: None }))
        }
        Payload::CatalogueItemAdded { kind } => {
            Ok(S::CatalogueItem(CatalogueItem { kind: *kind, added_on: on, removed_on: None }))
        }
        Payload::DecisionsMade { kind, count } => Ok(S::Record(Record::Decisions { kind: *kind, count: *count, on })),
        Payload::FeesCollected { amount_fen } => Ok(S::Record(Record::Fees { amount_fen: *amount_fen, on })),
        Payload::ProcurementRecorded { amount_fen } => {
            Ok(S::Record(Record::Procurement { amount_fen: *amount_fen, on }))
        }
        Payload::DocumentPublished | Payload::DocumentRepealed => Err(Broken::new(
            "DOCUMENT_NOT_ISSUED",
            "payload",
            format!("{} for a document that was never issued (send document_issued first)", payload.kind()),
        )),
        Payload::CatalogueItemRemoved => Err(Broken::new(
            "ITEM_NOT_ADDED",
            "payload",
            "catalogue_item_removed for an item that was never added (send catalogue_item_added first)",
        )),
        _ => return None,
    })
}
