//! The agency's own parts of its annual report (writers): its text, each
//! section as recorded, with the placeholders it may use and their values
//! in this year's tables; and its publication. Saving records a
//! `report_text_set` event through the API, which refuses an unknown
//! placeholder by field and reason; the page then shows the refusal above
//! the text as it was typed, so nothing typed is lost. Publishing records
//! a `report_published` event: the tables "as published" are the tables as
//! of its position.

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse as _, Redirect, Response};
use http::{HeaderMap, StatusCode};
use maud::{Markup, html};
use serde::Deserialize;

use crate::api::console::report::{ReportQuery, annual_report};
use crate::api::console::session::Session;
use crate::api::console::{Console, admin::guarded, page, refused, to_sign_in, view};
use crate::wire::proto;

/// The sections an agency writes, in report order, with their names.
const SECTIONS: [(proto::ReportSection, &str); 6] = [
    (proto::ReportSection::AgencyName, "机关名称（标题）"),
    (proto::ReportSection::Preamble, "开头段落"),
    (proto::ReportSection::Overview, "一、总体情况"),
    (proto::ReportSection::Problems, "五、存在的主要问题及改进情况"),
    (proto::ReportSection::Other, "六、其他需要报告的事项"),
    (proto::ReportSection::SignOff, "落款（机关名称和日期，每项一行）"),
];

pub(super) async fn edit(State(console): State<Console>, headers: HeaderMap, Query(q): Query<ReportQuery>) -> Response {
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    match annual_report(&console, &session, &q).await {
        Ok(annual) => {
            page(StatusCode::OK, view::page("编辑年度报告文字", Some(&session), editor(&session, &q, &annual, None)))
        }
        Err(status) => refused(&session, &status),
    }
}

#[derive(Deserialize)]
pub(super) struct Save {
    #[serde(default)]
    csrf: String,
    agency: String,
    year: i32,
    section: String,
    #[serde(default)]
    text: String,
}

pub(super) async fn save(
    State(console): State<Console>,
    uri: http::Uri,
    headers: HeaderMap,
    Form(form): Form<Save>,
) -> Response {
    let session = match guarded(&console, &headers, &uri, &form.csrf) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let section = proto::ReportSection::from_str_name(&form.section).unwrap_or(proto::ReportSection::Unspecified);
    // Browsers send a textarea's line breaks as CR LF.
    let text = form.text.replace("\r\n", "\n");
    let payload = proto::event::Payload::ReportTextSet(proto::ReportTextSet {
        year: form.year,
        section: section as i32,
        text: text.clone(),
    });
    let q = ReportQuery { agency: form.agency.clone(), year: form.year, format: String::new() };
    match record(&console, &session, &form.agency, form.year, payload).await {
        Ok(()) => Redirect::to(&format!("/console/report?agency={}&year={}", view::encode(&form.agency), form.year))
            .into_response(),
        Err(status) => match annual_report(&console, &session, &q).await {
            // The refusal above the text as it was typed.
            Ok(annual) => page(
                crate::api::http::transcode::http_status(status.code()),
                view::page(
                    "编辑年度报告文字",
                    Some(&session),
                    editor(&session, &q, &annual, Some((section, &text, &status))),
                ),
            ),
            Err(_) => refused(&session, &status),
        },
    }
}

/// Records an event in the stream of an agency's report for a year, as
/// the signed-in token, dated today in China.
async fn record(
    console: &Console,
    session: &Session,
    agency: &str,
    year: i32,
    payload: proto::event::Payload,
) -> Result<(), tonic::Status> {
    let event = proto::Event {
        event_id: uuid::Uuid::new_v4().to_string(),
        agency_id: agency.to_owned(),
        subject_id: crate::domain::report_text::subject_for(year),
        occurred_on: Some(crate::domain::date::CivilDate::today_in_china().to_proto()),
        actor: format!("console:{}", session.who),
        correlation_id: String::new(),
        payload: Some(payload),
    };
    console
        .ledger(session)
        .append_events(proto::AppendEventsRequest { events: vec![event], ..Default::default() })
        .await?;
    Ok(())
}

#[derive(Deserialize)]
pub(super) struct Publish {
    #[serde(default)]
    csrf: String,
    agency: String,
    year: i32,
    #[serde(default)]
    label: String,
}

/// Records that the report was published as the log stands now.
pub(super) async fn publish(
    State(console): State<Console>,
    uri: http::Uri,
    headers: HeaderMap,
    Form(form): Form<Publish>,
) -> Response {
    let session = match guarded(&console, &headers, &uri, &form.csrf) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let payload = proto::event::Payload::ReportPublished(proto::ReportPublished { year: form.year, label: form.label });
    match record(&console, &session, &form.agency, form.year, payload).await {
        Ok(()) => Redirect::to(&format!("/console/report?agency={}&year={}", view::encode(&form.agency), form.year))
            .into_response(),
        Err(status) => refused(&session, &status),
    }
}

/// The editor: one form per section, and the placeholders.
fn editor(
    session: &Session,
    q: &ReportQuery,
    annual: &proto::AnnualReport,
    failed: Option<(proto::ReportSection, &str, &tonic::Status)>,
) -> Markup {
    let recorded = |s: proto::ReportSection| {
        annual.recorded_texts.iter().find(|t| t.section == s as i32).map_or("", |t| t.text.as_str())
    };
    html! {
        h1 { (q.agency) " · " (q.year) " 年度报告文字" }
        p {
            "数字不要手写：用占位符，例如 " code { "本年度共收到政府信息公开申请{new}件" } "，"
            "报告按同一日志位置的统计表填入。未知的占位符会被拒绝。段落之间空一行。"
        }
        @for (section, name) in SECTIONS {
            @let typed = failed.filter(|(s, _, _)| *s == section);
            section.text-edit aria-labelledby=(format!("section-{}", section as i32)) {
                h2 id=(format!("section-{}", section as i32)) { (name) }
                @if let Some((_, _, status)) = typed {
                    p.refusal role="alert" { "未保存：" (status.message()) }
                }
                form method="post" action="/console/report/text" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input type="hidden" name="agency" value=(q.agency);
                    input type="hidden" name="year" value=(q.year);
                    input type="hidden" name="section" value=(section.as_str_name());
                    label.wide {
                        span.visually-hidden { (name) }
                        textarea name="text" rows=(if section == proto::ReportSection::AgencyName { 1 } else { 8 }) cols="90" {
                            (typed.map_or_else(|| recorded(section), |(_, text, _)| text))
                        }
                    }
                    p { button type="submit" { "保存" (name) } }
                }
            }
        }
        h2 { "可用的占位符" }
        table.list {
            thead { tr { th scope="col" { "占位符" } th scope="col" { "含义" } th scope="col" { "本年度的值" } } }
            tbody {
                @for p in &annual.placeholders {
                    tr { td { code { "{" (p.name) "}" } } td { (p.meaning) } td.num { (p.value) } }
                }
            }
        }
        p { a href=(format!("/console/report?agency={}&year={}", view::encode(&q.agency), q.year)) { "返回年度报告预览" } }
    }
}
