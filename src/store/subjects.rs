//! The subject records: each application's, review case's or section 二
//! item's folded state, packed by consecutive id into buckets
//! ([`crate::store::bucket`]) and read by id, listed by agency in id order,
//! or staged by the writer into its group's batch.

use crate::domain::date::CivilDate;
use crate::domain::ids::{AgencyId, StreamId, SubjectId};
use crate::domain::subject::{SubjectRecord, fold_as_of_day};
use crate::store::bucket;
use crate::store::changes::{Changes, SubjectChange};
use crate::store::database::Store;
use crate::store::error::{StoreError, damaged};
use crate::store::keys;

impl Store {
    /// A subject's record.
    pub fn subject(&self, stream: &StreamId) -> Result<Option<SubjectRecord>, StoreError> {
        let key = keys::bucket(stream);
        let prefix = keys::agency_prefix(keys::BUCKETS, &stream.agency);
        // One iterator step: sled applies a batch wholly before or after it.
        let Some((_, held)) = self.db.range(prefix..=key).next_back().transpose()? else { return Ok(None) };
        bucket::find(&held, stream.subject.as_str().as_bytes())?.map(decode_record).transpose()
    }

    /// A subject's record as it stood at the end of `day`: its stream
    /// refolded without the events dated after it, every correction as now
    /// known (the positions stay the stream's, as the log holds it now).
    pub fn subject_as_of_day(&self, record: &SubjectRecord, day: CivilDate) -> Result<SubjectRecord, StoreError> {
        let events = record
            .positions
            .iter()
            .map(|p| {
                self.event_at(*p)?
                    .map(|r| r.event)
                    .ok_or_else(|| damaged(&format!("position {p} is indexed but missing")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let state = fold_as_of_day(&events, record.origin.as_ref(), day)
            .map_err(|(i, broken)| damaged(&format!("a stream refolded to {day} breaks at event {i}: {broken:?}")))?;
        Ok(SubjectRecord { positions: record.positions.clone(), origin: record.origin.clone(), state })
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
            Ok((SubjectId::stored(id).map_err(|e| damaged(&e))?, decode_record(&record)?))
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
        batch: &mut Changes,
        subjects: impl IntoIterator<Item = (&'r StreamId, &'r SubjectRecord)>,
    ) -> Result<(), StoreError> {
        let staged = subjects.into_iter().map(|(stream, record)| subject_change(stream, record)).collect();
        self.stage_encoded(batch, staged)
    }

    /// [`Store::stage_subjects`] of records already encoded, as
    /// [`subject_change`] gives them (what the commit log keeps).
    pub fn stage_encoded(&self, batch: &mut Changes, mut staged: Vec<SubjectChange>) -> Result<(), StoreError> {
        // In key order, so that each bucket's updates are one run.
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
                batch.remove(held.to_vec());
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

    /// Every subject of every agency (for verification).
    pub fn all_subjects(&self) -> impl Iterator<Item = Result<(StreamId, SubjectRecord), StoreError>> + use<> {
        BucketEntries::new(self.db.scan_prefix([keys::BUCKETS]), None).map(|item| {
            let (agency, id, record) = item?;
            let agency = std::str::from_utf8(&agency).map_err(|_| damaged("bucket key"))?;
            let subject = std::str::from_utf8(&id).map_err(|_| damaged("subject id"))?;
            let stream = StreamId {
                agency: AgencyId::stored(agency).map_err(|e| damaged(&e))?,
                subject: SubjectId::stored(subject).map_err(|e| damaged(&e))?,
            };
            Ok((stream, decode_record(&record)?))
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

/// One subject's new record as the commit log keeps it.
pub fn subject_change(stream: &StreamId, record: &SubjectRecord) -> SubjectChange {
    (keys::bucket(stream), 2 + stream.agency.as_str().len(), encode_record(record))
}

pub fn encode_record(record: &SubjectRecord) -> Vec<u8> {
    postcard::to_stdvec(record).expect("a subject record always serializes")
}

fn decode_record(bytes: &[u8]) -> Result<SubjectRecord, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| damaged(&format!("subject record: {e}")))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use proptest::prelude::*;

    use super::*;
    use crate::domain::subject::SubjectState;

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
                let mut batch = Changes::default();
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
            let mut batch = Changes::default();
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
        // Reopened at once: sled may still hold the first instance's lock.
        let released = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let store = loop {
            match Store::open(dir.path(), 8 << 20) {
                Err(e) if crate::store::database::lock_busy(&e) && std::time::Instant::now() < released => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                opened => break opened.unwrap(),
            }
        };
        assert_eq!(store.db.scan_prefix([keys::SUBJECTS_BEFORE_BUCKETS]).count(), 0);
        check_buckets(&store);
        for (s, r) in &written {
            assert_eq!(store.subject(s).unwrap().as_ref(), Some(r));
        }
        assert_eq!(store.all_subjects().count(), written.len());
        assert_eq!(store.subjects(&AgencyId::parse("y").unwrap(), None).count(), 66);
    }
}
