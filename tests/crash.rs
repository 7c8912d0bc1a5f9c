//! Durability through a real crash: the real binary runs as a child
//! process, many clients append concurrently, the process is killed with
//! SIGKILL while appends are in flight, and a restart on the same directory
//! must hold every acknowledged event exactly once, at its position, with
//! no gap; retries of acknowledged events are recognised as duplicates.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use disclosure_ledger::wire::proto::{
    self, ledger_service_client::LedgerServiceClient, report_service_client::ReportServiceClient,
};
use support::process::{Process, whole_log};
use support::*;

type Acked = Arc<Mutex<HashMap<String, (u64, proto::Event)>>>;

/// Retries the batches whose answer was lost in a crash; each event ends up
/// recorded once (a retry of one already written is answered as a
/// duplicate, at its original position).
async fn retry(
    client: &mut LedgerServiceClient<tonic::transport::Channel>,
    unanswered: &mut Vec<Vec<proto::Event>>,
    acked: &Acked,
) {
    for events in unanswered.drain(..) {
        let r = client
            .append_events(proto::AppendEventsRequest {
                events: events.clone(),
                expected_revisions: vec![],
                validate_only: false,
            })
            .await
            .unwrap()
            .into_inner();
        for (e, result) in events.into_iter().zip(r.results) {
            acked.lock().unwrap().insert(e.event_id.clone(), (result.position, e));
        }
    }
}

/// The commit log's segment files in a data directory.
fn commit_log_segments(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join(disclosure_ledger::store::wal::DIR)).map_or(0, |d| d.count())
}

