//! The open store: the one sled tree, opened and recovered, read by the
//! service and written only by the writer thread, one atomic
//! `apply_batch` and one sync per group. Its keys are laid out in
//! [`crate::store::keys`].

use std::fs::File;
use std::path::Path;
use std::sync::{Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use crate::domain::date::Month;
use crate::domain::event::Recorded;
use crate::domain::ids::{AgencyId, EventId};
use crate::domain::tally::MonthTally;
use crate::store::bucket;
use crate::store::changes::Changes;
use crate::store::chunk::{self, DecodedChunk};
use crate::store::error::{StoreError, damaged};
use crate::store::keys;
use crate::store::loss::Loss;
use crate::store::wal::Wal;

/// A stretch of the log, as [`Store::log_segment`] reads it.
pub enum Segment {
    /// Positions lost and salvaged around.
    Lost(Loss),
    /// The events up to `to`: each position with its stored bytes.
    Events { to: u64, events: Vec<(u64, Vec<u8>)> },
}

/// The open store.
pub struct Store {
    pub(super) db: sled::Db,
    /// The file sled writes its log to; synced after each flush because
    /// sled 0.34's flush uses sync_file_range, which is not durable through
    /// power loss.
    data_file: File,
    /// Where a commit becomes durable before sled is flushed.
    wal: Mutex<Log>,
    /// Held for writing while a group is applied, and for reading by
    /// whoever must see several keys as of one position (an agency's
    /// tallies): sled's scans are not snapshots.
    commit_lock: RwLock<()>,
    /// How often sled is flushed and the commit log cut.
    checkpoint_every: Duration,
    /// Fault injection for the tests: the sync of the commit after this
    /// many fails (`DISCLOSURE_TEST_FAIL_SYNC_AFTER`), as a disk's would.
    fail_sync_after: Option<std::sync::atomic::AtomicU64>,
}

/// The commit log and when its current segment began.
struct Log {
    wal: Wal,
    since: Instant,
}

/// The commit log's size past which a checkpoint is due whatever the time.
const CHECKPOINT_BYTES: u64 = 8 << 20;

/// The variable that sets how often sled is flushed and the commit log cut
/// (milliseconds; default 500): more often writes more, less often leaves
/// more of the log to apply again after a crash.
pub const CHECKPOINT_MS: &str = "DISCLOSURE_CHECKPOINT_MS";

/// Whether opening failed only because another instance still holds
/// sled's lock on the directory. sled releases a closed instance's lock
/// from its own threads, a moment after the drop, so a reopen right after
/// a close can meet it; sled words it so (kind `Other`, wrapping the
/// EWOULDBLOCK).
pub fn lock_busy(e: &StoreError) -> bool {
    matches!(e, StoreError::Sled(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock"))
}

/// The variable that makes a commit's sync fail, for the tests of what a
/// failed fsync does. Never set it on a real store.
pub const FAIL_SYNC_AFTER: &str = "DISCLOSURE_TEST_FAIL_SYNC_AFTER";

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
        // What was acknowledged after sled's last checkpoint is in the
        // commit log: applied again, in order, before anything reads.
        let (wal, commits, last_segment) = Wal::open(dir)?;
        let fail_sync_after = std::env::var(FAIL_SYNC_AFTER).ok().and_then(|n| n.parse().ok()).map(|n: u64| {
            tracing::warn!(commits = n, "{FAIL_SYNC_AFTER} is set: a commit's sync will fail (a test)");
            std::sync::atomic::AtomicU64::new(n)
        });
        let checkpoint_every =
            Duration::from_millis(std::env::var(CHECKPOINT_MS).ok().and_then(|n| n.parse().ok()).unwrap_or(500));
        let store = Self {
            db,
            data_file,
            wal: Mutex::new(Log { wal, since: Instant::now() }),
            commit_lock: RwLock::new(()),
            checkpoint_every,
            fail_sync_after,
        };
        if !commits.is_empty() {
            let count = commits.len();
            for changes in commits {
                store.apply(changes)?;
            }
            store.sync()?;
            tracing::info!(commits = count, "applied the commit log's commits after the last checkpoint");
        }
        let older = store.wal.lock().unwrap_or_else(|e| e.into_inner()).wal.take_through(last_segment);
        older.remove()?;
        store.move_subjects_into_buckets()?;
        store.upgrade_layout()?;
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

    /// The last position in the log (0 when empty): its last event's, or
    /// the last lost position's if the log ends in a loss.
    pub fn last_position(&self) -> Result<u64, StoreError> {
        let stored = match self.chunk_at(u64::MAX)? {
            Some((first, chunk)) => first + chunk::entries(&chunk).count() as u64 - 1,
            None => 0,
        };
        let lost = match self.db.range(keys::lost(0)..=keys::lost(u64::MAX)).next_back().transpose()? {
            Some((_, v)) => Loss::decode(&v).map_err(StoreError::Damaged)?.last,
            None => 0,
        };
        Ok(stored.max(lost))
    }

    /// The positions lost to damage and salvaged around, oldest first
    /// (almost always none).
    pub fn losses(&self) -> Result<Vec<Loss>, StoreError> {
        self.db
            .range(keys::lost(0)..=keys::lost(u64::MAX))
            .map(|item| Loss::decode(&item?.1).map_err(StoreError::Damaged))
            .collect()
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

    /// One month's tally of an agency.
    pub fn tally(&self, agency: &AgencyId, month: Month) -> Result<MonthTally, StoreError> {
        match self.db.get(keys::tally(agency, month))? {
            Some(v) => MonthTally::decode(&v).map_err(|e| damaged(&format!("tally: {e}"))),
            None => Ok(MonthTally::default()),
        }
    }

    /// Every month's tally of an agency.
    pub fn tallies(&self, agency: &AgencyId) -> Result<BTreeMap<Month, MonthTally>, StoreError> {
        let prefix = keys::tally_prefix(agency);
        let mut out = BTreeMap::new();
        for item in self.db.scan_prefix(&prefix) {
            let (k, v) = item?;
            let month = keys::tally_month(&k[prefix.len()..]).ok_or_else(|| damaged("tally key"))?;
            out.insert(month, MonthTally::decode(&v).map_err(|e| damaged(&format!("tally: {e}")))?);
        }
        Ok(out)
    }

    /// Every agency's tallies (for verification).
    pub fn all_tallies(&self) -> Result<BTreeMap<(AgencyId, Month), MonthTally>, StoreError> {
        let mut out = BTreeMap::new();
        for item in self.db.scan_prefix([keys::TALLIES]) {
            let (k, v) = item?;
            let sep = k.iter().position(|b| *b == 0).ok_or_else(|| damaged("tally key"))?;
            let agency = std::str::from_utf8(&k[1..sep]).map_err(|_| damaged("tally key"))?;
            let agency = AgencyId::stored(agency).map_err(|e| damaged(&e))?;
            let month = keys::tally_month(&k[sep + 1..]).ok_or_else(|| damaged("tally key"))?;
            out.insert((agency, month), MonthTally::decode(&v).map_err(|e| damaged(&format!("tally: {e}")))?);
        }
        Ok(out)
    }

    /// A group's members, if it exists.
    pub fn group(&self, id: &str) -> Result<Option<GroupMembers>, StoreError> {
        self.db.get(keys::group(id))?.map(|v| GroupMembers::decode(&v)).transpose()
    }

    /// Sets a group's members, durably. Groups are configuration, not
    /// events: they name whose tables are summed, and change no number.
    pub fn put_group(&self, id: &str, members: &GroupMembers) -> Result<(), StoreError> {
        self.db.insert(keys::group(id), postcard::to_stdvec(members).expect("serializes"))?;
        self.sync()
    }

    /// Every group, in id order.
    pub fn groups(&self) -> Result<Vec<(String, GroupMembers)>, StoreError> {
        self.db
            .scan_prefix([keys::GROUPS])
            .map(|item| {
                let (k, v) = item?;
                Ok((String::from_utf8_lossy(&k[1..]).into_owned(), GroupMembers::decode(&v)?))
            })
            .collect()
    }

    /// Every agency a group holds, through its member groups too, each once
    /// (a member group met again, as a cycle would, is not entered again).
    pub fn group_agencies(&self, id: &str) -> Result<Option<Vec<AgencyId>>, StoreError> {
        let Some(top) = self.group(id)? else { return Ok(None) };
        let mut seen = vec![id.to_string()];
        let mut out = Vec::new();
        let mut pending = vec![top];
        while let Some(g) = pending.pop() {
            for a in g.agencies {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
            for sub in g.groups.iter().rev() {
                if !seen.contains(sub) {
                    seen.push(sub.clone());
                    pending.extend(self.group(sub)?);
                }
            }
        }
        Ok(Some(out))
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
    pub fn tokens(&self) -> Result<Vec<crate::wire::proto::StoredToken>, StoreError> {
        use prost::Message as _;
        self.db
            .scan_prefix([keys::TOKENS])
            .map(|item| {
                let (_, v) = item?;
                crate::wire::proto::StoredToken::decode(&*v).map_err(|e| damaged(&format!("token: {e}")))
            })
            .collect()
    }

    /// Stores a token, durably.
    pub fn put_token(&self, id: &str, token: &crate::wire::proto::StoredToken) -> Result<(), StoreError> {
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

    /// The log from `from` on, as a reader streams it: the lost range at
    /// `from`, or the events from `from` to `to` or to the next lost range,
    /// whichever comes first, each position present.
    pub fn log_segment(&self, from: u64, to: u64) -> Result<Segment, StoreError> {
        let losses = self.losses()?;
        let next = crate::store::loss::next_at_or_after(&losses, from);
        if let Some(loss) = next.filter(|l| l.first <= from) {
            return Ok(Segment::Lost(loss.clone()));
        }
        let to = next.map_or(to, |l| to.min(l.first - 1));
        let events = self.log_range(from, to).collect::<Result<Vec<_>, _>>()?;
        if events.len() as u64 != to + 1 - from {
            return Err(StoreError::Damaged(format!("the log between {from} and {to} has gaps")));
        }
        Ok(Segment::Events { to, events })
    }

    /// Commits one group: durable in the commit log when this returns (one
    /// write and one sync), then applied to sled in one atomic batch.
    pub fn commit(&self, changes: Changes) -> Result<(), StoreError> {
        let t0 = Instant::now();
        let mut log = self.wal.lock().unwrap_or_else(|e| e.into_inner());
        log.wal.append(&changes, self.fail_sync_after.as_ref())?;
        let t1 = Instant::now();
        {
            let _applying = self.commit_lock.write().unwrap_or_else(|e| e.into_inner());
            self.apply(changes)?;
        }
        tracing::debug!(log = (t1 - t0).as_micros() as u64, apply = t1.elapsed().as_micros() as u64, "commit");
        Ok(())
    }

    /// Applies a commit to sled in one atomic batch: its keys, and its
    /// subject records merged into the buckets that hold them now.
    fn apply(&self, changes: Changes) -> Result<(), StoreError> {
        let (mut batch, subjects) = changes.into_parts();
        let mut buckets = Changes::default();
        self.stage_encoded(&mut buckets, subjects)?;
        buckets.add_to(&mut batch);
        self.db.apply_batch(batch)?;
        Ok(())
    }

    /// Whether sled should be flushed and the commit log cut: every
    /// [`CHECKPOINT_MS`], or sooner once the log holds 8 MiB.
    pub fn checkpoint_due(&self) -> bool {
        let log = self.wal.lock().unwrap_or_else(|e| e.into_inner());
        log.wal.written > 0 && (log.wal.written >= CHECKPOINT_BYTES || log.since.elapsed() >= self.checkpoint_every)
    }

    /// Starts a checkpoint: later commits go to a new segment. Returns the
    /// last segment the checkpoint covers, for [`Store::finish_checkpoint`];
    /// `None` if it is put off (no file descriptor for the next segment).
    pub fn begin_checkpoint(&self) -> Option<u64> {
        let mut log = self.wal.lock().unwrap_or_else(|e| e.into_inner());
        log.since = Instant::now();
        log.wal.rotate()
    }

    /// Makes everything applied so far durable in sled, then deletes the
    /// commit log's segments up to `through`, whose commits it holds.
    pub fn finish_checkpoint(&self, through: u64) -> Result<(), StoreError> {
        self.sync()?;
        let older = self.wal.lock().unwrap_or_else(|e| e.into_inner()).wal.take_through(through);
        older.remove()?;
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

fn log_position(key: &[u8]) -> Result<u64, StoreError> {
    Ok(u64::from_be_bytes(key.get(1..9).and_then(|k| k.try_into().ok()).ok_or_else(|| damaged("log key"))?))
}

/// A group's members: agencies, and groups whose agencies it holds too.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupMembers {
    pub agencies: Vec<AgencyId>,
    pub groups: Vec<String>,
}

impl GroupMembers {
    /// Reads a stored group, also as stored before member groups (a list
    /// of agencies).
    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        postcard::from_bytes(bytes)
            .or_else(|_| postcard::from_bytes(bytes).map(|agencies| Self { agencies, groups: Vec::new() }))
            .map_err(|e| damaged(&format!("group: {e}")))
    }
}

pub fn encode_tally(tally: &MonthTally) -> Vec<u8> {
    postcard::to_stdvec(tally).expect("a tally always serializes")
}
