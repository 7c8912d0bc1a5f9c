//! The cases behind a number: the applications counted in a cell of
//! section 三, the review cases in a cell of 四 (both paginated, as of the
//! position the tables reflected), and one application with its full
//! history and how its deadline was computed.

use axum::extract::{Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::api::console::view::{
    applicant, application_link, correction, date, event_name, outcome, row_label, status,
};
use crate::api::console::{Console, day_of, number, page, period_of, refused, to_sign_in, view};
use crate::wire::proto;
use maud::{Markup, html};

#[derive(Deserialize)]
pub(super) struct CellQuery {
    agency: String,
    year: i32,
    row: String,
    column: i32,
    #[serde(default)]
    as_of: Option<String>,
    #[serde(default)]
    page_token: String,
    /// Another period than the year (as the tables were asked for).
    #[serde(default)]
    period: String,
}

pub(super) async fn cells(State(console): State<Console>, headers: HeaderMap, Query(q): Query<CellQuery>) -> Response {
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    let as_of = number(q.as_of.as_deref());
    let period = match period_of(&q.period) {
        Ok(p) => p,
        Err(status) => return refused(&session, &status),
    };
    let answer = console
        .reports(&session)
        .list_cell_applications(proto::ListCellApplicationsRequest {
            period,
            agency_id: q.agency.clone(),
            year: q.year,
            row: q.row.clone(),
            column: q.column,
            as_of_position: as_of,
            page_size: 50,
            page_token: q.page_token.clone(),
        })
        .await;
    let list = match answer {
        Ok(r) => r.into_inner(),
        Err(status) => return refused(&session, &status),
    };
    let next = (!list.next_page_token.is_empty()).then(|| {
        format!(
            "/console/cells?agency={}&year={}&row={}&column={}&as_of={}&page_token={}&period={}",
            view::encode(&q.agency),
            q.year,
            view::encode(&q.row),
            q.column,
            list.log_position,
            view::encode(&list.next_page_token),
            view::encode(&q.period)
        )
    });
    let title = format!("{} {} {}", q.agency, q.year, q.row);
    page(
        StatusCode::OK,
        view::page(
            &title,
            Some(&session),
            cell_page(&q.agency, (q.year, q.period.trim()), &q.row, q.column, &list, next),
        ),
    )
}

#[derive(Deserialize)]
pub(super) struct ReviewCellQuery {
    agency: String,
    year: i32,
    /// 0 行政复议, 1 未经复议直接起诉, 2 复议后起诉.
    block: usize,
    /// 0 结果维持 … 4 总计.
    column: usize,
    #[serde(default)]
    as_of: Option<String>,
    #[serde(default)]
    page_token: String,
    /// Another period than the year (as the tables were asked for).
    #[serde(default)]
    period: String,
}

pub(super) async fn review_cases(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(q): Query<ReviewCellQuery>,
) -> Response {
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    let as_of = number(q.as_of.as_deref());
    let period = match period_of(&q.period) {
        Ok(p) => p,
        Err(status) => return refused(&session, &status),
    };
    // Out-of-range indices become numbers the API refuses by field name.
    let kind = i32::try_from(q.block).map_or(-1, |b| b + 1);
    let column = i32::try_from(q.column).map_or(-1, |c| c + 1);
    let answer = console
        .reports(&session)
        .list_cell_review_cases(proto::ListCellReviewCasesRequest {
            period,
            agency_id: q.agency.clone(),
            year: q.year,
            kind,
            column,
            review_dating: 0,
            as_of_position: as_of,
            page_size: 50,
            page_token: q.page_token.clone(),
        })
        .await;
    let list = match answer {
        Ok(r) => r.into_inner(),
        Err(status) => return refused(&session, &status),
    };
    let next = (!list.next_page_token.is_empty()).then(|| {
        format!(
            "/console/review-cases?agency={}&year={}&block={}&column={}&as_of={}&page_token={}&period={}",
            view::encode(&q.agency),
            q.year,
            q.block,
            q.column,
            list.log_position,
            view::encode(&list.next_page_token),
            view::encode(&q.period)
        )
    });
    let title = format!("{} {} 行政复议、行政诉讼", q.agency, q.year);
    page(
        StatusCode::OK,
        view::page(&title, Some(&session), review_cases_page(&q.agency, q.year, q.block, q.column, &list, next)),
    )
}

#[derive(Deserialize)]
pub(super) struct ApplicationQuery {
    agency: String,
    id: String,
    /// The application as it stood at the end of this day (YYYY-MM-DD;
    /// empty: now).
    #[serde(default)]
    as_of: String,
}

pub(super) async fn application(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(q): Query<ApplicationQuery>,
) -> Response {
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    let as_of = match day_of(&q.as_of) {
        Ok(d) => d,
        Err(status) => return refused(&session, &status),
    };
    let answer = console
        .ledger(&session)
        .get_application(proto::GetApplicationRequest {
            agency_id: q.agency.clone(),
            application_id: q.id.clone(),
            as_of,
        })
        .await;
    match answer {
        Ok(got) => {
            let got = got.into_inner();
            page(StatusCode::OK, view::page(&q.id, Some(&session), application_page(&q.agency, &q.as_of, &got)))
        }
        Err(status) => refused(&session, &status),
    }
}

/// The applications counted in one cell.
fn cell_page(
    agency: &str,
    (year, period): (i32, &str),
    row: &str,
    column: i32,
    page: &proto::ListCellApplicationsResponse,
    next: Option<String>,
) -> Markup {
    let column_name = crate::report::template::COLUMNS.get(column as usize).copied().unwrap_or("总计");
    html! {
        @if period.is_empty() {
            h1 { (agency) " · " (year) " 年 · " (row_label(row)) " · " (column_name) }
        } @else {
            // A period's rows say 本期, 上期 and 下期.
            h1 { (agency) " · " (period) " · " (row_label(row).replace("本年", "本期").replace("上年", "上期").replace("下年度", "下期")) " · " (column_name) }
        }
        p.meta { "日志位置 " (page.log_position) "；本页 " (page.applications.len()) " 件" }
        table.list {
            thead { tr {
                th scope="col" { "申请编号" } th scope="col" { "收到日期" } th scope="col" { "办结日期" } th scope="col" { "申请人" }
                th scope="col" { "处理结果" } th scope="col" { "状态" } th scope="col" { "期限" }
            } }
            tbody {
                @for (i, a) in page.applications.iter().enumerate() {
                    @let d = page.deadlines.get(i).cloned().unwrap_or_default();
                    tr {
                        td { a href=(application_link(agency, &a.application_id)) { (a.application_id) } }
                        td { (date(a.received_on.as_ref())) }
                        td { (date(a.concluded_on.as_ref())) }
                        td { (applicant(a)) }
                        td { (outcome(a)) }
                        td { (status(a)) }
                        td {
                            @if !d.calendar_error.is_empty() { "日历未覆盖" }
                            @else {
                                (standing(d.standing()))
                                @if matches!(d.standing(), proto::DeadlineStanding::OnTime | proto::DeadlineStanding::DueSoon | proto::DeadlineStanding::Overdue) {
                                    "（" (remaining(&d)) "）"
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next { nav { a href=(next) { "下一页" } } }
    }
}

/// The review cases counted in one cell of section 四.
fn review_cases_page(
    agency: &str,
    year: i32,
    block: usize,
    column: usize,
    page: &proto::ListCellReviewCasesResponse,
    next: Option<String>,
) -> Markup {
    use crate::report::template::{REVIEW_BLOCKS, REVIEW_COLUMNS};
    let block_name = REVIEW_BLOCKS.get(block).copied().unwrap_or("");
    let column_name = REVIEW_COLUMNS.get(column).copied().unwrap_or("");
    html! {
        h1 { (agency) " · " (year) " 年 · " (block_name) " · " (column_name) }
        p.meta { "日志位置 " (page.log_position) "；本页 " (page.review_cases.len()) " 件" }
        table.list {
            thead { tr { th scope="col" { "案件编号" } th scope="col" { "类别" } th scope="col" { "立案日期" } th scope="col" { "审结日期" } th scope="col" { "结果" } th scope="col" { "所涉申请" } } }
            tbody {
                @for c in &page.review_cases {
                    tr {
                        td { (c.case_id) }
                        td { (REVIEW_BLOCKS.get((c.kind - 1).max(0) as usize).copied().unwrap_or("")) }
                        td { (date(c.filed_on.as_ref())) }
                        td { (date(c.decided_on.as_ref())) }
                        td { (review_result(c.result)) }
                        td {
                            @if !c.application_id.is_empty() {
                                a href=(application_link(agency, &c.application_id)) { (c.application_id) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next { nav { a href=(next) { "下一页" } } }
    }
}

fn review_result(result: i32) -> &'static str {
    match proto::ReviewResult::try_from(result) {
        Ok(proto::ReviewResult::Upheld) => "结果维持",
        Ok(proto::ReviewResult::Corrected) => "结果纠正",
        Ok(proto::ReviewResult::Other) => "其他结果",
        _ => "尚未审结",
    }
}

/// One application: its state and its full history.
fn application_page(agency: &str, as_of: &str, got: &proto::GetApplicationResponse) -> Markup {
    let a = got.application.clone().unwrap_or_default();
    html! {
        h1 { (agency) " · " (a.application_id) }
        form.pick method="get" action="/console/application" {
            input type="hidden" name="agency" value=(agency);
            input type="hidden" name="id" value=(a.application_id);
            label { "截至日期（空：现在）" input name="as_of" type="date" value=(as_of.trim()); }
            button type="submit" { "查看当日状态" }
        }
        @if !as_of.trim().is_empty() {
            p.asof role="status" { (as_of.trim()) " 当日结束时的状态与期限（此后日期的事件不计，更正按现在所知）；历史为全部事件。" }
        }
        table.list {
            tr { th scope="row" { "状态" } td { (status(&a)) } }
            tr { th scope="row" { "申请人" } td { (applicant(&a)) } }
            tr { th scope="row" { "收到日期" } td { (date(a.received_on.as_ref())) } }
            tr { th scope="row" { "办结日期" } td { (date(a.concluded_on.as_ref())) } }
            @if a.outcome != 0 { tr { th scope="row" { "处理结果" } td { (outcome(&a)) } } }
        }
        @if let Some(d) = &got.deadline { (deadline(d)) }
        h2 { "历史（" (got.history.len()) " 个事件）" }
        table.list {
            thead { tr { th scope="col" { "日志位置" } th scope="col" { "日期" } th scope="col" { "事件" } th scope="col" { "经办人" } th scope="col" { "记录时间" } th scope="col" { "事件编号" } } }
            tbody {
                @for r in &got.history {
                    @let e = r.event.clone().unwrap_or_default();
                    tr {
                        td { (r.position) }
                        td { (date(e.occurred_on.as_ref())) }
                        td {
                            (event_name(&e))
                            @let corrects = correction(&e);
                            @if !corrects.is_empty() { br; span.meta { (corrects) } }
                        }
                        td { (e.actor) }
                        td { (r.recorded_at.as_ref().map(|t| chrono::DateTime::from_timestamp(t.seconds, 0).map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_default()).unwrap_or_default()) }
                        td.meta { (e.event_id) }
                    }
                }
            }
        }
    }
}

/// How an application's answer deadline was computed (Art.30-33 of the
/// Regulations, on the working-day calendar).
fn deadline(d: &proto::Deadline) -> Markup {
    html! {
        h2 { "答复期限" }
        @if !d.calendar_error.is_empty() {
            p.refusal { "无法计算：" (d.calendar_error) }
        } @else {
            table.list.deadline {
                tr { th scope="row" { "期限状态" } td { (standing(d.standing())) } }
                tr { th scope="row" { "起算日" } td { (date(d.clock_starts.as_ref())) "（收到申请之日，补正后为收到补正之日）" } }
                tr { th scope="row" { "法定期限" } td { "20 个工作日" } }
                tr { th scope="row" { "征求意见扣除" } td { (d.paused_working_days) " 个工作日" } }
                tr { th scope="row" { "延期" } td { (d.extension_working_days) " 个工作日" } }
                tr { th scope="row" { "答复截止日" } td { @if d.due.is_some() { (date(d.due.as_ref())) } @else { "补正期间不计算" } } }
                @if d.due.is_some() {
                    tr { th scope="row" { "剩余工作日" } td { (remaining(d)) } }
                }
                @if d.supplement_request_by.is_some() {
                    tr { th scope="row" { "补正告知期限" } td {
                        (date(d.supplement_request_by.as_ref())) "（7 个工作日内）"
                        @if d.supplement_request_late { span.failed { " 补正告知晚于此日" } }
                    } }
                }
            }
        }
    }
}

/// Working days left, or how far past due, in words.
pub fn remaining(d: &proto::Deadline) -> String {
    match d.standing() {
        proto::DeadlineStanding::AnsweredOnTime | proto::DeadlineStanding::AnsweredLate => String::from("已答复"),
        _ if d.remaining_working_days < 0 => format!("已超期 {} 个工作日", -d.remaining_working_days),
        _ if d.remaining_working_days == 0 => String::from("今日到期"),
        _ => format!("{} 个工作日", d.remaining_working_days),
    }
}

/// A deadline standing in words.
pub fn standing(s: proto::DeadlineStanding) -> &'static str {
    use proto::DeadlineStanding as S;
    match s {
        S::AwaitingSupplement => "等待补正",
        S::Paused => "征求意见中（暂停计算）",
        S::OnTime => "期限内",
        S::DueSoon => "即将到期",
        S::Overdue => "已超期",
        S::AnsweredOnTime => "按期答复",
        S::AnsweredLate => "逾期答复",
        S::Unspecified => "",
    }
}
