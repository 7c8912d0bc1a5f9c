//! Importing ledgers: a 100,000-row CSV whose tables must equal the
//! ledger's own counts, all-or-nothing files, --skip-bad with a rejects
//! file, idempotent re-imports, XLSX with a mapping file, and JSON Lines.

mod support;

use std::collections::HashMap;

use disclosure_ledger::cli::import::{Imported, Options, run};
use disclosure_ledger::cli::remote::Remote;
use disclosure_ledger::domain::ids::AgencyId;
use disclosure_ledger::ops::import::{self, Mapping, Table};
use rand::{Rng, SeedableRng};
use support::*;

fn options(skip_bad: bool, rejects: Option<std::path::PathBuf>) -> Options {
    Options { agency: AgencyId::parse(AGENCY).unwrap(), skip_bad, rejects, batch: 1000, progress: false }
}

async fn import(app: &TestApp, table: &Table, mapping: &Mapping, o: &Options) -> anyhow::Result<Imported> {
    let remote = Remote::connect(&server_arg(app)).await.expect("connect");
    run(&remote, table, mapping, o).await
}

const HEADER: &str = "申请编号,收到申请日期,申请人类型,申请方式,办理状态,办结日期,办理结果,收费金额（分）";
const APPLICANTS: [&str; 6] = ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"];
const CODES: [&str; 21] = [
    "1", "2", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "4.1", "4.2", "4.3", "5.1", "5.2", "5.3", "5.4",
    "5.5", "6.1", "6.2", "6.3",
];
const LABELS: [&str; 21] = [
    "予以公开",
    "部分公开",
    "属于国家秘密",
    "其他法律行政法规禁止公开",
    "危及“三安全一稳定”",
    "保护第三方合法权益",
    "属于三类内部事务信息",
    "属于四类过程性信息",
    "属于行政执法案卷",
    "属于行政查询事项",
    "本机关不掌握相关政府信息",
    "没有现成信息需要另行制作",
    "补正后申请内容仍不明确",
    "信访举报投诉类申请",
    "重复申请",
    "要求提供公开出版物",
    "无正当理由大量反复申请",
    "要求行政机关确认或重新出具已获取信息",
    "申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "其他",
];

/// What a generated ledger says, counted straight from its rows.
#[derive(Default)]
struct Counts {
    /// (year, applicant column) -> received
    new: HashMap<(i32, usize), i64>,
    /// (year, leaf code, column) -> concluded
    leaf: HashMap<(i32, &'static str, usize), i64>,
    /// (received, concluded or None, column)
    spans: Vec<(chrono::NaiveDate, Option<chrono::NaiveDate>, usize)>,
}

/// A ledger of `n` applications received 2021-2024, in mixed date styles,
/// outcomes as codes or labels, some withdrawn, some still open.
fn ledger(n: usize) -> (String, Counts) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_241_231);
    let mut csv = String::from(HEADER);
    csv.push('\n');
    let mut counts = Counts::default();
    let start = chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    for i in 0..n {
        let received = start + chrono::Duration::days(rng.random_range(0..1461));
        let column = rng.random_range(0..6);
        let date = |d: chrono::NaiveDate, style: u32| match style {
            0 => d.format("%Y-%m-%d").to_string(),
            1 => d.format("%Y/%-m/%-d").to_string(),
            _ => d.format("%Y年%-m月%-d日").to_string(),
        };
        let open = received.year_ce().1 == 2024 && rng.random_bool(0.3) || rng.random_bool(0.02);
        let (status, concluded, outcome, fee, leaf) = if open {
            ("办理中", String::new(), String::new(), String::new(), None)
        } else {
            let on = received + chrono::Duration::days(rng.random_range(0..45));
            let on = on.min(chrono::NaiveDate::from_ymd_opt(2024, 12, 31).unwrap());
            let (text, code) = if rng.random_bool(0.05) {
                ("撤回".to_owned(), "6.3")
            } else {
                let k = rng.random_range(0..21);
                let text = if rng.random_bool(0.5) { CODES[k].to_owned() } else { LABELS[k].to_owned() };
                (text, CODES[k])
            };
            let fee = if code == "6.2" { "5000".to_owned() } else { String::new() };
            ("已办结", date(on, rng.random_range(0..3)), text, fee, Some((on, code)))
        };
        let channel = ["网络", "信函", "当面", ""][rng.random_range(0..4)];
        csv.push_str(&format!(
            "依申请〔{}〕{i}号,{},{},{channel},{status},{concluded},\"{outcome}\",{fee}\n",
            chrono::Datelike::year(&received),
            date(received, rng.random_range(0..3)),
            APPLICANTS[column]
        ));
        *counts.new.entry((chrono::Datelike::year(&received), column)).or_default() += 1;
        if let Some((on, code)) = leaf {
            *counts.leaf.entry((chrono::Datelike::year(&on), code, column)).or_default() += 1;
        }
        counts.spans.push((received, leaf.map(|(on, _)| on), column));
    }
    (csv, counts)
}

