//! The exchange format: every JSON the service writes for a table (the
//! CLI's `--format json` rendering and the HTTP face's answer to
//! `Accept: application/vnd.disclosure-ledger.table+json`) validates
//! against the published JSON Schema, for a year, a quarter, a range of
//! days, both templates, both datings of section 四 and a group; its
//! numbers are the API's under the stable codes; and the schema is strict
//! enough to refuse a wrong code or a short row.

mod support;

use std::net::SocketAddr;

use bytes::Bytes;
use disclosure_ledger::report::exchange::{self, Table};
use disclosure_ledger::report::render::{self, Format};
use disclosure_ledger::wire::proto::{self, event::Payload};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use support::*;

fn schema() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(exchange::SCHEMA).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

fn assert_valid(validator: &jsonschema::Validator, json: &str, what: &str) -> Value {
    let value: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{what}: {e}"));
    let errors: Vec<String> =
        validator.iter_errors(&value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} does not validate: {errors:#?}");
    value
}

fn events() -> Vec<proto::Event> {
    use proto::ApplicantCategory as A;
    use proto::Outcome as O;
    let mut events = vec![
        received("x1", date(2023, 12, 20), A::CommercialEnterprise),
        concluded("x1", date(2024, 1, 10), O::Disclosed),
        received("x2", date(2024, 2, 3), A::NaturalPerson),
        concluded("x2", date(2024, 2, 20), O::WithheldStateSecret),
        received("x3", date(2024, 8, 1), A::LegalServiceProvider),
        concluded("x3", date(2024, 8, 30), O::Other),
        received("x4", date(2024, 12, 30), A::NaturalPerson),
    ];
    events.push(event(
        "r1",
        date(2024, 4, 1),
        Payload::ReviewCaseFiled(proto::ReviewCaseFiled {
            kind: proto::ReviewKind::Reconsideration as i32,
            application_subject_id: "x2".into(),
        }),
    ));
    events.push(event(
        "r1",
        date(2024, 9, 1),
        Payload::ReviewCaseDecided(proto::ReviewCaseDecided { result: proto::ReviewResult::Corrected as i32 }),
    ));
    events.push(event(
        "规-1",
        date(2024, 3, 1),
        Payload::DocumentIssued(proto::DocumentIssued { kind: proto::DocumentKind::NormativeDocument as i32 }),
    ));
    events.push(event(
        "费-1",
        date(2024, 5, 1),
        Payload::FeesCollected(proto::FeesCollected { amount_fen: 1_234_500 }),
    ));
    events
}

async fn get_report(app: &TestApp, request: proto::GetReportRequest) -> proto::Report {
    app.reports().await.get_report(request).await.expect("a report").into_inner().report.expect("a report")
}

fn request(scope: proto::report_scope::Scope, year: i32) -> proto::GetReportRequest {
    proto::GetReportRequest { scope: Some(proto::ReportScope { scope: Some(scope) }), year, ..Default::default() }
}

async fn http_get(addr: SocketAddr, path: &str, accept: &str) -> (u16, String, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::builder()
        .uri(format!("http://{addr}{path}"))
        .header("accept", accept)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = client.request(request).await.expect("an HTTP answer");
    let status = response.status().as_u16();
    let kind = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, kind, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn every_table_json_the_service_writes_validates_and_carries_the_apis_numbers_under_stable_codes() {
    let mut app = spawn_app().await;
    app.ok(events()).await;
    let mut other = events();
    for e in &mut other {
        e.agency_id = "agency-b".into();
        e.event_id = uuid::Uuid::new_v4().to_string();
    }
    app.ok(other).await;
    app.reports()
        .await
        .set_group(proto::SetGroupRequest {
            group: Some(proto::Group {
                group_id: "county".into(),
                agency_ids: vec![AGENCY.into(), "agency-b".into()],
                ..Default::default()
            }),
        })
        .await
        .expect("a group");
    let validator = schema();
    use proto::report_scope::Scope;
    let q3 = proto::ReportPeriod { first_day: date(2024, 7, 1), last_day: date(2024, 9, 30) };
    let range = proto::ReportPeriod { first_day: date(2024, 3, 10), last_day: date(2024, 5, 20) };
    let cases = [
        ("2024", request(Scope::AgencyId(AGENCY.into()), 2024)),
        (
            "2024 as 2019",
            proto::GetReportRequest {
                template: proto::Template::Template2019 as i32,
                ..request(Scope::AgencyId(AGENCY.into()), 2024)
            },
        ),
        (
            "2024 decided",
            proto::GetReportRequest {
                review_dating: proto::ReviewDating::DecidedInYear as i32,
                ..request(Scope::AgencyId(AGENCY.into()), 2024)
            },
        ),
        ("2024-Q3", proto::GetReportRequest { period: Some(q3), ..request(Scope::AgencyId(AGENCY.into()), 0) }),
        ("a range", proto::GetReportRequest { period: Some(range), ..request(Scope::AgencyId(AGENCY.into()), 0) }),
        ("the group", request(Scope::GroupId("county".into()), 2024)),
        (
            "two agencies",
            request(Scope::Agencies(proto::AgencyList { agency_ids: vec![AGENCY.into(), "agency-b".into()] }), 2024),
        ),
    ];
    for (what, request) in cases {
        let report = get_report(&app, request).await;
        let json = render::render(&report, Format::Json).unwrap();
        let value = assert_valid(&validator, &json, what);
        let table: Table = serde_json::from_value(value).unwrap();
        assert_eq!(table.format, exchange::FORMAT);
        assert_eq!(table.version, exchange::VERSION);
        assert_eq!(
            table.source,
            exchange::Source::Derived { log_position: report.log_position, log_digest: report.log_digest.clone() }
        );
        for (row, api) in table.section_three.rows.iter().zip(&report.application_rows) {
            assert_eq!(row.code, exchange::row_code(&api.code), "{what}");
            assert_eq!(row.values, api.values, "{what} row {}", row.code);
        }
        assert_eq!(table.section_three.rows.len(), report.application_rows.len());
        let review: Vec<Vec<i64>> =
            report.review_blocks.iter().map(|b| vec![b.upheld, b.corrected, b.other, b.pending, b.total]).collect();
        assert_eq!(table.section_four.blocks.iter().map(|b| b.values.clone()).collect::<Vec<_>>(), review);
        assert_eq!(table.checks.len(), report.checks.len());
        assert!(table.checks.iter().all(|c| c.passed), "{what}: {:?}", table.checks);
    }
    let year = get_report(&app, request(Scope::AgencyId(AGENCY.into()), 2024)).await;
    let table = Table::derived(&year, AGENCY).unwrap();
    let codes: Vec<&str> = table.section_three.rows.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes.first(), Some(&"new"));
    assert!(codes.contains(&"3.1") && codes.contains(&"6.3") && codes.contains(&"7_total"));
    assert_eq!(codes.last(), Some(&"carried_out"));
    assert_eq!(table.period.name, "2024");
    assert_eq!(table.period.label, "2024年1月1日至2024年12月31日");
    let row = |code: &str| table.section_three.rows.iter().find(|r| r.code == code).unwrap().values.clone();
    assert_eq!(row("new"), vec![2, 0, 0, 0, 1, 0, 3]);
    assert_eq!(row("carried_in"), vec![0, 1, 0, 0, 0, 0, 1]);
    assert_eq!(row("7_total"), vec![1, 1, 0, 0, 1, 0, 3]);
    assert_eq!(table.section_four.blocks[0].code, "reconsideration");
    assert_eq!(table.section_four.blocks[0].values, vec![0, 1, 0, 0, 1]);
    let fees = table.section_two.iter().find(|b| b.code == "20.8").expect("20.8");
    assert_eq!(fees.columns[0].unit, "fen");
    assert_eq!(fees.rows[0].code, "fees");
    assert_eq!(fees.rows[0].values, vec![1_234_500], "money is exact fen");

    // Over HTTP, GetReport's routes answer in the exchange format when asked.
    let (status, kind, body) = http_get(
        app.addr,
        &format!("/v1/agencies/{AGENCY}/reports/2024"),
        "application/vnd.disclosure-ledger.table+json",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(kind, "application/vnd.disclosure-ledger.table+json");
    let value = assert_valid(&validator, &body, "HTTP, an agency");
    assert_eq!(serde_json::from_value::<Table>(value).unwrap(), table);
    let (_, _, body) =
        http_get(app.addr, "/v1/groups/county/reports/2024", "application/vnd.disclosure-ledger.table+json").await;
    let value = assert_valid(&validator, &body, "HTTP, a group");
    assert_eq!(value["agency"], "county");
    assert_eq!(value["members"], serde_json::json!([AGENCY, "agency-b"]));
    let (_, _, body) = http_get(
        app.addr,
        &format!(
            "/v1/agencies/{AGENCY}/reports/0?period.firstDay.year=2024&period.firstDay.month=7&period.firstDay.day=1\
             &period.lastDay.year=2024&period.lastDay.month=9&period.lastDay.day=30"
        ),
        "application/vnd.disclosure-ledger.table+json",
    )
    .await;
    let value = assert_valid(&validator, &body, "HTTP, a quarter");
    assert_eq!(value["period"]["name"], "2024-Q3");
    // Without the media type, the API's own JSON, as before.
    let (status, kind, body) =
        http_get(app.addr, &format!("/v1/agencies/{AGENCY}/reports/2024"), "application/json").await;
    assert_eq!((status, kind.as_str()), (200, "application/json"));
    assert!(serde_json::from_str::<Value>(&body).unwrap()["report"]["applicationRows"].is_array());
    // A refusal is still the API's refusal.
    let (status, _, _) = http_get(
        app.addr,
        &format!("/v1/agencies/{AGENCY}/reports/1900"),
        "application/vnd.disclosure-ledger.table+json",
    )
    .await;
    assert_eq!(status, 400);
    // The schema itself is served, without a token.
    let (status, kind, body) = http_get(app.addr, "/schemas/table-v1.json", "*/*").await;
    assert_eq!((status, kind.as_str()), (200, "application/schema+json"));
    assert_eq!(body, exchange::SCHEMA);
}

#[test]
fn submitted_tables_and_roll_up_totals_validate_too() {
    use disclosure_ledger::report::period::Period;
    use disclosure_ledger::report::rollup::{self, Member, MemberSource};
    use disclosure_ledger::report::template::Template;
    let validator = schema();
    let seed = include_str!("fixtures/annual-report-2020-heilongjiang-jgj.txt");
    let submitted = disclosure_ledger::report::submission::read(seed.as_bytes(), "seed.txt", "hlj-jgj", None).unwrap();
    let value = assert_valid(&validator, &submitted.to_json(), "a submitted table");
    assert_eq!(value["source"]["kind"], "submitted");
    let member = Member {
        id: "hlj-jgj".into(),
        is_group: false,
        source: MemberSource::Submitted { accepted: true },
        table: Some(submitted),
        excluded: None,
        late: false,
    };
    let total = rollup::total("province", Template::V2019, Period::year(2020), "filed_in_period", &[member], vec![]);
    let value = assert_valid(&validator, &total.to_json(), "a roll-up's total");
    assert_eq!(value["source"]["kind"], "rollup");
    assert_eq!(value["members"], serde_json::json!(["hlj-jgj"]));
}

#[test]
fn the_schema_refuses_what_is_not_a_table() {
    let validator = schema();
    let mut report = proto::Report {
        agency_ids: vec!["a".into()],
        year: 2024,
        template: proto::Template::Template2021 as i32,
        period_days: Some(proto::ReportPeriod { first_day: date(2024, 1, 1), last_day: date(2024, 12, 31) }),
        ..Default::default()
    };
    for code in disclosure_ledger::report::template::Template::V2021.rows() {
        report.application_rows.push(proto::ApplicationRow {
            code: code.row.code().into(),
            label: code.label.into(),
            values: vec![0; 7],
            ..Default::default()
        });
    }
    for _ in 0..3 {
        report.review_blocks.push(proto::ReviewBlock::default());
    }
    let good: Value = serde_json::from_str(&Table::derived(&report, "a").unwrap().to_json()).unwrap();
    assert!(validator.is_valid(&good), "the well-formed table validates");
    let broken = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        validator.is_valid(&v)
    };
    assert!(!broken(&|v| v["section_three"]["rows"][0]["code"] = "total".into()), "an unknown row code");
    assert!(!broken(&|v| v["section_three"]["rows"][3]["values"] = serde_json::json!([1, 2, 3])), "a short row");
    assert!(!broken(&|v| v["section_four"]["blocks"][0]["values"][0] = "1".into()), "a number as text");
    assert!(!broken(&|v| v["version"] = 2.into()), "another version");
    assert!(!broken(&|v| v["template"] = "2020".into()), "no such template");
    assert!(!broken(&|v| v["extra"] = 1.into()), "an unknown field");
    assert!(!broken(&|v| v["source"] = serde_json::json!({"kind": "submitted", "sha256": "x"})), "a bad source");
}
