//! Section 二 (主动公开政府信息情况) from events: the seed's table for an
//! agency with no events, documents and catalogue items with running totals
//! across years (including ones recorded with dates from before the service
//! started), decisions, fees and procurement in exact money, both templates,
//! the rules of each subject, corrections, and agreement with a replay.

mod support;

use disclosure_ledger::wire::proto::{self, event::Payload};
use support::*;
use tonic::Code;

fn issued(doc: &str, on: Option<proto::google::r#type::Date>, kind: proto::DocumentKind) -> proto::Event {
    event(doc, on, Payload::DocumentIssued(proto::DocumentIssued { kind: kind as i32 }))
}
fn published(doc: &str, on: Option<proto::google::r#type::Date>) -> proto::Event {
    event(doc, on, Payload::DocumentPublished(proto::DocumentPublished {}))
}
fn repealed(doc: &str, on: Option<proto::google::r#type::Date>) -> proto::Event {
    event(doc, on, Payload::DocumentRepealed(proto::DocumentRepealed {}))
}
fn added(item: &str, on: Option<proto::google::r#type::Date>, kind: proto::CatalogueKind) -> proto::Event {
    event(item, on, Payload::CatalogueItemAdded(proto::CatalogueItemAdded { kind: kind as i32 }))
}
fn removed(item: &str, on: Option<proto::google::r#type::Date>) -> proto::Event {
    event(item, on, Payload::CatalogueItemRemoved(proto::CatalogueItemRemoved {}))
}
fn decisions(id: &str, on: Option<proto::google::r#type::Date>, kind: proto::DecisionKind, count: u32) -> proto::Event {
    event(id, on, Payload::DecisionsMade(proto::DecisionsMade { kind: kind as i32, count }))
}
fn fees(id: &str, on: Option<proto::google::r#type::Date>, fen: i64) -> proto::Event {
    event(id, on, Payload::FeesCollected(proto::FeesCollected { amount_fen: fen }))
}
fn procurement(id: &str, on: Option<proto::google::r#type::Date>, fen: i64) -> proto::Event {
    event(id, on, Payload::ProcurementRecorded(proto::ProcurementRecorded { amount_fen: fen }))
}

/// The values of a row of section 二, by block title and row label.
fn cells(report: &proto::Report, block: &str, label: &str) -> Vec<i64> {
    let b = report.proactive_blocks.iter().find(|b| b.title == block).unwrap_or_else(|| panic!("no block {block}"));
    b.rows.iter().find(|r| r.label == label).unwrap_or_else(|| panic!("no row {label}")).values.clone()
}

#[tokio::test]
async fn an_agency_with_no_events_yields_the_seeds_section_two() {
    let app = spawn_app().await;
    let report = app.report("hlj-jgj", 2020, 0).await;
    let text = include_str!("fixtures/annual-report-2020-heilongjiang-jgj.txt");
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.starts_with("二、主动公开政府信息情况")).unwrap() + 2;
    let end = lines.iter().position(|l| l.starts_with("三、收到和处理政府信息公开申请情况")).unwrap() - 1;
    let seed = lines[start..end].join("\n") + "\n";
    assert_eq!(disclosure_ledger::report::render::proactive_tsv(&report), seed);
}

