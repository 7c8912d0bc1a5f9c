//! The `disclosure.v1.ReportService` gRPC service: resolves who and which
//! year, derives the tables, and converts them to the wire.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::access::principal::Principal;
use crate::api::application::{application_to_proto, deadline_to_proto, review_case_to_proto};
use crate::api::page;
use crate::api::report::report_to_proto;
use crate::deadline::calendar::CalendarCell;
use crate::deadline::statutory::{DEFAULT_WITHIN, deadline};
use crate::domain::codes::ReviewKind;
use crate::domain::date::CivilDate;
use crate::domain::ids::{AgencyId, SubjectId};
use crate::domain::rejection::{FieldIssue, Rejection, internal};
use crate::report::derivation::{self, Cell, CellPage, DeriveError, ReportQuery, ReviewCell};
use crate::report::period::Period;
use crate::report::tables::{Report, ReviewDating};
use crate::report::template::{REVIEW_BLOCKS, ReviewColumn, Row, Template};
use crate::store::chain::Digest;
use crate::store::database::{GroupMembers, Store};
use crate::store::error::StoreError;
use crate::store::ledger::blocking;
use crate::store::ledger::{Ledger, OpeningLedger};
use crate::wire::proto::{self, report_service_server::ReportService as ReportServiceApi};
use crate::wire::status::refuse;

/// Most agencies one report may sum.
pub const MAX_AGENCIES: usize = 1000;

#[derive(Clone)]
pub struct ReportService {
    ledger: OpeningLedger,
    /// For the deadlines of the applications behind a cell.
    calendar: CalendarCell,
}

impl ReportService {
    pub fn new(ledger: OpeningLedger, calendar: CalendarCell) -> Self {
        Self { ledger, calendar }
    }

    fn store(&self) -> Result<Arc<Store>, Rejection> {
        self.ledger.store()
    }
}

fn derive_error(e: DeriveError, field: &str) -> Rejection {
    match e {
        DeriveError::BeyondHead { .. } => Rejection::invalid(field, e.to_string()),
        DeriveError::Store(e) => internal(e),
    }
}

fn year(y: i32) -> Result<i32, FieldIssue> {
    let max = CivilDate::today_in_china().year() + 1;
    if !(2008..=max).contains(&y) {
        return Err(FieldIssue::new("year", format!("{y} is not a report year (2008 to {max})")));
    }
    Ok(y)
}

fn template(t: i32, year: i32) -> Result<Template, FieldIssue> {
    match proto::Template::try_from(t) {
        Ok(proto::Template::Unspecified) => Ok(Template::for_year(year)),
        Ok(proto::Template::Template2019) => Ok(Template::V2019),
        Ok(proto::Template::Template2021) => Ok(Template::V2021),
        Err(_) => Err(FieldIssue::new("template", format!("{t} is not a known Template"))),
    }
}

fn dating(d: i32) -> Result<ReviewDating, FieldIssue> {
    match proto::ReviewDating::try_from(d) {
        Ok(proto::ReviewDating::Unspecified | proto::ReviewDating::FiledInYear) => Ok(ReviewDating::FiledInYear),
        Ok(proto::ReviewDating::DecidedInYear) => Ok(ReviewDating::DecidedInYear),
        Err(_) => Err(FieldIssue::new("review_dating", format!("{d} is not a known ReviewDating"))),
    }
}

fn review_column(c: i32) -> Result<ReviewColumn, FieldIssue> {
    match proto::ReviewColumn::try_from(c) {
        Ok(proto::ReviewColumn::Unspecified) => {
            Err(FieldIssue::new("column", "is required (ReviewColumn UNSPECIFIED is not a value)"))
        }
        Ok(wire) => Ok(ReviewColumn::ALL[wire as usize - 1]),
        Err(_) => Err(FieldIssue::new("column", format!("{c} is not a known ReviewColumn"))),
    }
}

/// Whether the caller may see the tables of a scope (checked before the
/// scope is looked up, so that nothing is revealed).
fn may_see(caller: &Principal, scope: Option<&proto::ReportScope>) -> Result<(), Rejection> {
    use proto::report_scope::Scope;
    match scope.and_then(|s| s.scope.as_ref()) {
        None => Ok(()), // refused as invalid next
        Some(Scope::AgencyId(id)) => caller.may_read_id(id),
        Some(Scope::Agencies(list)) => list.agency_ids.iter().try_for_each(|id| caller.may_read_id(id)),
        Some(Scope::GroupId(id)) => match AgencyId::parse(id) {
            Ok(group) => caller.may_read_group(group.as_str()),
            Err(_) => caller.may_read_group(id),
        },
    }
}

