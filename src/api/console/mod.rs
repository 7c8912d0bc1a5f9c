//! The console: pages for the people who answer for the numbers, served by
//! the same binary under `/console/` (assets embedded; nothing fetched at
//! run time), in Chinese.
//!
//! A page asks the services exactly as a client would: in process, through
//! the same gRPC stack and gate, with the signed-in token ([`session`]), so
//! every page obeys the token's scope as the API does and shows the API's
//! own refusals. Every page is sent with a strict Content-Security-Policy
//! (no script at all, styles only from `/console/style.css`), no caching,
//! and no referrer; every state-changing form carries the session's CSRF
//! token and must come from the console's own origin.

pub mod session;
pub mod view;

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse as _, Redirect, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use tonic::service::interceptor::InterceptedService;

use crate::access::token::OpeningTokens;
use crate::api::console::session::{Session, Sessions, set_cookie};
use crate::wire::proto::{
    self, ledger_service_client::LedgerServiceClient, report_service_client::ReportServiceClient,
};

/// What the console needs: the services, the tokens to sign in with.
#[derive(Clone)]
pub struct Console {
    grpc: tonic::service::Routes,
    tokens: OpeningTokens,
    auth: bool,
    tls: bool,
    sessions: Sessions,
}

type Authed = InterceptedService<tonic::service::Routes, Bearer>;

/// Adds the session's token to each in-process call.
#[derive(Clone)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request.metadata_mut().insert("authorization", token.clone());
        }
        Ok(request)
    }
}

impl Console {
    pub fn new(grpc: tonic::service::Routes, tokens: OpeningTokens, auth: bool, tls: bool) -> Self {
        Self { grpc, tokens, auth, tls, sessions: Sessions::default() }
    }

    /// The console's routes.
    pub fn router(self) -> axum::Router {
        use axum::routing::{get, post};
        axum::Router::new()
            .route("/console", get(|| async { Redirect::permanent("/console/") }))
            .route("/console/", get(home))
            .route("/console/style.css", get(style))
            .route("/console/sign-in", post(sign_in))
            .route("/console/sign-out", post(sign_out))
            .route("/console/tables", get(tables))
            .route("/console/cells", get(cells))
            .route("/console/application", get(application))
            .route("/console/report", get(report))
            .route("/console/report/download", get(download))
            .with_state(self)
    }

    fn channel(&self, session: &Session) -> Authed {
        let bearer = session.token.as_deref().and_then(|t| crate::access::token::bearer_metadata(t).ok());
        InterceptedService::new(self.grpc.clone(), Bearer(bearer))
    }

    fn reports(&self, session: &Session) -> ReportServiceClient<Authed> {
        ReportServiceClient::with_origin(self.channel(session), http::Uri::from_static("http://console"))
    }

    fn ledger(&self, session: &Session) -> LedgerServiceClient<Authed> {
        LedgerServiceClient::with_origin(self.channel(session), http::Uri::from_static("http://console"))
    }
}

/// A page, with the headers every console page carries.
fn page(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
             base-uri 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Same-origin, not no-referrer: with no-referrer a browser sends `Origin: null`
    // on form posts, and the same-origin check could not tell them apart.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The way to the sign-in page, for a request without a live session.
fn to_sign_in() -> Response {
    Redirect::to("/console/").into_response()
}

/// A refusal from the API, as a page with the HTTP status its code maps to.
fn refused(session: &Session, status: &tonic::Status) -> Response {
    let http = crate::api::http::transcode::http_status(status.code());
    page(http, view::page("无法显示", Some(session), view::refusal(status)))
}

/// Whether a POST comes from a page of this console (its Origin, or else
/// its Referer, names this host): a second guard beside the CSRF token,
/// and the only one for signing in. The host is the `Host` header, or the
/// request's authority under HTTP/2 (which has no `Host` header).
fn same_origin(headers: &HeaderMap, uri: &http::Uri) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).or_else(|| uri.authority().map(|a| a.as_str()));
    let from = headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)).and_then(|h| h.to_str().ok());
    match (host, from) {
        (Some(host), Some(from)) => {
            let rest = from.split_once("://").map_or(from, |(_, r)| r);
            rest.split('/').next() == Some(host)
        }
        _ => false,
    }
}

