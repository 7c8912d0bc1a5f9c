//! The single writer: one thread takes append batches from every RPC,
//! validates each against the stored state plus what earlier batches of the
//! same group staged, writes the whole group in one atomic sled batch, makes
//! it durable with one flush and one fdatasync (group commit), and only then
//! answers every batch of the group.
//!
//! A batch that breaks a rule is answered at once and stages nothing; the
//! other batches of its group are unaffected. One writer also gives a single
//! serial order to all appends, so positions are gapless by construction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, watch};

use crate::domain::date::Month;
use crate::domain::event::{Event, Payload, Recorded};
use crate::domain::ids::AgencyId;
use crate::domain::ids::{EventId, StreamId};
use crate::domain::rejection::Rejection;
use crate::domain::rule::Broken;
use crate::domain::subject::{SplitOrigin, SubjectRecord, SubjectState, check_correction, fold};
use crate::domain::tally::{Contribution, MonthTally};
use crate::store::chain::{CHECKPOINT_EVERY, Chain, Digest};
use crate::store::changes::Changes;
use crate::store::chunk::{self, CHUNK};
use crate::store::database::{Store, encode_tally};
use crate::store::error::StoreError;
use crate::store::idempotency::Known;
use crate::store::journal::{Acknowledged, Journal};
use crate::store::keys;
use crate::store::loss::Loss;
use crate::store::subjects::subject_change;

/// Most events written in one group: bounds the latency a large group adds.
const MAX_GROUP_EVENTS: usize = 20_000;

/// The staging maps: keyed by ids of this process's own making or already
/// validated, looked up several times per event; foldhash (randomly seeded
/// per map) costs a fraction of std's SipHash here.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A validated batch, ready for the stateful checks.
#[derive(Debug)]
pub struct AppendBatch {
    pub events: Vec<Event>,
    pub expected: Vec<(StreamId, u64)>,
    /// When each event was recorded; empty means now. Only a restore sets
    /// it, so that a restored log is the original one, timestamps and all.
    pub recorded_at: Vec<DateTime<Utc>>,
    /// Check only: answer as an append would, write nothing.
    pub validate_only: bool,
    /// Instead of events: record these positions as lost (a salvage or the
    /// restore of a salvaged log; never from a client). Written alone, as
    /// a group of its own.
    pub loss: Option<Loss>,
}

impl AppendBatch {
    /// New events, recorded now.
    pub fn new(events: Vec<Event>, expected: Vec<(StreamId, u64)>) -> Self {
        Self { events, expected, recorded_at: Vec::new(), validate_only: false, loss: None }
    }
}

/// The outcome of one event of an accepted batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    pub position: u64,
    pub revision: u64,
    /// Recorded by an earlier call; nothing was written now.
    pub duplicate: bool,
}

pub type Reply = Result<Vec<Appended>, Rejection>;

pub struct Job {
    pub batch: AppendBatch,
    pub reply: oneshot::Sender<Reply>,
}

