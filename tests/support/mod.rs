//! Shared test helpers: `spawn_app()` starts the real server on port 0 with
//! a temporary sled directory, and builders make events.

#![allow(dead_code)]

pub mod process;

use std::net::SocketAddr;

use disclosure_ledger::api::config::Config;
use disclosure_ledger::api::server::Server;
use disclosure_ledger::wire::proto::{
    self, event::Payload, google::r#type::Date, ledger_service_client::LedgerServiceClient,
};
use tokio::sync::oneshot;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: LedgerServiceClient<Channel>,
    dir: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// Starts a server on a fresh store and waits until it is SERVING.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    spawn_app_in(dir).await
}

/// Starts a server on an existing directory.
pub async fn spawn_app_in(dir: tempfile::TempDir) -> TestApp {
    spawn_app_with(dir, |_| {}).await
}

/// Starts a server on a directory, with settings changed by `tweak`.
pub async fn spawn_app_with(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config::for_tests(dir.path());
    tweak(&mut config);
    let server = Server::build(config).await.expect("bind");
    let addr = server.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));
    let url = format!("http://{addr}");
    wait_serving(&url).await;
    let client = LedgerServiceClient::connect(url).await.expect("connect");
    TestApp { addr, client, dir: Some(dir), stop: Some(stop), handle: Some(handle) }
}

/// Polls gRPC health until the ledger service is SERVING.
pub async fn wait_serving(url: &str) {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    // Up to 30 s: on two shared cores a start can wait behind other tests.
    for _ in 0..1200 {
        if let Ok(channel) = Channel::from_shared(url.to_owned()).expect("url").connect().await {
            let mut health = HealthClient::new(channel);
            let r = health.check(HealthCheckRequest { service: "disclosure.v1.LedgerService".into() }).await;
            if r.is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32) {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("server at {url} never became SERVING");
}

impl TestApp {
    /// Drains the server and waits for it to stop; returns the directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        self.stop.take().expect("running").send(()).ok();
        self.handle.take().expect("running").await.expect("join").expect("clean stop");
        self.dir.take().expect("dir")
    }

    /// The data directory.
    pub fn path(&self) -> &std::path::Path {
        self.dir.as_ref().expect("dir").path()
    }

    pub async fn append(&mut self, events: Vec<proto::Event>) -> Result<proto::AppendEventsResponse, tonic::Status> {
        self.client
            .append_events(proto::AppendEventsRequest { events, expected_revisions: vec![], validate_only: false })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Appends and expects success.
    pub async fn ok(&mut self, events: Vec<proto::Event>) -> proto::AppendEventsResponse {
        match self.append(events).await {
            Ok(r) => r,
            Err(s) => panic!("append refused: {:?} {}", s.code(), s.message()),
        }
    }

    /// The whole log, in order.
    pub async fn log(&mut self) -> Vec<proto::RecordedEvent> {
        self.log_of("").await
    }

    pub async fn log_of(&mut self, agency: &str) -> Vec<proto::RecordedEvent> {
        let mut stream = self
            .client
            .read_log(proto::ReadLogRequest { from_position: 1, agency_id: agency.into(), follow: false })
            .await
            .expect("read log")
            .into_inner();
        let mut out = Vec::new();
        while let Some(item) = stream.next().await {
            out.push(item.expect("log item").event.expect("event"));
        }
        out
    }

    pub async fn application(&mut self, agency: &str, id: &str) -> proto::GetApplicationResponse {
        self.client
            .get_application(proto::GetApplicationRequest {
                agency_id: agency.into(),
                application_id: id.into(),
                as_of: None,
            })
            .await
            .expect("get application")
            .into_inner()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub const AGENCY: &str = "test-agency";

pub fn date(y: i32, m: i32, d: i32) -> Option<Date> {
    Some(Date { year: y, month: m, day: d })
}

/// An event with a fresh id.
pub fn event(subject: &str, on: Option<Date>, payload: Payload) -> proto::Event {
    proto::Event {
        event_id: uuid::Uuid::new_v4().to_string(),
        agency_id: AGENCY.into(),
        subject_id: subject.into(),
        occurred_on: on,
        actor: String::new(),
        correlation_id: String::new(),
        payload: Some(payload),
    }
}

pub fn received(subject: &str, on: Option<Date>, applicant: proto::ApplicantCategory) -> proto::Event {
    event(
        subject,
        on,
        Payload::ApplicationReceived(proto::ApplicationReceived {
            applicant_category: applicant as i32,
            channel: proto::Channel::Online as i32,
        }),
    )
}

pub fn concluded(subject: &str, on: Option<Date>, outcome: proto::Outcome) -> proto::Event {
    event(subject, on, Payload::ApplicationConcluded(proto::ApplicationConcluded { outcome: outcome as i32 }))
}

pub fn person(subject: &str, on: Option<Date>) -> proto::Event {
    received(subject, on, proto::ApplicantCategory::NaturalPerson)
}

pub fn amended(
    subject: &str,
    on: Option<Date>,
    target: &str,
    f: impl FnOnce(&mut proto::EventAmended),
) -> proto::Event {
    let mut a =
        proto::EventAmended { target_event_id: target.into(), reason: "entered wrongly".into(), ..Default::default() };
    f(&mut a);
    event(subject, on, Payload::EventAmended(a))
}

pub fn voided(subject: &str, on: Option<Date>, target: &str) -> proto::Event {
    event(
        subject,
        on,
        Payload::EventVoided(proto::EventVoided { target_event_id: target.into(), reason: "entered in error".into() }),
    )
}

use disclosure_ledger::wire::proto::report_service_client::ReportServiceClient;

impl TestApp {
    pub async fn reports(&self) -> ReportServiceClient<Channel> {
        ReportServiceClient::connect(format!("http://{}", self.addr)).await.expect("connect")
    }

    /// The report of one agency for a year (template by year, default dating).
    pub async fn report(&self, agency: &str, year: i32, as_of: u64) -> proto::Report {
        self.report_with(agency, year, as_of, proto::Template::Unspecified, proto::ReviewDating::Unspecified).await
    }

    pub async fn report_with(
        &self,
        agency: &str,
        year: i32,
        as_of: u64,
        template: proto::Template,
        dating: proto::ReviewDating,
    ) -> proto::Report {
        let r = self
            .reports()
            .await
            .get_report(proto::GetReportRequest {
                scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(agency.into())) }),
                year,
                template: template as i32,
                as_of_position: as_of,
                review_dating: dating as i32,
                period: None,
            })
            .await
            .expect("report")
            .into_inner()
            .report
            .expect("a report");
        assert!(r.checks_passed, "checks failed: {:?}", r.checks);
        r
    }
}

/// The 7 values of a row of section 三, by code.
pub fn row(report: &proto::Report, code: &str) -> Vec<i64> {
    report.application_rows.iter().find(|r| r.code == code).unwrap_or_else(|| panic!("no row {code}")).values.clone()
}

/// A row with `n` in one applicant column and the 总计 column.
pub fn one(column: usize, n: i64) -> Vec<i64> {
    let mut v = vec![0; 7];
    v[column] = n;
    v[6] = n;
    v
}

pub fn zeros() -> Vec<i64> {
    vec![0; 7]
}

/// A channel that sends `token` as a bearer token on every call.
pub type Authed = tonic::service::interceptor::InterceptedService<Channel, disclosure_ledger::cli::remote::Bearer>;

/// A plain channel to the app.
pub async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}")).expect("url").connect().await.expect("connect")
}

