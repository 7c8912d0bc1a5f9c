//! A damaged store is never served as whole: a bit flipped, a page zeroed
//! or the file cut short in sled's `db` of a stopped store, and the real
//! binary refuses to start, names the position and exits non-zero; then
//! `salvage` copies what is intact into a new directory, says what was
//! lost, and the new store serves it without ever reusing a position; an
//! edited event breaks the hash chain, at open and in `verify`; a commit
//! log that does not read is refused, and salvaged from sled alone; a failed
//! fsync ends the process non-zero and the restart serves everything that
//! was acknowledged.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use disclosure_ledger::store::journal::FILE as JOURNAL;
use disclosure_ledger::store::ledger::Ledger;
use disclosure_ledger::wire::proto::{self, ledger_service_client::LedgerServiceClient};
use support::process::{Process, whole_log, whole_log_with_losses};
use support::*;
use tokio_stream::StreamExt;

/// A stopped store of 2,000 events, appended 20 per call; every 100th
/// application's id carries a marker that can be found in sled's file.
async fn stopped_store() -> tempfile::TempDir {
    let mut app = spawn_app().await;
    for call in 0..100 {
        let events: Vec<proto::Event> = (0..20)
            .map(|i| {
                let n = call * 20 + i;
                person(&format!("MARKER-{n:05}-{}", "x".repeat(40)), date(2024, 3, 1 + (n % 20)))
            })
            .collect();
        app.ok(events).await;
    }
    app.stop().await
}

/// The offsets in `bytes` where `needle` stands.
fn find(bytes: &[u8], needle: &[u8]) -> Vec<usize> {
    bytes.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect()
}

/// Starts the binary on `dir` and expects it to refuse: never SERVING, and
/// a non-zero exit. Returns its log.
fn refused(dir: &std::path::Path) -> String {
    let (status, log) = match Process::try_start(dir, &[]) {
        // It listens (and answers health NOT_SERVING) while it opens the store.
        Ok(mut p) => match p.wait_exit(Duration::from_secs(60)) {
            Some(status) => (status, p.log.lock().unwrap().clone()),
            None => {
                p.kill9();
                panic!("a damaged store was served");
            }
        },
        Err(exited) => exited,
    };
    let log = log.join("\n");
    assert!(!log.contains("\"log proved whole\""), "never proved whole:\n{log}");
    assert!(!status.success(), "refused with a non-zero exit: {status:?}");
    log
}

fn assert_names_a_position(log: &str) {
    assert!(log.contains("cannot be proved whole"), "says why:\n{log}");
    assert!(log.contains("position"), "names the position:\n{log}");
    assert!(log.contains("disclosure-ledger restore"), "names the way back:\n{log}");
}

#[tokio::test]
async fn a_flipped_bit_in_a_stored_event_is_refused() {
    let dir = stopped_store().await;
    let db = dir.path().join("db");
    let mut bytes = std::fs::read(&db).unwrap();
    let at = find(&bytes, b"MARKER-01000");
    assert!(!at.is_empty(), "the marker is in the file");
    for i in at {
        bytes[i + 7] ^= 0x01; // '0' -> '1': every copy sled holds
    }
    std::fs::write(&db, &bytes).unwrap();
    assert_names_a_position(&refused(dir.path()));
    salvaged_and_served(dir.path()).await;
}

#[tokio::test]
async fn a_zeroed_page_is_refused() {
    let dir = stopped_store().await;
    let db = dir.path().join("db");
    let mut bytes = std::fs::read(&db).unwrap();
    let at = *find(&bytes, b"MARKER-01500").last().expect("the marker is in the file");
    let page = at / 4096 * 4096;
    bytes[page..(page + 4096).min(at + 4096)].fill(0);
    std::fs::write(&db, &bytes).unwrap();
    assert_names_a_position(&refused(dir.path()));
    salvaged_and_served(dir.path()).await;
}

