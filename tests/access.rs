//! Who may do what, through the real server with auth on: missing, wrong
//! and revoked tokens, scopes of writers and readers, admin-only calls,
//! the rate limit and the message size limit. Every refusal writes nothing.

mod support;

use disclosure_ledger::wire::proto::{
    self, admin_service_client::AdminServiceClient, deadline_service_client::DeadlineServiceClient,
    ledger_service_client::LedgerServiceClient, report_service_client::ReportServiceClient,
};
use support::*;
use tonic::Code;

struct Secured {
    app: TestApp,
    admin_token: String,
}

async fn spawn_secured(tweak: impl FnOnce(&mut disclosure_ledger::api::config::Config)) -> Secured {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = spawn_app_with(dir, |c| {
        c.auth = true;
        tweak(c);
    })
    .await;
    let admin_token = std::fs::read_to_string(app.path().join("admin.token")).expect("the first admin token");
    Secured { app, admin_token: admin_token.trim().to_owned() }
}

impl Secured {
    async fn ledger(&self, token: Option<&str>) -> LedgerServiceClient<Authed> {
        LedgerServiceClient::new(with_token(channel(self.app.addr).await, token))
    }
    async fn reports(&self, token: Option<&str>) -> ReportServiceClient<Authed> {
        ReportServiceClient::new(with_token(channel(self.app.addr).await, token))
    }
    async fn admin(&self, token: Option<&str>) -> AdminServiceClient<Authed> {
        AdminServiceClient::new(with_token(channel(self.app.addr).await, token))
    }

    /// Creates a token with the admin token; returns (id, secret).
    async fn token(&self, role: proto::Role, agencies: &[&str], groups: &[&str], all: bool) -> (String, String) {
        let r = self
            .admin(Some(&self.admin_token))
            .await
            .create_token(proto::CreateTokenRequest {
                role: role as i32,
                agency_ids: agencies.iter().map(|a| a.to_string()).collect(),
                all_agencies: all,
                group_ids: groups.iter().map(|g| g.to_string()).collect(),
                label: "test".into(),
            })
            .await
            .expect("create token")
            .into_inner();
        (r.token.expect("token").token_id, r.secret)
    }

    /// The head of the log, read with the admin token.
    async fn head(&self) -> usize {
        use tokio_stream::StreamExt;
        let mut stream = self
            .ledger(Some(&self.admin_token))
            .await
            .read_log(proto::ReadLogRequest { from_position: 1, agency_id: String::new(), follow: false })
            .await
            .expect("read log")
            .into_inner();
        let mut n = 0;
        while let Some(item) = stream.next().await {
            item.expect("item");
            n += 1;
        }
        n
    }
}

fn in_agency(mut e: proto::Event, agency: &str) -> proto::Event {
    e.agency_id = agency.into();
    e
}

fn append(events: Vec<proto::Event>) -> proto::AppendEventsRequest {
    proto::AppendEventsRequest { events, expected_revisions: vec![], validate_only: false }
}

#[tokio::test]
async fn without_a_valid_token_nothing_is_done() {
    let s = spawn_secured(|_| {}).await;
    let e = person("A-1", date(2024, 3, 1));
    for token in [None, Some("dl_0000000000000000.nope"), Some("not a token at all")] {
        let status = s.ledger(token).await.append_events(append(vec![e.clone()])).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{token:?}: {}", status.message());
        let status = s
            .reports(token)
            .await
            .get_report(proto::GetReportRequest {
                scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(AGENCY.into())) }),
                year: 2024,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        let status = s.admin(token).await.list_tokens(proto::ListTokensRequest::default()).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
    }
    // The right id with a wrong secret is as invalid as an unknown id.
    let (id, _) = s.token(proto::Role::Writer, &[AGENCY], &[], false).await;
    let forged = format!("dl_{id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let status = s.ledger(Some(&forged)).await.append_events(append(vec![e])).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(s.head().await, 0, "nothing was written");
}

