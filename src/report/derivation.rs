//! Deriving a report from the store: now and for whole months (a month,
//! quarter, half-year or year), from the maintained month tallies (one
//! short scan per agency); for any other range of days, or as of an
//! earlier log position, by replaying the log. Also drill-down to the applications behind a cell, and the
//! verification that the tallies equal a full replay.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use crate::domain::codes::ReviewKind;
use crate::domain::date::Month;
use crate::domain::ids::{AgencyId, StreamId, SubjectId};
use crate::domain::subject::fold;
use crate::domain::subject::{SubjectRecord, SubjectState};
use crate::domain::tally::{Contribution, MonthTally};
use crate::report::as_of::AsOf;
use crate::report::period::Period;
use crate::report::replay::{Replay, Replayed};
use crate::report::tables::{Report, ReviewDating, YearCells};
use crate::report::template::{ReviewColumn, Row, Template};
use crate::store::database::Store;
use crate::store::error::StoreError;
use crate::store::event_cache::EventCache;

/// What to derive.
#[derive(Clone, Debug)]
pub struct ReportQuery {
    pub agencies: Vec<AgencyId>,
    pub year: i32,
    /// The days counted: the year's, or a half, quarter, month or range
    /// (`year` is then its last day's).
    pub period: Period,
    pub template: Template,
    pub dating: ReviewDating,
    /// `None`: now.
    pub as_of: Option<u64>,
}

