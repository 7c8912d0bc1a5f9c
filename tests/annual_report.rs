//! The finished report: a year of events for every section plus the
//! agency's text, assembled by the server as of one log position, with the
//! numbers the text quotes filled from the same tables; rendered as HTML,
//! DOCX and XLSX and each checked against the derived tables, cell by cell.

mod support;

use disclosure_ledger::report::publication::{Format, Options, publish};
use disclosure_ledger::wire::proto::{self, event::Payload};
use support::*;

fn text(year: i32, section: proto::ReportSection, text: &str) -> proto::Event {
    event(
        &format!("annual-report-{year}"),
        date(2025, 1, 10),
        Payload::ReportTextSet(proto::ReportTextSet { year, section: section as i32, text: text.into() }),
    )
}

/// A year of events touching every section of the 2024 report.
async fn year_of_events(app: &mut TestApp) {
    use proto::{ApplicantCategory as A, Outcome as O};
    let mut events = vec![
        received("a1", date(2024, 1, 5), A::NaturalPerson),
        concluded("a1", date(2024, 1, 20), O::Disclosed),
        received("a2", date(2024, 2, 5), A::CommercialEnterprise),
        concluded("a2", date(2024, 2, 25), O::PartlyDisclosed),
        received("a3", date(2024, 3, 5), A::LegalServiceProvider),
        concluded("a3", date(2024, 3, 20), O::UnavailableNotHeld),
        received("a4", date(2024, 12, 20), A::NaturalPerson),
        received("a5", date(2023, 12, 28), A::ResearchInstitution),
        concluded("a5", date(2024, 1, 9), O::NotProcessedRepeated),
    ];
    events.push(event(
        "r1",
        date(2024, 4, 1),
        Payload::ReviewCaseFiled(proto::ReviewCaseFiled {
            kind: proto::ReviewKind::Reconsideration as i32,
            application_subject_id: "a2".into(),
        }),
    ));
    events.push(event(
        "r1",
        date(2024, 6, 1),
        Payload::ReviewCaseDecided(proto::ReviewCaseDecided { result: proto::ReviewResult::Upheld as i32 }),
    ));
    events.push(event(
        "r2",
        date(2024, 7, 1),
        Payload::ReviewCaseFiled(proto::ReviewCaseFiled {
            kind: proto::ReviewKind::DirectSuit as i32,
            application_subject_id: String::new(),
        }),
    ));
    events.push(event(
        "规-1",
        date(2024, 3, 1),
        Payload::DocumentIssued(proto::DocumentIssued { kind: proto::DocumentKind::NormativeDocument as i32 }),
    ));
    events.push(event(
        "决定-1",
        date(2024, 5, 6),
        Payload::DecisionsMade(proto::DecisionsMade { kind: proto::DecisionKind::Licensing as i32, count: 7 }),
    ));
    events.push(event(
        "收费-1",
        date(2024, 5, 31),
        Payload::FeesCollected(proto::FeesCollected { amount_fen: 12_345_600 }),
    ));
    events.push(text(2024, proto::ReportSection::AgencyName, "测试市机关事务管理局"));
    events.push(text(
        2024,
        proto::ReportSection::Preamble,
        "按照《中华人民共和国政府信息公开条例》规定，现公布本机关{year}年度政府信息公开工作年度报告。",
    ));
    events.push(text(
        2024,
        proto::ReportSection::Overview,
        "本年度共收到政府信息公开申请{new}件，上年结转{carried_in}件，办结{concluded}件，\
         其中予以公开{disclosed}件；结转下年度{carried_out}件。\n\n本年制发规范性文件{normative_documents_issued}件，\
         作出行政许可决定{licensing_decisions}件，收取行政事业性收费{fees_wan_yuan}万元。",
    ));
    events.push(text(2024, proto::ReportSection::Problems, "行政复议{reconsideration}件，行政诉讼{litigation}件。"));
    events.push(text(2024, proto::ReportSection::Other, "无。"));
    app.ok(events).await;
}

async fn annual(app: &TestApp, as_of: u64) -> proto::AnnualReport {
    app.reports()
        .await
        .get_annual_report(proto::GetAnnualReportRequest {
            agency_id: AGENCY.into(),
            year: 2024,
            template: 0,
            review_dating: 0,
            as_of_position: as_of,
        })
        .await
        .expect("annual report")
        .into_inner()
        .annual_report
        .expect("report")
}

