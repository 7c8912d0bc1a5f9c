//! The finished report printed: the sample agency's 2024 report is written
//! by the CLI (as a user would) against the real server, printed to A4 PDF
//! through headless Chromium (the HTML) and by the service itself (the
//! PDF), and each page's text is read back with `pdftotext`: every page
//! holding rows of table 三 also holds its header row, no heading ends a
//! page, the page numbers run 1..N, and every font is embedded. The DOCX
//! is unzipped: every table is the text width, has header rows repeated
//! (`w:tblHeader`) and rows that do not split (`w:cantSplit`), and the
//! document says it is Chinese (`w:lang w:eastAsia="zh-CN"`), by whom and
//! when. Screenshots of the printed pages go to `target/print/`.
//!
//! `.ci/run` installs chromium, poppler-utils and the CJK fonts and sets
//! `DISCLOSURE_REQUIRE_BROWSER=1`; elsewhere a missing tool is SKIPPED.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use disclosure_ledger::cli::tables::{Publish, annual_report};
use disclosure_ledger::report::publication::Options;
use support::*;

const SAMPLE: &str = "sample-agency";

fn tools_present() -> bool {
    let has = |tool: &str| Command::new(tool).arg("-v").output().is_ok();
    let present = has("pdftotext") && has("pdftoppm") && Path::new("/usr/bin/chromium").exists();
    if !present {
        assert!(
            std::env::var_os("DISCLOSURE_REQUIRE_BROWSER").is_none(),
            "chromium and poppler-utils are required here"
        );
        eprintln!("SKIPPED: chromium or poppler-utils is not installed (.ci/run installs them)");
    }
    present
}

/// A server holding the sample agency's two years and its 2024 text.
async fn sample() -> TestApp {
    let app = spawn_app().await;
    for file in ["sample-years.jsonl", "section-two.jsonl", "annual-report-2024.jsonl"] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join(file);
        disclosure_ledger::cli::events::append(&server_arg(&app), &path, 100).await.expect("the sample");
    }
    app
}

