//! The deadlines board: an agency's open applications by urgency (overdue
//! first, then due soon, paused, awaiting a supplement), with counts, and
//! how promptly a year's applications were answered, as charts.

use axum::extract::{Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::api::console::cases::remaining;
use crate::api::console::view::{applicant, application_link, date};
use crate::api::console::{Console, day_of, page, refused, to_sign_in, view};
use crate::wire::proto;
use maud::{Markup, html};

#[derive(Deserialize)]
pub(super) struct DeadlinesQuery {
    agency: String,
    /// The year whose answers the charts show (default: this year).
    #[serde(default)]
    year: Option<i32>,
    /// The board as it stood at the end of this day (YYYY-MM-DD; empty:
    /// today in China Standard Time).
    #[serde(default)]
    as_of: String,
}

/// The most open applications the board lists; past it, it says so.
const BOARD_LIMIT: usize = 5000;

/// The deadlines board: an agency's open applications by urgency, and how
/// promptly a year's applications were answered.
pub(super) async fn deadlines(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(q): Query<DeadlinesQuery>,
) -> Response {
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    let day = match day_of(&q.as_of) {
        Ok(d) => d,
        Err(status) => return refused(&session, &status),
    };
    let mut client = console.deadlines(&session);
    let mut entries = Vec::new();
    let mut page_token = String::new();
    let mut as_of = None;
    loop {
        let answer = client
            .list_deadlines(proto::ListDeadlinesRequest {
                agency_id: q.agency.clone(),
                as_of: day,
                page_size: 1000,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await;
        let list = match answer {
            Ok(r) => r.into_inner(),
            Err(status) => return refused(&session, &status),
        };
        entries.extend(list.entries);
        as_of = as_of.or(list.as_of);
        if list.next_page_token.is_empty() || entries.len() >= BOARD_LIMIT {
            let more = !list.next_page_token.is_empty();
            page_token = if more { list.next_page_token } else { String::new() };
            break;
        }
        page_token = list.next_page_token;
    }
    let year = q.year.unwrap_or_else(|| as_of.as_ref().map_or(0, |d| d.year));
    let timeliness =
        match client.get_timeliness(proto::GetTimelinessRequest { agency_id: q.agency.clone(), year }).await {
            Ok(r) => r.into_inner(),
            Err(status) => return refused(&session, &status),
        };
    let truncated = !page_token.is_empty();
    let board = Board { agency: &q.agency, as_of: as_of.as_ref(), entries, truncated, timeliness: &timeliness };
    let title = format!("{} 期限看板", q.agency);
    page(StatusCode::OK, view::page(&title, Some(&session), board_page(board)))
}

/// What the deadlines board shows.
struct Board<'a> {
    pub agency: &'a str,
    pub as_of: Option<&'a proto::google::r#type::Date>,
    pub entries: Vec<proto::ApplicationDeadline>,
    /// More open applications than the board lists.
    pub truncated: bool,
    pub timeliness: &'a proto::GetTimelinessResponse,
}

/// The board's groups, most urgent first.
const URGENCY: [(proto::DeadlineStanding, &str); 5] = [
    (proto::DeadlineStanding::Overdue, "已超期"),
    (proto::DeadlineStanding::DueSoon, "即将到期"),
    (proto::DeadlineStanding::Paused, "征求意见中（暂停计算）"),
    (proto::DeadlineStanding::AwaitingSupplement, "等待补正"),
    (proto::DeadlineStanding::OnTime, "期限内"),
];

/// Open applications by urgency, with counts, and the year's timeliness
/// as charts with their numbers.
fn board_page(mut board: Board<'_>) -> Markup {
    // Within a group the least time left first, then the earliest due.
    board.entries.sort_by_key(|e| {
        let d = e.deadline.clone().unwrap_or_default();
        (d.remaining_working_days, date(d.due.as_ref()), e.application.as_ref().map(|a| a.application_id.clone()))
    });
    let standing_of = |e: &proto::ApplicationDeadline| e.deadline.as_ref().map(|d| d.standing());
    let unknown: Vec<&proto::ApplicationDeadline> =
        board.entries.iter().filter(|e| e.deadline.as_ref().is_none_or(|d| !d.calendar_error.is_empty())).collect();
    let t = board.timeliness;
    html! {
        h1 { (board.agency) " · 期限看板" }
        form.pick method="get" action="/console/deadlines" {
            input type="hidden" name="agency" value=(board.agency);
            label { "截至日期（空：今天）" input name="as_of" type="date" value=(date(board.as_of)); }
            button type="submit" { "查看" }
        }
        p.meta {
            "截至 " (date(board.as_of)) "（中国标准时间）；办理中的申请 " (board.entries.len()) " 件"
            @if board.truncated { "（仅列出前 " (board.entries.len()) " 件）" }
        }
        table.counts {
            caption { "按紧急程度" }
            thead { tr { @for (_, name) in URGENCY { th scope="col" { (name) } } th scope="col" { "日历未覆盖" } } }
            tbody { tr {
                @for (s, _) in URGENCY { td.num { (board.entries.iter().filter(|e| standing_of(e) == Some(s) && !unknown.iter().any(|u| std::ptr::eq(*u, *e))).count()) } }
                td.num { (unknown.len()) }
            } }
        }
        @for (s, name) in URGENCY {
            @let group: Vec<_> = board.entries.iter().filter(|e| standing_of(e) == Some(s) && e.deadline.as_ref().is_some_and(|d| d.calendar_error.is_empty())).collect();
            @if !group.is_empty() {
                h2 id=(format!("standing-{}", s as i32)) { (name) "（" (group.len()) " 件）" }
                (deadline_rows(board.agency, &group))
            }
        }
        @if !unknown.is_empty() {
            h2 { "日历未覆盖（" (unknown.len()) " 件）" }
            p.meta { "这些申请的日期超出已载入的工作日历：请载入该年度的放假安排，期限从不猜测。" }
            (deadline_rows(board.agency, &unknown))
        }
        h2 { (t.year) " 年答复及时情况" }
        p {
            "已答复 " (t.answered) " 件：按期 " span.passed { (t.answered_on_time) } " 件，逾期 " span.failed { (t.answered_late) } " 件"
            @if t.without_deadline > 0 { "；日历未覆盖 " (t.without_deadline) " 件" }
            "。用时中位数 " (t.median_working_days) " 个工作日，90% 的答复在 " (t.p90_working_days) " 个工作日内。"
        }
        figure {
            (super::chart::months(&t.months))
            figcaption { "按月：按期与逾期答复" }
        }
        table.counts {
            caption { "按月答复件数" }
            thead { tr { th scope="col" { "" } @for m in &t.months { th scope="col" { (m.month) "月" } } } }
            tbody {
                tr { th scope="row" { "按期" } @for m in &t.months { td.num { (m.on_time) } } }
                tr { th scope="row" { "逾期" } @for m in &t.months { td.num { (m.late) } } }
            }
        }
        figure {
            (super::chart::working_days(&t.working_days))
            figcaption { "答复所用工作日的分布（虚线：法定 20 个工作日）" }
        }
    }
}

fn deadline_rows(agency: &str, entries: &[&proto::ApplicationDeadline]) -> Markup {
    html! {
        table.list {
            thead { tr {
                th scope="col" { "申请编号" } th scope="col" { "收到日期" } th scope="col" { "起算日" }
                th scope="col" { "答复截止日" } th scope="col" { "剩余" } th scope="col" { "申请人" }
            } }
            tbody {
                @for e in entries {
                    @let a = e.application.clone().unwrap_or_default();
                    @let d = e.deadline.clone().unwrap_or_default();
                    tr {
                        td { a href=(application_link(agency, &a.application_id)) { (a.application_id) } }
                        td { (date(a.received_on.as_ref())) }
                        td { (date(d.clock_starts.as_ref())) }
                        td { (date(d.due.as_ref())) }
                        td { @if d.calendar_error.is_empty() { (remaining(&d)) } @else { (d.calendar_error) } }
                        td { (applicant(&a)) }
                    }
                }
            }
        }
    }
}
