//! A group's roll-up for a period: every member (an agency, or a member
//! group's own roll-up) with where its table comes from and its checks,
//! and the total of the members counted, summed cell by cell and checked
//! by every identity again. A unit that runs the service counts with its
//! derived table; one that submits counts once the superior accepted its
//! latest submission (a failing table is shown, not counted, until then);
//! a member with neither is named, and late once its due date has passed.

use crate::report::exchange::{Check, Source, Table};
use crate::report::period::Period;
use crate::report::submission;
use crate::report::template::Template;

/// Where a member's table comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberSource {
    /// Derived from the agency's events.
    Derived,
    /// The agency's latest submission.
    Submitted { accepted: bool },
    /// A member group's own roll-up.
    Rollup,
    /// No events and nothing submitted.
    Absent,
}

/// One member of a roll-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub is_group: bool,
    pub source: MemberSource,
    /// The table, if there is one (a submitted one as read).
    pub table: Option<Table>,
    /// Why a table there is still does not count (a template other than
    /// the roll-up's), if it does not.
    pub excluded: Option<String>,
    pub late: bool,
}

impl Member {
    /// Whether its table counts in the total.
    pub fn counted(&self) -> bool {
        let source = match self.source {
            MemberSource::Derived | MemberSource::Rollup => true,
            MemberSource::Submitted { accepted } => accepted,
            MemberSource::Absent => false,
        };
        source && self.table.is_some() && self.excluded.is_none()
    }

    /// The names of the checks its table fails.
    pub fn failed_checks(&self) -> Vec<String> {
        let mut failed: Vec<String> =
            self.table.iter().flat_map(|t| t.checks.iter().filter(|c| !c.passed).map(|c| c.name.clone())).collect();
        failed.extend(self.excluded.iter().cloned());
        failed
    }
}

/// A roll-up's total: the counted members' tables summed cell by cell, in
/// the roll-up's template, with every identity checked on the sum, and
/// `more` (checks the caller made, e.g. against a consolidated derivation).
pub fn total(
    group: &str,
    template: Template,
    period: Period,
    review_dating: &str,
    members: &[Member],
    more: Vec<Check>,
) -> Table {
    let mut sum = Table::blank(group, template, period, review_dating);
    let counted: Vec<&Table> = members.iter().filter(|m| m.counted()).filter_map(|m| m.table.as_ref()).collect();
    let add = |a: &mut Vec<i64>, b: &[i64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
    let mut position = 0;
    for t in &counted {
        for (a, b) in sum.section_three.rows.iter_mut().zip(&t.section_three.rows) {
            add(&mut a.values, &b.values);
        }
        for (a, b) in sum.section_four.blocks.iter_mut().zip(&t.section_four.blocks) {
            add(&mut a.values, &b.values);
        }
        for (a, b) in sum.section_two.iter_mut().zip(&t.section_two) {
            for (x, y) in a.rows.iter_mut().zip(&b.rows) {
                add(&mut x.values, &y.values);
            }
        }
        if let Source::Derived { log_position, .. } | Source::Rollup { log_position, .. } = t.source {
            position = position.max(log_position);
        }
    }
    sum.members = members.iter().filter(|m| m.counted()).map(|m| m.id.clone()).collect();
    sum.source = Source::Rollup { log_position: position, members_counted: counted.len() as u32 };
    sum.checks = submission::checks_of(&submission::failures(&sum, None), false);
    sum.checks.extend(more);
    sum
}

/// What the roll-up bundle's `format` field always says.
pub const BUNDLE_FORMAT: &str = "disclosure-ledger/rollup";
/// The bundle's version.
pub const BUNDLE_VERSION: u32 = 1;
/// The JSON Schema of version 1 (its tables are `table-v1`).
pub const BUNDLE_SCHEMA: &str = include_str!("../../docs/schemas/rollup-v1.schema.json");

/// A roll-up as one file a superior keeps or forwards: every member with
/// its table in the exchange format, and the total.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub format: String,
    pub version: u32,
    pub group: String,
    pub period: crate::report::exchange::PeriodOf,
    pub members: Vec<BundleMember>,
    pub total: Table,
    pub late_member_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleMember {
    pub member_id: String,
    pub is_group: bool,
    /// `derived`, `submitted`, `rollup` or `none`.
    pub source: String,
    pub accepted: bool,
    pub counted: bool,
    pub late: bool,
    pub failed_checks: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Table>,
}

impl Bundle {
    /// The bundle of a roll-up as the API answers it.
    pub fn of(r: &crate::wire::proto::Rollup) -> Result<Self, String> {
        use crate::wire::proto::TableSource;
        let total_report = r.total.as_ref().ok_or("the roll-up has no total")?;
        let mut total = Table::derived(total_report, &r.group_id)?;
        total.members = total_report.agency_ids.clone();
        total.source =
            Source::Rollup { log_position: total_report.log_position, members_counted: total.members.len() as u32 };
        let members = r
            .members
            .iter()
            .map(|m| {
                let source = TableSource::try_from(m.source).unwrap_or(TableSource::None);
                let table = m
                    .table
                    .as_ref()
                    .map(|t| {
                        let mut table = Table::derived(t, &m.member_id)?;
                        match source {
                            TableSource::Submitted => {
                                table.source = Source::Submitted {
                                    sha256: m.sha256.clone(),
                                    file_name: m.file_name.clone(),
                                    file_kind: m.file_kind.clone(),
                                }
                            }
                            TableSource::Rollup => {
                                table.members = t.agency_ids.clone();
                                table.source = Source::Rollup {
                                    log_position: t.log_position,
                                    members_counted: t.agency_ids.len() as u32,
                                }
                            }
                            _ => {}
                        }
                        Ok::<_, String>(table)
                    })
                    .transpose()?;
                Ok(BundleMember {
                    member_id: m.member_id.clone(),
                    is_group: m.is_group,
                    source: match source {
                        TableSource::Derived => "derived",
                        TableSource::Submitted => "submitted",
                        TableSource::Rollup => "rollup",
                        _ => "none",
                    }
                    .into(),
                    accepted: m.accepted,
                    counted: m.counted,
                    late: m.late,
                    failed_checks: m.failed_checks.clone(),
                    table,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            format: BUNDLE_FORMAT.into(),
            version: BUNDLE_VERSION,
            group: r.group_id.clone(),
            period: total.period.clone(),
            members,
            total,
            late_member_ids: r.late_member_ids.clone(),
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a bundle always serializes") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_derived_roll_ups_and_accepted_submissions_count() {
        let m = |source| Member { id: "a".into(), is_group: false, source, table: None, excluded: None, late: false };
        assert!(!m(MemberSource::Derived).counted(), "no table, nothing to count");
        let with = |source| Member { table: Some(blank()), ..m(source) };
        assert!(with(MemberSource::Derived).counted());
        assert!(with(MemberSource::Rollup).counted());
        assert!(with(MemberSource::Submitted { accepted: true }).counted());
        assert!(!with(MemberSource::Submitted { accepted: false }).counted());
        assert!(!with(MemberSource::Absent).counted());
        let excluded = Member { excluded: Some("template".into()), ..with(MemberSource::Derived) };
        assert!(!excluded.counted());
        assert_eq!(excluded.failed_checks(), ["template"]);
    }

    fn blank() -> Table {
        Table::blank("a", Template::V2021, Period::year(2024), "filed_in_period")
    }
}
