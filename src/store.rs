//! The sled store: one tree, with keys prefixed by what they hold.
//!
//! | prefix | key                          | value                           |
//! |--------|------------------------------|---------------------------------|
//! | `L`    | first position (u64 BE)      | a chunk of consecutive recorded |
//! |        |                              | events (length-delimited proto) |
//! | `J`    | first position (u64 BE)      | the event ids of that log chunk |
//! |        |                              | (16 bytes each, in order)       |
//! | `S`    | agency `\0` subject          | the subject record (postcard)   |
//! | `T`    | agency `\0` year (u16 BE)    | the year's tally (postcard)     |
//! | `G`    | group id                     | the group's agencies (postcard) |
//! | `C`    | sequence number (u64 BE)     | a holiday schedule an admin     |
//! |        |                              | added (TOML, as sent)           |
//! | `K`    | token id                     | the access token (proto         |
//! |        |                              | `StoredToken`: a salted hash)   |
//!
//! One tree, so that a group of batches is written atomically with
//! `apply_batch`, which sled recovers all-or-nothing and which, unlike a
//! transaction, never re-runs. Only the writer thread writes.
//!
//! The log is stored in chunks of up to [`CHUNK`] consecutive events under
//! the position of the first: sled's cost is per key (each insert copies a
//! node), so one key per chunk instead of one per event is what lets a
//! group of thousands of events commit quickly. A point read skips to its
//! entry by the length prefixes without decoding the others. For the same
//! reason the idempotency index is stored per chunk too (`J`: the chunk's
//! event ids) and held in memory as a complete map from id to position
//! ([`crate::known`]), rebuilt from these runs at open: a lookup costs no
//! sled read and an append no extra sled key per event.

use std::fs::File;
use std::path::Path;
use std::sync::{RwLock, RwLockReadGuard};

use std::collections::BTreeMap;

use crate::event::Recorded;
use crate::ids::{AgencyId, EventId, StreamId, SubjectId};
use crate::subject::SubjectRecord;
use crate::tally::YearTally;

/// A log chunk read back: its first position and its encoded events.
pub type DecodedChunk = (u64, Vec<Vec<u8>>);

/// Most events stored under one log key.
pub const CHUNK: usize = 64;

/// A storage failure. The service stops acknowledging appends after one.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("damaged store: {0}")]
    Damaged(String),
}

/// Key layout.
pub mod keys {
    use super::*;

    pub const LOG: u8 = b'L';
    pub const IDS: u8 = b'J';
    pub const SUBJECTS: u8 = b'S';
    pub const TALLIES: u8 = b'T';
    pub const GROUPS: u8 = b'G';
    pub const TOKENS: u8 = b'K';
    pub const CALENDARS: u8 = b'C';

    /// The key of the log chunk that starts at `position`.
    pub fn log(position: u64) -> [u8; 9] {
        let mut k = [LOG; 9];
        k[1..].copy_from_slice(&position.to_be_bytes());
        k
    }

    /// The key of the id run of the log chunk that starts at `position`.
    pub fn ids(position: u64) -> [u8; 9] {
        let mut k = [IDS; 9];
        k[1..].copy_from_slice(&position.to_be_bytes());
        k
    }

    pub fn agency_prefix(agency: &AgencyId) -> Vec<u8> {
        let mut k = Vec::with_capacity(2 + agency.as_str().len());
        k.push(SUBJECTS);
        k.extend_from_slice(agency.as_str().as_bytes());
        k.push(0);
        k
    }

    pub fn tally_prefix(agency: &AgencyId) -> Vec<u8> {
        let mut k = agency_prefix(agency);
        k[0] = TALLIES;
        k
    }

    pub fn tally(agency: &AgencyId, year: i32) -> Vec<u8> {
        let mut k = tally_prefix(agency);
        k.extend_from_slice(&(year.clamp(0, i32::from(u16::MAX)) as u16).to_be_bytes());
        k
    }

