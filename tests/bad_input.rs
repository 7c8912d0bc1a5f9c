//! Bad input answered honestly: statuses small enough for every standard
//! client to read (a client that reads at most 8 KiB of metadata, as
//! grpc-java does, sees the real INVALID_ARGUMENT), undecodable messages
//! answered INVALID_ARGUMENT (not INTERNAL), and look-alike ids that are
//! one id.

mod support;

use disclosure_ledger::wire::proto::{self, ledger_service_client::LedgerServiceClient};
use support::*;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt as _;

/// A client that reads at most 8 KiB of headers and trailers.
async fn strict_client(app: &TestApp) -> LedgerServiceClient<Channel> {
    let channel = Channel::from_shared(format!("http://{}", app.addr))
        .unwrap()
        .http2_max_header_list_size(8 * 1024)
        .connect()
        .await
        .expect("connect");
    LedgerServiceClient::new(channel)
}

fn trailers_size(status: &tonic::Status) -> usize {
    status.message().len() + status.details().len() * 4 / 3
}

#[tokio::test]
async fn a_ten_thousand_character_id_is_refused_in_a_status_an_8_kib_client_reads() {
    let app = spawn_app().await;
    let mut client = strict_client(&app).await;
    let mut e = person("A-1", date(2024, 3, 1));
    e.event_id = "x".repeat(10_000);
    e.subject_id = "长".repeat(10_000);
    let status = client
        .append_events(proto::AppendEventsRequest { events: vec![e], ..Default::default() })
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
    assert!(trailers_size(&status) < 4096, "{} bytes", trailers_size(&status));
    let violations = status.get_details_bad_request().expect("rich details").field_violations;
    let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    assert!(fields.contains(&"events[0].event_id") && fields.contains(&"events[0].subject_id"), "{fields:?}");
    assert!(violations.iter().all(|v| v.description.chars().count() <= 241), "{violations:?}");
}

#[tokio::test]
async fn a_thousand_events_dated_30_february_are_refused_in_a_status_an_8_kib_client_reads() {
    let app = spawn_app().await;
    let mut client = strict_client(&app).await;
    let events: Vec<proto::Event> = (0..1000).map(|i| person(&format!("A-{i}"), date(2024, 2, 30))).collect();
    let status =
        client.append_events(proto::AppendEventsRequest { events, ..Default::default() }).await.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
    assert!(trailers_size(&status) < 4096, "{} bytes", trailers_size(&status));
    assert!(status.message().contains("and 997 more"), "{}", status.message());
    let violations = status.get_details_bad_request().expect("rich details").field_violations;
    assert!(violations.len() <= 21, "{}", violations.len());
    assert_eq!(violations[0].field, "events[0].occurred_on");
    assert!(violations.last().unwrap().description.contains("more problems"), "{:?}", violations.last());
}

/// Sends `body` as the whole request message of AppendEvents.
async fn raw_append(app: &TestApp, body: Vec<u8>) -> tonic::Status {
    use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

    #[derive(Default)]
    struct Raw;
    struct RawEncoder;
    struct RawDecoder;
    impl Encoder for RawEncoder {
        type Item = Vec<u8>;
        type Error = tonic::Status;
        fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
            bytes::BufMut::put_slice(buf, &item);
            Ok(())
        }
    }
    impl Decoder for RawDecoder {
        type Item = Vec<u8>;
        type Error = tonic::Status;
        fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
            let n = bytes::Buf::remaining(buf);
            Ok(Some(bytes::Buf::copy_to_bytes(buf, n).to_vec()))
        }
    }
    impl Codec for Raw {
        type Encode = Vec<u8>;
        type Decode = Vec<u8>;
        type Encoder = RawEncoder;
        type Decoder = RawDecoder;
        fn encoder(&mut self) -> RawEncoder {
            RawEncoder
        }
        fn decoder(&mut self) -> RawDecoder {
            RawDecoder
        }
    }

    let channel = channel(app.addr).await;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let path = http::uri::PathAndQuery::from_static("/disclosure.v1.LedgerService/AppendEvents");
    grpc.unary(tonic::Request::new(body), path, Raw).await.expect_err("refused")
}

