//! Recount: every table rebuilt from the raw log in one sequential pass,
//! then compared with the tallies the writer maintains.
//!
//! It is built for speed over a large log: one thread reads the log chunks
//! and decodes them, another folds the facts that count into a compact
//! record per subject (what the tables need: dates, the applicant column,
//! the outcome, review and section 二 facts; 16-byte keys), so memory stays
//! a few dozen bytes per subject. Events were checked against every rule
//! when they were appended, so the straight path applies them without
//! judging them again; a correction (rare) folds its subject's stream again
//! with the full rules. `derivation::verify` is the deep check that also
//! compares every stored subject, in constant memory but slowly.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::time::Instant;

use prost::Message as _;

use crate::domain::codes::{
    ApplicantCategory, CatalogueKind, DecisionKind, DocumentKind, Outcome, ReviewKind, ReviewResult,
};
use crate::domain::date::{CivilDate, Month};
use crate::domain::ids::{AgencyId, StreamId, SubjectId};
use crate::domain::proactive::Record;
use crate::domain::subject::{SubjectState, fold};
use crate::domain::tally::{Contribution, MonthTally, Proactive};
use crate::report::derivation::Verification;
use crate::store::chunk;
use crate::store::database::Store;
use crate::store::error::StoreError;
use crate::store::loss::Loss;
use crate::wire::proto::{self, event::Payload as W};

/// What one event does to the tables.
enum What {
    Received(u8),
    Concluded(Outcome),
    Split(Vec<String>),
    Filed(ReviewKind),
    Decided(ReviewResult),
    DocIssued(DocumentKind),
    DocPublished,
    DocRepealed,
    ItemAdded(CatalogueKind),
    ItemRemoved,
    Record(Record),
    /// Text of a report: a subject that counts nowhere.
    Text,
    /// An amendment or a void: the subject is folded again.
    Correction,
    /// A step that changes no table (a supplement, a consultation, …).
    Nothing,
}

struct Fact {
    position: u64,
    agency: String,
    subject: String,
    on: CivilDate,
    what: What,
}

/// A subject, reduced to what the tables count.
#[derive(Clone, Copy)]
enum Compact {
    App { received: CivilDate, col: u8, concluded: Option<(CivilDate, Outcome)>, split: bool },
    Review { filed: CivilDate, kind: ReviewKind, decided: Option<(CivilDate, ReviewResult)> },
    Doc { kind: DocumentKind, issued: CivilDate, published: Option<CivilDate>, repealed: Option<CivilDate> },
    Item { kind: CatalogueKind, added: CivilDate, removed: Option<CivilDate> },
    Record(Record),
    Nothing,
}

impl Compact {
    fn of(state: &SubjectState) -> Self {
        match state {
            SubjectState::Application(a) => Self::App {
                received: a.received_on,
                col: a.applicant.column() as u8,
                concluded: a.conclusion.map(|c| (c.on, c.outcome)),
                split: !a.split_into.is_empty(),
            },
            SubjectState::ReviewCase(c) => Self::Review { filed: c.filed_on, kind: c.kind, decided: c.decision },
            SubjectState::Document(d) => {
                Self::Doc { kind: d.kind, issued: d.issued_on, published: d.published_on, repealed: d.repealed_on }
            }
            SubjectState::CatalogueItem(i) => Self::Item { kind: i.kind, added: i.added_on, removed: i.removed_on },
            SubjectState::Record(r) => Self::Record(*r),
            SubjectState::Voided | SubjectState::ReportTexts(_) | SubjectState::SubmittedTable(_) => Self::Nothing,
        }
    }

    /// What it adds to the tallies (as `Contribution::of` counts the full
    /// state).
    fn contribution(&self) -> Contribution {
        let month = Month::of;
        match *self {
            Self::App { split: true, .. } | Self::Nothing => Contribution::default(),
            Self::App { received, col, concluded, .. } => {
                Contribution::application(received, usize::from(col), concluded)
            }
            Self::Review { filed, kind, decided } => Contribution::review(filed, kind, decided),
            Self::Doc { kind, issued, published, repealed } => Contribution {
                proactive: Some(Proactive::Document {
                    kind,
                    issued: month(issued),
                    published: published.map(month),
                    repealed: repealed.map(month),
                }),
                ..Contribution::default()
            },
            Self::Item { kind, added, removed } => Contribution {
                proactive: Some(Proactive::Item { kind, added: month(added), removed: removed.map(month) }),
                ..Contribution::default()
            },
            Self::Record(r) => Contribution { proactive: Some(Proactive::of_record(&r)), ..Contribution::default() },
        }
    }
}