#[tokio::test]
async fn documents_and_catalogue_items_keep_running_totals_across_years() {
    use proto::{CatalogueKind as C, DocumentKind as D};
    let mut app = spawn_app().await;
    app.ok(vec![
        // Issued long before the service started: still counts in force.
        issued("规-2015-1", date(2015, 6, 1), D::Regulation),
        published("规-2015-1", date(2015, 6, 10)),
        issued("规范-2019-1", date(2019, 3, 1), D::NormativeDocument),
        published("规范-2019-1", date(2019, 3, 5)),
        issued("规范-2020-1", date(2020, 2, 1), D::NormativeDocument),
        published("规范-2020-1", date(2020, 2, 3)),
        repealed("规范-2019-1", date(2020, 9, 1)),
        issued("规范-2020-2", date(2020, 12, 30), D::NormativeDocument),
        published("规范-2020-2", date(2021, 1, 4)),
        added("许可-1", date(2018, 1, 1), C::Licensing),
        added("许可-2", date(2019, 5, 1), C::Licensing),
        added("许可-3", date(2020, 5, 1), C::Licensing),
        removed("许可-1", date(2020, 7, 1)),
        removed("许可-2", date(2020, 8, 1)),
        added("收费-1", date(2019, 1, 1), C::Fee),
    ])
    .await;
    // 2020, 2019 template.
    let r = app.report(AGENCY, 2020, 0).await;
    assert_eq!(cells(&r, "第二十条第（一）项", "规章"), vec![0, 0, 1]);
    assert_eq!(cells(&r, "第二十条第（一）项", "规范性文件"), vec![2, 1, 2], "published in 2021 is not yet counted");
    assert_eq!(cells(&r, "第二十条第（五）项", "行政许可"), vec![2, -1, 0], "2 at the end of 2019, net -1 in 2020");
    assert_eq!(cells(&r, "第二十条第（八）项", "行政事业性收费"), vec![1, 0]);
    // 2021, 2021 template: 现行有效件数.
    let r = app.report(AGENCY, 2021, 0).await;
    assert_eq!(cells(&r, "第二十条第（一）项", "规章"), vec![0, 0, 1]);
    assert_eq!(cells(&r, "第二十条第（一）项", "行政规范性文件"), vec![0, 0, 2], "issued 2020 twice, one repealed");
    let r2020 = app.report(AGENCY, 2020, 0).await;
    let by_2021_rules =
        app.report_with(AGENCY, 2020, 0, proto::Template::Template2021, proto::ReviewDating::Unspecified).await;
    assert_eq!(cells(&by_2021_rules, "第二十条第（一）项", "行政规范性文件"), vec![2, 1, 2]);
    assert!(r2020.checks_passed);
}

#[tokio::test]
async fn decisions_fees_and_procurement_are_summed_exactly() {
    use proto::DecisionKind as K;
    let mut app = spawn_app().await;
    app.ok(vec![
        decisions("许可决定-20240301", date(2024, 3, 1), K::Licensing, 12),
        decisions("许可决定-20240302", date(2024, 3, 2), K::Licensing, 1),
        decisions("处罚-1", date(2024, 5, 1), K::Penalty, 3),
        decisions("强制-1", date(2023, 5, 1), K::Coercion, 4),
        fees("收费-2024-03", date(2024, 3, 31), 123_456_789),
        fees("收费-2024-04", date(2024, 4, 30), 1),
        procurement("采购-2020-1", date(2020, 6, 1), 2_500_000),
        procurement("采购-2020-2", date(2020, 7, 1), 1_000_000),
    ])
    .await;
    let r = app.report(AGENCY, 2024, 0).await;
    assert_eq!(cells(&r, "第二十条第（五）项", "行政许可"), vec![13]);
    assert_eq!(cells(&r, "第二十条第（六）项", "行政处罚"), vec![3]);
    assert_eq!(cells(&r, "第二十条第（六）项", "行政强制"), vec![0], "2023's decisions are 2023's");
    assert_eq!(cells(&r, "第二十条第（八）项", "行政事业性收费"), vec![123_456_790], "in fen on the wire");
    let html = disclosure_ledger::report::render::render(&r, disclosure_ledger::report::render::Format::Html).unwrap();
    assert!(html.contains(">123.45679<"), "shown exactly in 万元");
    let r = app.report(AGENCY, 2020, 0).await;
    assert_eq!(cells(&r, "第二十条第（九）项", "政府集中采购"), vec![2, 3_500_000]);
    let tsv = disclosure_ledger::report::render::proactive_tsv(&r);
    assert!(tsv.contains("政府集中采购\t2\t3.5\n"), "{tsv}");
}

