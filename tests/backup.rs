//! Online backup while appends go on, restore into an empty directory, and
//! export / import of the log as JSON Lines between instances.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use disclosure_ledger::wire::proto;
use support::*;

/// A few years of applications with every kind of ending, in `agency`.
fn history(agency: &str, n: usize) -> Vec<proto::Event> {
    let outcomes = [proto::Outcome::Disclosed, proto::Outcome::PartlyDisclosed, proto::Outcome::UnavailableNotHeld];
    let mut events = Vec::new();
    for i in 0..n {
        let year = 2021 + (i % 3) as i32;
        let id = format!("{agency}-{i}");
        let mut e = person(&id, date(year, 1 + (i % 12) as i32, 5));
        e.agency_id = agency.into();
        events.push(e);
        if i % 4 != 0 {
            let mut c = concluded(
                &id,
                date(year + i32::from(i % 12 == 11), (1 + (i % 12) as i32) % 12 + 1, 20),
                outcomes[i % 3],
            );
            c.agency_id = agency.into();
            events.push(c);
        }
    }
    events
}

async fn tables(app: &TestApp, agency: &str, as_of: u64) -> Vec<proto::Report> {
    let mut out = Vec::new();
    for year in 2021..=2024 {
        let mut r = app.report(agency, year, as_of).await;
        // Compared by content: the two logs are different histories.
        r.log_position = 0;
        r.log_digest.clear();
        out.push(r);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_appending_then_restore_and_verify() {
    let mut app = spawn_app().await;
    for chunk in history(AGENCY, 600).chunks(200) {
        app.ok(chunk.to_vec()).await;
    }
    app.reports()
        .await
        .set_group(proto::SetGroupRequest {
            group: Some(proto::Group {
                group_id: "province".into(),
                agency_ids: vec![AGENCY.into()],
                ..Default::default()
            }),
        })
        .await
        .expect("group");

    // Appenders keep going during the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let mut appenders = Vec::new();
    for t in 0..4 {
        let mut client = app.client.clone();
        let stop = Arc::clone(&stop);
        appenders.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let e = person(&format!("live-{t}-{n}"), date(2024, 6, 1));
                client
                    .append_events(proto::AppendEventsRequest {
                        events: vec![e],
                        expected_revisions: vec![],
                        validate_only: false,
                    })
                    .await
                    .expect("append");
                n += 1;
            }
            n
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let file = tempfile::tempdir().expect("dir");
    let backup = file.path().join("ledger.backup");
    disclosure_ledger::cli::backup::backup(&server_arg(&app), &backup).await.expect("backup");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stop.store(true, Ordering::Relaxed);
    let mut live = 0;
    for a in appenders {
        live += a.await.expect("appender");
    }
    assert!(live > 0, "appends went on during the backup");

    // Restore into an empty directory and serve it.
    let restored_dir = tempfile::tempdir().expect("dir");
    let target = restored_dir.path().join("data");
    let restored =
        disclosure_ledger::ops::backup::restore(&backup, &target, 16 << 20, |_, _| {}).await.expect("restore");
    let head = restored.head;
    assert!(head >= 1050, "the backup holds the history ({head})");
    assert_eq!(restored.groups, 1);
    let mut copy = spawn_app_with(restored_dir, |c| c.data_dir = target.clone()).await;

    // The restored log is the original's prefix up to the backup's head,
    // positions, recording times and all.
    let original = app.log().await;
    let copied = copy.log().await;
    assert_eq!(copied.len() as u64, head);
    assert_eq!(copied[..], original[..head as usize]);
    // Every table as of that position is the same, and verify agrees.
    assert_eq!(tables(&copy, AGENCY, 0).await, tables(&app, AGENCY, head).await);
    let verified =
        copy.reports().await.verify_tallies(proto::VerifyTalliesRequest::default()).await.expect("verify").into_inner();
    assert!(verified.consistent, "{:?}", verified.differences);
    let group = copy.reports().await.get_group(proto::GetGroupRequest { group_id: "province".into() }).await;
    assert_eq!(group.expect("group restored").into_inner().group.expect("group").agency_ids, vec![AGENCY.to_string()]);
    // Applications are the same too.
    for id in ["test-agency-0", "test-agency-1", "test-agency-599"] {
        let a = app.application(AGENCY, id).await;
        let b = copy.application(AGENCY, id).await;
        assert_eq!(a.application, b.application);
        assert_eq!(a.history, b.history);
    }
}

#[tokio::test]
async fn restore_refuses_a_used_directory_and_a_truncated_file() {
    let mut app = spawn_app().await;
    app.ok(history(AGENCY, 50)).await;
    let dir = tempfile::tempdir().expect("dir");
    let backup = dir.path().join("b");
    disclosure_ledger::cli::backup::backup(&server_arg(&app), &backup).await.expect("backup");
    // Into a directory with something in it: refused, nothing touched.
    let used = tempfile::tempdir().expect("dir");
    std::fs::write(used.path().join("keep"), "x").expect("write");
    let e = disclosure_ledger::ops::backup::restore(&backup, used.path(), 8 << 20, |_, _| {}).await.unwrap_err();
    let said = e.to_string();
    assert!(said.contains("not empty") && said.contains("nothing was written"), "{said}");
    assert!(!said.contains("remove"), "never advises deleting a directory: {said}");
    let left: Vec<_> = std::fs::read_dir(used.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("keep")], "untouched");
    // A truncated file is detected, and what the restore created is removed.
    let bytes = std::fs::read(&backup).expect("read");
    let cut = dir.path().join("cut");
    std::fs::write(&cut, &bytes[..bytes.len() - 40]).expect("write");
    let target = dir.path().join("t");
    let e = disclosure_ledger::ops::backup::restore(&cut, &target, 8 << 20, |_, _| {}).await.unwrap_err();
    assert!(format!("{e:#}").contains("ends in the middle") || format!("{e:#}").contains("truncated"), "{e:#}");
    assert!(!target.exists(), "the new directory it made is gone");
    // Into an empty directory that was there: it stays, empty.
    let empty = tempfile::tempdir().expect("dir");
    disclosure_ledger::ops::backup::restore(&cut, empty.path(), 8 << 20, |_, _| {}).await.unwrap_err();
    assert!(empty.path().exists() && std::fs::read_dir(empty.path()).unwrap().next().is_none(), "left empty");
}

#[cfg(unix)]
#[tokio::test]
async fn backups_and_exports_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let mut app = spawn_app().await;
    app.ok(history(AGENCY, 5)).await;
    let dir = tempfile::tempdir().expect("dir");
    let backup = dir.path().join("b");
    disclosure_ledger::cli::backup::backup(&server_arg(&app), &backup).await.expect("backup");
    let export = dir.path().join("e.jsonl");
    std::fs::write(&export, "").unwrap(); // already there, with the usual 0644
    std::fs::set_permissions(&export, std::fs::Permissions::from_mode(0o644)).unwrap();
    disclosure_ledger::cli::events::export(&server_arg(&app), Some(AGENCY), Some(&export)).await.expect("export");
    for file in [&backup, &export] {
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}: {mode:o}", file.display());
    }
}

