//! What changed a cell: the cases counted in it as of an earlier position
//! (say, as published) against those counted now, and for each case that
//! came in or went out, the events recorded after that position — the
//! corrections (amendments, voids) or late-recorded steps behind the
//! change. Cells count cases, so the cases that entered or left explain
//! the difference exactly.

use std::collections::BTreeSet;

use axum::extract::{Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use maud::{Markup, html};
use serde::Deserialize;

use crate::api::console::session::Session;
use crate::api::console::{Console, page, period_of, refused, to_sign_in, view};
use crate::wire::proto;

/// Most cases of one side of a cell the page compares.
const MOST: usize = 5000;

#[derive(Deserialize)]
pub(super) struct ChangesQuery {
    agency: String,
    year: i32,
    /// A cell of 三 …
    #[serde(default)]
    row: Option<String>,
    /// … or of 四.
    #[serde(default)]
    block: Option<usize>,
    column: usize,
    from: u64,
    to: u64,
    /// Another period than the year (as the tables were asked for).
    #[serde(default)]
    period: String,
}

async fn applications_in(
    console: &Console,
    session: &Session,
    q: &ChangesQuery,
    row: &str,
    at: u64,
) -> Result<BTreeSet<String>, tonic::Status> {
    let mut ids = BTreeSet::new();
    let mut token = String::new();
    loop {
        let page = console
            .reports(session)
            .list_cell_applications(proto::ListCellApplicationsRequest {
                period: period_of(&q.period)?,
                agency_id: q.agency.clone(),
                year: q.year,
                row: row.to_owned(),
                column: i32::try_from(q.column).unwrap_or(-1),
                as_of_position: at,
                page_size: 1000,
                page_token: token.clone(),
            })
            .await?
            .into_inner();
        ids.extend(page.applications.into_iter().map(|a| a.application_id));
        if page.next_page_token.is_empty() || ids.len() >= MOST {
            return Ok(ids);
        }
        token = page.next_page_token;
    }
}

async fn review_cases_in(
    console: &Console,
    session: &Session,
    q: &ChangesQuery,
    block: usize,
    at: u64,
) -> Result<BTreeSet<String>, tonic::Status> {
    let mut ids = BTreeSet::new();
    let mut token = String::new();
    loop {
        let page = console
            .reports(session)
            .list_cell_review_cases(proto::ListCellReviewCasesRequest {
                period: period_of(&q.period)?,
                agency_id: q.agency.clone(),
                year: q.year,
                kind: i32::try_from(block).map_or(-1, |b| b + 1),
                column: i32::try_from(q.column).map_or(-1, |c| c + 1),
                review_dating: 0,
                as_of_position: at,
                page_size: 1000,
                page_token: token.clone(),
            })
            .await?
            .into_inner();
        ids.extend(page.review_cases.into_iter().map(|c| c.case_id));
        if page.next_page_token.is_empty() || ids.len() >= MOST {
            return Ok(ids);
        }
        token = page.next_page_token;
    }
}

/// A case that came in or went out, and what was recorded for it after
/// the earlier position (empty for a review case: its events are not an
/// application's history).
struct Moved {
    id: String,
    came_in: bool,
    later: Vec<proto::RecordedEvent>,
}

pub(super) async fn changes(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(q): Query<ChangesQuery>,
) -> Response {
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    let sides = match (&q.row, q.block) {
        (Some(row), _) => {
            let before = applications_in(&console, &session, &q, row, q.from).await;
            let after = applications_in(&console, &session, &q, row, q.to).await;
            before.and_then(|b| after.map(|a| (b, a)))
        }
        (None, Some(block)) => {
            let before = review_cases_in(&console, &session, &q, block, q.from).await;
            let after = review_cases_in(&console, &session, &q, block, q.to).await;
            before.and_then(|b| after.map(|a| (b, a)))
        }
        (None, None) => Err(tonic::Status::invalid_argument("name a cell: row (三) or block (四)")),
    };
    let (before, after) = match sides {
        Ok(s) => s,
        Err(status) => return refused(&session, &status),
    };
    let mut moved: Vec<Moved> = after
        .difference(&before)
        .map(|id| (id, true))
        .chain(before.difference(&after).map(|id| (id, false)))
        .map(|(id, came_in)| Moved { id: id.clone(), came_in, later: Vec::new() })
        .collect();
    if q.row.is_some() {
        for m in &mut moved {
            let got = console
                .ledger(&session)
                .get_application(proto::GetApplicationRequest {
                    agency_id: q.agency.clone(),
                    application_id: m.id.clone(),
                    as_of: None,
                })
                .await;
            if let Ok(got) = got {
                m.later = got.into_inner().history.into_iter().filter(|r| r.position > q.from).collect();
            }
        }
    }
    let title = format!("{} {} 更正", q.agency, q.year);
    page(StatusCode::OK, view::page(&title, Some(&session), changes_page(&q, before.len(), after.len(), &moved)))
}

fn changes_page(q: &ChangesQuery, before: usize, after: usize, moved: &[Moved]) -> Markup {
    use crate::report::template::{COLUMNS, REVIEW_BLOCKS, REVIEW_COLUMNS};
    let cell = match (&q.row, q.block) {
        (Some(row), _) => format!("{} · {}", view::row_label(row), COLUMNS.get(q.column).copied().unwrap_or("")),
        (None, Some(b)) => format!(
            "{} · {}",
            REVIEW_BLOCKS.get(b).copied().unwrap_or(""),
            REVIEW_COLUMNS.get(q.column).copied().unwrap_or("")
        ),
        (None, None) => String::new(),
    };
    html! {
        h1 { (q.agency) " · " (q.year) " 年 · " (cell) }
        p {
            "日志位置 " (q.from) " 时计入 " strong { (before) } " 件，位置 " (q.to) " 时计入 " strong { (after) } " 件。"
            "下列案件在此期间进入或离开了这个单元格"
            @if q.row.is_some() { "，并列出位置 " (q.from) " 之后为它记录的事件（更正、作废或补录）" }
            "。"
        }
        @if moved.is_empty() { p { "没有案件进入或离开这个单元格。" } }
        @for m in moved {
            section.moved {
                h2 {
                    @if m.came_in { "计入：" } @else { "移出：" }
                    @if q.row.is_some() { a href=(view::application_link(&q.agency, &m.id)) { (m.id) } } @else { (m.id) }
                }
                @if !m.later.is_empty() {
                    table.list {
                        thead { tr { th scope="col" { "日志位置" } th scope="col" { "事件" } th scope="col" { "日期" } th scope="col" { "经办人" } th scope="col" { "更正内容" } th scope="col" { "事件编号" } } }
                        tbody {
                            @for r in &m.later {
                                @let e = r.event.clone().unwrap_or_default();
                                tr {
                                    td { (r.position) }
                                    td { (view::event_name(&e)) }
                                    td { (view::date(e.occurred_on.as_ref())) }
                                    td { (e.actor) }
                                    td { (view::correction(&e)) }
                                    td.meta { (e.event_id) }
                                }
                            }
                        }
                    }
                }
            }
        }
        p { a href=(format!("/console/tables?agency={}&year={}&as_of={}&period={}", view::encode(&q.agency), q.year, q.from, view::encode(&q.period))) { "返回统计表" } }
    }
}
