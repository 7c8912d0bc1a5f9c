//! A subject: the stream of one application or review case, and its state
//! folded from the stream with every correction applied. Corrections never
//! edit history: the state is recomputed from the events, with amendments
//! laid over their targets and voided events left out.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::domain::application::Application;
use crate::domain::codes::{ApplicantCategory, Channel};
use crate::domain::date::CivilDate;
use crate::domain::event::{Amendment, Event, Payload};
use crate::domain::ids::{EventId, SubjectId};
use crate::domain::proactive::{CatalogueItem, Document, Record, Started};
use crate::domain::review::ReviewCase;
use crate::domain::rule::Broken;

/// What a subject's stream amounts to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubjectState {
    Application(Application),
    ReviewCase(ReviewCase),
    /// Every event that started it was voided: it never counted.
    Voided,
    // Section 二 (added after the others: the stored encoding numbers
    // variants in order).
    Document(Document),
    CatalogueItem(CatalogueItem),
    Record(Record),
    /// The agency's text of a year's annual report.
    ReportTexts(crate::domain::report_text::ReportTexts),
    /// A table the agency submitted to its superior.
    SubmittedTable(crate::domain::submitted_table::SubmittedTable),
}

/// Where a part of a split application came from: its receipt facts are the
/// original application's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitOrigin {
    pub parent: SubjectId,
    /// The parent's `application_split` event, which opens the part's stream.
    pub split_event: EventId,
    pub received_on: CivilDate,
    pub applicant: ApplicantCategory,
    pub channel: Channel,
}

/// The stored record of a subject: its stream and its folded state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectRecord {
    /// Log positions of the stream's events, in order; its length is the
    /// stream revision.
    pub positions: Vec<u64>,
    pub origin: Option<SplitOrigin>,
    pub state: SubjectState,
}

impl SubjectRecord {
    pub fn revision(&self) -> u64 {
        self.positions.len() as u64
    }

    pub fn application(&self) -> Option<&Application> {
        match &self.state {
            SubjectState::Application(a) => Some(a),
            _ => None,
        }
    }
}

impl SubjectState {
    /// The state after a first event (or after one that follows a fully
    /// voided history).
    pub fn start(event: &Event) -> Result<Self, Broken> {
        if let Some(started) = crate::domain::proactive::start(event.occurred_on, &event.payload) {
            return started.map(|s| match s {
                Started::Document(d) => Self::Document(d),
                Started::CatalogueItem(c) => Self::CatalogueItem(c),
                Started::Record(r) => Self::Record(r),
            });
        }
        if let Some(texts) = crate::domain::report_text::ReportTexts::start(&event.payload) {
            return Ok(Self::ReportTexts(texts));
        }
        if let Some(table) = crate::domain::submitted_table::SubmittedTable::start(event.occurred_on, &event.payload) {
            return table.map(Self::SubmittedTable);
        }
        match &event.payload {
            Payload::ApplicationReceived { applicant, channel } => {
                Ok(Self::Application(Application::received(event.occurred_on, *applicant, *channel)))
            }
            Payload::ReviewCaseFiled { kind, application } => {
                Ok(Self::ReviewCase(ReviewCase::filed(event.occurred_on, *kind, application.clone())))
            }
            Payload::ReviewCaseDecided { .. } => Err(Broken::new(
                "CASE_NOT_FILED",
                "review_case_decided",
                "no review case with this subject id was filed",
            )),
            Payload::EventAmended(_) | Payload::EventVoided { .. } => {
                Err(Broken::new("UNKNOWN_TARGET", "payload", "there is nothing to correct: the subject has no events"))
            }
            other => Err(Broken::new(
                "APPLICATION_NOT_RECEIVED",
                "payload",
                format!(
                    "{} for an application that was never received (send application_received first)",
                    other.kind()
                ),
            )),
        }
    }

    /// Applies a non-correction event.
    pub fn apply(&mut self, event: &Event) -> Result<(), Broken> {
        match self {
            Self::Voided => {
                *self = Self::start(event)?;
                Ok(())
            }
            Self::Application(a) => a.apply(event.occurred_on, &event.payload),
            Self::ReviewCase(c) => c.apply(event.occurred_on, &event.payload),
            Self::Document(d) => d.apply(event.occurred_on, &event.payload),
            Self::CatalogueItem(i) => i.apply(event.occurred_on, &event.payload),
            Self::Record(r) => r.apply(event.occurred_on, &event.payload),
            Self::ReportTexts(t) => t.apply(&event.payload),
            Self::SubmittedTable(t) => t.apply(event.occurred_on, &event.payload),
        }
    }
}

/// Folds a whole stream, corrections included. `origin` is set for a part
/// of a split application, whose stream opens with the parent's split event.
/// On failure, says which event (index into `events`) breaks which rule.
pub fn fold(events: &[Event], origin: Option<&SplitOrigin>) -> Result<SubjectState, (usize, Broken)> {
    fold_until(events, origin, None)
}

/// The stream as it stood at the end of `day`: folded without the events
/// dated after it (by their corrected dates), every correction as now
/// known. A subject not yet received (or a part not yet split off) by then
/// is `Voided`: it did not count.
pub fn fold_as_of_day(
    events: &[Event],
    origin: Option<&SplitOrigin>,
    day: CivilDate,
) -> Result<SubjectState, (usize, Broken)> {
    fold_until(events, origin, Some(day))
}

