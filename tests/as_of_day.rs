//! "As of a date" means the application as it stood at the end of that
//! day: a property test that a deadline computed as of a past date on the
//! whole log equals the deadline computed on a store that holds only the
//! events dated up to that date; and, through the real server, the two
//! failures an independent check found in `ListDeadlines` (applications
//! concluded since were missing; a 补正 requested after the date made one
//! AWAITING_SUPPLEMENT), with `GetApplication` and `ListApplications` as of
//! a date, and the urgency order.

mod support;

use disclosure_ledger::deadline::calendar::Calendar;
use disclosure_ledger::deadline::statutory::deadline;
use disclosure_ledger::domain::codes::{ApplicantCategory, Channel, ConsultationParty, Outcome};
use disclosure_ledger::domain::date::CivilDate;
use disclosure_ledger::domain::event::{Event, Payload};
use disclosure_ledger::domain::ids::{AgencyId, EventId, StreamId, SubjectId};
use disclosure_ledger::domain::subject::SubjectState;
use disclosure_ledger::store::ledger::Ledger;
use disclosure_ledger::store::writer::AppendBatch;
use disclosure_ledger::wire::proto::{self, event::Payload as Wire};
use proptest::prelude::*;
use support::*;

fn day(offset: u32) -> CivilDate {
    let d = CivilDate::from_ymd(2024, 1, 2).unwrap().naive() + chrono::Duration::days(i64::from(offset));
    CivilDate::from_ymd(chrono::Datelike::year(&d), chrono::Datelike::month(&d), chrono::Datelike::day(&d)).unwrap()
}

fn step() -> impl Strategy<Value = Payload> {
    prop_oneof![
        Just(Payload::SupplementRequested),
        Just(Payload::SupplementReceived),
        prop::sample::select(ConsultationParty::ALL).prop_map(|party| Payload::ConsultationStarted { party }),
        prop::option::of(prop::sample::select(ConsultationParty::ALL))
            .prop_map(|party| Payload::ConsultationEnded { party }),
        (1u8..=20).prop_map(|working_days| Payload::DeadlineExtended { working_days }),
        prop::sample::select(Outcome::ALL).prop_map(|outcome| Payload::ApplicationConcluded { outcome }),
    ]
}

/// An application: the day of its receipt, and steps some days after it.
type History = (u32, Vec<(u32, Payload)>);

/// Applications, each a receipt and steps on later days; and an as-of day.
fn histories() -> impl Strategy<Value = (Vec<History>, u32)> {
    (prop::collection::vec((0u32..60, prop::collection::vec((0u32..60, step()), 0..8)), 1..8), 0u32..150)
}

fn event(n: &mut u32, subject: &str, on: CivilDate, payload: Payload) -> Event {
    *n += 1;
    Event {
        id: EventId::from_name(&format!("{subject}-{n}")),
        agency: AgencyId::parse(AGENCY).unwrap(),
        subject: SubjectId::parse(subject).unwrap(),
        occurred_on: on,
        actor: None,
        correlation_id: None,
        payload,
    }
}

/// Appends each event alone, in order; returns those accepted.
fn append_each(ledger: &Ledger, rt: &tokio::runtime::Runtime, events: Vec<Event>) -> Vec<Event> {
    events
        .into_iter()
        .filter(|e| rt.block_on(ledger.append(AppendBatch::new(vec![e.clone()], vec![]))).is_ok())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_deadline_as_of_a_past_date_is_the_deadline_of_the_events_dated_up_to_it((apps, as_of) in histories()) {
        let as_of = day(as_of);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut n = 0;
        let mut events = Vec::new();
        for (i, (received, steps)) in apps.iter().enumerate() {
            let id = format!("a{i}");
            let applicant = ApplicantCategory::NaturalPerson;
            events.push(event(&mut n, &id, day(*received), Payload::ApplicationReceived { applicant, channel: Channel::Online }));
            for (offset, p) in steps {
                events.push(event(&mut n, &id, day(received + offset), p.clone()));
            }
        }
        let whole_dir = tempfile::tempdir().unwrap();
        let whole = Ledger::open(whole_dir.path(), 8 << 20).unwrap();
        let accepted = append_each(&whole, &rt, events);
        // The same accepted history, only what is dated up to the day.
        let early: Vec<Event> = accepted.iter().filter(|e| e.occurred_on <= as_of).cloned().collect();
        let partial_dir = tempfile::tempdir().unwrap();
        let partial = Ledger::open(partial_dir.path(), 8 << 20).unwrap();
        let kept = append_each(&partial, &rt, early.clone());
        prop_assume!(kept.len() == early.len(), "the early part of an accepted history is accepted");
        let calendar = Calendar::builtin();
        for i in 0..apps.len() {
            let stream = StreamId { agency: AgencyId::parse(AGENCY).unwrap(), subject: SubjectId::parse(&format!("a{i}")).unwrap() };
            let Some(now) = whole.store().subject(&stream).unwrap() else { continue };
            let then = whole.store().subject_as_of_day(&now, as_of).unwrap();
            let only_early = partial.store().subject(&stream).unwrap();
            match (&then.state, only_early.as_ref().map(|r| &r.state)) {
                (SubjectState::Voided, None) => {}
                (SubjectState::Application(a), Some(SubjectState::Application(b))) => {
                    prop_assert_eq!(a, b);
                    let da = deadline(a, &calendar, as_of, 5).ok();
                    let db = deadline(b, &calendar, as_of, 5).ok();
                    prop_assert_eq!(da, db);
                }
                (a, b) => prop_assert!(false, "as of {as_of}: {a:?} against {b:?}"),
            }
        }
    }
}

