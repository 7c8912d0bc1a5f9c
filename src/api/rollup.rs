//! GetRollup: a group's roll-up for a period as the API answers it. Each
//! member's table is found here (derived from an agency's events, an
//! agency's latest submitted table, or a member group's own roll-up, down
//! every level), then [`crate::report::rollup`] sums and checks them. One
//! more check ties the two ways of counting together: the members derived
//! here must sum to the consolidated table the service derives for the
//! same agencies in one pass.

use std::sync::Arc;

use crate::domain::date::CivilDate;
use crate::domain::ids::{AgencyId, StreamId, SubjectId};
use crate::domain::rejection::Rejection;
use crate::domain::subject::SubjectState;
use crate::domain::submitted_table;
use crate::report::derivation::{self, ReportQuery};
use crate::report::exchange::{Check, Source, Table};
use crate::report::period::Period;
use crate::report::rollup::{self, Member, MemberSource};
use crate::report::tables::ReviewDating;
use crate::report::template::Template;
use crate::store::database::Store;
use crate::store::ledger::Ledger;
use crate::wire::proto;

/// Member groups deeper than this are refused (SetGroup keeps groups
/// acyclic; this bounds the work whatever is stored).
const MAX_DEPTH: usize = 16;

/// What a roll-up counts.
#[derive(Clone, Copy, Debug)]
pub struct RollupQuery {
    pub period: Period,
    pub template: Template,
    pub dating: ReviewDating,
    /// When the tables were due.
    pub due_on: Option<CivilDate>,
}

fn internal(e: impl std::fmt::Display) -> Rejection {
    Rejection::Internal(e.to_string())
}

fn dating_code(d: ReviewDating) -> &'static str {
    match d {
        ReviewDating::FiledInYear => "filed_in_period",
        ReviewDating::DecidedInYear => "decided_in_period",
    }
}

