//! A full disk: the real binary on a small tmpfs is appended to until the
//! disk is full. The failed write turns the service off for appends and
//! ends the process non-zero (no dead store that says SERVING); once there
//! is room again the restart serves every acknowledged event.
//!
//! Needs to mount a tmpfs (root, as CI runs); elsewhere it says so and
//! checks nothing.

mod support;

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use disclosure_ledger::wire::proto::{self, ledger_service_client::LedgerServiceClient};
use support::process::{Process, whole_log};
use support::*;

/// A tmpfs of `mib` MiB mounted on a new directory; unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(mib: u32) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self(dir))
    }

    fn grow(&self, mib: u32) {
        let status =
            Command::new("mount").args(["-o", &format!("remount,size={mib}m")]).arg(self.0.path()).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

#[tokio::test]
async fn a_full_disk_stops_the_service_and_the_restart_serves_everything_acknowledged() {
    let Some(disk) = Tmpfs::mount(24) else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (not root); CI runs this as root");
        return;
    };
    let data = disk.0.path().join("data");
    let mut p = Process::start(&data);
    wait_serving(&p.url).await;
    let mut client = LedgerServiceClient::connect(p.url.clone()).await.unwrap();
    let mut acked: HashMap<String, u64> = HashMap::new();
    let start = Instant::now();
    let mut refusal = None;
    'fill: for call in 0.. {
        assert!(start.elapsed() < Duration::from_secs(120), "the disk never filled");
        let events: Vec<proto::Event> = (0..100)
            .map(|i| {
                let mut e = person(&format!("A-{call}-{i}"), date(2024, 3, 1));
                e.actor = format!("{call}-{i}-{}", "x".repeat(200));
                e
            })
            .collect();
        let ids: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
        match client.append_events(proto::AppendEventsRequest { events, ..Default::default() }).await {
            Ok(r) => {
                for (id, result) in ids.into_iter().zip(r.into_inner().results) {
                    acked.insert(id, result.position);
                }
            }
            Err(status) => {
                refusal = Some(status);
                break 'fill;
            }
        }
    }
    let refusal = refusal.unwrap();
    assert!(
        matches!(refusal.code(), tonic::Code::Unavailable | tonic::Code::Unknown),
        "{:?}: {}",
        refusal.code(),
        refusal.message()
    );
    assert!(!acked.is_empty(), "something was written before the disk filled");
    let Some(exit) = p.wait_exit(Duration::from_secs(30)) else {
        let log = p.log.lock().unwrap().clone();
        p.kill9();
        panic!("a full disk did not end the process:\n{}", log[log.len().saturating_sub(8)..].join("\n"));
    };
    assert!(!exit.success(), "non-zero: {exit:?}");
    drop(client);

    // Room again: the restart serves everything acknowledged.
    disk.grow(256);
    let p = Process::start(&data);
    wait_serving(&p.url).await;
    let found: HashMap<String, u64> =
        whole_log(&p.url).await.into_iter().map(|r| (r.event.unwrap().event_id, r.position)).collect();
    for (id, position) in &acked {
        assert_eq!(found.get(id), Some(position), "acknowledged event {id} at {position}");
    }
    // And it takes appends again.
    let mut client = LedgerServiceClient::connect(p.url.clone()).await.unwrap();
    client
        .append_events(proto::AppendEventsRequest {
            events: vec![person("after", date(2024, 3, 2))],
            ..Default::default()
        })
        .await
        .expect("appends again");
    drop(client);
    assert!(tokio::task::spawn_blocking(move || p.terminate()).await.unwrap().success());
}