/// Runs the writer loop until every sender is dropped; returns when the
/// last group is durable.
pub fn run(
    store: Arc<Store>,
    mut known: Known,
    mut jobs: mpsc::Receiver<Job>,
    head: watch::Sender<u64>,
    mut journal: Journal,
    chain: Arc<Mutex<Chain>>,
    failure: watch::Sender<Option<String>>,
) {
    let failure = Arc::new(failure);
    // Checkpoints run beside the writer: sled's flush never delays a commit.
    let (checkpoints, due) = std::sync::mpsc::channel::<u64>();
    let checkpointer = {
        let (store, failure) = (Arc::clone(&store), Arc::clone(&failure));
        std::thread::Builder::new()
            .name("ledger-checkpoint".into())
            .spawn(move || checkpoint(&store, &due, &failure))
            .expect("a thread")
    };
    let mut next = *head.borrow() + 1;
    let mut digest = chain.lock().expect("lock").head().1;
    let mut failed: Option<String> = None;
    // Only to wait for the next job with a deadline (the journal's sync).
    let clock = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a timer");
    loop {
        let first = match jobs.try_recv() {
            Ok(job) => job,
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) => match journal.sync_due_in().filter(|_| failed.is_none()) {
                None => match jobs.blocking_recv() {
                    Some(job) => job,
                    None => break,
                },
                // A record waits for its sync: wait for work until it is
                // due, and sync it then if nothing came (never on the path
                // of an acknowledgement, never more than a second late).
                Some(due) => match clock.block_on(async { tokio::time::timeout(due, jobs.recv()).await }) {
                    Ok(Some(job)) => job,
                    Ok(None) => break,
                    Err(_) => {
                        if let Err(e) = journal.sync() {
                            failed = Some(fail(&e, &failure));
                        }
                        continue;
                    }
                },
            },
        };
        if failed.is_none() {
            // A checkpoint that failed has stopped the store as well.
            failed = failure.borrow().clone();
        }
        if let Some(why) = &failed {
            let _ = first.reply.send(Err(Rejection::Unavailable(why.clone())));
            continue;
        }
        if let Some(loss) = &first.batch.loss {
            if loss.first != next {
                let why = format!("a loss from {} recorded when the next position is {next}", loss.first);
                let _ = first.reply.send(Err(Rejection::Internal(why)));
                continue;
            }
            let lost = loss.encode();
            let chained = digest.then(&lost);
            let mut batch = Changes::default();
            batch.insert(keys::lost(loss.first), lost);
            if let Err(e) = store.commit(batch) {
                let why = fail(&e, &failure);
                let _ = first.reply.send(Err(Rejection::Unavailable(why.clone())));
                failed = Some(why);
                continue;
            }
            tracing::warn!(first = loss.first, last = loss.last, "recorded log positions as lost");
            next = loss.last + 1;
            digest = chained;
            chain.lock().expect("lock").extend(loss.last, digest, &[(loss.last, digest)]);
            if let Err(e) = journal.append(Acknowledged { position: loss.last, digest }) {
                failed = Some(fail(&e, &failure));
            }
            head.send_replace(loss.last);
            let _ = first.reply.send(Ok(Vec::new()));
            continue;
        }
        known.poll();
        let mut group = Group::new(&store, &known, next);
        let mut waiting: Vec<(oneshot::Sender<Reply>, Vec<Appended>)> = Vec::new();
        let mut job = Some(first);
        while let Some(Job { batch, reply }) = job.take() {
            if batch.loss.is_some() {
                // Only a salvage sends one, alone, and waits for its answer.
                let _ = reply.send(Err(Rejection::Internal("a loss must be recorded in a group of its own".into())));
                job = jobs.try_recv().ok();
                continue;
            }
            if batch.validate_only {
                match group.check(batch) {
                    Err(Rejection::Internal(why)) => {
                        let why = fail(&why, &failure);
                        let _ = reply.send(Err(Rejection::Unavailable(why.clone())));
                        failed = Some(why);
                        break;
                    }
                    answer => {
                        let _ = reply.send(answer);
                    }
                }
                job = jobs.try_recv().ok();
                continue;
            }
            match group.stage(batch) {
                Ok(results) => {
                    let duplicates = results.iter().filter(|r| r.duplicate).count();
                    metrics::counter!("disclosure_duplicate_events_total").increment(duplicates as u64);
                    waiting.push((reply, results))
                }
                // The store could not be read while checking (a full disk
                // fails reads too): it has failed, as a failed write has.
                Err(Rejection::Internal(why)) => {
                    let why = fail(&why, &failure);
                    let _ = reply.send(Err(Rejection::Unavailable(why.clone())));
                    failed = Some(why);
                    break;
                }
                Err(rejection) => {
                    let _ = reply.send(Err(rejection));
                }
            }
            if group.events.len() < MAX_GROUP_EVENTS {
                job = jobs.try_recv().ok();
            }
        }
        if let Some(why) = &failed {
            for (reply, _) in waiting {
                let _ = reply.send(Err(Rejection::Unavailable(why.clone())));
            }
            continue;
        }
        if group.events.is_empty() {
            // Only duplicates or rejections: nothing to write, but a
            // duplicate may have been staged by a group that is durable
            // already, so it can be answered at once.
            for (reply, results) in waiting {
                let _ = reply.send(Ok(results));
            }
            continue;
        }
        let last = group.next - 1;
        let count = group.events.len();
        let started = std::time::Instant::now();
        let written = group.to_batch(digest).and_then(|(batch, chained)| store.commit(batch).map(|()| chained));
        match written {
            Ok(chained) => {
                let committed = started.elapsed();
                next = last + 1;
                digest = chained.digest;
                chain.lock().expect("lock").extend(last, chained.digest, &chained.checkpoints);
                // The group is durable: it is answered whatever the journal
                // says, but a journal that cannot be written stops the writer.
                if let Err(e) = journal.append(Acknowledged { position: last, digest }) {
                    failed = Some(fail(&e, &failure));
                }
                head.send_replace(last);
                let batches = waiting.len();
                for (reply, results) in waiting {
                    let _ = reply.send(Ok(results));
                }
                // Indexed after the answers, which do not need it: only
                // the next group's checks do, and they run on this thread.
                let streams: Vec<u64> = group.subjects.keys().map(|s| known.stream_hash(s)).collect();
                known.add(group.ids, streams);
                metrics::counter!("disclosure_appended_events_total").increment(count as u64);
                metrics::histogram!("disclosure_group_events").record(count as f64);
                metrics::histogram!("disclosure_commit_seconds").record(committed.as_secs_f64());
                metrics::gauge!("disclosure_log_head_position").set(last as f64);
                tracing::debug!(events = count, batches, micros = committed.as_micros() as u64, "group committed");
                if store.checkpoint_due()
                    && let Some(through) = store.begin_checkpoint()
                {
                    let _ = checkpoints.send(through);
                }
            }
            Err(e) => {
                // What was applied may or may not be on disk, and a failed
                // sync may have dropped the pages it was given: never retry
                // it. Acknowledge nothing from now on; the service exits so
                // that a restart recovers what the disk really holds.
                let why = fail(&e, &failure);
                for (reply, _) in waiting {
                    let _ = reply.send(Err(Rejection::Unavailable(why.clone())));
                }
                failed = Some(why);
            }
        }
    }
    drop(checkpoints);
    let _ = checkpointer.join();
    if failed.is_none() && failure.borrow().is_none() {
        // Everything applied made durable in sled, and the commit log cut.
        let through = store.begin_checkpoint().unwrap_or(u64::MAX);
        if let Err(e) = store.finish_checkpoint(through) {
            tracing::error!(error = %e, "final sync failed");
        }
        if let Err(e) = journal.sync() {
            tracing::error!(error = %e, "final sync of the journal failed");
        }
    }
}