/// The position asked for is past the end of the log.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    #[error("position {asked} is beyond the end of the log ({head})")]
    BeyondHead { asked: u64, head: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The report for a query.
pub fn report(store: &Store, q: &ReportQuery) -> Result<Report, DeriveError> {
    let previous = q.period.previous();
    // Whole months from the month tallies (now, or counted back to an
    // earlier position near the head); any other period, or a position
    // nearer the start, from a replay of the log.
    let months = q.period.whole_months().zip(previous.whole_months());
    if let Some(((first, last), (before_first, before_last))) = months
        && let Some((position, tallies)) = tallies_at(store, q.as_of, &q.agencies)?
    {
        let mut cells = YearCells::default();
        let mut before = YearCells::default();
        let mut counted = true;
        for tallies in &tallies {
            match (
                YearCells::from_tallies(tallies, first, last, q.dating),
                YearCells::from_tallies(tallies, before_first, before_last, q.dating),
            ) {
                (Some(c), Some(b)) => {
                    cells.add(&c);
                    before.add(&b);
                }
                _ => counted = false,
            }
        }
        if counted {
            return Ok(Report::for_period(
                q.agencies.clone(),
                q.period,
                q.template,
                q.dating,
                position,
                &cells,
                &before,
            ));
        }
    }
    report_by_replay(store, q)
}

/// One agency's month tallies.
type Tallies = BTreeMap<Month, MonthTally>;

/// Each agency's month tallies at `as_of` (now if `None`) and the position
/// they are of; `None` when the position is nearer the start of the log
/// than the head, where a replay from the start is cheaper.
fn tallies_at(
    store: &Store,
    as_of: Option<u64>,
    agencies: &[AgencyId],
) -> Result<Option<(u64, Vec<Tallies>)>, DeriveError> {
    let (head, at_head) = {
        let _consistent = store.consistent();
        let head = store.last_position()?;
        if as_of.is_some_and(|asked| asked > head || !AsOf::is_cheaper(asked, head)) {
            (head, None)
        } else {
            (head, Some(agencies.iter().map(|a| store.tallies(a)).collect::<Result<Vec<_>, _>>()?))
        }
    };
    let Some(at_head) = at_head else {
        return match as_of {
            Some(asked) if asked > head => Err(DeriveError::BeyondHead { asked, head }),
            _ => Ok(None),
        };
    };
    let Some(asked) = as_of.filter(|p| *p < head) else { return Ok(Some((head, at_head))) };
    let wanted: HashSet<AgencyId> = agencies.iter().cloned().collect();
    let back = AsOf::run(store, asked, head, &wanted)?;
    let then = agencies.iter().zip(at_head).map(|(a, t)| back.tallies(a, t)).collect();
    Ok(Some((asked, then)))
}

/// The same report counted subject by subject from a replay of the log up
/// to the position asked (the head if none): the reference the tallies are
/// checked against, and the way for any range of days.
pub fn report_by_replay(store: &Store, q: &ReportQuery) -> Result<Report, DeriveError> {
    let previous = q.period.previous();
    let asked = match q.as_of {
        Some(p) => p,
        None => {
            let _consistent = store.consistent();
            store.last_position()?
        }
    };
    let replay = replay_as_of(store, asked, &q.agencies)?;
    let agencies: HashSet<AgencyId> = q.agencies.iter().cloned().collect();
    let cells = replay.cells_in(&agencies, &q.period, q.dating);
    let before = replay.cells_in(&agencies, &previous, q.dating);
    Ok(Report::for_period(q.agencies.clone(), q.period, q.template, q.dating, asked, &cells, &before))
}

fn replay_as_of(store: &Store, asked: u64, agencies: &[AgencyId]) -> Result<Replay, DeriveError> {
    let head = {
        let _consistent = store.consistent();
        store.last_position()?
    };
    if asked > head {
        return Err(DeriveError::BeyondHead { asked, head });
    }
    let wanted: HashSet<AgencyId> = agencies.iter().cloned().collect();
    Ok(Replay::run(store, asked, Some(&wanted))?)
}

/// Whether an application counts in a cell of section 三 for a period.
pub fn in_cell(state: &SubjectState, period: &Period, row: Row, column: usize) -> bool {
    let SubjectState::Application(a) = state else { return false };
    if column < 6 && a.applicant.column() != column {
        return false;
    }
    let mut one = YearCells::default();
    one.count_in(state, period, ReviewDating::default());
    match row {
        Row::New => one.new.iter().sum::<i64>() > 0,
        Row::CarriedIn => one.carried_in.iter().sum::<i64>() > 0,
        Row::CarriedOut => one.carried_out.iter().sum::<i64>() > 0,
        row => a.conclusion.is_some_and(|c| period.contains(c.on) && row.holds(c.outcome)) && a.split_into.is_empty(),
    }
}

/// A cell of section 三: an agency's row and column for a period (column 6
/// is 总计).
#[derive(Clone, Debug)]
pub struct Cell {
    pub agency: AgencyId,
    pub period: Period,
    pub row: Row,
    pub column: usize,
}

/// One page of the subjects (applications, or review cases) counted in a cell.
pub struct CellPage {
    /// The log position the page reflects.
    pub position: u64,
    pub subjects: Vec<(StreamId, SubjectRecord)>,
    /// Whether more follow the last one.
    pub more: bool,
}

/// One page of the applications in a cell, in id order after `after`.
pub fn cell_applications(
    store: &Store,
    cell: &Cell,
    as_of: Option<u64>,
    after: Option<&SubjectId>,
    page_size: usize,
) -> Result<CellPage, DeriveError> {
    let Cell { agency, period, row, column } = cell.clone();
    cell_subjects(store, &agency, as_of, after, page_size, |s| in_cell(s, &period, row, column))
}

/// Whether a review case counts in a cell of section 四 for a period: its
/// kind's block, and the result it had at the period's end (or pending),
/// dated as `dating` dates cases.
pub fn in_review_cell(state: &SubjectState, cell: &ReviewCell) -> bool {
    let SubjectState::ReviewCase(c) = state else { return false };
    if c.kind != cell.kind {
        return false;
    }
    let mut one = YearCells::default();
    one.count_in(state, &cell.period, cell.dating);
    let counted = &one.reviews[cell.kind as usize];
    match cell.column {
        ReviewColumn::Total => counted.iter().sum::<i64>() > 0,
        column => counted[column as usize] > 0,
    }
}

/// A cell of section 四: an agency's review kind and result column for a
/// period, as cases are dated.
#[derive(Clone, Debug)]
pub struct ReviewCell {
    pub agency: AgencyId,
    pub period: Period,
    pub kind: ReviewKind,
    pub column: ReviewColumn,
    pub dating: ReviewDating,
}

/// One page of the review cases counted in a cell of section 四.
pub fn cell_review_cases(
    store: &Store,
    cell: &ReviewCell,
    as_of: Option<u64>,
    after: Option<&SubjectId>,
    page_size: usize,
) -> Result<CellPage, DeriveError> {
    cell_subjects(store, &cell.agency, as_of, after, page_size, |s| in_review_cell(s, cell))
}

/// One page, in subject id order after `after`, of an agency's subjects
/// that satisfy `counts`: now from the maintained subjects; as they stood
/// at a position near the head, from the maintained subjects with those
/// that moved since counted back; nearer the start, from a replay.
fn cell_subjects(
    store: &Store,
    agency: &AgencyId,
    as_of: Option<u64>,
    after: Option<&SubjectId>,
    page_size: usize,
    counts: impl Fn(&SubjectState) -> bool,
) -> Result<CellPage, DeriveError> {
    let mut page = Vec::new();
    let mut more = false;
    let mut push = |stream: StreamId, record: SubjectRecord| {
        if page.len() == page_size {
            more = true;
            return false;
        }
        page.push((stream, record));
        true
    };
    let head = {
        let _consistent = store.consistent();
        store.last_position()?
    };
    let position = match as_of {
        Some(asked) if asked > head => return Err(DeriveError::BeyondHead { asked, head }),
        None => {
            for item in store.subjects(agency, after) {
                let (subject, record) = item?;
                if counts(&record.state) && !push(StreamId { agency: agency.clone(), subject }, record) {
                    break;
                }
            }
            head
        }
        Some(asked) if AsOf::is_cheaper(asked, head) => {
            // The records read must be of the head counted back from: the
            // writer waits (the work is a few thousand events near the head).
            let _consistent = store.consistent();
            let head = store.last_position()?;
            let back = AsOf::run(store, asked, head, &HashSet::from([agency.clone()]))?;
            for item in store.subjects(agency, after) {
                let (subject, record) = item?;
                let stream = StreamId { agency: agency.clone(), subject };
                let Some(then) = back.record(&stream, record) else { continue };
                if counts(&then.state) && !push(stream, then) {
                    break;
                }
            }
            asked
        }
        Some(asked) => {
            let replay = replay_as_of(store, asked, std::slice::from_ref(agency))?;
            let mut matching: Vec<(StreamId, Replayed)> = replay
                .subjects
                .into_iter()
                .filter(|(s, r)| after.is_none_or(|a| &s.subject > a) && counts(&r.state))
                .collect();
            matching.sort_by(|a, b| a.0.cmp(&b.0));
            for (stream, replayed) in matching {
                // The stream as it stood: the stored positions up to `asked`.
                let mut positions = store.subject(&stream)?.map(|r| r.positions).unwrap_or_default();
                positions.retain(|p| *p <= asked);
                let record = SubjectRecord { positions, origin: replayed.origin.map(|o| *o), state: replayed.state };
                if !push(stream, record) {
                    break;
                }
            }
            asked
        }
    };
    Ok(CellPage { position, subjects: page, more })
}

/// The result of rebuilding everything from the raw log.
#[derive(Clone, Debug, Default)]
pub struct Verification {
    pub position: u64,
    pub events: u64,
    pub subjects: u64,
    pub differences: Vec<String>,
    pub seconds: f64,
}

/// Rebuilds every subject and every tally from the raw log and compares
/// them with the maintained ones: each stored subject's stream is read back
/// from the log and folded again, every log position must belong to
/// exactly one stream, and the tallies are summed again from the folded
/// states. Memory stays small whatever the log's size. Appends wait while it
/// runs (so that both sides are of one position).
pub fn verify(store: &Store) -> Result<Verification, StoreError> {
    let started = Instant::now();
    let _consistent = store.consistent();
    let head = store.last_position()?;
    let mut reader = EventCache::new(store);
    let mut owned = vec![false; head as usize + 1];
    let mut differences = Vec::new();
    let mut rebuilt: BTreeMap<(AgencyId, Month), MonthTally> = BTreeMap::new();
    let (mut subjects, mut events) = (0u64, 0u64);
    for item in store.all_subjects() {
        let (stream, record) = item?;
        subjects += 1;
        let mut stream_events = Vec::with_capacity(record.positions.len());
        for p in &record.positions {
            let e = reader.event(*p)?.event;
            let is_origin = record.origin.as_ref().is_some_and(|o| o.split_event == e.id);
            if !is_origin {
                if e.stream() != stream {
                    differences.push(format!("subject {stream} lists position {p}, which belongs to {}", e.stream()));
                }
                if std::mem::replace(&mut owned[*p as usize], true) {
                    differences.push(format!("position {p} is listed by two subjects"));
                }
                events += 1;
            }
            stream_events.push(e);
        }
        if let Some(origin) = &record.origin {
            let parent = StreamId { agency: stream.agency.clone(), subject: origin.parent.clone() };
            let facts =
                store.subject(&parent)?.and_then(|r| r.application().map(|a| (a.received_on, a.applicant, a.channel)));
            if facts != Some((origin.received_on, origin.applicant, origin.channel)) {
                differences.push(format!("part {stream} does not carry the receipt facts of {parent}"));
            }
        }
        let state = match fold(&stream_events, record.origin.as_ref()) {
            Ok(state) => state,
            Err((j, broken)) => {
                differences
                    .push(format!("subject {stream}: event {} breaks a rule on replay: {broken}", record.positions[j]));
                continue;
            }
        };
        if state != record.state {
            differences.push(format!("subject {stream}: maintained {:?}, replayed {:?}", record.state, state));
        }
        let c = Contribution::of(&state);
        for month in c.months() {
            c.apply(month, rebuilt.entry((stream.agency.clone(), month)).or_default(), 1);
        }
    }
    let losses = store.losses()?;
    let orphans: Vec<u64> =
        (1..=head).filter(|p| !owned[*p as usize] && !losses.iter().any(|l| l.contains(*p))).take(10).collect();
    if !orphans.is_empty() {
        differences.push(format!("log positions in no subject's stream (first ones): {orphans:?}"));
    }
    rebuilt.retain(|_, t| !t.is_zero());
    let stored = store.all_tallies()?;
    let keys: std::collections::BTreeSet<_> = stored.keys().chain(rebuilt.keys()).cloned().collect();
    for key in keys {
        let (a, b) = (stored.get(&key), rebuilt.get(&key));
        if a != b {
            differences.push(format!("tally of {} for {}: maintained {:?}, replayed {:?}", key.0, key.1, a, b));
        }
    }
    Ok(Verification { position: head, events, subjects, differences, seconds: started.elapsed().as_secs_f64() })
}
