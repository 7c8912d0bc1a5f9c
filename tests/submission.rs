//! Tables submitted by units that do not run the service: the seed's
//! published text reads as a 2019-template table with every identity
//! passing; a table the service wrote (its JSON and its TSV) reads back
//! cell for cell; one wrong cell is named by row, column, the number the
//! identity expects and the identity; 上年结转 is checked against the
//! period before.

mod support;

use disclosure_ledger::report::exchange::{Source, Table};
use disclosure_ledger::report::render::{self, Format};
use disclosure_ledger::report::submission::{self, Failure};
use disclosure_ledger::wire::proto;
use support::*;

const SEED: &str = include_str!("fixtures/annual-report-2020-heilongjiang-jgj.txt");

#[test]
fn the_seeds_published_text_reads_as_a_table_that_passes_every_check() {
    let table = submission::read(SEED.as_bytes(), "annual-report-2020.txt", "hlj-jgj", None).unwrap();
    assert_eq!(table.template, "2019");
    assert_eq!(table.period.name, "2020", "from its 统计期限");
    assert_eq!(table.section_three.rows.len(), 23);
    assert!(table.section_three.rows.iter().all(|r| r.values == [0; 7]));
    assert!(table.checks.iter().all(|c| c.passed), "{:?}", table.checks);
    let Source::Submitted { sha256, file_kind, .. } = &table.source else { panic!("a submitted source") };
    assert_eq!(sha256.len(), 64);
    assert_eq!(file_kind, "text");
    assert_eq!(table.section_two.len(), 5, "the 2019 template's five blocks of section 二");
    // The seed is tab-separated: as a .tsv it reads the same.
    let tsv = submission::read(SEED.as_bytes(), "annual-report-2020.tsv", "hlj-jgj", None).unwrap();
    assert_eq!(numbers(&tsv), numbers(&table));
    assert!(tsv.checks.iter().all(|c| c.passed));
}

#[tokio::test]
async fn a_workbook_reads_back_cell_for_cell_as_the_service_writes_it_and_as_filled_in_by_hand() {
    let (_app, _, y2024) = sample().await;
    let expected = Table::derived(&y2024, AGENCY).unwrap();
    let book = proto::AnnualReport { title: "样例".into(), tables: Some(y2024.clone()), ..Default::default() };
    let written = disclosure_ledger::report::publication::xlsx::xlsx(&book).unwrap();
    let read = submission::read(&written, "agency-a-2024.xlsx", AGENCY, None).unwrap();
    assert_eq!(numbers(&read), numbers(&expected));
    assert_eq!(read.section_four.blocks, expected.section_four.blocks);
    assert_eq!(read.section_two, expected.section_two, "section 二, money from 万元 back to fen");
    assert_eq!(read.period.name, "2024", "from the statement under the tables");
    let Source::Submitted { file_kind, .. } = &read.source else { panic!("a submitted source") };
    assert_eq!(file_kind, "xlsx");
    let by_hand = submission::read(&hand_filled_workbook(&y2024), "手填.xlsx", AGENCY, None).unwrap();
    assert_eq!(numbers(&by_hand), numbers(&expected), "merged labels, blanks as 0, numbers as text");
    assert_eq!(by_hand.section_four.blocks, expected.section_four.blocks);
    assert!(by_hand.checks.iter().all(|c| c.passed), "{:?}", by_hand.checks);
    // A damaged workbook is refused, naming the file.
    let mut bytes = written.clone();
    bytes.truncate(bytes.len() / 2);
    let err = submission::read(&bytes, "broken.xlsx", AGENCY, None).unwrap_err().to_string();
    assert!(err.contains("broken.xlsx") && err.contains("workbook"), "{err}");
}

async fn sample() -> (TestApp, proto::Report, proto::Report) {
    use proto::ApplicantCategory as A;
    use proto::Outcome as O;
    let mut app = spawn_app().await;
    app.ok(vec![
        received("s1", date(2023, 11, 2), A::NaturalPerson),
        received("s2", date(2023, 12, 20), A::ResearchInstitution),
        concluded("s2", date(2024, 1, 15), O::PartlyDisclosed),
        received("s3", date(2024, 3, 1), A::NaturalPerson),
        concluded("s3", date(2024, 3, 20), O::UnavailableNotHeld),
        received("s4", date(2024, 6, 1), A::OtherOrganization),
        concluded("s4", date(2024, 6, 30), O::Other),
        received("s5", date(2024, 12, 29), A::CommercialEnterprise),
        event(
            "费-1",
            date(2024, 5, 1),
            proto::event::Payload::FeesCollected(proto::FeesCollected { amount_fen: 1_234_567 }),
        ),
        event(
            "r1",
            date(2024, 4, 2),
            proto::event::Payload::ReviewCaseFiled(proto::ReviewCaseFiled {
                kind: proto::ReviewKind::DirectSuit as i32,
                application_subject_id: "s3".into(),
            }),
        ),
    ])
    .await;
    let y2023 = app.report(AGENCY, 2023, 0).await;
    let y2024 = app.report(AGENCY, 2024, 0).await;
    (app, y2023, y2024)
}

