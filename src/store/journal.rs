//! The record of what was acknowledged, kept beside sled and apart from
//! it: after each group commit the writer appends the head position and
//! the log's digest there (`acknowledged.journal` in the data directory).
//! sled recovers a damaged file by cutting its log at the first bad
//! segment, and would then serve a shorter history as if it were whole;
//! this record is what the store is proved against at every open.
//!
//! Each record is 48 bytes: `DLJ1`, the position (u64, big-endian), the
//! digest, and the first 4 bytes of SHA-256 of those 44 (a torn last
//! record, cut by a crash mid-write, is told apart and ignored). Records
//! are written at once and synced at most a second later, off the
//! acknowledgement's path, and at shutdown; the file is rewritten to a few
//! records when it grows (one every 65,536 positions, and the last), by a
//! synced copy and a rename.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

use crate::store::chain::Digest;
use crate::store::error::StoreError;

/// The journal's file name in the data directory.
pub const FILE: &str = "acknowledged.journal";

const MAGIC: &[u8; 4] = b"DLJ1";
const RECORD: usize = 48;
/// How long a written record may wait for its sync.
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// Records kept when the file is rewritten: the first at or after each
/// multiple of this, and the last.
const KEEP_EVERY: u64 = 65_536;
/// Records past which the file is rewritten.
const REWRITE_AFTER: usize = 20_000;

/// One record: the log was acknowledged up to `position`, with `digest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acknowledged {
    pub position: u64,
    pub digest: Digest,
}

impl Acknowledged {
    fn encode(&self) -> [u8; RECORD] {
        let mut r = [0u8; RECORD];
        r[..4].copy_from_slice(MAGIC);
        r[4..12].copy_from_slice(&self.position.to_be_bytes());
        r[12..44].copy_from_slice(&self.digest.0);
        let check = Sha256::digest(&r[..44]);
        r[44..].copy_from_slice(&check[..4]);
        r
    }

    fn decode(r: &[u8]) -> Option<Self> {
        if r.len() != RECORD {
            return None;
        }
        let check = Sha256::digest(&r[..44]);
        (&r[..4] == MAGIC && r[44..] == check[..4]).then(|| Self {
            position: u64::from_be_bytes(r[4..12].try_into().expect("8 bytes")),
            digest: Digest(r[12..44].try_into().expect("32 bytes")),
        })
    }
}

/// The open journal, written by the writer thread only.
pub struct Journal {
    path: PathBuf,
    file: File,
    /// The first record of each stretch of [`KEEP_EVERY`] positions, and the
    /// last record: what a rewrite keeps.
    firsts: Vec<Acknowledged>,
    last: Option<Acknowledged>,
    written: usize,
    unsynced_since: Option<Instant>,
}

