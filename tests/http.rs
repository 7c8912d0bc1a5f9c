//! One service, three protocols: the same events sent over gRPC, gRPC-Web
//! and HTTP/JSON to three fresh stores give the same log and the same
//! tables; every refusal comes back over HTTP with its mapped status and
//! the same details as over gRPC, and writes nothing; server streams are
//! newline-delimited JSON, and a followed log ends cleanly on shutdown.

mod support;

use std::net::SocketAddr;

use bytes::Bytes;
use disclosure_ledger::wire::proto::{self, ledger_service_client::LedgerServiceClient};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use prost::Message as _;
use serde_json::{Value, json};
use support::*;
use tonic::Code;

/// One HTTP/JSON call: its status and its JSON (or the lines of an NDJSON
/// stream, as an array).
async fn http(addr: SocketAddr, method: &str, path: &str, body: Option<Value>, token: Option<&str>) -> (u16, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = http::Request::builder().method(method).uri(format!("http://{addr}{path}"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default();
    let response = client
        .request(request.header("content-type", "application/json").body(Full::new(Bytes::from(body))).unwrap())
        .await
        .expect("an HTTP answer");
    let status = response.status().as_u16();
    let ndjson = response.headers().get("content-type").is_some_and(|t| t == "application/x-ndjson");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = if ndjson {
        Value::Array(
            std::str::from_utf8(&bytes)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).expect("a JSON line"))
                .collect(),
        )
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)))
    };
    (status, value)
}

/// Applications through their whole life: receipts, a supplement, an
/// amendment, conclusions, in calls of a few events.
fn calls() -> Vec<Vec<proto::Event>> {
    let supplement = event("A-2", date(2024, 3, 4), proto::event::Payload::SupplementRequested(Default::default()));
    let first = person("A-1", date(2024, 3, 1));
    let amend = amended("A-1", date(2024, 3, 6), &first.event_id, |a| a.occurred_on = date(2024, 3, 2));
    vec![
        vec![
            first,
            person("A-2", date(2024, 3, 1)),
            received("A-3", date(2024, 3, 3), proto::ApplicantCategory::CommercialEnterprise),
        ],
        vec![supplement],
        vec![amend, concluded("A-1", date(2024, 3, 20), proto::Outcome::Disclosed)],
        vec![concluded("A-3", date(2024, 4, 1), proto::Outcome::PartlyDisclosed)],
    ]
}

/// The log without what only the clock decides (when it was recorded).
async fn log_without_times(app: &mut TestApp) -> Vec<proto::RecordedEvent> {
    app.log().await.into_iter().map(|r| proto::RecordedEvent { recorded_at: None, ..r }).collect()
}

