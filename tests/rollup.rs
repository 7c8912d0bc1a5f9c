//! A superior office's roll-up over three levels (province → city →
//! county), with members that run the service (derived tables) and units
//! that submit their tables (TSV, JSON, and a workbook filled in by hand
//! with one wrong cell): the
//! total equals the counted members' sum cell for cell, a failing
//! submission is kept with its failures and left out until a corrected one
//! is accepted, a resubmission keeps the first in the history, absent
//! members are late, and a group cannot contain itself.

mod support;

use disclosure_ledger::report::exchange::Table;
use disclosure_ledger::report::render::{self, Format};
use disclosure_ledger::wire::proto::{self, event::Payload};
use support::*;
use tonic::Code;

const Q3: (i32, i32) = (7, 9);

fn q3() -> proto::ReportPeriod {
    proto::ReportPeriod { first_day: date(2024, Q3.0, 1), last_day: date(2024, Q3.1, 30) }
}

/// A unit's events across 2024, distinct per seed.
fn history(agency: &str, seed: i32) -> Vec<proto::Event> {
    use proto::ApplicantCategory as A;
    use proto::Outcome as O;
    let mut events = vec![
        received("h1", date(2024, 6, 20), A::NaturalPerson),
        concluded("h1", date(2024, 7, 8), O::Disclosed),
        received("h2", date(2024, 7, 2 + seed), A::CommercialEnterprise),
        concluded("h2", date(2024, 8, 1), O::UnavailableNotHeld),
        received("h3", date(2024, 8, 10), A::NaturalPerson),
        received("h4", date(2024, 9, 1 + seed), A::LegalServiceProvider),
        concluded("h4", date(2024, 9, 20), O::Other),
        event(
            "r1",
            date(2024, 8, 1),
            Payload::ReviewCaseFiled(proto::ReviewCaseFiled {
                kind: proto::ReviewKind::Reconsideration as i32,
                application_subject_id: "h2".into(),
            }),
        ),
    ];
    for i in 0..seed {
        events.push(received(&format!("x{i}"), date(2024, 8, 15), A::ResearchInstitution));
    }
    for e in &mut events {
        e.agency_id = agency.into();
    }
    events
}

async fn quarter(app: &TestApp, agency: &str) -> proto::Report {
    app.reports()
        .await
        .get_report(proto::GetReportRequest {
            scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(agency.into())) }),
            period: Some(q3()),
            ..Default::default()
        })
        .await
        .expect("a report")
        .into_inner()
        .report
        .expect("a report")
}

async fn set_group(app: &TestApp, id: &str, agencies: &[&str], groups: &[&str]) -> Result<(), tonic::Status> {
    app.reports()
        .await
        .set_group(proto::SetGroupRequest {
            group: Some(proto::Group {
                group_id: id.into(),
                agency_ids: agencies.iter().map(|a| a.to_string()).collect(),
                member_group_ids: groups.iter().map(|g| g.to_string()).collect(),
            }),
        })
        .await
        .map(|_| ())
}

async fn submit(app: &TestApp, agency: &str, file_name: &str, content: String) -> proto::SubmitTableResponse {
    submit_bytes(app, agency, file_name, content.into_bytes()).await
}

async fn submit_bytes(app: &TestApp, agency: &str, file_name: &str, content: Vec<u8>) -> proto::SubmitTableResponse {
    app.reports()
        .await
        .submit_table(proto::SubmitTableRequest {
            agency_id: agency.into(),
            file_name: file_name.into(),
            content,
            year: 2024,
        })
        .await
        .expect("submitted")
        .into_inner()
}

async fn rollup(app: &TestApp, group: &str, due: Option<proto::google::r#type::Date>) -> proto::Rollup {
    app.reports()
        .await
        .get_rollup(proto::GetRollupRequest {
            group_id: group.into(),
            period: Some(q3()),
            due_on: due,
            ..Default::default()
        })
        .await
        .expect("a roll-up")
        .into_inner()
        .rollup
        .expect("a roll-up")
}

fn member<'a>(r: &'a proto::Rollup, id: &str) -> &'a proto::RollupMember {
    r.members.iter().find(|m| m.member_id == id).unwrap_or_else(|| panic!("no member {id}"))
}

