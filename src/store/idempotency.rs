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
//! The filter is built by a background thread after open (a large store
//! has a million streams), so start-up does not wait for it; until it
//! arrives every lookup goes to the store.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};

use crate::domain::ids::{EventId, StreamId};
use crate::store::database::Store;
use crate::store::error::StoreError;

/// Hashes a stream from its parts, without building a key.
fn hash_stream(seed: &Seed, agency: &[u8], subject: &[u8]) -> u64 {
    let mut h = seed.build_hasher();
    h.write(agency);
    h.write_u8(0);
    h.write(subject);
    h.finish()
}

/// foldhash, seeded at random once per process: a fraction of the cost of
/// std's SipHash for lookups made several times per appended event.
type Seed = foldhash::fast::RandomState;

pub struct Known {
    ids: HashMap<EventId, u64, Seed>,
    /// `None` until the background scan delivers it.
    streams: Option<HashSet<u64, Seed>>,
    /// Streams added while the scan runs (it may or may not see them).
    added_while_loading: Vec<u64>,
    loading: Option<Receiver<HashSet<u64, Seed>>>,
    /// Hashes stream keys into the filter (the same seed for the scan).
    stream_hash: Seed,
}

impl Known {
    /// Reads every id run of the store, and starts the scan of its streams.
    pub fn load(store: &Arc<Store>) -> Result<Self, StoreError> {
        // Sized for what the log holds, so that loading never doubles the
        // table (which would briefly hold two of them).
        let held = usize::try_from(store.last_position()?).unwrap_or(0);
        let mut ids = HashMap::with_capacity_and_hasher(held, Seed::default());
        for run in store.id_runs() {
            let (first, run) = run?;
            ids.extend(run.into_iter().zip(first..));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let scanned = Arc::clone(store);
        let stream_hash = Seed::default();
        let scan_hash = stream_hash.clone();
        std::thread::Builder::new().name("stream-filter".into()).spawn(move || {
            let mut streams = HashSet::default();
            for stream in scanned.streams() {
                match stream {
                    Ok((agency, subject)) => streams.insert(hash_stream(&scan_hash, &agency, &subject)),
                    Err(e) => {
                        // Without the filter every lookup reads the store: slower, still exact.
                        tracing::error!(error = %e, "cannot build the stream filter");
                        return;
                    }
                };
            }
            let _ = tx.send(streams);
        })?;
        Ok(Self { ids, streams: None, added_while_loading: Vec::new(), loading: Some(rx), stream_hash })
    }

    /// Takes the stream filter if the background scan has finished (or
    /// gives up on it if the scan failed: lookups then always read).
    pub fn poll(&mut self) {
        match self.loading.as_ref().map(Receiver::try_recv) {
            Some(Ok(mut streams)) => {
                streams.extend(self.added_while_loading.drain(..));
                self.streams = Some(streams);
                self.loading = None;
            }
            Some(Err(TryRecvError::Disconnected)) => {
                self.added_while_loading = Vec::new();
                self.loading = None;
            }
            Some(Err(TryRecvError::Empty)) | None => {}
        }
    }

    /// Where an event id was recorded, if it was.
    pub fn position_of(&self, id: &EventId) -> Option<u64> {
        self.ids.get(id).copied()
    }

    pub fn may_hold_stream(&self, stream: &StreamId) -> bool {
        self.streams.as_ref().is_none_or(|s| s.contains(&self.stream_hash(stream)))
    }

    /// A stream's hash in the filter.
    pub fn stream_hash(&self, stream: &StreamId) -> u64 {
        hash_stream(&self.stream_hash, stream.agency.as_str().as_bytes(), stream.subject.as_str().as_bytes())
    }

    /// Records what a durable group added: its event ids with their
    /// positions, and the [`Self::stream_hash`] of each stream it wrote.
    pub fn add(&mut self, ids: impl IntoIterator<Item = (EventId, u64)>, hashes: impl IntoIterator<Item = u64>) {
        self.ids.extend(ids);
        match (&mut self.streams, &self.loading) {
            (Some(set), _) => set.extend(hashes),
            (None, Some(_)) => self.added_while_loading.extend(hashes),
            (None, None) => {}
        }
    }
}