    pub fn group(id: &str) -> Vec<u8> {
        let mut k = vec![GROUPS];
        k.extend_from_slice(id.as_bytes());
        k
    }

    pub fn token(id: &str) -> Vec<u8> {
        let mut k = vec![TOKENS];
        k.extend_from_slice(id.as_bytes());
        k
    }

    pub fn subject(stream: &StreamId) -> Vec<u8> {
        let mut k = agency_prefix(&stream.agency);
        k.extend_from_slice(stream.subject.as_str().as_bytes());
        k
    }
}

/// The open store.
pub struct Store {
    db: sled::Db,
    /// The file sled writes its log to; synced after each flush because
    /// sled 0.34's flush uses sync_file_range, which is not durable through
    /// power loss.
    data_file: File,
    /// Held for writing from a group's apply until it is durable, and for
    /// reading by whoever must see several keys as of one durable position
    /// (a year's tallies): sled's scans are not snapshots.
    commit_lock: RwLock<()>,
}

impl Store {
    /// Opens (and, after a crash, recovers) the store in `dir`.
    pub fn open(dir: &Path, cache_capacity: u64) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        // We flush ourselves, once per group: no background flusher racing
        // the writer.
        let db = sled::Config::new().path(dir).cache_capacity(cache_capacity).flush_every_ms(None).open()?;
        let data_file = File::open(dir.join("db"))?;
        // Make the files' directory entries durable once, for a new store.
        data_file.sync_all()?;
        File::open(dir)?.sync_all()?;
        Ok(Self { db, data_file, commit_lock: RwLock::new(()) })
    }

    /// The chunk holding `position`, if any: its first position and bytes.
    fn chunk_at(&self, position: u64) -> Result<Option<(u64, sled::IVec)>, StoreError> {
        match self.db.range(keys::log(0)..=keys::log(position)).next_back().transpose()? {
            Some((k, v)) => Ok(Some((log_position(&k)?, v))),
            None => Ok(None),
        }
    }

    /// The chunk holding `position`: its first position and its encoded
    /// events.
    pub fn chunk_entries(&self, position: u64) -> Result<Option<DecodedChunk>, StoreError> {
        let Some((first, chunk)) = self.chunk_at(position)? else { return Ok(None) };
        let entries = chunk::entries(&chunk).map(|e| e.map(<[u8]>::to_vec)).collect::<Result<Vec<_>, _>>()?;
        Ok(Some((first, entries)))
    }

    /// The last position in the log (0 when empty).
    pub fn last_position(&self) -> Result<u64, StoreError> {
        match self.chunk_at(u64::MAX)? {
            Some((first, chunk)) => Ok(first + chunk::entries(&chunk).count() as u64 - 1),
            None => Ok(0),
        }
    }

    /// The event at a position.
    pub fn event_at(&self, position: u64) -> Result<Option<Recorded>, StoreError> {
        let Some((first, chunk)) = self.chunk_at(position)? else { return Ok(None) };
        match chunk::entries(&chunk).nth((position - first) as usize) {
            Some(entry) => Ok(Some(Recorded::decode(entry?).map_err(StoreError::Damaged)?)),
            None => Ok(None),
        }
    }

    /// Every recorded event id with its position, chunk by chunk.
    pub fn id_runs(&self) -> impl Iterator<Item = Result<(u64, Vec<EventId>), StoreError>> + use<> {
        self.db.scan_prefix([keys::IDS]).map(|item| {
            let (k, v) = item?;
            let first = log_position(&k)?;
            if v.len() % 16 != 0 {
                return Err(damaged("id run"));
            }
            let ids = v.chunks_exact(16).map(|b| EventId::from_bytes(b.try_into().expect("16 bytes"))).collect();
            Ok((first, ids))
        })
    }

    /// A subject's record.
    pub fn subject(&self, stream: &StreamId) -> Result<Option<SubjectRecord>, StoreError> {
        self.db.get(keys::subject(stream))?.map(|v| decode_record(&v)).transpose()
    }

    /// An agency's subjects in id order, after `after` if given.
    pub fn subjects(
        &self,
        agency: &AgencyId,
        after: Option<&SubjectId>,
    ) -> impl Iterator<Item = Result<(SubjectId, SubjectRecord), StoreError>> + use<> {
        let prefix = keys::agency_prefix(agency);
        let prefix_len = prefix.len();
        let iter = match after {
            Some(after) => {
                let mut start = prefix.clone();
                start.extend_from_slice(after.as_str().as_bytes());
                start.push(0); // the smallest key after `after`
                let mut end = prefix;
                *end.last_mut().expect("prefix ends in a separator") = 1;
                self.db.range(start..end)
            }
            None => self.db.scan_prefix(prefix),
        };
        iter.map(move |item| {
            let (k, v) = item?;
            let id = std::str::from_utf8(&k[prefix_len..]).map_err(|_| damaged("subject key"))?;
            let id = SubjectId::parse(id).map_err(|e| damaged(&e))?;
            Ok((id, decode_record(&v)?))
        })
    }

    /// Every key that starts with `prefix` (to rebuild in-memory indexes).
    pub fn keys_with_prefix(&self, prefix: u8) -> impl Iterator<Item = Result<sled::IVec, StoreError>> + use<> {
        self.db.scan_prefix([prefix]).keys().map(|k| k.map_err(StoreError::from))
    }

    /// One year's tally of an agency.
    pub fn tally(&self, agency: &AgencyId, year: i32) -> Result<YearTally, StoreError> {
        match self.db.get(keys::tally(agency, year))? {
            Some(v) => YearTally::decode(&v).map_err(|e| damaged(&format!("tally: {e}"))),
            None => Ok(YearTally::default()),
        }
    }

    /// Every year's tally of an agency.
    pub fn tallies(&self, agency: &AgencyId) -> Result<BTreeMap<i32, YearTally>, StoreError> {
        let prefix = keys::tally_prefix(agency);
        let mut out = BTreeMap::new();
        for item in self.db.scan_prefix(&prefix) {
            let (k, v) = item?;
            let year = u16::from_be_bytes(k[prefix.len()..].try_into().map_err(|_| damaged("tally key"))?);
            out.insert(i32::from(year), YearTally::decode(&v).map_err(|e| damaged(&format!("tally: {e}")))?);
        }
        Ok(out)
    }

    /// Every agency's tallies (for verification).
    pub fn all_tallies(&self) -> Result<BTreeMap<(AgencyId, i32), YearTally>, StoreError> {
        let mut out = BTreeMap::new();
        for item in self.db.scan_prefix([keys::TALLIES]) {
            let (k, v) = item?;
            let sep = k.iter().position(|b| *b == 0).ok_or_else(|| damaged("tally key"))?;
            let agency = std::str::from_utf8(&k[1..sep]).map_err(|_| damaged("tally key"))?;
            let agency = AgencyId::parse(agency).map_err(|e| damaged(&e))?;
            let year = u16::from_be_bytes(k[sep + 1..].try_into().map_err(|_| damaged("tally key"))?);
            out.insert((agency, i32::from(year)), YearTally::decode(&v).map_err(|e| damaged(&format!("tally: {e}")))?);
        }
        Ok(out)
    }

    /// Every subject of every agency (for verification).
    pub fn all_subjects(&self) -> impl Iterator<Item = Result<(StreamId, SubjectRecord), StoreError>> + use<> {
        self.db.scan_prefix([keys::SUBJECTS]).map(|item| {
            let (k, v) = item?;
            let sep = k.iter().position(|b| *b == 0).ok_or_else(|| damaged("subject key"))?;
            let agency = std::str::from_utf8(&k[1..sep]).map_err(|_| damaged("subject key"))?;
            let subject = std::str::from_utf8(&k[sep + 1..]).map_err(|_| damaged("subject key"))?;
            let stream = StreamId {
                agency: AgencyId::parse(agency).map_err(|e| damaged(&e))?,
                subject: SubjectId::parse(subject).map_err(|e| damaged(&e))?,
            };
            Ok((stream, decode_record(&v)?))
        })
    }

    /// The agencies of a group, if it exists.
    pub fn group(&self, id: &str) -> Result<Option<Vec<AgencyId>>, StoreError> {
        self.db
            .get(keys::group(id))?
            .map(|v| postcard::from_bytes(&v).map_err(|e| damaged(&format!("group: {e}"))))
            .transpose()
    }

    /// Sets a group's agencies, durably. Groups are configuration, not
    /// events: they name whose tables are summed, and change no number.
    pub fn put_group(&self, id: &str, agencies: &[AgencyId]) -> Result<(), StoreError> {
        self.db.insert(keys::group(id), postcard::to_stdvec(agencies).expect("serializes"))?;
        self.sync()
    }

    /// Every group, in id order.
    pub fn groups(&self) -> Result<Vec<(String, Vec<AgencyId>)>, StoreError> {
        self.db
            .scan_prefix([keys::GROUPS])
            .map(|item| {
                let (k, v) = item?;
                let agencies = postcard::from_bytes(&v).map_err(|e| damaged(&format!("group: {e}")))?;
                Ok((String::from_utf8_lossy(&k[1..]).into_owned(), agencies))
            })
            .collect()
    }

    /// The holiday schedules an admin added, in the order they were added.
    pub fn calendars(&self) -> Result<Vec<String>, StoreError> {
        self.db
            .scan_prefix([keys::CALENDARS])
            .map(|item| {
                let (_, v) = item?;
                String::from_utf8(v.to_vec()).map_err(|e| damaged(&format!("calendar: {e}")))
            })
            .collect()
    }

    /// Stores a holiday schedule after the others, durably.
    pub fn add_calendar(&self, text: &str) -> Result<(), StoreError> {
        let next = match self.db.scan_prefix([keys::CALENDARS]).keys().next_back() {
            Some(k) => {
                let k = k?;
                u64::from_be_bytes(k[1..].try_into().map_err(|_| damaged("calendar key"))?) + 1
            }
            None => 0,
        };
        let mut key = vec![keys::CALENDARS];
        key.extend_from_slice(&next.to_be_bytes());
        self.db.insert(key, text.as_bytes())?;
        self.sync()
    }

    /// Every stored access token.
    pub fn tokens(&self) -> Result<Vec<crate::proto::StoredToken>, StoreError> {
        use prost::Message as _;
        self.db
            .scan_prefix([keys::TOKENS])
            .map(|item| {
                let (_, v) = item?;
                crate::proto::StoredToken::decode(&*v).map_err(|e| damaged(&format!("token: {e}")))
            })
            .collect()
    }

    /// Stores a token, durably.
    pub fn put_token(&self, id: &str, token: &crate::proto::StoredToken) -> Result<(), StoreError> {
        use prost::Message as _;
        self.db.insert(keys::token(id), token.encode_to_vec())?;
        self.sync()
    }

    /// Every log chunk in order: its first position and its stored bytes
    /// (length-delimited `RecordedEvent`s; see [`chunk::entries`]).
    pub fn log_chunks(&self) -> impl Iterator<Item = Result<(u64, sled::IVec), StoreError>> + use<> {
        self.db.range(keys::log(0)..=keys::log(u64::MAX)).map(|item| {
            let (k, v) = item?;
            Ok((log_position(&k)?, v))
        })
    }

    /// The log from `from` to `to` inclusive: each position with its
    /// stored event bytes (a `RecordedEvent`).
    pub fn log_range(&self, from: u64, to: u64) -> impl Iterator<Item = Result<(u64, Vec<u8>), StoreError>> + use<> {
        let (start, lookup_error) = match self.chunk_at(from) {
            Ok(Some((first, _))) => (first, None),
            Ok(None) => (from, None),
            Err(e) => (from, Some(Err(e))),
        };
        let chunks = self.db.range(keys::log(start)..=keys::log(to)).flat_map(move |item| {
            let entries: Vec<Result<(u64, Vec<u8>), StoreError>> = match item {
                Err(e) => vec![Err(e.into())],
                Ok((k, v)) => match log_position(&k) {
                    Err(e) => vec![Err(e)],
                    Ok(first) => chunk::entries(&v)
                        .enumerate()
                        .map(|(i, entry)| (first + i as u64, entry))
                        .filter(|(p, _)| (from..=to).contains(p))
                        .map(|(p, entry)| entry.map(|e| (p, e.to_vec())))
                        .collect(),
                },
            };
            entries
        });
        lookup_error.into_iter().chain(chunks)
    }

    /// Writes a batch atomically and makes it durable: sled flush, then
    /// fdatasync of the data file. Only when this returns is anything in the
    /// batch acknowledged.
    pub fn commit(&self, batch: sled::Batch) -> Result<(), StoreError> {
        let _durable = self.commit_lock.write().unwrap_or_else(|e| e.into_inner());
        let t0 = std::time::Instant::now();
        self.db.apply_batch(batch)?;
        let t1 = std::time::Instant::now();
        self.db.flush()?;
        let t2 = std::time::Instant::now();
        self.data_file.sync_data()?;
        tracing::debug!(
            apply = (t1 - t0).as_micros() as u64,
            flush = (t2 - t1).as_micros() as u64,
            fsync = t2.elapsed().as_micros() as u64,
            "commit"
        );
        Ok(())
    }

    /// A guard under which everything read is durable and of one position:
    /// no group is half applied or not yet synced while it is held.
    pub fn consistent(&self) -> RwLockReadGuard<'_, ()> {
        self.commit_lock.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The store's size on disk, in bytes.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// Flushes and syncs what is written (also used on shutdown).
    pub fn sync(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        self.data_file.sync_data()?;
        Ok(())
    }
}