/// Wraps a channel so that it carries a token (None: no credentials).
pub fn with_token(channel: Channel, token: Option<&str>) -> Authed {
    let bearer = token.map(|t| disclosure_ledger::access::token::bearer_metadata(t).expect("ascii token"));
    tonic::service::interceptor::InterceptedService::new(channel, disclosure_ledger::cli::remote::Bearer::new(bearer))
}

/// The command line's server argument for the app, without credentials.
pub fn server_arg(app: &TestApp) -> disclosure_ledger::cli::args::ServerArg {
    server_arg_at(&format!("http://{}", app.addr))
}

/// The command line's server argument for a server at `url`.
pub fn server_arg_at(url: &str) -> disclosure_ledger::cli::args::ServerArg {
    disclosure_ledger::cli::args::ServerArg {
        server: url.to_owned(),
        token: None,
        token_file: None,
        tls_ca: None,
        tls_cert: None,
        tls_key: None,
        tls_domain: None,
    }
}

/// The first admin token of an app started with auth on.
pub fn admin_token(app: &TestApp) -> String {
    std::fs::read_to_string(app.path().join("admin.token")).expect("the first admin token").trim().to_owned()
}

/// A new token of `role` for one agency, made with the admin token.
pub async fn issue_token(app: &TestApp, admin: &str, role: proto::Role, agency: &str) -> String {
    proto::admin_service_client::AdminServiceClient::new(with_token(channel(app.addr).await, Some(admin)))
        .create_token(proto::CreateTokenRequest {
            role: role as i32,
            agency_ids: vec![agency.into()],
            label: format!("test {role:?} for {agency}"),
            ..Default::default()
        })
        .await
        .expect("a token")
        .into_inner()
        .secret
}

/// An agency's tables for a year, asked with `token`.
pub async fn report_as(app: &TestApp, token: &str, agency: &str, year: i32) -> proto::Report {
    ReportServiceClient::new(with_token(channel(app.addr).await, Some(token)))
        .get_report(proto::GetReportRequest {
            scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(agency.into())) }),
            year,
            ..Default::default()
        })
        .await
        .expect("the report")
        .into_inner()
        .report
        .expect("a report in the answer")
}

