//! The console's pages, as HTML: one layout (header, who is signed in,
//! sign out), the style sheet, and a page per view. maud escapes every
//! value it interpolates (ids are user input); the official tables come
//! from the report's own renderer, which escapes its labels.

use maud::{DOCTYPE, Markup, html};

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
td.label, th.label { text-align: left; font-weight: normal; }
td.num a { display: block; text-decoration: none; color: #0a3d91; }
td.num a:hover, td.num a:focus { background: #fde9a8; outline: 2px solid #0a3d91; }
table.list td, table.list th { text-align: left; }
.meta { color: #444; font-size: 0.9em; word-break: break-all; }
.failed { color: #a00; font-weight: bold; } .passed { color: #176117; }
article.report { max-width: 60em; } p.text { text-indent: 2em; line-height: 1.8; }
div.sign-off { text-align: right; padding-right: 4em; } div.sign-off p { margin: 0; }
nav.downloads { margin: 0.5em 0; }
.refusal { border-left: 4px solid #a00; padding: 0.5em 1em; background: #fbeaea; }
form.pick { display: flex; gap: 1em; align-items: end; flex-wrap: wrap; }
label { display: flex; flex-direction: column; font-size: 0.9em; gap: 0.2em; }
input, select, button { font: inherit; padding: 0.25em 0.5em; }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible { outline: 3px solid #e0a800; outline-offset: 1px; }
a.skip { position: absolute; left: -999px; top: 0; background: #fff; color: #000; padding: 0.4em 0.8em; }
a.skip:focus { left: 0.5em; z-index: 10; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header nav a { margin-right: 1em; }
td.changed { background: #fff3c4; outline: 2px solid #e0a800; }
td.num a.delta { font-size: 0.75em; color: #8a5a00; text-decoration: underline; }
p.asof { border-left: 4px solid #e0a800; padding: 0.4em 0.8em; background: #fff8e0; }
table.counts { width: auto; } table.counts td.num { min-width: 3.5em; }
caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
figure { margin: 0.8em 0; max-width: 640px; } svg.chart { width: 100%; height: auto; } figcaption { font-size: 0.9em; color: #444; }
label.check { flex-direction: row; align-items: center; } label.wide { width: 100%; } textarea { font: inherit; width: 100%; box-sizing: border-box; }
form.inline { display: inline; }
code.secret { font-size: 1.1em; background: #fffbe6; padding: 0.2em 0.4em; user-select: all; }
@page { size: A4; margin: 15mm 12mm; }
@media print {
  :root { font-size: 10.5pt; }
  header, form.pick, form, nav, a.skip, td.num a.delta { display: none; }
  main { padding: 0; max-width: none; }
  td.num a { color: #000; } td.changed { background: none; outline: none; }
  table { page-break-inside: avoid; } h2 { page-break-after: avoid; }
}
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
                a.skip href="#main" { "跳到正文" }
                header {
                    a href="/console/" { strong { "政府信息公开台账" } }
                    @if session.is_some() {
                        nav aria-label="主导航" {
                            a href="/console/" { "统计表" }
                            a href="/console/admin" { "系统管理" }
                        }
                    }
                    @if let Some(s) = session {
                        span.who { "已登录：" (s.who) }
                        form method="post" action="/console/sign-out" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { "退出" }
                        }
                    }
                }
                main id="main" tabindex="-1" { (body) }
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

/// The home page: the year's tables, the deadlines board, administration.
pub fn home() -> Markup {
    html! {
        h1 { "年度报告统计表" }
        (picker(("", ""), 0, ("", ""), &[], 0))
        h2 { "期限看板" }
        form.pick method="get" action="/console/deadlines" {
            label { "机关（agency id）" input name="agency" required; }
            button type="submit" { "查看办理期限" }
        }
        h2 { "系统管理" }
        p { a href="/console/admin" { "令牌、机关组、工作日历、校验与备份" } "（需要管理员令牌）" }
    }
}

/// The picker of a year's tables: an agency or a group, the year and
/// template, and as of which position (typed, or a publication by name).
pub fn picker(
    (agency, group): (&str, &str),
    year: i32,
    (template, period): (&str, &str),
    published: &[proto::Publication],
    as_of: u64,
) -> Markup {
    let picked = published.iter().any(|p| p.position == as_of);
    let year = if year == 0 { chrono::Datelike::year(&chrono::Utc::now()) - 1 } else { year };
    html! {
        form.pick method="get" action="/console/tables" {
            label { "机关（agency id）" input name="agency" value=(agency); }
            label { "或机关组（合并表）" input name="group" value=(group); }
            label { "年度" input name="year" type="number" min="2008" max="2100" value=(year) required; }
            label { "或期间（如 2024-Q3、2024-H1、2024-07）" input name="period" value=(period) size="12"; }
            label { "模板" select name="template" {
                option value="" selected[template.is_empty()] { "按年度" }
                option value="TEMPLATE_2019" selected[template == "TEMPLATE_2019"] { "2019 版" }
                option value="TEMPLATE_2021" selected[template == "TEMPLATE_2021"] { "2021 版" }
            } }
            @if !published.is_empty() {
                label { "按发布版本" select name="published" {
                    option value="" selected[!picked] { "—" }
                    @for p in published {
                        option value=(p.position) selected[picked && p.position == as_of] {
                            (p.label) "（" (date(p.published_on.as_ref())) "，日志位置 " (p.position) "）"
                        }
                    }
                } }
            }
            label { "截至日志位置（空：最新）" input name="as_of" type="number" min="1" value=[(as_of > 0 && !picked).then_some(as_of)]; }
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

/// What a correction says: its reason, its target, and each fact it
/// corrects (empty for any other event).
pub fn correction(e: &proto::Event) -> String {
    use proto::event::Payload as P;
    match &e.payload {
        Some(P::EventAmended(a)) => {
            let mut facts = Vec::new();
            if let Some(d) = &a.occurred_on {
                facts.push(format!("日期改为 {}", date(Some(d))));
            }
            let named = |n: Option<&str>, prefix: &str| n.map(|n| n.trim_start_matches(prefix).to_lowercase());
            if let Some(n) = named(
                proto::ApplicantCategory::try_from(a.applicant_category)
                    .ok()
                    .filter(|c| *c as i32 != 0)
                    .map(|c| c.as_str_name()),
                "APPLICANT_CATEGORY_",
            ) {
                facts.push(format!("申请人类别改为 {n}"));
            }
            if let Some(n) = named(
                proto::Channel::try_from(a.channel).ok().filter(|c| *c as i32 != 0).map(|c| c.as_str_name()),
                "CHANNEL_",
            ) {
                facts.push(format!("渠道改为 {n}"));
            }
            if let Some(n) = named(
                proto::Outcome::try_from(a.outcome).ok().filter(|c| *c as i32 != 0).map(|c| c.as_str_name()),
                "OUTCOME_",
            ) {
                facts.push(format!("结果改为 {n}"));
            }
            if a.review_kind != 0 || a.review_result != 0 {
                facts.push("复议、诉讼的类别或结果已更正".to_owned());
            }
            format!("更正事件 {}：{}（{}）", a.target_event_id, a.reason, facts.join("，"))
        }
        Some(P::EventVoided(v)) => format!("作废事件 {}：{}", v.target_event_id, v.reason),
        _ => String::new(),
    }
}

/// An event's kind in words, with the protos' name beside it.
pub fn event_name(e: &proto::Event) -> Markup {
    let kind = crate::wire::event::kind(e);
    let words = match kind {
        "application_received" => "收到申请",
        "supplement_requested" => "告知补正",
        "supplement_received" => "收到补正",
        "consultation_started" => "开始征求意见",
        "consultation_ended" => "征求意见结束",
        "deadline_extended" => "延长答复期限",
        "fee_notice_issued" => "发出收费通知",
        "fee_paid" => "缴纳费用",
        "application_withdrawn" => "申请人撤回",
        "application_concluded" => "办结",
        "application_split" => "拆分办理",
        "review_case_filed" => "复议、诉讼立案",
        "review_case_decided" => "复议、诉讼审结",
        "event_amended" => "更正",
        "event_voided" => "作废",
        "report_text_set" => "年报文字",
        "report_published" => "年报发布",
        "table_submitted" => "报表报送",
        "table_accepted" => "报表接收",
        _ => "",
    };
    html! { (words) " " span.meta { (kind) } }
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
pub fn row_label(code: &str) -> String {
    use crate::report::template::Template;
    Template::V2021
        .rows()
        .into_iter()
        .chain(Template::V2019.rows())
        .find(|r| r.row.code() == code)
        .map_or_else(|| code.to_owned(), |r| format!("{}{}", r.group.unwrap_or(""), r.label))
}

/// The applicant column an application counts in.
pub fn applicant(a: &proto::Application) -> &'static str {
    crate::domain::codes::ApplicantCategory::from_proto(a.applicant_category)
        .map_or("", |c| crate::report::template::COLUMNS[c.column()])
}

/// The row of 三 an application's outcome counts in, or nothing if open.
pub fn outcome(a: &proto::Application) -> String {
    use crate::report::template::{Row, Template};
    let Ok(outcome) = crate::domain::codes::Outcome::from_proto(a.outcome) else { return String::new() };
    Template::V2021
        .rows()
        .into_iter()
        .find(|r| matches!(r.row, Row::Outcome(o) if o == outcome))
        .map_or_else(String::new, |r| format!("{}{}", r.group.unwrap_or(""), r.label))
}

pub fn status(a: &proto::Application) -> &'static str {
    match a.status() {
        proto::ApplicationStatus::Open => "办理中",
        proto::ApplicationStatus::Concluded => "已办结",
        proto::ApplicationStatus::Split => "已拆分",
        proto::ApplicationStatus::Voided => "已作废",
        proto::ApplicationStatus::Unspecified => "",
    }
}

pub fn date(d: Option<&proto::google::r#type::Date>) -> String {
    d.map_or(String::new(), |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
}
