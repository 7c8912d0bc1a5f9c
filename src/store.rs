//! The sled store: one tree, with keys prefixed by what they hold.
//!
//! | prefix | key                          | value                           |
//! |--------|------------------------------|---------------------------------|
//! | `L`    | position (u64 big-endian)    | the recorded event (protobuf)   |
//! | `I`    | event id (16 bytes)          | its position (u64 big-endian)   |
//! | `S`    | agency `\0` subject          | the subject record (postcard)   |
//!
//! One tree, so that a group of batches is written atomically with
//! `apply_batch`, which sled recovers all-or-nothing and which, unlike a
//! transaction, never re-runs. Only the writer thread writes.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::event::Recorded;
use crate::ids::{AgencyId, EventId, StreamId, SubjectId};
use crate::subject::SubjectRecord;

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
    pub const IDS: u8 = b'I';
    pub const SUBJECTS: u8 = b'S';

    pub fn log(position: u64) -> [u8; 9] {
        let mut k = [LOG; 9];
        k[1..].copy_from_slice(&position.to_be_bytes());
        k
    }

    pub fn id(id: &EventId) -> [u8; 17] {
        let mut k = [IDS; 17];
        k[1..].copy_from_slice(id.as_bytes());
        k
    }

    pub fn agency_prefix(agency: &AgencyId) -> Vec<u8> {
        let mut k = Vec::with_capacity(2 + agency.as_str().len());
        k.push(SUBJECTS);
        k.extend_from_slice(agency.as_str().as_bytes());
        k.push(0);
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
    dir: PathBuf,
}

impl Store {
    /// Opens (and, after a crash, recovers) the store in `dir`.
    pub fn open(dir: &Path, cache_capacity: u64) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_capacity)
            .open()?;
        let data_file = File::open(dir.join("db"))?;
        // Make the files' directory entries durable once, for a new store.
        data_file.sync_all()?;
        File::open(dir)?.sync_all()?;
        Ok(Self {
            db,
            data_file,
            dir: dir.to_owned(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last position in the log (0 when empty).
    pub fn last_position(&self) -> Result<u64, StoreError> {
        let last = self
            .db
            .range(keys::log(0)..=keys::log(u64::MAX))
            .next_back()
            .transpose()?;
        Ok(match last {
            Some((k, _)) => u64::from_be_bytes(k[1..9].try_into().map_err(|_| damaged("log key"))?),
            None => 0,
        })
    }

    /// The event at a position.
    pub fn event_at(&self, position: u64) -> Result<Option<Recorded>, StoreError> {
        self.db
            .get(keys::log(position))?
            .map(|v| Recorded::decode(&v).map_err(StoreError::Damaged))
            .transpose()
    }

    /// Where an event id was recorded.
    pub fn position_of(&self, id: &EventId) -> Result<Option<u64>, StoreError> {
        self.db
            .get(keys::id(id))?
            .map(|v| decode_u64(&v))
            .transpose()
    }

    /// A subject's record.
    pub fn subject(&self, stream: &StreamId) -> Result<Option<SubjectRecord>, StoreError> {
        self.db
            .get(keys::subject(stream))?
            .map(|v| decode_record(&v))
            .transpose()
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

    /// The log from `from` to `to` inclusive, as stored bytes.
    pub fn log_range(
        &self,
        from: u64,
        to: u64,
    ) -> impl Iterator<Item = Result<(u64, sled::IVec), StoreError>> + use<> {
        self.db.range(keys::log(from)..=keys::log(to)).map(|item| {
            let (k, v) = item?;
            let position = u64::from_be_bytes(k[1..9].try_into().map_err(|_| damaged("log key"))?);
            Ok((position, v))
        })
    }

    /// Writes a batch atomically and makes it durable: sled flush, then
    /// fdatasync of the data file. Only when this returns is anything in the
    /// batch acknowledged.
    pub fn commit(&self, batch: sled::Batch) -> Result<(), StoreError> {
        self.db.apply_batch(batch)?;
        self.sync()
    }

    /// Flushes and syncs what is written (also used on shutdown).
    pub fn sync(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        self.data_file.sync_data()?;
        Ok(())
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }
}

pub fn encode_record(record: &SubjectRecord) -> Vec<u8> {
    postcard::to_stdvec(record).expect("a subject record always serializes")
}

fn decode_record(bytes: &[u8]) -> Result<SubjectRecord, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| damaged(&format!("subject record: {e}")))
}

fn decode_u64(bytes: &[u8]) -> Result<u64, StoreError> {
    Ok(u64::from_be_bytes(
        bytes.try_into().map_err(|_| damaged("position value"))?,
    ))
}

fn damaged(what: &str) -> StoreError {
    StoreError::Damaged(what.to_owned())
}
