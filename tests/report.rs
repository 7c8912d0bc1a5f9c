//! The annual report tables over gRPC: the golden table from a published
//! report, and hand-built histories for each row and counting rule.

mod support;

use disclosure_ledger::wire::proto::{self, event::Payload};
use support::*;

const PERSON: usize = 0;
const COMMERCIAL: usize = 1;
const LAW_FIRM: usize = 4;

use disclosure_ledger::report::submission::fold_label;

/// The numbered rows of section 三 in the seed: (label, 7 numbers).
fn seed_rows() -> Vec<(String, Vec<i64>)> {
    let text = include_str!("fixtures/annual-report-2020-heilongjiang-jgj.txt");
    let start = text.find("三、收到和处理政府信息公开申请情况").expect("section 三");
    let end = text.find("四、政府信息公开行政复议").expect("section 四");
    let mut rows = Vec::new();
    for line in text[start..end].lines() {
        let cells: Vec<&str> = line.split('\t').map(str::trim).filter(|c| !c.is_empty()).collect();
        if cells.len() < 8 {
            continue;
        }
        let (labels, numbers) = cells.split_at(cells.len() - 7);
        let Ok(numbers) = numbers.iter().map(|n| n.parse::<i64>()).collect::<Result<Vec<_>, _>>() else { continue };
        rows.push((labels.last().unwrap().to_string(), numbers));
    }
    rows
}

#[tokio::test]
async fn an_agency_with_no_events_yields_the_seeds_2020_table() {
    let app = spawn_app().await;
    let report = app.report("hlj-jgj", 2020, 0).await;
    assert_eq!(report.template(), proto::Template::Template2019);
    let seed = seed_rows();
    assert_eq!(seed.len(), 23, "the seed's 2019-template table has 23 numbered rows");
    let ours: Vec<(String, Vec<i64>)> =
        report.application_rows.iter().map(|r| (r.label.clone(), r.values.clone())).collect();
    assert_eq!(ours.len(), seed.len());
    for ((our_label, our_values), (seed_label, seed_values)) in ours.iter().zip(&seed) {
        assert_eq!(fold_label(our_label), fold_label(seed_label));
        assert_eq!(our_values, seed_values);
    }
    // The header note, too.
    let text = include_str!("fixtures/annual-report-2020-heilongjiang-jgj.txt");
    assert!(fold_label(text).contains(&fold_label(disclosure_ledger::report::template::BALANCE_NOTE)));
    assert_eq!(report.period, "2020年1月1日至2020年12月31日");
}

#[tokio::test]
async fn a_december_receipt_concluded_in_january_spans_two_years() {
    let mut app = spawn_app().await;
    app.ok(vec![
        received("a1", date(2023, 12, 28), proto::ApplicantCategory::CommercialEnterprise),
        concluded("a1", date(2024, 1, 8), proto::Outcome::Disclosed),
    ])
    .await;
    let y2023 = app.report(AGENCY, 2023, 0).await;
    assert_eq!(row(&y2023, "new"), one(COMMERCIAL, 1));
    assert_eq!(row(&y2023, "total"), zeros());
    assert_eq!(row(&y2023, "carried_out"), one(COMMERCIAL, 1));
    let y2024 = app.report(AGENCY, 2024, 0).await;
    assert_eq!(row(&y2024, "new"), zeros());
    assert_eq!(row(&y2024, "carried_in"), one(COMMERCIAL, 1));
    assert_eq!(row(&y2024, "1"), one(COMMERCIAL, 1));
    assert_eq!(row(&y2024, "total"), one(COMMERCIAL, 1));
    assert_eq!(row(&y2024, "carried_out"), zeros());
}

