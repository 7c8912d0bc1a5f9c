//! A table that a unit not running the service submitted to its superior,
//! kept in the unit's stream `table-{first}..{last}` (one stream a period):
//! the latest submission (the file's SHA-256 and name, and the table as
//! read, in the exchange format) and whether the superior accepted it into
//! its roll-ups. A resubmission replaces the table and must be accepted
//! again; the stream's events are the history. A table that fails its
//! checks is kept all the same: the superior must see it, not lose it.

use serde::{Deserialize, Serialize};

use crate::domain::date::CivilDate;
use crate::domain::event::Payload;
pub use crate::domain::ids::Sha256;
use crate::domain::rule::Broken;

/// Largest table, in bytes of its JSON (a table is a few kilobytes).
pub const MAX_TABLE: usize = 256 * 1024;

/// The stream that holds a period's submitted table.
pub fn subject_for(first_day: CivilDate, last_day: CivilDate) -> String {
    format!("table-{first_day}..{last_day}")
}

/// The period's table as its stream stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedTable {
    pub first_day: CivilDate,
    pub last_day: CivilDate,
    /// The latest submission.
    pub sha256: Sha256,
    pub file_name: String,
    /// The table as read, in the exchange format (JSON).
    pub table: String,
    pub submitted_on: CivilDate,
    /// The day the superior accepted this submission, if it has.
    pub accepted_on: Option<CivilDate>,
    /// How many times it was submitted.
    pub submissions: u32,
}

impl SubmittedTable {
    pub fn start(on: CivilDate, payload: &Payload) -> Option<Result<Self, Broken>> {
        match payload {
            Payload::TableSubmitted { first_day, last_day, file_name, sha256, table } => Some(Ok(Self {
                first_day: *first_day,
                last_day: *last_day,
                sha256: *sha256,
                file_name: file_name.clone(),
                table: table.clone(),
                submitted_on: on,
                accepted_on: None,
                submissions: 1,
            })),
            Payload::TableAccepted { .. } => Some(Err(Broken::new(
                "TABLE_NOT_SUBMITTED",
                "table_accepted",
                "no table was submitted for this period (send table_submitted first)",
            ))),
            _ => None,
        }
    }

    pub fn apply(&mut self, on: CivilDate, payload: &Payload) -> Result<(), Broken> {
        match payload {
            Payload::TableSubmitted { first_day, last_day, file_name, sha256, table } => {
                if (*first_day, *last_day) != (self.first_day, self.last_day) {
                    return Err(Broken::new(
                        "WRONG_PERIOD",
                        "table_submitted.first_day",
                        format!(
                            "this stream holds the table of {}..{}, not {first_day}..{last_day}",
                            self.first_day, self.last_day
                        ),
                    ));
                }
                *self = Self {
                    sha256: *sha256,
                    file_name: file_name.clone(),
                    table: table.clone(),
                    submitted_on: on,
                    accepted_on: None,
                    submissions: self.submissions + 1,
                    ..self.clone()
                };
                Ok(())
            }
            Payload::TableAccepted { sha256 } if *sha256 != self.sha256 => Err(Broken::new(
                "TABLE_CHANGED",
                "table_accepted.sha256",
                format!("the table submitted last is {}, not {sha256}: check it before accepting", self.sha256),
            )),
            Payload::TableAccepted { .. } if self.accepted_on.is_some() => Err(Broken::new(
                "TABLE_ALREADY_ACCEPTED",
                "table_accepted",
                format!("this submission was accepted on {}", self.accepted_on.expect("checked")),
            )),
            Payload::TableAccepted { .. } => {
                if on < self.submitted_on {
                    return Err(Broken::new(
                        "DATE_BEFORE_SUBMISSION",
                        "occurred_on",
                        format!("{on} is before the table was submitted on {}", self.submitted_on),
                    ));
                }
                self.accepted_on = Some(on);
                Ok(())
            }
            _ => Err(Broken::new(
                "WRONG_SUBJECT_KIND",
                "payload",
                "this subject is a submitted table; other facts need a subject id of their own",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> CivilDate {
        s.parse().unwrap()
    }

    fn submitted(sha: u8) -> Payload {
        Payload::TableSubmitted {
            first_day: day("2025-07-01"),
            last_day: day("2025-09-30"),
            file_name: "q3.xlsx".into(),
            sha256: Sha256([sha; 32]),
            table: "{}".into(),
        }
    }

    #[test]
    fn a_resubmission_replaces_the_table_and_must_be_accepted_again() {
        let mut t = SubmittedTable::start(day("2025-10-03"), &submitted(1)).unwrap().unwrap();
        let accept = |sha| Payload::TableAccepted { sha256: Sha256([sha; 32]) };
        assert_eq!(t.apply(day("2025-10-04"), &accept(2)).unwrap_err().rule, "TABLE_CHANGED");
        t.apply(day("2025-10-04"), &accept(1)).unwrap();
        assert_eq!(t.accepted_on, Some(day("2025-10-04")));
        assert_eq!(t.apply(day("2025-10-05"), &accept(1)).unwrap_err().rule, "TABLE_ALREADY_ACCEPTED");
        t.apply(day("2025-10-06"), &submitted(2)).unwrap();
        assert_eq!((t.submissions, t.accepted_on, t.sha256), (2, None, Sha256([2; 32])));
        let mut other = submitted(3);
        if let Payload::TableSubmitted { first_day, .. } = &mut other {
            *first_day = day("2025-04-01");
        }
        assert_eq!(t.apply(day("2025-10-06"), &other).unwrap_err().rule, "WRONG_PERIOD");
        assert!(SubmittedTable::start(day("2025-10-03"), &accept(1)).unwrap().is_err());
        assert_eq!(Sha256::parse(&Sha256([0xab; 32]).to_string()).unwrap(), Sha256([0xab; 32]));
        assert!(Sha256::parse("xyz").is_err());
    }
}
