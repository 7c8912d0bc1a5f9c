//! Durability through a real crash: the real binary runs as a child
//! process, many clients append concurrently, the process is killed with
//! SIGKILL while appends are in flight, and a restart on the same directory
//! must hold every acknowledged event exactly once, at its position, with
//! no gap; retries of acknowledged events are recognised as duplicates.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use disclosure_ledger::proto::{self, ledger_service_client::LedgerServiceClient};
use support::*;
use tokio_stream::StreamExt;

/// The real binary serving `dir` on a free port.
struct Process {
    child: Child,
    url: String,
}

impl Process {
    fn start(dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_disclosure-ledger"))
            .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the binary");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("the server logs where it listens").unwrap();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if v["fields"]["message"] == "listening" {
                break v["fields"]["addr"].as_str().unwrap().to_owned();
            }
        };
        // Keep draining the log so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, url: format!("http://{addr}") }
    }

    fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }
}

async fn whole_log(url: &str) -> Vec<proto::RecordedEvent> {
    let mut client = LedgerServiceClient::connect(url.to_owned()).await.unwrap();
    let mut stream = client
        .read_log(proto::ReadLogRequest { from_position: 1, agency_id: String::new(), follow: false })
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(r) = stream.next().await {
        out.push(r.unwrap().event.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_events_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    // Every acknowledged event: id -> (position, the event).
    let acked: Arc<Mutex<HashMap<String, (u64, proto::Event)>>> = Arc::default();
    let mut sent_unacked: Vec<proto::Event> = Vec::new();
    for cycle in 0..3 {
        let process = Process::start(dir.path());
        wait_serving(&process.url).await;
        let mut tasks = Vec::new();
        for t in 0..32 {
            let url = process.url.clone();
            let acked = Arc::clone(&acked);
            tasks.push(tokio::spawn(async move {
                let mut client = LedgerServiceClient::connect(url).await.unwrap();
                let mut unacked = Vec::new();
                for i in 0.. {
                    let e = person(&format!("c{cycle}-t{t}-{i}"), date(2024, 3, 1));
                    let request = proto::AppendEventsRequest { events: vec![e.clone()], expected_revisions: vec![] };
                    match client.append_events(request).await {
                        Ok(r) => {
                            let position = r.into_inner().results[0].position;
                            acked.lock().unwrap().insert(e.event_id.clone(), (position, e));
                        }
                        Err(_) => {
                            unacked.push(e);
                            break;
                        }
                    }
                }
                unacked
            }));
        }
        tokio::time::sleep(Duration::from_millis(400 + 150 * cycle)).await;
        process.kill9();
        for t in tasks {
            sent_unacked.extend(t.await.unwrap());
        }

        let process = Process::start(dir.path());
        wait_serving(&process.url).await;
        let log = whole_log(&process.url).await;
        let positions: Vec<u64> = log.iter().map(|r| r.position).collect();
        assert_eq!(positions, (1..=log.len() as u64).collect::<Vec<_>>(), "cycle {cycle}: gapless after recovery");
        let by_id: HashMap<String, u64> =
            log.iter().map(|r| (r.event.as_ref().unwrap().event_id.clone(), r.position)).collect();
        assert_eq!(by_id.len(), log.len(), "cycle {cycle}: no event twice");
        let acked_now = acked.lock().unwrap().clone();
        assert!(!acked_now.is_empty());
        for (id, (position, _)) in &acked_now {
            assert_eq!(by_id.get(id), Some(position), "cycle {cycle}: acknowledged event {id} lost or moved");
        }
        // Retrying acknowledged events writes nothing new.
        let mut client = LedgerServiceClient::connect(process.url.clone()).await.unwrap();
        for (position, e) in acked_now.values().take(50) {
            let r = client
                .append_events(proto::AppendEventsRequest { events: vec![e.clone()], expected_revisions: vec![] })
                .await
                .unwrap()
                .into_inner();
            assert!(r.results[0].duplicate);
            assert_eq!(r.results[0].position, *position);
        }
        // Events whose answer was lost in the crash can be retried safely:
        // each ends up recorded exactly once.
        for e in sent_unacked.drain(..) {
            let r = client
                .append_events(proto::AppendEventsRequest { events: vec![e.clone()], expected_revisions: vec![] })
                .await
                .unwrap()
                .into_inner();
            acked.lock().unwrap().insert(e.event_id.clone(), (r.results[0].position, e));
        }
        assert_eq!(whole_log(&process.url).await.len(), acked.lock().unwrap().len());
        process.kill9();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let process = Process::start(dir.path());
    wait_serving(&process.url).await;
    let mut client = LedgerServiceClient::connect(process.url.clone()).await.unwrap();
    client
        .append_events(proto::AppendEventsRequest {
            events: vec![person("a1", date(2024, 3, 1))],
            expected_revisions: vec![],
        })
        .await
        .unwrap();
    // The client stays connected: the drain must not wait for it forever.
    let status = tokio::task::spawn_blocking(move || process.terminate()).await.unwrap();
    assert!(status.success(), "exit status {status:?}");
    drop(client);
    let process = Process::start(dir.path());
    wait_serving(&process.url).await;
    assert_eq!(whole_log(&process.url).await.len(), 1);
    process.kill9();
}
