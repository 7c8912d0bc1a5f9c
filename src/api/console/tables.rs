//! The year's tables page: sections 二, 三 and 四 of an agency as the API
//! derives them, now or as of a past position (typed, or a publication
//! picked by its name), every number a link to the cases behind it; as of
//! a past position, the cells later corrections changed are marked and
//! linked to the corrections.

use axum::extract::{Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::api::console::links::linked_tables;
use crate::api::console::report::{ReportQuery, annual_report};
use crate::api::console::session::Session;
use crate::api::console::view::{date, encode, picker};
use crate::api::console::whose::Whose;
use crate::api::console::{Console, number, page, period_of, refused, to_sign_in, view};
use crate::wire::proto;
use maud::{Markup, PreEscaped, html};

#[derive(Deserialize)]
pub(super) struct TablesQuery {
    #[serde(default)]
    agency: String,
    /// A group's consolidated tables (wins over `agency`).
    #[serde(default)]
    group: String,
    year: i32,
    #[serde(default)]
    template: String,
    /// A log position typed in.
    #[serde(default)]
    as_of: Option<String>,
    /// A publication's position, picked by its name (wins over `as_of`).
    #[serde(default)]
    published: Option<String>,
    /// Another period than the year: 2024-Q3, 2024-H1, 2024-07, a range.
    #[serde(default)]
    period: String,
}

/// The times an agency's report for a year was published (none if the
/// report cannot be assembled for this session: the tables say why).
async fn publications(console: &Console, session: &Session, agency: &str, year: i32) -> Vec<proto::Publication> {
    let q = ReportQuery { agency: agency.to_owned(), year, format: String::new() };
    annual_report(console, session, &q).await.map(|a| a.publications).unwrap_or_default()
}

pub(super) async fn tables(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(q): Query<TablesQuery>,
) -> Response {
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    let template = proto::Template::from_str_name(&q.template).unwrap_or(proto::Template::Unspecified);
    let as_of = match number(q.published.as_deref()) {
        0 => number(q.as_of.as_deref()),
        published => published,
    };
    let whose = if q.group.trim().is_empty() {
        Whose::Agency(q.agency.trim().to_owned())
    } else {
        Whose::Group(q.group.trim().to_owned())
    };
    let period = match period_of(&q.period) {
        Ok(p) => p,
        Err(status) => return refused(&session, &status),
    };
    let scope = || Some(whose.scope());
    let mut reports = console.reports(&session);
    // As of a past position: the tables then, and what later corrections
    // changed since (the diff against now).
    let answer = if as_of > 0 {
        reports
            .diff_report(proto::DiffReportRequest {
                period,
                scope: scope(),
                year: q.year,
                template: template as i32,
                review_dating: 0,
                from_position: as_of,
                to_position: 0,
            })
            .await
            .map(|d| {
                let d = d.into_inner();
                (d.from, Some((d.to.map_or(0, |t| t.log_position), d.changes)))
            })
    } else {
        reports
            .get_report(proto::GetReportRequest {
                scope: scope(),
                year: q.year,
                template: template as i32,
                as_of_position: 0,
                review_dating: 0,
                period,
            })
            .await
            .map(|r| (r.into_inner().report, None))
    };
    let (report, changes) = match answer {
        Ok((Some(report), changes)) => (report, changes),
        Ok((None, _)) => return refused(&session, &tonic::Status::internal("no report in the answer")),
        Err(status) => return refused(&session, &status),
    };
    // Publications are an agency's: a group has none of its own.
    let published = match &whose {
        Whose::Agency(agency) => publications(&console, &session, agency, q.year).await,
        Whose::Group(_) => Vec::new(),
    };
    let changed = changes.as_ref().map(|(head, c)| (*head, c.as_slice()));
    let tables = linked_tables(&whose, &report, changed);
    let title = format!("{} {} 年度统计表", whose.name(), report.year);
    let shown = Shown { template: &q.template, period: q.period.trim(), published: &published, changes: changed };
    page(StatusCode::OK, view::page(&title, Some(&session), tables_page(&whose, &report, shown, tables)))
}

/// How the tables page was asked for.
struct Shown<'a> {
    pub template: &'a str,
    /// The period asked for, as typed (empty: the year).
    pub period: &'a str,
    /// The report's publications, to pick one by name.
    pub published: &'a [proto::Publication],
    /// As of a past position: the head compared with, and the cells that
    /// differ there.
    pub changes: Option<(u64, &'a [proto::CellChange])>,
}

/// Sections 二, 三 and 四 of a year, every number of 三 and 四 a link.
fn tables_page(whose: &Whose, report: &proto::Report, shown: Shown<'_>, tables: String) -> Markup {
    let as_of = if shown.changes.is_some() { report.log_position } else { 0 };
    let publication = shown.published.iter().find(|p| p.position == as_of);
    html! {
        h1 { (whose.name()) " · " (report.year) " 年度统计表" }
        (picker(whose.names(), report.year, (shown.template, shown.period), shown.published, as_of))
        @if let Some((head, changes)) = shown.changes {
            p.asof role="status" {
                "以下为日志位置 " (report.log_position) " 时的统计表"
                @if let Some(p) = publication { "（" (p.label) "，" (date(p.published_on.as_ref())) "）" }
                "。与当前（日志位置 " (head) "）相比，"
                @if changes.is_empty() { "此后的更正没有改变任何数字。" }
                @else { "此后的更正改变了 " strong { (changes.len()) } " 个单元格（已标出，点击“现为”查看更正）。" }
            }
        }
        @if let Whose::Agency(agency) = whose {
            nav {
                a href=(format!("/console/report?agency={}&year={}", encode(agency), report.year)) { "年度报告（预览与下载）" }
                " · " a href=(format!("/console/deadlines?agency={}&year={}", encode(agency), report.year)) { "期限看板" }
            }
        } @else {
            p.meta { "成员机关：" (report.agency_ids.join("、")) "。点击数字查看各成员机关在该单元格中的数字。" }
        }
        p.meta {
            "统计期限：" (report.period) "；日志位置 " (report.log_position) "；日志摘要 " code { (report.log_digest) }
        }
        h2 { "校验" }
        ul {
            @for c in &report.checks {
                li {
                    @if c.passed { span.passed { "✓ " } } @else { span.failed { "✗ " } }
                    (check_name(&c.name)) " " span.meta { (c.name) } @if !c.detail.is_empty() { "：" (c.detail) }
                }
            }
        }
        (PreEscaped(tables))
    }
}

/// A check of the tables in words (the template's identities).
fn check_name(name: &str) -> &'static str {
    match name {
        "balance" => "收支平衡：一＋二＝三（七）＋四",
        "leaf_sum" => "各项办理结果之和等于（七）总计",
        "row_sum" => "各列之和等于总计",
        "carried_in_equals_previous_carried_out" => "上年结转等于上一年度的结转下年度",
        "non_negative" => "没有负数",
        "review_totals" => "四：各结果之和等于总计",
        "proactive_totals_not_negative" => "二：没有负数",
        _ => "",
    }
}
