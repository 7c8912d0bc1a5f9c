//! The per-agency, per-month tallies that make a period's tables instant:
//! what each subject contributes, kept up to date by the writer in the same
//! atomic write as the events. They are a cache of the log, never typed by
//! hand: `replay` rebuilds them from the raw log and `verify` compares.
//! Months, not years, so that a month, quarter, half-year or year (any run
//! of up to [`MAX_SPAN_MONTHS`] whole months) reads a few tallies.

use serde::{Deserialize, Serialize};

use crate::domain::codes::{CatalogueKind, DecisionKind, DocumentKind, Outcome, ReviewKind, ReviewResult};
use crate::domain::date::{CivilDate, Month};
use crate::domain::subject::SubjectState;

/// The longest run of months the tallies count section 四 for: a case
/// filed in a period is counted with its result at the period's end, so
/// each month keeps its filings by how many months later they were decided,
/// up to this many.
pub const MAX_SPAN_MONTHS: usize = 12;

/// Counts for one agency and one month.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthTally {
    /// Applications received this month, by applicant column.
    pub new: [i64; 6],
    /// Applications concluded this month, by outcome leaf and column.
    pub outcomes: [[i64; 6]; 21],
    /// Review cases filed this month, by kind.
    pub filed: [i64; 3],
    /// Review cases decided this month, by kind and result.
    pub decided: [[i64; 3]; 3],
    /// Review cases filed this month, by kind and result, decided `n`
    /// months later (0: this month). One decided a year or more after its
    /// filing is in none: it is pending at the end of every period counted
    /// from tallies.
    pub decided_after: [[[i64; MAX_SPAN_MONTHS]; 3]; 3],
    /// Section 二: what happened this month.
    pub proactive: ProactiveMonth,
}

/// Section 二 events of one month. Running totals (documents in force,
/// catalogue items at the end of last year) are sums over the months up to
/// the period's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProactiveMonth {
    /// Documents issued, published and repealed, by kind.
    pub issued: [i64; 2],
    pub published: [i64; 2],
    pub repealed: [i64; 2],
    /// Catalogue items added and removed, by kind.
    pub added: [i64; 5],
    pub removed: [i64; 5],
    /// Decisions made, by kind.
    pub decisions: [i64; 4],
    /// Fees collected, in fen.
    pub fees_fen: i64,
    /// Centralised procurement projects, and their amount in fen.
    pub procurements: i64,
    pub procurement_fen: i64,
}

impl MonthTally {
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

/// What one subject adds to the tallies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Contribution {
    /// (month received, applicant column)
    pub received: Option<(Month, usize)>,
    /// (month concluded, outcome, applicant column)
    pub concluded: Option<(Month, Outcome, usize)>,
    /// (month filed, kind, decided within [`MAX_SPAN_MONTHS`])
    pub filed: Option<(Month, ReviewKind, Option<DecidedAfter>)>,
    /// (month decided, kind, result)
    pub decided: Option<(Month, ReviewKind, ReviewResult)>,
    /// Section 二.
    pub proactive: Option<Proactive>,
}

/// A review case's result and how many months after its filing month it
/// was decided.
pub type DecidedAfter = (usize, ReviewResult);

/// What a section 二 subject counts for, with the months of its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proactive {
    Document { kind: DocumentKind, issued: Month, published: Option<Month>, repealed: Option<Month> },
    Item { kind: CatalogueKind, added: Month, removed: Option<Month> },
    Decisions { kind: DecisionKind, count: u32, month: Month },
    Fees { fen: i64, month: Month },
    Procurement { fen: i64, month: Month },
}

impl Proactive {
    fn of(state: &SubjectState) -> Option<Self> {
        let m = Month::of;
        Some(match state {
            SubjectState::Document(d) => Self::Document {
                kind: d.kind,
                issued: m(d.issued_on),
                published: d.published_on.map(m),
                repealed: d.repealed_on.map(m),
            },
            SubjectState::CatalogueItem(i) => {
                Self::Item { kind: i.kind, added: m(i.added_on), removed: i.removed_on.map(m) }
            }
            SubjectState::Record(r) => Self::of_record(r),
            _ => return None,
        })
    }

    /// What a record of section 二 counts for.
    pub fn of_record(record: &crate::domain::proactive::Record) -> Self {
        use crate::domain::proactive::Record;
        match *record {
            Record::Decisions { kind, count, on } => Self::Decisions { kind, count, month: Month::of(on) },
            Record::Fees { amount_fen, on } => Self::Fees { fen: amount_fen, month: Month::of(on) },
            Record::Procurement { amount_fen, on } => Self::Procurement { fen: amount_fen, month: Month::of(on) },
        }
    }

