//! ReadLog with `follow`: a catch-up subscription that turns live.

mod support;

use std::time::Duration;

use disclosure_ledger::wire::proto;
use support::*;
use tokio_stream::StreamExt;

#[tokio::test]
async fn a_subscription_catches_up_then_follows_live_appends() {
    let mut app = spawn_app().await;
    app.ok(vec![person("a1", date(2024, 3, 1)), person("a2", date(2024, 3, 1))]).await;
    let mut stream = app
        .client
        .read_log(proto::ReadLogRequest { from_position: 2, agency_id: AGENCY.into(), follow: true })
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap().event.unwrap();
    assert_eq!(first.position, 2);

    let mut writer = app.client.clone();
    let mut other = person("x1", date(2024, 3, 1));
    other.agency_id = "other-agency".into();
    writer
        .append_events(proto::AppendEventsRequest {
            events: vec![other, person("a3", date(2024, 3, 2))],
            expected_revisions: vec![],
            validate_only: false,
        })
        .await
        .unwrap();
    let live =
        tokio::time::timeout(Duration::from_secs(5), stream.next()).await.expect("a live event").unwrap().unwrap();
    let live = live.event.unwrap();
    assert_eq!(live.position, 4, "the other agency's event is filtered out");
    assert_eq!(live.event.unwrap().subject_id, "a3");
}

#[tokio::test]
async fn a_subscription_ends_when_the_server_drains() {
    let mut app = spawn_app().await;
    let mut stream = app
        .client
        .read_log(proto::ReadLogRequest { from_position: 1, agency_id: String::new(), follow: true })
        .await
        .unwrap()
        .into_inner();
    let stopping = tokio::spawn(app.stop());
    let end = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("the stream ends");
    assert!(end.is_none_or(|r| r.is_err()));
    tokio::time::timeout(Duration::from_secs(10), stopping).await.expect("the server stops").unwrap();
}