#[tokio::test]
async fn export_and_import_move_a_log_between_instances() {
    let mut from = spawn_app().await;
    from.ok(history(AGENCY, 300)).await;
    let mut other = history("other-agency", 40);
    for e in &mut other {
        e.agency_id = "other-agency".into();
    }
    from.ok(other).await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("export.jsonl");
    disclosure_ledger::cli::events::export(&server_arg(&from), Some(AGENCY), Some(&file)).await.expect("export");

    let mut to = spawn_app().await;
    disclosure_ledger::cli::events::append(&server_arg(&to), &file, 100).await.expect("import");
    assert_eq!(tables(&to, AGENCY, 0).await, tables(&from, AGENCY, 0).await);
    assert!(to.log_of("other-agency").await.is_empty(), "only the exported agency moved");
    // Importing again changes nothing: the event ids make it idempotent.
    let before = to.log().await.len();
    disclosure_ledger::cli::events::append(&server_arg(&to), &file, 100).await.expect("import again");
    assert_eq!(to.log().await.len(), before);
    // The events are the same events, ids and all.
    let ids = |log: Vec<proto::RecordedEvent>| log.into_iter().map(|r| r.event.expect("event")).collect::<Vec<_>>();
    assert_eq!(ids(to.log().await), ids(from.log_of(AGENCY).await));
}
