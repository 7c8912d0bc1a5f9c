//! The commit log: where a group becomes durable. The writer appends each
//! group's [`Changes`] here and syncs the file once (one `fdatasync`, on the
//! writer's own thread: no hand-off), then applies them to sled in memory
//! and answers. sled is flushed in the background every so often (a
//! checkpoint), after which the log up to that point is deleted; at open,
//! what the log still holds is applied to sled again, in order, before
//! anything reads the store.
//!
//! So an acknowledgement costs one small sequential write and one sync,
//! whatever sled's flush costs, and sled writes each hot value (a bucket,
//! a tally, the newest log chunk) once per checkpoint instead of once per
//! commit.
//!
//! The log is a run of segment files `commits/{n:016}.log`; a checkpoint
//! starts a new segment and deletes the older ones once sled is durable.
//! Each record is `DLW1`, the payload's length and CRC-32 (u32 big-endian
//! each), and the payload (the changes). Only the last record can be torn
//! (each is synced before the next is written), so a bad record with no
//! good one after it, at the end of the newest segment, is a commit that
//! was never acknowledged, and is left out; anything else that does not
//! read is damage, and the store is refused.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::changes::Changes;
use crate::store::error::{StoreError, damaged};

/// The folder of segments in the data directory.
pub const DIR: &str = "commits";

const MAGIC: &[u8; 4] = b"DLW1";
const HEADER: usize = 12;

/// The open commit log, appended to by the writer thread only.
///
/// It holds every file it needs open ahead (its folder, for syncing names,
/// and the next segment), so that neither a commit nor a checkpoint opens a
/// file: with the process's file table full of client sockets, a new file
/// could not be opened, and the store would stop as if the disk had failed.
pub struct Wal {
    dir: PathBuf,
    dir_file: File,
    file: File,
    segment: u64,
    /// The next segment, made ahead; `None` if it could not be made yet.
    spare: Option<File>,
    /// The oldest segment not yet deleted.
    oldest: u64,
    /// Bytes appended to the current segment.
    pub written: u64,
}

impl Wal {
    /// Opens the log in `data_dir`: the changes of every commit it holds, in
    /// order, to apply again, and a new segment to append to (the older
    /// ones are deleted by the first checkpoint, [`Wal::remove_through`]).
    pub fn open(data_dir: &Path) -> Result<(Self, Vec<Changes>, u64), StoreError> {
        let dir = data_dir.join(DIR);
        std::fs::create_dir_all(&dir)?;
        let segments = segments(&dir)?;
        let mut commits = Vec::new();
        let contents = segments.iter().map(|(_, path)| std::fs::read(path)).collect::<Result<Vec<_>, _>>()?;
        // The newest segment written to: those after it (made by an open
        // that crashed before its first commit) are empty.
        let newest = contents.iter().rposition(|c| !c.is_empty());
        for (i, bytes) in contents.iter().enumerate() {
            read_records(bytes, Some(i) == newest, &mut commits)
                .map_err(|why| StoreError::DamagedCommitLog(format!("{}: {why}", segments[i].1.display())))?;
        }
        let last = segments.last().map_or(0, |(n, _)| *n);
        let oldest = segments.first().map_or(last + 1, |(n, _)| *n);
        let dir_file = File::open(&dir)?;
        let file = make_segment(&dir, &dir_file, last + 1)?;
        let spare = Some(make_segment(&dir, &dir_file, last + 2)?);
        let wal = Self { dir, dir_file, file, segment: last + 1, spare, oldest, written: 0 };
        Ok((wal, commits, last))
    }

    /// Appends one commit and makes it durable: after this returns, the
    /// commit survives a crash or a power loss. `fail_sync` lets the tests
    /// make the sync fail as a disk's would.
    pub fn append(&mut self, changes: &Changes, fail_sync: Option<&AtomicU64>) -> Result<(), StoreError> {
        let mut record = Vec::with_capacity(HEADER + 256);
        record.extend_from_slice(MAGIC);
        record.extend_from_slice(&[0; 8]);
        changes.encode(&mut record);
        let payload = &record[HEADER..];
        let len = u32::try_from(payload.len()).map_err(|_| damaged("a commit of 4 GiB or more"))?;
        let crc = crc32fast::hash(payload);
        record[4..8].copy_from_slice(&len.to_be_bytes());
        record[8..12].copy_from_slice(&crc.to_be_bytes());
        self.file.write_all(&record)?;
        if let Some(left) = fail_sync
            && left.fetch_sub(1, Ordering::SeqCst) == 0
        {
            return Err(StoreError::Io(std::io::Error::other("fdatasync failed (injected by the tests)")));
        }
        self.file.sync_data()?;
        self.written += record.len() as u64;
        Ok(())
    }