/// Every number of the tables, in the order a reader meets them: section
/// 二 (as shown, money in 万元), 三 row by row, 四 block by block.
fn expected_numbers(t: &proto::Report) -> Vec<String> {
    let mut out = Vec::new();
    for b in &t.proactive_blocks {
        for row in &b.rows {
            for (c, v) in row.values.iter().enumerate() {
                let money = b.money.get(c).copied().unwrap_or(false);
                out.push(if money { disclosure_ledger::report::proactive_table::wan_yuan(*v) } else { v.to_string() });
            }
        }
    }
    for row in &t.application_rows {
        out.extend(row.values.iter().map(ToString::to_string));
    }
    for b in &t.review_blocks {
        out.extend([b.upheld, b.corrected, b.other, b.pending, b.total].iter().map(ToString::to_string));
    }
    out
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.parse::<f64>().is_ok()
}

#[tokio::test]
async fn the_finished_report_quotes_its_own_tables_in_every_format() {
    let mut app = spawn_app().await;
    year_of_events(&mut app).await;
    let r = annual(&app, 0).await;
    let t = r.tables.clone().expect("tables");
    assert!(t.checks_passed, "{:?}", t.checks);
    assert_eq!(r.title, "测试市机关事务管理局2024年政府信息公开工作年度报告");

    // The prose numbers are the tables' numbers.
    let total = |code: &str| row(&t, code)[6];
    let overview = &r.texts.iter().find(|x| x.section == proto::ReportSection::Overview as i32).unwrap().text;
    let wanted = format!(
        "本年度共收到政府信息公开申请{}件，上年结转{}件，办结{}件，其中予以公开{}件；结转下年度{}件。",
        total("new"),
        total("carried_in"),
        total("total"),
        total("1"),
        total("carried_out")
    );
    assert!(overview.contains(&wanted), "{overview}\n{wanted}");
    assert_eq!((total("new"), total("carried_in"), total("total"), total("carried_out")), (4, 1, 4, 1));
    assert!(
        overview.contains("本年制发规范性文件1件，作出行政许可决定7件，收取行政事业性收费12.3456万元"),
        "{overview}"
    );
    let problems = &r.texts.iter().find(|x| x.section == proto::ReportSection::Problems as i32).unwrap().text;
    assert_eq!(problems, "行政复议1件，行政诉讼1件。");
    let headings: Vec<&str> = r.texts.iter().map(|x| x.heading.as_str()).collect();
    assert_eq!(headings, vec!["", "一、总体情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项"]);

    let numbers = expected_numbers(&t);
    assert_eq!(numbers.len(), 10 + 25 * 7 + 15, "section 二 (2021), 三 and 四");

    // HTML: the provenance in the colophon and the properties (not the
    // body's words), and every table cell.
    let html = String::from_utf8(publish(&r, Format::Html, &Options::default()).unwrap()).unwrap();
    assert!(html.contains(&format!("日志位置 {}", t.log_position)), "the colophon");
    assert!(html.contains(&format!(
        "<meta name=\"description\" content=\"由 disclosure-ledger 从事件日志推导：日志位置 {}",
        t.log_position
    )));
    assert!(!html.contains("反映日志位置"));
    let cells: Vec<String> = html
        .split("<td class=\"num\"")
        .skip(1)
        .map(|c| c.split('>').nth(1).unwrap().split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(cells, numbers, "HTML cells");
    let order: Vec<usize> =
        ["<h1>", "一、总体情况", "二、主动公开", "三、收到和处理", "四、政府信息公开行政复议", "五、存在", "六、其他"]
            .iter()
            .map(|h| html.find(h).unwrap_or_else(|| panic!("{h} missing")))
            .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "sections in report order: {order:?}");

    // DOCX: unzip, read word/document.xml, every numeric table cell in order.
    let docx = publish(&r, Format::Docx, &Options::default()).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).expect("a zip");
    let mut xml = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("word/document.xml").expect("document.xml"), &mut xml).unwrap();
    let cell_texts: Vec<String> = xml
        .split("<w:tc>")
        .skip(1)
        .map(|cell| {
            let cell = cell.split("</w:tc>").next().unwrap();
            // Runs of text are `<w:t>` or `<w:t xml:space=...>` (not `<w:tcPr>`).
            cell.split("<w:t")
                .skip(1)
                .filter(|t| t.starts_with('>') || t.starts_with(' '))
                .filter_map(|t| t.split_once('>').map(|(_, r)| r.split("</w:t>").next().unwrap()))
                .collect()
        })
        .collect();
    let docx_numbers: Vec<String> = cell_texts.into_iter().filter(|c| is_number(c)).collect();
    assert_eq!(docx_numbers, numbers, "DOCX cells");
    assert!(xml.contains("w:vMerge") && xml.contains("w:gridSpan"), "merged cells as in the template");
    assert!(xml.contains(&wanted), "the text is in the document");

    // XLSX: read back, one sheet per section, merged cells, every value.
    let xlsx = publish(&r, Format::Xlsx, &Options::default()).unwrap();
    use calamine::{Data, Reader};
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx)).expect("an xlsx");
    assert_eq!(book.sheet_names(), vec!["二、主动公开", "三、依申请公开", "四、复议诉讼"]);
    let mut xlsx_numbers = Vec::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).unwrap();
        for row in range.rows() {
            for cell in row {
                if let Data::Float(f) = cell {
                    xlsx_numbers.push(if f.fract() == 0.0 { format!("{}", *f as i64) } else { format!("{f}") });
                }
            }
        }
    }
    assert_eq!(xlsx_numbers, numbers, "XLSX cells");
    let merged = book.merge_cells_by_sheet_name("三、依申请公开").unwrap();
    assert!(merged.len() >= 10, "the header and label cells are merged: {}", merged.len());
}