/// Flushes sled and cuts the commit log whenever the writer asks, the
/// latest request first (earlier ones are covered by it). A checkpoint that
/// fails stops the store as a failed commit does: its sync is not retried.
fn checkpoint(store: &Store, due: &std::sync::mpsc::Receiver<u64>, failure: &watch::Sender<Option<String>>) {
    while let Ok(mut through) = due.recv() {
        while let Ok(later) = due.try_recv() {
            through = later;
        }
        let started = std::time::Instant::now();
        if let Err(e) = store.finish_checkpoint(through) {
            fail(&e, failure);
            return;
        }
        metrics::histogram!("disclosure_checkpoint_seconds").record(started.elapsed().as_secs_f64());
        tracing::debug!(through, micros = started.elapsed().as_micros() as u64, "checkpoint");
    }
}

/// A write or sync that failed: logged once, published so that health
/// turns NOT_SERVING and the service exits, and the reason every later
/// append is refused with.
fn fail(e: &dyn std::fmt::Display, failure: &watch::Sender<Option<String>>) -> String {
    tracing::error!(error = %e, "durable write failed; refusing appends, and the service stops");
    let why = format!("the store failed to write ({e}); the service is stopping so that a restart recovers it");
    failure.send_replace(Some(why.clone()));
    why
}

