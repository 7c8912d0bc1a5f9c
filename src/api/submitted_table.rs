//! SubmitTable and AcceptTable: a unit's table read, checked and recorded
//! as a `table_submitted` event in its stream of the period, and the
//! superior's acceptance as a `table_accepted` event. The event goes
//! through the same edge and writer as every other (so it is durable,
//! idempotent and chained into the log's digest); sending the same file
//! again while it is the latest records nothing new.

use uuid::Uuid;

use crate::access::principal::Principal;
use crate::api::ledger_service::append_batch;
use crate::domain::date::CivilDate;
use crate::domain::ids::{AgencyId, StreamId, SubjectId};
use crate::domain::rejection::Rejection;
use crate::domain::subject::SubjectState;
use crate::domain::submitted_table::{self, MAX_TABLE, Sha256, SubmittedTable};
use crate::report::exchange::Source;
use crate::report::submission;
use crate::store::ledger::{Ledger, blocking};
use crate::wire::proto;

/// The stream's submitted table as it stands, with its event count.
async fn current(ledger: &Ledger, stream: StreamId) -> Result<(Option<SubmittedTable>, usize), Rejection> {
    let store = std::sync::Arc::clone(ledger.store());
    blocking(move || {
        let record = store.subject(&stream).map_err(|e| Rejection::Internal(e.to_string()))?;
        Ok(match record {
            Some(r) => {
                let n = r.positions.len();
                match r.state {
                    SubjectState::SubmittedTable(t) => (Some(t), n),
                    _ => (None, n),
                }
            }
            None => (None, 0),
        })
    })
    .await
}

fn stream_of(agency: &AgencyId, first: CivilDate, last: CivilDate) -> Result<StreamId, Rejection> {
    let subject = SubjectId::parse(&submitted_table::subject_for(first, last)).map_err(Rejection::Internal)?;
    Ok(StreamId { agency: agency.clone(), subject })
}

/// Records one event of a unit's table stream, today, by the caller. Its
/// id comes from the stream, its revision, what it records and the file, so
/// that a retry of the same call is recognised as one.
async fn record(
    ledger: &Ledger,
    caller: &Principal,
    (stream, revision): (&StreamId, usize),
    sha256: &Sha256,
    payload: proto::event::Payload,
) -> Result<(u64, bool), Rejection> {
    let what = match &payload {
        proto::event::Payload::TableSubmitted(_) => "submitted",
        _ => "accepted",
    };
    let name = format!("{stream}/{revision}/{what}/{sha256}");
    let event = proto::Event {
        event_id: Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes()).to_string(),
        agency_id: stream.agency.to_string(),
        subject_id: stream.subject.to_string(),
        occurred_on: Some(CivilDate::today_in_china().to_proto()),
        actor: caller.name().chars().filter(|c| !c.is_control()).take(64).collect(),
        correlation_id: String::new(),
        payload: Some(payload),
    };
    let batch = append_batch(&proto::AppendEventsRequest { events: vec![event], ..Default::default() })?;
    let appended = ledger.append(batch).await?;
    let first = appended.first().ok_or_else(|| Rejection::Internal("no answer for the event".into()))?;
    Ok((first.position, first.duplicate))
}