#[tokio::test]
async fn the_text_is_as_of_the_same_position_as_the_tables() {
    let mut app = spawn_app().await;
    app.ok(vec![person("a1", date(2024, 3, 1)), text(2024, proto::ReportSection::Overview, "共收到申请{new}件。")])
        .await;
    let first = app.log().await.len() as u64;
    app.ok(vec![
        person("a2", date(2024, 3, 2)),
        text(2024, proto::ReportSection::Overview, "本年度共收到申请{new}件，均已登记。"),
    ])
    .await;
    let then = annual(&app, first).await;
    assert_eq!(then.texts[0].text, "共收到申请1件。", "the old text with the old number");
    let now = annual(&app, 0).await;
    assert_eq!(now.texts[0].text, "本年度共收到申请2件，均已登记。");
    // Without a name, the agency id stands in.
    assert_eq!(now.title, format!("{AGENCY}2024年政府信息公开工作年度报告"));
}

#[tokio::test]
async fn a_text_with_an_unknown_placeholder_or_the_wrong_stream_is_refused() {
    let mut app = spawn_app().await;
    let status = app.append(vec![text(2024, proto::ReportSection::Overview, "共收到{nwe}件")]).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("events[0].report_text_set.text") && status.message().contains("{nwe}"));
    let mut wrong = text(2024, proto::ReportSection::Overview, "无");
    wrong.subject_id = "annual-report-2023".into();
    let status = app.append(vec![wrong]).await.unwrap_err();
    assert!(status.message().contains("events[0].subject_id"), "{}", status.message());
    assert!(app.log().await.is_empty());
}

#[tokio::test]
async fn a_publication_names_the_position_the_report_was_published_at() {
    let mut app = spawn_app().await;
    let agency = AGENCY;
    app.ok(vec![person("a1", date(2024, 3, 1))]).await;
    let published = |label: &str| {
        event(
            "annual-report-2024",
            date(2025, 1, 20),
            Payload::ReportPublished(proto::ReportPublished { year: 2024, label: label.into() }),
        )
    };
    let first = published("正式发布");
    let first_id = first.event_id.clone();
    let at = app.ok(vec![first]).await.results[0].position;
    app.ok(vec![person("a2", date(2024, 4, 1))]).await;
    let again = app.ok(vec![published("更正后重新发布")]).await.results[0].position;
    let reports = app.reports().await;
    let annual = |as_of: u64| {
        let mut reports = reports.clone();
        async move {
            reports
                .get_annual_report(proto::GetAnnualReportRequest {
                    agency_id: agency.into(),
                    year: 2024,
                    as_of_position: as_of,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .annual_report
                .unwrap()
        }
    };
    let now = annual(0).await;
    let seen: Vec<(String, u64)> = now.publications.iter().map(|p| (p.label.clone(), p.position)).collect();
    assert_eq!(seen, [("正式发布".to_string(), at), ("更正后重新发布".to_string(), again)]);
    assert_eq!(now.publications[0].published_on, date(2025, 1, 20));
    // As published: the tables as of that position.
    let then = annual(at).await;
    assert_eq!(row(then.tables.as_ref().unwrap(), "new")[6], 1);
    assert_eq!(then.publications.len(), 1, "only what was published by then");
    assert_eq!(row(now.tables.as_ref().unwrap(), "new")[6], 2);
    // A voided publication is not one.
    app.ok(vec![voided("annual-report-2024", date(2025, 1, 21), &first_id)]).await;
    assert_eq!(annual(0).await.publications.len(), 1);
    // A label is required, and the stream must be the year's.
    let no_label = app.append(vec![published("  ")]).await.unwrap_err();
    assert!(no_label.message().contains("report_published.label"), "{}", no_label.message());
    let wrong = proto::Event { subject_id: "annual-report-2023".into(), ..published("正式发布") };
    let wrong = app.append(vec![wrong]).await.unwrap_err();
    assert!(wrong.message().contains("subject_id"), "{}", wrong.message());
    // Every placeholder is listed with its value in these tables.
    assert!(now.placeholders.iter().any(|p| p.name == "new" && p.value == "2"));
}
