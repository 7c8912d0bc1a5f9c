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
use crate::domain::ids::{AgencyId, StreamId, SubjectId};
use crate::domain::rejection::{FieldIssue, Rejection, internal};
use crate::store::ledger::OpeningLedger;
use crate::store::ledger::blocking;
use crate::wire::proto::{self, deadline_service_server::DeadlineService as DeadlineServiceApi};
use crate::wire::status::refuse;

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

/// Where an application stands in the urgency order of `ListDeadlines`:
/// overdue first (the longest overdue first), then due soon, paused,
/// awaiting a supplement (the earliest received first), on time, and those
/// whose dates fall outside the known calendar last; within a group the
/// fewest working days left first, then by id. A page token holds the last
/// rank of its page.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
struct Rank {
    group: u8,
    remaining: i64,
    received_on: CivilDate,
    id: SubjectId,
}

impl Rank {
    fn of(d: &Result<deadline::Deadline, String>, received_on: CivilDate, id: &SubjectId) -> Self {
        let (group, remaining) = match d {
            Ok(d) => {
                let group = match d.standing {
                    Standing::Overdue => 0,
                    Standing::DueSoon => 1,
                    Standing::Paused => 2,
                    Standing::AwaitingSupplement => 3,
                    _ => 4,
                };
                (group, if d.standing == Standing::AwaitingSupplement { 0 } else { d.remaining.unwrap_or(0) })
            }
            Err(_) => (5, 0),
        };
        Rank { group, remaining, received_on, id: id.clone() }
    }
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
            // Unset: the default window; 0: due today (or overdue).
            let within = r.within_working_days.unwrap_or(DEFAULT_WITHIN);
            let query = Query { agency, as_of, within, filter: r.filter };
            let after: Option<Rank> = page::after_key(&r.page_token, &query).map_err(refuse)?;
            let store = self.ledger.store().map_err(refuse)?;
            let calendar = self.calendar.current();
            let response = blocking(move || {
                let today = CivilDate::today_in_china();
                let mut ranked = Vec::new();
                for item in store.subjects(&query.agency, None) {
                    let (id, record) = item.map_err(internal)?;
                    // Received by the as-of date and not concluded by then.
                    let Some(now) = record.application() else { continue };
                    if now.received_on > query.as_of || now.conclusion.is_some_and(|c| c.on <= query.as_of) {
                        continue;
                    }
                    // The application as it stood at the end of the as-of
                    // day, when that day is past: later steps left out.
                    let record = if query.as_of < today {
                        store.subject_as_of_day(&record, query.as_of).map_err(internal)?
                    } else {
                        record
                    };
                    let Some(app) = record.application().filter(|a| a.status() == AppStatus::Open) else { continue };
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
                    if !(wanted || d.is_err()) {
                        continue;
                    }
                    let rank = Rank::of(&d, app.received_on, &id);
                    if after.as_ref().is_some_and(|a| &rank <= a) {
                        continue;
                    }
                    let stream = StreamId { agency: query.agency.clone(), subject: id };
                    ranked.push((rank, application_to_proto(&stream, &record), d));
                }
                ranked.sort_by(|a, b| a.0.cmp(&b.0));
                let more = ranked.len() > page_size;
                ranked.truncate(page_size);
                let next_page_token = match ranked.last() {
                    Some((rank, _, _)) if more => page::key_token(&query, rank),
                    _ => String::new(),
                };
                let entries = ranked
                    .into_iter()
                    .map(|(_, application, d)| proto::ApplicationDeadline {
                        application: Some(application),
                        deadline: Some(deadline_to_proto(d)),
                    })
                    .collect();
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