#[tokio::test]
async fn every_outcome_counts_in_its_own_row() {
    let mut app = spawn_app().await;
    let outcomes = [
        (proto::Outcome::Disclosed, "1"),
        (proto::Outcome::PartlyDisclosed, "2"),
        (proto::Outcome::WithheldStateSecret, "3.1"),
        (proto::Outcome::WithheldProhibitedByLaw, "3.2"),
        (proto::Outcome::WithheldSecurityAndStability, "3.3"),
        (proto::Outcome::WithheldThirdPartyRights, "3.4"),
        (proto::Outcome::WithheldInternalAffairs, "3.5"),
        (proto::Outcome::WithheldProcessInformation, "3.6"),
        (proto::Outcome::WithheldEnforcementFile, "3.7"),
        (proto::Outcome::WithheldAdministrativeQuery, "3.8"),
        (proto::Outcome::UnavailableNotHeld, "4.1"),
        (proto::Outcome::UnavailableNeedsCreation, "4.2"),
        (proto::Outcome::NotProcessedPetition, "5.1"),
        (proto::Outcome::NotProcessedRepeated, "5.2"),
        (proto::Outcome::NotProcessedPublication, "5.3"),
        (proto::Outcome::NotProcessedExcessive, "5.4"),
        (proto::Outcome::NotProcessedConfirmation, "5.5"),
        (proto::Outcome::Other, "6.3"),
    ];
    let mut events = Vec::new();
    for (i, (outcome, _)) in outcomes.iter().enumerate() {
        let id = format!("a{i}");
        events.push(person(&id, date(2024, 3, 1)));
        events.push(concluded(&id, date(2024, 4, 1), *outcome));
    }
    // The three outcomes that need earlier steps.
    let sup = |id: &str, on, p: Payload| event(id, on, p);
    events.extend([
        person("b1", date(2024, 3, 1)),
        sup("b1", date(2024, 3, 2), Payload::SupplementRequested(proto::SupplementRequested {})),
        sup("b1", date(2024, 3, 9), Payload::SupplementReceived(proto::SupplementReceived {})),
        concluded("b1", date(2024, 4, 1), proto::Outcome::UnavailableUnclearAfterSupplement),
        person("b2", date(2024, 3, 1)),
        sup("b2", date(2024, 3, 2), Payload::SupplementRequested(proto::SupplementRequested {})),
        concluded("b2", date(2024, 4, 1), proto::Outcome::OtherNoSupplement),
        person("b3", date(2024, 3, 1)),
        sup("b3", date(2024, 3, 2), Payload::FeeNoticeIssued(proto::FeeNoticeIssued { amount_fen: 1000 })),
        concluded("b3", date(2024, 4, 1), proto::Outcome::OtherFeeUnpaid),
        // A withdrawal counts under 6.3 too.
        person("w1", date(2024, 3, 1)),
        sup("w1", date(2024, 3, 5), Payload::ApplicationWithdrawn(proto::ApplicationWithdrawn {})),
    ]);
    app.ok(events).await;
    let r = app.report(AGENCY, 2024, 0).await;
    assert_eq!(r.template(), proto::Template::Template2021);
    assert_eq!(r.application_rows.len(), 25);
    for (_, code) in &outcomes {
        let expected = if *code == "6.3" { 2 } else { 1 };
        assert_eq!(row(&r, code), one(PERSON, expected), "row {code}");
    }
    for code in ["4.3", "6.1", "6.2"] {
        assert_eq!(row(&r, code), one(PERSON, 1), "row {code}");
    }
    assert_eq!(row(&r, "new"), one(PERSON, 22));
    assert_eq!(row(&r, "total"), one(PERSON, 22));
    assert_eq!(row(&r, "carried_out"), zeros());

    // The 2019 template folds 6.1-6.3 into one row.
    let old = app.report_with(AGENCY, 2024, 0, proto::Template::Template2019, proto::ReviewDating::Unspecified).await;
    assert_eq!(old.application_rows.len(), 23);
    assert_eq!(row(&old, "6"), one(PERSON, 4));
    assert!(old.application_rows.iter().all(|r| r.code != "6.1"));
}

