//! Every validation rule: the bad input is refused with the right code and
//! a violation naming the event index and field, and the log is unchanged.

mod support;

use disclosure_ledger::wire::proto::{self, event::Payload};
use support::*;
use tonic::Code;
use tonic_types::StatusExt;

/// Sends `events` (with `expected` revisions), expects `code` with a
/// violation on `field`, and checks the log did not change.
async fn refused_with(
    app: &mut TestApp,
    events: Vec<proto::Event>,
    expected: Vec<proto::ExpectedRevision>,
    code: Code,
    field: &str,
) -> tonic::Status {
    let before = app.log().await;
    let status = app
        .client
        .append_events(proto::AppendEventsRequest { events, expected_revisions: expected, validate_only: false })
        .await
        .expect_err("the append must be refused");
    assert_eq!(status.code(), code, "{}", status.message());
    let details = status.get_error_details();
    let mut fields: Vec<String> = Vec::new();
    if let Some(b) = details.bad_request() {
        fields.extend(b.field_violations.iter().map(|v| v.field.clone()));
    }
    if let Some(p) = details.precondition_failure() {
        fields.extend(p.violations.iter().map(|v| v.subject.clone()));
    }
    assert!(fields.iter().any(|f| f == field), "no violation on {field}: {fields:?} ({})", status.message());
    assert!(status.message().contains(field), "message names the field: {}", status.message());
    assert_eq!(app.log().await, before, "a refused append must not change the log");
    status
}

async fn refused(app: &mut TestApp, events: Vec<proto::Event>, code: Code, field: &str) -> tonic::Status {
    refused_with(app, events, vec![], code, field).await
}

#[tokio::test]
async fn unspecified_enum_values_are_refused() {
    let mut app = spawn_app().await;
    let e = received("a1", date(2024, 3, 1), proto::ApplicantCategory::Unspecified);
    refused(&mut app, vec![e], Code::InvalidArgument, "events[0].application_received.applicant_category").await;
    let mut e = person("a1", date(2024, 3, 1));
    if let Some(Payload::ApplicationReceived(r)) = &mut e.payload {
        r.channel = 0;
    }
    refused(&mut app, vec![e], Code::InvalidArgument, "events[0].application_received.channel").await;
}

#[tokio::test]
async fn unknown_enum_values_are_refused() {
    let mut app = spawn_app().await;
    app.ok(vec![person("a1", date(2024, 3, 1))]).await;
    let mut e = concluded("a1", date(2024, 3, 5), proto::Outcome::Disclosed);
    if let Some(Payload::ApplicationConcluded(c)) = &mut e.payload {
        c.outcome = 99;
    }
    let status = refused(&mut app, vec![e], Code::InvalidArgument, "events[0].application_concluded.outcome").await;
    assert!(status.message().contains("99"));
}

#[tokio::test]
async fn malformed_ids_are_refused() {
    let mut app = spawn_app().await;
    let mut e = person("a1", date(2024, 3, 1));
    e.event_id = "not-a-uuid".into();
    refused(&mut app, vec![e], Code::InvalidArgument, "events[0].event_id").await;
    let mut e = person("a1", date(2024, 3, 1));
    e.agency_id = "agency/with/slashes".into();
    refused(&mut app, vec![e], Code::InvalidArgument, "events[0].agency_id").await;
    let e = person("bad\u{7}id", date(2024, 3, 1));
    refused(&mut app, vec![e], Code::InvalidArgument, "events[0].subject_id").await;
    let e = person("", date(2024, 3, 1));
    refused(&mut app, vec![e], Code::InvalidArgument, "events[0].subject_id").await;
}

#[tokio::test]
async fn malformed_and_missing_dates_are_refused() {
    let mut app = spawn_app().await;
    refused(&mut app, vec![person("a1", date(2024, 13, 1))], Code::InvalidArgument, "events[0].occurred_on").await;
    refused(&mut app, vec![person("a1", date(2023, 2, 29))], Code::InvalidArgument, "events[0].occurred_on").await;
    refused(&mut app, vec![person("a1", None)], Code::InvalidArgument, "events[0].occurred_on").await;
}

#[tokio::test]
async fn dates_before_the_regulations_are_refused() {
    let mut app = spawn_app().await;
    refused(&mut app, vec![person("a1", date(2008, 4, 30))], Code::InvalidArgument, "events[0].occurred_on").await;
    app.ok(vec![person("a1", date(2008, 5, 1))]).await;
}

