//! What the store already holds, in memory: every recorded event id with
//! its position (the idempotency index), and a hash of every stream.
//!
//! The id map is complete, never a cache: it is rebuilt at open from the
//! durable id runs stored beside each log chunk, and grows with each
//! durable group, so a retry is recognised after any restart. Holding it
//! in memory spares a sled read per appended event and a sled key per
//! event (sled costs ~10 µs per key; see BENCHMARKS.md). The stream hashes
//! are a filter: a miss means "certainly not stored", which lets the writer
//! skip the sled lookup for a new application; a hit still reads the store.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use crate::ids::{EventId, StreamId};
use crate::store::{Store, StoreError, keys};

#[derive(Default)]
pub struct Known {
    ids: HashMap<EventId, u64>,
    streams: HashSet<u64>,
}

fn hash(bytes: &[u8]) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(bytes)
}

impl Known {
    /// Reads every id run and stream key of the store.
    pub fn load(store: &Store) -> Result<Self, StoreError> {
        let mut known = Self::default();
        for run in store.id_runs() {
            let (first, ids) = run?;
            known.ids.extend(ids.into_iter().zip(first..));
        }
        for key in store.keys_with_prefix(keys::SUBJECTS) {
            known.streams.insert(hash(&key?[..]));
        }
        Ok(known)
    }

    /// Where an event id was recorded, if it was.
    pub fn position_of(&self, id: &EventId) -> Option<u64> {
        self.ids.get(id).copied()
    }

    pub fn may_hold_stream(&self, stream: &StreamId) -> bool {
        self.streams.contains(&hash(&keys::subject(stream)))
    }

    /// Records what a durable group added.
    pub fn add(&mut self, ids: impl IntoIterator<Item = (EventId, u64)>, streams: impl IntoIterator<Item = StreamId>) {
        self.ids.extend(ids);
        self.streams.extend(streams.into_iter().map(|s| hash(&keys::subject(&s))));
    }
}
