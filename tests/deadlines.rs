//! Due-soon and overdue lists over gRPC, on the working-day calendar.

mod support;

use disclosure_ledger::wire::proto::{self, deadline_service_client::DeadlineServiceClient, event::Payload};
use support::*;

async fn list(app: &TestApp, as_of: &str, filter: proto::DeadlineFilter) -> Vec<(String, proto::Deadline)> {
    let d: disclosure_ledger::domain::date::CivilDate = as_of.parse().unwrap();
    let mut client = DeadlineServiceClient::connect(format!("http://{}", app.addr)).await.unwrap();
    client
        .list_deadlines(proto::ListDeadlinesRequest {
            agency_id: AGENCY.into(),
            as_of: Some(d.to_proto()),
            filter: filter as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries
        .into_iter()
        .map(|e| (e.application.unwrap().application_id, e.deadline.unwrap()))
        .collect()
}

#[tokio::test]
async fn overdue_and_due_soon_lists_follow_the_official_calendar() {
    let mut app = spawn_app().await;
    app.ok(vec![
        // Due 11 March 2024 (across the Spring Festival).
        person("before-festival", date(2024, 2, 6)),
        // Due 29 March 2024.
        person("march", date(2024, 3, 1)),
        // Waiting for a supplement: no clock.
        person("waiting", date(2024, 2, 1)),
        event("waiting", date(2024, 2, 2), Payload::SupplementRequested(proto::SupplementRequested {})),
        // Concluded: never listed as open.
        person("done", date(2024, 1, 2)),
        concluded("done", date(2024, 1, 10), proto::Outcome::Disclosed),
    ])
    .await;

    let due_soon = list(&app, "2024-03-05", proto::DeadlineFilter::DueSoon).await;
    assert_eq!(due_soon.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), vec!["before-festival"]);
    let d = &due_soon[0].1;
    assert_eq!(d.due, date(2024, 3, 11));
    assert_eq!(d.remaining_working_days, 4);
    assert_eq!(d.standing(), proto::DeadlineStanding::DueSoon);

    let overdue = list(&app, "2024-03-12", proto::DeadlineFilter::Overdue).await;
    assert_eq!(overdue.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), vec!["before-festival"]);
    assert_eq!(overdue[0].1.remaining_working_days, -1);

    let all = list(&app, "2024-03-12", proto::DeadlineFilter::Unspecified).await;
    let ids: Vec<_> = all.iter().map(|(id, _)| id.as_str()).collect();
    // The most urgent first: overdue, then awaiting a supplement, then on time.
    assert_eq!(ids, vec!["before-festival", "waiting", "march"]);
    let waiting = &all[1].1;
    assert_eq!(waiting.standing(), proto::DeadlineStanding::AwaitingSupplement);
    assert_eq!(waiting.due, None);
}

#[tokio::test]
async fn a_date_outside_the_calendar_is_an_explicit_error_until_its_year_is_loaded() {
    let mut app = spawn_app().await;
    app.ok(vec![person("old", date(2024, 3, 1))]).await;
    // Overdue since 29 March 2024; counting how long, into 2027, needs 2027's schedule.
    let listed = list(&app, "2027-02-01", proto::DeadlineFilter::Overdue).await;
    assert_eq!(listed.len(), 1, "listed with its error even under a filter");
    assert!(listed[0].1.calendar_error.contains("outside the working-day calendar"), "{}", listed[0].1.calendar_error);
    let dir = app.stop().await;

    // An operator loads the 2027 schedule at start-up, without a release.
    let file = dir.path().join("calendar-2027.toml");
    std::fs::write(
        &file,
        "[years.2027]\nnotice = \"test\"\nholidays = [[\"2027-01-01\", \"2027-01-01\"]]\nworkdays = []\n",
    )
    .unwrap();
    let app = spawn_app_with(dir, |c| c.calendar = Some(file.clone())).await;
    let listed = list(&app, "2027-02-01", proto::DeadlineFilter::Overdue).await;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].1.calendar_error.is_empty());
    assert_eq!(listed[0].1.standing(), proto::DeadlineStanding::Overdue);
    assert!(listed[0].1.remaining_working_days < -600);
}

#[tokio::test]
async fn the_application_view_carries_its_deadline() {
    let mut app = spawn_app().await;
    app.ok(vec![
        person("a1", date(2024, 2, 6)),
        event("a1", date(2024, 2, 7), Payload::DeadlineExtended(proto::DeadlineExtended { working_days: 10 })),
        concluded("a1", date(2024, 3, 20), proto::Outcome::Disclosed),
    ])
    .await;
    let d = app.application(AGENCY, "a1").await.deadline.expect("a deadline");
    // 11 March 2024 plus 10 working days.
    assert_eq!(d.due, date(2024, 3, 25));
    assert_eq!(d.extension_working_days, 10);
    assert_eq!(d.clock_starts, date(2024, 2, 6));
    assert_eq!(d.standing(), proto::DeadlineStanding::AnsweredOnTime);
}