#[tokio::test]
async fn the_same_events_over_grpc_grpc_web_and_http_make_the_same_log_and_tables() {
    let mut over_grpc = spawn_app().await;
    let mut over_web = spawn_app().await;
    let mut over_http = spawn_app().await;
    // A ledger client speaking gRPC-Web over HTTP/1.1, as a browser does.
    let mut web = LedgerServiceClient::with_origin(
        tower::ServiceBuilder::new()
            .layer(tonic_web::GrpcWebClientLayer::new())
            .service(Client::builder(TokioExecutor::new()).build_http()),
        format!("http://{}", over_web.addr).parse().unwrap(),
    );
    for events in calls() {
        over_grpc.ok(events.clone()).await;
        let request = proto::AppendEventsRequest { events: events.clone(), ..Default::default() };
        web.append_events(request.clone()).await.expect("appended over gRPC-Web");
        // The body in the proto3 JSON mapping, as any JSON client builds it.
        let (status, answer) =
            http(over_http.addr, "POST", "/v1/events:append", Some(serde_json::to_value(&request).unwrap()), None)
                .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["results"].as_array().unwrap().len(), events.len());
    }
    let log = log_without_times(&mut over_grpc).await;
    assert_eq!(log.len(), 7);
    for other in [&mut over_web, &mut over_http] {
        let theirs = log_without_times(other).await;
        assert_eq!(theirs, log, "the same positions, revisions and events");
        let bytes = |l: &[proto::RecordedEvent]| l.iter().map(|r| r.encode_to_vec()).collect::<Vec<_>>();
        assert_eq!(bytes(&theirs), bytes(&log), "byte for byte");
    }
    let without_digest = |r: proto::Report| proto::Report { log_digest: String::new(), ..r };
    let table = without_digest(over_grpc.report(AGENCY, 2024, 0).await);
    assert_eq!(without_digest(over_web.report(AGENCY, 2024, 0).await), table);
    assert_eq!(without_digest(over_http.report(AGENCY, 2024, 0).await), table);
    // And the tables over HTTP are the same JSON as the service's own
    // mapping of the gRPC answer.
    let (status, over) = http(over_http.addr, "GET", &format!("/v1/agencies/{AGENCY}/reports/2024"), None, None).await;
    assert_eq!(status, 200, "{over}");
    let mut grpc_json = serde_json::to_value(over_http.report(AGENCY, 2024, 0).await).unwrap();
    assert_eq!(over["report"], grpc_json);
    // Query parameters: the template, and a table as of an earlier position.
    let (status, earlier) = http(
        over_http.addr,
        "GET",
        &format!("/v1/agencies/{AGENCY}/reports/2024?asOfPosition=3&template=TEMPLATE_2021"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{earlier}");
    assert_eq!(earlier["report"]["logPosition"], "3");
    grpc_json["logPosition"] = json!("3");
    assert_ne!(earlier["report"], grpc_json, "as of 3, not the head");
    // An application by its id, percent-encoded in the path.
    let (status, app) =
        http(over_http.addr, "GET", &format!("/v1/agencies/{AGENCY}/applications/A-1"), None, None).await;
    assert_eq!(status, 200, "{app}");
    assert_eq!(app["application"]["receivedOn"], json!({"year": 2024, "month": 3, "day": 2}), "amended");
    assert_eq!(app["history"].as_array().unwrap().len(), 3);
}

/// The error details of a gRPC status, as the JSON mapping renders them.
fn details_json(status: &tonic::Status) -> Value {
    let rpc = proto::google::rpc::Status::decode(status.details()).expect("rich details");
    let pool = prost_reflect::DescriptorPool::decode(proto::FILE_DESCRIPTOR_SET).unwrap();
    let desc = pool.get_message_by_name("google.rpc.Status").unwrap();
    let msg = prost_reflect::DynamicMessage::decode(desc, rpc.encode_to_vec().as_slice()).unwrap();
    serde_json::to_value(&msg).unwrap()["details"].clone()
}

#[tokio::test]
async fn every_refusal_comes_back_over_http_with_its_status_and_details_and_writes_nothing() {
    let app = spawn_app_with(tempfile::tempdir().unwrap(), |c| c.auth = true).await;
    let admin = admin_token(&app);
    let writer = issue_token(&app, &admin, proto::Role::Writer, AGENCY).await;
    let stranger = issue_token(&app, &admin, proto::Role::Writer, "another-agency").await;
    let mut grpc = LedgerServiceClient::new(with_token(channel(app.addr).await, Some(&writer)));
    let append = |events: Vec<proto::Event>, expected: Vec<proto::ExpectedRevision>| proto::AppendEventsRequest {
        events,
        expected_revisions: expected,
        validate_only: false,
    };
    let first = person("A-1", date(2024, 3, 1));
    grpc.append_events(append(vec![first.clone()], vec![])).await.expect("the one event written");
    let other_content = proto::Event { occurred_on: date(2024, 3, 2), ..first.clone() };
    let wrong_revision =
        vec![proto::ExpectedRevision { agency_id: AGENCY.into(), subject_id: "A-1".into(), revision: 5 }];
    let cases: Vec<(&str, proto::AppendEventsRequest, Option<&str>, u16, Code)> = vec![
        (
            "a bad date",
            append(vec![person("A-2", date(2024, 2, 30))], vec![]),
            Some(&writer),
            400,
            Code::InvalidArgument,
        ),
        (
            "a conclusion before the receipt",
            append(vec![concluded("A-1", date(2024, 2, 1), proto::Outcome::Disclosed)], vec![]),
            Some(&writer),
            412,
            Code::FailedPrecondition,
        ),
        (
            "a wrong expected revision",
            append(vec![concluded("A-1", date(2024, 3, 5), proto::Outcome::Disclosed)], wrong_revision),
            Some(&writer),
            409,
            Code::Aborted,
        ),
        ("an event id reused", append(vec![other_content], vec![]), Some(&writer), 409, Code::AlreadyExists),
        ("no token", append(vec![person("A-3", date(2024, 3, 1))], vec![]), None, 401, Code::Unauthenticated),
        (
            "another agency's token",
            append(vec![person("A-4", date(2024, 3, 1))], vec![]),
            Some(&stranger),
            403,
            Code::PermissionDenied,
        ),
    ];
    for (what, request, token, http_status, code) in cases {
        let (status, body) =
            http(app.addr, "POST", "/v1/events:append", Some(serde_json::to_value(&request).unwrap()), token).await;
        assert_eq!(status, http_status, "{what}: {body}");
        assert_eq!(body["code"], code as i32, "{what}: {body}");
        // The same refusal over gRPC, with the same details.
        let mut client = LedgerServiceClient::new(with_token(channel(app.addr).await, token));
        let refused = client.append_events(request).await.expect_err(what);
        assert_eq!(refused.code(), code, "{what}");
        assert_eq!(body["message"], refused.message(), "{what}");
        assert_eq!(body["details"], details_json(&refused), "{what}");
        assert!(!body["details"].as_array().unwrap().is_empty(), "{what}: {body}");
    }
    // Nothing of any of them was written.
    let mut reader = LedgerServiceClient::new(with_token(channel(app.addr).await, Some(&admin)));
    let mut log = reader
        .read_log(proto::ReadLogRequest { from_position: 1, agency_id: String::new(), follow: false })
        .await
        .unwrap()
        .into_inner();
    let mut n = 0;
    while let Some(item) = tokio_stream::StreamExt::next(&mut log).await {
        item.unwrap();
        n += 1;
    }
    assert_eq!(n, 1, "only the first event is in the log");
    // A body that is not the message: INVALID_ARGUMENT naming the field.
    let (status, body) = http(app.addr, "POST", "/v1/events:append", Some(json!({"evnts": []})), Some(&writer)).await;
    assert_eq!((status, body["code"].clone()), (400, json!(3)), "{body}");
    assert!(body["message"].as_str().unwrap().contains("evnts"), "{body}");
    // A path that is known with another method.
    let (status, _) = http(app.addr, "GET", "/v1/events:append", None, Some(&writer)).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn the_rate_limit_is_the_same_over_http() {
    let app = spawn_app_with(tempfile::tempdir().unwrap(), |c| {
        c.auth = true;
        c.rate_limit = std::num::NonZeroU32::new(1);
    })
    .await;
    let admin = admin_token(&app);
    let mut refused = None;
    for _ in 0..10 {
        let (status, body) = http(app.addr, "GET", "/v1/calendar", None, Some(&admin)).await;
        if status != 200 {
            refused = Some((status, body));
            break;
        }
    }
    let (status, body) = refused.expect("a burst of 2 at 1 per second is exceeded within 10 quick calls");
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], Code::ResourceExhausted as i32);
    let types: Vec<&str> = body["details"].as_array().unwrap().iter().map(|d| d["@type"].as_str().unwrap()).collect();
    assert!(types.contains(&"type.googleapis.com/google.rpc.RetryInfo"), "{body}");
}

