//! The console in a real browser (Debian's chromium, driven by
//! chromedriver over WebDriver with fantoccini) against the real server
//! with auth on and the two sample years: a reader signs in, opens a year's
//! tables and sees the numbers the API returns, clicks a cell of 三 and
//! sees exactly the cases behind it, opens one case's history; another
//! agency's tables are refused as an unknown agency's are; a script in an
//! application id is shown as text; a state-changing form without the
//! session's CSRF token is refused. Screenshots go to `target/console/`.
//!
//! `.ci/run` installs chromium and chromedriver and sets
//! `DISCLOSURE_REQUIRE_BROWSER=1`; elsewhere a missing browser is SKIPPED.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use disclosure_ledger::wire::proto;
use fantoccini::{ClientBuilder, Locator};
use support::*;

const SAMPLE: &str = "sample-agency";

/// chromedriver on a free port, killed when dropped.
struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn driver() -> Option<Driver> {
    let present = Command::new("chromedriver").arg("--version").output().is_ok_and(|o| o.status.success())
        && std::path::Path::new("/usr/bin/chromium").exists();
    if !present {
        assert!(
            std::env::var_os("DISCLOSURE_REQUIRE_BROWSER").is_none(),
            "chromium and chromedriver are required here"
        );
        eprintln!("SKIPPED: chromium or chromedriver is not installed (.ci/run installs them)");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    Some(Driver(child, port))
}

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/console");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn browser(port: u16) -> fantoccini::Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--window-size=1366,768"],
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return client,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    panic!("chromedriver does not answer on {url}");
}