/// Whether a group may be stored with these members: every member group
/// exists, none contains this group (through any depth), and no agency is
/// held twice (it would be counted twice in the total).
fn check_group(store: &Store, id: &str, members: &GroupMembers) -> Result<(), Rejection> {
    let mut held: Vec<(AgencyId, String)> = members.agencies.iter().map(|a| (a.clone(), id.to_string())).collect();
    let mut issues = Vec::new();
    for (i, g) in members.groups.iter().enumerate() {
        let field = format!("group.member_group_ids[{i}]");
        let Some(_) = store.group(g).map_err(internal)? else {
            issues.push(FieldIssue::new(field, format!("no group {g} (set it first)")));
            continue;
        };
        // A cycle: the member group holds this group somewhere below it.
        let mut pending = vec![g.clone()];
        let mut seen = Vec::new();
        while let Some(next) = pending.pop() {
            if next == id {
                issues
                    .push(FieldIssue::new(field.clone(), format!("{g} contains {id}: a group cannot contain itself")));
                break;
            }
            if seen.contains(&next) {
                continue;
            }
            if let Some(m) = store.group(&next).map_err(internal)? {
                pending.extend(m.groups);
            }
            seen.push(next);
        }
        for a in store.group_agencies(g).map_err(internal)?.unwrap_or_default() {
            match held.iter().find(|(h, _)| *h == a) {
                Some((_, by)) => issues.push(FieldIssue::new(
                    field.clone(),
                    format!("{g} holds {a}, which {by} holds too: it would be counted twice"),
                )),
                None => held.push((a, g.clone())),
            }
        }
    }
    if held.len() > MAX_AGENCIES {
        issues.push(FieldIssue::new("group", format!("holds {} agencies; at most {MAX_AGENCIES}", held.len())));
    }
    if issues.is_empty() { Ok(()) } else { Err(Rejection::Invalid(issues)) }
}

/// The agencies a scope names (a group is looked up in the store).
fn agencies(store: &Store, scope: Option<&proto::ReportScope>) -> Result<Vec<AgencyId>, Rejection> {
    use proto::report_scope::Scope;
    let agency = |field: &str, id: &str| AgencyId::parse(id).map_err(|r| Rejection::invalid(field, r));
    let list = match scope.and_then(|s| s.scope.as_ref()) {
        None => return Err(Rejection::invalid("scope", "is required: an agency, a list of agencies, or a group")),
        Some(Scope::AgencyId(id)) => vec![agency("scope.agency_id", id)?],
        Some(Scope::Agencies(list)) => list
            .agency_ids
            .iter()
            .enumerate()
            .map(|(i, id)| agency(&format!("scope.agencies.agency_ids[{i}]"), id))
            .collect::<Result<Vec<_>, _>>()?,
        Some(Scope::GroupId(id)) => {
            let group = agency("scope.group_id", id)?;
            store
                .group_agencies(group.as_str())
                .map_err(internal)?
                .ok_or_else(|| Rejection::NotFound { resource: "group", name: group.to_string() })?
        }
    };
    if list.is_empty() || list.len() > MAX_AGENCIES {
        return Err(Rejection::invalid("scope", format!("names {} agencies; 1 to {MAX_AGENCIES}", list.len())));
    }
    let mut sorted = list.clone();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != list.len() {
        return Err(Rejection::invalid("scope", "names an agency twice; it would be counted twice"));
    }
    Ok(list)
}