/// Answers every append with `why` until every sender is dropped: the
/// writer of a store it cannot index.
pub fn refuse_all(mut jobs: mpsc::Receiver<Job>, why: String) {
    while let Some(job) = jobs.blocking_recv() {
        let _ = job.reply.send(Err(Rejection::Unavailable(why.clone())));
    }
}

/// What one group has staged: visible to the later batches of the group,
/// written together.
struct Group<'s> {
    store: &'s Store,
    known: &'s Known,
    next: u64,
    now: DateTime<Utc>,
    /// Staged events in order: the first is at the position the group
    /// started at, and each next one follows it.
    events: Vec<Recorded>,
    ids: Map<EventId, u64>,
    subjects: Map<StreamId, SubjectRecord>,
    tallies: Map<(AgencyId, Month), MonthTally>,
}

/// What one batch stages on top of its group; merged into the group only
/// if the whole batch passes.
struct Scratch<'g, 's> {
    group: &'g Group<'s>,
    next: u64,
    /// In order, from the group's next position when the scratch began.
    events: Vec<Recorded>,
    ids: Map<EventId, u64>,
    subjects: Map<StreamId, SubjectRecord>,
    tallies: Map<(AgencyId, Month), MonthTally>,
}

impl<'s> Group<'s> {
    fn new(store: &'s Store, known: &'s Known, next: u64) -> Self {
        Self {
            store,
            known,
            next,
            now: Utc::now(),
            events: Vec::new(),
            ids: Map::default(),
            subjects: Map::default(),
            tallies: Map::default(),
        }
    }

    /// An empty scratch on top of what the group staged so far.
    fn scratch(&self) -> Scratch<'_, 's> {
        Scratch {
            group: self,
            next: self.next,
            events: Vec::new(),
            ids: Map::default(),
            subjects: Map::default(),
            tallies: Map::default(),
        }
    }

    fn stage(&mut self, batch: AppendBatch) -> Reply {
        let mut scratch = self.scratch();
        let results = scratch.apply(batch)?;
        let Scratch { next, events, ids, subjects, tallies, .. } = scratch;
        self.next = next;
        self.events.extend(events);
        self.ids.extend(ids);
        self.subjects.extend(subjects);
        self.tallies.extend(tallies);
        Ok(results)
    }

    /// What staging `batch` would answer, staging nothing: new events get
    /// position 0.
    fn check(&self, batch: AppendBatch) -> Reply {
        let results = self.scratch().apply(batch)?;
        Ok(results.into_iter().map(|r| if r.duplicate { r } else { Appended { position: 0, ..r } }).collect())
    }

    /// The group as one sled batch, and the hash chain carried from
    /// `digest` (the digest before the group) over its stored bytes.
    fn to_batch(&self, mut digest: Digest) -> Result<(Changes, Chained), StoreError> {
        let mut batch = Changes::default();
        let mut checkpoints = Vec::new();
        for run in self.events.chunks(CHUNK) {
            let mut bytes = Vec::with_capacity(run.len() * 256);
            let mut ids = Vec::with_capacity(run.len() * 16);
            for recorded in run {
                let stored = recorded.encode();
                digest = digest.then(&stored);
                if recorded.position.is_multiple_of(CHECKPOINT_EVERY) {
                    checkpoints.push((recorded.position, digest));
                }
                chunk::push(&mut bytes, &stored);
                ids.extend_from_slice(recorded.event.id.as_bytes());
            }
            batch.insert(keys::log(run[0].position).to_vec(), bytes);
            batch.insert(keys::ids(run[0].position).to_vec(), ids);
        }
        // Merged into their buckets when applied, after the commit log.
        for (stream, record) in &self.subjects {
            let (key, prefix, record) = subject_change(stream, record);
            batch.subject(key, prefix, record);
        }
        for ((agency, month), tally) in &self.tallies {
            if tally.is_zero() {
                batch.remove(keys::tally(agency, *month));
            } else {
                batch.insert(keys::tally(agency, *month), encode_tally(tally));
            }
        }
        Ok((batch, Chained { digest, checkpoints }))
    }
}

