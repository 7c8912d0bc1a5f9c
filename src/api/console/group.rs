//! A cell of a group's consolidated tables, member by member: each member
//! agency's number in the cell at the same log position (they sum to the
//! group's), each a link to that member's cases; compared with a later
//! position, the members whose number changed, each linked to its
//! corrections. A member outside the token's scope is refused as the API
//! refuses it.

use axum::extract::{Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use maud::{Markup, html};
use serde::Deserialize;

use crate::api::console::links::cell_params;
use crate::api::console::session::Session;
use crate::api::console::view::{encode, row_label};
use crate::api::console::{Console, page, period_of, refused, to_sign_in, view};
use crate::report::render::CellRef;
use crate::wire::proto;

#[derive(Deserialize)]
pub(super) struct GroupCellQuery {
    group: String,
    year: i32,
    /// A cell of 三 …
    #[serde(default)]
    row: Option<String>,
    /// … or of 四.
    #[serde(default)]
    block: Option<usize>,
    column: usize,
    /// The group's tables were shown as of this position …
    #[serde(default)]
    as_of: Option<u64>,
    /// … or as of `from`, compared with `to`.
    #[serde(default)]
    from: Option<u64>,
    #[serde(default)]
    to: Option<u64>,
    /// Another period than the year (as the tables were asked for).
    #[serde(default)]
    period: String,
}

/// A cell's number in a report.
fn value_of(report: &proto::Report, cell: CellRef<'_>) -> i64 {
    match cell {
        CellRef::Application { row, column } => report
            .application_rows
            .iter()
            .find(|r| r.code == row)
            .and_then(|r| r.values.get(column).copied())
            .unwrap_or(0),
        CellRef::Review { block, column } => report
            .review_blocks
            .get(block)
            .map_or(0, |b| [b.upheld, b.corrected, b.other, b.pending, b.total].get(column).copied().unwrap_or(0)),
    }
}

async fn member_report(
    console: &Console,
    session: &Session,
    member: &Member,
    (year, period): (i32, &str),
    at: u64,
) -> Result<proto::Report, tonic::Status> {
    use proto::report_scope::Scope;
    let scope = if member.is_group { Scope::GroupId(member.id.clone()) } else { Scope::AgencyId(member.id.clone()) };
    let scope = proto::ReportScope { scope: Some(scope) };
    let period = period_of(period)?;
    console
        .reports(session)
        .get_report(proto::GetReportRequest {
            scope: Some(scope),
            year,
            as_of_position: at,
            period,
            ..Default::default()
        })
        .await?
        .into_inner()
        .report
        .ok_or_else(|| tonic::Status::internal("no report in the answer"))
}

/// One member (an agency, or a member group) and its number in the cell,
/// and (compared) what it is later.
struct Member {
    id: String,
    is_group: bool,
    value: i64,
    later: Option<i64>,
}

pub(super) async fn group_cell(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(q): Query<GroupCellQuery>,
) -> Response {
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    let cell = match (&q.row, q.block) {
        (Some(row), _) => CellRef::Application { row, column: q.column },
        (None, Some(block)) => CellRef::Review { block, column: q.column },
        (None, None) => {
            return refused(&session, &tonic::Status::invalid_argument("name a cell: row (三) or block (四)"));
        }
    };
    let group = match console.reports(&session).get_group(proto::GetGroupRequest { group_id: q.group.clone() }).await {
        Ok(g) => g.into_inner().group.unwrap_or_default(),
        Err(status) => return refused(&session, &status),
    };
    let at = q.from.or(q.as_of).unwrap_or(0);
    let mut members = Vec::new();
    let listed = group.agency_ids.iter().map(|a| (a, false)).chain(group.member_group_ids.iter().map(|g| (g, true)));
    for (id, is_group) in listed {
        let mut m = Member { id: id.clone(), is_group, value: 0, later: None };
        m.value = match member_report(&console, &session, &m, (q.year, &q.period), at).await {
            Ok(r) => value_of(&r, cell),
            Err(status) => return refused(&session, &status),
        };
        m.later = match q.to {
            Some(to) => match member_report(&console, &session, &m, (q.year, &q.period), to).await {
                Ok(r) => Some(value_of(&r, cell)),
                Err(status) => return refused(&session, &status),
            },
            None => None,
        };
        members.push(m);
    }
    let title = format!("{} {} 成员机关", group.group_id, q.year);
    page(StatusCode::OK, view::page(&title, Some(&session), members_page(&q, cell, at, &members)))
}

fn members_page(q: &GroupCellQuery, cell: CellRef<'_>, at: u64, members: &[Member]) -> Markup {
    use crate::report::template::{COLUMNS, REVIEW_BLOCKS, REVIEW_COLUMNS};
    let name = match cell {
        CellRef::Application { row, column } => format!("{} · {}", row_label(row), COLUMNS.get(column).unwrap_or(&"")),
        CellRef::Review { block, column } => {
            format!("{} · {}", REVIEW_BLOCKS.get(block).unwrap_or(&""), REVIEW_COLUMNS.get(column).unwrap_or(&""))
        }
    };
    let cases = |m: &Member| {
        if m.is_group {
            // A member group's number opens its own members.
            return format!(
                "/console/group-cell?group={}&year={}&{}&as_of={at}&period={}",
                encode(&m.id),
                q.year,
                cell_params(cell),
                encode(&q.period)
            );
        }
        let agency = m.id.as_str();
        let page = if matches!(cell, CellRef::Application { .. }) { "cells" } else { "review-cases" };
        format!(
            "/console/{page}?agency={}&year={}&{}&as_of={at}&period={}",
            encode(agency),
            q.year,
            cell_params(cell),
            encode(&q.period)
        )
    };
    let changes = |agency: &str, to: u64| {
        format!(
            "/console/changes?agency={}&year={}&{}&from={at}&to={to}&period={}",
            encode(agency),
            q.year,
            cell_params(cell),
            encode(&q.period)
        )
    };
    let total: i64 = members.iter().map(|m| m.value).sum();
    html! {
        h1 { (q.group) " · " (q.year) " 年 · " (name) }
        p.meta { "各成员机关在日志位置 " (at) " 时的数字，合计即机关组合并表中的数字。" }
        table.list {
            thead { tr {
                th scope="col" { "成员机关" } th scope="col" { "数字" }
                @if let Some(to) = q.to { th scope="col" { "位置 " (to) " 时" } }
            } }
            tbody {
                @for m in members {
                    tr {
                        th scope="row" { (m.id) @if m.is_group { " （下级机关组）" } }
                        td.num { a href=(cases(m)) { (m.value) } }
                        @if let (Some(to), Some(later)) = (q.to, m.later) {
                            @if later != m.value && !m.is_group {
                                td.num.changed { a href=(changes(&m.id, to)) { "现为 " (later) } }
                            } @else if later != m.value {
                                td.num.changed { "现为 " (later) }
                            } @else { td.num { (later) } }
                        }
                    }
                }
            }
            tfoot { tr {
                th scope="row" { "合计" } td.num { (total) }
                @if q.to.is_some() { td.num { (members.iter().filter_map(|m| m.later).sum::<i64>()) } }
            } }
        }
        p { a href=(format!("/console/tables?group={}&year={}&as_of={at}&period={}", encode(&q.group), q.year, encode(&q.period))) { "返回合并表" } }
    }
}