/// Kill cycles per run: at least 50 in CI (`KILL_CYCLES` overrides).
fn cycles() -> usize {
    std::env::var("KILL_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(50)
}

/// A batch of 1 to 5 new applications from appender `t`.
fn batch(cycle: usize, t: usize, i: usize) -> Vec<proto::Event> {
    let n = 1 + (t + i) % 5;
    (0..n).map(|k| person(&format!("c{cycle}-t{t}-{i}-{k}"), date(2024, 3, 1))).collect()
}

/// After a restart: the log is gapless, holds no event twice, holds every
/// acknowledged event at its acknowledged position, holds each batch whole
/// or not at all, and its tallies and every stored application agree with
/// a replay (`verify --deep`).
async fn check(url: &str, cycle: usize, acked: &HashMap<String, (u64, proto::Event)>, batches: &[Vec<String>]) {
    let log = whole_log(url).await;
    let positions: Vec<u64> = log.iter().map(|r| r.position).collect();
    assert_eq!(positions, (1..=log.len() as u64).collect::<Vec<_>>(), "cycle {cycle}: gapless after recovery");
    let by_id: HashMap<String, u64> =
        log.iter().map(|r| (r.event.as_ref().unwrap().event_id.clone(), r.position)).collect();
    assert_eq!(by_id.len(), log.len(), "cycle {cycle}: no event twice");
    for (id, (position, _)) in acked {
        assert_eq!(by_id.get(id), Some(position), "cycle {cycle}: acknowledged event {id} lost or moved");
    }
    for ids in batches {
        let present = ids.iter().filter(|id| by_id.contains_key(*id)).count();
        assert!(
            present == 0 || present == ids.len(),
            "cycle {cycle}: a batch is half written ({present} of {})",
            ids.len()
        );
    }
    let verified = ReportServiceClient::connect(url.to_owned())
        .await
        .unwrap()
        .verify_tallies(proto::VerifyTalliesRequest { deep: true })
        .await
        .unwrap()
        .into_inner();
    assert!(verified.consistent, "cycle {cycle}: verify found {:?}", verified.differences);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_events_survive_sigkill() {
    use rand::Rng;
    let dir = tempfile::tempdir().unwrap();
    // Every acknowledged event: id -> (position, the event).
    let acked: Acked = Arc::default();
    // Every batch sent, as its event ids (to check all-or-nothing).
    let sent: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let mut unanswered: Vec<Vec<proto::Event>> = Vec::new();
    let started = std::time::Instant::now();
    let cycles = cycles();
    // Kills that found a checkpoint under way (the commit log rotated, its
    // older segments not yet deleted), and restarts that applied commits
    // from the log.
    let (mut during_checkpoint, mut replayed) = (0, 0);
    for cycle in 0..cycles {
        let segments = commit_log_segments(dir.path());
        if segments > 1 {
            during_checkpoint += 1;
        }
        // A checkpoint after nearly every commit in one cycle of three, so
        // that kills land in flushes and in the log's truncation; every
        // 20 ms, or the default, in the others.
        let every = ["1", "20", "500"][cycle % 3];
        let process = Process::start_with(dir.path(), &[("DISCLOSURE_CHECKPOINT_MS", every)]);
        wait_serving(&process.url).await;
        if process.log.lock().unwrap().iter().any(|l| l.contains("applied the commit log")) {
            replayed += 1;
        }
        let (acked_now, sent_now) = (acked.lock().unwrap().clone(), sent.lock().unwrap().clone());
        check(&process.url, cycle, &acked_now, &sent_now).await;
        // Retrying acknowledged events writes nothing new.
        let mut client = LedgerServiceClient::connect(process.url.clone()).await.unwrap();
        let sample: Vec<_> = acked.lock().unwrap().values().take(20).cloned().collect();
        for (position, e) in sample {
            let r = client
                .append_events(proto::AppendEventsRequest {
                    events: vec![e.clone()],
                    expected_revisions: vec![],
                    validate_only: false,
                })
                .await
                .unwrap()
                .into_inner();
            assert!(r.results[0].duplicate, "cycle {cycle}: a retry was written again");
            assert_eq!(r.results[0].position, position);
        }
        // Batches whose answer was lost in the crash are retried: each
        // event ends up recorded exactly once (checked next cycle).
        retry(&mut client, &mut unanswered, &acked).await;

        let mut tasks = Vec::new();
        for t in 0..16 {
            let url = process.url.clone();
            let acked = Arc::clone(&acked);
            let sent = Arc::clone(&sent);
            tasks.push(tokio::spawn(async move {
                let mut client = LedgerServiceClient::connect(url).await.unwrap();
                for i in 0.. {
                    let events = batch(cycle, t, i);
                    sent.lock().unwrap().push(events.iter().map(|e| e.event_id.clone()).collect());
                    let request = proto::AppendEventsRequest {
                        events: events.clone(),
                        expected_revisions: vec![],
                        validate_only: false,
                    };
                    match client.append_events(request).await {
                        Ok(r) => {
                            let mut acked = acked.lock().unwrap();
                            for (e, result) in events.into_iter().zip(r.into_inner().results) {
                                acked.insert(e.event_id.clone(), (result.position, e));
                            }
                        }
                        Err(_) => return Some(events),
                    }
                }
                None
            }));
        }
        // Kill at a random moment while the appenders are busy.
        let wait = rand::rng().random_range(30..300);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        process.kill9();
        for t in tasks {
            unanswered.extend(t.await.unwrap());
        }
    }
    let process = Process::start(dir.path());
    wait_serving(&process.url).await;
    let (acked_now, sent_now) = (acked.lock().unwrap().clone(), sent.lock().unwrap().clone());
    check(&process.url, cycles, &acked_now, &sent_now).await;
    // The last cycle's unanswered batches, retried, complete the log:
    // every event in it was acknowledged exactly once.
    let mut client = LedgerServiceClient::connect(process.url.clone()).await.unwrap();
    retry(&mut client, &mut unanswered, &acked).await;
    let total = whole_log(&process.url).await.len();
    assert_eq!(total, acked.lock().unwrap().len(), "every logged event was acknowledged once");
    process.kill9();
    assert!(replayed > cycles / 2, "most kills left acknowledged commits only in the commit log ({replayed})");
    assert!(during_checkpoint > 0, "some kills landed in a checkpoint ({during_checkpoint} of {cycles})");
    println!(
        "{cycles} SIGKILL cycles ({during_checkpoint} during a checkpoint, {replayed} restarts applied the commit \
         log), {total} events in the log, {} acknowledged, {} batches sent, {:.1} s",
        acked.lock().unwrap().len(),
        sent.lock().unwrap().len(),
        started.elapsed().as_secs_f64()
    );
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
            validate_only: false,
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