/// Whether the agency records its applications here: any subject other
/// than its submitted tables.
fn runs_the_service(store: &Store, agency: &AgencyId) -> Result<bool, Rejection> {
    for item in store.subjects(agency, None) {
        let (_, record) = item.map_err(internal)?;
        if !matches!(record.state, SubjectState::SubmittedTable(_)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// An agency's table derived from its events, now.
fn derived(ledger: &Ledger, agencies: &[AgencyId], q: &RollupQuery, name: &str) -> Result<Table, Rejection> {
    let store = ledger.store();
    let query = ReportQuery {
        agencies: agencies.to_vec(),
        year: q.period.report_year(),
        period: q.period,
        template: q.template,
        dating: q.dating,
        as_of: None,
    };
    let report = derivation::report(store, &query).map_err(internal)?;
    let digest = ledger.digest_at(report.position).map_err(internal)?;
    let wire = crate::api::report::report_to_proto(&report, digest);
    Table::derived(&wire, name).map_err(internal)
}

/// An agency's member entry: its derived table, its submission, or none.
fn agency_member(ledger: &Ledger, agency: &AgencyId, q: &RollupQuery) -> Result<Member, Rejection> {
    let store: &Arc<Store> = ledger.store();
    let subject = SubjectId::parse(&submitted_table::subject_for(q.period.first, q.period.last)).map_err(internal)?;
    let stream = StreamId { agency: agency.clone(), subject };
    let submitted = match store.subject(&stream).map_err(internal)?.map(|r| r.state) {
        Some(SubjectState::SubmittedTable(t)) => Some(t),
        _ => None,
    };
    let member = |source, table, excluded, late| Member {
        id: agency.to_string(),
        is_group: false,
        source,
        table,
        excluded,
        late,
    };
    if runs_the_service(store, agency)? {
        return Ok(member(
            MemberSource::Derived,
            Some(derived(ledger, std::slice::from_ref(agency), q, agency.as_str())?),
            None,
            false,
        ));
    }
    let Some(t) = submitted else {
        return Ok(member(MemberSource::Absent, None, None, q.due_on.is_some()));
    };
    let table: Table = serde_json::from_str(&t.table).map_err(internal)?;
    let excluded = (table.template != q.template.name())
        .then(|| format!("template: {}, the roll-up's is {}", table.template, q.template.name()));
    let late = q.due_on.is_some_and(|due| t.accepted_on.is_none_or(|on| on > due));
    Ok(member(MemberSource::Submitted { accepted: t.accepted_on.is_some() }, Some(table), excluded, late))
}

/// A roll-up, and the late members found on the way (at every level).
struct Built {
    members: Vec<Member>,
    total: Table,
    late: Vec<String>,
}

fn build(ledger: &Ledger, group: &str, q: &RollupQuery, depth: usize) -> Result<Built, Rejection> {
    if depth > MAX_DEPTH {
        return Err(Rejection::state(
            "GROUPS_TOO_DEEP",
            "group_id",
            format!("member groups nest deeper than {MAX_DEPTH}"),
        ));
    }
    let store = ledger.store();
    let members = store
        .group(group)
        .map_err(internal)?
        .ok_or_else(|| Rejection::NotFound { resource: "group", name: group.to_string() })?;
    let mut out = Vec::new();
    let mut late = Vec::new();
    for agency in &members.agencies {
        let m = agency_member(ledger, agency, q)?;
        if m.late {
            late.push(m.id.clone());
        }
        out.push(m);
    }
    for sub in &members.groups {
        let built = build(ledger, sub, q, depth + 1)?;
        late.extend(built.late);
        out.push(Member {
            id: sub.clone(),
            is_group: true,
            source: MemberSource::Rollup,
            excluded: None,
            late: false,
            table: Some(built.total),
        });
    }
    // The members derived here, counted again in one consolidated pass.
    let derived_ids: Vec<AgencyId> = members
        .agencies
        .iter()
        .zip(&out)
        .filter(|(_, m)| m.source == MemberSource::Derived)
        .map(|(a, _)| a.clone())
        .collect();
    let mut more = Vec::new();
    if !derived_ids.is_empty() {
        let consolidated = derived(ledger, &derived_ids, q, group)?;
        let derived_only: Vec<Member> = out.iter().filter(|m| m.source == MemberSource::Derived).cloned().collect();
        let sum = rollup::total(group, q.template, q.period, dating_code(q.dating), &derived_only, Vec::new());
        let differ: Vec<String> = sum
            .section_three
            .rows
            .iter()
            .zip(&consolidated.section_three.rows)
            .filter(|(a, b)| a.values != b.values)
            .map(|(a, b)| format!("三 {}: members sum to {:?}, consolidated {:?}", a.code, a.values, b.values))
            .chain(
                sum.section_four
                    .blocks
                    .iter()
                    .zip(&consolidated.section_four.blocks)
                    .filter(|(a, b)| a.values != b.values)
                    .map(|(a, b)| format!("四 {}: members sum to {:?}, consolidated {:?}", a.code, a.values, b.values)),
            )
            .collect();
        more.push(Check {
            name: "derived_members_equal_consolidated_table".into(),
            passed: differ.is_empty(),
            detail: differ.join("; "),
        });
    }
    let total = rollup::total(group, q.template, q.period, dating_code(q.dating), &out, more);
    Ok(Built { members: out, total, late })
}

/// A submitted member's file: its SHA-256, name and kind.
fn submitted_file(m: &Member) -> Option<(&str, &str, &str)> {
    match (&m.source, m.table.as_ref().map(|t| &t.source)) {
        (MemberSource::Submitted { .. }, Some(Source::Submitted { sha256, file_name, file_kind })) => {
            Some((sha256.as_str(), file_name.as_str(), file_kind.as_str()))
        }
        _ => None,
    }
}

/// The roll-up of a group (its id canonical), as the API answers it.
pub fn rollup(ledger: &Ledger, group: &str, q: &RollupQuery) -> Result<proto::Rollup, Rejection> {
    let built = build(ledger, group, q, 0)?;
    let members = built
        .members
        .iter()
        .map(|m| (m, submitted_file(m)))
        .map(|(m, submitted)| proto::RollupMember {
            member_id: m.id.clone(),
            is_group: m.is_group,
            source: match m.source {
                MemberSource::Derived => proto::TableSource::Derived,
                MemberSource::Submitted { .. } => proto::TableSource::Submitted,
                MemberSource::Rollup => proto::TableSource::Rollup,
                MemberSource::Absent => proto::TableSource::None,
            } as i32,
            sha256: submitted.map(|s| s.0.to_string()).unwrap_or_default(),
            file_name: submitted.map(|s| s.1.to_string()).unwrap_or_default(),
            file_kind: submitted.map(|s| s.2.to_string()).unwrap_or_default(),
            accepted: matches!(m.source, MemberSource::Submitted { accepted: true }),
            counted: m.counted(),
            checks_passed: m.table.as_ref().is_some_and(|t| t.checks.iter().all(|c| c.passed)) && m.excluded.is_none(),
            failed_checks: m.failed_checks(),
            table: m.table.as_ref().map(Table::to_report),
            late: m.late,
        })
        .collect();
    Ok(proto::Rollup {
        group_id: group.to_string(),
        members,
        total: Some(built.total.to_report()),
        late_member_ids: built.late,
    })
}