fn wire(subject: &str, on: Option<proto::google::r#type::Date>, payload: Wire) -> proto::Event {
    support::event(subject, on, payload)
}

#[tokio::test]
async fn listing_deadlines_as_of_a_past_date_shows_each_application_as_it_stood_that_evening() {
    let mut app = spawn_app().await;
    app.ok(vec![
        // Open on 3 July, concluded since: listed as of 3 July.
        person("concluded-since", date(2025, 6, 20)),
        concluded("concluded-since", date(2025, 7, 10), proto::Outcome::Disclosed),
        // Received on 3 July; a 补正 requested on 10 July: on 3 July no
        // supplement was awaited yet.
        person("received-that-day", date(2025, 7, 3)),
        wire("received-that-day", date(2025, 7, 10), Wire::SupplementRequested(proto::SupplementRequested {})),
        // Concluded by 3 July: not open then.
        person("concluded-before", date(2025, 6, 2)),
        concluded("concluded-before", date(2025, 7, 1), proto::Outcome::Disclosed),
        // Received after: not there yet.
        person("received-after", date(2025, 7, 4)),
        // Long overdue by 3 July.
        person("overdue", date(2025, 4, 1)),
    ])
    .await;
    let mut client =
        proto::deadline_service_client::DeadlineServiceClient::connect(format!("http://{}", app.addr)).await.unwrap();
    let listed = client
        .list_deadlines(proto::ListDeadlinesRequest {
            agency_id: AGENCY.into(),
            as_of: date(2025, 7, 3),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let seen: Vec<(String, proto::DeadlineStanding)> = listed
        .entries
        .iter()
        .map(|e| (e.application.as_ref().unwrap().application_id.clone(), e.deadline.as_ref().unwrap().standing()))
        .collect();
    // Most urgent first: overdue, then the rest by working days left.
    assert_eq!(
        seen,
        [
            ("overdue".to_string(), proto::DeadlineStanding::Overdue),
            ("concluded-since".to_string(), proto::DeadlineStanding::OnTime),
            ("received-that-day".to_string(), proto::DeadlineStanding::OnTime),
        ]
    );
    let that_day = &listed.entries[2];
    assert_eq!(that_day.application.as_ref().unwrap().status(), proto::ApplicationStatus::Open);
    assert!(that_day.application.as_ref().unwrap().supplement_requested_on.is_none(), "requested on 10 July");
    // GetApplication as of a date: the same; before receipt, not found.
    let mut ledger =
        proto::ledger_service_client::LedgerServiceClient::connect(format!("http://{}", app.addr)).await.unwrap();
    let then = ledger
        .get_application(proto::GetApplicationRequest {
            agency_id: AGENCY.into(),
            application_id: "concluded-since".into(),
            as_of: date(2025, 7, 3),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(then.application.unwrap().status(), proto::ApplicationStatus::Open);
    assert_eq!(then.history.len(), 2, "the history is the whole stream");
    let before = ledger
        .get_application(proto::GetApplicationRequest {
            agency_id: AGENCY.into(),
            application_id: "received-after".into(),
            as_of: date(2025, 7, 3),
        })
        .await
        .unwrap_err();
    assert_eq!(before.code(), tonic::Code::NotFound);
    // ListApplications as of a date: the open ones then.
    let open = ledger
        .list_applications(proto::ListApplicationsRequest {
            agency_id: AGENCY.into(),
            status: proto::ApplicationStatus::Open as i32,
            as_of: date(2025, 7, 3),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut ids: Vec<_> = open.applications.iter().map(|a| a.application_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["concluded-since", "overdue", "received-that-day"]);
}

#[tokio::test]
async fn deadlines_are_listed_by_urgency_a_page_at_a_time_and_zero_working_days_means_due_today() {
    let mut app = spawn_app().await;
    // As of Friday 29 March 2024: a1 due that day, a2 overdue, a3 awaiting a supplement, a4 on time.
    app.ok(vec![
        person("a1", date(2024, 3, 1)),
        person("a2", date(2024, 2, 1)),
        person("a3", date(2024, 3, 4)),
        wire("a3", date(2024, 3, 5), Wire::SupplementRequested(proto::SupplementRequested {})),
        person("a4", date(2024, 3, 25)),
    ])
    .await;
    let client =
        proto::deadline_service_client::DeadlineServiceClient::connect(format!("http://{}", app.addr)).await.unwrap();
    let list = |within: Option<u32>, filter: proto::DeadlineFilter, page_token: String| {
        let mut client = client.clone();
        async move {
            client
                .list_deadlines(proto::ListDeadlinesRequest {
                    agency_id: AGENCY.into(),
                    as_of: date(2024, 3, 29),
                    within_working_days: within,
                    filter: filter as i32,
                    page_size: 2,
                    page_token,
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let first = list(None, proto::DeadlineFilter::Unspecified, String::new()).await;
    let second = list(None, proto::DeadlineFilter::Unspecified, first.next_page_token.clone()).await;
    let ids: Vec<String> = first
        .entries
        .iter()
        .chain(&second.entries)
        .map(|e| e.application.as_ref().unwrap().application_id.clone())
        .collect();
    assert_eq!(ids, ["a2", "a1", "a3", "a4"], "overdue, due soon, awaiting a supplement, on time");
    assert!(second.next_page_token.is_empty());
    // within 0: only what is due today (or overdue).
    let today = list(Some(0), proto::DeadlineFilter::DueSoon, String::new()).await;
    let ids: Vec<_> = today.entries.iter().map(|e| e.application.as_ref().unwrap().application_id.clone()).collect();
    assert_eq!(ids, ["a2", "a1"]);
    assert_eq!(today.entries[1].deadline.as_ref().unwrap().remaining_working_days, 0);
}