fn damaged(position: u64, what: impl std::fmt::Display) -> StoreError {
    StoreError::Damaged(format!("position {position}: {what}"))
}

/// Decodes one stored event into the fact that counts.
fn decode(position: u64, bytes: &[u8]) -> Result<Fact, StoreError> {
    let recorded = proto::RecordedEvent::decode(bytes).map_err(|e| damaged(position, e))?;
    if recorded.position != position {
        return Err(damaged(position, format!("stored as position {}", recorded.position)));
    }
    let e = recorded.event.ok_or_else(|| damaged(position, "no event"))?;
    let on = e.occurred_on.as_ref().ok_or_else(|| damaged(position, "no date"))?;
    let on = CivilDate::from_proto(on).map_err(|e| damaged(position, e))?;
    let bad = |e: String| damaged(position, e);
    let what = match e.payload.ok_or_else(|| damaged(position, "no payload"))? {
        W::ApplicationReceived(m) => {
            What::Received(ApplicantCategory::from_proto(m.applicant_category).map_err(bad)?.column() as u8)
        }
        W::ApplicationConcluded(m) => What::Concluded(Outcome::from_proto(m.outcome).map_err(bad)?),
        W::ApplicationWithdrawn(_) => What::Concluded(Outcome::Other),
        W::ApplicationSplit(m) => What::Split(m.part_subject_ids),
        W::ReviewCaseFiled(m) => What::Filed(ReviewKind::from_proto(m.kind).map_err(bad)?),
        W::ReviewCaseDecided(m) => What::Decided(ReviewResult::from_proto(m.result).map_err(bad)?),
        W::DocumentIssued(m) => What::DocIssued(DocumentKind::from_proto(m.kind).map_err(bad)?),
        W::DocumentPublished(_) => What::DocPublished,
        W::DocumentRepealed(_) => What::DocRepealed,
        W::CatalogueItemAdded(m) => What::ItemAdded(CatalogueKind::from_proto(m.kind).map_err(bad)?),
        W::CatalogueItemRemoved(_) => What::ItemRemoved,
        W::DecisionsMade(m) => {
            What::Record(Record::Decisions { kind: DecisionKind::from_proto(m.kind).map_err(bad)?, count: m.count, on })
        }
        W::FeesCollected(m) => What::Record(Record::Fees { amount_fen: m.amount_fen, on }),
        W::ProcurementRecorded(m) => What::Record(Record::Procurement { amount_fen: m.amount_fen, on }),
        W::ReportTextSet(_) | W::ReportPublished(_) | W::TableSubmitted(_) | W::TableAccepted(_) => What::Text,
        W::EventAmended(_) | W::EventVoided(_) => What::Correction,
        W::SupplementRequested(_)
        | W::SupplementReceived(_)
        | W::ConsultationStarted(_)
        | W::ConsultationEnded(_)
        | W::DeadlineExtended(_)
        | W::FeeNoticeIssued(_)
        | W::FeePaid(_) => What::Nothing,
    };
    Ok(Fact { position, agency: e.agency_id, subject: e.subject_id, on, what })
}

/// The fold: compact subjects keyed by a 128-bit hash of agency and
/// subject (two independent SipHash keys; a collision among millions of
/// subjects has a probability around 10^-26).
struct Fold<'s> {
    store: &'s Store,
    hashers: (std::hash::RandomState, std::hash::RandomState),
    agencies: HashMap<String, u16>,
    subjects: HashMap<u128, (u16, Compact)>,
    next: u64,
    events: u64,
    /// Positions lost and salvaged around, which the log skips.
    losses: Vec<Loss>,
}

impl<'s> Fold<'s> {
    fn key(&self, agency: &str, subject: &str) -> u128 {
        let hash = |state: &std::hash::RandomState| {
            let mut h = state.build_hasher();
            h.write(agency.as_bytes());
            h.write_u8(0);
            h.write(subject.as_bytes());
            h.finish()
        };
        (u128::from(hash(&self.hashers.0)) << 64) | u128::from(hash(&self.hashers.1))
    }

