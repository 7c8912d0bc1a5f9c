//! The `disclosure.v1.LedgerService` gRPC service: converts requests into
//! domain types at the edge, runs them against the ledger, and converts the
//! answers back. Each RPC runs in a span named after it, with the agency
//! and subject ids, and its refusal is logged once, here.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::access::gate::Admission;
use crate::access::principal::Principal;
use crate::api::application::{application_to_proto, deadline_to_proto, wire_status};
use crate::api::page;
use crate::deadline::calendar::CalendarCell;
use crate::deadline::statutory as deadline;
use crate::deadline::statutory::DEFAULT_WITHIN;
use crate::domain::date::CivilDate;
use crate::domain::event::Event;
use crate::domain::ids::{AgencyId, StreamId, SubjectId};
use crate::domain::rejection::{FieldIssue, Rejection, internal};
use crate::domain::subject::{SubjectRecord, SubjectState};
use crate::store::database::Segment;
use crate::store::ledger::blocking;
use crate::store::ledger::{Ledger, OpeningLedger};
use crate::store::writer::AppendBatch;
use crate::wire::proto::{self, ledger_service_server::LedgerService as LedgerServiceApi};
use crate::wire::status::{refuse, rpc_status};

/// Most events in one append.
pub const MAX_BATCH: usize = 1000;
/// Most subjects one list call reads before it returns a short page.
const MAX_SCAN: usize = 100_000;
/// Requests of one StreamAppendEvents stream appended at once.
const STREAM_IN_FLIGHT: usize = 64;
/// Log entries read per step of ReadLog.
const READ_CHUNK: u64 = 512;

/// The service. The ledger is set once the store is open and recovered;
/// until then every RPC answers UNAVAILABLE.
#[derive(Clone)]
pub struct LedgerService {
    ledger: OpeningLedger,
    calendar: CalendarCell,
    shutdown: CancellationToken,
}

impl LedgerService {
    pub fn new(ledger: OpeningLedger, calendar: CalendarCell, shutdown: CancellationToken) -> Self {
        Self { ledger, calendar, shutdown }
    }

    fn ledger(&self) -> Result<Arc<Ledger>, Rejection> {
        self.ledger.get()
    }
}

impl LedgerService {
    /// One append, as AppendEvents and each StreamAppendEvents request make
    /// it.
    async fn append(
        &self,
        caller: &Principal,
        request: proto::AppendEventsRequest,
    ) -> Result<proto::AppendEventsResponse, Status> {
        let span = tracing::info_span!(
            "AppendEvents",
            agency = request.events.first().map_or("", |e| e.agency_id.as_str()),
            subject = request.events.first().map_or("", |e| e.subject_id.as_str()),
            events = request.events.len(),
        );
        async move {
            // Scope first: a caller learns nothing about agencies it may not write.
            let agencies: HashSet<&str> = request
                .events
                .iter()
                .map(|e| e.agency_id.as_str())
                .chain(request.expected_revisions.iter().map(|r| r.agency_id.as_str()))
                .collect();
            agencies.into_iter().try_for_each(|a| caller.may_write_id(a)).map_err(refuse)?;
            let batch = append_batch(&request).map_err(refuse)?;
            // Answer with the canonical form of each id (as stored).
            let ids: Vec<String> = batch.events.iter().map(|e| e.id.to_string()).collect();
            let ledger = self.ledger().map_err(refuse)?;
            let results = ledger.append(batch).await.map_err(refuse)?;
            let response = proto::AppendEventsResponse {
                results: results
                    .iter()
                    .zip(ids)
                    .map(|(r, event_id)| proto::AppendResult {
                        event_id,
                        position: r.position,
                        stream_revision: r.revision,
                        duplicate: r.duplicate,
                    })
                    .collect(),
                head_position: ledger.head(),
            };
            tracing::debug!(head = response.head_position, "appended");
            Ok(response)
        }
        .instrument(span)
        .await
    }
}

#[tonic::async_trait]
impl LedgerServiceApi for LedgerService {
    async fn append_events(
        &self,
        request: Request<proto::AppendEventsRequest>,
    ) -> Result<Response<proto::AppendEventsResponse>, Status> {
        let caller = Principal::of(&request)?;
        self.append(&caller, request.into_inner()).await.map(Response::new)
    }

    type StreamAppendEventsStream =
        Pin<Box<dyn Stream<Item = Result<proto::StreamAppendEventsResponse, Status>> + Send>>;