#[tokio::test]
async fn correcting_the_applicant_category_moves_the_case_between_columns() {
    let mut app = spawn_app().await;
    let r = person("a1", date(2024, 3, 1));
    let receipt = r.event_id.clone();
    app.ok(vec![r, concluded("a1", date(2024, 3, 20), proto::Outcome::Disclosed)]).await;
    let before = app.report(AGENCY, 2024, 0).await;
    assert_eq!(row(&before, "1"), one(PERSON, 1));
    app.ok(vec![amended("a1", date(2024, 4, 1), &receipt, |a| {
        a.applicant_category = proto::ApplicantCategory::LegalServiceProvider as i32
    })])
    .await;
    let after = app.report(AGENCY, 2024, 0).await;
    assert_eq!(row(&after, "new"), one(LAW_FIRM, 1));
    assert_eq!(row(&after, "1"), one(LAW_FIRM, 1));
    // As of the earlier position, the published table is reproduced.
    let published = app.report(AGENCY, 2024, before.log_position).await;
    assert_eq!(published.application_rows, before.application_rows);
}

#[tokio::test]
async fn a_voided_conclusion_reopens_the_case_in_the_tables() {
    let mut app = spawn_app().await;
    let c = concluded("a1", date(2024, 3, 20), proto::Outcome::Disclosed);
    let conclusion = c.event_id.clone();
    app.ok(vec![person("a1", date(2024, 3, 1)), c]).await;
    assert_eq!(row(&app.report(AGENCY, 2024, 0).await, "total"), one(PERSON, 1));
    app.ok(vec![voided("a1", date(2024, 4, 1), &conclusion)]).await;
    let r = app.report(AGENCY, 2024, 0).await;
    assert_eq!(row(&r, "1"), zeros());
    assert_eq!(row(&r, "total"), zeros());
    assert_eq!(row(&r, "carried_out"), one(PERSON, 1));
    assert_eq!(row(&app.report(AGENCY, 2025, 0).await, "carried_in"), one(PERSON, 1));
}

#[tokio::test]
async fn an_amended_conclusion_date_moves_the_outcome_to_another_year() {
    let mut app = spawn_app().await;
    let c = concluded("a1", date(2024, 1, 3), proto::Outcome::Disclosed);
    let conclusion = c.event_id.clone();
    app.ok(vec![person("a1", date(2023, 12, 20)), c]).await;
    app.ok(vec![amended("a1", date(2024, 1, 5), &conclusion, |a| a.occurred_on = date(2023, 12, 29))]).await;
    let y2023 = app.report(AGENCY, 2023, 0).await;
    assert_eq!(row(&y2023, "1"), one(PERSON, 1));
    assert_eq!(row(&y2023, "carried_out"), zeros());
    assert_eq!(row(&app.report(AGENCY, 2024, 0).await, "carried_in"), zeros());
}

#[tokio::test]
async fn a_split_application_counts_as_its_parts() {
    let mut app = spawn_app().await;
    app.ok(vec![
        person("a1", date(2024, 3, 1)),
        event(
            "a1",
            date(2024, 3, 2),
            Payload::ApplicationSplit(proto::ApplicationSplit {
                part_subject_ids: vec!["a1-1".into(), "a1-2".into(), "a1-3".into()],
            }),
        ),
        concluded("a1-1", date(2024, 3, 10), proto::Outcome::Disclosed),
        concluded("a1-2", date(2024, 3, 10), proto::Outcome::UnavailableNotHeld),
    ])
    .await;
    let r = app.report(AGENCY, 2024, 0).await;
    assert_eq!(row(&r, "new"), one(PERSON, 3));
    assert_eq!(row(&r, "total"), one(PERSON, 2));
    assert_eq!(row(&r, "carried_out"), one(PERSON, 1));
}

