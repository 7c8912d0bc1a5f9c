//! The log as it stood at an earlier position, counted back from the head:
//! only the subjects whose streams moved after that position are replayed
//! (with their parents and parts, which share their receipt facts), each
//! from its own events; every other subject stood then as the maintained
//! tallies and records hold it now. The work is proportional to what was
//! recorded after the position, not to the log's length: the table at the
//! head minus 1,000 replays a few thousand events however long the log.
//! Far from the head a replay from the start is cheaper; the derivation
//! chooses that instead.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::domain::date::Month;
use crate::domain::ids::{AgencyId, StreamId};
use crate::domain::subject::SubjectRecord;
use crate::domain::tally::{Contribution, MonthTally};
use crate::report::replay::{Replay, Replayed};
use crate::store::database::Store;
use crate::store::error::StoreError;
use crate::store::event_cache::EventCache;

/// The subjects that moved between a position and the head, as they stood
/// at the position.
pub struct AsOf {
    /// The position counted back to.
    pub position: u64,
    /// The head counted back from.
    pub head: u64,
    /// Events replayed to do it.
    pub events: u64,
    moved: HashMap<StreamId, Moved>,
}

/// A subject whose state at the position may differ from the head's.
struct Moved {
    /// Its state at the position; `None` if it did not exist yet.
    then: Option<Replayed>,
    /// What it counts in the tallies at the head.
    now: Contribution,
}

impl AsOf {
    /// Whether counting back from `head` to `position` is the cheaper way:
    /// no more events after the position than before it.
    pub fn is_cheaper(position: u64, head: u64) -> bool {
        head - position <= position
    }

    /// Replays the subjects of `agencies` that moved after `position`, up
    /// to `head`. Reads only what the log holds up to `head` (positions
    /// never change once written), so it needs no lock while the writer goes
    /// on.
    pub fn run(store: &Store, position: u64, head: u64, agencies: &HashSet<AgencyId>) -> Result<Self, StoreError> {
        debug_assert!(position <= head);
        let mut queue: Vec<StreamId> = Vec::new();
        for item in store.log_range(position + 1, head) {
            let (_, bytes) = item?;
            let event = crate::domain::event::Recorded::decode(&bytes).map_err(StoreError::Damaged)?.event;
            if agencies.contains(&event.agency) {
                queue.push(event.stream());
            }
        }
        // A part's receipt facts are its parent's, and a parent's split or
        // corrected receipt date moves its parts: both sides are replayed.
        let mut records: HashMap<StreamId, SubjectRecord> = HashMap::new();
        while let Some(stream) = queue.pop() {
            if records.contains_key(&stream) {
                continue;
            }
            let Some(record) = store.subject(&stream)? else { continue };
            if let Some(origin) = &record.origin {
                queue.push(StreamId { agency: stream.agency.clone(), subject: origin.parent.clone() });
            }
            if let Some(app) = record.application() {
                queue.extend(
                    app.split_into.iter().map(|p| StreamId { agency: stream.agency.clone(), subject: p.clone() }),
                );
            }
            records.insert(stream, record);
        }
        let positions: BTreeSet<u64> =
            records.values().flat_map(|r| r.positions.iter().copied()).filter(|p| *p <= head).collect();
        let mut replay = Replay::default();
        let mut cache = EventCache::new(store);
        let mut then: Option<HashMap<StreamId, Option<Replayed>>> = None;
        let snapshot = |replay: &Replay| records.keys().map(|s| (s.clone(), replay.subjects.get(s).cloned())).collect();
        for p in positions {
            if p > position && then.is_none() {
                then = Some(snapshot(&replay));
            }
            replay.apply(&cache.event(p)?, store)?;
        }
        let then = then.unwrap_or_else(|| snapshot(&replay));
        let moved = then
            .into_iter()
            .map(|(stream, then)| {
                let now = replay.subjects.get(&stream).map(|r| Contribution::of(&r.state)).unwrap_or_default();
                (stream, Moved { then, now })
            })
            .collect();
        Ok(Self { position, head, events: replay.events, moved })
    }

    /// An agency's month tallies at the position, from its tallies at the
    /// head: each moved subject's count now taken out, its count then put in.
    pub fn tallies(&self, agency: &AgencyId, mut at_head: BTreeMap<Month, MonthTally>) -> BTreeMap<Month, MonthTally> {
        for moved in self.moved.iter().filter(|(s, _)| &s.agency == agency).map(|(_, m)| m) {
            let then = moved.then.as_ref().map(|r| Contribution::of(&r.state)).unwrap_or_default();
            if then == moved.now {
                continue;
            }
            for (c, sign) in [(moved.now, -1), (then, 1)] {
                for month in c.months() {
                    c.apply(month, at_head.entry(month).or_default(), sign);
                }
            }
        }
        at_head.retain(|_, t| !t.is_zero());
        at_head
    }

    /// A subject as it stood at the position, from its record at the head
    /// (`None` if it did not exist yet). Its positions are the stream's up
    /// to the position.
    pub fn record(&self, stream: &StreamId, mut current: SubjectRecord) -> Option<SubjectRecord> {
        current.positions.retain(|p| *p <= self.position);
        match self.moved.get(stream) {
            None => Some(current),
            Some(Moved { then: None, .. }) => None,
            Some(Moved { then: Some(r), .. }) => Some(SubjectRecord {
                positions: current.positions,
                origin: r.origin.as_deref().cloned(),
                state: r.state.clone(),
            }),
        }
    }
}