async fn home(State(console): State<Console>, headers: HeaderMap) -> Response {
    match console.sessions.of(&headers) {
        Some(session) => page(StatusCode::OK, view::page("首页", Some(&session), view::home())),
        None => page(StatusCode::OK, view::page("登录", None, view::sign_in(None))),
    }
}

async fn style() -> Response {
    let mut response = view::STYLE.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    response
}

#[derive(Deserialize)]
struct SignIn {
    #[serde(default)]
    token: String,
}

async fn sign_in(
    State(console): State<Console>,
    uri: http::Uri,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    if !same_origin(&headers, &uri) {
        return page(StatusCode::FORBIDDEN, view::page("登录", None, view::sign_in(Some("请从本系统的登录页登录。"))));
    }
    let token = form.token.trim().to_owned();
    let who = if console.auth {
        let principal = console.tokens.get().and_then(|t| t.authenticate(&token));
        match principal {
            Ok(p) => p.name().to_owned(),
            Err(rejection) => {
                tracing::info!(reason = %rejection, "console sign-in refused");
                return page(
                    StatusCode::UNAUTHORIZED,
                    view::page("登录", None, view::sign_in(Some("令牌无效或已被吊销。"))),
                );
            }
        }
    } else {
        "-".to_owned()
    };
    let id = console.sessions.open(console.auth.then_some(token), who.clone());
    tracing::info!(token = %who, "console session opened");
    let mut response = Redirect::to("/console/").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&set_cookie(Some(&id), console.tls)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
struct Csrf {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(
    State(console): State<Console>,
    uri: http::Uri,
    headers: HeaderMap,
    Form(form): Form<Csrf>,
) -> Response {
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    if !same_origin(&headers, &uri) || !session.csrf_ok(&form.csrf) {
        return refused(&session, &tonic::Status::permission_denied("the form is not this session's (CSRF)"));
    }
    console.sessions.close(&headers);
    let mut response = Redirect::to("/console/").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&set_cookie(None, console.tls)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
struct TablesQuery {
    agency: String,
    year: i32,
    #[serde(default)]
    template: String,
    #[serde(default)]
    as_of: Option<String>,
}

/// An optional number from a form field (empty: none).
fn number(s: Option<&str>) -> u64 {
    s.and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

async fn tables(State(console): State<Console>, headers: HeaderMap, Query(q): Query<TablesQuery>) -> Response {
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    let template = proto::Template::from_str_name(&q.template).unwrap_or(proto::Template::Unspecified);
    let as_of = number(q.as_of.as_deref());
    let answer = console
        .reports(&session)
        .get_report(proto::GetReportRequest {
            scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(q.agency.clone())) }),
            year: q.year,
            template: template as i32,
            as_of_position: as_of,
            review_dating: 0,
        })
        .await;
    let report = match answer.map(|r| r.into_inner().report) {
        Ok(Some(report)) => report,
        Ok(None) => return refused(&session, &tonic::Status::internal("no report in the answer")),
        Err(status) => return refused(&session, &status),
    };
    let tables = linked_tables(&q.agency, &report);
    let title = format!("{} {} 年度统计表", q.agency, report.year);
    page(StatusCode::OK, view::page(&title, Some(&session), view::tables(&q.agency, &q.template, &report, tables)))
}

/// The tables with each number of 三 a link to its cases, as of the
/// position the tables reflect.
fn linked_tables(agency: &str, report: &proto::Report) -> String {
    let (agency, year, position) = (view::encode(agency), report.year, report.log_position);
    let link = move |row: &str, column: usize| {
        format!(
            "/console/cells?agency={agency}&amp;year={year}&amp;row={}&amp;column={column}&amp;as_of={position}",
            view::encode(row)
        )
    };
    crate::report::render::tables_html_linked(report, Some(&link))
}

#[derive(Deserialize)]
struct CellQuery {
    agency: String,
    year: i32,
    row: String,
    column: i32,
    #[serde(default)]
    as_of: Option<String>,
    #[serde(default)]
    page_token: String,
}

async fn cells(State(console): State<Console>, headers: HeaderMap, Query(q): Query<CellQuery>) -> Response {
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    let as_of = number(q.as_of.as_deref());
    let answer = console
        .reports(&session)
        .list_cell_applications(proto::ListCellApplicationsRequest {
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
            "/console/cells?agency={}&year={}&row={}&column={}&as_of={}&page_token={}",
            view::encode(&q.agency),
            q.year,
            view::encode(&q.row),
            q.column,
            list.log_position,
            view::encode(&list.next_page_token)
        )
    });
    let title = format!("{} {} {}", q.agency, q.year, q.row);
    page(
        StatusCode::OK,
        view::page(&title, Some(&session), view::cell(&q.agency, q.year, &q.row, q.column, &list, next)),
    )
}

