//! An application (依申请公开) and the rules of its handling: a state machine
//! that every event of its stream must pass, in order.

use serde::{Deserialize, Serialize};

use crate::domain::codes::{ApplicantCategory, Channel, ConsultationParty, Outcome};
use crate::domain::date::CivilDate;
use crate::domain::event::Payload;
use crate::domain::ids::SubjectId;
use crate::domain::rule::Broken;

/// The state of one application, derived from its (corrected) events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub applicant: ApplicantCategory,
    pub channel: Channel,
    /// The receipt date (Art.31): decides the year it is new in.
    pub received_on: CivilDate,
    pub supplement_requested_on: Option<CivilDate>,
    pub supplement_received_on: Option<CivilDate>,
    /// Every consultation, in the order begun; a third party (Art.32) and
    /// another agency (Art.34) may be consulted at the same time, so more
    /// than one may be running.
    pub consultations: Vec<Consultation>,
    pub extension_days: Option<u8>,
    pub fee_noticed_fen: Option<i64>,
    pub fee_paid_fen: Option<i64>,
    pub conclusion: Option<Conclusion>,
    /// Set when the application was split: the parts count instead.
    pub split_into: Vec<SubjectId>,
    /// Set on a part of a split application.
    pub split_from: Option<SubjectId>,
    /// The day of the extension (Art.33 has it approved while the period
    /// runs, so the deadline checks it against the due date). Last in the
    /// struct: the stored layout before it is read by `store::layout`.
    pub extended_on: Option<CivilDate>,
}

/// A pause of the answer clock while someone else is consulted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consultation {
    pub party: ConsultationParty,
    pub started_on: CivilDate,
    pub ended_on: Option<CivilDate>,
}

/// How and when the application was concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conclusion {
    pub on: CivilDate,
    pub outcome: Outcome,
    /// Withdrawn by the applicant (counted as 6.3).
    pub withdrawn: bool,
}

/// Where an application stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Open,
    Concluded,
    Split,
}

impl Application {
    /// A newly received application.
    pub fn received(on: CivilDate, applicant: ApplicantCategory, channel: Channel) -> Self {
        Self {
            applicant,
            channel,
            received_on: on,
            supplement_requested_on: None,
            supplement_received_on: None,
            consultations: Vec::new(),
            extension_days: None,
            extended_on: None,
            fee_noticed_fen: None,
            fee_paid_fen: None,
            conclusion: None,
            split_into: Vec::new(),
            split_from: None,
        }
    }

    pub fn status(&self) -> Status {
        if !self.split_into.is_empty() {
            Status::Split
        } else if self.conclusion.is_some() {
            Status::Concluded
        } else {
            Status::Open
        }
    }

    /// Open on the evening of `day`: received by then and not concluded by
    /// then. A split application is never open (its parts are).
    pub fn open_at_end_of(&self, day: CivilDate) -> bool {
        self.split_into.is_empty() && self.received_on <= day && self.conclusion.is_none_or(|c| c.on > day)
    }

