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
    std::fs::write(shots.join("cell.png"), b.screenshot().await.unwrap()).unwrap();
    // One case's history.
    links[0].click().await.unwrap();
    b.wait().for_element(Locator::XPath("//h2[contains(., '历史')]")).await.unwrap();
    let history = b.find_all(Locator::Css("table.list tbody tr")).await.unwrap();
    assert!(!history.is_empty());
    std::fs::write(shots.join("application.png"), b.screenshot().await.unwrap()).unwrap();
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

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