/// The records of the journal in `dir`, oldest first (none if there is no
/// journal), without changing it: those before a damaged record, and why it
/// is damaged if one is. A torn last record is dropped without a word.
pub fn read(dir: &Path) -> Result<(Vec<Acknowledged>, Option<String>), StoreError> {
    let path = dir.join(FILE);
    let mut bytes = Vec::new();
    match File::open(&path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let mut records = Vec::new();
    for r in bytes.chunks(RECORD) {
        match Acknowledged::decode(r) {
            Some(a) => records.push(a),
            None if r.len() < RECORD || records.len() * RECORD + RECORD >= bytes.len() => break, // torn tail
            None => {
                let why = format!(
                    "{} is damaged at byte {}: the record of what was acknowledged cannot be read",
                    path.display(),
                    records.len() * RECORD
                );
                return Ok((records, Some(why)));
            }
        }
    }
    Ok((records, None))
}

impl Journal {
    /// Reads the journal of `dir` (none yet: an empty one is made). Returns
    /// it with its records, oldest first; a torn last record is dropped.
    pub fn open(dir: &Path) -> Result<(Self, Vec<Acknowledged>), StoreError> {
        let (records, damage) = read(dir)?;
        if let Some(why) = damage {
            return Err(StoreError::Damaged(why));
        }
        let journal = Self::rewrite_at(&dir.join(FILE), &records)?;
        Ok((journal, records))
    }

    /// Writes `records` as the whole file: a synced copy renamed over it.
    fn rewrite_at(path: &Path, records: &[Acknowledged]) -> Result<Self, StoreError> {
        let mut firsts: Vec<Acknowledged> = Vec::new();
        for r in records {
            if firsts.last().is_none_or(|f| stretch(f) != stretch(r)) {
                firsts.push(*r);
            }
        }
        let last = records.last().copied();
        let mut kept = firsts.clone();
        kept.extend(last.filter(|l| firsts.last() != Some(l)));
        let partial = path.with_extension("journal.partial");
        let mut f = File::create(&partial)?;
        for r in &kept {
            f.write_all(&r.encode())?;
        }
        f.sync_all()?;
        std::fs::rename(&partial, path)?;
        if let Some(dir) = path.parent() {
            File::open(dir)?.sync_all()?;
        }
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Self { path: path.to_owned(), file, firsts, last, written: kept.len(), unsynced_since: None })
    }

    /// Records that the log is durable up to `a`. Written now, synced within
    /// [`SYNC_EVERY`]: call [`Self::sync_if_due`] when idle.
    pub fn append(&mut self, a: Acknowledged) -> Result<(), StoreError> {
        if self.written >= REWRITE_AFTER {
            let mut records = self.firsts.clone();
            records.extend(self.last);
            records.push(a);
            *self = Self::rewrite_at(&self.path, &records)?;
            return Ok(());
        }
        self.file.write_all(&a.encode())?;
        self.written += 1;
        if self.firsts.last().is_none_or(|f| stretch(f) != stretch(&a)) {
            self.firsts.push(a);
        }
        self.last = Some(a);
        self.unsynced_since.get_or_insert_with(Instant::now);
        self.sync_if_due()
    }

    /// Syncs what was written if it has waited long enough.
    pub fn sync_if_due(&mut self) -> Result<(), StoreError> {
        match self.unsynced_since {
            Some(since) if since.elapsed() >= SYNC_EVERY => self.sync(),
            _ => Ok(()),
        }
    }

    /// Syncs what was written (also at shutdown).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if self.unsynced_since.take().is_some() {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// How long until a written record is due for its sync, if one waits.
    pub fn sync_due_in(&self) -> Option<Duration> {
        self.unsynced_since.map(|since| SYNC_EVERY.saturating_sub(since.elapsed()))
    }
}

/// Which stretch of [`KEEP_EVERY`] positions a record falls in.
fn stretch(a: &Acknowledged) -> u64 {
    a.position / KEEP_EVERY
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(position: u64) -> Acknowledged {
        Acknowledged { position, digest: Digest([position as u8; 32]) }
    }

    #[test]
    fn records_read_back_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, records) = Journal::open(dir.path()).unwrap();
        assert!(records.is_empty());
        for p in [3, 7, 70_000, 70_010, 140_000] {
            j.append(ack(p)).unwrap();
        }
        j.sync().unwrap();
        drop(j);
        let mut bytes = std::fs::read(dir.path().join(FILE)).unwrap();
        bytes.extend_from_slice(&ack(140_001).encode()[..20]); // a crash mid-write
        std::fs::write(dir.path().join(FILE), &bytes).unwrap();
        let (_, records) = Journal::open(dir.path()).unwrap();
        let positions: Vec<u64> = records.iter().map(|r| r.position).collect();
        assert_eq!(positions, vec![3, 7, 70_000, 70_010, 140_000]);
        // Reopened, the file holds the sparse records only.
        let (_, records) = Journal::open(dir.path()).unwrap();
        let positions: Vec<u64> = records.iter().map(|r| r.position).collect();
        assert_eq!(positions, vec![3, 70_000, 140_000]);
    }

    #[test]
    fn a_damaged_record_in_the_middle_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        for p in [1, 70_000, 140_000, 210_000] {
            j.append(ack(p)).unwrap();
        }
        j.sync().unwrap();
        let mut bytes = std::fs::read(dir.path().join(FILE)).unwrap();
        bytes[RECORD + 10] ^= 1;
        std::fs::write(dir.path().join(FILE), &bytes).unwrap();
        assert!(matches!(Journal::open(dir.path()), Err(StoreError::Damaged(_))));
    }
}
