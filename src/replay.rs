//! Replay: folds the raw log, in order, into every subject's state, as of
//! any position. It is the reference the maintained tallies are checked
//! against, and how a table is reproduced as it stood at an earlier
//! position.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::event::{Event, Payload, Recorded};
use crate::ids::{AgencyId, StreamId};
use crate::report::{ReviewDating, YearCells};
use crate::store::{Store, StoreError};
use crate::subject::{SplitOrigin, SubjectRecord, SubjectState, fold};
use crate::tally::{Contribution, YearTally};

/// Every subject as folded from the log up to `position`.
#[derive(Default)]
pub struct Replay {
    pub subjects: HashMap<StreamId, SubjectRecord>,
    /// The last position replayed.
    pub position: u64,
    /// Events replayed.
    pub events: u64,
}

impl Replay {
    /// Replays the log up to `up_to`, keeping only `agencies` (all if
    /// `None`).
    pub fn run(store: &Store, up_to: u64, agencies: Option<&HashSet<AgencyId>>) -> Result<Self, StoreError> {
        let mut replay = Self::default();
        for item in store.log_range(1, up_to) {
            let (position, bytes) = item?;
            let recorded = Recorded::decode(&bytes).map_err(StoreError::Damaged)?;
            if agencies.is_none_or(|a| a.contains(&recorded.event.agency)) {
                replay.apply(&recorded, |p| {
                    store
                        .event_at(p)?
                        .map(|r| r.event)
                        .ok_or_else(|| StoreError::Damaged(format!("position {p} missing")))
                })?;
            }
            replay.position = position;
        }
        Ok(replay)
    }

    /// Folds one recorded event in; `load` reads an earlier event back when
    /// a correction makes a stream fold again.
    pub fn apply(
        &mut self,
        recorded: &Recorded,
        load: impl Fn(u64) -> Result<Event, StoreError>,
    ) -> Result<(), StoreError> {
        let e = &recorded.event;
        let broken = |what: String| StoreError::Damaged(format!("position {}: {what}", recorded.position));
        let stream = e.stream();
        let record = match (self.subjects.remove(&stream), &e.payload) {
            (Some(mut record), Payload::EventAmended(_) | Payload::EventVoided { .. }) => {
                record.positions.push(recorded.position);
                let events = record.positions.iter().map(|p| load(*p)).collect::<Result<Vec<_>, _>>()?;
                record.state = fold(&events, record.origin.as_ref()).map_err(|(_, b)| broken(b.to_string()))?;
                record
            }
            (Some(mut record), _) => {
                record.state.apply(e).map_err(|b| broken(b.to_string()))?;
                record.positions.push(recorded.position);
                record
            }
            (None, _) => SubjectRecord {
                positions: vec![recorded.position],
                origin: None,
                state: SubjectState::start(e).map_err(|b| broken(b.to_string()))?,
            },
        };
        if let (Payload::ApplicationSplit { parts }, Some(parent)) = (&e.payload, record.application()) {
            for part in parts {
                let origin = SplitOrigin {
                    parent: e.subject.clone(),
                    split_event: e.id,
                    received_on: parent.received_on,
                    applicant: parent.applicant,
                    channel: parent.channel,
                };
                let state = fold(&[], Some(&origin)).map_err(|(_, b)| broken(b.to_string()))?;
                let part = StreamId { agency: e.agency.clone(), subject: part.clone() };
                self.subjects
                    .insert(part, SubjectRecord { positions: vec![recorded.position], origin: Some(origin), state });
            }
        }
        self.subjects.insert(stream, record);
        self.events += 1;
        Ok(())
    }

    /// The cells of `year` for the given agencies, counted subject by
    /// subject.
    pub fn cells(&self, agencies: &HashSet<AgencyId>, year: i32, dating: ReviewDating) -> YearCells {
        let mut cells = YearCells::default();
        for (stream, record) in &self.subjects {
            if agencies.contains(&stream.agency) {
                cells.count(&record.state, year, dating);
            }
        }
        cells
    }

    /// The tallies the replayed subjects add up to.
    pub fn tallies(&self) -> BTreeMap<(AgencyId, i32), YearTally> {
        let mut out: BTreeMap<(AgencyId, i32), YearTally> = BTreeMap::new();
        for (stream, record) in &self.subjects {
            let c = Contribution::of(&record.state);
            for year in c.years() {
                c.apply(year, out.entry((stream.agency.clone(), year)).or_default(), 1);
            }
        }
        out.retain(|_, t| !t.is_zero());
        out
    }
}