/// The hash chain over a group: the digest at its last position, and at
/// the checkpoints it passes.
struct Chained {
    digest: Digest,
    checkpoints: Vec<(u64, Digest)>,
}

/// A store read that failed while checking an append: the run loop takes
/// it for a failed store (and logs it, once).
fn internal(e: StoreError) -> Rejection {
    Rejection::Internal(e.to_string())
}

impl Scratch<'_, '_> {
    fn position_of(&self, id: &EventId) -> Result<Option<u64>, Rejection> {
        if let Some(p) = self.ids.get(id).or_else(|| self.group.ids.get(id)) {
            return Ok(Some(*p));
        }
        Ok(self.group.known.position_of(id))
    }

    fn event_at(&self, position: u64) -> Result<Recorded, Rejection> {
        // Positions staged here and in the group are consecutive runs.
        let staged = |events: &[Recorded]| {
            let first = events.first()?.position;
            position.checked_sub(first).and_then(|i| events.get(i as usize)).cloned()
        };
        if let Some(r) = staged(&self.events).or_else(|| staged(&self.group.events)) {
            return Ok(r);
        }
        self.group
            .store
            .event_at(position)
            .map_err(internal)?
            .ok_or_else(|| internal(StoreError::Damaged(format!("indexed position {position} has no event"))))
    }

    fn subject(&self, stream: &StreamId) -> Result<Option<SubjectRecord>, Rejection> {
        if let Some(r) = self.subjects.get(stream).or_else(|| self.group.subjects.get(stream)) {
            return Ok(Some(r.clone()));
        }
        if !self.group.known.may_hold_stream(stream) {
            return Ok(None);
        }
        self.group.store.subject(stream).map_err(internal)
    }

    /// A month's tally as this batch will leave it, to update in place: a
    /// tally is over two kilobytes, and one batch often touches the same
    /// one for every event, so it is copied into the scratch once per batch.
    fn tally_mut(&mut self, agency: &AgencyId, month: Month) -> Result<&mut MonthTally, Rejection> {
        let key = (agency.clone(), month);
        if !self.tallies.contains_key(&key) {
            let tally = match self.group.tallies.get(&key) {
                Some(t) => t.clone(),
                None => self.group.store.tally(agency, month).map_err(internal)?,
            };
            self.tallies.insert(key.clone(), tally);
        }
        Ok(self.tallies.get_mut(&key).expect("inserted above"))
    }

    /// Stages a subject's new record, moving its contribution in the
    /// tallies from what the old record counted to what the new one counts.
    /// `old` is what the subject counted before (its record was just read).
    fn put_subject(&mut self, stream: StreamId, old: Contribution, record: SubjectRecord) -> Result<(), Rejection> {
        let new = Contribution::of(&record.state);
        if old != new {
            let mut months = old.months();
            months.extend(new.months());
            months.sort_unstable();
            months.dedup();
            for month in months {
                let tally = self.tally_mut(&stream.agency, month)?;
                old.apply(month, tally, -1);
                new.apply(month, tally, 1);
            }
        }
        self.subjects.insert(stream, record);
        Ok(())
    }