fn fold_until(
    events: &[Event],
    origin: Option<&SplitOrigin>,
    until: Option<CivilDate>,
) -> Result<SubjectState, (usize, Broken)> {
    let voided: HashSet<EventId> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::EventVoided { target, .. } => Some(*target),
            _ => None,
        })
        .collect();
    let mut amendments: HashMap<EventId, Amendment> = HashMap::new();
    for e in events {
        if let Payload::EventAmended(a) = &e.payload
            && !voided.contains(&e.id)
        {
            amendments.entry(a.target).and_modify(|m| m.merge(a)).or_insert_with(|| a.clone());
        }
    }

    let dated = |e: &Event| amendments.get(&e.id).and_then(|a| a.occurred_on).unwrap_or(e.occurred_on);
    if let (Some(o), Some(day)) = (origin, until)
        && events.iter().find(|e| e.id == o.split_event).is_some_and(|e| dated(e) > day)
    {
        return Ok(SubjectState::Voided);
    }
    let mut state = match origin {
        Some(o) => {
            let amended = amendments.get(&o.split_event);
            let mut part = Application::received(
                o.received_on,
                amended.and_then(|a| a.applicant).unwrap_or(o.applicant),
                amended.and_then(|a| a.channel).unwrap_or(o.channel),
            );
            part.split_from = Some(o.parent.clone());
            Some(SubjectState::Application(part))
        }
        None => None,
    };
    for (i, e) in events.iter().enumerate() {
        let is_origin = origin.is_some_and(|o| o.split_event == e.id);
        if is_origin || voided.contains(&e.id) || e.payload.correction_target().is_some() {
            continue;
        }
        if until.is_some_and(|day| dated(e) > day) {
            continue;
        }
        let effective = match amendments.get(&e.id) {
            Some(a) => amend(e, a),
            None => e.clone(),
        };
        let next = match state.take() {
            None => SubjectState::start(&effective),
            Some(mut s) => s.apply(&effective).map(|()| s),
        };
        state = Some(next.map_err(|b| (i, b))?);
    }
    Ok(state.unwrap_or(SubjectState::Voided))
}

/// The event as it would read with the amendment's facts.
fn amend(event: &Event, a: &Amendment) -> Event {
    let mut e = event.clone();
    if let Some(on) = a.occurred_on {
        e.occurred_on = on;
    }
    match &mut e.payload {
        Payload::ApplicationReceived { applicant, channel } => {
            *applicant = a.applicant.unwrap_or(*applicant);
            *channel = a.channel.unwrap_or(*channel);
        }
        Payload::ApplicationConcluded { outcome } => *outcome = a.outcome.unwrap_or(*outcome),
        Payload::ReviewCaseFiled { kind, .. } => *kind = a.review_kind.unwrap_or(*kind),
        Payload::ReviewCaseDecided { result } => *result = a.review_result.unwrap_or(*result),
        _ => {}
    }
    e
}

/// Checks that a correction may point at `target` at all, before the
/// stream is refolded: corrections of corrections, voids of splits, facts
/// that the target does not have, and double voids are refused.
pub fn check_correction(
    correction: &Payload,
    target: &Event,
    target_is_origin: bool,
    stream: &[Event],
) -> Result<(), Broken> {
    let target_field = match correction {
        Payload::EventVoided { .. } => "event_voided.target_event_id",
        _ => "event_amended.target_event_id",
    };
    let already_voided =
        stream.iter().any(|e| matches!(&e.payload, Payload::EventVoided { target: t, .. } if *t == target.id));
    if already_voided {
        return Err(Broken::new("TARGET_VOIDED", target_field, format!("event {} is already voided", target.id)));
    }
    if matches!(target.payload, Payload::EventVoided { .. }) {
        return Err(Broken::new(
            "TARGET_IS_VOID",
            target_field,
            "a void cannot be corrected; record the voided event again with a new event id",
        ));
    }
    match correction {
        Payload::EventVoided { .. } => {
            if matches!(target.payload, Payload::ApplicationSplit { .. }) {
                return Err(Broken::new(
                    "SPLIT_IS_FINAL",
                    "event_voided.target_event_id",
                    "a split cannot be voided; conclude or correct its parts",
                ));
            }
            Ok(())
        }
        Payload::EventAmended(a) => {
            if matches!(target.payload, Payload::EventAmended(_)) {
                return Err(Broken::new(
                    "TARGET_IS_AMENDMENT",
                    target_field,
                    "amend the original event again instead of the amendment",
                ));
            }
            let kind = target.payload.kind();
            let fits = |present: bool, ok: bool| !present || ok;
            let is_receipt = matches!(target.payload, Payload::ApplicationReceived { .. }) || target_is_origin;
            let checks = [
                ("event_amended.occurred_on", fits(a.occurred_on.is_some(), !target_is_origin)),
                ("event_amended.applicant_category", fits(a.applicant.is_some(), is_receipt)),
                ("event_amended.channel", fits(a.channel.is_some(), is_receipt)),
                (
                    "event_amended.outcome",
                    fits(a.outcome.is_some(), matches!(target.payload, Payload::ApplicationConcluded { .. })),
                ),
                (
                    "event_amended.review_kind",
                    fits(a.review_kind.is_some(), matches!(target.payload, Payload::ReviewCaseFiled { .. })),
                ),
                (
                    "event_amended.review_result",
                    fits(a.review_result.is_some(), matches!(target.payload, Payload::ReviewCaseDecided { .. })),
                ),
            ];
            if let Some((field, _)) = checks.iter().find(|(_, ok)| !ok) {
                return Err(Broken::new(
                    "AMENDMENT_DOES_NOT_FIT",
                    field,
                    format!("the target is a {kind} event, which has no such fact to amend"),
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
