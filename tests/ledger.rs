//! The event log over gRPC: appends, retries, corrections, reads, lists,
//! and restarts.

mod support;

use disclosure_ledger::wire::proto::{self, event::Payload};
use support::*;

#[tokio::test]
async fn a_received_and_concluded_application_reads_back() {
    let mut app = spawn_app().await;
    let r = person("2024-001", date(2024, 12, 28));
    let c = concluded("2024-001", date(2025, 1, 10), proto::Outcome::Disclosed);
    let response = app.ok(vec![r.clone(), c.clone()]).await;
    assert_eq!(response.results.iter().map(|r| r.position).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(response.results.iter().map(|r| r.stream_revision).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(response.head_position, 2);

    let got = app.application(AGENCY, "2024-001").await;
    let a = got.application.unwrap();
    assert_eq!(a.status(), proto::ApplicationStatus::Concluded);
    assert_eq!(a.received_on, date(2024, 12, 28));
    assert_eq!(a.concluded_on, date(2025, 1, 10));
    assert_eq!(a.outcome(), proto::Outcome::Disclosed);
    assert_eq!(a.revision, 2);
    let history: Vec<_> = got.history.iter().map(|h| h.event.clone().unwrap()).collect();
    assert_eq!(history, vec![r, c]);
    assert!(got.history.iter().all(|h| h.recorded_at.is_some()));
}

#[tokio::test]
async fn an_unknown_application_is_not_found() {
    let mut app = spawn_app().await;
    let status = app
        .client
        .get_application(proto::GetApplicationRequest {
            agency_id: AGENCY.into(),
            application_id: "nope".into(),
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn retried_appends_never_double_count() {
    let mut app = spawn_app().await;
    let batch = vec![person("a1", date(2024, 3, 1)), concluded("a1", date(2024, 3, 5), proto::Outcome::Disclosed)];
    let first = app.ok(batch.clone()).await;
    for _ in 0..3 {
        let again = app.ok(batch.clone()).await;
        assert!(again.results.iter().all(|r| r.duplicate));
        let positions = |r: &proto::AppendEventsResponse| r.results.iter().map(|x| x.position).collect::<Vec<_>>();
        assert_eq!(positions(&again), positions(&first));
    }
    // A batch mixing a retried event with a new one writes only the new one.
    let extra = person("a2", date(2024, 3, 2));
    let mixed = app.ok(vec![batch[0].clone(), extra]).await;
    assert!(mixed.results[0].duplicate && !mixed.results[1].duplicate);
    assert_eq!(mixed.results[1].position, 3);
    assert_eq!(app.log().await.len(), 3);
}

#[tokio::test]
async fn the_same_id_survives_a_restart_as_a_duplicate() {
    let mut app = spawn_app().await;
    let r = person("a1", date(2024, 3, 1));
    app.ok(vec![r.clone()]).await;
    let dir = app.stop().await;
    let mut app = spawn_app_in(dir).await;
    let again = app.ok(vec![r]).await;
    assert!(again.results[0].duplicate, "idempotency is kept in the store, not in memory");
    assert_eq!(app.log().await.len(), 1);
    // And positions continue without a gap.
    let next = app.ok(vec![person("a2", date(2024, 3, 1))]).await;
    assert_eq!(next.results[0].position, 2);
}

#[tokio::test]
async fn an_amended_applicant_category_changes_the_application() {
    let mut app = spawn_app().await;
    let r = person("a1", date(2024, 3, 1));
    let id = r.event_id.clone();
    app.ok(vec![r]).await;
    app.ok(vec![amended("a1", date(2024, 3, 2), &id, |a| {
        a.applicant_category = proto::ApplicantCategory::LegalServiceProvider as i32
    })])
    .await;
    let a = app.application(AGENCY, "a1").await;
    assert_eq!(a.application.unwrap().applicant_category(), proto::ApplicantCategory::LegalServiceProvider);
    assert_eq!(a.history.len(), 2, "the correction is a new event; history is never edited");
}

#[tokio::test]
async fn a_voided_conclusion_reopens_the_application() {
    let mut app = spawn_app().await;
    let c = concluded("a1", date(2024, 3, 5), proto::Outcome::Disclosed);
    let id = c.event_id.clone();
    app.ok(vec![person("a1", date(2024, 3, 1)), c]).await;
    app.ok(vec![voided("a1", date(2024, 3, 6), &id)]).await;
    let a = app.application(AGENCY, "a1").await.application.unwrap();
    assert_eq!(a.status(), proto::ApplicationStatus::Open);
    assert_eq!(a.concluded_on, None);
    // It can now be concluded again, with another outcome.
    app.ok(vec![concluded("a1", date(2024, 3, 7), proto::Outcome::PartlyDisclosed)]).await;
    let a = app.application(AGENCY, "a1").await.application.unwrap();
    assert_eq!(a.outcome(), proto::Outcome::PartlyDisclosed);
}

#[tokio::test]
async fn an_amended_outcome_and_date_apply() {
    let mut app = spawn_app().await;
    let c = concluded("a1", date(2024, 3, 5), proto::Outcome::Disclosed);
    let id = c.event_id.clone();
    app.ok(vec![person("a1", date(2024, 3, 1)), c]).await;
    app.ok(vec![amended("a1", date(2024, 3, 6), &id, |a| {
        a.outcome = proto::Outcome::NotProcessedRepeated as i32;
        a.occurred_on = date(2024, 3, 4);
    })])
    .await;
    let a = app.application(AGENCY, "a1").await.application.unwrap();
    assert_eq!(a.outcome(), proto::Outcome::NotProcessedRepeated);
    assert_eq!(a.concluded_on, date(2024, 3, 4));
}

#[tokio::test]
async fn a_voided_receipt_leaves_a_voided_application() {
    let mut app = spawn_app().await;
    let r = person("a1", date(2024, 3, 1));
    let id = r.event_id.clone();
    app.ok(vec![r]).await;
    app.ok(vec![voided("a1", date(2024, 3, 2), &id)]).await;
    let a = app.application(AGENCY, "a1").await.application.unwrap();
    assert_eq!(a.status(), proto::ApplicationStatus::Voided);
}

#[tokio::test]
async fn withdrawal_concludes_as_other() {
    let mut app = spawn_app().await;
    app.ok(vec![
        person("a1", date(2024, 3, 1)),
        event("a1", date(2024, 3, 3), Payload::ApplicationWithdrawn(proto::ApplicationWithdrawn {})),
    ])
    .await;
    let a = app.application(AGENCY, "a1").await.application.unwrap();
    assert_eq!(a.outcome(), proto::Outcome::Other);
    assert!(a.withdrawn);
}

#[tokio::test]
async fn split_parts_are_applications_with_the_original_receipt() {
    let mut app = spawn_app().await;
    app.ok(vec![
        received("a1", date(2024, 3, 1), proto::ApplicantCategory::CommercialEnterprise),
        event(
            "a1",
            date(2024, 3, 2),
            Payload::ApplicationSplit(proto::ApplicationSplit { part_subject_ids: vec!["a1-1".into(), "a1-2".into()] }),
        ),
        concluded("a1-1", date(2024, 3, 10), proto::Outcome::Disclosed),
    ])
    .await;
    let parent = app.application(AGENCY, "a1").await.application.unwrap();
    assert_eq!(parent.status(), proto::ApplicationStatus::Split);
    assert_eq!(parent.split_into, vec!["a1-1", "a1-2"]);
    let part = app.application(AGENCY, "a1-1").await;
    let p = part.application.unwrap();
    assert_eq!(p.received_on, date(2024, 3, 1));
    assert_eq!(p.applicant_category(), proto::ApplicantCategory::CommercialEnterprise);
    assert_eq!(p.split_from, "a1");
    assert_eq!(p.status(), proto::ApplicationStatus::Concluded);
    assert_eq!(part.history.len(), 2, "a part's stream opens with the split event");
    let other = app.application(AGENCY, "a1-2").await.application.unwrap();
    assert_eq!(other.status(), proto::ApplicationStatus::Open);
}

#[tokio::test]
async fn list_filters_and_paginates() {
    let mut app = spawn_app().await;
    let mut events = Vec::new();
    for i in 0..25 {
        events.push(person(&format!("app-{i:02}"), date(2024, 1 + (i % 12), 1)));
        if i % 2 == 0 {
            events.push(concluded(&format!("app-{i:02}"), date(2024, 12, 20), proto::Outcome::Disclosed));
        }
    }
    app.ok(events).await;
    let list = |status: proto::ApplicationStatus, page_token: String, received: Option<proto::DateRange>| {
        proto::ListApplicationsRequest {
            agency_id: AGENCY.into(),
            status: status as i32,
            received,
            concluded: None,
            page_size: 5,
            page_token,
            as_of: None,
        }
    };
    // Every open application, page by page.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .client
            .list_applications(list(proto::ApplicationStatus::Open, token.clone(), None))
            .await
            .unwrap()
            .into_inner();
        assert!(page.applications.len() <= 5);
        seen.extend(page.applications.iter().map(|a| a.application_id.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let expected: Vec<_> = (0..25).filter(|i| i % 2 == 1).map(|i| format!("app-{i:02}")).collect();
    assert_eq!(seen, expected);
    // A date range.
    let march = Some(proto::DateRange { start: date(2024, 3, 1), end: date(2024, 3, 31) });
    let page = app
        .client
        .list_applications(list(proto::ApplicationStatus::Unspecified, String::new(), march))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = page.applications.iter().map(|a| a.application_id.as_str()).collect();
    assert_eq!(ids, vec!["app-02", "app-14"]);
    // A token is bound to its filters.
    let first = app
        .client
        .list_applications(list(proto::ApplicationStatus::Open, String::new(), None))
        .await
        .unwrap()
        .into_inner();
    let status = app
        .client
        .list_applications(list(proto::ApplicationStatus::Concluded, first.next_page_token, None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn the_log_can_be_read_by_agency() {
    let mut app = spawn_app().await;
    let mut other = person("x1", date(2024, 3, 1));
    other.agency_id = "other-agency".into();
    app.ok(vec![person("a1", date(2024, 3, 1)), other, person("a2", date(2024, 3, 1))]).await;
    let all = app.log().await;
    assert_eq!(all.iter().map(|r| r.position).collect::<Vec<_>>(), vec![1, 2, 3]);
    let mine = app.log_of(AGENCY).await;
    assert_eq!(mine.iter().map(|r| r.position).collect::<Vec<_>>(), vec![1, 3]);
}

#[tokio::test]
async fn data_survives_a_graceful_restart() {
    let mut app = spawn_app().await;
    app.ok(vec![person("a1", date(2024, 3, 1)), concluded("a1", date(2024, 3, 5), proto::Outcome::Disclosed)]).await;
    let before = app.log().await;
    let dir = app.stop().await;
    let mut app = spawn_app_in(dir).await;
    assert_eq!(app.log().await, before);
    let a = app.application(AGENCY, "a1").await.application.unwrap();
    assert_eq!(a.status(), proto::ApplicationStatus::Concluded);
}

#[tokio::test]
async fn a_store_whose_id_index_cannot_be_read_serves_reads_and_refuses_appends() {
    let mut app = spawn_app().await;
    app.ok(vec![person("2024-001", date(2024, 3, 1))]).await;
    let dir = app.stop().await;
    // Damage one id run (a run holds 16 bytes per event id).
    {
        let db = sled::open(dir.path()).expect("open the store directly");
        let mut key = vec![b'J'];
        key.extend_from_slice(&1_000_000u64.to_be_bytes());
        db.insert(key, vec![0u8; 7]).expect("insert");
        db.flush().expect("flush");
    }
    let mut app = spawn_app_in(dir).await;
    // The index is read after SERVING; reads need none.
    assert_eq!(app.application(AGENCY, "2024-001").await.application.expect("state").application_id, "2024-001");
    let status = app.append(vec![person("2024-002", date(2024, 3, 2))]).await.expect_err("no appends");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{}", status.message());
    assert!(status.message().contains("idempotency index"), "{}", status.message());
    assert_eq!(app.log().await.len(), 1);
}