/// The period a request asks for: the year, or the days it names.
fn period(y: i32, asked: Option<&proto::ReportPeriod>) -> Result<(i32, Period), Rejection> {
    let Some(asked) = asked else {
        let y = year(y).map_err(|i| Rejection::Invalid(vec![i]))?;
        return Ok((y, Period::year(y)));
    };
    let mut issues = Vec::new();
    let mut day = |d: Option<&proto::google::r#type::Date>, field: &str| match d {
        None => {
            issues.push(FieldIssue::new(field, "is required"));
            None
        }
        Some(d) => CivilDate::from_proto(d).map_err(|e| issues.push(FieldIssue::new(field, e))).ok(),
    };
    let first = day(asked.first_day.as_ref(), "period.first_day");
    let last = day(asked.last_day.as_ref(), "period.last_day");
    let (Some(first), Some(last)) = (first, last) else { return Err(Rejection::Invalid(issues)) };
    let period = Period::new(first, last)
        .ok_or_else(|| Rejection::invalid("period.last_day", format!("{last} is before the first day {first}")))?;
    let report_year = year(period.report_year())
        .map_err(|i| Rejection::invalid("period.last_day", format!("{}: {}", period.last, i.reason)))?;
    if first < crate::domain::date::EARLIEST {
        return Err(Rejection::invalid("period.first_day", format!("{first} is before the Regulations (2008-05-01)")));
    }
    if y != 0 && y != report_year {
        return Err(Rejection::invalid("year", format!("is {y}, but the period ends in {report_year}")));
    }
    Ok((report_year, period))
}

/// The period a request asks for, or its issues added to `issues`.
fn period_into(y: i32, asked: Option<&proto::ReportPeriod>, issues: &mut Vec<FieldIssue>) -> Option<(i32, Period)> {
    period(y, asked)
        .map_err(|e| match e {
            Rejection::Invalid(more) => issues.extend(more),
            other => issues.push(FieldIssue::new("period", other.to_string())),
        })
        .ok()
}

/// The checked parts of a report request.
fn query(
    store: &Store,
    scope: Option<&proto::ReportScope>,
    (y, period): (i32, Period),
    t: i32,
    d: i32,
    as_of: u64,
) -> Result<ReportQuery, Rejection> {
    let mut issues = Vec::new();
    let template = template(t, y).map_err(|i| issues.push(i)).ok();
    let dating = dating(d).map_err(|i| issues.push(i)).ok();
    let (Some(template), Some(dating)) = (template, dating) else { return Err(Rejection::Invalid(issues)) };
    Ok(ReportQuery {
        agencies: agencies(store, scope)?,
        year: y,
        period,
        template,
        dating,
        as_of: (as_of > 0).then_some(as_of),
    })
}

/// The wire form of a report, with the log's digest at its position.
/// The log's digest at a report's position; a position lost to a damaged
/// store has none, and a report as of it is refused (the caller's choice of
/// position, so FAILED_PRECONDITION, not INTERNAL).
fn digest_at(ledger: &Ledger, position: u64) -> Result<Digest, Rejection> {
    ledger.digest_at(position).map_err(|e| match e {
        StoreError::Lost(loss) => Rejection::state(
            "POSITION_LOST",
            "as_of_position",
            format!(
                "{loss}: no table can be as of position {position}; choose one before {} or after {}",
                loss.first, loss.last
            ),
        ),
        e => internal(e),
    })
}

/// The cells that differ between two reports of one template.
fn changes(from: &Report, to: &Report) -> Vec<proto::CellChange> {
    use crate::report::template::{COLUMNS, REVIEW_COLUMNS};
    let mut out = Vec::new();
    for (a, b) in from.applications.rows.iter().zip(&to.applications.rows) {
        for ((before, after), column) in a.values.iter().zip(&b.values).zip(COLUMNS) {
            if before != after {
                out.push(proto::CellChange {
                    section: "三".into(),
                    row: a.spec.row.code().into(),
                    column: column.into(),
                    before: *before,
                    after: *after,
                });
            }
        }
    }
    for (k, (a, b)) in from.reviews.blocks.iter().zip(&to.reviews.blocks).enumerate() {
        for c in 0..5 {
            if a[c] != b[c] {
                out.push(proto::CellChange {
                    section: "四".into(),
                    row: REVIEW_BLOCKS[k].into(),
                    column: REVIEW_COLUMNS[c].into(),
                    before: a[c],
                    after: b[c],
                });
            }
        }
    }
    out
}

fn scope_label(scope: Option<&proto::ReportScope>) -> String {
    use proto::report_scope::Scope;
    match scope.and_then(|s| s.scope.as_ref()) {
        Some(Scope::AgencyId(a)) => a.clone(),
        Some(Scope::Agencies(l)) => l.agency_ids.join(","),
        Some(Scope::GroupId(g)) => format!("group:{g}"),
        None => String::new(),
    }
}