    /// Applies one handling step dated `on`, or says which rule it breaks.
    /// On error the application is unchanged.
    pub fn apply(&mut self, on: CivilDate, payload: &Payload) -> Result<(), Broken> {
        match self.status() {
            Status::Split => {
                return Err(Broken::new(
                    "APPLICATION_SPLIT",
                    "payload",
                    format!("the application was split into {}; record events on the parts", self.split_into.len()),
                ));
            }
            Status::Concluded => {
                return Err(Broken::new(
                    "APPLICATION_CONCLUDED",
                    "payload",
                    "the application is already concluded; to change its conclusion, record an event_amended or event_voided",
                ));
            }
            Status::Open => {}
        }
        if on < self.received_on {
            return Err(Broken::new(
                if matches!(payload, Payload::ApplicationConcluded { .. } | Payload::ApplicationWithdrawn) {
                    "CONCLUDED_BEFORE_RECEIPT"
                } else {
                    "BEFORE_RECEIPT"
                },
                "occurred_on",
                format!("{on} is before the receipt date {}", self.received_on),
            ));
        }
        match payload {
            Payload::ApplicationReceived { .. } => {
                return Err(Broken::new(
                    "ALREADY_RECEIVED",
                    "application_received",
                    format!("the application was already received on {}", self.received_on),
                ));
            }
            Payload::SupplementRequested => {
                if let Some(first) = self.supplement_requested_on {
                    return Err(Broken::new(
                        "SUPPLEMENT_ALREADY_REQUESTED",
                        "supplement_requested",
                        format!(
                            "a supplement was already requested on {first}; Art.30 asks for one request listing everything"
                        ),
                    ));
                }
                self.supplement_requested_on = Some(on);
            }
            Payload::SupplementReceived => match (self.supplement_requested_on, self.supplement_received_on) {
                (None, _) => {
                    return Err(Broken::new(
                        "SUPPLEMENT_NOT_REQUESTED",
                        "supplement_received",
                        "no supplement was requested",
                    ));
                }
                (Some(_), Some(got)) => {
                    return Err(Broken::new(
                        "SUPPLEMENT_ALREADY_RECEIVED",
                        "supplement_received",
                        format!("the supplement was already received on {got}"),
                    ));
                }
                (Some(asked), None) if on < asked => {
                    return Err(Broken::new(
                        "SUPPLEMENT_BEFORE_REQUEST",
                        "occurred_on",
                        format!("{on} is before the supplement was requested on {asked}"),
                    ));
                }
                (Some(_), None) => self.supplement_received_on = Some(on),
            },
            Payload::ConsultationStarted { party } => {
                // Parallel consultations of different parties are allowed;
                // the same party twice at once is not.
                if let Some(running) = self.consultations.iter().find(|c| c.ended_on.is_none() && c.party == *party) {
                    return Err(Broken::new(
                        "CONSULTATION_RUNNING",
                        "consultation_started",
                        format!("a consultation of this party started on {} has not ended", running.started_on),
                    ));
                }
                self.consultations.push(Consultation { party: *party, started_on: on, ended_on: None });
            }
            Payload::ConsultationEnded { party } => {
                let running: Vec<usize> = (0..self.consultations.len())
                    .filter(|i| {
                        let c = &self.consultations[*i];
                        c.ended_on.is_none() && party.is_none_or(|p| p == c.party)
                    })
                    .collect();
                let index = match running.as_slice() {
                    [] if party.is_some() => {
                        return Err(Broken::new(
                            "NO_CONSULTATION",
                            "consultation_ended.party",
                            "no consultation of this party is running",
                        ));
                    }
                    [] => {
                        return Err(Broken::new("NO_CONSULTATION", "consultation_ended", "no consultation is running"));
                    }
                    [one] => *one,
                    _ => {
                        return Err(Broken::new(
                            "CONSULTATION_AMBIGUOUS",
                            "consultation_ended.party",
                            "two consultations are running: name the party whose consultation ended",
                        ));
                    }
                };
                let running = &mut self.consultations[index];
                if on < running.started_on {
                    return Err(Broken::new(
                        "CONSULTATION_ENDS_BEFORE_START",
                        "occurred_on",
                        format!("{on} is before the consultation started on {}", running.started_on),
                    ));
                }
                running.ended_on = Some(on);
            }
            Payload::DeadlineExtended { working_days } => {
                if let Some(days) = self.extension_days {
                    return Err(Broken::new(
                        "ALREADY_EXTENDED",
                        "deadline_extended",
                        format!(
                            "the deadline was already extended by {days} working days; Art.33 allows one extension"
                        ),
                    ));
                }
                self.extension_days = Some(*working_days);
                self.extended_on = Some(on);
            }
            Payload::FeeNoticeIssued { amount_fen } => {
                if self.fee_noticed_fen.is_some() {
                    return Err(Broken::new(
                        "FEE_ALREADY_NOTICED",
                        "fee_notice_issued",
                        "a fee notice was already issued",
                    ));
                }
                self.fee_noticed_fen = Some(*amount_fen);
            }
            Payload::FeePaid { amount_fen } => {
                if self.fee_noticed_fen.is_none() {
                    return Err(Broken::new("NO_FEE_NOTICE", "fee_paid", "no fee notice was issued"));
                }
                if self.fee_paid_fen.is_some() {
                    return Err(Broken::new("FEE_ALREADY_PAID", "fee_paid", "the fee was already paid"));
                }
                self.fee_paid_fen = Some(*amount_fen);
            }
            Payload::ApplicationWithdrawn => {
                self.conclusion = Some(Conclusion { on, outcome: Outcome::Other, withdrawn: true });
            }
            Payload::ApplicationConcluded { outcome } => {
                self.check_outcome(*outcome)?;
                self.conclusion = Some(Conclusion { on, outcome: *outcome, withdrawn: false });
            }
            Payload::ApplicationSplit { parts } => {
                self.split_into = parts.clone();
            }
            Payload::EventAmended(_) | Payload::EventVoided { .. } => {
                unreachable!("corrections are folded by the subject, not applied step by step")
            }
            // Review cases, section 二 facts and report text.
            _ => {
                return Err(Broken::new(
                    "WRONG_SUBJECT_KIND",
                    "payload",
                    "this subject is an application; a review case or a section 二 fact needs its own subject id",
                ));
            }
        }
        Ok(())
    }

