//! Fuzzing the edge and the writer with proptest: raw bytes and random
//! (mostly wrong) messages are decoded as an `AppendEventsRequest`, checked
//! by the same edge function the service uses, and appended to a real
//! ledger. Nothing may panic; a refused batch must leave the log exactly
//! as it was; an accepted one must add exactly its new events; and at the
//! end the tallies must agree with a replay of whatever was accepted.
//!
//! `FUZZ_CASES` sets the number of inputs of each kind (default 3000 in
//! the suite; run it longer by hand, e.g. `FUZZ_CASES=200000`).

use std::cell::Cell;

use disclosure_ledger::api::ledger_service::append_batch;
use disclosure_ledger::store::ledger::Ledger;
use disclosure_ledger::wire::proto::{self, event::Payload};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use prost::Message as _;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000)
}

/// A few ids, so that random events hit the same streams and event ids
/// (retries, conflicts, corrections of real targets).
const EVENT_IDS: [&str; 6] = [
    "0b0e7f4e-8f7e-4a57-9f44-000000000001",
    "0b0e7f4e-8f7e-4a57-9f44-000000000002",
    "0b0e7f4e-8f7e-4a57-9f44-000000000003",
    "0b0e7f4e-8f7e-4a57-9f44-000000000004",
    "not-a-uuid",
    "",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("agency-1".to_owned()),
        Just("A-1".to_owned()),
        Just("A-2".to_owned()),
        Just(String::new()),
        Just("x".repeat(300)),
        "[a-zA-Z0-9 \\-\u{4e00}-\u{4e10}\u{0}]{0,12}",
    ]
}