    async fn stream_append_events(
        &self,
        request: Request<tonic::Streaming<proto::StreamAppendEventsRequest>>,
    ) -> Result<Response<Self::StreamAppendEventsStream>, Status> {
        use futures_util::StreamExt as _;
        // Shared by the stream's messages, not copied for each.
        let caller = Arc::new(Principal::of(&request)?);
        let admission = Arc::new(Admission::of(&request)?);
        let service = self.clone();
        // On shutdown the stream takes no more requests, answers those it
        // took, and ends UNAVAILABLE, so that the client resends what went
        // unanswered (idempotently) to the next server.
        let draining = self.shutdown.clone();
        let drained = self.shutdown.clone();
        let answers = request
            .into_inner()
            .take_until(async move { draining.cancelled().await })
            .map(move |message| {
                let (service, caller, admission) = (service.clone(), Arc::clone(&caller), Arc::clone(&admission));
                async move {
                    // A broken stream ends here; a refused request does not.
                    let message = message?;
                    let started = std::time::Instant::now();
                    let answer = async {
                        admission.admit().map_err(refuse)?;
                        let append =
                            message.append.ok_or_else(|| refuse(Rejection::invalid("append", "is required")))?;
                        service.append(&caller, append).await
                    }
                    .await;
                    // The stream's own status says nothing of its messages:
                    // each is measured as a call would be.
                    let code = answer.as_ref().map_or_else(tonic::Status::code, |_| tonic::Code::Ok);
                    metrics::histogram!(
                        "disclosure_rpc_seconds",
                        "method" => "LedgerService/StreamAppendEvents/message",
                        "code" => format!("{code:?}"),
                        "protocol" => "grpc"
                    )
                    .record(started.elapsed().as_secs_f64());
                    Ok(proto::StreamAppendEventsResponse {
                        request_id: message.request_id,
                        result: Some(match answer {
                            Ok(appended) => proto::stream_append_events_response::Result::Appended(appended),
                            Err(status) => proto::stream_append_events_response::Result::Error(rpc_status(&status)),
                        }),
                    })
                }
            })
            // Requests of one stream are appended concurrently (so that they
            // share group commits) and answered in the order sent.
            .buffered(STREAM_IN_FLIGHT)
            .chain(futures_util::stream::iter(
                std::iter::from_fn(move || {
                    drained.is_cancelled().then(|| {
                        Err(Status::unavailable(
                            "the server is shutting down: reconnect and resend the requests not answered",
                        ))
                    })
                })
                .take(1),
            ));
        Ok(Response::new(Box::pin(answers)))
    }

