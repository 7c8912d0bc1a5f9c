//! The stored layouts of earlier versions, read once and rewritten at open.
//!
//! Subject records are postcard, which is not self-describing: a record
//! written before a field was added does not decode as the new struct. So
//! each change of a stored struct keeps here a copy of the struct as it
//! was, and [`Store::open`] rewrites every record still in the old layout,
//! then marks the store (a `V` key) so that later opens skip the scan. A
//! crash midway leaves some buckets rewritten and the mark unset: the next
//! open rewrites the rest (a record already in the new layout is left).
//!
//! - `month-tallies` (this version): the tallies are kept per month, not
//!   per year (`T` agency `\0` year month), so that a quarter's tables
//!   read three tallies. The year tallies are dropped and the month ones
//!   counted again from the subject records, in one atomic batch.
//! - `extension-date`: an application keeps the day of its
//!   extension (`Application::extended_on`), which the deadline needs
//!   (Art.33: an extension granted after the period ran out does not
//!   extend it). A record without it is refolded from its own stream, so
//!   the day comes from the `deadline_extended` event itself.

use serde::Deserialize;

use crate::domain::application::{Application, Conclusion, Consultation};
use crate::domain::codes::{ApplicantCategory, Channel};
use crate::domain::date::CivilDate;
use crate::domain::ids::SubjectId;
use crate::domain::proactive::{CatalogueItem, Document, Record};
use crate::domain::report_text::ReportTexts;
use crate::domain::review::ReviewCase;
use crate::domain::subject::{SplitOrigin, SubjectRecord, SubjectState, fold};
use crate::domain::tally::{Contribution, MonthTally};
use crate::store::bucket;
use crate::store::database::Store;
use crate::store::error::{StoreError, damaged};
use crate::store::keys;

/// The names of the layout changes, in order.
const EXTENSION_DATE: &str = "extension-date";
const MONTH_TALLIES: &str = "month-tallies";

/// An application as stored before `extended_on`.
#[derive(Deserialize)]
struct ApplicationBeforeExtensionDate {
    applicant: ApplicantCategory,
    channel: Channel,
    received_on: CivilDate,
    supplement_requested_on: Option<CivilDate>,
    supplement_received_on: Option<CivilDate>,
    consultations: Vec<Consultation>,
    extension_days: Option<u8>,
    fee_noticed_fen: Option<i64>,
    fee_paid_fen: Option<i64>,
    conclusion: Option<Conclusion>,
    split_into: Vec<SubjectId>,
    split_from: Option<SubjectId>,
}

/// The subject states in the same order as [`SubjectState`]'s.
#[derive(Deserialize)]
enum StateBeforeExtensionDate {
    Application(ApplicationBeforeExtensionDate),
    ReviewCase(ReviewCase),
    Voided,
    Document(Document),
    CatalogueItem(CatalogueItem),
    Record(Record),
    ReportTexts(ReportTexts),
}

#[derive(Deserialize)]
struct RecordBeforeExtensionDate {
    positions: Vec<u64>,
    origin: Option<SplitOrigin>,
    state: StateBeforeExtensionDate,
}

impl Store {
    /// Rewrites what was stored before the current layout (see the
    /// module's text); a store marked as done is not scanned.
    pub(crate) fn upgrade_layout(&self) -> Result<(), StoreError> {
        self.add_extension_dates()?;
        self.count_tallies_by_month()
    }