#[tonic::async_trait]
impl ReportServiceApi for ReportService {
    async fn get_report(
        &self,
        request: Request<proto::GetReportRequest>,
    ) -> Result<Response<proto::GetReportResponse>, Status> {
        let caller = Principal::of(&request)?;
        let r = request.into_inner();
        let span = tracing::info_span!("GetReport", agency = %scope_label(r.scope.as_ref()), year = r.year, as_of = r.as_of_position);
        async move {
            may_see(&caller, r.scope.as_ref()).map_err(refuse)?;
            let ledger = self.ledger.get().map_err(refuse)?;
            let (report, digest, unrecorded) = blocking(move || {
                let store = ledger.store();
                let asked = period(r.year, r.period.as_ref())?;
                let q = query(store, r.scope.as_ref(), asked, r.template, r.review_dating, r.as_of_position)?;
                let report = derivation::report(store, &q).map_err(|e| derive_error(e, "as_of_position"))?;
                let digest = digest_at(&ledger, report.position)?;
                let unrecorded: Vec<String> = q
                    .agencies
                    .iter()
                    .filter(|a| store.subjects(a, None).next().is_none())
                    .map(ToString::to_string)
                    .collect();
                Ok((report, digest, unrecorded))
            })
            .await
            .map_err(refuse)?;
            if !report.passed() {
                // A failed check is a bug in the derivation, never in the data.
                tracing::error!(checks = ?report.checks, "a derived table failed its checks");
            }
            let report = proto::Report { unrecorded_agency_ids: unrecorded, ..report_to_proto(&report, digest) };
            Ok(Response::new(proto::GetReportResponse { report: Some(report) }))
        }
        .instrument(span)
        .await
    }