async fn write(app: &TestApp, output: &Path, options: Options) {
    let publish = Publish { format: None, output: output.to_owned(), options, allow_missing_text: false };
    annual_report(&server_arg(app), SAMPLE, 2024, None, None, publish).await.expect("the report is written");
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/print");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Each page's text, laid out as printed.
fn pages(pdf: &Path) -> Vec<String> {
    let out = Command::new("pdftotext").arg("-layout").arg(pdf).arg("-").output().expect("pdftotext runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

const HEADINGS: [&str; 6] = [
    "一、总体情况",
    "二、主动公开政府信息情况",
    "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况",
    "五、存在的主要问题及改进情况",
    "六、其他需要报告的事项",
];

/// Labels only the rows of table 三 carry (not its header, not the prose).
const ROWS_OF_THREE: [&str; 7] = [
    "本年新收政府信息公开申请数量",
    "上年结转政府信息公开申请数量",
    "属于国家秘密",
    "本机关不掌握相关政府信息",
    "信访举报投诉类申请",
    "（七）总计",
    "四、结转下年度继续办理",
];

/// The checks the issue names, on one printed PDF; `what` names it.
/// Labels of table 三 that must stay on one line wherever they are printed.
const UNBROKEN: [&str; 6] =
    ["自然人", "（一）予以公开", "（三）不予公开", "（四）无法提供", "（五）不予处理", "（六）其他处理"];

fn check_printed(pdf: &Path, what: &str) {
    let pages = pages(pdf);
    assert!(pages.len() >= 3, "{what}: the sample report takes several pages ({})", pages.len());
    let mut pages_with_rows = 0;
    for (i, page) in pages.iter().enumerate() {
        let n = i + 1;
        let lines: Vec<&str> = page.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let squashed: String = page.chars().filter(|c| !c.is_whitespace()).collect();
        // The page number, alone on the last line.
        // (Text extraction keeps or drops the spaces around the number.)
        let last: String = lines.last().unwrap_or(&"").chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(last, format!("—{n}—"), "{what}: page {n}'s number\n{page}");
        // No heading is the last thing on a page.
        let before_number = lines.len().checked_sub(2).map(|k| lines[k]).unwrap_or("");
        for h in HEADINGS {
            assert!(!before_number.ends_with(h), "{what}: page {n} ends with the heading {h}\n{page}");
        }
        if ROWS_OF_THREE.iter().any(|label| squashed.contains(label)) {
            pages_with_rows += 1;
            assert!(
                squashed.contains("申请人情况") && squashed.contains("法人或其他组织") && squashed.contains("勾稽关系"),
                "{what}: page {n} holds rows of table 三 without its header row\n{page}"
            );
            // Short labels are never broken inside a word ("不予公/开").
            // (its first characters, before any break, say it is on the page)
            let start = |l: &str| l.chars().take(if l.chars().count() > 4 { 4 } else { 2 }).collect::<String>();
            for label in UNBROKEN.iter().filter(|l| squashed.contains(&start(l))) {
                assert!(lines.iter().any(|l| l.contains(label)), "{what}: page {n} breaks {label}\n{page}");
            }
        }
    }
    assert!(pages_with_rows >= 2, "{what}: table 三 runs over two pages in the sample ({pages_with_rows})");
    // The report is the agency's words: no log position in the body but the
    // colophon's.
    let all: String = pages.concat();
    assert!(!all.contains("反映日志位置"), "{what}: the old provenance sentence is gone");
    assert!(all.contains("示例市机关事务管理局") && all.contains("2025年1月20日"), "{what}: the sign-off");
}

fn screenshots(pdf: &Path, prefix: &str) {
    let out = out_dir().join(prefix);
    let status = Command::new("pdftoppm").args(["-png", "-r", "60"]).arg(pdf).arg(&out).status().unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn the_printed_report_keeps_headings_with_tables_repeats_headers_and_numbers_its_pages() {
    if !tools_present() {
        return;
    }
    let app = sample().await;
    let dir = tempfile::tempdir().unwrap();

    // The service's own PDF.
    let pdf = dir.path().join("report.pdf");
    write(&app, &pdf, Options::default()).await;
    let fonts = Command::new("pdffonts").arg(&pdf).output().expect("pdffonts runs");
    let fonts = String::from_utf8(fonts.stdout).unwrap();
    let faces: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!faces.is_empty(), "{fonts}");
    for face in &faces {
        let cols: Vec<&str> = face.split_whitespace().collect();
        // name type... encoding emb sub uni: every face embedded, as a subset.
        let n = cols.len();
        assert_eq!(&cols[n - 5..n - 2], &["yes", "yes", "yes"], "embedded, subset, with ToUnicode: {face}");
        assert!(face.contains("CJK"), "the faces are the CJK ones found on the system: {face}");
    }
    let info = String::from_utf8(Command::new("pdfinfo").arg(&pdf).output().unwrap().stdout).unwrap();
    assert!(info.contains("示例市机关事务管理局2024年政府信息公开工作年度报告"), "title\n{info}");
    assert!(info.lines().any(|l| l.starts_with("Author:") && l.contains("示例市机关事务管理局")), "author\n{info}");
    assert!(info.contains("日志位置"), "the provenance is in the properties\n{info}");
    check_printed(&pdf, "the service's PDF");
    std::fs::copy(&pdf, out_dir().join("report.pdf")).unwrap();
    screenshots(&pdf, "pdf-page");

    // The HTML printed by headless Chromium, with no header or footer of its own.
    let html = dir.path().join("report.html");
    write(&app, &html, Options::default()).await;
    let printed = dir.path().join("chromium.pdf");
    let profile = tempfile::tempdir().unwrap();
    let status = Command::new("/usr/bin/chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--print-to-pdf={}", printed.display()))
        .arg(format!("file://{}", html.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("chromium runs");
    assert!(status.success() && printed.exists(), "chromium printed the page");
    check_printed(&printed, "the HTML printed by Chromium");
    std::fs::copy(&printed, out_dir().join("report-chromium.pdf")).unwrap();
    screenshots(&printed, "html-page");

    // Without the colophon, no provenance at all in the body.
    let plain = dir.path().join("plain.pdf");
    write(&app, &plain, Options { colophon: false, ..Options::default() }).await;
    assert!(!pages(&plain).concat().contains("disclosure-ledger"), "--no-colophon leaves the agency's words only");
}

/// An attribute's value in the first element of `xml` named `tag`.
fn attr(xml: &str, tag: &str, name: &str) -> Option<u32> {
    let at = xml.find(&format!("<{tag} "))?;
    let element = &xml[at..at + xml[at..].find('>')?];
    let key = format!("{name}=\"");
    let start = element.find(&key)? + key.len();
    element[start..start + element[start..].find('"')?].parse().ok()
}

#[tokio::test]
async fn every_docx_table_fits_the_text_width_repeats_its_header_and_never_splits_a_row() {
    let app = sample().await;
    let dir = tempfile::tempdir().unwrap();
    let docx = dir.path().join("report.docx");
    write(&app, &docx, Options::default()).await;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&docx).unwrap()).expect("a zip");
    let mut read = |name: &str| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).unwrap_or_else(|_| panic!("{name}")), &mut s).unwrap();
        s
    };
    let document = read("word/document.xml");
    let styles = read("word/styles.xml");
    let core = read("docProps/core.xml");
    let fonts = read("word/fontTable.xml");

    let page = attr(&document, "w:pgSz", "w:w").expect("a page size");
    let (left, right) =
        (attr(&document, "w:pgMar", "w:left").expect("margins"), attr(&document, "w:pgMar", "w:right").unwrap());
    assert_eq!(page, 11_906, "A4");
    let text_width = page - left - right;
    let tables: Vec<&str> = document.split("<w:tbl>").skip(1).map(|t| t.split("</w:tbl>").next().unwrap()).collect();
    assert!(tables.len() >= 3, "二, 三 and 四: {}", tables.len());
    for (i, t) in tables.iter().enumerate() {
        assert_eq!(attr(t, "w:tblW", "w:w"), Some(text_width), "table {i}'s width is the text width");
        let grid: u32 = t.split("<w:gridCol ").skip(1).map(|g| attr(&format!("<x {g}"), "x", "w:w").unwrap()).sum();
        assert_eq!(grid, text_width, "table {i}'s columns add up to the text width");
        let rows: Vec<&str> = t.split("<w:tr>").skip(1).collect();
        assert!(rows.iter().all(|r| r.contains("<w:cantSplit/>")), "table {i}: no row splits across pages");
        assert!(rows[0].contains("<w:tblHeader/>"), "table {i}: its header row repeats on every page");
        let cells: Vec<u32> = rows
            .iter()
            .map(|r| r.split("<w:tcW ").skip(1).map(|c| attr(&format!("<x {c}"), "x", "w:w").unwrap()).sum())
            .collect();
        assert!(cells.iter().all(|w| *w == text_width), "table {i}: every row's cells fill the width: {cells:?}");
    }
    // Table 三's three header rows repeat; its body rows do not.
    let three = tables.iter().find(|t| t.contains("申请人情况")).expect("table 三");
    let headers = three.split("<w:tr>").skip(1).filter(|r| r.contains("<w:tblHeader/>")).count();
    assert_eq!(headers, 3, "table 三's header is three rows");
    // Section 四's fifteen columns leave room for two characters of 9 pt
    // (180 twips each) beside the cell margins: no header one character per line.
    let four = tables.iter().find(|t| t.contains("行政复议")).expect("table 四");
    let narrowest = four.split("<w:gridCol ").skip(1).map(|g| attr(&format!("<x {g}"), "x", "w:w").unwrap()).min();
    assert!(narrowest.unwrap() >= 2 * 180 + 80, "{narrowest:?}");

    assert!(styles.contains(r#"w:eastAsia="zh-CN""#), "the document's language is zh-CN: {styles}");
    assert!(styles.contains("<w:lang "), "w:lang is set");
    for (role, font) in [("title", "方正小标宋简体"), ("body", "仿宋_GB2312"), ("headings", "黑体")] {
        assert!(styles.contains(&format!("w:eastAsia=\"{font}\"")), "{role} in {font}");
        assert!(fonts.contains(&format!("w:name=\"{font}\"><w:altName")), "{font} has a fallback");
    }
    assert!(core.contains("<dc:creator>示例市机关事务管理局</dc:creator>"), "the agency is the author: {core}");
    assert!(core.contains("<dc:title>示例市机关事务管理局2024年政府信息公开工作年度报告</dc:title>"), "{core}");
    assert!(!core.contains("1970-01-01") && !core.contains("unknown"), "{core}");
    assert!(!document.contains("反映日志位置"), "no provenance sentence in the body");
}

#[tokio::test]
async fn a_report_missing_text_is_refused_unless_allowed_and_a_contradicting_format_is_refused() {
    let app = spawn_app().await;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sample-years.jsonl");
    disclosure_ledger::cli::events::append(&server_arg(&app), &path, 100).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("draft.html");
    let publish = |allow: bool| Publish {
        format: None,
        output: output.clone(),
        options: Options::default(),
        allow_missing_text: allow,
    };
    let err = annual_report(&server_arg(&app), SAMPLE, 2024, None, None, publish(false)).await.unwrap_err();
    let message = err.to_string();
    for section in ["机关名称", "一、总体情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项", "落款"]
    {
        assert!(message.contains(section), "{section} is named: {message}");
    }
    assert!(!output.exists(), "nothing written");
    annual_report(&server_arg(&app), SAMPLE, 2024, None, None, publish(true)).await.expect("a draft when allowed");
    assert!(output.exists());

    let wrong = Publish {
        format: Some(disclosure_ledger::report::publication::Format::Docx),
        output: dir.path().join("report.pdf"),
        options: Options::default(),
        allow_missing_text: true,
    };
    let err = annual_report(&server_arg(&app), SAMPLE, 2024, None, None, wrong).await.unwrap_err();
    assert!(err.to_string().contains("contradicts"), "{err}");
    assert!(!dir.path().join("report.pdf").exists());
}