#[tokio::test]
async fn each_subject_keeps_its_rules() {
    use proto::{CatalogueKind as C, DocumentKind as D};
    let mut app = spawn_app().await;
    app.ok(vec![issued("规-1", date(2024, 3, 1), D::Regulation), added("项-1", date(2024, 3, 1), C::Penalty)]).await;
    let cases: Vec<(proto::Event, Code, &str)> = vec![
        (published("规-2", date(2024, 3, 2)), Code::FailedPrecondition, "DOCUMENT_NOT_ISSUED"),
        (published("规-1", date(2024, 2, 1)), Code::FailedPrecondition, "PUBLISHED_BEFORE_ISSUED"),
        (repealed("规-1", date(2024, 2, 1)), Code::FailedPrecondition, "REPEALED_BEFORE_ISSUED"),
        (issued("规-1", date(2024, 3, 3), D::Regulation), Code::FailedPrecondition, "ALREADY_ISSUED"),
        (removed("项-2", date(2024, 3, 2)), Code::FailedPrecondition, "ITEM_NOT_ADDED"),
        (removed("项-1", date(2024, 2, 1)), Code::FailedPrecondition, "REMOVED_BEFORE_ADDED"),
        (person("规-1", date(2024, 3, 5)), Code::FailedPrecondition, "WRONG_SUBJECT_KIND"),
        (decisions("d", date(2024, 3, 5), proto::DecisionKind::Licensing, 0), Code::InvalidArgument, "count"),
        (fees("f", date(2024, 3, 5), 0), Code::InvalidArgument, "amount_fen"),
        (issued("规-9", date(2024, 3, 5), D::Unspecified), Code::InvalidArgument, "kind"),
    ];
    for (e, code, what) in cases {
        let before = app.log().await.len();
        let status = app.append(vec![e]).await.unwrap_err();
        assert_eq!(status.code(), code, "{what}: {}", status.message());
        assert!(
            status.message().contains(what) || format!("{:?}", status.details()).contains(what) || {
                use tonic_types::StatusExt;
                status
                    .get_error_details()
                    .precondition_failure()
                    .is_some_and(|p| p.violations.iter().any(|v| v.r#type == what))
            },
            "{what}: {}",
            status.message()
        );
        assert_eq!(app.log().await.len(), before, "{what}: nothing written");
    }
    // A record is one event.
    app.ok(vec![fees("f-1", date(2024, 3, 5), 100)]).await;
    let status = app.append(vec![fees("f-1", date(2024, 3, 6), 100)]).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn corrections_move_numbers_and_a_replay_agrees() {
    use proto::DocumentKind as D;
    let mut app = spawn_app().await;
    let doc = issued("规-1", date(2023, 12, 20), D::Regulation);
    let fee = fees("f-1", date(2024, 3, 5), 5_000_000);
    app.ok(vec![doc.clone(), fee.clone()]).await;
    let before = app.log().await.len() as u64;
    // The issue date was really January; the fee was recorded twice by mistake.
    app.ok(vec![amended("规-1", date(2024, 1, 10), &doc.event_id, |a| a.occurred_on = date(2024, 1, 5))]).await;
    app.ok(vec![voided("f-1", date(2024, 3, 6), &fee.event_id)]).await;
    let now = app.report_with(AGENCY, 2024, 0, proto::Template::Template2021, proto::ReviewDating::Unspecified).await;
    assert_eq!(cells(&now, "第二十条第（一）项", "规章"), vec![1, 0, 1]);
    assert_eq!(cells(&now, "第二十条第（八）项", "行政事业性收费"), vec![0]);
    // As of before the corrections (a replay of the log), the old numbers.
    let then = app.report(AGENCY, 2024, before).await;
    assert_eq!(cells(&then, "第二十条第（一）项", "规章"), vec![0, 0, 1]);
    assert_eq!(cells(&then, "第二十条第（八）项", "行政事业性收费"), vec![5_000_000]);
    let v = app.reports().await.verify_tallies(proto::VerifyTalliesRequest::default()).await.unwrap().into_inner();
    assert!(v.consistent, "{:?}", v.differences);
}
