//! StreamAppendEvents through the real server: each message is one
//! AppendEvents, answered in the order sent with its own result or its own
//! error (with the rich details a call would carry), and a refused message
//! neither writes anything nor ends the stream.

mod support;

use disclosure_ledger::wire::proto::{self, stream_append_events_response::Result as Answer};
use support::*;
use tokio::sync::mpsc;
use tonic::Code;
use tonic_types::StatusExt;

/// An open stream: requests go in, answers come out in order.
struct Appender {
    requests: mpsc::Sender<proto::StreamAppendEventsRequest>,
    answers: tonic::Streaming<proto::StreamAppendEventsResponse>,
}

impl Appender {
    async fn open(app: &mut TestApp) -> Self {
        let (requests, rx) = mpsc::channel(16);
        let answers = app
            .client
            .stream_append_events(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .expect("open the stream")
            .into_inner();
        Self { requests, answers }
    }

    async fn send(&self, request_id: u64, events: Vec<proto::Event>) {
        let append = proto::AppendEventsRequest { events, expected_revisions: vec![], validate_only: false };
        self.requests.send(proto::StreamAppendEventsRequest { request_id, append: Some(append) }).await.expect("send");
    }

    async fn answer(&mut self) -> proto::StreamAppendEventsResponse {
        self.answers.message().await.expect("the stream stays open").expect("an answer")
    }
}

/// The error of an answer as a tonic status, so its rich details can be read
/// as a call's would be.
fn error_of(answer: &proto::StreamAppendEventsResponse) -> tonic::Status {
    use prost::Message as _;
    match &answer.result {
        Some(Answer::Error(e)) => {
            tonic::Status::with_details(Code::from(e.code), e.message.clone(), e.encode_to_vec().into())
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn answers_come_in_order_and_a_refused_request_ends_nothing() {
    let mut app = spawn_app().await;
    let mut stream = Appender::open(&mut app).await;
    // Sent without waiting, so that they are appended concurrently.
    stream.send(7, vec![person("A-1", date(2024, 3, 1))]).await;
    stream
        .send(8, vec![person("A-2", date(2024, 3, 2)), concluded("A-2", date(2024, 3, 9), proto::Outcome::Disclosed)])
        .await;
    // A conclusion of an application never received: refused, whole.
    stream
        .send(9, vec![person("A-3", date(2024, 3, 3)), concluded("A-9", date(2024, 3, 9), proto::Outcome::Disclosed)])
        .await;
    stream.send(10, vec![person("A-4", date(2024, 3, 4))]).await;

    let mut ids = Vec::new();
    let mut appended = 0;
    for expected in 7..=10 {
        let answer = stream.answer().await;
        assert_eq!(answer.request_id, expected, "answers keep the order of the requests");
        ids.push(answer.request_id);
        match &answer.result {
            Some(Answer::Appended(r)) => appended += r.results.len(),
            Some(Answer::Error(_)) => {
                assert_eq!(expected, 9);
                assert_eq!(error_of(&answer).code(), Code::FailedPrecondition);
            }
            None => panic!("an answer without a result"),
        }
    }
    assert_eq!(appended, 4);
    // Only the accepted requests were written: nothing of request 9.
    let log = app.log().await;
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|e| e.event.as_ref().unwrap().subject_id != "A-3"));
}

#[tokio::test]
async fn a_bad_request_gets_the_field_and_reason_in_rich_details() {
    let mut app = spawn_app().await;
    let mut stream = Appender::open(&mut app).await;
    let mut bad = person("A-1", date(2024, 3, 1));
    bad.event_id = "not-a-uuid".into();
    stream.send(1, vec![bad]).await;
    stream.requests.send(proto::StreamAppendEventsRequest { request_id: 2, append: None }).await.unwrap();
    stream.send(3, vec![person("A-1", date(2024, 3, 1))]).await;

    let status = error_of(&stream.answer().await);
    assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
    let details = status.get_error_details();
    let violations = &details.bad_request().expect("BadRequest details").field_violations;
    assert!(violations.iter().any(|v| v.field.contains("event_id")), "{violations:?}");

    let status = error_of(&stream.answer().await);
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("append"), "{}", status.message());

    assert!(matches!(stream.answer().await.result, Some(Answer::Appended(_))));
    assert_eq!(app.log().await.len(), 1);
}

#[tokio::test]
async fn a_retried_request_on_a_stream_is_a_duplicate() {
    let mut app = spawn_app().await;
    let events = vec![person("A-1", date(2024, 3, 1)), concluded("A-1", date(2024, 3, 5), proto::Outcome::Disclosed)];
    let mut stream = Appender::open(&mut app).await;
    stream.send(1, events.clone()).await;
    let first = match stream.answer().await.result {
        Some(Answer::Appended(r)) => r,
        other => panic!("{other:?}"),
    };
    // The same events again, on a new stream (as after a lost connection).
    drop(stream);
    let mut stream = Appender::open(&mut app).await;
    stream.send(1, events).await;
    let again = match stream.answer().await.result {
        Some(Answer::Appended(r)) => r,
        other => panic!("{other:?}"),
    };
    assert!(again.results.iter().all(|r| r.duplicate));
    let positions = |r: &proto::AppendEventsResponse| r.results.iter().map(|r| r.position).collect::<Vec<_>>();
    assert_eq!(positions(&first), positions(&again));
    assert_eq!(app.log().await.len(), 2);
}

#[tokio::test]
async fn many_streams_at_once_lose_and_double_nothing() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for c in 0..8 {
        let mut app_client = app.client.clone();
        tasks.push(tokio::spawn(async move {
            let (tx, rx) = mpsc::channel(8);
            let mut answers = app_client
                .stream_append_events(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
                .unwrap()
                .into_inner();
            let sender = tokio::spawn(async move {
                for i in 0..50u64 {
                    let append = proto::AppendEventsRequest {
                        events: vec![person(&format!("C{c}-{i}"), date(2024, 3, 1))],
                        expected_revisions: vec![],
                        validate_only: false,
                    };
                    tx.send(proto::StreamAppendEventsRequest { request_id: i, append: Some(append) }).await.unwrap();
                }
            });
            for i in 0..50u64 {
                let answer = answers.message().await.unwrap().unwrap();
                assert_eq!(answer.request_id, i);
                assert!(matches!(answer.result, Some(Answer::Appended(_))), "{answer:?}");
            }
            sender.await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut app = app;
    let log = app.log().await;
    assert_eq!(log.len(), 400);
    let positions: Vec<u64> = log.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=400).collect::<Vec<_>>(), "gapless, each event once");
}

#[tokio::test]
async fn on_shutdown_a_stream_answers_what_it_took_and_ends_unavailable() {
    let mut app = spawn_app().await;
    let mut stream = Appender::open(&mut app).await;
    stream.send(1, vec![person("A-1", date(2024, 3, 1))]).await;
    assert!(matches!(stream.answer().await.result, Some(Answer::Appended(_))));
    // The drain does not wait for the client to hang up.
    let stopping = tokio::spawn(app.stop());
    let end = tokio::time::timeout(std::time::Duration::from_secs(10), stream.answers.message())
        .await
        .expect("the stream ends without waiting for the drain timeout");
    let status = end.expect_err("the stream ends with a status");
    assert_eq!(status.code(), Code::Unavailable, "{}", status.message());
    let dir = stopping.await.expect("stopped");
    // What was answered is durable.
    let mut app = spawn_app_in(dir).await;
    assert_eq!(app.log().await.len(), 1);
}