    fn agency(&mut self, agency: String) -> Result<u16, StoreError> {
        if let Some(i) = self.agencies.get(&agency) {
            return Ok(*i);
        }
        let i =
            u16::try_from(self.agencies.len()).map_err(|_| StoreError::Damaged("more than 65,535 agencies".into()))?;
        self.agencies.insert(agency, i);
        Ok(i)
    }

    fn apply(&mut self, f: Fact) -> Result<(), StoreError> {
        while let Some(loss) = self.losses.first().filter(|l| l.first == self.next) {
            self.next = loss.last + 1;
            self.losses.remove(0);
        }
        if f.position != self.next {
            return Err(damaged(f.position, format!("the log skips from {} to {}", self.next - 1, f.position)));
        }
        self.next += 1;
        self.events += 1;
        let key = self.key(&f.agency, &f.subject);
        let on = f.on;
        let missing = |what: &str| damaged(f.position, format!("{what} for a subject with no such state"));
        match f.what {
            What::Nothing => {}
            What::Correction => {
                let (agency, subject) = (f.agency, f.subject);
                let a = self.agency(agency.clone())?;
                let state = self.refold(&agency, &subject, f.position, None)?;
                self.subjects.insert(key, (a, Compact::of(&state)));
                // A split application's receipt date moves its parts too.
                if let SubjectState::Application(parent) = &state
                    && !parent.split_into.is_empty()
                {
                    for part in &parent.split_into {
                        let part_state = self.refold(&agency, part.as_str(), f.position, Some(parent.received_on))?;
                        self.subjects.insert(self.key(&agency, part.as_str()), (a, Compact::of(&part_state)));
                    }
                }
            }
            What::Split(parts) => {
                let Some((a, Compact::App { received, col, concluded, .. })) = self.subjects.get(&key).copied() else {
                    return Err(missing("a split"));
                };
                self.subjects.insert(key, (a, Compact::App { received, col, concluded, split: true }));
                for part in parts {
                    let k = self.key(&f.agency, &part);
                    self.subjects.insert(k, (a, Compact::App { received, col, concluded: None, split: false }));
                }
            }
            what => {
                let a = self.agency(f.agency)?;
                let entry = self.subjects.get_mut(&key);
                match (what, entry) {
                    (What::Received(col), _) => {
                        self.subjects
                            .insert(key, (a, Compact::App { received: on, col, concluded: None, split: false }));
                    }
                    (What::Filed(kind), _) => {
                        self.subjects.insert(key, (a, Compact::Review { filed: on, kind, decided: None }));
                    }
                    (What::DocIssued(kind), _) => {
                        self.subjects
                            .insert(key, (a, Compact::Doc { kind, issued: on, published: None, repealed: None }));
                    }
                    (What::ItemAdded(kind), _) => {
                        self.subjects.insert(key, (a, Compact::Item { kind, added: on, removed: None }));
                    }
                    (What::Record(r), _) => {
                        self.subjects.insert(key, (a, Compact::Record(r)));
                    }
                    (What::Text, _) => {
                        self.subjects.insert(key, (a, Compact::Nothing));
                    }
                    (What::Concluded(o), Some((_, Compact::App { concluded, .. }))) => *concluded = Some((on, o)),
                    (What::Decided(r), Some((_, Compact::Review { decided, .. }))) => *decided = Some((on, r)),
                    (What::DocPublished, Some((_, Compact::Doc { published, .. }))) => *published = Some(on),
                    (What::DocRepealed, Some((_, Compact::Doc { repealed, .. }))) => *repealed = Some(on),
                    (What::ItemRemoved, Some((_, Compact::Item { removed, .. }))) => *removed = Some(on),
                    _ => return Err(missing("an event")),
                }
            }
        }
        Ok(())
    }

