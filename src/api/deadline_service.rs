//! The `disclosure.v1.DeadlineService` gRPC service: open applications with
//! their statutory deadlines, due soon or overdue, as of a date.

use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::access::principal::Principal;
use crate::api::application::application_to_proto;
use crate::api::application::deadline_to_proto;
use crate::api::page;
use crate::deadline::calendar::CalendarCell;
use crate::deadline::statutory::DEFAULT_WITHIN;
use crate::deadline::statutory::{self as deadline, Standing};
use crate::deadline::timeliness::Timeliness;
use crate::domain::application::Status as AppStatus;
use crate::domain::date::CivilDate;
use crate::domain::ids::{AgencyId, StreamId};
use crate::domain::rejection::{FieldIssue, Rejection, internal};
use crate::store::ledger::OpeningLedger;
use crate::store::ledger::blocking;
use crate::wire::proto::{self, deadline_service_server::DeadlineService as DeadlineServiceApi};
use crate::wire::status::refuse;

/// Most subjects one call reads before it returns a short page.
const MAX_SCAN: usize = 100_000;

#[derive(Clone)]
pub struct DeadlineService {
    ledger: OpeningLedger,
    calendar: CalendarCell,
}

impl DeadlineService {
    pub fn new(ledger: OpeningLedger, calendar: CalendarCell) -> Self {
        Self { ledger, calendar }
    }
}

/// The parameters a page token is bound to.
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Query {
    agency: AgencyId,
    as_of: CivilDate,
    within: u32,
    filter: i32,
}

#[tonic::async_trait]
impl DeadlineServiceApi for DeadlineService {
    async fn get_timeliness(
        &self,
        request: Request<proto::GetTimelinessRequest>,
    ) -> Result<Response<proto::GetTimelinessResponse>, Status> {
        let caller = Principal::of(&request)?;
        let r = request.into_inner();
        let span = tracing::info_span!("GetTimeliness", agency = %r.agency_id, year = r.year);
        async move {
            caller.may_read_id(&r.agency_id).map_err(refuse)?;
            let agency = AgencyId::parse(&r.agency_id).map_err(|e| refuse(Rejection::invalid("agency_id", e)))?;
            let max = CivilDate::today_in_china().year();
            if !(2008..=max).contains(&r.year) {
                return Err(refuse(Rejection::invalid("year", format!("{} is not a year from 2008 to {max}", r.year))));
            }
            let store = self.ledger.store().map_err(refuse)?;
            let calendar = self.calendar.current();
            let year = r.year;
            let t = blocking(move || {
                let mut t = Timeliness::default();
                for item in store.subjects(&agency, None) {
                    let (_, record) = item.map_err(internal)?;
                    if let Some(app) = record.application() {
                        t.count(app, &calendar, year);
                    }
                }
                Ok(t)
            })
            .await
            .map_err(refuse)?;
            Ok(Response::new(proto::GetTimelinessResponse {
                year,
                answered: t.on_time + t.late,
                answered_on_time: t.on_time,
                answered_late: t.late,
                without_deadline: t.without_deadline,
                median_working_days: t.percentile(50),
                p90_working_days: t.percentile(90),
                months: (1..)
                    .zip(t.by_month)
                    .map(|(month, (on_time, late))| proto::MonthTimeliness { month, on_time, late })
                    .collect(),
                working_days: t
                    .distribution()
                    .into_iter()
                    .map(|(working_days, answers)| proto::WorkingDaysCount { working_days, answers })
                    .collect(),
            }))
        }
        .instrument(span)
        .await
    }

    async fn list_deadlines(
        &self,
        request: Request<proto::ListDeadlinesRequest>,
    ) -> Result<Response<proto::ListDeadlinesResponse>, Status> {
        let caller = Principal::of(&request)?;
        let r = request.into_inner();
        let span = tracing::info_span!("ListDeadlines", agency = %r.agency_id);
        async move {
            caller.may_read_id(&r.agency_id).map_err(refuse)?;
            let mut issues = Vec::new();
            let agency = AgencyId::parse(&r.agency_id).map_err(|e| issues.push(FieldIssue::new("agency_id", e))).ok();
            let as_of = match &r.as_of {
                None => Some(CivilDate::today_in_china()),
                Some(d) => CivilDate::from_proto(d).map_err(|e| issues.push(FieldIssue::new("as_of", e))).ok(),
            };
            if proto::DeadlineFilter::try_from(r.filter).is_err() {
                issues.push(FieldIssue::new("filter", format!("{} is not a known DeadlineFilter", r.filter)));
            }
            let page_size = page::size(r.page_size).map_err(|i| issues.push(i)).unwrap_or(0);
            let (Some(agency), Some(as_of), true) = (agency, as_of, issues.is_empty()) else {
                return Err(refuse(Rejection::Invalid(issues)));
            };
            let within = if r.within_working_days == 0 { DEFAULT_WITHIN } else { r.within_working_days };
            let query = Query { agency, as_of, within, filter: r.filter };
            let after = page::after(&r.page_token, &query).map_err(refuse)?;
            let store = self.ledger.store().map_err(refuse)?;
            let calendar = self.calendar.current();
            let response = blocking(move || {
                let mut entries = Vec::new();
                let mut last_seen = None;
                let mut more = false;
                for (scanned, item) in store.subjects(&query.agency, after.as_ref()).enumerate() {
                    let (id, record) = item.map_err(internal)?;
                    if entries.len() == page_size || scanned == MAX_SCAN {
                        more = true;
                        break;
                    }
                    last_seen = Some(id.clone());
                    // Open now and already received on the as-of date.
                    let Some(app) =
                        record.application().filter(|a| a.status() == AppStatus::Open && a.received_on <= query.as_of)
                    else {
                        continue;
                    };
                    let d = deadline::deadline(app, &calendar, query.as_of, query.within).map_err(|e| e.to_string());
                    let wanted = match proto::DeadlineFilter::try_from(query.filter) {
                        Ok(proto::DeadlineFilter::DueSoon) => {
                            d.as_ref().is_ok_and(|d| matches!(d.standing, Standing::DueSoon | Standing::Overdue))
                        }
                        Ok(proto::DeadlineFilter::Overdue) => d.as_ref().is_ok_and(|d| d.standing == Standing::Overdue),
                        _ => true,
                    };
                    // A date outside the calendar is listed with its error
                    // under every filter: it must not silently drop out.
                    if wanted || d.is_err() {
                        let stream = StreamId { agency: query.agency.clone(), subject: id };
                        entries.push(proto::ApplicationDeadline {
                            application: Some(application_to_proto(&stream, &record)),
                            deadline: Some(deadline_to_proto(d)),
                        });
                    }
                }
                let next_page_token = match (more, last_seen) {
                    (true, Some(after)) => page::token(&query, &after),
                    _ => String::new(),
                };
                Ok(proto::ListDeadlinesResponse { entries, next_page_token, as_of: Some(query.as_of.to_proto()) })
            })
            .await
            .map_err(refuse)?;
            Ok(Response::new(response))
        }
        .instrument(span)
        .await
    }
}