#[tokio::test]
async fn a_writer_appends_for_its_own_agencies_only() {
    let s = spawn_secured(|_| {}).await;
    let (_, writer) = s.token(proto::Role::Writer, &["agency-a"], &[], false).await;
    let mut ledger = s.ledger(Some(&writer)).await;
    ledger
        .append_events(append(vec![in_agency(person("A-1", date(2024, 3, 1)), "agency-a")]))
        .await
        .expect("own agency");

    let status =
        ledger.append_events(append(vec![in_agency(person("B-1", date(2024, 3, 1)), "agency-b")])).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{}", status.message());
    assert!(status.message().contains("agency-b"), "{}", status.message());
    // A batch with one foreign event is refused whole.
    let status = ledger
        .append_events(append(vec![
            in_agency(person("A-2", date(2024, 3, 1)), "agency-a"),
            in_agency(person("B-2", date(2024, 3, 1)), "agency-b"),
        ]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // Nor may it read another agency, or the whole log.
    let status = ledger
        .get_application(proto::GetApplicationRequest {
            agency_id: "agency-b".into(),
            application_id: "B-1".into(),
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = ledger
        .read_log(proto::ReadLogRequest { from_position: 1, agency_id: String::new(), follow: false })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // It reads its own.
    ledger
        .get_application(proto::GetApplicationRequest {
            agency_id: "agency-a".into(),
            application_id: "A-1".into(),
            as_of: None,
        })
        .await
        .expect("own application");
    assert_eq!(s.head().await, 1, "only the permitted event was written");
}

#[tokio::test]
async fn a_reader_reads_its_scope_and_writes_nothing() {
    let s = spawn_secured(|_| {}).await;
    let (_, writer) = s.token(proto::Role::Writer, &["agency-a", "agency-b"], &[], false).await;
    s.ledger(Some(&writer))
        .await
        .append_events(append(vec![
            in_agency(person("A-1", date(2024, 3, 1)), "agency-a"),
            in_agency(person("B-1", date(2024, 3, 1)), "agency-b"),
        ]))
        .await
        .expect("append");
    let (_, reader) = s.token(proto::Role::Reader, &["agency-a"], &[], false).await;

    let status = s
        .ledger(Some(&reader))
        .await
        .append_events(append(vec![in_agency(person("A-2", date(2024, 3, 2)), "agency-a")]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    let report = |agency: &str| proto::GetReportRequest {
        scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(agency.into())) }),
        year: 2024,
        ..Default::default()
    };
    let mut reports = s.reports(Some(&reader)).await;
    let own = reports.get_report(report("agency-a")).await.expect("own report").into_inner();
    assert!(own.report.is_some());
    // A real agency outside the scope and one that does not exist look
    // the same: the same code, the same message but for the name.
    let real = reports.get_report(report("agency-b")).await.unwrap_err();
    let unknown = reports.get_report(report("agency-z")).await.unwrap_err();
    assert_eq!(real.code(), Code::PermissionDenied);
    assert_eq!(unknown.code(), Code::PermissionDenied);
    assert_eq!(real.message().replace("agency-b", "X"), unknown.message().replace("agency-z", "X"));
    let mut deadlines = DeadlineServiceClient::new(with_token(channel(s.app.addr).await, Some(&reader)));
    let status = deadlines
        .list_deadlines(proto::ListDeadlinesRequest { agency_id: "agency-b".into(), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // Groups: only those in the scope.
    let status = reports
        .get_report(proto::GetReportRequest {
            scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::GroupId("province".into())) }),
            year: 2024,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // Admin-only calls.
    let status = reports.verify_tallies(proto::VerifyTalliesRequest::default()).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = reports
        .set_group(proto::SetGroupRequest {
            group: Some(proto::Group {
                group_id: "g".into(),
                agency_ids: vec!["agency-a".into()],
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(s.head().await, 2);
}

#[tokio::test]
async fn a_revoked_token_stops_at_once() {
    let s = spawn_secured(|_| {}).await;
    let (id, writer) = s.token(proto::Role::Writer, &[AGENCY], &[], false).await;
    let mut ledger = s.ledger(Some(&writer)).await;
    ledger.append_events(append(vec![person("A-1", date(2024, 3, 1))])).await.expect("before revocation");
    let revoked = s
        .admin(Some(&s.admin_token))
        .await
        .revoke_token(proto::RevokeTokenRequest { token_id: id.clone() })
        .await
        .expect("revoke")
        .into_inner();
    assert!(revoked.token.expect("token").revoke_time.is_some());
    let status = ledger.append_events(append(vec![person("A-2", date(2024, 3, 1))])).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("revoked"), "{}", status.message());
    assert_eq!(s.head().await, 1);

    // Revocation survives a restart; the stored tokens hold no secret.
    let admin_token = s.admin_token.clone();
    let dir = s.app.stop().await;
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).expect("read");
        let secret = writer.split_once('.').expect("secret").1.as_bytes();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret), "{} holds a token secret", entry.display());
    }
    let app = spawn_app_with(dir, |c| c.auth = true).await;
    let s = Secured { app, admin_token };
    let status = s.ledger(Some(&writer)).await.append_events(append(vec![person("A-3", date(2024, 3, 1))])).await;
    assert_eq!(status.unwrap_err().code(), Code::Unauthenticated);
    let list =
        s.admin(Some(&s.admin_token)).await.list_tokens(proto::ListTokensRequest::default()).await.expect("list");
    let listed = list.into_inner().tokens;
    assert_eq!(listed.len(), 2, "the first admin token and the writer");
    assert!(listed.iter().any(|t| t.token_id == id && t.revoke_time.is_some()));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

#[tokio::test]
async fn roles_are_separate() {
    let s = spawn_secured(|_| {}).await;
    // An admin administers but does not append.
    let status =
        s.ledger(Some(&s.admin_token)).await.append_events(append(vec![person("A-1", date(2024, 3, 1))])).await;
    assert_eq!(status.unwrap_err().code(), Code::PermissionDenied);
    // A writer does not administer.
    let (_, writer) = s.token(proto::Role::Writer, &[AGENCY], &[], false).await;
    let status = s
        .admin(Some(&writer))
        .await
        .create_token(proto::CreateTokenRequest { role: proto::Role::Admin as i32, ..Default::default() })
        .await;
    assert_eq!(status.unwrap_err().code(), Code::PermissionDenied);
    let status = s.admin(Some(&writer)).await.backup(proto::BackupRequest {}).await;
    assert_eq!(status.unwrap_err().code(), Code::PermissionDenied);
    let status = s.admin(Some(&writer)).await.set_calendar(proto::SetCalendarRequest { toml: String::new() }).await;
    assert_eq!(status.unwrap_err().code(), Code::PermissionDenied);
    // A token request that makes no sense is refused with the field named.
    let status = s
        .admin(Some(&s.admin_token))
        .await
        .create_token(proto::CreateTokenRequest { role: proto::Role::Writer as i32, ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("agency_ids"), "{}", status.message());
    // A reader of every agency reads the whole log.
    let (_, auditor) = s.token(proto::Role::Reader, &[], &[], true).await;
    s.ledger(Some(&auditor))
        .await
        .read_log(proto::ReadLogRequest { from_position: 1, agency_id: String::new(), follow: false })
        .await
        .expect("an all-agency reader reads the log");
}

#[tokio::test]
async fn the_rate_limit_refuses_with_retry_info_and_writes_nothing() {
    let s = spawn_secured(|c| c.rate_limit = std::num::NonZeroU32::new(1)).await;
    let (_, writer) = s.token(proto::Role::Writer, &[AGENCY], &[], false).await;
    let mut ledger = s.ledger(Some(&writer)).await;
    let mut refused = None;
    let mut accepted = 0;
    for i in 0..10 {
        match ledger.append_events(append(vec![person(&format!("A-{i}"), date(2024, 3, 1))])).await {
            Ok(_) => accepted += 1,
            Err(status) => {
                refused = Some(status);
                break;
            }
        }
    }
    let status = refused.expect("a burst of 2 at 1 per second is exceeded within 10 quick calls");
    assert_eq!(status.code(), Code::ResourceExhausted, "{}", status.message());
    use tonic_types::StatusExt;
    assert!(status.get_details_retry_info().is_some(), "RetryInfo says when to come back");
    // Wait for the admin's bucket: it is a token of its own.
    assert_eq!(s.head().await, accepted);
}

#[tokio::test]
async fn an_oversized_message_is_refused_and_writes_nothing() {
    let s = spawn_secured(|c| c.max_message_bytes = 64 << 10).await;
    let (_, writer) = s.token(proto::Role::Writer, &[AGENCY], &[], false).await;
    let events: Vec<_> = (0..400)
        .map(|i| {
            let mut e = person(&format!("A-{i}"), date(2024, 3, 1));
            e.actor = "x".repeat(200);
            e
        })
        .collect();
    let status = s.ledger(Some(&writer)).await.append_events(append(events)).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{}", status.message());
    assert_eq!(s.head().await, 0);
}

/// One message on an open StreamAppendEvents stream, and its answer.
async fn over_stream(
    tx: &tokio::sync::mpsc::Sender<proto::StreamAppendEventsRequest>,
    answers: &mut tonic::Streaming<proto::StreamAppendEventsResponse>,
    request_id: u64,
    events: Vec<proto::Event>,
) -> Result<(), (Code, String)> {
    use proto::stream_append_events_response::Result as Answer;
    tx.send(proto::StreamAppendEventsRequest { request_id, append: Some(append(events)) }).await.expect("send");
    let answer = answers.message().await.expect("the stream stays open").expect("an answer");
    assert_eq!(answer.request_id, request_id);
    match answer.result.expect("a result") {
        Answer::Appended(_) => Ok(()),
        Answer::Error(e) => Err((Code::from(e.code), e.message)),
    }
}

#[tokio::test]
async fn a_stream_is_held_to_the_scope_the_revocation_and_the_rate_of_its_token_message_by_message() {
    let s = spawn_secured(|c| c.rate_limit = std::num::NonZeroU32::new(3)).await;
    let (id, writer) = s.token(proto::Role::Writer, &[AGENCY], &[], false).await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut answers = s
        .ledger(Some(&writer))
        .await
        .stream_append_events(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("a writer opens a stream")
        .into_inner();

    over_stream(&tx, &mut answers, 1, vec![person("A-1", date(2024, 3, 1))]).await.expect("its own agency");
    let (code, _) = over_stream(&tx, &mut answers, 2, vec![in_agency(person("B-1", date(2024, 3, 1)), "other-agency")])
        .await
        .expect_err("another agency");
    assert_eq!(code, Code::PermissionDenied);

    // Each message counts against the token's rate (3 a second, burst 6;
    // the stream's opening was one call).
    let mut refused = None;
    for i in 3..20 {
        if let Err(e) = over_stream(&tx, &mut answers, i, vec![person(&format!("A-{i}"), date(2024, 3, 1))]).await {
            refused = Some(e);
            break;
        }
    }
    let (code, message) = refused.expect("the rate limit is reached within 17 quick messages");
    assert_eq!(code, Code::ResourceExhausted, "{message}");
    let written = s.head().await;

    // Revoked while the stream is open: its next message is refused.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    s.admin(Some(&s.admin_token)).await.revoke_token(proto::RevokeTokenRequest { token_id: id }).await.expect("revoke");
    let (code, message) =
        over_stream(&tx, &mut answers, 99, vec![person("A-99", date(2024, 3, 1))]).await.expect_err("revoked");
    assert_eq!(code, Code::Unauthenticated, "{message}");
    assert!(message.contains("revoked"), "{message}");
    assert_eq!(s.head().await, written, "no refused message wrote anything");
}

#[tokio::test]
async fn a_reader_lists_only_the_groups_it_may_read() {
    let app = spawn_app_with(tempfile::tempdir().unwrap(), |c| c.auth = true).await;
    let admin = admin_token(&app);
    let mut as_admin =
        proto::report_service_client::ReportServiceClient::new(with_token(channel(app.addr).await, Some(&admin)));
    for id in ["city", "county"] {
        as_admin
            .set_group(proto::SetGroupRequest {
                group: Some(proto::Group {
                    group_id: id.into(),
                    agency_ids: vec!["a".into(), "b".into()],
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
    }
    let reader =
        proto::admin_service_client::AdminServiceClient::new(with_token(channel(app.addr).await, Some(&admin)))
            .create_token(proto::CreateTokenRequest {
                role: proto::Role::Reader as i32,
                group_ids: vec!["county".into()],
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .secret;
    let mut as_reader =
        proto::report_service_client::ReportServiceClient::new(with_token(channel(app.addr).await, Some(&reader)));
    let seen = as_reader.list_groups(proto::ListGroupsRequest::default()).await.unwrap().into_inner();
    assert_eq!(seen.groups.iter().map(|g| g.group_id.as_str()).collect::<Vec<_>>(), ["county"]);
    let all = as_admin.list_groups(proto::ListGroupsRequest::default()).await.unwrap().into_inner();
    assert_eq!(all.groups.len(), 2);
}
