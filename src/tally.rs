//! The per-agency, per-year tallies that make a year's tables instant: what
//! each subject contributes, kept up to date by the writer in the same
//! atomic write as the events. They are a cache of the log, never typed by
//! hand: `replay` rebuilds them from the raw log and `verify` compares.

use serde::{Deserialize, Serialize};

use crate::codes::{Outcome, ReviewKind, ReviewResult};
use crate::subject::SubjectState;

/// Counts for one agency and one year.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearTally {
    /// Applications received this year, by applicant column.
    pub new: [i64; 6],
    /// Applications concluded this year, by outcome leaf and column.
    pub outcomes: [[i64; 6]; 21],
    /// Review cases filed this year, by kind.
    pub filed: [i64; 3],
    /// Review cases decided this year, by kind and result.
    pub decided: [[i64; 3]; 3],
    /// Review cases filed and decided this year, by kind and result.
    pub decided_same_year: [[i64; 3]; 3],
}

impl YearTally {
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

/// What one subject adds to the tallies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Contribution {
    /// (year received, applicant column)
    pub received: Option<(i32, usize)>,
    /// (year concluded, outcome, applicant column)
    pub concluded: Option<(i32, Outcome, usize)>,
    /// (year filed, kind)
    pub filed: Option<(i32, ReviewKind)>,
    /// (year decided, kind, result, decided in the year it was filed)
    pub decided: Option<(i32, ReviewKind, ReviewResult, bool)>,
}

impl Contribution {
    /// What a subject in this state counts for. A split application counts
    /// nothing (its parts count); a voided subject counts nothing.
    pub fn of(state: &SubjectState) -> Self {
        match state {
            SubjectState::Application(a) if a.split_into.is_empty() => {
                let col = a.applicant.column();
                Self {
                    received: Some((a.received_on.year(), col)),
                    concluded: a.conclusion.map(|c| (c.on.year(), c.outcome, col)),
                    ..Self::default()
                }
            }
            SubjectState::ReviewCase(c) => Self {
                filed: Some((c.filed_on.year(), c.kind)),
                decided: c.decision.map(|(on, result)| (on.year(), c.kind, result, on.year() == c.filed_on.year())),
                ..Self::default()
            },
            _ => Self::default(),
        }
    }

    /// The distinct years this contribution touches, in order.
    pub fn years(&self) -> Vec<i32> {
        let mut years: Vec<i32> = [
            self.received.map(|r| r.0),
            self.concluded.map(|c| c.0),
            self.filed.map(|f| f.0),
            self.decided.map(|d| d.0),
        ]
        .into_iter()
        .flatten()
        .collect();
        years.sort_unstable();
        years.dedup();
        years
    }

    /// Adds (`sign` = 1) or removes (`sign` = -1) this contribution from the
    /// tally of `year`.
    pub fn apply(&self, year: i32, tally: &mut YearTally, sign: i64) {
        if let Some((y, col)) = self.received
            && y == year
        {
            tally.new[col] += sign;
        }
        if let Some((y, outcome, col)) = self.concluded
            && y == year
        {
            tally.outcomes[outcome.index()][col] += sign;
        }
        if let Some((y, kind)) = self.filed
            && y == year
        {
            tally.filed[kind as usize] += sign;
        }
        if let Some((y, kind, result, same_year)) = self.decided
            && y == year
        {
            tally.decided[kind as usize][result as usize] += sign;
            if same_year {
                tally.decided_same_year[kind as usize][result as usize] += sign;
            }
        }
    }
}