    fn apply(&mut self, batch: AppendBatch) -> Reply {
        let AppendBatch { events, expected, recorded_at, .. } = batch;
        // Retries first: an id already recorded must carry the same event.
        let mut results: Vec<Option<Appended>> = vec![None; events.len()];
        for (i, e) in events.iter().enumerate() {
            if let Some(position) = self.position_of(&e.id)? {
                let stored = self.event_at(position)?;
                if stored.event != *e {
                    return Err(Rejection::Conflict {
                        field: format!("events[{i}].event_id"),
                        event_id: e.id.to_string(),
                    });
                }
                results[i] = Some(Appended { position, revision: stored.revision, duplicate: true });
            }
        }
        if results.iter().all(Option::is_some) {
            return Ok(results.into_iter().flatten().collect());
        }
        for (k, (stream, revision)) in expected.iter().enumerate() {
            let actual = self.subject(stream)?.map_or(0, |r| r.revision());
            if actual != *revision {
                return Err(Rejection::WrongRevision {
                    field: format!("expected_revisions[{k}]"),
                    stream: stream.to_string(),
                    expected: *revision,
                    actual,
                });
            }
        }
        for (i, e) in events.into_iter().enumerate() {
            if results[i].is_none() {
                results[i] = Some(self.append(i, e, recorded_at.get(i).copied())?);
            }
        }
        Ok(results.into_iter().flatten().collect())
    }

    fn append(&mut self, i: usize, e: Event, recorded_at: Option<DateTime<Utc>>) -> Result<Appended, Rejection> {
        let at = |b: Broken| Rejection::state(b.rule, format!("events[{i}].{}", b.field), b.description);
        let stream = e.stream();
        let position = self.next;
        let stored = self.subject(&stream)?;
        let old = stored.as_ref().map(|r| Contribution::of(&r.state)).unwrap_or_default();
        let mut record = match (&e.payload, stored) {
            (Payload::EventAmended(_) | Payload::EventVoided { .. }, record) => self.correct(i, &e, record)?,
            (_, None) => {
                SubjectRecord { positions: Vec::new(), origin: None, state: SubjectState::start(&e).map_err(at)? }
            }
            (_, Some(mut record)) => {
                record.state.apply(&e).map_err(at)?;
                record
            }
        };
        record.positions.push(position);
        if let Payload::ApplicationSplit { parts } = &e.payload {
            self.create_parts(i, &e, parts, &record, position)?;
        }
        if matches!(e.payload, Payload::EventAmended(_))
            && let Some(parent) = record.application().filter(|a| !a.split_into.is_empty())
        {
            self.move_parts(i, parent.received_on, &parent.split_into.clone(), &e.agency)?;
        }
        let revision = record.revision();
        self.ids.insert(e.id, position);
        self.events.push(Recorded { position, revision, recorded_at: recorded_at.unwrap_or(self.group.now), event: e });
        self.put_subject(stream, old, record)?;
        self.next += 1;
        Ok(Appended { position, revision, duplicate: false })
    }

    /// After the receipt date of a split application was corrected: every
    /// part was received on the new date too, so each is folded again from
    /// its own stream with it (and moves in every year it touches).
    fn move_parts(
        &mut self,
        i: usize,
        received_on: crate::domain::date::CivilDate,
        parts: &[crate::domain::ids::SubjectId],
        agency: &crate::domain::ids::AgencyId,
    ) -> Result<(), Rejection> {
        for part in parts {
            let stream = StreamId { agency: agency.clone(), subject: part.clone() };
            let Some(mut record) = self.subject(&stream)? else { continue };
            let Some(origin) = record.origin.as_mut().filter(|o| o.received_on != received_on) else { continue };
            origin.received_on = received_on;
            let old = Contribution::of(&record.state);
            let mut events = Vec::with_capacity(record.positions.len());
            for p in &record.positions {
                events.push(self.event_at(*p)?.event);
            }
            record.state = fold(&events, record.origin.as_ref()).map_err(|(j, b)| {
                Rejection::state(
                    "CORRECTION_BREAKS_HISTORY",
                    format!("events[{i}].event_amended.occurred_on"),
                    format!(
                        "received then, part {part}'s event {} ({}) would break a rule: {b}",
                        events[j].id,
                        events[j].payload.kind()
                    ),
                )
            })?;
            self.put_subject(stream, old, record)?;
        }
        Ok(())
    }