/// A log chunk: recorded events, each behind its varint length.
pub mod chunk {
    use super::StoreError;

    /// Appends one encoded event to a chunk.
    pub fn push(chunk: &mut Vec<u8>, event: &[u8]) {
        prost::encoding::encode_varint(event.len() as u64, chunk);
        chunk.extend_from_slice(event);
    }

    /// The encoded events of a chunk, in order.
    pub fn entries(mut bytes: &[u8]) -> impl Iterator<Item = Result<&[u8], StoreError>> {
        std::iter::from_fn(move || {
            if bytes.is_empty() {
                return None;
            }
            let entry = prost::encoding::decode_varint(&mut bytes)
                .ok()
                .and_then(|len| usize::try_from(len).ok())
                .filter(|len| *len <= bytes.len())
                .map(|len| {
                    let (entry, rest) = bytes.split_at(len);
                    bytes = rest;
                    entry
                });
            if entry.is_none() {
                bytes = &[];
            }
            Some(entry.ok_or_else(|| StoreError::Damaged("truncated log chunk".into())))
        })
    }
}

fn log_position(key: &[u8]) -> Result<u64, StoreError> {
    Ok(u64::from_be_bytes(key.get(1..9).and_then(|k| k.try_into().ok()).ok_or_else(|| damaged("log key"))?))
}

pub fn encode_tally(tally: &YearTally) -> Vec<u8> {
    postcard::to_stdvec(tally).expect("a tally always serializes")
}

pub fn encode_record(record: &SubjectRecord) -> Vec<u8> {
    postcard::to_stdvec(record).expect("a subject record always serializes")
}

fn decode_record(bytes: &[u8]) -> Result<SubjectRecord, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| damaged(&format!("subject record: {e}")))
}

fn damaged(what: &str) -> StoreError {
    StoreError::Damaged(what.to_owned())
}