/// Reads, checks and records a submitted table.
pub async fn submit(
    ledger: &Ledger,
    caller: &Principal,
    r: proto::SubmitTableRequest,
) -> Result<proto::SubmitTableResponse, Rejection> {
    caller.may_write_id(&r.agency_id)?;
    let agency = AgencyId::parse(&r.agency_id).map_err(|e| Rejection::invalid("agency_id", e))?;
    if r.content.is_empty() || r.content.len() > MAX_TABLE {
        return Err(Rejection::invalid(
            "content",
            format!("is {} bytes; a submitted file is 1 byte to {} KiB", r.content.len(), MAX_TABLE / 1024),
        ));
    }
    if r.file_name.trim().is_empty() {
        return Err(Rejection::invalid("file_name", "is required: .json, .tsv, or a published report's text"));
    }
    let year = (r.year != 0).then_some(r.year);
    let table = submission::read(&r.content, r.file_name.trim(), agency.as_str(), year)
        .map_err(|e| Rejection::invalid("content", e.0))?;
    if table.agency != agency.as_str() {
        return Err(Rejection::invalid("content", format!("is the table of {}, not of {agency}", table.agency)));
    }
    let Source::Submitted { sha256, .. } = &table.source else {
        return Err(Rejection::Internal("a submission without its file's digest".into()));
    };
    let sha256 = Sha256::parse(sha256).map_err(Rejection::Internal)?;
    let parse = |d: &str| d.parse::<CivilDate>().map_err(|e| Rejection::invalid("content", e.to_string()));
    let (first, last) = (parse(&table.period.first_day)?, parse(&table.period.last_day)?);
    let stream = stream_of(&agency, first, last)?;
    let failures = submission::failures(&table, None);
    let answer = |log_position, duplicate| proto::SubmitTableResponse {
        log_position,
        duplicate,
        table_json: table.to_json(),
        failures: failures
            .iter()
            .map(|f| proto::CellFailure {
                identity: f.identity.into(),
                section: f.section.into(),
                row: f.row.clone(),
                column: f.column.clone(),
                found: f.found,
                expected: f.expected,
            })
            .collect(),
        sha256: sha256.to_string(),
    };
    let (now, revision) = current(ledger, stream.clone()).await?;
    if now.is_some_and(|t| t.sha256 == sha256) {
        // The latest submission already: a retry, or the same file again.
        return Ok(answer(ledger.head(), true));
    }
    let payload = proto::event::Payload::TableSubmitted(proto::TableSubmitted {
        first_day: Some(first.to_proto()),
        last_day: Some(last.to_proto()),
        file_name: r.file_name.trim().to_string(),
        sha256: sha256.to_string(),
        table_json: table.to_json(),
    });
    let (position, duplicate) = record(ledger, caller, (&stream, revision), &sha256, payload).await?;
    tracing::info!(agency = %agency, period = %table.period.name, %sha256, failures = failures.len(), "table submitted");
    Ok(answer(position, duplicate))
}

/// Records the superior's acceptance of a period's latest submission.
pub async fn accept(
    ledger: &Ledger,
    caller: &Principal,
    r: proto::AcceptTableRequest,
) -> Result<proto::AcceptTableResponse, Rejection> {
    caller.may_write_id(&r.agency_id)?;
    let agency = AgencyId::parse(&r.agency_id).map_err(|e| Rejection::invalid("agency_id", e))?;
    let period = r.period.unwrap_or_default();
    let day = |field: &str, d: Option<&proto::google::r#type::Date>| {
        CivilDate::from_proto(d.ok_or_else(|| Rejection::invalid(field, "is required"))?)
            .map_err(|e| Rejection::invalid(field, e))
    };
    let first = day("period.first_day", period.first_day.as_ref())?;
    let last = day("period.last_day", period.last_day.as_ref())?;
    let sha256 = Sha256::parse(&r.sha256).map_err(|e| Rejection::invalid("sha256", e))?;
    let stream = stream_of(&agency, first, last)?;
    let (now, revision) = current(ledger, stream.clone()).await?;
    if now.as_ref().is_some_and(|t| t.sha256 == sha256 && t.accepted_on.is_some()) {
        return Ok(proto::AcceptTableResponse { log_position: ledger.head() });
    }
    let payload = proto::event::Payload::TableAccepted(proto::TableAccepted { sha256: sha256.to_string() });
    let (position, _) = record(ledger, caller, (&stream, revision), &sha256, payload).await?;
    tracing::info!(agency = %agency, first = %first, last = %last, %sha256, "table accepted");
    Ok(proto::AcceptTableResponse { log_position: position })
}
