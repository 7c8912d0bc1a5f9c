//! The console's administration pages (admin tokens): tokens (created and
//! shown once, listed, revoked), groups, the working-day calendar, the
//! verification of every tally against the log, and backups. Each action
//! is the API's own call with the session's token, so a token that is not
//! an admin's sees the API's refusal; every form that changes something
//! carries the session's CSRF token and must come from this console.

use axum::extract::{Form, State};
use axum::response::{IntoResponse as _, Redirect, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use maud::{Markup, html};
use serde::Deserialize;

use crate::api::console::session::Session;
use crate::api::console::{Console, page, refused, same_origin, to_sign_in, view};
use crate::wire::proto;

/// The session of a state-changing request, if it is signed in, from this
/// console, and carries the session's CSRF token; else the answer to send.
pub(super) fn guarded(
    console: &Console,
    headers: &HeaderMap,
    uri: &http::Uri,
    csrf: &str,
) -> Result<Session, Box<Response>> {
    let Some(session) = console.sessions.of(headers) else { return Err(Box::new(to_sign_in())) };
    if !same_origin(headers, uri) || !session.csrf_ok(csrf) {
        let status = tonic::Status::permission_denied("the form is not this session's (CSRF)");
        return Err(Box::new(refused(&session, &status)));
    }
    Ok(session)
}

/// Everything the administration page lists.
struct Overview {
    tokens: Vec<proto::Token>,
    groups: Vec<proto::Group>,
    calendar: proto::GetCalendarResponse,
}

async fn overview(console: &Console, session: &Session) -> Result<Overview, tonic::Status> {
    let mut admin = console.admin(session);
    let mut tokens = Vec::new();
    let mut token = String::new();
    loop {
        let page = admin
            .list_tokens(proto::ListTokensRequest { page_size: 1000, page_token: token.clone() })
            .await?
            .into_inner();
        tokens.extend(page.tokens);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut reports = console.reports(session);
    let mut groups = Vec::new();
    let mut token = String::new();
    loop {
        let page = reports
            .list_groups(proto::ListGroupsRequest { page_size: 1000, page_token: token.clone() })
            .await?
            .into_inner();
        groups.extend(page.groups);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let calendar = admin.get_calendar(proto::GetCalendarRequest {}).await?.into_inner();
    Ok(Overview { tokens, groups, calendar })
}

pub(super) async fn home(State(console): State<Console>, headers: HeaderMap) -> Response {
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    match overview(&console, &session).await {
        Ok(o) => page(StatusCode::OK, view::page("系统管理", Some(&session), overview_page(&session, &o))),
        Err(status) => refused(&session, &status),
    }
}

/// A list typed in a form: separated by commas, spaces or new lines.
fn list(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c == '，' || c == '、' || c.is_whitespace())
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Deserialize)]
pub(super) struct CreateToken {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    agencies: String,
    #[serde(default)]
    all_agencies: Option<String>,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    label: String,
}

pub(super) async fn create_token(
    State(console): State<Console>,
    uri: http::Uri,
    headers: HeaderMap,
    Form(form): Form<CreateToken>,
) -> Response {
    let session = match guarded(&console, &headers, &uri, &form.csrf) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let request = proto::CreateTokenRequest {
        role: proto::Role::from_str_name(&form.role).unwrap_or(proto::Role::Unspecified) as i32,
        agency_ids: list(&form.agencies),
        all_agencies: form.all_agencies.is_some(),
        group_ids: list(&form.groups),
        label: form.label.trim().to_owned(),
    };
    match console.admin(&session).create_token(request).await {
        Ok(created) => {
            let created = created.into_inner();
            page(StatusCode::OK, view::page("令牌已创建", Some(&session), created_page(&created)))
        }
        Err(status) => refused(&session, &status),
    }
}

#[derive(Deserialize)]
pub(super) struct RevokeToken {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token_id: String,
}

pub(super) async fn revoke_token(
    State(console): State<Console>,
    uri: http::Uri,
    headers: HeaderMap,
    Form(form): Form<RevokeToken>,
) -> Response {
    let session = match guarded(&console, &headers, &uri, &form.csrf) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match console.admin(&session).revoke_token(proto::RevokeTokenRequest { token_id: form.token_id }).await {
        Ok(_) => Redirect::to("/console/admin#tokens").into_response(),
        Err(status) => refused(&session, &status),
    }
}

#[derive(Deserialize)]
pub(super) struct SetGroup {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    group_id: String,
    #[serde(default)]
    agencies: String,
    #[serde(default)]
    groups: String,
}

pub(super) async fn set_group(
    State(console): State<Console>,
    uri: http::Uri,
    headers: HeaderMap,
    Form(form): Form<SetGroup>,
) -> Response {
    let session = match guarded(&console, &headers, &uri, &form.csrf) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let group = proto::Group {
        group_id: form.group_id.trim().to_owned(),
        agency_ids: list(&form.agencies),
        member_group_ids: list(&form.groups),
    };
    match console.reports(&session).set_group(proto::SetGroupRequest { group: Some(group) }).await {
        Ok(_) => Redirect::to("/console/admin#groups").into_response(),
        Err(status) => refused(&session, &status),
    }
}

#[derive(Deserialize)]
pub(super) struct SetCalendar {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    toml: String,
}

pub(super) async fn set_calendar(
    State(console): State<Console>,
    uri: http::Uri,
    headers: HeaderMap,
    Form(form): Form<SetCalendar>,
) -> Response {
    let session = match guarded(&console, &headers, &uri, &form.csrf) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match console.admin(&session).set_calendar(proto::SetCalendarRequest { toml: form.toml }).await {
        Ok(_) => Redirect::to("/console/admin#calendar").into_response(),
        Err(status) => refused(&session, &status),
    }
}

#[derive(Deserialize)]
pub(super) struct Verify {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    deep: Option<String>,
}

/// Verification changes nothing, but it holds appends while it runs, so it
/// is a POST with the CSRF token like any action.
pub(super) async fn verify(
    State(console): State<Console>,
    uri: http::Uri,
    headers: HeaderMap,
    Form(form): Form<Verify>,
) -> Response {
    let session = match guarded(&console, &headers, &uri, &form.csrf) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match console.reports(&session).verify_tallies(proto::VerifyTalliesRequest { deep: form.deep.is_some() }).await {
        Ok(v) => page(StatusCode::OK, view::page("校验结果", Some(&session), verified_page(&v.into_inner()))),
        Err(status) => refused(&session, &status),
    }
}

/// An online backup, streamed to the browser in the file format
/// `disclosure-ledger backup` writes (and `restore` and `check-backup`
/// read).
pub(super) async fn backup(State(console): State<Console>, headers: HeaderMap) -> Response {
    use futures_util::StreamExt as _;
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    let stream = match console.admin(&session).backup(proto::BackupRequest {}).await {
        Ok(s) => s.into_inner(),
        Err(status) => return refused(&session, &status),
    };
    let body = stream.map(|item| {
        let item = item.map_err(|s| std::io::Error::other(s.message().to_owned()))?;
        let mut bytes = Vec::new();
        crate::ops::backup::write_item(&mut bytes, &item)?;
        Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))
    });
    let mut response = page(StatusCode::OK, String::new());
    *response.body_mut() = axum::body::Body::from_stream(body);
    let name = format!("disclosure-ledger-{}.backup", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    if let Ok(d) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    response
}

