//! The sled store: one tree, with keys prefixed by what they hold.
//!
//! | prefix | key                          | value                           |
//! |--------|------------------------------|---------------------------------|
//! | `L`    | first position (u64 BE)      | a chunk of consecutive recorded |
//! |        |                              | events (length-delimited proto) |
//! | `J`    | first position (u64 BE)      | the event ids of that log chunk |
//! |        |                              | (16 bytes each, in order)       |
//! | `B`    | agency `\0` first subject    | a bucket of subject records in  |
//! |        |                              | id order ([`crate::bucket`])    |
//! | `T`    | agency `\0` year (u16 BE)    | the year's tally (postcard)     |
//! | `G`    | group id                     | the group's agencies (postcard) |
//! | `C`    | sequence number (u64 BE)     | a holiday schedule an admin     |
//! |        |                              | added (TOML, as sent)           |
//! | `K`    | token id                     | the access token (proto         |
//! |        |                              | `StoredToken`: a salted hash)   |
//!
//! Stores written before buckets kept one `S` key per subject (agency `\0`
//! subject → record); [`Store::open`] moves them into buckets once.
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
//! sled read and an append no extra sled key per event. And subject
//! records are packed by id range into buckets ([`crate::bucket`]), so a
//! run of new applications costs a key per bucket, not per application.

use std::fs::File;
use std::path::Path;
use std::sync::{RwLock, RwLockReadGuard};

use std::collections::BTreeMap;