    /// Drops the year tallies and counts month ones from the subjects (their
    /// records are in the current layout by now).
    fn count_tallies_by_month(&self) -> Result<(), StoreError> {
        if self.db.contains_key(keys::layout(MONTH_TALLIES))? {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for key in self.db.scan_prefix([keys::TALLIES]).keys() {
            batch.remove(key?);
        }
        let mut tallies: std::collections::BTreeMap<_, MonthTally> = std::collections::BTreeMap::new();
        for item in self.all_subjects() {
            let (stream, record) = item?;
            let c = Contribution::of(&record.state);
            for month in c.months() {
                c.apply(month, tallies.entry((stream.agency.clone(), month)).or_default(), 1);
            }
        }
        tallies.retain(|_, t| !t.is_zero());
        for ((agency, month), tally) in &tallies {
            batch.insert(keys::tally(agency, *month), crate::store::database::encode_tally(tally));
        }
        batch.insert(keys::layout(MONTH_TALLIES), &[1u8][..]);
        self.db.apply_batch(batch)?;
        self.sync()?;
        if !tallies.is_empty() {
            tracing::info!(tallies = tallies.len(), "tallies counted again by month");
        }
        Ok(())
    }

    /// Adds the day of each extension to the application records.
    fn add_extension_dates(&self) -> Result<(), StoreError> {
        if self.db.contains_key(keys::layout(EXTENSION_DATE))? {
            return Ok(());
        }
        let mut rewritten = 0usize;
        for item in self.db.scan_prefix([keys::BUCKETS]) {
            let (key, bytes) = item?;
            let mut entries = Vec::new();
            let mut changed = false;
            for entry in bucket::entries(&bytes) {
                let (id, stored) = entry?;
                if postcard::from_bytes::<SubjectRecord>(stored).is_ok() {
                    entries.push((id.to_vec(), stored.to_vec()));
                    continue;
                }
                let old: RecordBeforeExtensionDate = postcard::from_bytes(stored)
                    .map_err(|e| damaged(&format!("subject record in neither layout: {e}")))?;
                let record = self.upgrade_record(old)?;
                entries.push((id.to_vec(), crate::store::subjects::encode_record(&record)));
                changed = true;
                rewritten += 1;
            }
            if changed {
                // The same ids under the same first key: one bucket again,
                // or more if the longer records no longer fit in one.
                let prefix = key[..=key.iter().position(|b| *b == 0).ok_or_else(|| damaged("bucket key"))?].to_vec();
                let mut batch = sled::Batch::default();
                for (first, bucket_bytes) in bucket::merge(&[], &entries)? {
                    let mut k = prefix.clone();
                    k.extend_from_slice(&first);
                    batch.insert(k, bucket_bytes);
                }
                self.db.apply_batch(batch)?;
            }
        }
        self.db.insert(keys::layout(EXTENSION_DATE), &[1u8][..])?;
        self.sync()?;
        if rewritten > 0 {
            tracing::info!(subjects = rewritten, "subject records rewritten with the day of each extension");
        }
        Ok(())
    }

    fn upgrade_record(&self, old: RecordBeforeExtensionDate) -> Result<SubjectRecord, StoreError> {
        let state = match old.state {
            StateBeforeExtensionDate::Application(a) if a.extension_days.is_some() => {
                // The day is the extension event's: fold the stream again.
                let events = old
                    .positions
                    .iter()
                    .map(|p| {
                        self.event_at(*p)?.map(|r| r.event).ok_or_else(|| damaged(&format!("position {p} is missing")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                fold(&events, old.origin.as_ref()).map_err(|(i, b)| damaged(&format!("refolding event {i}: {b:?}")))?
            }
            StateBeforeExtensionDate::Application(a) => SubjectState::Application(Application {
                applicant: a.applicant,
                channel: a.channel,
                received_on: a.received_on,
                supplement_requested_on: a.supplement_requested_on,
                supplement_received_on: a.supplement_received_on,
                consultations: a.consultations,
                extension_days: a.extension_days,
                fee_noticed_fen: a.fee_noticed_fen,
                fee_paid_fen: a.fee_paid_fen,
                conclusion: a.conclusion,
                split_into: a.split_into,
                split_from: a.split_from,
                extended_on: None,
            }),
            StateBeforeExtensionDate::ReviewCase(c) => SubjectState::ReviewCase(c),
            StateBeforeExtensionDate::Voided => SubjectState::Voided,
            StateBeforeExtensionDate::Document(d) => SubjectState::Document(d),
            StateBeforeExtensionDate::CatalogueItem(i) => SubjectState::CatalogueItem(i),
            StateBeforeExtensionDate::Record(r) => SubjectState::Record(r),
            StateBeforeExtensionDate::ReportTexts(t) => SubjectState::ReportTexts(t),
        };
        Ok(SubjectRecord { positions: old.positions, origin: old.origin, state })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{Event, Payload};
    use crate::domain::ids::{AgencyId, EventId, StreamId};
    use crate::store::ledger::Ledger;
    use crate::store::writer::AppendBatch;

    fn event(n: u8, on: &str, payload: Payload) -> Event {
        Event {
            id: EventId::from_name(&format!("layout-{n}")),
            agency: AgencyId::parse("a").unwrap(),
            subject: SubjectId::parse("s").unwrap(),
            occurred_on: on.parse().unwrap(),
            actor: None,
            correlation_id: None,
            payload,
        }
    }

    #[test]
    fn a_record_stored_before_the_extension_date_is_rewritten_with_it_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let stream = StreamId { agency: AgencyId::parse("a").unwrap(), subject: SubjectId::parse("s").unwrap() };
        let received =
            Payload::ApplicationReceived { applicant: ApplicantCategory::NaturalPerson, channel: Channel::Online };
        {
            let ledger = Ledger::open(dir.path(), 8 << 20).unwrap();
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let events = vec![
                event(1, "2024-03-01", received),
                event(2, "2024-03-20", Payload::DeadlineExtended { working_days: 10 }),
            ];
            rt.block_on(ledger.append(AppendBatch::new(events, vec![]))).unwrap();
            // Write the record back as the version before stored it: without
            // the trailing `extended_on`, and the store not yet marked.
            let store = ledger.store();
            let record = store.subject(&stream).unwrap().unwrap();
            let day: CivilDate = "2024-03-20".parse().unwrap();
            assert_eq!(record.application().unwrap().extended_on, Some(day));
            let new = crate::store::subjects::encode_record(&record);
            let suffix = postcard::to_stdvec(&Some(day)).unwrap();
            let old = new[..new.len() - suffix.len()].to_vec();
            assert!(postcard::from_bytes::<SubjectRecord>(&old).is_err(), "the old layout does not read as the new");
            let key = keys::bucket(&stream);
            store.db.insert(key, bucket::encode(&[(b"s".as_slice(), old.as_slice())])).unwrap();
            store.db.remove(keys::layout(EXTENSION_DATE)).unwrap();
            store.sync().unwrap();
            ledger.close();
        }
        let ledger = crate::store::ledger::open_store(dir.path(), 8 << 20).unwrap();
        let record = ledger.subject(&stream).unwrap().unwrap();
        let app = record.application().unwrap();
        assert_eq!(app.extended_on, Some("2024-03-20".parse().unwrap()), "refolded from its stream");
        assert_eq!(app.extension_days, Some(10));
        assert_eq!(record.positions, vec![1, 2]);
        assert!(ledger.db.contains_key(keys::layout(EXTENSION_DATE)).unwrap());
    }

    #[test]
    fn year_tallies_are_dropped_and_counted_again_by_month_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let agency = AgencyId::parse("a").unwrap();
        let received =
            Payload::ApplicationReceived { applicant: ApplicantCategory::NaturalPerson, channel: Channel::Online };
        let concluded = Payload::ApplicationConcluded { outcome: crate::domain::codes::Outcome::ALL[0] };
        {
            let ledger = Ledger::open(dir.path(), 8 << 20).unwrap();
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let events = vec![event(1, "2024-03-01", received), event(2, "2024-05-20", concluded)];
            rt.block_on(ledger.append(AppendBatch::new(events, vec![]))).unwrap();
            // Put the store back as the version before wrote it: one tally
            // for the year under a two-byte key, and no mark.
            let store = ledger.store();
            for key in store.db.scan_prefix([keys::TALLIES]).keys() {
                store.db.remove(key.unwrap()).unwrap();
            }
            store.db.insert(year_key_of(&agency), vec![0u8; 40]).unwrap();
            store.db.remove(keys::layout(MONTH_TALLIES)).unwrap();
            store.sync().unwrap();
            ledger.close();
        }
        let store = crate::store::ledger::open_store(dir.path(), 8 << 20).unwrap();
        assert!(store.db.get(year_key_of(&agency)).unwrap().is_none(), "the year tally is gone");
        let tallies = store.tallies(&agency).unwrap();
        let months: Vec<String> = tallies.keys().map(|m| m.to_string()).collect();
        assert_eq!(months, ["2024-03", "2024-05"]);
        assert_eq!(tallies.values().next().unwrap().new[0], 1);
        assert_eq!(tallies.values().nth(1).unwrap().outcomes[0][0], 1);
        assert!(store.db.contains_key(keys::layout(MONTH_TALLIES)).unwrap());
    }

    fn year_key_of(agency: &AgencyId) -> Vec<u8> {
        let mut k = keys::tally_prefix(agency);
        k.extend_from_slice(&2024u16.to_be_bytes());
        k
    }
}