#[tokio::test]
async fn a_reader_follows_the_numbers_to_the_cases_in_a_real_browser() {
    let Some(driver) = driver() else { return };
    let app = spawn_app_with(tempfile::tempdir().unwrap(), |c| c.auth = true).await;
    let admin = admin_token(&app);
    let writer_token = issue_token(&app, &admin, proto::Role::Writer, SAMPLE).await;
    let reader = issue_token(&app, &admin, proto::Role::Reader, SAMPLE).await;
    let server = disclosure_ledger::cli::args::ServerArg { token: Some(writer_token.clone()), ..server_arg(&app) };
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sample-years.jsonl");
    disclosure_ledger::cli::events::append(&server, &sample, 100).await.expect("the sample years");
    // An application whose id is a script, to be shown as text.
    let script_id = "<script>document.title='x'</script>";
    let mut writer = proto::ledger_service_client::LedgerServiceClient::new(with_token(
        channel(app.addr).await,
        Some(&writer_token),
    ));
    let e = proto::Event { agency_id: SAMPLE.into(), ..person(script_id, date(2024, 5, 6)) };
    writer.append_events(proto::AppendEventsRequest { events: vec![e], ..Default::default() }).await.unwrap();
    // What the API says, to compare the pages with.
    let mut reports =
        proto::report_service_client::ReportServiceClient::new(with_token(channel(app.addr).await, Some(&reader)));
    let report = report_as(&app, &reader, SAMPLE, 2024).await;
    let new_total = row(&report, "new")[6];
    assert!(new_total > 1, "the sample year has applications");
    let behind = reports
        .list_cell_applications(proto::ListCellApplicationsRequest {
            agency_id: SAMPLE.into(),
            year: 2024,
            row: "new".into(),
            column: 6,
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();

    let base = format!("http://127.0.0.1:{}", app.addr.port());
    let b = browser(driver.1).await;
    let shots = shots();
    // Sign in: the token goes in a form, never in the address.
    b.goto(&format!("{base}/console/")).await.unwrap();
    b.find(Locator::Css("input[name=token]")).await.unwrap().send_keys(&reader).await.unwrap();
    b.find(Locator::Css("form[action='/console/sign-in'] button")).await.unwrap().click().await.unwrap();
    // Each click loads a page: wait for what only the next page has.
    b.wait().for_element(Locator::Css("form.pick")).await.unwrap();
    let body = b.find(Locator::Css("body")).await.unwrap().text().await.unwrap();
    assert!(body.contains("已登录"), "{body}");
    assert!(!b.current_url().await.unwrap().as_str().contains(&reader));
    // The year's tables, through the picker.
    let agency = b.find(Locator::Css("input[name=agency]")).await.unwrap();
    agency.send_keys(SAMPLE).await.unwrap();
    let year = b.find(Locator::Css("input[name=year]")).await.unwrap();
    year.clear().await.unwrap();
    year.send_keys("2024").await.unwrap();
    b.find(Locator::Css("form.pick button")).await.unwrap().click().await.unwrap();
    let new_row = b.wait().for_element(Locator::Css("tr[data-code=new]")).await.unwrap();
    let cells = new_row.find_all(Locator::Css("td.num")).await.unwrap();
    let mut shown = Vec::new();
    for c in &cells {
        shown.push(c.text().await.unwrap().trim().parse::<i64>().unwrap());
    }
    assert_eq!(shown, row(&report, "new"), "the page shows the API's numbers");
    let page = b.source().await.unwrap();
    assert!(page.contains(&report.log_digest), "the digest the tables reflect");
    std::fs::write(shots.join("tables.png"), b.screenshot().await.unwrap()).unwrap();
    let three = b.find(Locator::Css("table.applications")).await.unwrap();
    std::fs::write(shots.join("section-three.png"), three.screenshot().await.unwrap()).unwrap();
    // The keyboard: the first Tab reaches the skip link, which leads to the
    // page's content.
    b.find(Locator::Css("body")).await.unwrap().send_keys("\u{E004}").await.unwrap();
    let focused = b.active_element().await.unwrap();
    assert_eq!(focused.attr("class").await.unwrap().as_deref(), Some("skip"));
    assert_eq!(focused.attr("href").await.unwrap().as_deref(), Some("#main"));
    // Printed on A4: the tables, without the page's controls, on a few pages.
    let pdf = b.print(fantoccini::wd::PrintConfiguration::default()).await.unwrap();
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    let pages = count(&pdf, b"/Type /Page") - count(&pdf, b"/Type /Pages");
    assert!((2..=5).contains(&pages), "sections 二, 三 and 四 print on {pages} A4 pages");
    std::fs::write(shots.join("tables-printed.pdf"), &pdf).unwrap();
    // The total of 一: exactly the cases behind it.
    cells[6].find(Locator::Css("a")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::Css("table.list")).await.unwrap();
    let links = b.find_all(Locator::Css("table.list tbody tr td:first-child a")).await.unwrap();
    let mut ids = Vec::new();
    for l in &links {
        ids.push(l.text().await.unwrap());
    }
    let expected: Vec<String> = behind.applications.iter().map(|a| a.application_id.clone()).collect();
    assert_eq!(ids, expected);
    assert_eq!(ids.len() as i64, new_total);
    // Each with its deadline standing, as the API gives it.
    let standings = b.find_all(Locator::Css("table.list tbody tr td:last-child")).await.unwrap();
    assert_eq!(standings.len(), behind.deadlines.len());
    for (shown, d) in standings.iter().zip(&behind.deadlines) {
        let words = match d.standing() {
            proto::DeadlineStanding::AnsweredOnTime => "按期答复",
            proto::DeadlineStanding::AnsweredLate => "逾期答复",
            proto::DeadlineStanding::Overdue => "已超期",
            other => panic!("a 2024 sample case is {other:?}"),
        };
        let text = shown.text().await.unwrap();
        assert!(text.contains(words), "{text} for {:?}", d.standing());
    }
    std::fs::write(shots.join("cell.png"), b.screenshot().await.unwrap()).unwrap();
    // One case's history, and how its deadline was computed.
    links[0].click().await.unwrap();
    b.wait().for_element(Locator::XPath("//h2[contains(., '历史')]")).await.unwrap();
    let history = b.find_all(Locator::Css("table.list tbody tr")).await.unwrap();
    assert!(!history.is_empty());
    let body = b.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    assert!(body.contains("答复期限") && body.contains("起算日") && body.contains("答复截止日"), "{body}");
    std::fs::write(shots.join("application.png"), b.screenshot().await.unwrap()).unwrap();
    // A cell of 四 (行政复议, 总计): exactly the review cases behind it.
    let reviews_behind = reports
        .list_cell_review_cases(proto::ListCellReviewCasesRequest {
            agency_id: SAMPLE.into(),
            year: 2024,
            kind: proto::ReviewKind::Reconsideration as i32,
            column: proto::ReviewColumn::Total as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reviews_behind.review_cases.len() as i64, report.review_blocks[0].total);
    assert!(!reviews_behind.review_cases.is_empty(), "the sample year has a reconsideration");
    b.back().await.unwrap();
    b.back().await.unwrap();
    let four = b.wait().for_element(Locator::Css("table.reviews")).await.unwrap();
    let review_cells = four.find_all(Locator::Css("td.num a")).await.unwrap();
    assert_eq!(review_cells.len(), 15, "every number of 四 is a link");
    assert_eq!(review_cells[4].text().await.unwrap(), report.review_blocks[0].total.to_string());
    review_cells[4].click().await.unwrap();
    b.wait().for_element(Locator::XPath("//h1[contains(., '行政复议')]")).await.unwrap();
    let mut case_ids = Vec::new();
    for row in b.find_all(Locator::Css("table.list tbody tr td:first-child")).await.unwrap() {
        case_ids.push(row.text().await.unwrap());
    }
    let expected: Vec<String> = reviews_behind.review_cases.iter().map(|c| c.case_id.clone()).collect();
    assert_eq!(case_ids, expected);
    std::fs::write(shots.join("review-cases.png"), b.screenshot().await.unwrap()).unwrap();
    // A quarter's tables, as superiors ask for them, and a cell of them.
    let q3_days = Some(proto::ReportPeriod { first_day: date(2024, 7, 1), last_day: date(2024, 9, 30) });
    let q3 = reports
        .get_report(proto::GetReportRequest {
            scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(SAMPLE.into())) }),
            period: q3_days,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    b.goto(&format!("{base}/console/tables?agency={SAMPLE}&year=2024&period=2024-Q3")).await.unwrap();
    let new_row = b.wait().for_element(Locator::Css("tr[data-code=new]")).await.unwrap();
    let mut shown = Vec::new();
    for c in new_row.find_all(Locator::Css("td.num")).await.unwrap() {
        shown.push(c.text().await.unwrap().trim().parse::<i64>().unwrap());
    }
    assert_eq!(shown, row(&q3, "new"), "the quarter's 本期新收");
    let body = b.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    assert!(body.contains("2024年7月1日至2024年9月30日") && body.contains("上期结转"), "{body}");
    let q3_behind = reports
        .list_cell_applications(proto::ListCellApplicationsRequest {
            agency_id: SAMPLE.into(),
            row: "new".into(),
            column: 6,
            period: q3_days,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    new_row.find(Locator::Css("td.num:last-child a")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::Css("table.list")).await.unwrap();
    let mut ids = Vec::new();
    for l in b.find_all(Locator::Css("table.list tbody tr td:first-child a")).await.unwrap() {
        ids.push(l.text().await.unwrap());
    }
    assert_eq!(ids, q3_behind.applications.iter().map(|a| a.application_id.clone()).collect::<Vec<_>>());
    std::fs::write(shots.join("quarter.png"), b.screenshot().await.unwrap()).unwrap();
    // The deadlines board: the open applications by urgency, as the API
    // lists them, and the year's timeliness drawn as SVG.
    let mut deadlines =
        proto::deadline_service_client::DeadlineServiceClient::new(with_token(channel(app.addr).await, Some(&reader)));
    let open = deadlines
        .list_deadlines(proto::ListDeadlinesRequest { agency_id: SAMPLE.into(), page_size: 1000, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .entries;
    let overdue: Vec<String> = {
        let mut o: Vec<_> = open
            .iter()
            .filter(|e| e.deadline.as_ref().unwrap().standing() == proto::DeadlineStanding::Overdue)
            .map(|e| e.deadline.as_ref().unwrap().remaining_working_days)
            .zip(open.iter().map(|e| e.application.as_ref().unwrap().application_id.clone()))
            .collect();
        o.sort();
        o.into_iter().map(|(_, id)| id).collect()
    };
    assert!(!overdue.is_empty(), "the sample has applications still open years later");
    b.goto(&format!("{base}/console/deadlines?agency={SAMPLE}&year=2024")).await.unwrap();
    let first = b.wait().for_element(Locator::Css("h2[id^=standing-]")).await.unwrap().text().await.unwrap();
    assert_eq!(first, format!("已超期（{} 件）", overdue.len()), "overdue first");
    let mut listed = Vec::new();
    for a in b.find_all(Locator::XPath("(//table[contains(@class,'list')])[1]//tbody/tr/td[1]/a")).await.unwrap() {
        listed.push(a.text().await.unwrap());
    }
    assert_eq!(listed, overdue, "the most overdue first");
    let charts = b.find_all(Locator::Css("svg.chart")).await.unwrap();
    assert_eq!(charts.len(), 2, "by month, and working days to answer");
    let timeliness = deadlines
        .get_timeliness(proto::GetTimelinessRequest { agency_id: SAMPLE.into(), year: 2024 })
        .await
        .unwrap()
        .into_inner();
    let bars = charts[0].find_all(Locator::Css("rect")).await.unwrap().len();
    assert_eq!(bars, 24 + 2, "an on-time and a late bar a month, and the legend");
    let month_sum: i64 = timeliness.months.iter().map(|m| m.on_time + m.late).sum();
    assert_eq!(month_sum, timeliness.answered);
    std::fs::write(shots.join("deadlines.png"), b.screenshot().await.unwrap()).unwrap();
    std::fs::write(shots.join("timeliness-by-month.png"), charts[0].screenshot().await.unwrap()).unwrap();
    std::fs::write(shots.join("working-days.png"), charts[1].screenshot().await.unwrap()).unwrap();
    // The board as of a past day: the applications open that evening, as the API lists them.
    let then = deadlines
        .list_deadlines(proto::ListDeadlinesRequest {
            agency_id: SAMPLE.into(),
            as_of: date(2024, 6, 3),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    b.goto(&format!("{base}/console/deadlines?agency={SAMPLE}&as_of=2024-06-03")).await.unwrap();
    b.wait().for_element(Locator::Css("table.counts")).await.unwrap();
    let mut listed_then = Vec::new();
    for a in b.find_all(Locator::XPath("//table[contains(@class,'list')]//tbody/tr/td[1]/a")).await.unwrap() {
        listed_then.push(a.text().await.unwrap());
    }
    let mut expected: Vec<String> =
        then.iter().map(|e| e.application.as_ref().unwrap().application_id.clone()).collect();
    listed_then.sort();
    expected.sort();
    assert_eq!(listed_then, expected, "open on the evening of 3 June 2024");
    // One application as it stood that day.
    let first = &expected[0];
    b.goto(&format!("{base}/console/application?agency={SAMPLE}&id={}&as_of=2024-06-03", urlencode(first)))
        .await
        .unwrap();
    let body = b.wait().for_element(Locator::Css("p.asof")).await.unwrap().text().await.unwrap();
    assert!(body.contains("2024-06-03"), "{body}");
    let status = b.find(Locator::XPath("//tr[th='状态']/td")).await.unwrap().text().await.unwrap();
    assert_eq!(status, "办理中", "open on 3 June 2024");
    // The finished report: previewed as the API assembles it, and downloaded.
    let annual = reports
        .get_annual_report(proto::GetAnnualReportRequest { agency_id: SAMPLE.into(), year: 2024, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .annual_report
        .unwrap();
    b.goto(&format!("{base}/console/report?agency={SAMPLE}&year=2024")).await.unwrap();
    let title = b.wait().for_element(Locator::Css("article.report h1")).await.unwrap().text().await.unwrap();
    assert_eq!(title, annual.title);
    std::fs::write(shots.join("report.png"), b.screenshot().await.unwrap()).unwrap();
    let docx_link = b.find(Locator::LinkText("DOCX")).await.unwrap().attr("href").await.unwrap().unwrap();
    // The script id, shown as text (and the title left alone).
    b.goto(&format!("{base}/console/application?agency={SAMPLE}&id={}", urlencode(script_id))).await.unwrap();
    let h1 = b.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert!(h1.contains(script_id), "{h1}");
    assert!(!b.title().await.unwrap().starts_with('x'));
    // Another agency, by editing the address: the same refusal as an unknown one's.
    let refusal = |agency: &'static str| {
        let (b, base) = (&b, &base);
        async move {
            b.goto(&format!("{base}/console/tables?agency={agency}&year=2024")).await.unwrap();
            b.find(Locator::Css(".refusal")).await.unwrap().text().await.unwrap().replace(agency, "AGENCY")
        }
    };
    let other = refusal("other-agency").await;
    let unknown = refusal("no-such-agency").await;
    assert!(other.starts_with("PermissionDenied"), "{other}");
    assert_eq!(other, unknown);
    // A state-changing form without the session's CSRF token.
    let cookie = b.get_named_cookie("dl_session").await.unwrap();
    b.close().await.unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let forged = http::Request::post(format!("{base}/console/sign-out"))
        .header("cookie", format!("dl_session={}", cookie.value()))
        .header("origin", &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(b"csrf=guess")))
        .unwrap();
    assert_eq!(client.request(forged).await.unwrap().status(), 403);
    // The DOCX, downloaded with the session as the browser would.
    use http_body_util::BodyExt as _;
    let download = http::Request::get(format!("{base}{docx_link}"))
        .header("cookie", format!("dl_session={}", cookie.value()))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let answer = client.request(download).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    let docx = answer.into_body().collect().await.unwrap().to_bytes();
    assert!(docx.starts_with(b"PK\x03\x04"), "a DOCX is a zip");
    std::fs::write(shots.join("report.docx"), &docx).unwrap();
    drop(driver);
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// Signs a browser in with a token and waits for the home page.
async fn sign_in(b: &fantoccini::Client, base: &str, token: &str) {
    b.goto(&format!("{base}/console/")).await.unwrap();
    b.find(Locator::Css("input[name=token]")).await.unwrap().send_keys(token).await.unwrap();
    b.find(Locator::Css("form[action='/console/sign-in'] button")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::Css("form.pick")).await.unwrap();
}

/// A raw HTTP client with a browser's session cookie, for the requests a
/// page would not send (a forged form) and for downloads.
struct Raw {
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<bytes::Bytes>,
    >,
    base: String,
    cookie: String,
}

impl Raw {
    async fn of(b: &fantoccini::Client, base: &str) -> Self {
        let cookie = b.get_named_cookie("dl_session").await.unwrap().value().to_owned();
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
        Raw { client, base: base.to_owned(), cookie: format!("dl_session={cookie}") }
    }

    async fn post(&self, path: &str, form: &str) -> (http::StatusCode, String) {
        use http_body_util::BodyExt as _;
        let request = http::Request::post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("origin", &self.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(http_body_util::Full::new(bytes::Bytes::from(form.to_owned())))
            .unwrap();
        let answer = self.client.request(request).await.unwrap();
        let status = answer.status();
        (status, String::from_utf8_lossy(&answer.into_body().collect().await.unwrap().to_bytes()).into_owned())
    }

    async fn get(&self, path: &str) -> (http::StatusCode, http::HeaderMap, bytes::Bytes) {
        use http_body_util::BodyExt as _;
        let request = http::Request::get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        let answer = self.client.request(request).await.unwrap();
        let (status, headers) = (answer.status(), answer.headers().clone());
        (status, headers, answer.into_body().collect().await.unwrap().to_bytes())
    }
}

#[tokio::test]
async fn a_writer_edits_and_publishes_the_report_and_an_admin_administers_in_a_real_browser() {
    let Some(driver) = driver() else { return };
    let app = spawn_app_with(tempfile::tempdir().unwrap(), |c| c.auth = true).await;
    let admin = admin_token(&app);
    let writer = issue_token(&app, &admin, proto::Role::Writer, SAMPLE).await;
    let server = disclosure_ledger::cli::args::ServerArg { token: Some(writer.clone()), ..server_arg(&app) };
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sample-years.jsonl");
    disclosure_ledger::cli::events::append(&server, &sample, 100).await.expect("the sample years");
    let base = format!("http://127.0.0.1:{}", app.addr.port());
    let shots = shots();
    let b = browser(driver.1).await;
    sign_in(&b, &base, &writer).await;

    // The report's text: an unknown placeholder is refused and the text
    // kept as typed; a known one is filled from the tables.
    b.goto(&format!("{base}/console/report/text?agency={SAMPLE}&year=2024")).await.unwrap();
    let overview = Locator::Css("form:has(input[value=REPORT_SECTION_OVERVIEW]) textarea");
    b.wait().for_element(overview).await.unwrap().send_keys("本年度共收到申请{nwe}件。").await.unwrap();
    b.find(Locator::Css("form:has(input[value=REPORT_SECTION_OVERVIEW]) button")).await.unwrap().click().await.unwrap();
    let refusal = b.wait().for_element(Locator::Css(".refusal")).await.unwrap().text().await.unwrap();
    assert!(refusal.contains("{nwe}"), "{refusal}");
    let kept = b.find(overview).await.unwrap().prop("value").await.unwrap().unwrap();
    assert_eq!(kept, "本年度共收到申请{nwe}件。");
    let placeholders = b.find_all(Locator::Css("table.list tbody tr")).await.unwrap().len();
    assert_eq!(placeholders, disclosure_ledger::domain::report_text::PLACEHOLDERS.len());
    std::fs::write(shots.join("report-text.png"), b.screenshot().await.unwrap()).unwrap();
    let area = b.find(overview).await.unwrap();
    area.clear().await.unwrap();
    area.send_keys("本年度共收到政府信息公开申请{new}件。").await.unwrap();
    b.find(Locator::Css("form:has(input[value=REPORT_SECTION_OVERVIEW]) button")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::Css("article.report")).await.unwrap();
    let report = report_as(&app, &writer, SAMPLE, 2024).await;
    let text = b.find(Locator::Css("article.report")).await.unwrap().text().await.unwrap();
    assert!(text.contains(&format!("本年度共收到政府信息公开申请{}件。", row(&report, "new")[6])), "{text}");

    // Published as the log stands now; then a correction: the tables as
    // published show the cells it changed, each linked to the correction.
    b.find(Locator::Css("form.publish button")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::XPath("//p[contains(., '已发布')]")).await.unwrap();
    let mut client =
        proto::ledger_service_client::LedgerServiceClient::new(with_token(channel(app.addr).await, Some(&writer)));
    let correction = proto::Event {
        agency_id: SAMPLE.into(),
        ..amended("依申请〔2024〕1号", date(2024, 1, 25), "0ae39fb0-9822-5cc4-8ffb-033a34350c09", |a| {
            a.outcome = proto::Outcome::PartlyDisclosed as i32
        })
    };
    client.append_events(proto::AppendEventsRequest { events: vec![correction], ..Default::default() }).await.unwrap();
    b.goto(&format!("{base}/console/tables?agency={SAMPLE}&year=2024")).await.unwrap();
    let published = b.wait().for_element(Locator::Css("select[name=published]")).await.unwrap();
    published.select_by_index(1).await.unwrap();
    b.find(Locator::Css("form.pick button")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::Css("p.asof")).await.unwrap();
    let changed = b.find_all(Locator::Css("td.changed")).await.unwrap();
    // 予以公开 and 部分公开, each in 自然人 and 总计.
    assert_eq!(changed.len(), 4, "the cells the correction changed");
    let disclosed_total = b.find(Locator::Css("tr[data-code='1'] td.num:last-child")).await.unwrap();
    assert_eq!(
        disclosed_total.find(Locator::Css("a")).await.unwrap().text().await.unwrap(),
        row(&report, "1")[6].to_string()
    );
    std::fs::write(shots.join("as-published.png"), b.screenshot().await.unwrap()).unwrap();
    let three = b.find(Locator::Css("table.applications")).await.unwrap();
    std::fs::write(shots.join("as-published-section-three.png"), three.screenshot().await.unwrap()).unwrap();
    disclosed_total.find(Locator::Css("a.delta")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::XPath("//h2[contains(., '移出')]")).await.unwrap();
    let moved = b.find(Locator::Css("section.moved")).await.unwrap().text().await.unwrap();
    assert!(moved.contains("依申请〔2024〕1号") && moved.contains("更正 event_amended"), "{moved}");
    assert!(
        moved.contains("entered wrongly") && moved.contains("partly_disclosed"),
        "the reason and the fact: {moved}"
    );
    std::fs::write(shots.join("changes.png"), b.screenshot().await.unwrap()).unwrap();
    // A writer is not an admin: the API's refusal.
    b.goto(&format!("{base}/console/admin")).await.unwrap();
    let refusal = b.find(Locator::Css(".refusal")).await.unwrap().text().await.unwrap();
    assert!(refusal.starts_with("PermissionDenied"), "{refusal}");
    b.close().await.unwrap();

    // Administration.
    let b = browser(driver.1).await;
    sign_in(&b, &base, &admin).await;
    b.goto(&format!("{base}/console/admin")).await.unwrap();
    b.wait().for_element(Locator::Css("h2#tokens")).await.unwrap();
    b.find(Locator::Css("form[action='/console/admin/tokens'] input[name=agencies]"))
        .await
        .unwrap()
        .send_keys(SAMPLE)
        .await
        .unwrap();
    b.find(Locator::Css("form[action='/console/admin/tokens'] input[name=label]"))
        .await
        .unwrap()
        .send_keys("审计")
        .await
        .unwrap();
    b.find(Locator::Css("form[action='/console/admin/tokens'] button")).await.unwrap().click().await.unwrap();
    let secret = b.wait().for_element(Locator::Css("code.secret")).await.unwrap().text().await.unwrap();
    let id = b.find(Locator::XPath("//tr[th='令牌编号']/td/code")).await.unwrap().text().await.unwrap();
    assert_eq!(report_as(&app, &secret, SAMPLE, 2024).await.log_digest.len(), 64, "the new reader token reads");
    b.goto(&format!("{base}/console/admin")).await.unwrap();
    let page = b.wait().for_element(Locator::Css("main")).await.unwrap().text().await.unwrap();
    assert!(!page.contains(&secret), "a secret is shown once");
    assert!(page.contains("审计"));
    std::fs::write(shots.join("admin.png"), b.screenshot().await.unwrap()).unwrap();
    // Revoking without the session's CSRF token is refused; with it, done.
    let raw = Raw::of(&b, &base).await;
    let (status, _) = raw.post("/console/admin/tokens/revoke", &format!("token_id={id}&csrf=guess")).await;
    assert_eq!(status, 403);
    let (status, _) = raw.post("/console/admin/tokens/revoke", &format!("token_id={id}")).await;
    assert_eq!(status, 403);
    assert_eq!(report_as(&app, &secret, SAMPLE, 2024).await.log_digest.len(), 64, "still valid");
    b.find(Locator::Css(&format!("button[aria-label='吊销 {id}']"))).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::Css("h2#tokens")).await.unwrap();
    let mut reports =
        proto::report_service_client::ReportServiceClient::new(with_token(channel(app.addr).await, Some(&secret)));
    let refused = reports
        .get_report(proto::GetReportRequest {
            scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(SAMPLE.into())) }),
            year: 2024,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "revoked");
    // A group, then verification, then a backup that check-backup reads.
    b.find(Locator::Css("form[action='/console/admin/groups'] input[name=group_id]"))
        .await
        .unwrap()
        .send_keys("region")
        .await
        .unwrap();
    b.find(Locator::Css("form[action='/console/admin/groups'] textarea"))
        .await
        .unwrap()
        .send_keys(&format!("{SAMPLE}\nother-agency"))
        .await
        .unwrap();
    b.find(Locator::Css("form[action='/console/admin/groups'] button")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::XPath("//td[. = 'region']")).await.unwrap();
    // The group's consolidated tables, and a cell of them member by member.
    let group_report = {
        let mut r =
            proto::report_service_client::ReportServiceClient::new(with_token(channel(app.addr).await, Some(&admin)));
        r.get_report(proto::GetReportRequest {
            scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::GroupId("region".into())) }),
            year: 2024,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap()
    };
    b.goto(&format!("{base}/console/tables?group=region&year=2024")).await.unwrap();
    let new_row = b.wait().for_element(Locator::Css("tr[data-code=new]")).await.unwrap();
    let total = new_row.find(Locator::Css("td.num:last-child a")).await.unwrap();
    assert_eq!(total.text().await.unwrap(), row(&group_report, "new")[6].to_string());
    total.click().await.unwrap();
    b.wait().for_element(Locator::XPath("//h1[contains(., 'region')]")).await.unwrap();
    let mut members = Vec::new();
    for tr in b.find_all(Locator::Css("table.list tbody tr")).await.unwrap() {
        let name = tr.find(Locator::Css("th")).await.unwrap().text().await.unwrap();
        let n = tr.find(Locator::Css("td.num")).await.unwrap().text().await.unwrap();
        members.push((name, n.parse::<i64>().unwrap()));
    }
    let sample_new = row(&report_as(&app, &admin, SAMPLE, 2024).await, "new")[6];
    assert_eq!(
        members,
        vec![(SAMPLE.to_string(), sample_new), ("other-agency".to_string(), 0)],
        "in the group's order"
    );
    std::fs::write(shots.join("group-cell.png"), b.screenshot().await.unwrap()).unwrap();
    b.goto(&format!("{base}/console/admin")).await.unwrap();
    b.wait().for_element(Locator::Css("h2#tokens")).await.unwrap();
    // A year's working-day schedule, loaded from the page.
    b.find(Locator::Css("form[action='/console/admin/calendar'] textarea"))
        .await
        .unwrap()
        .send_keys("[years.2027]\nnotice = \"国办发明电〔2026〕测试\"\nholidays = [[\"2027-01-01\", \"2027-01-01\"]]\nworkdays = []\n")
        .await
        .unwrap();
    b.find(Locator::Css("form[action='/console/admin/calendar'] button")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::XPath("//td[. = '2027']")).await.unwrap();
    let known = proto::admin_service_client::AdminServiceClient::new(with_token(channel(app.addr).await, Some(&admin)))
        .get_calendar(proto::GetCalendarRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(known.known_years.contains(&2027));
    b.find(Locator::Css("form[action='/console/admin/verify'] button")).await.unwrap().click().await.unwrap();
    let verdict = b.wait().for_element(Locator::Css("p.passed")).await.unwrap().text().await.unwrap();
    assert!(verdict.contains("一致"), "{verdict}");
    let digest = b.find(Locator::Css("main table.list code")).await.unwrap().text().await.unwrap();
    let (status, headers, body) = raw.get("/console/admin/backup").await;
    assert_eq!(status, 200);
    assert!(headers["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    let file = shots.join("console.backup");
    std::fs::write(&file, &body).unwrap();
    let (_, backed_up) = disclosure_ledger::ops::backup::digest_of(&file, None).unwrap();
    assert_eq!(backed_up.to_string(), digest, "the backup holds the log verify proved");
    drop(driver);
}
