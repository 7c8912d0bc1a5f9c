//! Many concurrent appenders, on the same and on different applications:
//! positions stay gapless, nothing is lost or written twice, and exactly one
//! of several racing conclusions of one application wins.

mod support;

use std::collections::HashMap;

use disclosure_ledger::wire::proto;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appenders_get_gapless_unique_positions() {
    let mut app = spawn_app().await;
    const TASKS: usize = 24;
    const PER_TASK: usize = 20;
    const SHARED: usize = 5;
    // Shared applications that every task will race to conclude.
    app.ok((0..SHARED).map(|k| person(&format!("shared-{k}"), date(2024, 3, 1))).collect()).await;

    let mut handles = Vec::new();
    for t in 0..TASKS {
        let mut client = app.client.clone();
        handles.push(tokio::spawn(async move {
            let mut acked: Vec<(String, u64)> = Vec::new();
            let mut won = Vec::new();
            for i in 0..PER_TASK {
                let subject = format!("t{t}-{i}");
                let batch = if i % 2 == 0 {
                    vec![person(&subject, date(2024, 3, 1))]
                } else {
                    vec![
                        person(&subject, date(2024, 3, 1)),
                        concluded(&subject, date(2024, 3, 2), proto::Outcome::Disclosed),
                    ]
                };
                let ids: Vec<_> = batch.iter().map(|e| e.event_id.clone()).collect();
                let r = client
                    .append_events(proto::AppendEventsRequest {
                        events: batch,
                        expected_revisions: vec![],
                        validate_only: false,
                    })
                    .await
                    .expect("independent appends succeed")
                    .into_inner();
                acked.extend(ids.into_iter().zip(r.results.iter().map(|x| x.position)));
                if i < SHARED {
                    let c = concluded(&format!("shared-{i}"), date(2024, 3, 3), proto::Outcome::Disclosed);
                    let id = c.event_id.clone();
                    match client
                        .append_events(proto::AppendEventsRequest {
                            events: vec![c],
                            expected_revisions: vec![],
                            validate_only: false,
                        })
                        .await
                    {
                        Ok(r) => {
                            acked.push((id, r.into_inner().results[0].position));
                            won.push(i);
                        }
                        Err(s) => {
                            assert_eq!(s.code(), tonic::Code::FailedPrecondition, "{}", s.message())
                        }
                    }
                }
            }
            (acked, won)
        }));
    }
    let mut acked: HashMap<String, u64> = HashMap::new();
    let mut wins = vec![0; SHARED];
    for h in handles {
        let (a, won) = h.await.unwrap();
        for (id, pos) in a {
            assert!(acked.insert(id, pos).is_none());
        }
        for k in won {
            wins[k] += 1;
        }
    }
    assert_eq!(wins, vec![1; SHARED], "exactly one conclusion of each shared application wins");

    let log = app.log().await;
    let positions: Vec<u64> = log.iter().map(|r| r.position).collect();
    assert_eq!(positions, (1..=log.len() as u64).collect::<Vec<_>>(), "gapless");
    assert_eq!(log.len(), SHARED + acked.len());
    for r in &log {
        let id = &r.event.as_ref().unwrap().event_id;
        if let Some(p) = acked.get(id) {
            assert_eq!(*p, r.position, "acknowledged at the position it is stored at");
        }
    }
    let mut ids: Vec<_> = log.iter().map(|r| r.event.as_ref().unwrap().event_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), log.len(), "no event twice");
}