#[tokio::test]
async fn yearly_timeliness_counts_on_time_and_late_answers() {
    let mut app = spawn_app().await;
    app.ok(vec![
        person("a1", date(2024, 2, 6)),
        concluded("a1", date(2024, 3, 11), proto::Outcome::Disclosed),
        person("a2", date(2024, 3, 1)),
        concluded("a2", date(2024, 3, 8), proto::Outcome::Disclosed),
        person("a3", date(2024, 3, 1)),
        concluded("a3", date(2024, 4, 30), proto::Outcome::PartlyDisclosed),
        person("w1", date(2024, 3, 1)),
        event("w1", date(2024, 3, 4), Payload::ApplicationWithdrawn(proto::ApplicationWithdrawn {})),
    ])
    .await;
    let mut client = DeadlineServiceClient::connect(format!("http://{}", app.addr)).await.unwrap();
    let t = client
        .get_timeliness(proto::GetTimelinessRequest { agency_id: AGENCY.into(), year: 2024 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((t.answered, t.answered_on_time, t.answered_late), (3, 2, 1));
    assert_eq!((t.median_working_days, t.p90_working_days), (20, 42));
    // By the month of the answer, and how many took each number of days.
    let months: Vec<(i32, i64, i64)> = t.months.iter().map(|m| (m.month, m.on_time, m.late)).collect();
    assert_eq!(months.len(), 12);
    assert_eq!(months[2], (3, 2, 0), "March: a1 and a2 on time");
    assert_eq!(months[3], (4, 0, 1), "April: a3 late");
    assert_eq!(months.iter().map(|m| m.1 + m.2).sum::<i64>(), t.answered);
    let days: Vec<(u32, i64)> = t.working_days.iter().map(|d| (d.working_days, d.answers)).collect();
    assert_eq!(days.iter().map(|d| d.1).sum::<i64>(), t.answered);
    assert!(days.windows(2).all(|w| w[0].0 < w[1].0), "fewest days first: {days:?}");
    assert!(days.contains(&(20, 1)) && days.contains(&(42, 1)), "{days:?}");
}

#[tokio::test]
async fn an_admin_adds_a_year_to_the_running_service_and_it_survives_a_restart() {
    use disclosure_ledger::wire::proto::admin_service_client::AdminServiceClient;
    let mut app = spawn_app().await;
    app.ok(vec![person("old", date(2024, 3, 1))]).await;
    let listed = list(&app, "2027-02-01", proto::DeadlineFilter::Overdue).await;
    assert!(!listed[0].1.calendar_error.is_empty());
    let mut admin = AdminServiceClient::connect(format!("http://{}", app.addr)).await.unwrap();
    // A malformed schedule is refused with the field named.
    let bad = admin
        .set_calendar(proto::SetCalendarRequest {
            toml: "[years.2027]\nnotice = \"x\"\nholidays = [[\"2027-02-09\", \"2027-02-01\"]]\nworkdays = []\n".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert!(bad.message().contains("toml") && bad.message().contains("backwards"), "{}", bad.message());
    let set = admin
        .set_calendar(proto::SetCalendarRequest {
            toml: "[years.2027]\nnotice = \"国办发明电〔2026〕测试\"\nholidays = [[\"2027-01-01\", \"2027-01-01\"]]\nworkdays = []\n".into(),
        })
        .await
        .expect("set")
        .into_inner();
    assert_eq!(set.years, vec![2027]);
    assert!(set.known_years.contains(&2019) && set.known_years.contains(&2027));
    // At once, without a restart.
    let listed = list(&app, "2027-02-01", proto::DeadlineFilter::Overdue).await;
    assert!(listed[0].1.calendar_error.is_empty(), "{}", listed[0].1.calendar_error);
    // And after one.
    let dir = app.stop().await;
    let app = spawn_app_in(dir).await;
    let listed = list(&app, "2027-02-01", proto::DeadlineFilter::Overdue).await;
    assert!(listed[0].1.calendar_error.is_empty());
    let shown = AdminServiceClient::connect(format!("http://{}", app.addr))
        .await
        .unwrap()
        .get_calendar(proto::GetCalendarRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shown.known_years.last(), Some(&2027));
    assert_eq!(shown.notices.last().map(String::as_str), Some("国办发明电〔2026〕测试"));
}

#[tokio::test]
async fn a_third_party_and_another_agency_consulted_at_once_pause_the_clock_once() {
    let mut app = spawn_app().await;
    let start = |party: proto::ConsultationParty, on| {
        event("p1", on, Payload::ConsultationStarted(proto::ConsultationStarted { party: party as i32 }))
    };
    let end = |party: proto::ConsultationParty, on| {
        event("p1", on, Payload::ConsultationEnded(proto::ConsultationEnded { party: party as i32 }))
    };
    use proto::ConsultationParty as P;
    app.ok(vec![
        person("p1", date(2024, 3, 1)),
        start(P::ThirdParty, date(2024, 3, 11)),
        start(P::OtherAgency, date(2024, 3, 13)),
    ])
    .await;
    // Two running: the end must say whose.
    let which = app.append(vec![end(P::Unspecified, date(2024, 3, 15))]).await.unwrap_err();
    assert_eq!(which.code(), tonic::Code::FailedPrecondition);
    assert!(which.message().contains("consultation_ended.party"), "{}", which.message());
    app.ok(vec![end(P::ThirdParty, date(2024, 3, 15)), end(P::OtherAgency, date(2024, 3, 20))]).await;
    let got = app.application(AGENCY, "p1").await;
    let d = got.deadline.unwrap();
    assert_eq!(d.paused_working_days, 7, "12-15 and 18-20 March, each day once");
    assert_eq!(d.notes.iter().map(|n| n.code.as_str()).collect::<Vec<_>>(), ["CONSULTATIONS_OVERLAP"]);
}