/// Section 三 and 四 of reports, summed cell by cell.
fn sum(reports: &[&proto::Report]) -> (Vec<Vec<i64>>, Vec<Vec<i64>>) {
    let mut three = vec![vec![0; 7]; reports[0].application_rows.len()];
    let mut four = vec![vec![0; 5]; 3];
    for r in reports {
        for (s, row) in three.iter_mut().zip(&r.application_rows) {
            s.iter_mut().zip(&row.values).for_each(|(a, b)| *a += b);
        }
        for (s, b) in four.iter_mut().zip(&r.review_blocks) {
            s.iter_mut().zip([b.upheld, b.corrected, b.other, b.pending, b.total]).for_each(|(a, b)| *a += b);
        }
    }
    (three, four)
}

fn cells(r: &proto::Report) -> (Vec<Vec<i64>>, Vec<Vec<i64>>) {
    sum(&[r])
}

#[tokio::test]
async fn a_three_level_region_rolls_up_derived_and_submitted_members_cell_for_cell() {
    let mut app = spawn_app().await;
    // Units that run the service.
    app.ok(history("unit-p", 0)).await;
    app.ok(history("unit-x1", 1)).await;
    // Units that do not: their tables come from their own systems (here
    // another service), as TSV and JSON files.
    let mut elsewhere = spawn_app().await;
    elsewhere.ok(history("unit-c1", 2)).await;
    elsewhere.ok(history("unit-x2", 3)).await;
    let c1 = quarter(&elsewhere, "unit-c1").await;
    let x2 = quarter(&elsewhere, "unit-x2").await;
    set_group(&app, "county-x", &["unit-x1", "unit-x2", "unit-x3"], &[]).await.unwrap();
    set_group(&app, "city-a", &["unit-c1"], &["county-x"]).await.unwrap();
    set_group(&app, "province", &["unit-p"], &["city-a"]).await.unwrap();

    // A group cannot contain itself, at any depth, nor hold a unit twice.
    let e = set_group(&app, "county-x", &["unit-x1"], &["province"]).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("cannot contain itself"), "{}", e.message());
    let e = set_group(&app, "region-2", &["unit-c1"], &["city-a"]).await.unwrap_err();
    assert!(e.message().contains("counted twice"), "{}", e.message());

    // unit-c1 sends its quarter's TSV; it passes and is accepted.
    let c1_sent = submit(&app, "unit-c1", "unit-c1-2024-q3.tsv", render::render(&c1, Format::Tsv).unwrap()).await;
    assert!(c1_sent.failures.is_empty(), "{:?}", c1_sent.failures);
    // unit-x2 fills the official workbook in by hand, with one wrong cell:
    // 4.1 × 商业企业 as 2.
    let mut wrong = x2.clone();
    wrong.application_rows.iter_mut().find(|r| r.code == "4.1").unwrap().values[1] += 1;
    let x2_wrong = submit_bytes(&app, "unit-x2", "unit-x2-2024-q3.xlsx", hand_filled_workbook(&wrong)).await;
    let named: Vec<(String, String, String, i64, Option<i64>)> = x2_wrong
        .failures
        .iter()
        .map(|f| (f.identity.clone(), f.row.clone(), f.column.clone(), f.found, f.expected))
        .collect();
    assert_eq!(
        named,
        vec![
            ("leaf_sum".into(), "7_total".into(), "commercial_enterprise".into(), 1, Some(2)),
            ("row_sum".into(), "4.1".into(), "total".into(), 1, Some(2)),
        ],
        "the wrong cell is named by row, column, the expected number and the identity"
    );
    let before = rollup(&app, "province", None).await;
    let city = member(&before, "city-a");
    assert!(city.is_group && city.counted);

    // In the county: the failing submission is kept, shown, not counted.
    let county = rollup(&app, "county-x", None).await;
    let x2m = member(&county, "unit-x2");
    assert_eq!(x2m.source, proto::TableSource::Submitted as i32);
    assert!(!x2m.accepted && !x2m.counted);
    assert_eq!(x2m.failed_checks, ["leaf_sum", "row_sum"]);
    assert_eq!(x2m.table.as_ref().unwrap().application_rows.iter().find(|r| r.code == "4.1").unwrap().values[1], 2);
    assert_eq!(member(&county, "unit-x3").source, proto::TableSource::None as i32);
    let x1 = quarter(&app, "unit-x1").await;
    assert_eq!(cells(county.total.as_ref().unwrap()), cells(&x1), "only unit-x1 counts");

    // Accepting the wrong table is refused once a corrected one replaced it.
    let x2_right =
        submit(&app, "unit-x2", "unit-x2-2024-q3-corrected.json", Table::derived(&x2, "unit-x2").unwrap().to_json())
            .await;
    assert!(x2_right.failures.is_empty());
    let refused = app
        .reports()
        .await
        .accept_table(proto::AcceptTableRequest {
            agency_id: "unit-x2".into(),
            period: Some(q3()),
            sha256: x2_wrong.sha256.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains(&x2_right.sha256), "{}", refused.message());
    for (agency, sha256) in [("unit-x2", &x2_right.sha256), ("unit-c1", &c1_sent.sha256)] {
        app.reports()
            .await
            .accept_table(proto::AcceptTableRequest {
                agency_id: agency.into(),
                period: Some(q3()),
                sha256: sha256.clone(),
            })
            .await
            .expect("accepted");
    }
    // The history keeps both submissions of unit-x2.
    let history: Vec<String> = app
        .log_of("unit-x2")
        .await
        .iter()
        .filter_map(|r| match r.event.as_ref()?.payload.as_ref()? {
            Payload::TableSubmitted(t) => Some(t.sha256.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(history, [x2_wrong.sha256.clone(), x2_right.sha256.clone()]);

    // Every level now sums its counted members cell for cell.
    let province = rollup(&app, "province", None).await;
    let p = quarter(&app, "unit-p").await;
    let total = province.total.as_ref().unwrap();
    assert!(total.checks_passed, "{:?}", total.checks);
    assert!(total.checks.iter().any(|c| c.name == "derived_members_equal_consolidated_table" && c.passed));
    assert_eq!(cells(total), sum(&[&p, &x1, &c1, &x2]), "province = unit-p + unit-x1 + unit-c1 + unit-x2");
    let city = member(&province, "city-a");
    assert_eq!(cells(city.table.as_ref().unwrap()), sum(&[&x1, &c1, &x2]));
    let county = rollup(&app, "county-x", None).await;
    assert_eq!(cells(county.total.as_ref().unwrap()), sum(&[&x1, &x2]));
    assert!(member(&county, "unit-x2").counted);

    // Late: unit-x3 has no table; with a due date before today's
    // acceptances, the submitting units are late too.
    assert!(province.late_member_ids.is_empty(), "no due date, no one late");
    let today = disclosure_ledger::domain::date::CivilDate::today_in_china();
    let on_time = rollup(&app, "province", Some(today.to_proto())).await;
    assert_eq!(on_time.late_member_ids, ["unit-x3"]);
    let yesterday = rollup(&app, "province", Some(today.pred().to_proto())).await;
    let mut late = yesterday.late_member_ids.clone();
    late.sort();
    assert_eq!(late, ["unit-c1", "unit-x2", "unit-x3"]);

    // As a workbook: a summary sheet, the total, then each member's tables
    // in the official layout (each reads back as a submitted table would).
    let book = disclosure_ledger::report::publication::xlsx::rollup_xlsx(&province).unwrap();
    let mut sheets = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(book.clone())).unwrap();
    use calamine::Reader as _;
    assert_eq!(sheets.sheet_names(), ["汇总", "province 合计", "unit-p", "city-a"]);
    let summary = sheets.worksheet_range("汇总").unwrap();
    let names: Vec<String> = summary.rows().skip(3).take(2).map(|r| r[0].to_string()).collect();
    assert_eq!(names, ["unit-p", "city-a"]);
    assert!(summary.rows().any(|r| r[0] == "合计校验全部通过"));
    let county_book = disclosure_ledger::report::publication::xlsx::rollup_xlsx(&county).unwrap();
    let read_total = {
        // The total's sheet alone, as a unit would send it.
        let mut sheets = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(county_book)).unwrap();
        let names = sheets.sheet_names();
        assert_eq!(names, ["汇总", "county-x 合计", "unit-x1", "unit-x2"], "unit-x3 has no table");
        sheets.worksheet_range("county-x 合计").unwrap()
    };
    let new_row = read_total.rows().find(|r| r[0].to_string().contains("新收")).unwrap();
    let total_new: Vec<i64> = new_row[3..10].iter().map(|c| c.to_string().parse().unwrap()).collect();
    assert_eq!(total_new, county.total.as_ref().unwrap().application_rows[0].values);

    // As one JSON file: every member's table in the exchange format, valid
    // against the published schemas.
    let bundle = disclosure_ledger::report::rollup::Bundle::of(&county).unwrap();
    let value: serde_json::Value = serde_json::from_str(&bundle.to_json()).unwrap();
    let table_schema: serde_json::Value = serde_json::from_str(disclosure_ledger::report::exchange::SCHEMA).unwrap();
    let rollup_schema: serde_json::Value =
        serde_json::from_str(disclosure_ledger::report::rollup::BUNDLE_SCHEMA).unwrap();
    let registry = jsonschema::Registry::new()
        .add(table_schema["$id"].as_str().unwrap(), table_schema.clone())
        .unwrap()
        .prepare()
        .unwrap();
    let validator = jsonschema::options().with_registry(&registry).build(&rollup_schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&value).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(value["members"][1]["source"], "submitted");
    assert_eq!(value["members"][1]["table"]["source"]["kind"], "submitted");
    assert_eq!(value["members"][1]["table"]["source"]["sha256"], x2_right.sha256.as_str());
    assert_eq!(value["members"][2]["source"], "none");
    assert_eq!(value["total"]["source"]["kind"], "rollup");
    let mut broken = value.clone();
    broken["members"][0]["table"]["section_three"]["rows"][0]["code"] = "x".into();
    assert!(!validator.is_valid(&broken), "the member tables are checked against table-v1");

    // A second identical submission records nothing new.
    let again = submit(&app, "unit-c1", "unit-c1-2024-q3.tsv", render::render(&c1, Format::Tsv).unwrap()).await;
    assert!(again.duplicate);
    // Submitted tables change no derived number.
    let v = app.reports().await.verify_tallies(proto::VerifyTalliesRequest { deep: true }).await.unwrap().into_inner();
    assert!(v.differences.is_empty(), "{:?}", v.differences);
    drop(elsewhere);
}

#[tokio::test]
async fn the_seeds_published_text_is_submitted_with_every_check_passing_and_a_bad_file_changes_nothing() {
    let mut app = spawn_app().await;
    let seed = include_str!("fixtures/annual-report-2020-heilongjiang-jgj.txt");
    let r = submit(&app, "hlj-jgj", "annual-report-2020.txt", seed.into()).await;
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    assert_eq!(r.sha256.len(), 64);
    let table: Table = serde_json::from_str(&r.table_json).unwrap();
    assert_eq!((table.template.as_str(), table.period.name.as_str()), ("2019", "2020"));
    let head = app.log().await.len();
    let bad = app
        .reports()
        .await
        .submit_table(proto::SubmitTableRequest {
            agency_id: "hlj-jgj".into(),
            file_name: "broken.json".into(),
            content: b"{\"format\": \"something else\"}".to_vec(),
            year: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("content"), "{}", bad.message());
    // A table_submitted event sent straight to AppendEvents is checked too.
    let mut e = event(
        "table-2020-01-01..2020-12-31",
        date(2020, 12, 31),
        Payload::TableSubmitted(proto::TableSubmitted {
            first_day: date(2020, 1, 1),
            last_day: date(2020, 12, 31),
            file_name: "x.json".into(),
            sha256: "ab".repeat(32),
            table_json: "{}".into(),
        }),
    );
    e.agency_id = "hlj-jgj".into();
    let refused = app.append(vec![e]).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("table_json"), "{}", refused.message());
    assert_eq!(app.log().await.len(), head, "nothing was written");
}