    /// Starts a new segment; returns the last one before it, which (with
    /// every older one) holds only commits already applied to sled. `None`
    /// if no next segment could be made (no file descriptor free): the
    /// current one goes on, and a later checkpoint tries again.
    pub fn rotate(&mut self) -> Option<u64> {
        let spare = match self.spare.take() {
            Some(spare) => spare,
            None => match make_segment(&self.dir, &self.dir_file, self.segment + 1) {
                Ok(spare) => spare,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot make the commit log's next segment yet; checkpoint put off");
                    return None;
                }
            },
        };
        let ended = self.segment;
        self.file = spare;
        self.segment = ended + 1;
        self.written = 0;
        self.spare = make_segment(&self.dir, &self.dir_file, self.segment + 1)
            .inspect_err(|e| tracing::warn!(error = %e, "cannot make the commit log's next segment yet"))
            .ok();
        Some(ended)
    }

    /// The segment being appended to.
    pub fn segment(&self) -> u64 {
        self.segment
    }

    /// The segments up to `through`, to delete once sled holds their
    /// commits durably ([`Removal::remove`]).
    pub fn take_through(&mut self, through: u64) -> Removal {
        let through = through.min(self.segment - 1);
        let first = self.oldest;
        self.oldest = self.oldest.max(through + 1);
        Removal {
            paths: (first..=through).map(|n| segment_path(&self.dir, n)).collect(),
            dir_file: self.dir_file.try_clone().ok(),
        }
    }
}

/// Segments to delete, taken from the log under its lock and deleted
/// outside it.
pub struct Removal {
    paths: Vec<PathBuf>,
    /// The folder, to sync the deletions (a clone of the log's handle).
    dir_file: Option<File>,
}

impl Removal {
    pub fn remove(self) -> Result<usize, StoreError> {
        let mut removed = 0;
        for path in &self.paths {
            match std::fs::remove_file(path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        // Deleting needs no sync to be safe (a segment left behind is
        // applied again, harmlessly); syncing only makes it stick sooner.
        if removed > 0
            && let Some(dir) = &self.dir_file
        {
            dir.sync_all()?;
        }
        Ok(removed)
    }
}

/// A new, empty segment whose name is durable.
fn make_segment(dir: &Path, dir_file: &File, n: u64) -> Result<File, StoreError> {
    let file = OpenOptions::new().create_new(true).write(true).open(segment_path(dir, n))?;
    dir_file.sync_all()?;
    Ok(file)
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:016}.log"))
}

/// The segment files in `dir`, oldest first.
fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let n = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(n) = n {
            found.push((n, path));
        }
    }
    found.sort();
    Ok(found)
}

/// One record at the start of `bytes`: its changes and its length.
fn record(bytes: &[u8]) -> Option<(&[u8], usize)> {
    if bytes.len() < HEADER || &bytes[..4] != MAGIC {
        return None;
    }
    let len = u32::from_be_bytes(bytes[4..8].try_into().ok()?) as usize;
    let crc = u32::from_be_bytes(bytes[8..12].try_into().ok()?);
    let payload = bytes.get(HEADER..HEADER + len)?;
    (crc32fast::hash(payload) == crc).then_some((payload, HEADER + len))
}

fn read_records(mut bytes: &[u8], newest: bool, out: &mut Vec<Changes>) -> Result<(), String> {
    while !bytes.is_empty() {
        match record(bytes) {
            Some((payload, len)) => {
                out.push(Changes::decode(payload).map_err(|e| e.to_string())?);
                bytes = &bytes[len..];
            }
            None => {
                // A torn last record, never acknowledged, is what a crash
                // mid-write leaves; a good record after a bad one is not.
                let later = (1..bytes.len()).any(|at| record(&bytes[at..]).is_some());
                if newest && !later {
                    tracing::warn!(bytes = bytes.len(), "left out the torn last record of the commit log");
                    return Ok(());
                }
                return Err(format!("a record that does not read, {} bytes before the end", bytes.len()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(n: u8) -> Changes {
        let mut c = Changes::default();
        c.insert(vec![b'L', n], vec![n; 100]);
        c
    }

    #[test]
    fn commits_read_back_in_order_across_segments_and_a_torn_tail_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, before, _) = Wal::open(dir.path()).unwrap();
        assert!(before.is_empty());
        wal.append(&changes(1), None).unwrap();
        wal.rotate().unwrap();
        wal.append(&changes(2), None).unwrap();
        wal.append(&changes(3), None).unwrap();
        let newest = segment_path(&dir.path().join(DIR), wal.segment());
        drop(wal);
        // A crash in the middle of writing a fourth record.
        let mut torn = Vec::from(&MAGIC[..]);
        torn.extend_from_slice(&[0, 0, 0, 100, 1, 2]);
        OpenOptions::new().append(true).open(&newest).unwrap().write_all(&torn).unwrap();
        let (wal, read, last) = Wal::open(dir.path()).unwrap();
        assert_eq!(read, vec![changes(1), changes(2), changes(3)]);
        let mut wal = wal;
        assert_eq!(wal.segment(), last + 1);
        // The two written and the rotation's spare (empty), all older than
        // this open's.
        assert_eq!(wal.take_through(last).remove().unwrap(), 3);
        let (_, read, _) = Wal::open(dir.path()).unwrap();
        assert!(read.is_empty(), "{read:?}");
    }

    #[test]
    fn a_damaged_record_before_a_good_one_refuses_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _, _) = Wal::open(dir.path()).unwrap();
        wal.append(&changes(1), None).unwrap();
        wal.append(&changes(2), None).unwrap();
        let path = segment_path(&dir.path().join(DIR), wal.segment());
        drop(wal);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[HEADER + 5] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let e = Wal::open(dir.path()).err().expect("refused");
        assert!(e.to_string().contains("does not read"), "{e}");
    }
}
