//! The console: pages for the people who answer for the numbers, served by
//! the same binary under `/console/` (assets embedded; nothing fetched at
//! run time), in Chinese.
//!
//! A page asks the services exactly as a client would: in process, through
//! the same gRPC stack and gate, with the signed-in token ([`session`]), so
//! every page obeys the token's scope as the API does and shows the API's
//! own refusals. Every page is sent with a strict Content-Security-Policy
//! (no script at all, styles only from `/console/style.css`), no caching,
//! and a referrer for its own origin only; every state-changing form
//! carries the session's CSRF token and must come from the console's own
//! origin.
//!
//! One file per page: [`tables`] (a year's or a period's tables, as of a
//! position or a publication, with what changed), [`cases`] (the cases
//! behind a number, and one application), [`changes`] (what moved a cell),
//! [`group`] (a group's cell, member by member), [`deadlines`] (the board),
//! [`report`] (the finished report and its downloads), [`report_text`] (the
//! agency's text, and publishing), [`admin`] (tokens, groups, calendar,
//! verify, backup). Beside them: [`links`] (where the numbers lead),
//! [`whose`] (an agency or a group), [`chart`] (the SVG charts), [`view`]
//! (the layout and the shared pieces), [`session`] (sign-in and CSRF).

pub mod admin;
pub mod cases;
pub mod changes;
pub mod chart;
pub mod deadlines;
pub mod group;
pub mod links;
pub mod report;
pub mod report_text;
pub mod session;
pub mod tables;
pub mod view;
pub mod whose;

use axum::extract::{Form, State};
use axum::response::{IntoResponse as _, Redirect, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use tonic::service::interceptor::InterceptedService;

use crate::access::token::OpeningTokens;
use crate::api::console::session::{Session, Sessions, set_cookie};
use crate::wire::proto::{
    self, admin_service_client::AdminServiceClient, deadline_service_client::DeadlineServiceClient,
    ledger_service_client::LedgerServiceClient, report_service_client::ReportServiceClient,
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
            .route("/console/tables", get(tables::tables))
            .route("/console/cells", get(cases::cells))
            .route("/console/review-cases", get(cases::review_cases))
            .route("/console/deadlines", get(deadlines::deadlines))
            .route("/console/changes", get(changes::changes))
            .route("/console/group-cell", get(group::group_cell))
            .route("/console/admin", get(admin::home))
            .route("/console/admin/tokens", post(admin::create_token))
            .route("/console/admin/tokens/revoke", post(admin::revoke_token))
            .route("/console/admin/groups", post(admin::set_group))
            .route("/console/admin/calendar", post(admin::set_calendar))
            .route("/console/admin/verify", post(admin::verify))
            .route("/console/admin/backup", get(admin::backup))
            .route("/console/application", get(cases::application))
            .route("/console/report", get(report::report))
            .route("/console/report/download", get(report::download))
            .route("/console/report/text", get(report_text::edit).post(report_text::save))
            .route("/console/report/publish", post(report_text::publish))
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

    fn deadlines(&self, session: &Session) -> DeadlineServiceClient<Authed> {
        DeadlineServiceClient::with_origin(self.channel(session), http::Uri::from_static("http://console"))
    }

    fn admin(&self, session: &Session) -> AdminServiceClient<Authed> {
        AdminServiceClient::with_origin(self.channel(session), http::Uri::from_static("http://console"))
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
    let mut response = format!("{}{}", view::STYLE, crate::report::render::column_widths()).into_response();
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
    if let Err(refusal) = admin::guarded(&console, &headers, &uri, &form.csrf) {
        return *refusal;
    }
    console.sessions.close(&headers);
    let mut response = Redirect::to("/console/").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&set_cookie(None, console.tls)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// The period a page was asked for (`2024-Q3`, `2024-07`, a range; empty:
/// the year), as the API takes it.
fn period_of(asked: &str) -> Result<Option<proto::ReportPeriod>, tonic::Status> {
    let asked = asked.trim();
    if asked.is_empty() {
        return Ok(None);
    }
    let p: crate::report::period::Period =
        asked.parse().map_err(|e: String| tonic::Status::invalid_argument(format!("period: {e}")))?;
    Ok(Some(proto::ReportPeriod { first_day: Some(p.first.to_proto()), last_day: Some(p.last.to_proto()) }))
}

/// A day from a form field (YYYY-MM-DD; empty: none), as the API takes it.
fn day_of(asked: &str) -> Result<Option<proto::google::r#type::Date>, tonic::Status> {
    let asked = asked.trim();
    if asked.is_empty() {
        return Ok(None);
    }
    let day: crate::domain::date::CivilDate =
        asked.parse().map_err(|e: String| tonic::Status::invalid_argument(format!("as_of: {e}")))?;
    Ok(Some(day.to_proto()))
}

/// An optional number from a form field (empty: none).
fn number(s: Option<&str>) -> u64 {
    s.and_then(|s| s.trim().parse().ok()).unwrap_or(0)
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