    async fn get_application(
        &self,
        request: Request<proto::GetApplicationRequest>,
    ) -> Result<Response<proto::GetApplicationResponse>, Status> {
        let caller = Principal::of(&request)?;
        let request = request.into_inner();
        let span =
            tracing::info_span!("GetApplication", agency = %request.agency_id, subject = %request.application_id);
        async move {
            caller.may_read_id(&request.agency_id).map_err(refuse)?;
            let stream = stream_id(&request.agency_id, "agency_id", &request.application_id, "application_id")
                .map_err(refuse)?;
            let ledger = self.ledger().map_err(refuse)?;
            let store = Arc::clone(ledger.store());
            let lookup = stream.clone();
            let record = blocking(move || store.subject(&lookup).map_err(internal)).await.map_err(refuse)?;
            let not_found = || Rejection::NotFound { resource: "application", name: stream.to_string() };
            let record = record
                .filter(|r| matches!(r.state, SubjectState::Application(_) | SubjectState::Voided))
                .ok_or_else(not_found)
                .map_err(refuse)?;
            let as_of = match &request.as_of {
                Some(d) => Some(CivilDate::from_proto(d).map_err(|e| refuse(Rejection::invalid("as_of", e)))?),
                None => None,
            };
            // Show only what is durable: wait for the group being committed.
            ledger.wait_durable(record.positions.last().copied().unwrap_or(0)).await.map_err(refuse)?;
            let store = Arc::clone(ledger.store());
            let positions = record.positions.clone();
            let history = blocking(move || {
                positions
                    .iter()
                    .map(|p| match store.event_at(*p) {
                        Ok(Some(r)) => Ok(r.to_proto()),
                        Ok(None) => Err(internal(format!("position {p} is indexed but missing"))),
                        Err(e) => Err(internal(e)),
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
            .map_err(refuse)?;
            let today = CivilDate::today_in_china();
            // As of a past day: the application then.
            let record = match as_of {
                Some(day) if day < today && record.application().is_some() => {
                    let store = Arc::clone(ledger.store());
                    let then = blocking(move || store.subject_as_of_day(&record, day).map_err(internal))
                        .await
                        .map_err(refuse)?;
                    if matches!(then.state, SubjectState::Voided) {
                        return Err(refuse(Rejection::NotFound {
                            resource: "application",
                            name: format!("{stream} (not yet received on {day})"),
                        }));
                    }
                    then
                }
                _ => record,
            };
            let on = as_of.unwrap_or(today);
            let application = application_to_proto(&stream, &record);
            let deadline = record.application().filter(|a| a.split_into.is_empty()).map(|a| {
                deadline_to_proto(
                    deadline::deadline(a, &self.calendar.current(), on, DEFAULT_WITHIN).map_err(|e| e.to_string()),
                )
            });
            Ok(Response::new(proto::GetApplicationResponse { application: Some(application), history, deadline }))
        }
        .instrument(span)
        .await
    }

    async fn list_applications(
        &self,
        request: Request<proto::ListApplicationsRequest>,
    ) -> Result<Response<proto::ListApplicationsResponse>, Status> {
        let caller = Principal::of(&request)?;
        let request = request.into_inner();
        let span = tracing::info_span!("ListApplications", agency = %request.agency_id);
        async move {
            caller.may_read_id(&request.agency_id).map_err(refuse)?;
            let query = ListQuery::from_proto(&request).map_err(refuse)?;
            let ledger = self.ledger().map_err(refuse)?;
            let store = Arc::clone(ledger.store());
            let response = blocking(move || query.run(&store)).await.map_err(refuse)?;
            Ok(Response::new(response))
        }
        .instrument(span)
        .await
    }

    type ReadLogStream = Pin<Box<dyn Stream<Item = Result<proto::ReadLogResponse, Status>> + Send>>;

    async fn read_log(&self, request: Request<proto::ReadLogRequest>) -> Result<Response<Self::ReadLogStream>, Status> {
        let caller = Principal::of(&request)?;
        let request = request.into_inner();
        let span = tracing::info_span!("ReadLog", agency = %request.agency_id, from = request.from_position, follow = request.follow);
        let _enter = span.enter();
        if request.agency_id.is_empty() { caller.may_read_all() } else { caller.may_read_id(&request.agency_id) }
            .map_err(refuse)?;
        let agency = if request.agency_id.is_empty() {
            None
        } else {
            Some(AgencyId::parse(&request.agency_id).map_err(|r| refuse(Rejection::invalid("agency_id", r)))?)
        };
        let ledger = self.ledger().map_err(refuse)?;
        let (tx, rx) = mpsc::channel(READ_CHUNK as usize);
        let shutdown = self.shutdown.clone();
        tokio::spawn(
            tail(ledger, request.from_position.max(1), agency, request.follow, tx, shutdown).instrument(span.clone()),
        );
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// Streams the log from `from`; with `follow`, waits for each new durable
/// head and goes on, until the client leaves or the server drains.
async fn tail(
    ledger: Arc<Ledger>,
    mut from: u64,
    agency: Option<AgencyId>,
    follow: bool,
    tx: mpsc::Sender<Result<proto::ReadLogResponse, Status>>,
    shutdown: CancellationToken,
) {
    use prost::Message;
    let mut head = ledger.watch_head();
    loop {
        let durable = *head.borrow_and_update();
        if from <= durable {
            let to = durable.min(from + READ_CHUNK - 1);
            let store = Arc::clone(ledger.store());
            let read = blocking(move || store.log_segment(from, to).map_err(internal)).await;
            let (to, chunk) = match read {
                Ok(Segment::Events { to, events }) => (to, events),
                Ok(Segment::Lost(loss)) => {
                    let lost = proto::ReadLogResponse { event: None, lost: Some(loss.to_proto()) };
                    if tx.send(Ok(lost)).await.is_err() {
                        return;
                    }
                    from = loss.last + 1;
                    continue;
                }
                Err(e) => {
                    let _ = tx.send(Err(refuse(e))).await;
                    return;
                }
            };
            for (_, bytes) in chunk {
                let recorded = match proto::RecordedEvent::decode(&bytes[..]) {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send(Err(refuse(internal(format!("undecodable log entry: {e}"))))).await;
                        return;
                    }
                };
                let wanted =
                    agency.as_ref().is_none_or(|a| recorded.event.as_ref().is_some_and(|e| e.agency_id == a.as_str()));
                if wanted && tx.send(Ok(proto::ReadLogResponse { event: Some(recorded), lost: None })).await.is_err() {
                    return; // the client left
                }
            }
            from = to + 1;
            continue;
        }
        if !follow {
            return;
        }
        tokio::select! {
            changed = head.changed() => if changed.is_err() { return },
            () = shutdown.cancelled() => return,
            () = tx.closed() => return,
        }
    }
}

/// The edge: a request checked field by field and converted to domain types.
pub fn append_batch(request: &proto::AppendEventsRequest) -> Result<AppendBatch, Rejection> {
    let n = request.events.len();
    if n == 0 || n > MAX_BATCH {
        return Err(Rejection::invalid("events", format!("has {n} events; a batch holds 1 to {MAX_BATCH}")));
    }
    let mut issues = Vec::new();
    let mut events: Vec<Event> = Vec::with_capacity(n);
    for (i, wire) in request.events.iter().enumerate() {
        match Event::from_proto(wire, &format!("events[{i}]")) {
            Ok(e) => {
                if let Err(why) = e.occurred_on.check_not_future() {
                    issues.push(FieldIssue::new(format!("events[{i}].occurred_on"), why));
                }
                if let crate::domain::event::Payload::EventAmended(a) = &e.payload
                    && let Some(Err(why)) = a.occurred_on.map(CivilDate::check_not_future)
                {
                    issues.push(FieldIssue::new(format!("events[{i}].event_amended.occurred_on"), why));
                }
                if let crate::domain::event::Payload::TableSubmitted { first_day, last_day, table, .. } = &e.payload
                    && let Err(why) = crate::report::submission::check_recorded(
                        table,
                        e.agency.as_str(),
                        &first_day.to_string(),
                        &last_day.to_string(),
                    )
                {
                    issues.push(FieldIssue::new(format!("events[{i}].table_submitted.table_json"), why));
                }
                if let Some(j) = events.iter().position(|other| other.id == e.id) {
                    issues.push(FieldIssue::new(
                        format!("events[{i}].event_id"),
                        format!("repeats the id of events[{j}]; each event needs its own id"),
                    ));
                }
                events.push(e);
            }
            Err(more) => issues.extend(more),
        }
    }
    let mut expected = Vec::new();
    let mut seen = HashSet::new();
    for (k, exp) in request.expected_revisions.iter().enumerate() {
        let at = format!("expected_revisions[{k}]");
        match stream_id(&exp.agency_id, &format!("{at}.agency_id"), &exp.subject_id, &format!("{at}.subject_id")) {
            Ok(stream) => {
                if !seen.insert(stream.clone()) {
                    issues.push(FieldIssue::new(at, format!("names stream {stream} twice")));
                }
                expected.push((stream, exp.revision));
            }
            Err(Rejection::Invalid(more)) => issues.extend(more),
            Err(other) => return Err(other),
        }
    }
    if !issues.is_empty() {
        return Err(Rejection::Invalid(issues));
    }
    Ok(AppendBatch { validate_only: request.validate_only, ..AppendBatch::new(events, expected) })
}

fn stream_id(agency: &str, agency_field: &str, subject: &str, subject_field: &str) -> Result<StreamId, Rejection> {
    let agency = AgencyId::parse(agency).map_err(|r| FieldIssue::new(agency_field, r));
    let subject = SubjectId::parse(subject).map_err(|r| FieldIssue::new(subject_field, r));
    match (agency, subject) {
        (Ok(agency), Ok(subject)) => Ok(StreamId { agency, subject }),
        (a, s) => Err(Rejection::Invalid(a.err().into_iter().chain(s.err()).collect())),
    }
}

/// A closed date range; either bound may be open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct DateRange {
    start: Option<CivilDate>,
    end: Option<CivilDate>,
}

impl DateRange {
    fn from_proto(range: Option<&proto::DateRange>, field: &str) -> Result<Self, FieldIssue> {
        let Some(range) = range else {
            return Ok(Self::default());
        };
        let bound = |d: Option<&proto::google::r#type::Date>, name: &str| {
            d.map(|d| CivilDate::from_proto(d).map_err(|r| FieldIssue::new(format!("{field}.{name}"), r))).transpose()
        };
        let out = Self { start: bound(range.start.as_ref(), "start")?, end: bound(range.end.as_ref(), "end")? };
        if let (Some(s), Some(e)) = (out.start, out.end)
            && s > e
        {
            return Err(FieldIssue::new(field, format!("starts on {s}, after its end {e}")));
        }
        Ok(out)
    }

    fn is_open(&self) -> bool {
        self.start.is_none() && self.end.is_none()
    }

    fn contains(&self, d: CivilDate) -> bool {
        self.start.is_none_or(|s| s <= d) && self.end.is_none_or(|e| d <= e)
    }
}

/// The filters of a ListApplications request; a page token is only valid
/// with the same filters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Filters {
    agency: AgencyId,
    status: i32,
    received: DateRange,
    concluded: DateRange,
    /// Each application as it stood at the end of this day.
    as_of: Option<CivilDate>,
}

/// A checked ListApplications request.
struct ListQuery {
    filters: Filters,
    page_size: usize,
    after: Option<SubjectId>,
}

impl ListQuery {
    fn from_proto(request: &proto::ListApplicationsRequest) -> Result<Self, Rejection> {
        let mut issues = Vec::new();
        let agency = AgencyId::parse(&request.agency_id).map_err(|r| issues.push(FieldIssue::new("agency_id", r))).ok();
        let status = match proto::ApplicationStatus::try_from(request.status) {
            Ok(_) => request.status,
            Err(_) => {
                issues.push(FieldIssue::new("status", format!("{} is not a known ApplicationStatus", request.status)));
                0
            }
        };
        let received = DateRange::from_proto(request.received.as_ref(), "received")
            .map_err(|i| issues.push(i))
            .unwrap_or_default();
        let concluded = DateRange::from_proto(request.concluded.as_ref(), "concluded")
            .map_err(|i| issues.push(i))
            .unwrap_or_default();
        let page_size = page::size(request.page_size).map_err(|i| issues.push(i)).unwrap_or(page::DEFAULT_SIZE);
        let as_of = request
            .as_of
            .as_ref()
            .map(|d| CivilDate::from_proto(d).map_err(|e| issues.push(FieldIssue::new("as_of", e))).ok())
            .unwrap_or_default();
        let (Some(agency), true) = (agency, issues.is_empty()) else {
            return Err(Rejection::Invalid(issues));
        };
        let filters = Filters { agency, status, received, concluded, as_of };
        let after = page::after(&request.page_token, &filters)?;
        Ok(Self { filters, page_size, after })
    }

    fn matches(&self, record: &SubjectRecord) -> bool {
        let (status, received, concluded) = match &record.state {
            SubjectState::Application(a) => (wire_status(a), Some(a.received_on), a.conclusion.map(|c| c.on)),
            SubjectState::Voided => (proto::ApplicationStatus::Voided, None, None),
            SubjectState::ReviewCase(_)
            | SubjectState::Document(_)
            | SubjectState::CatalogueItem(_)
            | SubjectState::Record(_)
            | SubjectState::ReportTexts(_)
            | SubjectState::SubmittedTable(_) => return false,
        };
        let f = &self.filters;
        let status_ok = f.status == 0 || f.status == status as i32;
        let in_range =
            |range: &DateRange, d: Option<CivilDate>| range.is_open() || d.is_some_and(|d| range.contains(d));
        status_ok && in_range(&f.received, received) && in_range(&f.concluded, concluded)
    }

    fn run(&self, store: &crate::store::database::Store) -> Result<proto::ListApplicationsResponse, Rejection> {
        let agency = &self.filters.agency;
        let mut applications = Vec::new();
        let mut last_seen = None;
        let mut more = false;
        for (scanned, item) in store.subjects(agency, self.after.as_ref()).enumerate() {
            let (id, record) = item.map_err(internal)?;
            if applications.len() == self.page_size || scanned == MAX_SCAN {
                more = true;
                break;
            }
            // As of a past day: the record then (not yet received: left out).
            let record = match self.filters.as_of {
                Some(day) if day < CivilDate::today_in_china() && record.application().is_some() => {
                    let then = store.subject_as_of_day(&record, day).map_err(internal)?;
                    if matches!(then.state, SubjectState::Voided) {
                        last_seen = Some(id);
                        continue;
                    }
                    then
                }
                _ => record,
            };
            if self.matches(&record) {
                let stream = StreamId { agency: agency.clone(), subject: id.clone() };
                applications.push(application_to_proto(&stream, &record));
            }
            last_seen = Some(id);
        }
        let next_page_token = match (more, last_seen) {
            (true, Some(after)) => page::token(&self.filters, &after),
            _ => String::new(),
        };
        Ok(proto::ListApplicationsResponse { applications, next_page_token })
    }
}