#[tokio::test]
async fn a_file_cut_to_half_is_refused() {
    let dir = stopped_store().await;
    let db = dir.path().join("db");
    let len = std::fs::metadata(&db).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&db).unwrap().set_len(len / 2).unwrap();
    let log = refused(dir.path());
    assert_names_a_position(&log);
    assert!(log.contains("2000 were acknowledged") || log.contains("position"), "{log}");
    let new = salvaged_and_served(dir.path()).await;
    // A backup of the salvaged store holds the lost range, restores, and
    // proves the same history.
    let p = Process::start(new.path());
    wait_serving(&p.url).await;
    let server = server_arg_at(&p.url);
    let backup = new.path().with_extension("backup");
    disclosure_ledger::cli::backup::backup(&server, &backup).await.expect("backup");
    let verified = verify(&p.url).await;
    let (head, digest) = disclosure_ledger::ops::backup::digest_of(&backup, None).unwrap();
    assert_eq!((head, digest.hex()), (verified.log_position, verified.log_digest.clone()));
    assert!(tokio::task::spawn_blocking(move || p.terminate()).await.unwrap().success());
    let restored = tempfile::tempdir().unwrap();
    let target = restored.path().join("data");
    disclosure_ledger::cli::backup::restore(&backup, &target).await.expect("a salvaged log restores");
    let p = Process::start(&target);
    wait_serving(&p.url).await;
    let again = verify(&p.url).await;
    assert_eq!((again.log_position, again.log_digest), (verified.log_position, verified.log_digest));
    assert_eq!(again.lost_ranges, verified.lost_ranges);
    std::fs::remove_file(&backup).unwrap();
    assert!(tokio::task::spawn_blocking(move || p.terminate()).await.unwrap().success());
}

/// Runs `salvage` on the damaged store in `dir` (2,000 events, as
/// [`stopped_store`] wrote them) and checks what it says and what the new
/// store serves: the intact start of the log, event for event; the rest
/// as one lost range up to 2,000; the next append at 2,001; `verify`
/// whole. Returns the new store.
async fn salvaged_and_served(dir: &std::path::Path) -> tempfile::TempDir {
    let untouched = std::fs::read(dir.join("db")).unwrap();
    let new = tempfile::tempdir().unwrap();
    let (ok, said) = salvage(dir, new.path());
    assert!(ok, "salvage: {said}");
    assert_eq!(std::fs::read(dir.join("db")).unwrap(), untouched, "the old store is not changed");
    assert!(said.contains("is damaged"), "{said}");
    let kept: u64 = if said.contains("copied no log position") {
        0
    } else {
        said.split("copied log positions 1-")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("says what it copied: {said}"))
    };
    assert!(kept < 2000, "{said}");
    assert!(said.contains(&format!("LOST: log positions {}-2000", kept + 1)), "{said}");
    assert!(said.contains("gets position 2001"), "{said}");

    let p = Process::start(new.path());
    wait_serving(&p.url).await;
    let (events, losses) = whole_log_with_losses(&p.url).await;
    assert_eq!(events.len() as u64, kept);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.position, i as u64 + 1);
        let subject = &e.event.as_ref().unwrap().subject_id;
        assert!(subject.starts_with(&format!("MARKER-{i:05}-")), "position {} is the original event: {subject}", i + 1);
    }
    assert_eq!(losses.len(), 1);
    assert_eq!((losses[0].first_position, losses[0].last_position), (kept + 1, 2000));
    let mut client = LedgerServiceClient::connect(p.url.clone()).await.unwrap();
    let appended = client
        .append_events(proto::AppendEventsRequest {
            events: vec![person("AFTER-SALVAGE", date(2024, 5, 6))],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(appended.results[0].position, 2001, "no position is reused");
    let v = verify(&p.url).await;
    assert!(v.consistent, "{:?}", v.differences);
    assert_eq!(v.log_position, 2001);
    // A table as of a position inside the lost range has no history to
    // name: refused. At its end, the log holds the range's record.
    let mut reports =
        disclosure_ledger::wire::proto::report_service_client::ReportServiceClient::connect(p.url.clone())
            .await
            .unwrap();
    let as_of = |position: u64| proto::GetReportRequest {
        scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(AGENCY.into())) }),
        year: 2024,
        as_of_position: position,
        ..Default::default()
    };
    assert!(kept + 1 < 2000);
    let refused = reports.get_report(as_of(kept + 1)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition, "{}", refused.message());
    assert!(refused.message().contains("lost"), "{}", refused.message());
    let report = reports.get_report(as_of(2001)).await.unwrap().into_inner();
    assert_eq!(report.report.unwrap().log_digest, v.log_digest);
    assert!(reports.get_report(as_of(2000)).await.is_ok());
    assert_eq!(v.lost_ranges.len(), 1);
    drop(client);
    assert!(tokio::task::spawn_blocking(move || p.terminate()).await.unwrap().success());
    new
}

async fn verify(url: &str) -> proto::VerifyTalliesResponse {
    let mut reports =
        disclosure_ledger::wire::proto::report_service_client::ReportServiceClient::connect(url.to_owned())
            .await
            .unwrap();
    reports.verify_tallies(proto::VerifyTalliesRequest { deep: true }).await.unwrap().into_inner()
}