    /// Each part of a split starts as an application with the parent's
    /// receipt facts; its stream opens with the split event.
    fn create_parts(
        &mut self,
        i: usize,
        e: &Event,
        parts: &[crate::domain::ids::SubjectId],
        parent: &SubjectRecord,
        position: u64,
    ) -> Result<(), Rejection> {
        let Some(app) = parent.application() else {
            unreachable!("only applications can be split (the state machine refused the split otherwise)")
        };
        for (k, part) in parts.iter().enumerate() {
            let stream = StreamId { agency: e.agency.clone(), subject: part.clone() };
            if part == &e.subject || self.subject(&stream)?.is_some() {
                return Err(Rejection::state(
                    "PART_EXISTS",
                    format!("events[{i}].application_split.part_subject_ids[{k}]"),
                    format!("subject {part} already exists; parts of a split need new ids"),
                ));
            }
            let origin = SplitOrigin {
                parent: e.subject.clone(),
                split_event: e.id,
                received_on: app.received_on,
                applicant: app.applicant,
                channel: app.channel,
            };
            let state = fold(&[], Some(&origin)).expect("a part with no events of its own always folds");
            // A part is new (checked above): it counted nothing before.
            let record = SubjectRecord { positions: vec![position], origin: Some(origin), state };
            self.put_subject(stream, Contribution::default(), record)?;
        }
        Ok(())
    }

    /// A correction: checked against its target, then the whole stream is
    /// folded again with it, and must still obey every rule.
    fn correct(&self, i: usize, e: &Event, record: Option<SubjectRecord>) -> Result<SubjectRecord, Rejection> {
        let kind = e.payload.kind();
        let target_field = format!("events[{i}].{kind}.target_event_id");
        let target_id = e.payload.correction_target().expect("a correction has a target");
        let refuse =
            |rule: &'static str, description: String| Rejection::state(rule, target_field.clone(), description);
        let Some(target_position) = self.position_of(&target_id)? else {
            return Err(refuse("UNKNOWN_TARGET", format!("no event {target_id} is recorded")));
        };
        let record = record
            .filter(|r| r.positions.contains(&target_position))
            .ok_or_else(|| refuse("TARGET_IN_OTHER_SUBJECT", format!("event {target_id} belongs to another subject; a correction must be sent on the target's own subject")))?;
        let mut stream = Vec::with_capacity(record.positions.len() + 1);
        for p in &record.positions {
            stream.push(self.event_at(*p)?.event);
        }
        let target = self.event_at(target_position)?.event;
        // A split application's events are final, but for its receipt
        // date: every part was received then too, and moves with it.
        if let Some(app) = record.application()
            && !app.split_into.is_empty()
        {
            let receipt_date_only = matches!(
                (&e.payload, &target.payload),
                (Payload::EventAmended(a), Payload::ApplicationReceived { .. })
                    if a.occurred_on.is_some() && a.applicant.is_none() && a.channel.is_none()
            );
            if !receipt_date_only {
                return Err(refuse(
                    "APPLICATION_SPLIT",
                    "the application was split: only its receipt date can still be corrected here (its parts move \
                     with it); correct a part's applicant or channel by amending the split event on the part's own \
                     subject, and its other facts on the part"
                        .into(),
                ));
            }
        }
        let is_origin = record.origin.as_ref().is_some_and(|o| o.split_event == target_id);
        check_correction(&e.payload, &target, is_origin, &stream)
            .map_err(|b| Rejection::state(b.rule, format!("events[{i}].{}", b.field), b.description))?;
        stream.push(e.clone());
        let state = fold(&stream, record.origin.as_ref()).map_err(|(j, b)| {
            refuse(
                "CORRECTION_BREAKS_HISTORY",
                format!(
                    "with this correction, event {} ({}) would break a rule: {}",
                    stream[j].id,
                    stream[j].payload.kind(),
                    b
                ),
            )
        })?;
        Ok(SubjectRecord { positions: record.positions, origin: record.origin, state })
    }
}