#[tokio::test]
async fn undecodable_messages_are_the_callers_fault() {
    let mut app = spawn_app().await;
    // Random bytes.
    let garbage: Vec<u8> = (0..200u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let status = raw_append(&app, garbage).await;
    assert_eq!(status.code(), Code::InvalidArgument, "garbage: {}", status.message());
    // A valid message cut short.
    let whole = prost::Message::encode_to_vec(&proto::AppendEventsRequest {
        events: vec![person("A-1", date(2024, 3, 1))],
        ..Default::default()
    });
    let status = raw_append(&app, whole[..whole.len() - 5].to_vec()).await;
    assert_eq!(status.code(), Code::InvalidArgument, "truncated: {}", status.message());
    // An event whose event_id (field 1 of Event, field 1 of the request) is
    // not UTF-8.
    let status = raw_append(&app, vec![0x0a, 0x04, 0x0a, 0x02, 0xff, 0xfe]).await;
    assert_eq!(status.code(), Code::InvalidArgument, "invalid UTF-8: {}", status.message());
    assert!(app.log().await.is_empty(), "nothing was written");
}

#[tokio::test]
async fn look_alike_ids_are_one_application() {
    let mut app = spawn_app().await;
    // NFC on receipt, NFD on conclusion: one application, concluded.
    app.ok(vec![person("依申请〔2024〕\u{e9}-1", date(2024, 3, 1))]).await;
    app.ok(vec![concluded("依申请〔2024〕e\u{301}-1", date(2024, 3, 5), proto::Outcome::Disclosed)]).await;
    // Full-width digits on receipt, half-width on conclusion.
    app.ok(vec![person("１２３号", date(2024, 3, 1))]).await;
    app.ok(vec![concluded("123号", date(2024, 3, 6), proto::Outcome::Disclosed)]).await;
    // A compatibility ideograph and its unified form.
    app.ok(vec![person("\u{f900}-7", date(2024, 3, 2))]).await;
    let twice = app.append(vec![person("\u{8c48}-7", date(2024, 3, 2))]).await;
    assert!(twice.is_err(), "received twice: the second receipt of the same application is refused");

    let listed = app
        .client
        .list_applications(proto::ListApplicationsRequest { agency_id: AGENCY.into(), ..Default::default() })
        .await
        .expect("list")
        .into_inner()
        .applications;
    let ids: Vec<&str> = listed.iter().map(|a| a.application_id.as_str()).collect();
    assert_eq!(ids.len(), 3, "three applications, not five: {ids:?}");
    assert!(
        ids.contains(&"依申请〔2024〕\u{e9}-1") && ids.contains(&"123号") && ids.contains(&"\u{8c48}-7"),
        "{ids:?}"
    );
    assert!(listed.iter().filter(|a| a.status == proto::ApplicationStatus::Concluded as i32).count() == 2);
    // Read back by any form, answered in the canonical one.
    let got = app.application(AGENCY, "１２３号").await;
    assert_eq!(got.application.expect("found").application_id, "123号");
}

#[tokio::test]
async fn invisible_and_bidirectional_characters_in_ids_are_refused() {
    let mut app = spawn_app().await;
    for id in ["A\u{202e}-1", "A\u{200b}-1"] {
        let status = app.append(vec![person(id, date(2024, 3, 1))]).await.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument);
        let v = status.get_details_bad_request().expect("rich details").field_violations;
        assert_eq!(v[0].field, "events[0].subject_id");
        assert!(v[0].description.contains("invisible or bidirectional"), "{}", v[0].description);
    }
    assert!(app.log().await.is_empty());
}
