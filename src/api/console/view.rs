//! The console's pages, as HTML: one layout (header, who is signed in,
//! sign out), the style sheet, and a page per view. maud escapes every
//! value it interpolates (ids are user input); the official tables come
//! from the report's own renderer, which escapes its labels.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::api::console::session::Session;
use crate::wire::proto;

/// The style sheet (`/console/style.css`): system fonts only (offline
/// networks), readable at 1366×768, the tables printable on A4.
pub const STYLE: &str = r#"
:root { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; font-size: 15px; color: #1a1a1a; }
body { margin: 0; }
header { display: flex; gap: 1.5em; align-items: center; padding: 0.6em 1.2em; background: #8b1a1a; color: #fff; }
header a, header button { color: #fff; }
header .who { margin-left: auto; }
header form { display: inline; }
header button { background: none; border: 1px solid #fff; padding: 0.2em 0.8em; cursor: pointer; }
main { padding: 1em 1.5em; max-width: 1300px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.4em; }
table { border-collapse: collapse; width: 100%; margin: 0.6em 0; }
th, td { border: 1px solid #555; padding: 3px 5px; text-align: center; vertical-align: middle; }
td.label { text-align: left; }
td.num a { display: block; text-decoration: none; color: #0a3d91; }
td.num a:hover, td.num a:focus { background: #fde9a8; outline: 2px solid #0a3d91; }
table.list td, table.list th { text-align: left; }
.meta { color: #444; font-size: 0.9em; word-break: break-all; }
.failed { color: #a00; font-weight: bold; } .passed { color: #176117; }
article.report { max-width: 60em; } p.text { text-indent: 2em; line-height: 1.8; }
nav.downloads { margin: 0.5em 0; }
.refusal { border-left: 4px solid #a00; padding: 0.5em 1em; background: #fbeaea; }
form.pick { display: flex; gap: 1em; align-items: end; flex-wrap: wrap; }
label { display: flex; flex-direction: column; font-size: 0.9em; gap: 0.2em; }
input, select, button { font: inherit; padding: 0.25em 0.5em; }
@media print { header, form.pick, nav { display: none; } main { padding: 0; } td.num a { color: #000; } }
"#;

/// A whole page.
pub fn page(title: &str, session: Option<&Session>, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 政府信息公开台账" }
                link rel="stylesheet" href="/console/style.css";
            }
            body {
                header {
                    a href="/console/" { strong { "政府信息公开台账" } }
                    @if let Some(s) = session {
                        span.who { "已登录：" (s.who) }
                        form method="post" action="/console/sign-out" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { "退出" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
    .into_string()
}

pub fn sign_in(problem: Option<&str>) -> Markup {
    html! {
        h1 { "登录" }
        @if let Some(p) = problem { p.refusal role="alert" { (p) } }
        form method="post" action="/console/sign-in" {
            label { "访问令牌（token）" input type="password" name="token" autocomplete="off" autofocus; }
            p { button type="submit" { "登录" } }
        }
        p.meta { "令牌只保存在服务器端的会话中，不会出现在网址或页面里。" }
    }
}

/// The picker of an agency's year (the home page).
pub fn home() -> Markup {
    html! {
        h1 { "年度报告统计表" }
        (picker("", 0, ""))
    }
}

fn picker(agency: &str, year: i32, template: &str) -> Markup {
    let year = if year == 0 { chrono::Datelike::year(&chrono::Utc::now()) - 1 } else { year };
    html! {
        form.pick method="get" action="/console/tables" {
            label { "机关（agency id）" input name="agency" value=(agency) required; }
            label { "年度" input name="year" type="number" min="2008" max="2100" value=(year) required; }
            label { "模板" select name="template" {
                option value="" selected[template.is_empty()] { "按年度" }
                option value="TEMPLATE_2019" selected[template == "TEMPLATE_2019"] { "2019 版" }
                option value="TEMPLATE_2021" selected[template == "TEMPLATE_2021"] { "2021 版" }
            } }
            label { "截至日志位置（空：最新）" input name="as_of" type="number" min="1"; }
            button type="submit" { "查看" }
        }
    }
}

/// A refusal, as the API gave it: the same words for an agency outside
/// the token's scope as for one that does not exist.
pub fn refusal(status: &tonic::Status) -> Markup {
    html! {
        h1 { "无法显示" }
        p.refusal role="alert" { (format!("{:?}", status.code())) "：" (status.message()) }
        p { a href="/console/" { "返回" } }
    }
}

/// Sections 二, 三 and 四 of a year, every number of 三 a link.
pub fn tables(agency: &str, template: &str, report: &proto::Report, tables: String) -> Markup {
    html! {
        h1 { (agency) " · " (report.year) " 年度统计表" }
        (picker(agency, report.year, template))
        nav { a href=(format!("/console/report?agency={}&year={}", encode(agency), report.year)) { "年度报告（预览与下载）" } }
        p.meta {
            "统计期限：" (report.period) "；日志位置 " (report.log_position) "；日志摘要 " code { (report.log_digest) }
        }
        h2 { "校验" }
        ul {
            @for c in &report.checks {
                li {
                    @if c.passed { span.passed { "✓ " } } @else { span.failed { "✗ " } }
                    (c.name) @if !c.detail.is_empty() { "：" (c.detail) }
                }
            }
        }
        (PreEscaped(tables))
    }
}

/// The finished report: its text and tables as the agency will publish
/// them, and the downloads.
pub fn report(agency: &str, year: i32, annual: &proto::AnnualReport, tables: String) -> Markup {
    use crate::report::publication::{paragraphs, period_statement, text_of};
    let t = annual.tables.clone().unwrap_or_default();
    let download =
        |format: &str| format!("/console/report/download?agency={}&year={year}&format={format}", encode(agency));
    let text = |section: proto::ReportSection| {
        html! {
            @if let Some(t) = text_of(annual, section) {
                @if !t.heading.is_empty() { h2 { (t.heading) } }
                @for p in paragraphs(&t.text) { p.text { (p) } }
            }
        }
    };
    html! {
        nav.downloads {
            "下载：" a href=(download("docx")) { "DOCX" } " · " a href=(download("html")) { "HTML" } " · "
            a href=(download("xlsx")) { "XLSX（统计表）" }
        }
        p.meta { "日志位置 " (t.log_position) "；日志摘要 " code { (t.log_digest) } }
        article.report {
            h1 { (annual.title) }
            (text(proto::ReportSection::Preamble))
            p.text { (period_statement(&t)) }
            (text(proto::ReportSection::Overview))
            (PreEscaped(tables))
            (text(proto::ReportSection::Problems))
            (text(proto::ReportSection::Other))
        }
    }
}

/// The applications counted in one cell.
pub fn cell(
    agency: &str,
    year: i32,
    row: &str,
    column: i32,
    page: &proto::ListCellApplicationsResponse,
    next: Option<String>,
) -> Markup {
    let column_name = crate::report::template::COLUMNS.get(column as usize).copied().unwrap_or("总计");
    html! {
        h1 { (agency) " · " (year) " 年 · " (row_label(row)) " · " (column_name) }
        p.meta { "日志位置 " (page.log_position) "；本页 " (page.applications.len()) " 件" }
        table.list {
            thead { tr { th scope="col" { "申请编号" } th scope="col" { "收到日期" } th scope="col" { "办结日期" } th scope="col" { "申请人" } th scope="col" { "处理结果" } th scope="col" { "状态" } } }
            tbody {
                @for a in &page.applications {
                    tr {
                        td { a href=(application_link(agency, &a.application_id)) { (a.application_id) } }
                        td { (date(a.received_on.as_ref())) }
                        td { (date(a.concluded_on.as_ref())) }
                        td { (applicant(a)) }
                        td { (outcome(a)) }
                        td { (status(a)) }
                    }
                }
            }
        }
        @if let Some(next) = next { nav { a href=(next) { "下一页" } } }
    }
}

/// One application: its state and its full history.
pub fn application(agency: &str, got: &proto::GetApplicationResponse) -> Markup {
    let a = got.application.clone().unwrap_or_default();
    html! {
        h1 { (agency) " · " (a.application_id) }
        table.list {
            tr { th scope="row" { "状态" } td { (status(&a)) } }
            tr { th scope="row" { "申请人" } td { (applicant(&a)) } }
            tr { th scope="row" { "收到日期" } td { (date(a.received_on.as_ref())) } }
            tr { th scope="row" { "办结日期" } td { (date(a.concluded_on.as_ref())) } }
            @if a.outcome != 0 { tr { th scope="row" { "处理结果" } td { (outcome(&a)) } } }
        }
        h2 { "历史（" (got.history.len()) " 个事件）" }
        table.list {
            thead { tr { th scope="col" { "日志位置" } th scope="col" { "日期" } th scope="col" { "事件" } th scope="col" { "经办人" } th scope="col" { "记录时间" } th scope="col" { "事件编号" } } }
            tbody {
                @for r in &got.history {
                    @let e = r.event.clone().unwrap_or_default();
                    tr {
                        td { (r.position) }
                        td { (date(e.occurred_on.as_ref())) }
                        td { (crate::wire::event::kind(&e)) }
                        td { (e.actor) }
                        td { (r.recorded_at.as_ref().map(|t| chrono::DateTime::from_timestamp(t.seconds, 0).map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_default()).unwrap_or_default()) }
                        td.meta { (e.event_id) }
                    }
                }
            }
        }
    }
}

/// The address of an application's page.
pub fn application_link(agency: &str, id: &str) -> String {
    format!("/console/application?agency={}&id={}", encode(agency), encode(id))
}

/// A value for a query string.
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A row of section 三 by its code, as the 2021 template words it.
fn row_label(code: &str) -> String {
    use crate::report::template::Template;
    Template::V2021
        .rows()
        .into_iter()
        .chain(Template::V2019.rows())
        .find(|r| r.row.code() == code)
        .map_or_else(|| code.to_owned(), |r| format!("{}{}", r.group.unwrap_or(""), r.label))
}

/// The applicant column an application counts in.
fn applicant(a: &proto::Application) -> &'static str {
    crate::domain::codes::ApplicantCategory::from_proto(a.applicant_category)
        .map_or("", |c| crate::report::template::COLUMNS[c.column()])
}

/// The row of 三 an application's outcome counts in, or nothing if open.
fn outcome(a: &proto::Application) -> String {
    use crate::report::template::{Row, Template};
    let Ok(outcome) = crate::domain::codes::Outcome::from_proto(a.outcome) else { return String::new() };
    Template::V2021
        .rows()
        .into_iter()
        .find(|r| matches!(r.row, Row::Outcome(o) if o == outcome))
        .map_or_else(String::new, |r| format!("{}{}", r.group.unwrap_or(""), r.label))
}

fn status(a: &proto::Application) -> &'static str {
    match a.status() {
        proto::ApplicationStatus::Open => "办理中",
        proto::ApplicationStatus::Concluded => "已办结",
        proto::ApplicationStatus::Split => "已拆分",
        proto::ApplicationStatus::Voided => "已作废",
        proto::ApplicationStatus::Unspecified => "",
    }
}

fn date(d: Option<&proto::google::r#type::Date>) -> String {
    d.map_or(String::new(), |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
}