#[tokio::test]
async fn an_undamaged_store_is_proved_and_served_whole() {
    // The control of the tests above: the same store, undamaged, serves.
    let dir = stopped_store().await;
    assert!(dir.path().join(JOURNAL).exists());
    let p = Process::start(dir.path());
    wait_serving(&p.url).await;
    let mut client = LedgerServiceClient::connect(p.url.clone()).await.unwrap();
    let mut log = client
        .read_log(proto::ReadLogRequest { from_position: 1, agency_id: String::new(), follow: false })
        .await
        .unwrap()
        .into_inner();
    let mut n = 0;
    while let Some(item) = log.next().await {
        item.unwrap();
        n += 1;
    }
    assert_eq!(n, 2000);
    drop((log, client));
    // Never salvaged while the service has it open, nor into anything
    // that holds a file.
    let new = tempfile::tempdir().unwrap();
    let (ok, said) = salvage(dir.path(), new.path());
    assert!(!ok && said.contains("open in another process"), "{said}");
    // The runtime keeps running meanwhile, so the client's connection closes.
    assert!(tokio::task::spawn_blocking(move || p.terminate()).await.unwrap().success());
    std::fs::write(new.path().join("notes.txt"), "mine").unwrap();
    let (ok, said) = salvage(dir.path(), new.path());
    assert!(!ok && said.contains("nothing was written to it"), "{said}");
    assert_eq!(std::fs::read_dir(new.path()).unwrap().count(), 1, "left as it was");
    std::fs::remove_file(new.path().join("notes.txt")).unwrap();
    // A whole store salvages whole.
    let (ok, said) = salvage(dir.path(), new.path());
    assert!(ok && said.contains("nothing was lost") && said.contains("copied log positions 1-2000"), "{said}");
    let p = Process::start(new.path());
    wait_serving(&p.url).await;
    assert_eq!(whole_log(&p.url).await.len(), 2000);
    assert!(tokio::task::spawn_blocking(move || p.terminate()).await.unwrap().success());
}

/// Runs the binary's `salvage`: whether it succeeded, and what it said.
fn salvage(from: &std::path::Path, into: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_disclosure-ledger"))
        .args(["salvage", "--data-dir"])
        .arg(from)
        .arg("--into")
        .arg(into)
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), said)
}

/// Rewrites the first log chunk with one byte of an event changed: an edit
/// by someone with access to the files, which sled itself takes as valid.
fn edit_first_chunk(ledger: &Ledger) {
    let store = ledger.store();
    let (first, bytes) = store.log_chunks().next().unwrap().unwrap();
    let mut edited = bytes.to_vec();
    let at = find(&edited, b"MARKER-00003").first().copied().expect("the marker is in the first chunk");
    edited[at + 11] = b'4';
    let mut batch = disclosure_ledger::store::changes::Changes::default();
    batch.insert(disclosure_ledger::store::keys::log(first), edited);
    store.commit(batch).unwrap();
}

#[tokio::test]
async fn an_edited_event_breaks_the_chain_and_verify_says_where() {
    let dir = stopped_store().await;
    let (digest, dir) = tokio::task::spawn_blocking(move || {
        let ledger = Ledger::open(dir.path(), 8 << 20).unwrap();
        let (head, digest) = ledger.prove().expect("whole before the edit");
        assert_eq!(head, 2000);
        edit_first_chunk(&ledger);
        let damage = ledger.prove().expect_err("the edit is found");
        let said = damage.to_string();
        assert!(said.contains("was changed"), "{said}");
        ledger.close();
        (digest, dir)
    })
    .await
    .unwrap();
    // And at the next open, the store is refused.
    let log = refused(dir.path());
    assert!(log.contains("is not the one acknowledged"), "{log}");
    assert_eq!(digest.hex().len(), 64);
    // Salvage keeps only what the record of acknowledgements still proves.
    salvaged_and_served(dir.path()).await;
}

#[tokio::test]
async fn a_failed_fsync_ends_the_process_and_the_restart_serves_every_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Process::start_with(dir.path(), &[("DISCLOSURE_TEST_FAIL_SYNC_AFTER", "30")]);
    wait_serving(&p.url).await;
    let mut client = LedgerServiceClient::connect(p.url.clone()).await.unwrap();
    let mut acked: HashMap<String, u64> = HashMap::new();
    let mut refused = None;
    for n in 0..100 {
        let e = person(&format!("A-{n}"), date(2024, 3, 1));
        let id = e.event_id.clone();
        match client.append_events(proto::AppendEventsRequest { events: vec![e], ..Default::default() }).await {
            Ok(r) => {
                acked.insert(id, r.into_inner().results[0].position);
            }
            Err(status) => {
                refused = Some(status);
                break;
            }
        }
    }
    let status = refused.expect("the injected failure refused an append");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{}", status.message());
    assert_eq!(acked.len(), 30, "every commit before the failure was acknowledged");
    let exit = p.wait_exit(Duration::from_secs(20)).expect("the process ends by itself");
    assert!(!exit.success(), "non-zero: {exit:?}");
    let log = p.log.lock().unwrap().join("\n");
    assert!(log.contains("durable write failed"), "{log}");

    // The supervisor's restart serves everything acknowledged.
    let p = Process::start(dir.path());
    wait_serving(&p.url).await;
    let found: HashMap<String, u64> =
        whole_log(&p.url).await.into_iter().map(|r| (r.event.unwrap().event_id, r.position)).collect();
    for (id, position) in &acked {
        assert_eq!(found.get(id), Some(position), "acknowledged event {id} at {position}");
    }
    assert!(tokio::task::spawn_blocking(move || p.terminate()).await.unwrap().success());
}