fn date() -> impl Strategy<Value = Option<proto::google::r#type::Date>> {
    prop_oneof![
        1 => Just(None),
        2 => (2000..2030i32, 0..14i32, 0..33i32).prop_map(|(year, month, day)| Some(proto::google::r#type::Date { year, month, day })),
        8 => (2019..2025i32, 1..13i32, 1..29i32).prop_map(|(year, month, day)| Some(proto::google::r#type::Date { year, month, day })),
    ]
}

fn payload() -> impl Strategy<Value = Option<Payload>> {
    // Mostly valid enum values (every enum has at least 3), sometimes not.
    let e = prop_oneof![6 => 1..4i32, 1 => -2..25i32];
    prop_oneof![
        1 => Just(None),
        12 => (e.clone(), e.clone()).prop_map(|(a, c)| Some(Payload::ApplicationReceived(proto::ApplicationReceived { applicant_category: a, channel: c }))),
        3 => e.clone().prop_map(|o| Some(Payload::ApplicationConcluded(proto::ApplicationConcluded { outcome: o }))),
        1 => Just(Some(Payload::SupplementRequested(proto::SupplementRequested::default()))),
        1 => Just(Some(Payload::SupplementReceived(proto::SupplementReceived::default()))),
        1 => (-5..30i32).prop_map(|d| Some(Payload::DeadlineExtended(proto::DeadlineExtended { working_days: d as u32 }))),
        1 => prop::collection::vec(text(), 0..4).prop_map(|p| Some(Payload::ApplicationSplit(proto::ApplicationSplit { part_subject_ids: p }))),
        1 => (e.clone(), text()).prop_map(|(k, a)| Some(Payload::ReviewCaseFiled(proto::ReviewCaseFiled { kind: k, application_subject_id: a }))),
        1 => e.clone().prop_map(|r| Some(Payload::ReviewCaseDecided(proto::ReviewCaseDecided { result: r }))),
        2 => (prop::sample::select(&EVENT_IDS[..]), text(), date(), e.clone(), e).prop_map(|(t, reason, on, a, o)| Some(Payload::EventAmended(proto::EventAmended {
            target_event_id: t.into(), reason, occurred_on: on, applicant_category: a, outcome: o, ..Default::default()
        }))),
        1 => (prop::sample::select(&EVENT_IDS[..]), text()).prop_map(|(t, reason)| Some(Payload::EventVoided(proto::EventVoided { target_event_id: t.into(), reason }))),
    ]
}

fn event() -> impl Strategy<Value = proto::Event> {
    let id = prop_oneof![
        2 => prop::sample::select(&EVENT_IDS[..]).prop_map(str::to_owned),
        4 => Just(()).prop_map(|()| uuid::Uuid::new_v4().to_string()),
    ];
    let agency = prop_oneof![8 => Just("agency-1".to_owned()), 1 => text()];
    let subject =
        prop_oneof![4 => prop::sample::select(&["A-1", "A-2", "A-3", "R-1"][..]).prop_map(str::to_owned), 1 => text()];
    (id, agency, subject, date(), payload()).prop_map(|(event_id, agency_id, subject_id, occurred_on, payload)| {
        proto::Event {
            event_id,
            agency_id,
            subject_id,
            occurred_on,
            actor: String::new(),
            correlation_id: String::new(),
            payload,
        }
    })
}

fn request() -> impl Strategy<Value = proto::AppendEventsRequest> {
    prop_oneof![1 => Just(Vec::new()), 6 => prop::collection::vec(event(), 1..3), 2 => prop::collection::vec(event(), 3..8)]
        .prop_map(|events| proto::AppendEventsRequest { events, expected_revisions: vec![], validate_only: false })
}

/// What may happen to the bytes of a message on the way.
#[derive(Clone, Debug)]
enum Damage {
    None,
    Flip(usize, u8),
    Cut(usize),
    Insert(usize, Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        2 => Just(Damage::None),
        2 => (any::<usize>(), 1..=255u8).prop_map(|(i, b)| Damage::Flip(i, b)),
        1 => any::<usize>().prop_map(Damage::Cut),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Damage::Insert(i, b)),
    ]
}

fn damaged(mut bytes: Vec<u8>, d: &Damage) -> Vec<u8> {
    let n = bytes.len().max(1);
    match d {
        Damage::None => {}
        Damage::Flip(i, b) => {
            if !bytes.is_empty() {
                bytes[i % n] ^= b;
            }
        }
        Damage::Cut(i) => bytes.truncate(i % n),
        Damage::Insert(i, b) => {
            let at = i % n.min(bytes.len() + 1);
            bytes.splice(at..at, b.iter().copied());
        }
    }
    bytes
}

/// Decodes, checks at the edge and appends one input; checks that a
/// refusal changed nothing and an acceptance added exactly its new events.
fn try_input(
    ledger: &Ledger,
    rt: &tokio::runtime::Runtime,
    bytes: &[u8],
    accepted: &Cell<u64>,
) -> Result<(), TestCaseError> {
    let Ok(request) = proto::AppendEventsRequest::decode(bytes) else { return Ok(()) };
    let Ok(batch) = append_batch(&request) else { return Ok(()) };
    let before = ledger.head();
    match rt.block_on(ledger.append(batch)) {
        Ok(results) => {
            let new = results.iter().filter(|r| !r.duplicate).count() as u64;
            prop_assert_eq!(ledger.head(), before + new, "an accepted batch adds exactly its new events");
            accepted.set(accepted.get() + 1);
        }
        Err(_) => prop_assert_eq!(ledger.head(), before, "a refused batch writes nothing"),
    }
    Ok(())
}

#[test]
fn random_bytes_and_messages_never_panic_or_half_write() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path(), 8 << 20).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let accepted = Cell::new(0u64);
    let cases = cases();
    let config = Config { cases, failure_persistence: None, ..Config::default() };

    // Raw bytes.
    TestRunner::new(config.clone())
        .run(&prop::collection::vec(any::<u8>(), 0..512), |bytes| try_input(&ledger, &rt, &bytes, &accepted))
        .unwrap();
    // Random messages, some damaged in transit.
    TestRunner::new(config)
        .run(&(request(), damage()), |(request, d)| {
            try_input(&ledger, &rt, &damaged(request.encode_to_vec(), &d), &accepted)
        })
        .unwrap();

    let verified = disclosure_ledger::report::derivation::verify(ledger.store()).unwrap();
    assert!(verified.differences.is_empty(), "{:?}", verified.differences);
    assert!(accepted.get() > 0, "some random batches are valid and get in");
    println!(
        "fuzz: {} inputs ({cases} raw, {cases} messages), {} batches accepted, {} events in the log",
        2 * u64::from(cases),
        accepted.get(),
        ledger.head()
    );
    ledger.close();
}