use crate::bucket;
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
    pub const BUCKETS: u8 = b'B';
    /// One key per subject: the layout before buckets, migrated at open.
    pub const SUBJECTS_BEFORE_BUCKETS: u8 = b'S';
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

    /// `kind`, the agency, then the separator: every key of that kind
    /// and agency starts with it.
    pub fn agency_prefix(kind: u8, agency: &AgencyId) -> Vec<u8> {
        let mut k = Vec::with_capacity(2 + agency.as_str().len());
        k.push(kind);
        k.extend_from_slice(agency.as_str().as_bytes());
        k.push(0);
        k
    }

    /// The first key after every key that starts with `prefix` (which ends
    /// in the separator).
    pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
        let mut end = prefix.to_vec();
        *end.last_mut().expect("a prefix ends in a separator") = 1;
        end
    }

    pub fn tally_prefix(agency: &AgencyId) -> Vec<u8> {
        agency_prefix(TALLIES, agency)
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

    /// Where `stream` sorts among buckets: a bucket key is this key of
    /// the first subject it holds.
    pub fn bucket(stream: &StreamId) -> Vec<u8> {
        let mut k = agency_prefix(BUCKETS, &stream.agency);
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
        let store = Self { db, data_file, commit_lock: RwLock::new(()) };
        store.move_subjects_into_buckets()?;
        Ok(store)
    }

    /// Moves the subject records of a store written before buckets (one
    /// `S` key each) into buckets: one atomic batch per agency, so a crash
    /// midway leaves every agency wholly in one layout or the other, and
    /// the next open finishes the rest.
    fn move_subjects_into_buckets(&self) -> Result<(), StoreError> {
        let mut moved = 0usize;
        loop {
            let Some(first) = self.db.scan_prefix([keys::SUBJECTS_BEFORE_BUCKETS]).keys().next().transpose()? else {
                break;
            };
            let sep = first.iter().position(|b| *b == 0).ok_or_else(|| damaged("subject key"))?;
            let prefix = first[..=sep].to_vec();
            let mut batch = sled::Batch::default();
            let mut entries = Vec::new();
            for item in self.db.scan_prefix(&prefix) {
                let (key, record) = item?;
                batch.remove(key.clone());
                entries.push((key[prefix.len()..].to_vec(), record.to_vec()));
            }
            moved += entries.len();
            let mut bucket_prefix = prefix;
            bucket_prefix[0] = keys::BUCKETS;
            for (first, bytes) in bucket::merge(&[], &entries)? {
                let mut key = bucket_prefix.clone();
                key.extend_from_slice(&first);
                batch.insert(key, bytes);
            }
            self.db.apply_batch(batch)?;
        }
        if moved > 0 {
            self.sync()?;
            tracing::info!(subjects = moved, "moved subject records into buckets");
        }
        Ok(())
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
        let key = keys::bucket(stream);
        let prefix = keys::agency_prefix(keys::BUCKETS, &stream.agency);
        // One iterator step: sled applies a batch wholly before or after it.
        let Some((_, held)) = self.db.range(prefix..=key).next_back().transpose()? else { return Ok(None) };
        bucket::find(&held, stream.subject.as_str().as_bytes())?.map(decode_record).transpose()
    }

    /// An agency's subjects in id order, after `after` if given.
    pub fn subjects(
        &self,
        agency: &AgencyId,
        after: Option<&SubjectId>,
    ) -> impl Iterator<Item = Result<(SubjectId, SubjectRecord), StoreError>> + use<> {
        let (start, failed) = match self.scan_start(agency, after) {
            Ok(start) => (start, None),
            Err(e) => (keys::agency_prefix(keys::BUCKETS, agency), Some(Err(e))),
        };
        failed.into_iter().chain(self.subjects_from(agency, start, after))
    }

    /// The key an agency's scan after `after` starts from: the bucket that
    /// holds `after`, or would. Every entry at or before `after` is skipped
    /// anyway, so starting early is always safe. Starting late is not: the
    /// agency's first bucket is the one bucket whose key can change (down,
    /// to a smaller new id), so a scan that would start there starts at the
    /// agency's beginning instead.
    fn scan_start(&self, agency: &AgencyId, after: Option<&SubjectId>) -> Result<Vec<u8>, StoreError> {
        let prefix = keys::agency_prefix(keys::BUCKETS, agency);
        let Some(after) = after else { return Ok(prefix) };
        let mut key = prefix.clone();
        key.extend_from_slice(after.as_str().as_bytes());
        let Some((holder, _)) = self.db.range(prefix.clone()..=key).next_back().transpose()? else {
            return Ok(prefix);
        };
        let first = self.db.range(prefix.clone()..holder.to_vec()).next_back().transpose()?.is_none();
        Ok(if first { prefix } else { holder.to_vec() })
    }

    /// An agency's subjects after `after`, scanning buckets from `start`.
    fn subjects_from(
        &self,
        agency: &AgencyId,
        start: Vec<u8>,
        after: Option<&SubjectId>,
    ) -> impl Iterator<Item = Result<(SubjectId, SubjectRecord), StoreError>> + use<> {
        let end = keys::prefix_end(&keys::agency_prefix(keys::BUCKETS, agency));
        let after = after.map(|a| a.as_str().as_bytes().to_vec());
        BucketEntries::new(self.db.range(start..end), after).map(move |item| {
            let (_, id, record) = item?;
            let id = std::str::from_utf8(&id).map_err(|_| damaged("subject id"))?;
            Ok((SubjectId::parse(id).map_err(|e| damaged(&e))?, decode_record(&record)?))
        })
    }

    /// Every stored stream as its agency and subject bytes (to build the
    /// stream filter), without decoding a record.
    pub fn streams(&self) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + use<> {
        BucketEntries::new(self.db.scan_prefix([keys::BUCKETS]), None)
            .map(|item| item.map(|(agency, id, _)| (agency, id)))
    }

    /// Stages into `batch` the new records of `subjects`, each merged into
    /// the bucket that holds its id (splitting buckets that outgrow their
    /// limits). Reads the current buckets: only the writer may call it,
    /// between its commits.
    pub fn stage_subjects<'r>(
        &self,
        batch: &mut sled::Batch,
        subjects: impl IntoIterator<Item = (&'r StreamId, &'r SubjectRecord)>,
    ) -> Result<(), StoreError> {
        // In key order, so that each bucket's updates are one run.
        let mut staged: Vec<(Vec<u8>, usize, Vec<u8>)> = subjects
            .into_iter()
            .map(|(stream, record)| (keys::bucket(stream), 2 + stream.agency.as_str().len(), encode_record(record)))
            .collect();
        staged.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut i = 0;
        while i < staged.len() {
            let key = staged[i].0.clone();
            let prefix_len = staged[i].1;
            let prefix = &key[..prefix_len];
            let end = keys::prefix_end(prefix);
            // The bucket holding the key: the last one at or before it; if
            // the key precedes the agency's first bucket, that bucket (its
            // key becomes the new smallest id).
            let holder = match self.db.range(prefix.to_vec()..=key.clone()).next_back().transpose()? {
                Some(found) => Some(found),
                None => self.db.range(key.clone()..end.clone()).next().transpose()?,
            };
            let next = match &holder {
                Some((held, _)) => {
                    let after = (std::ops::Bound::Excluded(held.to_vec()), std::ops::Bound::Excluded(end.clone()));
                    self.db.range::<Vec<u8>, _>(after).next().transpose()?.map(|(k, _)| k)
                }
                None => None,
            };
            let run = staged[i..]
                .iter()
                .take_while(|(k, _, _)| k.starts_with(prefix) && next.as_ref().is_none_or(|n| k.as_slice() < &n[..]))
                .count();
            let updates: Vec<bucket::Owned> = staged[i..i + run]
                .iter_mut()
                .map(|(k, p, record)| (k[*p..].to_vec(), std::mem::take(record)))
                .collect();
            let existing = holder.as_ref().map_or(&[][..], |(_, bytes)| &bytes[..]);
            let parts = bucket::merge(existing, &updates)?;
            if let Some((held, _)) = &holder
                && held[prefix_len..] != parts[0].0[..]
            {
                batch.remove(held.clone());
            }
            for (first, bytes) in parts {
                let mut part_key = prefix.to_vec();
                part_key.extend_from_slice(&first);
                batch.insert(part_key, bytes);
            }
            i += run;
        }
        Ok(())
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
        BucketEntries::new(self.db.scan_prefix([keys::BUCKETS]), None).map(|item| {
            let (agency, id, record) = item?;
            let agency = std::str::from_utf8(&agency).map_err(|_| damaged("bucket key"))?;
            let subject = std::str::from_utf8(&id).map_err(|_| damaged("subject id"))?;
            let stream = StreamId {
                agency: AgencyId::parse(agency).map_err(|e| damaged(&e))?,
                subject: SubjectId::parse(subject).map_err(|e| damaged(&e))?,
            };
            Ok((stream, decode_record(&record)?))
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

/// The entries of a run of buckets in key order, as (agency, subject id,
/// encoded record). sled's scans are not snapshots: a bucket split while a
/// scan runs could show its moved entries twice, so every entry at or
/// before the last one shown (or `after`) of the same agency is skipped.
struct BucketEntries {
    buckets: sled::Iter,
    pending: std::vec::IntoIter<(Vec<u8>, Vec<u8>)>,
    agency: Vec<u8>,
    last: Option<Vec<u8>>,
    failed: bool,
}

impl BucketEntries {
    fn new(buckets: sled::Iter, after: Option<Vec<u8>>) -> Self {
        Self { buckets, pending: Vec::new().into_iter(), agency: Vec::new(), last: after, failed: false }
    }

    fn load(&mut self, key: &[u8], bytes: &[u8]) -> Result<(), StoreError> {
        let sep = key.iter().position(|b| *b == 0).ok_or_else(|| damaged("bucket key"))?;
        let agency = &key[1..sep];
        if agency != self.agency.as_slice() {
            if !self.agency.is_empty() {
                self.last = None;
            }
            self.agency = agency.to_vec();
        }
        let entries = bucket::entries(bytes)
            .map(|e| e.map(|(id, record)| (id.to_vec(), record.to_vec())))
            .collect::<Result<Vec<_>, _>>()?;
        self.pending = entries.into_iter();
        Ok(())
    }
}

impl Iterator for BucketEntries {
    type Item = Result<(Vec<u8>, Vec<u8>, Vec<u8>), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            for (id, record) in self.pending.by_ref() {
                if self.last.as_ref().is_some_and(|last| id <= *last) {
                    continue;
                }
                self.last = Some(id.clone());
                return Some(Ok((self.agency.clone(), id, record)));
            }
            let loaded = match self.buckets.next()? {
                Ok((key, bytes)) => self.load(&key, &bytes),
                Err(e) => Err(e.into()),
            };
            if let Err(e) = loaded {
                self.failed = true;
                return Some(Err(e));
            }
        }
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use proptest::prelude::*;

    use super::*;
    use crate::subject::SubjectState;

    fn stream(agency: &str, subject: &str) -> StreamId {
        StreamId { agency: AgencyId::parse(agency).unwrap(), subject: SubjectId::parse(subject).unwrap() }
    }

    /// A record told apart by its positions; `long` makes it big enough to
    /// be split off by size.
    fn record(version: u64, long: bool) -> SubjectRecord {
        let n = if long { 3000 } else { 1 + version as usize % 4 };
        SubjectRecord { positions: vec![version; n], origin: None, state: SubjectState::Voided }
    }

    /// Every bucket is non-empty, stored under its first id, and the
    /// buckets of an agency hold increasing ids.
    fn check_buckets(store: &Store) {
        let mut last: Option<Vec<u8>> = None;
        for item in store.db.scan_prefix([keys::BUCKETS]) {
            let (key, bytes) = item.unwrap();
            let sep = key.iter().position(|b| *b == 0).unwrap();
            let ids: Vec<Vec<u8>> = bucket::entries(&bytes).map(|e| e.unwrap().0.to_vec()).collect();
            assert!(!ids.is_empty(), "empty bucket {key:?}");
            assert_eq!(ids[0], key[sep + 1..].to_vec(), "bucket key is not its first id");
            let full: Vec<Vec<u8>> = ids.iter().map(|id| [&key[..=sep], id].concat()).collect();
            assert!(full.windows(2).all(|w| w[0] < w[1]), "ids out of order in {key:?}");
            if let Some(last) = &last {
                assert!(*last < full[0], "buckets overlap at {key:?}");
            }
            last = full.last().cloned();
        }
    }

    /// Subject ids of mixed lengths sort the way sled does (bytes), not as
    /// numbers: the shapes that make buckets split and take smaller keys.
    fn subject_id() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u32..300).prop_map(|n| format!("a{n}")),
            (0u32..40).prop_map(|n| format!("{n:03}")),
            Just("z".to_owned())
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever groups of writes are committed, every read answers as a
        /// plain ordered map of the same writes would.
        #[test]
        fn buckets_read_back_as_the_map_of_what_was_written(
            groups in prop::collection::vec(
                prop::collection::vec((0usize..3, subject_id(), any::<bool>()), 1..120),
                1..8,
            ),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path(), 8 << 20).unwrap();
            let agencies = ["ag", "ag-b", "b"];
            let mut model: BTreeMap<(String, String), SubjectRecord> = BTreeMap::new();
            for (version, group) in groups.iter().enumerate() {
                let mut staged: HashMap<StreamId, SubjectRecord> = HashMap::new();
                for (k, (a, subject, long)) in group.iter().enumerate() {
                    let r = record(version as u64 * 1000 + k as u64, *long && k % 7 == 0);
                    staged.insert(stream(agencies[*a], subject), r.clone());
                    model.insert((agencies[*a].to_owned(), subject.clone()), r);
                }
                let mut batch = sled::Batch::default();
                store.stage_subjects(&mut batch, &staged).unwrap();
                store.commit(batch).unwrap();
                check_buckets(&store);
            }
            for agency in agencies {
                let expected: Vec<(String, SubjectRecord)> =
                    model.iter().filter(|((a, _), _)| a == agency).map(|((_, s), r)| (s.clone(), r.clone())).collect();
                let listed: Vec<(String, SubjectRecord)> = store
                    .subjects(&AgencyId::parse(agency).unwrap(), None)
                    .map(|item| item.map(|(s, r)| (s.as_str().to_owned(), r)).unwrap())
                    .collect();
                prop_assert_eq!(&listed, &expected);
                for (i, (subject, r)) in expected.iter().enumerate() {
                    let read = store.subject(&stream(agency, subject)).unwrap();
                    prop_assert_eq!(read.as_ref(), Some(r));
                    let after: Vec<String> = store
                        .subjects(&AgencyId::parse(agency).unwrap(), Some(&SubjectId::parse(subject).unwrap()))
                        .map(|item| item.unwrap().0.as_str().to_owned())
                        .collect();
                    let rest: Vec<String> = expected[i + 1..].iter().map(|(s, _)| s.clone()).collect();
                    prop_assert_eq!(after, rest);
                }
                for absent in ["a", "a1000", "0", "zz", "000"] {
                    if !model.contains_key(&(agency.to_owned(), absent.to_owned())) {
                        prop_assert_eq!(store.subject(&stream(agency, absent)).unwrap(), None);
                    }
                }
            }
            let all: Vec<((String, String), SubjectRecord)> = store
                .all_subjects()
                .map(|item| item.map(|(s, r)| ((s.agency.as_str().to_owned(), s.subject.as_str().to_owned()), r)).unwrap())
                .collect();
            let mut by_key: Vec<((String, String), SubjectRecord)> = model.into_iter().collect();
            // The store orders by key bytes: agency, then the separator.
            by_key.sort_by_key(|((agency, subject), _)| keys::bucket(&stream(agency, subject)));
            prop_assert_eq!(all.len(), by_key.len());
            prop_assert_eq!(all, by_key);
        }
    }

    /// A listing page that begins while a group gives the agency a new
    /// smallest id (so its first bucket changes key) still returns every
    /// subject after its token.
    #[test]
    fn a_scan_started_before_the_first_bucket_changes_key_misses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 8 << 20).unwrap();
        let agency = AgencyId::parse("a").unwrap();
        let write = |ids: &mut dyn Iterator<Item = String>| {
            let staged: HashMap<StreamId, SubjectRecord> = ids.map(|id| (stream("a", &id), record(1, false))).collect();
            let mut batch = sled::Batch::default();
            store.stage_subjects(&mut batch, &staged).unwrap();
            store.commit(batch).unwrap();
        };
        write(&mut (0..40).map(|i| format!("m{i:03}")));
        let after = SubjectId::parse("m010").unwrap();
        let start = store.scan_start(&agency, Some(&after)).unwrap();
        write(&mut std::iter::once("l000".to_owned()));
        let listed: Vec<String> =
            store.subjects_from(&agency, start, Some(&after)).map(|item| item.unwrap().0.as_str().to_owned()).collect();
        assert_eq!(listed, (11..40).map(|i| format!("m{i:03}")).collect::<Vec<_>>());
    }

    #[test]
    fn a_store_with_one_key_per_subject_is_moved_into_buckets_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let written: Vec<(StreamId, SubjectRecord)> = (0..100)
            .map(|i| (stream(if i % 3 == 0 { "x" } else { "y" }, &format!("s{i:03}")), record(i, false)))
            .collect();
        {
            let store = Store::open(dir.path(), 8 << 20).unwrap();
            for (s, r) in &written {
                let mut key = keys::agency_prefix(keys::SUBJECTS_BEFORE_BUCKETS, &s.agency);
                key.extend_from_slice(s.subject.as_str().as_bytes());
                store.db.insert(key, encode_record(r)).unwrap();
            }
            store.sync().unwrap();
        }
        let store = Store::open(dir.path(), 8 << 20).unwrap();
        assert_eq!(store.db.scan_prefix([keys::SUBJECTS_BEFORE_BUCKETS]).count(), 0);
        check_buckets(&store);
        for (s, r) in &written {
            assert_eq!(store.subject(s).unwrap().as_ref(), Some(r));
        }
        assert_eq!(store.all_subjects().count(), written.len());
        assert_eq!(store.subjects(&AgencyId::parse("y").unwrap(), None).count(), 66);
    }
}
