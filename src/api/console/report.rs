//! The finished annual report of an agency's year: previewed with its
//! text and linked tables as it will be published, and downloaded as
//! DOCX, HTML or XLSX.

use axum::extract::{Query, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;

use crate::api::console::links::linked_tables;
use crate::api::console::session::Session;
use crate::api::console::view::{date, encode};
use crate::api::console::whose::Whose;
use crate::api::console::{Console, page, refused, to_sign_in, view};
use crate::wire::proto;
use maud::{Markup, PreEscaped, html};

#[derive(Deserialize)]
pub(super) struct ReportQuery {
    pub agency: String,
    pub year: i32,
    #[serde(default)]
    pub format: String,
}

/// The finished annual report of an agency's year, from the service.
pub(super) async fn annual_report(
    console: &Console,
    session: &Session,
    q: &ReportQuery,
) -> Result<proto::AnnualReport, tonic::Status> {
    let answer = console
        .reports(session)
        .get_annual_report(proto::GetAnnualReportRequest {
            agency_id: q.agency.clone(),
            year: q.year,
            ..Default::default()
        })
        .await?;
    answer.into_inner().annual_report.ok_or_else(|| tonic::Status::internal("no report in the answer"))
}

pub(super) async fn report(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(q): Query<ReportQuery>,
) -> Response {
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    let annual = match annual_report(&console, &session, &q).await {
        Ok(a) => a,
        Err(status) => return refused(&session, &status),
    };
    let tables = linked_tables(&Whose::Agency(q.agency.clone()), &annual.tables.clone().unwrap_or_default(), None);
    page(
        StatusCode::OK,
        view::page(&annual.title, Some(&session), report_page(&session, &q.agency, q.year, &annual, tables)),
    )
}

/// The report as a file to publish: DOCX, PDF or HTML (the whole report),
/// or XLSX (the tables), as `disclosure-ledger annual-report` writes them.
pub(super) async fn download(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(q): Query<ReportQuery>,
) -> Response {
    use crate::report::publication::{Format, Options, publish};
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    let format = match q.format.as_str() {
        "docx" => Format::Docx,
        "xlsx" => Format::Xlsx,
        "html" => Format::Html,
        "pdf" => Format::Pdf,
        other => {
            return refused(
                &session,
                &tonic::Status::invalid_argument(format!("format: {other:?} is not docx, pdf, xlsx or html")),
            );
        }
    };
    let (kind, extension) = (format.media_type(), format.extension());
    let annual = match annual_report(&console, &session, &q).await {
        Ok(a) => a,
        Err(status) => return refused(&session, &status),
    };
    // Typesetting a PDF reads the fonts and takes a while: off the runtime.
    let made = tokio::task::spawn_blocking(move || publish(&annual, format, &Options::default())).await;
    let bytes = match made {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return refused(&session, &tonic::Status::failed_precondition(e.to_string())),
        Err(e) => return refused(&session, &tonic::Status::internal(e.to_string())),
    };
    let name = format!("{}-{}-年度报告.{extension}", q.agency, q.year);
    let disposition = format!("attachment; filename=\"report.{extension}\"; filename*=UTF-8''{}", view::encode(&name));
    let mut response = page(StatusCode::OK, String::new());
    *response.body_mut() = axum::body::Body::from(bytes);
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if let Ok(d) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    response
}

/// The finished report: its text and tables as the agency will publish
/// them, and the downloads.
fn report_page(session: &Session, agency: &str, year: i32, annual: &proto::AnnualReport, tables: String) -> Markup {
    use crate::report::publication::{paragraphs, sign_off_lines, text_of};
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
            "下载：" a href=(download("docx")) { "DOCX" } " · " a href=(download("pdf")) { "PDF" } " · "
            a href=(download("html")) { "HTML" } " · "
            a href=(download("xlsx")) { "XLSX（统计表）" }
            " · " a href=(format!("/console/report/text?agency={}&year={year}", encode(agency))) { "编辑报告文字" }
        }
        p.meta { "日志位置 " (t.log_position) "；日志摘要 " code { (t.log_digest) } }
        @if !annual.missing_sections.is_empty() {
            p.refusal role="alert" {
                "尚缺以下部分的文字，报告还不能发布："
                @for (i, s) in annual.missing_sections.iter().enumerate() {
                    @if i > 0 { "、" }
                    (crate::domain::codes::ReportSection::from_proto(*s).map_or("?", |s| s.name()))
                }
            }
        }
        @if !annual.publications.is_empty() {
            p.meta {
                "已发布："
                @for (i, p) in annual.publications.iter().enumerate() {
                    @if i > 0 { "；" }
                    a href=(format!("/console/tables?agency={}&year={year}&published={}", encode(agency), p.position)) {
                        (p.label) "（" (date(p.published_on.as_ref())) "，日志位置 " (p.position) "）"
                    }
                }
            }
        }
        form.pick.publish method="post" action="/console/report/publish" {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="agency" value=(agency);
            input type="hidden" name="year" value=(year);
            label { "发布说明" input name="label" value="正式发布" maxlength="100" required; }
            button type="submit" { "记录发布（以当前日志位置为“发布版本”）" }
        }
        article.report {
            h1 { (annual.title) }
            (text(proto::ReportSection::Preamble))
            (text(proto::ReportSection::Overview))
            (PreEscaped(tables))
            (text(proto::ReportSection::Problems))
            (text(proto::ReportSection::Other))
            @let sign_off = sign_off_lines(annual);
            @if !sign_off.is_empty() {
                div.sign-off { @for line in sign_off { p { (line) } } }
            }
        }
    }
}