#[tokio::test]
async fn a_published_table_names_its_history_and_a_backup_proves_it() {
    use disclosure_ledger::ops::backup::digest_of;
    let mut app = spawn_app().await;
    for n in 0..30 {
        app.ok(vec![person(&format!("A-{n}"), date(2024, 3, 1 + n % 20))]).await;
    }
    let published = app.report(AGENCY, 2024, 0).await;
    assert_eq!(published.log_position, 30);
    assert_eq!(published.log_digest.len(), 64, "{published:?}");
    let earlier = app.report(AGENCY, 2024, 12).await;
    assert_ne!(earlier.log_digest, published.log_digest);

    // More events later: the history up to the published position is the same.
    app.ok(vec![concluded("A-1", date(2024, 4, 1), proto::Outcome::Disclosed)]).await;
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("b");
    disclosure_ledger::cli::backup::backup(&server_arg(&app), &backup).await.expect("backup");
    assert_eq!(digest_of(&backup, Some(30)).unwrap().1.hex(), published.log_digest);
    assert_eq!(digest_of(&backup, Some(12)).unwrap().1.hex(), earlier.log_digest);
    assert_eq!(digest_of(&backup, None).unwrap().0, 31);
    assert_eq!(app.report(AGENCY, 2024, 0).await.log_digest, digest_of(&backup, None).unwrap().1.hex());
    let check = disclosure_ledger::cli::backup::check;
    check(&backup, Some(&published.log_digest), Some(30)).expect("the backup holds the published history");
    let e = check(&backup, Some(&earlier.log_digest), Some(30)).unwrap_err();
    assert!(e.to_string().contains("does not hold"), "{e}");

    // An edited backup no longer holds it.
    let mut bytes = std::fs::read(&backup).unwrap();
    let at = find(&bytes, b"A-7").first().copied().unwrap();
    bytes[at + 2] = b'8';
    let edited = dir.path().join("edited");
    std::fs::write(&edited, bytes).unwrap();
    assert!(check(&edited, Some(&published.log_digest), Some(30)).is_err());
}

/// 2,000 events: the first 1,000 in sled (a clean stop), the other 1,000
/// acknowledged into the commit log only (no checkpoint since, then a
/// SIGKILL); then a byte of the commit log is flipped mid-way.
async fn store_with_a_damaged_commit_log() -> tempfile::TempDir {
    let marker = |n: i32| person(&format!("MARKER-{n:05}-{}", "x".repeat(40)), date(2024, 3, 1 + (n % 20)));
    let mut app = spawn_app().await;
    for call in 0..50 {
        app.ok((0..20).map(|i| marker(call * 20 + i)).collect()).await;
    }
    let dir = app.stop().await;
    let p = Process::start_with(dir.path(), &[("DISCLOSURE_CHECKPOINT_MS", "600000")]);
    wait_serving(&p.url).await;
    let mut client = LedgerServiceClient::connect(p.url.clone()).await.unwrap();
    for call in 50..100 {
        let events = (0..20).map(|i| marker(call * 20 + i)).collect();
        client.append_events(proto::AppendEventsRequest { events, ..Default::default() }).await.unwrap();
    }
    // The record of acknowledgements is synced within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    p.kill9();
    let commits = dir.path().join(disclosure_ledger::store::wal::DIR);
    let segment = std::fs::read_dir(&commits)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::metadata(p).unwrap().len() > 0)
        .expect("the acknowledged commits are in the commit log");
    let mut bytes = std::fs::read(&segment).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&segment, bytes).unwrap();
    dir
}

#[tokio::test]
async fn a_damaged_commit_log_is_refused_and_salvage_keeps_what_sled_holds() {
    let dir = store_with_a_damaged_commit_log().await;
    let log = refused(dir.path());
    assert!(log.contains("cannot be proved whole") && log.contains("commit log"), "says why:\n{log}");
    assert!(log.contains("does not read"), "{log}");
    assert!(log.contains("disclosure-ledger restore"), "names the way back:\n{log}");
    // Salvage keeps sled's 1,000 and names the commit log's 1,000 lost.
    let new = salvaged_and_served(dir.path()).await;
    drop(new);
}