    /// The subject as of `position`, folded from its stored stream with the
    /// full rules (corrections are rare); for a part, with its parent's
    /// receipt date as of then.
    fn refold(
        &self,
        agency: &str,
        subject: &str,
        position: u64,
        received_on: Option<CivilDate>,
    ) -> Result<SubjectState, StoreError> {
        let stream = StreamId {
            agency: AgencyId::stored(agency).map_err(|e| damaged(position, e))?,
            subject: SubjectId::stored(subject).map_err(|e| damaged(position, e))?,
        };
        let record =
            self.store.subject(&stream)?.ok_or_else(|| damaged(position, format!("{stream} has no record")))?;
        let events = record
            .positions
            .iter()
            .take_while(|p| **p <= position)
            .map(|p| self.store.event_at(*p)?.map(|r| r.event).ok_or_else(|| damaged(*p, "missing")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut origin = record.origin.clone();
        if let (Some(o), Some(on)) = (origin.as_mut(), received_on) {
            o.received_on = on;
        }
        fold(&events, origin.as_ref()).map_err(|(i, b)| damaged(position, format!("event {i}: {b}")))
    }
}

/// How many subjects the tallies count (applications received, review
/// cases filed, documents issued, catalogue items added, records): an
/// estimate of the map's size, short only of voided subjects and texts.
fn subjects_counted(tallies: &BTreeMap<(AgencyId, Month), MonthTally>) -> usize {
    let n: i64 = tallies
        .values()
        .map(|t| {
            let p = &t.proactive;
            t.new.iter().sum::<i64>()
                + t.filed.iter().sum::<i64>()
                + p.issued.iter().sum::<i64>()
                + p.added.iter().sum::<i64>()
                + p.procurements
        })
        .sum();
    usize::try_from(n).unwrap_or(0)
}

/// Rebuilds every tally from the raw log and compares it with the stored
/// ones. Appends wait while it runs (both sides are of one position).
pub fn recount(store: &Store) -> Result<Verification, StoreError> {
    let started = Instant::now();
    let _consistent = store.consistent();
    let head = store.last_position()?;
    let stored = store.all_tallies()?;
    let mut fold = Fold {
        store,
        hashers: (std::hash::RandomState::new(), std::hash::RandomState::new()),
        agencies: HashMap::new(),
        // Sized from the tallies' count of subjects, so that the map is not
        // rehashed (and briefly held twice) as it fills.
        subjects: HashMap::with_capacity(subjects_counted(&stored)),
        next: 1,
        events: 0,
        losses: store.losses()?,
    };
    std::thread::scope(|scope| -> Result<(), StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<Fact>, StoreError>>(64);
        scope.spawn(move || {
            for item in store.log_chunks() {
                let facts = item.and_then(|(first, bytes)| {
                    chunk::entries(&bytes)
                        .enumerate()
                        .map(|(i, entry)| entry.and_then(|e| decode(first + i as u64, e)))
                        .collect::<Result<Vec<_>, _>>()
                });
                if tx.send(facts).is_err() {
                    return;
                }
            }
        });
        for facts in rx {
            for fact in facts? {
                fold.apply(fact)?;
            }
        }
        Ok(())
    })?;
    if let Some(loss) = fold.losses.first().filter(|l| l.first == fold.next) {
        fold.next = loss.last + 1;
    }
    if fold.next != head + 1 {
        return Err(StoreError::Damaged(format!("the log ends at {} but its head is {head}", fold.next - 1)));
    }
    let names: HashMap<u16, AgencyId> = fold
        .agencies
        .iter()
        .map(|(name, i)| AgencyId::stored(name).map(|a| (*i, a)).map_err(StoreError::Damaged))
        .collect::<Result<_, _>>()?;
    let mut rebuilt: BTreeMap<(AgencyId, Month), MonthTally> = BTreeMap::new();
    for (a, compact) in fold.subjects.values() {
        let c = compact.contribution();
        for month in c.months() {
            c.apply(month, rebuilt.entry((names[a].clone(), month)).or_default(), 1);
        }
    }
    rebuilt.retain(|_, t| !t.is_zero());
    let mut differences = Vec::new();
    let keys: std::collections::BTreeSet<_> = stored.keys().chain(rebuilt.keys()).cloned().collect();
    for key in keys {
        let (a, b) = (stored.get(&key), rebuilt.get(&key));
        if a != b {
            differences.push(format!("tally of {} for {}: maintained {:?}, recounted {:?}", key.0, key.1, a, b));
        }
    }
    Ok(Verification {
        position: head,
        events: fold.events,
        subjects: fold.subjects.len() as u64,
        differences,
        seconds: started.elapsed().as_secs_f64(),
    })
}
