//! Property tests of the application state machine and of corrections:
//! random handling histories, with the rules checked as invariants.

use disclosure_ledger::domain::application::Status;
use disclosure_ledger::domain::codes::{ApplicantCategory, Channel, ConsultationParty, Outcome};
use disclosure_ledger::domain::date::CivilDate;
use disclosure_ledger::domain::event::{Amendment, Event, Payload};
use disclosure_ledger::domain::ids::{AgencyId, EventId, SubjectId};
use disclosure_ledger::domain::subject::{SubjectState, fold};
use proptest::prelude::*;

fn base() -> CivilDate {
    CivilDate::from_ymd(2023, 12, 1).unwrap()
}

fn day(offset: u32) -> CivilDate {
    let mut d = base();
    for _ in 0..offset {
        d = d.succ();
    }
    d
}

fn ev(n: usize, on: CivilDate, payload: Payload) -> Event {
    Event {
        id: EventId::from_name(&format!("event-{n}")),
        agency: AgencyId::parse("a").unwrap(),
        subject: SubjectId::parse("s").unwrap(),
        occurred_on: on,
        actor: None,
        correlation_id: None,
        payload,
    }
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        Just(Payload::SupplementRequested),
        Just(Payload::SupplementReceived),
        prop::sample::select(ConsultationParty::ALL).prop_map(|party| Payload::ConsultationStarted { party }),
        prop::option::of(prop::sample::select(ConsultationParty::ALL))
            .prop_map(|party| Payload::ConsultationEnded { party }),
        (1u8..=20).prop_map(|working_days| Payload::DeadlineExtended { working_days }),
        (1i64..10_000).prop_map(|amount_fen| Payload::FeeNoticeIssued { amount_fen }),
        (1i64..10_000).prop_map(|amount_fen| Payload::FeePaid { amount_fen }),
        Just(Payload::ApplicationWithdrawn),
        prop::sample::select(Outcome::ALL).prop_map(|outcome| Payload::ApplicationConcluded { outcome }),
        prop::sample::select(ApplicantCategory::ALL)
            .prop_map(|applicant| { Payload::ApplicationReceived { applicant, channel: Channel::Post } }),
    ]
}

/// A receipt followed by random steps on random days (often out of order).
fn history() -> impl Strategy<Value = Vec<Event>> {
    (prop::sample::select(ApplicantCategory::ALL), 0u32..40, prop::collection::vec((0u32..80, payload()), 0..14))
        .prop_map(|(applicant, received, steps)| {
            let mut events =
                vec![ev(0, day(received), Payload::ApplicationReceived { applicant, channel: Channel::Online })];
            for (i, (offset, p)) in steps.into_iter().enumerate() {
                events.push(ev(i + 1, day(offset), p));
            }
            events
        })
}

/// Applies each event in turn, keeping the accepted ones.
fn run(events: &[Event]) -> (SubjectState, Vec<Event>) {
    let mut state = SubjectState::start(&events[0]).expect("a receipt starts an application");
    let mut accepted = vec![events[0].clone()];
    for e in &events[1..] {
        let before = state.clone();
        match state.apply(e) {
            Ok(()) => accepted.push(e.clone()),
            Err(_) => assert_eq!(state, before, "a refused event leaves the state unchanged"),
        }
    }
    (state, accepted)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_state_is_the_fold_of_the_accepted_events(events in history()) {
        let (state, accepted) = run(&events);
        prop_assert_eq!(fold(&accepted, None).unwrap(), state);
    }

    #[test]
    fn accepted_histories_obey_the_rules(events in history()) {
        let (state, _) = run(&events);
        let SubjectState::Application(a) = state else { panic!("an application") };
        if let Some(c) = a.conclusion {
            prop_assert!(c.on >= a.received_on, "concluded before receipt");
            prop_assert_eq!(a.status(), Status::Concluded);
            match c.outcome {
                Outcome::UnavailableUnclearAfterSupplement => prop_assert!(a.supplement_received_on.is_some()),
                Outcome::OtherNoSupplement => prop_assert!(a.supplement_requested_on.is_some() && a.supplement_received_on.is_none()),
                Outcome::OtherFeeUnpaid => prop_assert!(a.fee_noticed_fen.is_some() && a.fee_paid_fen.is_none()),
                _ => {}
            }
            prop_assert!(!a.open_at_end_of(c.on));
        } else {
            prop_assert!(a.open_at_end_of(day(200)));
        }
        if let Some(got) = a.supplement_received_on {
            prop_assert!(a.supplement_requested_on.is_some_and(|asked| asked <= got));
        }
        prop_assert!(a.fee_paid_fen.is_none() || a.fee_noticed_fen.is_some());
        for c in &a.consultations {
            prop_assert!(c.started_on >= a.received_on);
            prop_assert!(c.ended_on.is_none_or(|e| e >= c.started_on));
        }
        for party in ConsultationParty::ALL {
            let running = a.consultations.iter().filter(|c| c.party == *party && c.ended_on.is_none()).count();
            prop_assert!(running <= 1, "one consultation of each party at a time");
        }
    }

    #[test]
    fn voiding_an_event_is_folding_without_it(events in history(), pick in any::<prop::sample::Index>()) {
        let (_, accepted) = run(&events);
        let target = &accepted[pick.index(accepted.len())];
        let void = ev(999, day(100), Payload::EventVoided { target: target.id, reason: "error".into() });
        let mut with_void = accepted.clone();
        with_void.push(void);
        let without: Vec<Event> = accepted.iter().filter(|e| e.id != target.id).cloned().collect();
        let expected = if without.is_empty() { Ok(SubjectState::Voided) } else { fold(&without, None).map_err(|(_, b)| b) };
        prop_assert_eq!(fold(&with_void, None).map_err(|(_, b)| b), expected);
    }

    #[test]
    fn amending_the_applicant_moves_the_application(events in history(), to in prop::sample::select(ApplicantCategory::ALL)) {
        let (state, accepted) = run(&events);
        let amendment = Amendment {
            target: accepted[0].id,
            reason: "wrong category".into(),
            occurred_on: None,
            applicant: Some(to),
            channel: None,
            outcome: None,
            review_kind: None,
            review_result: None,
        };
        let mut amended = accepted.clone();
        amended.push(ev(999, day(100), Payload::EventAmended(amendment)));
        let SubjectState::Application(mut expected) = state else { panic!("an application") };
        expected.applicant = to;
        prop_assert_eq!(fold(&amended, None).unwrap(), SubjectState::Application(expected));
    }
}
