//! A review case: an administrative reconsideration or lawsuit about the
//! agency's handling of information disclosure (section 四).

use serde::{Deserialize, Serialize};

use crate::domain::codes::{ReviewKind, ReviewResult};
use crate::domain::date::CivilDate;
use crate::domain::event::Payload;
use crate::domain::ids::SubjectId;
use crate::domain::rule::Broken;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewCase {
    pub kind: ReviewKind,
    pub filed_on: CivilDate,
    pub application: Option<SubjectId>,
    pub decision: Option<(CivilDate, ReviewResult)>,
}

impl ReviewCase {
    pub fn filed(on: CivilDate, kind: ReviewKind, application: Option<SubjectId>) -> Self {
        Self { kind, filed_on: on, application, decision: None }
    }

    /// The result as it stood on the evening of `day`, or `None` if the case
    /// was still pending (尚未审结).
    pub fn result_at_end_of(&self, day: CivilDate) -> Option<ReviewResult> {
        self.decision.filter(|(on, _)| *on <= day).map(|(_, r)| r)
    }

    pub fn apply(&mut self, on: CivilDate, payload: &Payload) -> Result<(), Broken> {
        match payload {
            Payload::ReviewCaseDecided { result } => {
                if let Some((when, _)) = self.decision {
                    return Err(Broken::new(
                        "CASE_ALREADY_DECIDED",
                        "review_case_decided",
                        format!("the case was already decided on {when}; correct it with event_amended"),
                    ));
                }
                if on < self.filed_on {
                    return Err(Broken::new(
                        "DECIDED_BEFORE_FILED",
                        "occurred_on",
                        format!("{on} is before the case was filed on {}", self.filed_on),
                    ));
                }
                self.decision = Some((on, *result));
                Ok(())
            }
            Payload::ReviewCaseFiled { .. } => Err(Broken::new(
                "ALREADY_FILED",
                "review_case_filed",
                format!("the case was already filed on {}", self.filed_on),
            )),
            _ => Err(Broken::new(
                "WRONG_SUBJECT_KIND",
                "payload",
                "this subject is a review case; application events need the application's own subject id",
            )),
        }
    }
}