#[derive(Deserialize)]
struct ReportQuery {
    agency: String,
    year: i32,
    #[serde(default)]
    format: String,
}

/// The finished annual report of an agency's year, from the service.
async fn annual_report(
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

async fn report(State(console): State<Console>, headers: HeaderMap, Query(q): Query<ReportQuery>) -> Response {
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    let annual = match annual_report(&console, &session, &q).await {
        Ok(a) => a,
        Err(status) => return refused(&session, &status),
    };
    let tables = linked_tables(&q.agency, &annual.tables.clone().unwrap_or_default());
    page(StatusCode::OK, view::page(&annual.title, Some(&session), view::report(&q.agency, q.year, &annual, tables)))
}

/// The report as a file to publish: DOCX (the whole report), HTML, or XLSX
/// (the tables), as `disclosure-ledger report --annual` writes them.
async fn download(State(console): State<Console>, headers: HeaderMap, Query(q): Query<ReportQuery>) -> Response {
    use crate::report::publication::{Format, publish};
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    let (format, kind, extension) = match q.format.as_str() {
        "docx" => (Format::Docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
        "xlsx" => (Format::Xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
        "html" => (Format::Html, "text/html; charset=utf-8", "html"),
        other => {
            return refused(&session, &tonic::Status::invalid_argument(format!("{other:?} is not docx, xlsx or html")));
        }
    };
    let annual = match annual_report(&console, &session, &q).await {
        Ok(a) => a,
        Err(status) => return refused(&session, &status),
    };
    let bytes = match publish(&annual, format) {
        Ok(b) => b,
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

#[derive(Deserialize)]
struct ApplicationQuery {
    agency: String,
    id: String,
}

async fn application(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(q): Query<ApplicationQuery>,
) -> Response {
    let Some(session) = console.sessions.of(&headers) else { return to_sign_in() };
    let answer = console
        .ledger(&session)
        .get_application(proto::GetApplicationRequest { agency_id: q.agency.clone(), application_id: q.id.clone() })
        .await;
    match answer {
        Ok(got) => {
            let got = got.into_inner();
            page(StatusCode::OK, view::page(&q.id, Some(&session), view::application(&q.agency, &got)))
        }
        Err(status) => refused(&session, &status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_must_come_from_the_console_itself() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("ledger.example:50051"));
        let uri: http::Uri = "/console/sign-in".parse().unwrap();
        assert!(!same_origin(&h, &uri), "no Origin, no Referer");
        h.insert(header::ORIGIN, HeaderValue::from_static("https://ledger.example:50051"));
        assert!(same_origin(&h, &uri));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h, &uri));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h, &uri));
        // HTTP/2: no Host header, the authority is in the URI.
        let mut h2 = HeaderMap::new();
        h2.insert(header::ORIGIN, HeaderValue::from_static("https://ledger.example:50051"));
        let uri: http::Uri = "https://ledger.example:50051/console/sign-in".parse().unwrap();
        assert!(same_origin(&h2, &uri));
    }
}