use chrono::Datelike as _;

fn expected_row(f: impl Fn(usize) -> i64) -> Vec<i64> {
    let mut v: Vec<i64> = (0..6).map(&f).collect();
    v.push(v.iter().sum());
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100000_row_ledger_imports_and_its_tables_match_its_own_counts() {
    let mut app = spawn_app().await;
    let (csv, counts) = ledger(100_000);
    let table = import::read_csv(csv.as_bytes()).expect("csv");
    let started = std::time::Instant::now();
    let done = import(&app, &table, &Mapping::default(), &options(false, None)).await.expect("import");
    println!("imported {done:?} in {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(done.rows, 100_000);
    assert_eq!(done.applications, 100_000);
    assert_eq!((done.skipped, done.already_recorded), (0, 0));

    for year in 2021..=2024 {
        let report = app.report(AGENCY, year, 0).await;
        assert_eq!(
            row(&report, "new"),
            expected_row(|c| counts.new.get(&(year, c)).copied().unwrap_or(0)),
            "{year} new"
        );
        for code in CODES {
            let want = expected_row(|c| counts.leaf.get(&(year, code, c)).copied().unwrap_or(0));
            assert_eq!(row(&report, code), want, "{year} {code}");
        }
        let end = chrono::NaiveDate::from_ymd_opt(year, 12, 31).unwrap();
        let open_at_end = |c: usize| {
            counts.spans.iter().filter(|(r, on, col)| *col == c && *r <= end && on.is_none_or(|on| on > end)).count()
                as i64
        };
        assert_eq!(row(&report, "carried_out"), expected_row(open_at_end), "{year} carried out");
    }

    // The same file again changes nothing.
    let head = app.log().await.len();
    let again = import(&app, &table, &Mapping::default(), &options(false, None)).await.expect("again");
    assert_eq!((again.applications, again.already_recorded, again.events), (0, 100_000, 0));
    assert_eq!(app.log().await.len(), head);
}

#[tokio::test]
async fn a_bad_row_refuses_the_file_unless_skipped() {
    let mut app = spawn_app().await;
    let csv = format!(
        "{HEADER}\n\
         A-1,2024-03-01,自然人,网络,已办结,2024-03-20,予以公开,\n\
         A-2,2024-13-01,自然人,网络,办理中,,,\n\
         A-3,2024-03-05,外星人,网络,办理中,,,\n\
         A-4,2024-03-05,商业企业,网络,已办结,2024-03-01,1,\n\
         A-1,2024-03-06,自然人,网络,办理中,,,\n\
         A-5,2024-03-06,法律服务机构,信函,已办结,2024-03-26,6.2,\n\
         A-6,2024-03-07,科研机构,传真,已办结,2024-03-27,4.3,\n"
    );
    let table = import::read_csv(csv.as_bytes()).unwrap();
    let e = import(&app, &table, &Mapping::default(), &options(false, None)).await.unwrap_err().to_string();
    for (row, why) in [(3, "收到申请日期"), (4, "外星人"), (5, "before the receipt"), (6, "also on row 2"), (7, "6.2")]
    {
        assert!(e.contains(&format!("row {row}: ")) && e.contains(why), "row {row} ({why}) missing from:\n{e}");
    }
    assert!(e.contains("nothing was written"), "{e}");
    assert!(app.log().await.is_empty(), "a bad row refuses the whole file");

    // An application already recorded by the live system is caught by the
    // server's own check, also before anything is written.
    app.ok(vec![person("A-6", date(2024, 3, 7))]).await;
    let e = import(&app, &table, &Mapping::default(), &options(false, None)).await.unwrap_err().to_string();
    assert!(e.contains("row 8: "), "{e}");
    assert_eq!(app.log().await.len(), 1);

    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let done =
        import(&app, &table, &Mapping::default(), &options(true, Some(rejects.clone()))).await.expect("skip bad");
    assert_eq!((done.applications, done.skipped), (1, 6), "{done:?}");
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(rejected.lines().count(), 7, "a header and six rows:\n{rejected}");
    assert!(rejected.lines().nth(1).unwrap().starts_with("3,"), "{rejected}");
    assert!(!rejected.starts_with('\u{feff}'), "UTF-8 in, UTF-8 out");
    // The same ledger as Excel on Chinese Windows saves it (GB18030): the
    // rejects start with a byte-order mark, so that Excel reads them as UTF-8.
    let (gbk, _, _) = encoding_rs::GB18030.encode(&csv);
    let excel = import::read_csv(&gbk).unwrap();
    let for_excel = dir.path().join("rejects-excel.csv");
    import(&app, &excel, &Mapping::default(), &options(true, Some(for_excel.clone()))).await.expect("skip bad");
    let rejected = std::fs::read_to_string(&for_excel).unwrap();
    assert!(rejected.starts_with('\u{feff}'), "a BOM for Excel");
    assert_eq!(rejected.lines().count(), 7, "{rejected}");
    let a1 = app.application(AGENCY, "A-1").await.application.unwrap();
    assert_eq!(a1.status, disclosure_ledger::wire::proto::ApplicationStatus::Concluded as i32);
}

#[tokio::test]
async fn xlsx_with_a_mapping_file_and_json_lines() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    // A workbook with the agency's own headers and real date cells.
    let path = dir.path().join("台账.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in ["受理号", "登记日期", "申请主体", "答复时间", "答复结果"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let day = |d| rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 5, d).unwrap();
    sheet.write_string(1, 0, "X-1").unwrap();
    sheet.write_datetime_with_format(1, 1, day(6), &date_format).unwrap();
    sheet.write_string(1, 2, "公民").unwrap();
    sheet.write_datetime_with_format(1, 3, day(20), &date_format).unwrap();
    sheet.write_number(1, 4, 2).unwrap(); // 部分公开, typed as a number
    sheet.write_string(2, 0, "X-2").unwrap();
    sheet.write_string(2, 1, "2024年5月7日").unwrap();
    sheet.write_string(2, 2, "商业企业").unwrap();
    book.save(&path).unwrap();
    let mapping_path = dir.path().join("mapping.toml");
    std::fs::write(
        &mapping_path,
        "[columns]\nnumber = \"受理号\"\nreceived_on = \"登记日期\"\napplicant = \"申请主体\"\n\
         concluded_on = \"答复时间\"\noutcome = \"答复结果\"\n",
    )
    .unwrap();
    let mapping = Mapping::load(&mapping_path).unwrap();
    let done = import(&app, &import::read(&path).unwrap(), &mapping, &options(false, None)).await.expect("xlsx");
    assert_eq!(done.applications, 2);
    let report = app.report(AGENCY, 2024, 0).await;
    assert_eq!(row(&report, "2"), one(0, 1));
    assert_eq!(row(&report, "carried_out"), one(1, 1));

    // JSON Lines rows, keyed by the recognised column names.
    let jsonl = r#"{"number": "J-1", "received_on": "2024-06-03", "applicant": "natural_person", "status": "concluded", "concluded_on": "2024-06-10", "outcome": "withdrawn"}
{"number": "J-2", "received_on": "2024-06-04", "applicant": "其他", "channel": "网络"}"#;
    let done =
        import(&app, &import::read_jsonl(jsonl).unwrap(), &Mapping::default(), &options(false, None)).await.unwrap();
    assert_eq!(done.applications, 2);
    let report = app.report(AGENCY, 2024, 0).await;
    assert_eq!(row(&report, "6.3"), one(0, 1), "a withdrawal counts as 6.3");
}

#[test]
fn labels_codes_and_dates_are_read_as_ledgers_write_them() {
    use disclosure_ledger::domain::codes::Outcome;
    use import::Ending;
    assert_eq!(import::row::parse_outcome("3.1"), Ok(Ending::Concluded(Outcome::WithheldStateSecret)));
    assert_eq!(import::row::parse_outcome("1.属于国家秘密"), Ok(Ending::Concluded(Outcome::WithheldStateSecret)));
    assert_eq!(import::row::parse_outcome("（一）予以公开"), Ok(Ending::Concluded(Outcome::Disclosed)));
    assert_eq!(import::row::parse_outcome("部分公开"), Ok(Ending::Concluded(Outcome::PartlyDisclosed)));
    assert_eq!(import::row::parse_outcome("其他"), Ok(Ending::Concluded(Outcome::Other)));
    assert_eq!(
        import::row::parse_outcome("OUTCOME_NOT_PROCESSED_REPEATED"),
        Ok(Ending::Concluded(Outcome::NotProcessedRepeated))
    );
    assert_eq!(import::row::parse_outcome("撤回"), Ok(Ending::Withdrawn));
    assert!(import::row::parse_outcome("不知道").is_err());
    for s in ["2024-03-01", "2024/3/1", "2024.03.01", "2024年3月1日", "2024-03-01 09:30:00"] {
        assert_eq!(import::row::parse_date(s).unwrap().to_string(), "2024-03-01", "{s}");
    }
    assert!(import::row::parse_date("2007-12-31").is_err(), "before the Regulations");
    // Excel on Chinese Windows writes GB18030.
    let (gbk, _, _) = encoding_rs::GB18030.encode("申请编号,收到申请日期,申请人类型\nA-1,2024-03-01,自然人\n");
    let table = import::read_csv(&gbk).unwrap();
    assert_eq!(table.headers[0], "申请编号");
    assert_eq!(table.rows[0].1[2], "自然人");
}