fn role(r: i32) -> &'static str {
    match proto::Role::try_from(r) {
        Ok(proto::Role::Admin) => "管理员",
        Ok(proto::Role::Writer) => "写入",
        Ok(proto::Role::Reader) => "只读",
        _ => "",
    }
}

fn time(t: Option<&pbjson_types::Timestamp>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

fn overview_page(session: &Session, o: &Overview) -> Markup {
    html! {
        h1 { "系统管理" }
        nav.sections { a href="#tokens" { "令牌" } " · " a href="#groups" { "机关组" } " · " a href="#calendar" { "工作日历" } " · " a href="#verify" { "校验" } " · " a href="#backup" { "备份" } }
        h2 id="tokens" { "令牌（" (o.tokens.len()) "）" }
        table.list {
            thead { tr {
                th scope="col" { "令牌编号" } th scope="col" { "角色" } th scope="col" { "范围" } th scope="col" { "持有人" }
                th scope="col" { "创建时间" } th scope="col" { "吊销时间" } th scope="col" { "操作" }
            } }
            tbody {
                @for t in &o.tokens {
                    tr {
                        td { code { (t.token_id) } }
                        td { (role(t.role)) }
                        td {
                            @if t.role == proto::Role::Admin as i32 { "全部（管理员）" }
                            @else if t.all_agencies { "全部机关" } @else { (t.agency_ids.join("、")) }
                            @if !t.group_ids.is_empty() { "；组：" (t.group_ids.join("、")) }
                        }
                        td { (t.label) }
                        td { (time(t.create_time.as_ref())) }
                        td { (time(t.revoke_time.as_ref())) }
                        td {
                            @if t.revoke_time.is_none() {
                                form.inline method="post" action="/console/admin/tokens/revoke" {
                                    (csrf(session))
                                    input type="hidden" name="token_id" value=(t.token_id);
                                    button type="submit" aria-label=(format!("吊销 {}", t.token_id)) { "吊销" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h3 { "创建令牌" }
        form.pick method="post" action="/console/admin/tokens" {
            (csrf(session))
            label { "角色" select name="role" {
                option value="ROLE_READER" { "只读（reader）" }
                option value="ROLE_WRITER" { "写入（writer）" }
                option value="ROLE_ADMIN" { "管理员（admin）" }
            } }
            label { "机关（以逗号或空格分隔）" input name="agencies"; }
            label.check { input type="checkbox" name="all_agencies"; "全部机关（只读）" }
            label { "机关组" input name="groups"; }
            label { "持有人" input name="label"; }
            button type="submit" { "创建" }
        }
        h2 id="groups" { "机关组（" (o.groups.len()) "）" }
        table.list {
            thead { tr { th scope="col" { "组" } th scope="col" { "成员机关" } } }
            tbody {
                @for g in &o.groups {
                    tr { td { (g.group_id) } td { (g.agency_ids.join("、")) } }
                }
            }
        }
        h3 { "设置机关组（同名则替换）" }
        form.pick method="post" action="/console/admin/groups" {
            (csrf(session))
            label { "组编号" input name="group_id" required; }
            label.wide { "成员机关（以逗号、空格或换行分隔）" textarea name="agencies" rows="3" cols="60" {} }
            label.wide { "下级机关组（如市下辖各县的组）" input name="groups" size="60"; }
            button type="submit" { "保存" }
        }
        h2 id="calendar" { "工作日历" }
        table.list {
            thead { tr { th scope="col" { "年度" } th scope="col" { "依据" } } }
            tbody {
                @for (y, notice) in o.calendar.known_years.iter().zip(o.calendar.notices.iter().map(Some).chain(std::iter::repeat(None))) {
                    tr { td { (y) } td { (notice.cloned().unwrap_or_default()) } }
                }
            }
        }
        h3 { "载入放假安排（TOML）" }
        form method="post" action="/console/admin/calendar" {
            (csrf(session))
            label.wide {
                "每年一节：[years.YYYY] notice = \"国办发明电〔…〕…号\"，holidays = [[\"起\", \"止\"], …]，workdays = [\"调休上班日\", …]"
                textarea name="toml" rows="8" cols="80" required {}
            }
            p { button type="submit" { "载入" } }
        }
        h2 id="verify" { "校验" }
        p { "从原始日志重新计算每一张统计表，与维护中的统计比对；运行期间暂停写入。" }
        form.pick method="post" action="/console/admin/verify" {
            (csrf(session))
            label.check { input type="checkbox" name="deep"; "同时逐件重算（较慢）" }
            button type="submit" { "开始校验" }
        }
        h2 id="backup" { "备份" }
        p {
            a href="/console/admin/backup" download { "下载在线备份" }
            "（与 " code { "disclosure-ledger backup" } " 的文件格式相同，可用 " code { "check-backup" } " 核对、用 " code { "restore" } " 恢复）"
        }
    }
}

fn created_page(created: &proto::CreateTokenResponse) -> Markup {
    let t = created.token.clone().unwrap_or_default();
    html! {
        h1 { "令牌已创建" }
        p.refusal role="alert" { "令牌只显示这一次：请现在复制并交给持有人。服务器只保存它的摘要，无法再次显示。" }
        table.list {
            tr { th scope="row" { "令牌" } td { code.secret { (created.secret) } } }
            tr { th scope="row" { "令牌编号" } td { code { (t.token_id) } } }
            tr { th scope="row" { "角色" } td { (role(t.role)) } }
            tr { th scope="row" { "范围" } td { @if t.all_agencies { "全部机关" } @else { (t.agency_ids.join("、")) } } }
            tr { th scope="row" { "持有人" } td { (t.label) } }
        }
        p { a href="/console/admin#tokens" { "返回系统管理" } }
    }
}

fn verified_page(v: &proto::VerifyTalliesResponse) -> Markup {
    html! {
        h1 { "校验结果" }
        @if v.consistent {
            p.passed role="status" { "✓ 一致：每张统计表都等于从日志重新计算的结果。" }
        } @else {
            p.refusal role="alert" { "✗ 不一致：" (v.differences.len()) " 处差异" }
            ul { @for d in &v.differences { li { (d) } } }
        }
        table.list {
            tr { th scope="row" { "日志位置" } td { (v.log_position) } }
            tr { th scope="row" { "重放事件" } td { (v.events_replayed) } }
            tr { th scope="row" { "案件与申请" } td { (v.subjects) } }
            tr { th scope="row" { "日志摘要" } td { code { (v.log_digest) } } }
            tr { th scope="row" { "用时" } td { (format!("{:.2}", v.seconds)) " 秒" } }
        }
        @if !v.lost_ranges.is_empty() {
            h2 { "已丢失的日志位置（经抢救）" }
            ul { @for l in &v.lost_ranges { li { (l.first_position) "–" (l.last_position) "：" (l.reason) } } }
        }
        p { a href="/console/admin" { "返回系统管理" } }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_typed_list_splits_on_commas_spaces_and_new_lines() {
        assert_eq!(super::list("a, b，c、d\ne  f"), ["a", "b", "c", "d", "e", "f"]);
        assert!(super::list("  ").is_empty());
    }
}