    async fn get_annual_report(
        &self,
        request: Request<proto::GetAnnualReportRequest>,
    ) -> Result<Response<proto::GetAnnualReportResponse>, Status> {
        let caller = Principal::of(&request)?;
        let r = request.into_inner();
        let span =
            tracing::info_span!("GetAnnualReport", agency = %r.agency_id, year = r.year, as_of = r.as_of_position);
        async move {
            caller.may_read_id(&r.agency_id).map_err(refuse)?;
            let ledger = self.ledger.get().map_err(refuse)?;
            let (annual, digest) = blocking(move || {
                let store = ledger.store();
                let agency = AgencyId::parse(&r.agency_id).map_err(|e| Rejection::invalid("agency_id", e))?;
                let scope =
                    proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(r.agency_id.clone())) };
                let q =
                    query(store, Some(&scope), period(r.year, None)?, r.template, r.review_dating, r.as_of_position)?;
                let annual = crate::report::annual_report::assemble(store, &agency, &q)
                    .map_err(|e| derive_error(e, "as_of_position"))?;
                let digest = digest_at(&ledger, annual.tables.position)?;
                Ok((annual, digest))
            })
            .await
            .map_err(refuse)?;
            let tables = report_to_proto(&annual.tables, digest);
            Ok(Response::new(proto::GetAnnualReportResponse {
                annual_report: Some(proto::AnnualReport {
                    title: annual.title,
                    tables: Some(tables),
                    texts: annual
                        .texts
                        .into_iter()
                        .map(|(section, heading, text)| proto::ReportText {
                            section: section.to_proto() as i32,
                            heading: heading.into(),
                            text,
                        })
                        .collect(),
                    recorded_texts: annual
                        .recorded
                        .into_iter()
                        .map(|(section, text)| proto::ReportText {
                            section: section.to_proto() as i32,
                            heading: String::new(),
                            text,
                        })
                        .collect(),
                    placeholders: annual
                        .placeholders
                        .into_iter()
                        .map(|(name, meaning, value)| proto::Placeholder {
                            name: name.into(),
                            meaning: meaning.into(),
                            value,
                        })
                        .collect(),
                    publications: annual
                        .publications
                        .into_iter()
                        .map(|p| proto::Publication {
                            label: p.label,
                            position: p.position,
                            published_on: Some(p.published_on.to_proto()),
                        })
                        .collect(),
                    missing_sections: annual.missing.iter().map(|s| s.to_proto() as i32).collect(),
                    agency_name: annual.agency_name,
                }),
            }))
        }
        .instrument(span)
        .await
    }

    async fn diff_report(
        &self,
        request: Request<proto::DiffReportRequest>,
    ) -> Result<Response<proto::DiffReportResponse>, Status> {
        let caller = Principal::of(&request)?;
        let r = request.into_inner();
        let span = tracing::info_span!("DiffReport", agency = %scope_label(r.scope.as_ref()), year = r.year, from = r.from_position, to = r.to_position);
        async move {
            may_see(&caller, r.scope.as_ref()).map_err(refuse)?;
            let ledger = self.ledger.get().map_err(refuse)?;
            let (from, to) = blocking(move || {
                let store = ledger.store();
                if r.from_position == 0 {
                    return Err(Rejection::invalid("from_position", "is required (a log position from 1)"));
                }
                let asked = period(r.year, r.period.as_ref())?;
                let q = query(store, r.scope.as_ref(), asked, r.template, r.review_dating, r.to_position)?;
                let to = derivation::report(store, &q).map_err(|e| derive_error(e, "to_position"))?;
                let from_q = ReportQuery { as_of: Some(r.from_position), ..q };
                let from = derivation::report(store, &from_q).map_err(|e| derive_error(e, "from_position"))?;
                let digest = |r: &Report| digest_at(&ledger, r.position);
                Ok(((digest(&from)?, from), (digest(&to)?, to)))
            })
            .await
            .map_err(refuse)?;
            Ok(Response::new(proto::DiffReportResponse {
                changes: changes(&from.1, &to.1),
                from: Some(report_to_proto(&from.1, from.0)),
                to: Some(report_to_proto(&to.1, to.0)),
            }))
        }
        .instrument(span)
        .await
    }

    async fn list_cell_applications(
        &self,
        request: Request<proto::ListCellApplicationsRequest>,
    ) -> Result<Response<proto::ListCellApplicationsResponse>, Status> {
        let caller = Principal::of(&request)?;
        let r = request.into_inner();
        let span = tracing::info_span!("ListCellApplications", agency = %r.agency_id, year = r.year, row = %r.row, column = r.column);
        async move {
            caller.may_read_id(&r.agency_id).map_err(refuse)?;
            let store = self.store().map_err(refuse)?;
            let calendar = self.calendar.current();
            let response = blocking(move || {
                let mut issues = Vec::new();
                let agency =
                    AgencyId::parse(&r.agency_id).map_err(|e| issues.push(FieldIssue::new("agency_id", e))).ok();
                let asked = period_into(r.year, r.period.as_ref(), &mut issues);
                let row = Row::from_code(&r.row)
                    .ok_or_else(|| {
                        issues.push(FieldIssue::new("row", format!("{:?} is not a row code of section 三", r.row)))
                    })
                    .ok();
                if !(0..=6).contains(&r.column) {
                    issues.push(FieldIssue::new(
                        "column",
                        format!("{} is not a column (0-5 applicants, 6 总计)", r.column),
                    ));
                }
                let page_size = page::size(r.page_size).map_err(|i| issues.push(i)).unwrap_or(0);
                let (Some(agency), Some((y, period)), Some(row), true) = (agency, asked, row, issues.is_empty()) else {
                    return Err(Rejection::Invalid(issues));
                };
                let days = (period.first.to_string(), period.last.to_string());
                let token_cell = (r.agency_id.clone(), y, r.row.clone(), r.column, r.as_of_position, days);
                let after = page::after(&r.page_token, &token_cell)?;
                let as_of = (r.as_of_position > 0).then_some(r.as_of_position);
                let cell = Cell { agency, period, row, column: r.column as usize };
                let CellPage { position, subjects: found, more } =
                    derivation::cell_applications(&store, &cell, as_of, after.as_ref(), page_size)
                        .map_err(|e| derive_error(e, "as_of_position"))?;
                let next_page_token = match found.last() {
                    Some((last, _)) if more => page::token(&token_cell, &last.subject),
                    _ => String::new(),
                };
                let today = CivilDate::today_in_china();
                let deadlines = found
                    .iter()
                    .map(|(_, rec)| match rec.application().filter(|a| a.split_into.is_empty()) {
                        Some(a) => {
                            deadline_to_proto(deadline(a, &calendar, today, DEFAULT_WITHIN).map_err(|e| e.to_string()))
                        }
                        None => proto::Deadline::default(),
                    })
                    .collect();
                Ok(proto::ListCellApplicationsResponse {
                    applications: found.iter().map(|(s, rec)| application_to_proto(s, rec)).collect(),
                    next_page_token,
                    log_position: position,
                    deadlines,
                })
            })
            .await
            .map_err(refuse)?;
            Ok(Response::new(response))
        }
        .instrument(span)
        .await
    }

    async fn list_cell_review_cases(
        &self,
        request: Request<proto::ListCellReviewCasesRequest>,
    ) -> Result<Response<proto::ListCellReviewCasesResponse>, Status> {
        let caller = Principal::of(&request)?;
        let r = request.into_inner();
        let span = tracing::info_span!("ListCellReviewCases", agency = %r.agency_id, year = r.year, kind = r.kind, column = r.column);
        async move {
            caller.may_read_id(&r.agency_id).map_err(refuse)?;
            let store = self.store().map_err(refuse)?;
            let response = blocking(move || {
                let mut issues = Vec::new();
                let agency =
                    AgencyId::parse(&r.agency_id).map_err(|e| issues.push(FieldIssue::new("agency_id", e))).ok();
                let asked = period_into(r.year, r.period.as_ref(), &mut issues);
                let kind = ReviewKind::from_proto(r.kind).map_err(|e| issues.push(FieldIssue::new("kind", e))).ok();
                let column = review_column(r.column).map_err(|i| issues.push(i)).ok();
                let dating = dating(r.review_dating).map_err(|i| issues.push(i)).ok();
                let page_size = page::size(r.page_size).map_err(|i| issues.push(i)).unwrap_or(0);
                let (Some(agency), Some((year, period)), Some(kind), Some(column), Some(dating), true) =
                    (agency, asked, kind, column, dating, issues.is_empty())
                else {
                    return Err(Rejection::Invalid(issues));
                };
                let days = (period.first.to_string(), period.last.to_string());
                let token_cell = (r.agency_id.clone(), year, r.kind, r.column, r.review_dating, r.as_of_position, days);
                let after = page::after(&r.page_token, &token_cell)?;
                let as_of = (r.as_of_position > 0).then_some(r.as_of_position);
                let cell = ReviewCell { agency, period, kind, column, dating };
                let CellPage { position, subjects: found, more } =
                    derivation::cell_review_cases(&store, &cell, as_of, after.as_ref(), page_size)
                        .map_err(|e| derive_error(e, "as_of_position"))?;
                let next_page_token = match found.last() {
                    Some((last, _)) if more => page::token(&token_cell, &last.subject),
                    _ => String::new(),
                };
                Ok(proto::ListCellReviewCasesResponse {
                    review_cases: found.iter().filter_map(|(s, rec)| review_case_to_proto(s, rec)).collect(),
                    next_page_token,
                    log_position: position,
                })
            })
            .await
            .map_err(refuse)?;
            Ok(Response::new(response))
        }
        .instrument(span)
        .await
    }

    async fn verify_tallies(
        &self,
        request: Request<proto::VerifyTalliesRequest>,
    ) -> Result<Response<proto::VerifyTalliesResponse>, Status> {
        let caller = Principal::of(&request)?;
        async move {
            caller.must_be_admin("verify the tallies").map_err(refuse)?;
            let ledger = self.ledger.get().map_err(refuse)?;
            let deep = request.get_ref().deep;
            let (mut v, proved) = blocking(move || {
                // First the log itself: whole, and the same bytes the writer
                // chained as it wrote them.
                let proved = ledger.prove();
                let store = ledger.store();
                let v = if deep { derivation::verify(store) } else { crate::report::recount::recount(store) };
                let losses = store.losses().map_err(internal)?;
                Ok((v.map_err(internal)?, (proved, losses)))
            })
            .await
            .map_err(refuse)?;
            let (proved, losses) = proved;
            let log_digest = match proved {
                Ok((_, digest)) => digest.hex(),
                Err(damage) => {
                    v.differences.insert(0, format!("the log cannot be proved whole: {damage}"));
                    String::new()
                }
            };
            if v.differences.is_empty() {
                tracing::info!(events = v.events, subjects = v.subjects, seconds = v.seconds, "tallies verified");
            } else {
                tracing::error!(differences = v.differences.len(), "tallies differ from a replay of the log");
            }
            Ok(Response::new(proto::VerifyTalliesResponse {
                log_position: v.position,
                events_replayed: v.events,
                subjects: v.subjects,
                consistent: v.differences.is_empty(),
                differences: v.differences,
                seconds: v.seconds,
                log_digest,
                lost_ranges: losses.iter().map(|l| l.to_proto()).collect(),
            }))
        }
        .instrument(tracing::info_span!("VerifyTallies"))
        .await
    }

    async fn set_group(
        &self,
        request: Request<proto::SetGroupRequest>,
    ) -> Result<Response<proto::SetGroupResponse>, Status> {
        let caller = Principal::of(&request)?;
        let r = request.into_inner();
        let group = r.group.unwrap_or_default();
        let span = tracing::info_span!("SetGroup", group = %group.group_id);
        async move {
            caller.must_be_admin("set groups").map_err(refuse)?;
            let store = self.store().map_err(refuse)?;
            let mut issues = Vec::new();
            // Canonical, as agency ids are: the group is stored and answered
            // under the form every later request will name.
            let id = match AgencyId::parse(&group.group_id) {
                Ok(id) => id.to_string(),
                Err(e) => {
                    issues.push(FieldIssue::new("group.group_id", e));
                    String::new()
                }
            };
            let mut members = Vec::new();
            for (i, id) in group.agency_ids.iter().enumerate() {
                match AgencyId::parse(id) {
                    Ok(a) if members.contains(&a) => {
                        issues.push(FieldIssue::new(format!("group.agency_ids[{i}]"), format!("{a} is listed twice")))
                    }
                    Ok(a) => members.push(a),
                    Err(e) => issues.push(FieldIssue::new(format!("group.agency_ids[{i}]"), e)),
                }
            }
            let mut groups = Vec::new();
            for (i, g) in group.member_group_ids.iter().enumerate() {
                let field = format!("group.member_group_ids[{i}]");
                match AgencyId::parse(g) {
                    Ok(g) if groups.contains(&g.to_string()) => {
                        issues.push(FieldIssue::new(field, format!("{g} is listed twice")))
                    }
                    Ok(g) if g.as_str() == id => issues.push(FieldIssue::new(field, "a group cannot contain itself")),
                    Ok(g) => groups.push(g.to_string()),
                    Err(e) => issues.push(FieldIssue::new(field, e)),
                }
            }
            if members.len() + groups.len() == 0 || members.len() > MAX_AGENCIES {
                issues.push(FieldIssue::new(
                    "group.agency_ids",
                    format!("has {} agencies and {} groups; 1 to {MAX_AGENCIES} members", members.len(), groups.len()),
                ));
            }
            if !issues.is_empty() {
                return Err(refuse(Rejection::Invalid(issues)));
            }
            let answer = proto::Group {
                group_id: id.clone(),
                agency_ids: members.iter().map(ToString::to_string).collect(),
                member_group_ids: groups.clone(),
            };
            let members = GroupMembers { agencies: members, groups };
            blocking(move || {
                check_group(&store, &id, &members)?;
                store.put_group(&id, &members).map_err(internal)
            })
            .await
            .map_err(refuse)?;
            Ok(Response::new(proto::SetGroupResponse { group: Some(answer) }))
        }
        .instrument(span)
        .await
    }

    async fn get_group(
        &self,
        request: Request<proto::GetGroupRequest>,
    ) -> Result<Response<proto::GetGroupResponse>, Status> {
        let caller = Principal::of(&request)?;
        let r = request.into_inner();
        let group_id = AgencyId::parse(&r.group_id).map_err(|e| refuse(Rejection::invalid("group_id", e)))?.to_string();
        caller.may_read_group(&group_id).map_err(refuse)?;
        let store = self.store().map_err(refuse)?;
        let id = group_id.clone();
        let members = blocking(move || store.group(&id).map_err(internal)).await.map_err(refuse)?;
        let members =
            members.ok_or_else(|| refuse(Rejection::NotFound { resource: "group", name: group_id.clone() }))?;
        Ok(Response::new(proto::GetGroupResponse {
            group: Some(proto::Group {
                group_id,
                agency_ids: members.agencies.iter().map(ToString::to_string).collect(),
                member_group_ids: members.groups,
            }),
        }))
    }

    async fn list_groups(
        &self,
        request: Request<proto::ListGroupsRequest>,
    ) -> Result<Response<proto::ListGroupsResponse>, Status> {
        let caller = Principal::of(&request)?;
        let r = request.into_inner();
        let page_size = page::size(r.page_size).map_err(|i| refuse(Rejection::Invalid(vec![i])))?;
        // A token names the last group id of its page; the request has no
        // other parameters to bind it to.
        let after = page::after(&r.page_token, &()).map_err(refuse)?.map(|s| s.to_string());
        let store = self.store().map_err(refuse)?;
        let all = blocking(move || store.groups().map_err(internal)).await.map_err(refuse)?;
        let mut visible = all
            .into_iter()
            .filter(|(id, _)| after.as_ref().is_none_or(|a| id > a) && caller.may_read_group(id).is_ok());
        let groups: Vec<proto::Group> = visible
            .by_ref()
            .take(page_size)
            .map(|(group_id, members)| proto::Group {
                group_id,
                agency_ids: members.agencies.iter().map(ToString::to_string).collect(),
                member_group_ids: members.groups,
            })
            .collect();
        let next_page_token = match (groups.last(), visible.next()) {
            (Some(last), Some(_)) => {
                SubjectId::parse(&last.group_id).map(|id| page::token(&(), &id)).map_err(|e| refuse(internal(e)))?
            }
            _ => String::new(),
        };
        Ok(Response::new(proto::ListGroupsResponse { groups, next_page_token }))
    }

    async fn submit_table(
        &self,
        request: Request<proto::SubmitTableRequest>,
    ) -> Result<Response<proto::SubmitTableResponse>, Status> {
        let caller = Principal::of(&request)?;
        let r = request.into_inner();
        let span = tracing::info_span!("SubmitTable", agency = %r.agency_id, file = %r.file_name);
        async move {
            let ledger = self.ledger.get().map_err(refuse)?;
            crate::api::submitted_table::submit(&ledger, &caller, r).await.map(Response::new).map_err(refuse)
        }
        .instrument(span)
        .await
    }

    async fn accept_table(
        &self,
        request: Request<proto::AcceptTableRequest>,
    ) -> Result<Response<proto::AcceptTableResponse>, Status> {
        let caller = Principal::of(&request)?;
        let r = request.into_inner();
        let span = tracing::info_span!("AcceptTable", agency = %r.agency_id, sha256 = %r.sha256);
        async move {
            let ledger = self.ledger.get().map_err(refuse)?;
            crate::api::submitted_table::accept(&ledger, &caller, r).await.map(Response::new).map_err(refuse)
        }
        .instrument(span)
        .await
    }

    async fn get_rollup(
        &self,
        request: Request<proto::GetRollupRequest>,
    ) -> Result<Response<proto::GetRollupResponse>, Status> {
        let caller = Principal::of(&request)?;
        let r = request.into_inner();
        let span = tracing::info_span!("GetRollup", group = %r.group_id, year = r.year);
        async move {
            let group =
                AgencyId::parse(&r.group_id).map_err(|e| refuse(Rejection::invalid("group_id", e)))?.to_string();
            caller.may_read_group(&group).map_err(refuse)?;
            let (y, period) = period(r.year, r.period.as_ref()).map_err(refuse)?;
            let mut issues = Vec::new();
            let template = template(r.template, y).map_err(|i| issues.push(i)).ok();
            let dating = dating(r.review_dating).map_err(|i| issues.push(i)).ok();
            let due_on = r
                .due_on
                .as_ref()
                .map(|d| CivilDate::from_proto(d).map_err(|e| issues.push(FieldIssue::new("due_on", e))).ok())
                .unwrap_or(None);
            let (Some(template), Some(dating)) = (template, dating) else {
                return Err(refuse(Rejection::Invalid(issues)));
            };
            if !issues.is_empty() {
                return Err(refuse(Rejection::Invalid(issues)));
            }
            let ledger = self.ledger.get().map_err(refuse)?;
            let q = crate::api::rollup::RollupQuery { period, template, dating, due_on };
            let rollup = blocking(move || crate::api::rollup::rollup(&ledger, &group, &q)).await.map_err(refuse)?;
            Ok(Response::new(proto::GetRollupResponse { rollup: Some(rollup) }))
        }
        .instrument(span)
        .await
    }
}