#[tokio::test]
async fn dates_after_tomorrow_are_refused() {
    let mut app = spawn_app().await;
    let today = disclosure_ledger::domain::date::CivilDate::today_in_china();
    let after_tomorrow = today.succ().succ().to_proto();
    refused(&mut app, vec![person("a1", Some(after_tomorrow))], Code::InvalidArgument, "events[0].occurred_on").await;
    app.ok(vec![person("a1", Some(today.succ().to_proto()))]).await;
}

#[tokio::test]
async fn a_conclusion_before_receipt_is_refused() {
    let mut app = spawn_app().await;
    app.ok(vec![person("a1", date(2024, 3, 10))]).await;
    let status = refused(
        &mut app,
        vec![concluded("a1", date(2024, 3, 9), proto::Outcome::Disclosed)],
        Code::FailedPrecondition,
        "events[0].occurred_on",
    )
    .await;
    let details = status.get_error_details();
    assert_eq!(details.precondition_failure().unwrap().violations[0].r#type, "CONCLUDED_BEFORE_RECEIPT");
}

#[tokio::test]
async fn events_for_an_application_never_received_are_refused() {
    let mut app = spawn_app().await;
    refused(
        &mut app,
        vec![concluded("ghost", date(2024, 3, 9), proto::Outcome::Disclosed)],
        Code::FailedPrecondition,
        "events[0].payload",
    )
    .await;
    refused(
        &mut app,
        vec![event("ghost", date(2024, 3, 9), Payload::SupplementRequested(proto::SupplementRequested {}))],
        Code::FailedPrecondition,
        "events[0].payload",
    )
    .await;
}

#[tokio::test]
async fn a_second_conclusion_without_a_correction_is_refused() {
    let mut app = spawn_app().await;
    app.ok(vec![person("a1", date(2024, 3, 1)), concluded("a1", date(2024, 3, 5), proto::Outcome::Disclosed)]).await;
    refused(
        &mut app,
        vec![concluded("a1", date(2024, 3, 6), proto::Outcome::PartlyDisclosed)],
        Code::FailedPrecondition,
        "events[0].payload",
    )
    .await;
    refused(
        &mut app,
        vec![event("a1", date(2024, 3, 6), Payload::ApplicationWithdrawn(proto::ApplicationWithdrawn {}))],
        Code::FailedPrecondition,
        "events[0].payload",
    )
    .await;
}

#[tokio::test]
async fn a_supplement_received_without_a_request_is_refused() {
    let mut app = spawn_app().await;
    app.ok(vec![person("a1", date(2024, 3, 1))]).await;
    refused(
        &mut app,
        vec![event("a1", date(2024, 3, 4), Payload::SupplementReceived(proto::SupplementReceived {}))],
        Code::FailedPrecondition,
        "events[0].supplement_received",
    )
    .await;
}

#[tokio::test]
async fn a_second_receipt_is_refused() {
    let mut app = spawn_app().await;
    app.ok(vec![person("a1", date(2024, 3, 1))]).await;
    refused(&mut app, vec![person("a1", date(2024, 3, 2))], Code::FailedPrecondition, "events[0].application_received")
        .await;
}

#[tokio::test]
async fn outcomes_that_need_earlier_steps_are_refused_without_them() {
    let mut app = spawn_app().await;
    app.ok(vec![person("a1", date(2024, 3, 1))]).await;
    for outcome in [
        proto::Outcome::UnavailableUnclearAfterSupplement,
        proto::Outcome::OtherNoSupplement,
        proto::Outcome::OtherFeeUnpaid,
    ] {
        refused(
            &mut app,
            vec![concluded("a1", date(2024, 3, 5), outcome)],
            Code::FailedPrecondition,
            "events[0].application_concluded.outcome",
        )
        .await;
    }
    // With the steps, they are accepted.
    app.ok(vec![
        event("a1", date(2024, 3, 2), Payload::SupplementRequested(proto::SupplementRequested {})),
        concluded("a1", date(2024, 4, 5), proto::Outcome::OtherNoSupplement),
    ])
    .await;
}

#[tokio::test]
async fn a_correction_pointing_at_an_unknown_event_is_refused() {
    let mut app = spawn_app().await;
    app.ok(vec![person("a1", date(2024, 3, 1))]).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    refused(
        &mut app,
        vec![voided("a1", date(2024, 3, 2), &unknown)],
        Code::FailedPrecondition,
        "events[0].event_voided.target_event_id",
    )
    .await;
    refused(
        &mut app,
        vec![amended("a1", date(2024, 3, 2), &unknown, |a| a.outcome = proto::Outcome::Disclosed as i32)],
        Code::FailedPrecondition,
        "events[0].event_amended.target_event_id",
    )
    .await;
}

#[tokio::test]
async fn a_correction_of_another_subjects_event_is_refused() {
    let mut app = spawn_app().await;
    let r = person("a1", date(2024, 3, 1));
    let id = r.event_id.clone();
    app.ok(vec![r, person("a2", date(2024, 3, 1))]).await;
    refused(
        &mut app,
        vec![voided("a2", date(2024, 3, 2), &id)],
        Code::FailedPrecondition,
        "events[0].event_voided.target_event_id",
    )
    .await;
}

#[tokio::test]
async fn an_amendment_that_does_not_fit_its_target_is_refused() {
    let mut app = spawn_app().await;
    let r = person("a1", date(2024, 3, 1));
    let id = r.event_id.clone();
    app.ok(vec![r]).await;
    refused(
        &mut app,
        vec![amended("a1", date(2024, 3, 2), &id, |a| a.outcome = proto::Outcome::Disclosed as i32)],
        Code::FailedPrecondition,
        "events[0].event_amended.outcome",
    )
    .await;
    // An amendment that changes nothing is malformed whatever the target.
    refused(
        &mut app,
        vec![amended("a1", date(2024, 3, 2), &id, |_| {})],
        Code::InvalidArgument,
        "events[0].event_amended.occurred_on",
    )
    .await;
}

#[tokio::test]
async fn a_correction_that_would_break_the_history_is_refused() {
    let mut app = spawn_app().await;
    let r = person("a1", date(2024, 3, 1));
    let receipt = r.event_id.clone();
    app.ok(vec![r, concluded("a1", date(2024, 3, 5), proto::Outcome::Disclosed)]).await;
    // Moving the receipt after the conclusion.
    refused(
        &mut app,
        vec![amended("a1", date(2024, 3, 6), &receipt, |a| a.occurred_on = date(2024, 3, 6))],
        Code::FailedPrecondition,
        "events[0].event_amended.target_event_id",
    )
    .await;
    // Voiding the receipt while a conclusion remains.
    refused(
        &mut app,
        vec![voided("a1", date(2024, 3, 6), &receipt)],
        Code::FailedPrecondition,
        "events[0].event_voided.target_event_id",
    )
    .await;
}

#[tokio::test]
async fn voiding_twice_and_voiding_a_void_are_refused() {
    let mut app = spawn_app().await;
    let r = person("a1", date(2024, 3, 1));
    let c = concluded("a1", date(2024, 3, 5), proto::Outcome::Disclosed);
    let conclusion = c.event_id.clone();
    let v = voided("a1", date(2024, 3, 6), &conclusion);
    let void_id = v.event_id.clone();
    app.ok(vec![r, c, v]).await;
    refused(
        &mut app,
        vec![voided("a1", date(2024, 3, 6), &conclusion)],
        Code::FailedPrecondition,
        "events[0].event_voided.target_event_id",
    )
    .await;
    refused(
        &mut app,
        vec![voided("a1", date(2024, 3, 6), &void_id)],
        Code::FailedPrecondition,
        "events[0].event_voided.target_event_id",
    )
    .await;
}

#[tokio::test]
async fn an_event_id_reused_with_other_content_is_a_conflict() {
    let mut app = spawn_app().await;
    let r = person("a1", date(2024, 3, 1));
    let first = app.ok(vec![r.clone()]).await;
    let mut other = r.clone();
    other.occurred_on = date(2024, 3, 2);
    refused(&mut app, vec![other], Code::AlreadyExists, "events[0].event_id").await;
    // The same content returns the original result.
    let again = app.ok(vec![r]).await;
    assert_eq!(again.results[0].position, first.results[0].position);
    assert!(again.results[0].duplicate);
}

#[tokio::test]
async fn a_repeated_id_within_a_batch_is_refused() {
    let mut app = spawn_app().await;
    let r = person("a1", date(2024, 3, 1));
    let mut c = concluded("a1", date(2024, 3, 5), proto::Outcome::Disclosed);
    c.event_id = r.event_id.clone();
    refused(&mut app, vec![r, c], Code::InvalidArgument, "events[1].event_id").await;
}

#[tokio::test]
async fn empty_and_oversized_batches_are_refused() {
    let mut app = spawn_app().await;
    refused(&mut app, vec![], Code::InvalidArgument, "events").await;
    let many: Vec<_> = (0..1001).map(|i| person(&format!("a{i}"), date(2024, 3, 1))).collect();
    refused(&mut app, many, Code::InvalidArgument, "events").await;
}

#[tokio::test]
async fn oversized_strings_are_refused() {
    let mut app = spawn_app().await;
    let mut e = person("a1", date(2024, 3, 1));
    e.actor = "x".repeat(257);
    refused(&mut app, vec![e], Code::InvalidArgument, "events[0].actor").await;
    let mut e = person("a1", date(2024, 3, 1));
    e.correlation_id = "x".repeat(257);
    refused(&mut app, vec![e], Code::InvalidArgument, "events[0].correlation_id").await;
    refused(&mut app, vec![person(&"a".repeat(129), date(2024, 3, 1))], Code::InvalidArgument, "events[0].subject_id")
        .await;
    app.ok(vec![person("a1", date(2024, 3, 1))]).await;
    let mut v = voided("a1", date(2024, 3, 2), &uuid::Uuid::new_v4().to_string());
    if let Some(Payload::EventVoided(x)) = &mut v.payload {
        x.reason = "y".repeat(2001);
    }
    refused(&mut app, vec![v], Code::InvalidArgument, "events[0].event_voided.reason").await;
}

#[tokio::test]
async fn a_missing_payload_is_refused() {
    let mut app = spawn_app().await;
    let mut e = person("a1", date(2024, 3, 1));
    e.payload = None;
    refused(&mut app, vec![e], Code::InvalidArgument, "events[0].payload").await;
}

#[tokio::test]
async fn out_of_range_numbers_are_refused() {
    let mut app = spawn_app().await;
    app.ok(vec![person("a1", date(2024, 3, 1))]).await;
    let ext = event("a1", date(2024, 3, 2), Payload::DeadlineExtended(proto::DeadlineExtended { working_days: 21 }));
    refused(&mut app, vec![ext], Code::InvalidArgument, "events[0].deadline_extended.working_days").await;
    let fee = event("a1", date(2024, 3, 2), Payload::FeeNoticeIssued(proto::FeeNoticeIssued { amount_fen: 0 }));
    refused(&mut app, vec![fee], Code::InvalidArgument, "events[0].fee_notice_issued.amount_fen").await;
}

#[tokio::test]
async fn a_wrong_expected_revision_aborts() {
    let mut app = spawn_app().await;
    app.ok(vec![person("a1", date(2024, 3, 1))]).await;
    let expected = |revision| proto::ExpectedRevision { agency_id: AGENCY.into(), subject_id: "a1".into(), revision };
    refused_with(
        &mut app,
        vec![concluded("a1", date(2024, 3, 5), proto::Outcome::Disclosed)],
        vec![expected(0)],
        Code::Aborted,
        "expected_revisions[0]",
    )
    .await;
    // The right revision passes.
    app.client
        .append_events(proto::AppendEventsRequest {
            events: vec![concluded("a1", date(2024, 3, 5), proto::Outcome::Disclosed)],
            expected_revisions: vec![expected(1)],
            validate_only: false,
        })
        .await
        .expect("right revision");
}

#[tokio::test]
async fn a_batch_is_all_or_nothing() {
    let mut app = spawn_app().await;
    // Three good events and one that breaks a rule: nothing is written.
    let batch = vec![
        person("a1", date(2024, 3, 1)),
        person("a2", date(2024, 3, 1)),
        concluded("a1", date(2024, 3, 5), proto::Outcome::Disclosed),
        event("a2", date(2024, 3, 4), Payload::SupplementReceived(proto::SupplementReceived {})),
    ];
    refused(&mut app, batch, Code::FailedPrecondition, "events[3].supplement_received").await;
    assert!(app.log().await.is_empty());
}

#[tokio::test]
async fn split_rules() {
    let mut app = spawn_app().await;
    app.ok(vec![person("a1", date(2024, 3, 1)), person("taken", date(2024, 3, 1))]).await;
    let split = |parts: &[&str]| {
        event(
            "a1",
            date(2024, 3, 3),
            Payload::ApplicationSplit(proto::ApplicationSplit {
                part_subject_ids: parts.iter().map(|s| s.to_string()).collect(),
            }),
        )
    };
    refused(&mut app, vec![split(&["p1"])], Code::InvalidArgument, "events[0].application_split.part_subject_ids")
        .await;
    refused(
        &mut app,
        vec![split(&["p1", "taken"])],
        Code::FailedPrecondition,
        "events[0].application_split.part_subject_ids[1]",
    )
    .await;
    let s = split(&["p1", "p2"]);
    let split_id = s.event_id.clone();
    app.ok(vec![s]).await;
    // A split is final, and the original takes no more events.
    refused(
        &mut app,
        vec![voided("a1", date(2024, 3, 4), &split_id)],
        Code::FailedPrecondition,
        "events[0].event_voided.target_event_id",
    )
    .await;
    refused(
        &mut app,
        vec![concluded("a1", date(2024, 3, 5), proto::Outcome::Disclosed)],
        Code::FailedPrecondition,
        "events[0].payload",
    )
    .await;
}

#[tokio::test]
async fn review_case_rules() {
    let mut app = spawn_app().await;
    let decided = |subject: &str, on| {
        event(
            subject,
            on,
            Payload::ReviewCaseDecided(proto::ReviewCaseDecided { result: proto::ReviewResult::Upheld as i32 }),
        )
    };
    refused(
        &mut app,
        vec![decided("case-1", date(2024, 5, 1))],
        Code::FailedPrecondition,
        "events[0].review_case_decided",
    )
    .await;
    let filed = event(
        "case-1",
        date(2024, 4, 1),
        Payload::ReviewCaseFiled(proto::ReviewCaseFiled {
            kind: proto::ReviewKind::Reconsideration as i32,
            application_subject_id: "a1".into(),
        }),
    );
    app.ok(vec![filed]).await;
    refused(&mut app, vec![decided("case-1", date(2024, 3, 1))], Code::FailedPrecondition, "events[0].occurred_on")
        .await;
    refused(
        &mut app,
        vec![concluded("case-1", date(2024, 5, 1), proto::Outcome::Disclosed)],
        Code::FailedPrecondition,
        "events[0].payload",
    )
    .await;
    let unspecified = event("case-2", date(2024, 4, 1), Payload::ReviewCaseFiled(proto::ReviewCaseFiled::default()));
    refused(&mut app, vec![unspecified], Code::InvalidArgument, "events[0].review_case_filed.kind").await;
}

#[tokio::test]
async fn every_violation_of_a_batch_is_reported() {
    let mut app = spawn_app().await;
    let mut bad_id = person("a1", date(2024, 3, 1));
    bad_id.event_id = "nope".into();
    let bad_date = person("a2", date(2024, 2, 30));
    let status = refused(&mut app, vec![bad_id, bad_date], Code::InvalidArgument, "events[0].event_id").await;
    let fields: Vec<_> =
        status.get_error_details().bad_request().unwrap().field_violations.iter().map(|v| v.field.clone()).collect();
    assert!(fields.contains(&"events[1].occurred_on".to_string()), "{fields:?}");
}

#[tokio::test]
async fn validate_only_answers_as_an_append_would_and_writes_nothing() {
    let mut app = spawn_app().await;
    app.ok(vec![person("a1", date(2024, 3, 1))]).await;
    let check = |events| proto::AppendEventsRequest { events, expected_revisions: vec![], validate_only: true };
    let before = app.log().await;
    // A batch that would be accepted.
    let r = app
        .client
        .append_events(check(vec![
            person("a2", date(2024, 3, 2)),
            concluded("a1", date(2024, 3, 5), proto::Outcome::Disclosed),
        ]))
        .await
        .expect("valid")
        .into_inner();
    assert!(r.results.iter().all(|r| r.position == 0 && !r.duplicate));
    // A batch that breaks a rule gets the same refusal as an append.
    let status = app
        .client
        .append_events(check(vec![concluded("a1", date(2024, 2, 1), proto::Outcome::Disclosed)]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("events[0].occurred_on"), "{}", status.message());
    assert_eq!(app.log().await, before, "validate_only writes nothing");
    // And the real append still works afterwards.
    app.ok(vec![person("a2", date(2024, 3, 2))]).await;
}
