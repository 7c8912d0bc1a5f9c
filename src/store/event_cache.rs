//! Events read by position through a small cache of decoded log chunks:
//! a subject's events usually sit in a few nearby chunks, so reading a
//! stream back decodes each chunk once, not once per event.

use std::collections::{BTreeMap, VecDeque};

use crate::domain::event::Recorded;
use crate::store::database::Store;
use crate::store::error::StoreError;

/// A reader of events by position, keeping the last [`EventCache::CAPACITY`]
/// chunks it decoded.
pub struct EventCache<'s> {
    store: &'s Store,
    /// Decoded chunks by their first position.
    chunks: BTreeMap<u64, Vec<Vec<u8>>>,
    /// Their first positions, oldest read first (what is evicted).
    order: VecDeque<u64>,
}

impl<'s> EventCache<'s> {
    const CAPACITY: usize = 512;

    pub fn new(store: &'s Store) -> Self {
        Self { store, chunks: BTreeMap::new(), order: VecDeque::new() }
    }

    /// The event at `position`; a position the log does not hold is damage
    /// (every caller has it from a subject's stream).
    pub fn event(&mut self, position: u64) -> Result<Recorded, StoreError> {
        let missing = || StoreError::Damaged(format!("position {position} is referenced but not in the log"));
        let cached = self
            .chunks
            .range(..=position)
            .next_back()
            .filter(|(first, entries)| position < **first + entries.len() as u64)
            .map(|(first, _)| *first);
        let first = match cached {
            Some(first) => first,
            None => {
                let (first, entries) = self.store.chunk_entries(position)?.ok_or_else(missing)?;
                if self.order.len() == Self::CAPACITY
                    && let Some(old) = self.order.pop_front()
                {
                    self.chunks.remove(&old);
                }
                self.order.push_back(first);
                self.chunks.insert(first, entries);
                first
            }
        };
        let entry = self.chunks[&first].get((position - first) as usize).ok_or_else(missing)?;
        Recorded::decode(entry).map_err(StoreError::Damaged)
    }
}
