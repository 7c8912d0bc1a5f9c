//! The per-agency, per-year tallies that make a year's tables instant: what
//! each subject contributes, kept up to date by the writer in the same
//! atomic write as the events. They are a cache of the log, never typed by
//! hand: `replay` rebuilds them from the raw log and `verify` compares.

use serde::{Deserialize, Serialize};

use crate::domain::codes::{CatalogueKind, DecisionKind, DocumentKind, Outcome, ReviewKind, ReviewResult};
use crate::domain::subject::SubjectState;

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
    /// Section 二: what happened this year.
    pub proactive: ProactiveYear,
}

/// Section 二 events of one year. Running totals (documents in force,
/// catalogue items at the end of last year) are sums over the years up to
/// the report's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProactiveYear {
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

impl YearTally {
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    /// Reads a stored tally, also in the layout from before section 二.
    pub fn decode(bytes: &[u8]) -> Result<Self, postcard::Error> {
        #[derive(Deserialize)]
        struct BeforeSectionTwo {
            new: [i64; 6],
            outcomes: [[i64; 6]; 21],
            filed: [i64; 3],
            decided: [[i64; 3]; 3],
            decided_same_year: [[i64; 3]; 3],
        }
        postcard::from_bytes(bytes).or_else(|e| {
            let old: BeforeSectionTwo = postcard::from_bytes(bytes).map_err(|_| e)?;
            Ok(Self {
                new: old.new,
                outcomes: old.outcomes,
                filed: old.filed,
                decided: old.decided,
                decided_same_year: old.decided_same_year,
                proactive: ProactiveYear::default(),
            })
        })
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
    /// Section 二.
    pub proactive: Option<Proactive>,
}

/// What a section 二 subject counts for, with the years of its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proactive {
    Document { kind: DocumentKind, issued: i32, published: Option<i32>, repealed: Option<i32> },
    Item { kind: CatalogueKind, added: i32, removed: Option<i32> },
    Decisions { kind: DecisionKind, count: u32, year: i32 },
    Fees { fen: i64, year: i32 },
    Procurement { fen: i64, year: i32 },
}

impl Proactive {
    fn of(state: &SubjectState) -> Option<Self> {
        use crate::domain::proactive::Record;
        Some(match state {
            SubjectState::Document(d) => Self::Document {
                kind: d.kind,
                issued: d.issued_on.year(),
                published: d.published_on.map(|d| d.year()),
                repealed: d.repealed_on.map(|d| d.year()),
            },
            SubjectState::CatalogueItem(i) => {
                Self::Item { kind: i.kind, added: i.added_on.year(), removed: i.removed_on.map(|d| d.year()) }
            }
            SubjectState::Record(Record::Decisions { kind, count, on }) => {
                Self::Decisions { kind: *kind, count: *count, year: on.year() }
            }
            SubjectState::Record(Record::Fees { amount_fen, on }) => Self::Fees { fen: *amount_fen, year: on.year() },
            SubjectState::Record(Record::Procurement { amount_fen, on }) => {
                Self::Procurement { fen: *amount_fen, year: on.year() }
            }
            _ => return None,
        })
    }

    fn years(&self) -> Vec<i32> {
        match *self {
            Self::Document { issued, published, repealed, .. } => {
                [Some(issued), published, repealed].into_iter().flatten().collect()
            }
            Self::Item { added, removed, .. } => [Some(added), removed].into_iter().flatten().collect(),
            Self::Decisions { year, .. } | Self::Fees { year, .. } | Self::Procurement { year, .. } => vec![year],
        }
    }

    fn apply(&self, year: i32, t: &mut ProactiveYear, sign: i64) {
        let at = |y: Option<i32>| y == Some(year);
        match *self {
            Self::Document { kind, issued, published, repealed } => {
                let k = kind as usize;
                if issued == year {
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
                if added == year {
                    t.added[k] += sign;
                }
                if at(removed) {
                    t.removed[k] += sign;
                }
            }
            Self::Decisions { kind, count, year: y } if y == year => {
                t.decisions[kind as usize] += sign * i64::from(count)
            }
            Self::Fees { fen, year: y } if y == year => t.fees_fen += sign * fen,
            Self::Procurement { fen, year: y } if y == year => {
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
            other => Self { proactive: Proactive::of(other), ..Self::default() },
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
        .chain(self.proactive.map(|p| p.years()).unwrap_or_default())
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
        if let Some(p) = &self.proactive {
            p.apply(year, &mut tally.proactive, sign);
        }
    }
}