fn numbers(table: &Table) -> Vec<(String, Vec<i64>)> {
    table.section_three.rows.iter().map(|r| (r.code.clone(), r.values.clone())).collect()
}

#[tokio::test]
async fn a_table_the_service_wrote_reads_back_cell_for_cell_from_its_json_and_its_tsv() {
    let (_app, _, y2024) = sample().await;
    let derived = Table::derived(&y2024, AGENCY).unwrap();
    let json = render::render(&y2024, Format::Json).unwrap();
    let from_json = submission::read(json.as_bytes(), "agency-a-2024.json", "", None).unwrap();
    assert_eq!(numbers(&from_json), numbers(&derived));
    assert_eq!(from_json.section_two, derived.section_two);
    assert_eq!(from_json.agency, AGENCY, "a JSON table names its agency");
    assert!(from_json.checks.iter().all(|c| c.passed));
    for template in [proto::Template::Template2019, proto::Template::Template2021] {
        let app_report = {
            let mut r = y2024.clone();
            if template == proto::Template::Template2019 {
                r = _app.report_with(AGENCY, 2024, 0, template, proto::ReviewDating::Unspecified).await;
            }
            r
        };
        let tsv = render::render(&app_report, Format::Tsv).unwrap();
        let from_tsv = submission::read(tsv.as_bytes(), "agency-a-2024.tsv", AGENCY, Some(2024)).unwrap();
        let expected = Table::derived(&app_report, AGENCY).unwrap();
        assert_eq!(numbers(&from_tsv), numbers(&expected), "{template:?}");
        assert_eq!(from_tsv.section_four.blocks, expected.section_four.blocks);
        assert_eq!(from_tsv.section_four.blocks[1].values, [0, 0, 0, 1, 1], "a pending suit");
        assert_eq!(from_tsv.section_two, expected.section_two, "section 二, money from 万元 back to fen");
        assert!(from_tsv.checks.iter().all(|c| c.passed), "{:?}", from_tsv.checks);
    }
}

#[tokio::test]
async fn one_wrong_cell_is_named_by_row_column_expected_number_and_identity() {
    let (_app, y2023, y2024) = sample().await;
    let mut table = Table::derived(&y2024, AGENCY).unwrap();
    // 4.1 × 自然人 typed as 2 instead of 1.
    let row = table.section_three.rows.iter_mut().find(|r| r.code == "4.1").unwrap();
    assert_eq!(row.values[0], 1);
    row.values[0] = 2;
    let read = submission::read(table.to_json().as_bytes(), "wrong.json", "", None).unwrap();
    let failures = submission::failures(&read, None);
    let expected = vec![
        Failure {
            identity: "leaf_sum",
            section: "三",
            row: "7_total".into(),
            column: "natural_person".into(),
            found: 1,
            expected: Some(2),
        },
        Failure {
            identity: "row_sum",
            section: "三",
            row: "4.1".into(),
            column: "total".into(),
            found: 1,
            expected: Some(2),
        },
    ];
    assert_eq!(failures, expected);
    assert_eq!(failures[0].to_string(), "三 7_total × natural_person: 1, leaf_sum expects 2");
    let failed: Vec<&str> = read.checks.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect();
    assert_eq!(failed, ["leaf_sum", "row_sum"], "the table is kept with its failures as its checks");

    // 上年结转 against the period before: right, then wrong.
    let previous = Table::derived(&y2023, AGENCY).unwrap();
    let good = Table::derived(&y2024, AGENCY).unwrap();
    assert!(submission::failures(&good, Some(&previous)).is_empty());
    let mut wrong = previous.clone();
    wrong.section_three.rows.iter_mut().find(|r| r.code == "carried_out").unwrap().values[0] = 3;
    let f = submission::failures(&good, Some(&wrong));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].identity, f[0].row.as_str(), f[0].column.as_str()),
        ("carried_in_equals_previous_carried_out", "carried_in", "natural_person")
    );
    assert_eq!((f[0].found, f[0].expected), (1, Some(3)));
}

#[test]
fn a_file_that_is_not_a_table_is_refused_with_what_is_wrong() {
    let err = submission::read(b"not json", "x.json", "", None).unwrap_err().to_string();
    assert!(err.contains("not a table in the exchange format"), "{err}");
    let short = SEED.replace("(七) 总计\t\t0\t0\t0\t0\t0\t0\t0", "(七) 总计\t\t0\t0\t0");
    assert_ne!(short, SEED);
    let err = submission::read(short.as_bytes(), "short.txt", "a", None).unwrap_err().to_string();
    assert!(err.contains("22 rows of seven numbers"), "{err}");
}