#[tokio::test]
async fn a_followed_log_is_newline_delimited_json_and_ends_cleanly_on_shutdown() {
    let mut app = spawn_app().await;
    app.ok(vec![person("A-1", date(2024, 3, 1)), person("A-2", date(2024, 3, 1))]).await;
    let (status, lines) = http(app.addr, "GET", "/v1/log?fromPosition=2", None, None).await;
    assert_eq!(status, 200);
    let lines = lines.as_array().unwrap().clone();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["event"]["position"], "2");
    // With follow, the stream stays open: a new event arrives on it, and
    // the drain ends it with a whole last line, not a cut connection.
    let addr = app.addr;
    let follower =
        tokio::spawn(async move { http(addr, "GET", "/v1/log?fromPosition=1&follow=true", None, None).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.ok(vec![person("A-3", date(2024, 3, 1))]).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let _dir = app.stop().await;
    let (status, lines) = tokio::time::timeout(std::time::Duration::from_secs(20), follower)
        .await
        .expect("the followed stream ends on shutdown")
        .unwrap();
    assert_eq!(status, 200);
    let positions: Vec<&str> =
        lines.as_array().unwrap().iter().map(|l| l["event"]["position"].as_str().unwrap()).collect();
    assert_eq!(positions, ["1", "2", "3"]);
}

#[tokio::test]
async fn browsers_on_allowed_origins_get_cors_and_no_others() {
    let app =
        spawn_app_with(tempfile::tempdir().unwrap(), |c| c.cors_origins = vec!["https://oa.example.gov.cn".into()])
            .await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let preflight = |origin: &'static str| {
        http::Request::builder()
            .method("OPTIONS")
            .uri(format!("http://{}/disclosure.v1.LedgerService/AppendEvents", app.addr))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,x-grpc-web,authorization")
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let allowed = client.request(preflight("https://oa.example.gov.cn")).await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://oa.example.gov.cn");
    let other = client.request(preflight("https://elsewhere.example.com")).await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}