#[tokio::test]
async fn section_four_counts_review_cases_both_ways() {
    let mut app = spawn_app().await;
    let filed = |id: &str, on, kind: proto::ReviewKind| {
        event(
            id,
            on,
            Payload::ReviewCaseFiled(proto::ReviewCaseFiled {
                kind: kind as i32,
                application_subject_id: String::new(),
            }),
        )
    };
    let decided = |id: &str, on, result: proto::ReviewResult| {
        event(id, on, Payload::ReviewCaseDecided(proto::ReviewCaseDecided { result: result as i32 }))
    };
    app.ok(vec![
        filed("r1", date(2023, 11, 1), proto::ReviewKind::Reconsideration),
        decided("r1", date(2024, 2, 1), proto::ReviewResult::Corrected),
        filed("r2", date(2024, 3, 1), proto::ReviewKind::Reconsideration),
        decided("r2", date(2024, 5, 1), proto::ReviewResult::Upheld),
        filed("r3", date(2024, 6, 1), proto::ReviewKind::DirectSuit),
        filed("r4", date(2024, 7, 1), proto::ReviewKind::SuitAfterReconsideration),
        decided("r4", date(2025, 1, 10), proto::ReviewResult::Other),
    ])
    .await;
    let default = app.report(AGENCY, 2024, 0).await;
    let block = |r: &proto::Report, k: usize| {
        let b = &r.review_blocks[k];
        vec![b.upheld, b.corrected, b.other, b.pending, b.total]
    };
    // Filed in 2024, status on 31 December 2024.
    assert_eq!(block(&default, 0), vec![1, 0, 0, 0, 1]);
    assert_eq!(block(&default, 1), vec![0, 0, 0, 1, 1]);
    assert_eq!(block(&default, 2), vec![0, 0, 0, 1, 1]);
    // Decided in 2024 by result, plus pending on 31 December 2024.
    let decided_dating =
        app.report_with(AGENCY, 2024, 0, proto::Template::Unspecified, proto::ReviewDating::DecidedInYear).await;
    assert_eq!(block(&decided_dating, 0), vec![1, 1, 0, 0, 2]);
    assert_eq!(block(&decided_dating, 1), vec![0, 0, 0, 1, 1]);
    assert_eq!(block(&decided_dating, 2), vec![0, 0, 0, 1, 1]);
    assert_eq!(block(&app.report(AGENCY, 2023, 0).await, 0), vec![0, 0, 0, 1, 1]);
}