    /// Outcomes that presuppose earlier steps (Art.30, Art.42).
    fn check_outcome(&self, outcome: Outcome) -> Result<(), Broken> {
        let field = "application_concluded.outcome";
        match outcome {
            Outcome::UnavailableUnclearAfterSupplement if self.supplement_received_on.is_none() => Err(Broken::new(
                "OUTCOME_NEEDS_SUPPLEMENT",
                field,
                "4.3 (unclear after supplement) needs a supplement that was requested and received",
            )),
            Outcome::OtherNoSupplement
                if self.supplement_requested_on.is_none() || self.supplement_received_on.is_some() =>
            {
                Err(Broken::new(
                    "OUTCOME_NEEDS_UNANSWERED_SUPPLEMENT",
                    field,
                    "6.1 (no supplement in time) needs a supplement that was requested and not received",
                ))
            }
            Outcome::OtherFeeUnpaid if self.fee_noticed_fen.is_none() || self.fee_paid_fen.is_some() => {
                Err(Broken::new(
                    "OUTCOME_NEEDS_UNPAID_FEE",
                    field,
                    "6.2 (fee not paid) needs a fee notice that was issued and not paid",
                ))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> CivilDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_third_party_and_another_agency_may_be_consulted_at_once() {
        let mut app = Application::received(d("2024-03-01"), ApplicantCategory::NaturalPerson, Channel::Online);
        let third = ConsultationParty::ThirdParty;
        let other = ConsultationParty::OtherAgency;
        app.apply(d("2024-03-04"), &Payload::ConsultationStarted { party: third }).unwrap();
        app.apply(d("2024-03-05"), &Payload::ConsultationStarted { party: other }).unwrap();
        let twice = app.apply(d("2024-03-06"), &Payload::ConsultationStarted { party: third }).unwrap_err();
        assert_eq!(twice.rule, "CONSULTATION_RUNNING");
        let which = app.apply(d("2024-03-07"), &Payload::ConsultationEnded { party: None }).unwrap_err();
        assert_eq!(which.rule, "CONSULTATION_AMBIGUOUS");
        app.apply(d("2024-03-07"), &Payload::ConsultationEnded { party: Some(other) }).unwrap();
        // One left running: it need not be named.
        app.apply(d("2024-03-08"), &Payload::ConsultationEnded { party: None }).unwrap();
        assert!(app.consultations.iter().all(|c| c.ended_on.is_some()));
        let none = app.apply(d("2024-03-09"), &Payload::ConsultationEnded { party: Some(third) }).unwrap_err();
        assert_eq!(none.rule, "NO_CONSULTATION");
    }
}