    fn months(&self) -> Vec<Month> {
        match *self {
            Self::Document { issued, published, repealed, .. } => {
                [Some(issued), published, repealed].into_iter().flatten().collect()
            }
            Self::Item { added, removed, .. } => [Some(added), removed].into_iter().flatten().collect(),
            Self::Decisions { month, .. } | Self::Fees { month, .. } | Self::Procurement { month, .. } => vec![month],
        }
    }

    fn apply(&self, month: Month, t: &mut ProactiveMonth, sign: i64) {
        let at = |m: Option<Month>| m == Some(month);
        match *self {
            Self::Document { kind, issued, published, repealed } => {
                let k = kind as usize;
                if issued == month {
                    t.issued[k] += sign;
                }
                if at(published) {
                    t.published[k] += sign;
                }
                if at(repealed) {
                    t.repealed[k] += sign;
                }
            }
            Self::Item { kind, added, removed } => {
                let k = kind as usize;
                if added == month {
                    t.added[k] += sign;
                }
                if at(removed) {
                    t.removed[k] += sign;
                }
            }
            Self::Decisions { kind, count, month: m } if m == month => {
                t.decisions[kind as usize] += sign * i64::from(count)
            }
            Self::Fees { fen, month: m } if m == month => t.fees_fen += sign * fen,
            Self::Procurement { fen, month: m } if m == month => {
                t.procurements += sign;
                t.procurement_fen += sign * fen;
            }
            _ => {}
        }
    }
}

impl Contribution {
    /// What a subject in this state counts for. A split application counts
    /// nothing (its parts count); a voided subject counts nothing.
    pub fn of(state: &SubjectState) -> Self {
        match state {
            SubjectState::Application(a) if a.split_into.is_empty() => {
                Self::application(a.received_on, a.applicant.column(), a.conclusion.map(|c| (c.on, c.outcome)))
            }
            SubjectState::ReviewCase(c) => Self::review(c.filed_on, c.kind, c.decision),
            other => Self { proactive: Proactive::of(other), ..Self::default() },
        }
    }

    /// What an application (not split) counts for.
    pub fn application(received_on: CivilDate, column: usize, conclusion: Option<(CivilDate, Outcome)>) -> Self {
        Self {
            received: Some((Month::of(received_on), column)),
            concluded: conclusion.map(|(on, outcome)| (Month::of(on), outcome, column)),
            ..Self::default()
        }
    }

    /// What a review case counts for.
    pub fn review(filed_on: CivilDate, kind: ReviewKind, decision: Option<(CivilDate, ReviewResult)>) -> Self {
        let filed = Month::of(filed_on);
        let after = decision.and_then(|(on, result)| {
            // A decision never precedes its filing (a rule of the case).
            let later = usize::try_from(filed.until(Month::of(on))).ok()?;
            (later < MAX_SPAN_MONTHS).then_some((later, result))
        });
        Self {
            filed: Some((filed, kind, after)),
            decided: decision.map(|(on, result)| (Month::of(on), kind, result)),
            ..Self::default()
        }
    }

    /// The distinct months this contribution touches, in order.
    pub fn months(&self) -> Vec<Month> {
        let mut months: Vec<Month> = [
            self.received.map(|r| r.0),
            self.concluded.map(|c| c.0),
            self.filed.map(|f| f.0),
            self.decided.map(|d| d.0),
        ]
        .into_iter()
        .flatten()
        .chain(self.proactive.map(|p| p.months()).unwrap_or_default())
        .collect();
        months.sort_unstable();
        months.dedup();
        months
    }

    /// Adds (`sign` = 1) or removes (`sign` = -1) this contribution from the
    /// tally of `month`.
    pub fn apply(&self, month: Month, tally: &mut MonthTally, sign: i64) {
        if let Some((m, col)) = self.received
            && m == month
        {
            tally.new[col] += sign;
        }
        if let Some((m, outcome, col)) = self.concluded
            && m == month
        {
            tally.outcomes[outcome.index()][col] += sign;
        }
        if let Some((m, kind, after)) = self.filed
            && m == month
        {
            tally.filed[kind as usize] += sign;
            if let Some((later, result)) = after {
                tally.decided_after[kind as usize][result as usize][later] += sign;
            }
        }
        if let Some((m, kind, result)) = self.decided
            && m == month
        {
            tally.decided[kind as usize][result as usize] += sign;
        }
        if let Some(p) = &self.proactive {
            p.apply(month, &mut tally.proactive, sign);
        }
    }
}
