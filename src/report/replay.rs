//! Replay: folds the raw log, in order, into every subject's state, as of
//! any position: how a table is reproduced as it stood at an earlier
//! position, counted subject by subject (the reference the maintained
//! tallies are checked against in the property tests).

use std::collections::{HashMap, HashSet};

use crate::domain::event::{Event, Payload, Recorded};
use crate::domain::ids::{AgencyId, StreamId};
use crate::domain::subject::{SplitOrigin, SubjectState, fold};
use crate::report::period::Period;
use crate::report::tables::{ReviewDating, YearCells};
use crate::store::database::Store;
use crate::store::error::StoreError;

/// One subject as replayed: its state and how many events it has so far.
/// (Its positions are not kept: a correction reads them from the stored
/// record, whose positions only ever grow, so memory stays per subject.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replayed {
    pub state: SubjectState,
    pub origin: Option<Box<SplitOrigin>>,
    pub revision: u64,
}

/// Every subject as folded from the log up to `position`.
#[derive(Default)]
pub struct Replay {
    pub subjects: HashMap<StreamId, Replayed>,
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
                replay.apply(&recorded, store)?;
            }
            replay.position = position;
        }
        Ok(replay)
    }

    /// Folds one recorded event in; a correction folds its stream again
    /// from the events the store holds up to it.
    pub fn apply(&mut self, recorded: &Recorded, store: &Store) -> Result<(), StoreError> {
        let e = &recorded.event;
        let broken = |what: String| StoreError::Damaged(format!("position {}: {what}", recorded.position));
        let stream = e.stream();
        let record = match (self.subjects.remove(&stream), &e.payload) {
            (Some(mut record), Payload::EventAmended(_) | Payload::EventVoided { .. }) => {
                let stored = store.subject(&stream)?.ok_or_else(|| broken(format!("{stream} has no record")))?;
                let events = stored
                    .positions
                    .iter()
                    .take_while(|p| **p <= recorded.position)
                    .map(|p| {
                        store.event_at(*p)?.map(|r| r.event).ok_or_else(|| broken(format!("position {p} missing")))
                    })
                    .collect::<Result<Vec<Event>, _>>()?;
                record.state = fold(&events, record.origin.as_deref()).map_err(|(_, b)| broken(b.to_string()))?;
                record.revision += 1;
                // A split application's receipt date moves its parts too.
                if let SubjectState::Application(parent) = &record.state
                    && !parent.split_into.is_empty()
                {
                    for part in &parent.split_into {
                        let key = StreamId { agency: e.agency.clone(), subject: part.clone() };
                        self.move_part(&key, parent.received_on, recorded.position, store)?;
                    }
                }
                record
            }
            (Some(mut record), _) => {
                record.state.apply(e).map_err(|b| broken(b.to_string()))?;
                record.revision += 1;
                record
            }
            (None, _) => Replayed {
                state: SubjectState::start(e).map_err(|b| broken(b.to_string()))?,
                origin: None,
                revision: 1,
            },
        };
        if let (Payload::ApplicationSplit { parts }, SubjectState::Application(parent)) = (&e.payload, &record.state) {
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
                self.subjects.insert(part, Replayed { state, origin: Some(Box::new(origin)), revision: 1 });
            }
        }
        self.subjects.insert(stream, record);
        self.events += 1;
        Ok(())
    }

    /// A part whose parent's receipt date was corrected at `position`,
    /// folded again from its stream as it stood then with the new date.
    fn move_part(
        &mut self,
        part: &StreamId,
        received_on: crate::domain::date::CivilDate,
        position: u64,
        store: &Store,
    ) -> Result<(), StoreError> {
        let broken = |what: String| StoreError::Damaged(format!("position {position}: {what}"));
        let Some(replayed) = self.subjects.get_mut(part) else { return Ok(()) };
        let Some(origin) = replayed.origin.as_mut().filter(|o| o.received_on != received_on) else { return Ok(()) };
        origin.received_on = received_on;
        let stored = store.subject(part)?.ok_or_else(|| broken(format!("{part} has no record")))?;
        let events = stored
            .positions
            .iter()
            .take_while(|p| **p <= position)
            .map(|p| store.event_at(*p)?.map(|r| r.event).ok_or_else(|| broken(format!("position {p} missing"))))
            .collect::<Result<Vec<Event>, _>>()?;
        replayed.state = fold(&events, replayed.origin.as_deref()).map_err(|(_, b)| broken(b.to_string()))?;
        Ok(())
    }

    /// The cells of `year` for the given agencies, counted subject by
    /// subject.
    pub fn cells(&self, agencies: &HashSet<AgencyId>, year: i32, dating: ReviewDating) -> YearCells {
        self.cells_in(agencies, &Period::year(year), dating)
    }

    /// The cells of any period for the given agencies.
    pub fn cells_in(&self, agencies: &HashSet<AgencyId>, period: &Period, dating: ReviewDating) -> YearCells {
        let mut cells = YearCells::default();
        for (stream, record) in &self.subjects {
            if agencies.contains(&stream.agency) {
                cells.count_in(&record.state, period, dating);
            }
        }
        cells
    }
}