/// A table as an agency fills the official layout in by hand, on one
/// sheet: merged label cells, blank cells for 0, every third number typed
/// as text, the period stated below.
pub fn hand_filled_workbook(r: &proto::Report) -> Vec<u8> {
    use disclosure_ledger::report::template::{
        APPLICANT_HEADER, BALANCE_NOTE, COLUMNS, LITIGATION_HEADER, ORGANISATIONS_HEADER, REVIEW_BLOCKS, REVIEW_COLUMNS,
    };
    use rust_xlsxwriter::Workbook;
    let mut book = Workbook::new();
    let sheet = book.add_worksheet().set_name("附表").unwrap();
    let plain = rust_xlsxwriter::Format::new();
    let mut n = 0usize;
    let mut number = |sheet: &mut rust_xlsxwriter::Worksheet, row: u32, col: u16, v: i64| {
        n += 1;
        match (v, n % 3) {
            (0, _) => {}
            (v, 0) => {
                sheet.write_string(row, col, format!(" {v} ")).unwrap();
            }
            (v, _) => {
                sheet.write_number(row, col, v as f64).unwrap();
            }
        }
    };
    sheet.write_string(0, 0, "三、收到和处理政府信息公开申请情况").unwrap();
    sheet.merge_range(1, 0, 3, 2, BALANCE_NOTE, &plain).unwrap();
    sheet.merge_range(1, 3, 1, 9, APPLICANT_HEADER, &plain).unwrap();
    sheet.merge_range(2, 3, 3, 3, COLUMNS[0], &plain).unwrap();
    sheet.merge_range(2, 4, 2, 8, ORGANISATIONS_HEADER, &plain).unwrap();
    sheet.merge_range(2, 9, 3, 9, COLUMNS[6], &plain).unwrap();
    for (i, h) in COLUMNS[1..6].iter().enumerate() {
        sheet.write_string(3, 4 + i as u16, *h).unwrap();
    }
    let first = 4u32;
    let rows = &r.application_rows;
    let results: Vec<usize> = (0..rows.len()).filter(|i| !rows[*i].block_label.is_empty()).collect();
    let (a, b) = (results[0] as u32 + first, *results.last().unwrap() as u32 + first);
    sheet.merge_range(a, 0, b, 0, &rows[results[0]].block_label, &plain).unwrap();
    for (i, x) in rows.iter().enumerate() {
        let at = first + i as u32;
        if x.block_label.is_empty() {
            sheet.merge_range(at, 0, at, 2, &x.label, &plain).unwrap();
        } else if x.group_label.is_empty() {
            sheet.merge_range(at, 1, at, 2, &x.label, &plain).unwrap();
        } else {
            if i == 0 || rows[i - 1].group_label != x.group_label {
                let span = rows[i..].iter().take_while(|y| y.group_label == x.group_label).count() as u32;
                if span > 1 {
                    sheet.merge_range(at, 1, at + span - 1, 1, &x.group_label, &plain).unwrap();
                } else {
                    sheet.write_string(at, 1, &x.group_label).unwrap();
                }
            }
            sheet.write_string(at, 2, &x.label).unwrap();
        }
        for (c, v) in x.values.iter().enumerate() {
            number(sheet, at, 3 + c as u16, *v);
        }
    }
    let top = first + rows.len() as u32 + 2;
    sheet.write_string(top, 0, "四、政府信息公开行政复议、行政诉讼情况").unwrap();
    sheet.merge_range(top + 1, 0, top + 2, 4, REVIEW_BLOCKS[0], &plain).unwrap();
    sheet.merge_range(top + 1, 5, top + 1, 14, LITIGATION_HEADER, &plain).unwrap();
    sheet.merge_range(top + 2, 5, top + 2, 9, REVIEW_BLOCKS[1], &plain).unwrap();
    sheet.merge_range(top + 2, 10, top + 2, 14, REVIEW_BLOCKS[2], &plain).unwrap();
    for k in 0..3u16 {
        for (c, h) in REVIEW_COLUMNS.iter().enumerate() {
            sheet.write_string(top + 3, k * 5 + c as u16, *h).unwrap();
        }
    }
    for (k, b) in r.review_blocks.iter().enumerate() {
        for (c, v) in [b.upheld, b.corrected, b.other, b.pending, b.total].iter().enumerate() {
            number(sheet, top + 4, k as u16 * 5 + c as u16, *v);
        }
    }
    sheet.write_string(top + 6, 0, format!("本报告所列数据的统计期限为{}。", r.period)).unwrap();
    book.save_to_buffer().unwrap()
}