#[tokio::test]
async fn as_of_reproduces_the_published_table_and_diff_names_the_cells() {
    let mut app = spawn_app().await;
    app.ok(vec![person("a1", date(2024, 3, 1)), person("a2", date(2024, 3, 1))]).await;
    let published = app.report(AGENCY, 2024, 0).await;
    let c = concluded("a2", date(2024, 6, 1), proto::Outcome::Disclosed);
    app.ok(vec![c, person("a3", date(2024, 7, 1))]).await;
    let now = app.report(AGENCY, 2024, 0).await;
    assert_ne!(now.application_rows, published.application_rows);
    let again = app.report(AGENCY, 2024, published.log_position).await;
    assert_eq!(again.application_rows, published.application_rows);
    assert_eq!(again.log_position, published.log_position);

    let diff = app
        .reports()
        .await
        .diff_report(proto::DiffReportRequest {
            scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(AGENCY.into())) }),
            year: 2024,
            from_position: published.log_position,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let changed: Vec<(String, String, i64, i64)> =
        diff.changes.iter().map(|c| (c.row.clone(), c.column.clone(), c.before, c.after)).collect();
    assert_eq!(
        changed,
        vec![
            ("new".into(), "自然人".into(), 2, 3),
            ("new".into(), "总计".into(), 2, 3),
            ("1".into(), "自然人".into(), 0, 1),
            ("1".into(), "总计".into(), 0, 1),
            ("total".into(), "自然人".into(), 0, 1),
            ("total".into(), "总计".into(), 0, 1),
        ]
    );
    // A position past the end is refused.
    let status = app
        .reports()
        .await
        .get_report(proto::GetReportRequest {
            scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(AGENCY.into())) }),
            year: 2024,
            as_of_position: 999,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn drill_down_lists_the_applications_behind_a_cell() {
    let mut app = spawn_app().await;
    let mut events = Vec::new();
    for i in 0..7 {
        events.push(person(&format!("a{i}"), date(2024, 3, 1)));
        if i < 5 {
            events.push(concluded(&format!("a{i}"), date(2024, 4, 1), proto::Outcome::WithheldStateSecret));
        }
    }
    events.push(received("c1", date(2024, 3, 1), proto::ApplicantCategory::CommercialEnterprise));
    events.push(concluded("c1", date(2024, 4, 1), proto::Outcome::WithheldStateSecret));
    app.ok(events).await;
    let mut reports = app.reports().await;
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = reports
            .list_cell_applications(proto::ListCellApplicationsRequest {
                agency_id: AGENCY.into(),
                year: 2024,
                row: "3.1".into(),
                column: PERSON as i32,
                page_size: 2,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.deadlines.len(), page.applications.len(), "a deadline for each");
        assert!(page.deadlines.iter().all(|d| matches!(
            d.standing(),
            proto::DeadlineStanding::AnsweredOnTime | proto::DeadlineStanding::AnsweredLate
        )));
        ids.extend(page.applications.into_iter().map(|a| a.application_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(ids, vec!["a0", "a1", "a2", "a3", "a4"]);
    let r = app.report(AGENCY, 2024, 0).await;
    assert_eq!(row(&r, "3.1")[PERSON], ids.len() as i64);
    // The 总计 column and carried-out cell, too.
    let all = reports
        .list_cell_applications(proto::ListCellApplicationsRequest {
            agency_id: AGENCY.into(),
            year: 2024,
            row: "carried_out".into(),
            column: 6,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let open: Vec<_> = all.applications.iter().map(|a| a.application_id.as_str()).collect();
    assert_eq!(open, vec!["a5", "a6"]);
}

#[tokio::test]
async fn consolidated_tables_sum_agencies_and_groups() {
    let mut app = spawn_app().await;
    let mut other = person("x1", date(2024, 3, 1));
    other.agency_id = "agency-b".into();
    app.ok(vec![person("a1", date(2024, 3, 1)), person("a2", date(2024, 3, 1)), other]).await;
    let mut reports = app.reports().await;
    reports
        .set_group(proto::SetGroupRequest {
            group: Some(proto::Group {
                group_id: "province".into(),
                agency_ids: vec![AGENCY.into(), "agency-b".into()],
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    for scope in [
        proto::report_scope::Scope::GroupId("province".into()),
        proto::report_scope::Scope::Agencies(proto::AgencyList { agency_ids: vec![AGENCY.into(), "agency-b".into()] }),
    ] {
        let r = reports
            .get_report(proto::GetReportRequest {
                scope: Some(proto::ReportScope { scope: Some(scope) }),
                year: 2024,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .report
            .unwrap();
        assert!(r.checks_passed);
        assert_eq!(row(&r, "new"), one(PERSON, 3));
        assert_eq!(r.agency_ids, vec![AGENCY.to_string(), "agency-b".to_string()]);
    }
    let unknown = reports
        .get_report(proto::GetReportRequest {
            scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::GroupId("nope".into())) }),
            year: 2024,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn verify_finds_the_tallies_equal_to_a_replay() {
    let mut app = spawn_app().await;
    let c = concluded("a1", date(2024, 3, 20), proto::Outcome::Disclosed);
    let conclusion = c.event_id.clone();
    app.ok(vec![person("a1", date(2023, 3, 1)), c, person("a2", date(2024, 3, 1))]).await;
    app.ok(vec![amended("a1", date(2024, 4, 1), &conclusion, |a| a.outcome = proto::Outcome::Other as i32)]).await;
    let v = app.reports().await.verify_tallies(proto::VerifyTalliesRequest::default()).await.unwrap().into_inner();
    assert!(v.consistent, "{:?}", v.differences);
    assert_eq!(v.events_replayed, 4);
    assert_eq!(v.subjects, 2);
}

#[tokio::test]
async fn bad_report_requests_are_refused() {
    let app = spawn_app().await;
    let mut reports = app.reports().await;
    let agency = |a: &str| Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(a.into())) });
    for (request, field) in [
        (proto::GetReportRequest { scope: None, year: 2024, ..Default::default() }, "scope"),
        (proto::GetReportRequest { scope: agency("a/b"), year: 2024, ..Default::default() }, "scope.agency_id"),
        (proto::GetReportRequest { scope: agency("a"), year: 2007, ..Default::default() }, "year"),
        (proto::GetReportRequest { scope: agency("a"), year: 2024, template: 9, ..Default::default() }, "template"),
    ] {
        let status = reports.get_report(request).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().contains(field), "{}", status.message());
    }
}

#[tokio::test]
async fn the_review_cases_behind_a_cell_of_section_four_as_of_any_position() {
    let mut app = spawn_app().await;
    let filed = |id: &str, on, kind: proto::ReviewKind| {
        event(id, on, Payload::ReviewCaseFiled(proto::ReviewCaseFiled { kind: kind as i32, ..Default::default() }))
    };
    let decided = |id: &str, on, result: proto::ReviewResult| {
        event(id, on, Payload::ReviewCaseDecided(proto::ReviewCaseDecided { result: result as i32 }))
    };
    use proto::{ReviewColumn as C, ReviewKind as K, ReviewResult as R};
    app.ok(vec![
        filed("r1", date(2024, 3, 1), K::Reconsideration),
        decided("r1", date(2024, 5, 1), R::Upheld),
        filed("r2", date(2024, 4, 1), K::Reconsideration),
        filed("r3", date(2024, 6, 1), K::DirectSuit),
        filed("r4", date(2023, 6, 1), K::Reconsideration),
    ])
    .await;
    let before_decision = app.append(vec![decided("r2", date(2024, 11, 1), R::Corrected)]).await.unwrap();
    let decided_at = before_decision.results[0].position;
    let reports = app.reports().await;
    let list = |kind: K, column: C, as_of: u64| {
        let mut reports = reports.clone();
        async move {
            reports
                .list_cell_review_cases(proto::ListCellReviewCasesRequest {
                    agency_id: AGENCY.into(),
                    year: 2024,
                    kind: kind as i32,
                    column: column as i32,
                    as_of_position: as_of,
                    ..Default::default()
                })
                .await
                .map(|r| r.into_inner().review_cases.into_iter().map(|c| c.case_id).collect::<Vec<_>>())
        }
    };
    assert_eq!(list(K::Reconsideration, C::Total, 0).await.unwrap(), ["r1", "r2"], "filed in 2024");
    assert_eq!(list(K::Reconsideration, C::Upheld, 0).await.unwrap(), ["r1"]);
    assert_eq!(list(K::Reconsideration, C::Corrected, 0).await.unwrap(), ["r2"]);
    assert_eq!(list(K::Reconsideration, C::Pending, 0).await.unwrap(), Vec::<String>::new());
    assert_eq!(list(K::DirectSuit, C::Pending, 0).await.unwrap(), ["r3"]);
    // Before r2 was decided it was pending.
    assert_eq!(list(K::Reconsideration, C::Pending, decided_at - 1).await.unwrap(), ["r2"]);
    // Each list is the table's number, in every cell of section 四.
    let r = app.report(AGENCY, 2024, 0).await;
    assert_eq!(r.review_blocks[0].total, 2);
    assert_eq!(r.review_blocks[1].pending, 1);
    for (block, kind) in r.review_blocks.iter().zip([K::Reconsideration, K::DirectSuit, K::SuitAfterReconsideration]) {
        let cells = [
            (C::Upheld, block.upheld),
            (C::Corrected, block.corrected),
            (C::Other, block.other),
            (C::Pending, block.pending),
            (C::Total, block.total),
        ];
        for (column, number) in cells {
            let cases = list(kind, column, 0).await.unwrap();
            assert_eq!(cases.len() as i64, number, "{kind:?} {column:?}: {cases:?}");
        }
    }
    // The case as the API shows it.
    let page = reports
        .clone()
        .list_cell_review_cases(proto::ListCellReviewCasesRequest {
            agency_id: AGENCY.into(),
            year: 2024,
            kind: K::Reconsideration as i32,
            column: C::Upheld as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let c = &page.review_cases[0];
    assert_eq!((c.filed_on, c.decided_on, c.result()), (date(2024, 3, 1), date(2024, 5, 1), R::Upheld));
    // Bad input names its field and changes nothing.
    let bad = list(K::Unspecified, C::Total, 0).await.unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert!(bad.message().contains("kind"), "{}", bad.message());
    let bad = list(K::Reconsideration, C::Unspecified, 0).await.unwrap_err();
    assert!(bad.message().contains("column"), "{}", bad.message());
    let beyond = list(K::Reconsideration, C::Total, decided_at + 10).await.unwrap_err();
    assert_eq!(beyond.code(), tonic::Code::InvalidArgument, "{}", beyond.message());
    assert!(beyond.message().contains("as_of_position"), "{}", beyond.message());
}

#[tokio::test]
async fn groups_are_listed_in_id_order_a_page_at_a_time() {
    let app = spawn_app().await;
    let mut reports = app.reports().await;
    for id in ["zeta", "alpha", "mid"] {
        reports
            .set_group(proto::SetGroupRequest {
                group: Some(proto::Group {
                    group_id: id.into(),
                    agency_ids: vec![AGENCY.into()],
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
    }
    let first = reports.list_groups(proto::ListGroupsRequest { page_size: 2, ..Default::default() }).await.unwrap();
    let first = first.into_inner();
    let ids: Vec<_> = first.groups.iter().map(|g| g.group_id.as_str()).collect();
    assert_eq!(ids, ["alpha", "mid"]);
    let rest = reports
        .list_groups(proto::ListGroupsRequest { page_size: 2, page_token: first.next_page_token })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.groups.iter().map(|g| g.group_id.as_str()).collect::<Vec<_>>(), ["zeta"]);
    assert!(rest.next_page_token.is_empty());
    let bad =
        reports.list_groups(proto::ListGroupsRequest { page_token: "nonsense".into(), ..Default::default() }).await;
    assert_eq!(bad.unwrap_err().code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn a_quarter_counts_what_was_received_concluded_and_carried_in_its_days() {
    let mut app = spawn_app().await;
    app.ok(vec![
        person("q2-open", date(2024, 5, 6)),
        concluded("q2-open", date(2024, 8, 1), proto::Outcome::Disclosed),
        person("q3-done", date(2024, 7, 10)),
        concluded("q3-done", date(2024, 7, 20), proto::Outcome::PartlyDisclosed),
        person("q3-open", date(2024, 9, 2)),
        concluded("q3-open", date(2024, 10, 8), proto::Outcome::Disclosed),
        person("q4", date(2024, 11, 1)),
    ])
    .await;
    let mut reports = app.reports().await;
    let ask = |first, last, year: i32| proto::GetReportRequest {
        scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(AGENCY.into())) }),
        year,
        period: Some(proto::ReportPeriod { first_day: first, last_day: last }),
        ..Default::default()
    };
    let q3 =
        reports.get_report(ask(date(2024, 7, 1), date(2024, 9, 30), 0)).await.unwrap().into_inner().report.unwrap();
    assert!(q3.checks_passed, "{:?}", q3.checks);
    assert_eq!(q3.period, "2024年7月1日至2024年9月30日");
    assert_eq!(q3.year, 2024);
    assert_eq!(row(&q3, "new")[6], 2, "q3-done and q3-open");
    assert_eq!(row(&q3, "carried_in")[6], 1, "q2-open");
    assert_eq!(row(&q3, "1")[6], 1, "q2-open, concluded in August");
    assert_eq!(row(&q3, "2")[6], 1, "q3-done");
    assert_eq!(row(&q3, "carried_out")[6], 1, "q3-open");
    let labels: Vec<&str> = q3.application_rows.iter().map(|r| r.label.as_str()).collect();
    assert!(labels.contains(&"二、上期结转政府信息公开申请数量"), "{labels:?}");
    assert!(labels.contains(&"四、结转下期继续办理"), "{labels:?}");
    // The next quarter carries in what this one carried out.
    let q4 = reports.get_report(ask(date(2024, 10, 1), date(2024, 12, 31), 2024)).await.unwrap().into_inner();
    assert_eq!(row(q4.report.as_ref().unwrap(), "carried_in"), row(&q3, "carried_out"));
    // Bad periods name their field and change nothing.
    let backwards = reports.get_report(ask(date(2024, 9, 30), date(2024, 7, 1), 0)).await.unwrap_err();
    assert_eq!(backwards.code(), tonic::Code::InvalidArgument);
    assert!(backwards.message().contains("period.last_day"), "{}", backwards.message());
    let other_year = reports.get_report(ask(date(2024, 7, 1), date(2024, 9, 30), 2023)).await.unwrap_err();
    assert!(other_year.message().contains("year"), "{}", other_year.message());
    let missing = reports.get_report(ask(None, date(2024, 9, 30), 0)).await.unwrap_err();
    assert!(missing.message().contains("period.first_day"), "{}", missing.message());
    // The cases behind a cell of the quarter, and what changed in it.
    let q3_days = Some(proto::ReportPeriod { first_day: date(2024, 7, 1), last_day: date(2024, 9, 30) });
    let behind = reports
        .list_cell_applications(proto::ListCellApplicationsRequest {
            agency_id: AGENCY.into(),
            row: "carried_in".into(),
            column: 6,
            period: q3_days,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(behind.applications.iter().map(|a| a.application_id.as_str()).collect::<Vec<_>>(), ["q2-open"]);
    let before = q3.log_position;
    app.ok(vec![concluded("q4", date(2024, 11, 20), proto::Outcome::Disclosed)]).await;
    let diff = reports
        .diff_report(proto::DiffReportRequest {
            scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(AGENCY.into())) }),
            from_position: before,
            period: q3_days,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(diff.changes.is_empty(), "a November conclusion changes nothing in Q3: {:?}", diff.changes);
    // The CLI names the period the same way.
    let period: disclosure_ledger::report::period::Period = "2024-Q3".parse().unwrap();
    assert_eq!(period.label(), q3.period);
}

#[tokio::test]
async fn a_corrected_receipt_date_of_a_split_application_moves_every_part_in_every_year() {
    let mut app = spawn_app().await;
    let receipt = person("a1", date(2024, 1, 3));
    let receipt_id = receipt.event_id.clone();
    app.ok(vec![
        receipt,
        event(
            "a1",
            date(2024, 1, 5),
            Payload::ApplicationSplit(proto::ApplicationSplit { part_subject_ids: vec!["a1-1".into(), "a1-2".into()] }),
        ),
        concluded("a1-1", date(2024, 1, 20), proto::Outcome::Disclosed),
    ])
    .await;
    let before = app.report(AGENCY, 2024, 0).await;
    assert_eq!(row(&before, "new")[6], 2);
    let position_before = before.log_position;
    // It was received on 28 December 2023: sent on the original's subject,
    // as an amendment of its receipt date.
    app.ok(vec![amended("a1", date(2024, 1, 10), &receipt_id, |a| a.occurred_on = date(2023, 12, 28))]).await;
    let y2023 = app.report(AGENCY, 2023, 0).await;
    let y2024 = app.report(AGENCY, 2024, 0).await;
    assert_eq!(row(&y2023, "new")[6], 2, "both parts are new in 2023");
    assert_eq!(row(&y2023, "carried_out")[6], 2);
    assert_eq!(row(&y2024, "new")[6], 0);
    assert_eq!(row(&y2024, "carried_in")[6], 2);
    assert_eq!(row(&y2024, "1")[6], 1);
    let part = app.application(AGENCY, "a1-2").await;
    assert_eq!(part.application.unwrap().received_on, date(2023, 12, 28));
    // As of before the correction, the tables stood as they were.
    assert_eq!(row(&app.report(AGENCY, 2024, position_before).await, "new")[6], 2);
    // The tallies still equal a recount and a replay of the log.
    let v = app.reports().await.verify_tallies(proto::VerifyTalliesRequest { deep: true }).await.unwrap().into_inner();
    assert!(v.consistent, "{:?}", v.differences);
    // Only the date: the applicant of a split application is corrected on its parts.
    let applicant = amended("a1", date(2024, 1, 10), &receipt_id, |a| {
        a.applicant_category = proto::ApplicantCategory::CommercialEnterprise as i32
    });
    let refused = app.append(vec![applicant]).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(refused.message().contains("split event"), "{}", refused.message());
}
