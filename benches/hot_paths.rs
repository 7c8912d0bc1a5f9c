//! Criterion micro-benchmarks of the hot paths: converting and validating an
//! event at the edge, encoding it for the log, the tally update the writer
//! does per event, folding an application's state, deriving a year's
//! table from the tallies, packing subject records into buckets, and the
//! floor sled's own writes set.
//!
//! `cargo bench --bench hot_paths`

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use disclosure_ledger::domain::codes::{ApplicantCategory, Channel, Outcome};
use disclosure_ledger::domain::date::{CivilDate, Month};
use disclosure_ledger::domain::event::{Event, Payload, Recorded};
use disclosure_ledger::domain::ids::{AgencyId, EventId, SubjectId};
use disclosure_ledger::domain::subject::{SubjectState, fold};
use disclosure_ledger::domain::tally::{Contribution, MonthTally};
use disclosure_ledger::report::tables::{Report, ReviewDating, YearCells};
use disclosure_ledger::report::template::Template;
use disclosure_ledger::wire::proto;

fn wire_event() -> proto::Event {
    proto::Event {
        event_id: "5d0c6a52-8f5e-4b8e-9a57-1a2b3c4d0001".into(),
        agency_id: "hlj-jgj".into(),
        subject_id: "依申请〔2024〕88号".into(),
        occurred_on: Some(proto::google::r#type::Date { year: 2024, month: 12, day: 28 }),
        actor: "clerk-07".into(),
        correlation_id: String::new(),
        payload: Some(proto::event::Payload::ApplicationReceived(proto::ApplicationReceived {
            applicant_category: proto::ApplicantCategory::LegalServiceProvider as i32,
            channel: proto::Channel::Online as i32,
        })),
    }
}

fn history() -> Vec<Event> {
    let e = |n: u32, day: u32, payload| Event {
        id: EventId::from_name(&n.to_string()),
        agency: AgencyId::parse("a").unwrap(),
        subject: SubjectId::parse("s").unwrap(),
        occurred_on: CivilDate::from_ymd(2024, 3, day).unwrap(),
        actor: None,
        correlation_id: None,
        payload,
    };
    vec![
        e(1, 1, Payload::ApplicationReceived { applicant: ApplicantCategory::NaturalPerson, channel: Channel::Post }),
        e(2, 2, Payload::SupplementRequested),
        e(3, 9, Payload::SupplementReceived),
        e(4, 20, Payload::ApplicationConcluded { outcome: Outcome::PartlyDisclosed }),
    ]
}

fn benches(c: &mut Criterion) {
    let wire = wire_event();
    c.bench_function("event: convert and validate at the edge", |b| {
        b.iter(|| Event::from_proto(black_box(&wire), "events[0]").unwrap())
    });
    let event = Event::from_proto(&wire, "events[0]").unwrap();
    let recorded = Recorded { position: 123_456, revision: 1, recorded_at: chrono::Utc::now(), event };
    c.bench_function("event: encode for the log", |b| b.iter(|| black_box(&recorded).encode()));
    let bytes = recorded.encode();
    c.bench_function("event: decode from the log", |b| b.iter(|| Recorded::decode(black_box(&bytes)).unwrap()));

    let events = history();
    c.bench_function("application: fold a four-event stream", |b| b.iter(|| fold(black_box(&events), None).unwrap()));
    let before = fold(&events[..3], None).unwrap();
    let after = fold(&events, None).unwrap();
    c.bench_function("tally: move one application's contribution", |b| {
        b.iter(|| {
            let mut tally = MonthTally::default();
            let (old, new) = (Contribution::of(black_box(&before)), Contribution::of(black_box(&after)));
            for month in new.months() {
                old.apply(month, &mut tally, -1);
                new.apply(month, &mut tally, 1);
            }
            tally
        })
    });

    // Six years of month tallies of a large agency.
    let mut tallies = BTreeMap::new();
    for (i, year) in (2019..=2024).enumerate() {
        for month in 1..=12 {
            let mut t = MonthTally::default();
            for c in 0..6 {
                t.new[c] = 2_500 + i as i64 * 10 + c as i64;
                for leaf in 0..21 {
                    t.outcomes[leaf][c] = 80 + leaf as i64;
                }
            }
            tallies.insert(Month::new(year, month).unwrap(), t);
        }
    }
    let agency = vec![AgencyId::parse("agency-00").unwrap()];
    let m = |year, month| Month::new(year, month).unwrap();
    c.bench_function("report: derive a year's tables and checks from tallies", |b| {
        b.iter(|| {
            let dating = ReviewDating::FiledInYear;
            let cells = YearCells::from_tallies(black_box(&tallies), m(2023, 1), m(2023, 12), dating).unwrap();
            let previous = YearCells::from_tallies(&tallies, m(2022, 1), m(2022, 12), dating).unwrap();
            Report::new(agency.clone(), 2023, Template::V2021, dating, 1, &cells, &previous)
        })
    });
    let state: SubjectState = after;
    c.bench_function("report: count one application into a year", |b| {
        b.iter(|| {
            let mut cells = YearCells::default();
            cells.count(black_box(&state), 2024, ReviewDating::FiledInYear);
            cells
        })
    });
}

/// What one sled insert costs in the writer's commit: a batch of 1000
/// random 17-byte id keys (the idempotency index) into a store that
/// already holds 100,000 of them. This is the floor of the ingest path.
fn sled_floor(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new().path(dir.path()).cache_capacity(64 << 20).flush_every_ms(None).open().unwrap();
    let mut n: u64 = 0;
    let key = |n: &mut u64| {
        *n += 1;
        let mut k = [b'I'; 17];
        k[1..9].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
        k
    };
    let mut warm = sled::Batch::default();
    for _ in 0..100_000 {
        warm.insert(&key(&mut n)[..], &n.to_be_bytes()[..]);
    }
    db.apply_batch(warm).unwrap();
    let mut group = c.benchmark_group("sled");
    group.throughput(criterion::Throughput::Elements(1000));
    group.bench_function("apply_batch of 1000 random index keys", |b| {
        b.iter(|| {
            let mut batch = sled::Batch::default();
            for _ in 0..1000 {
                batch.insert(&key(&mut n)[..], &n.to_be_bytes()[..]);
            }
            db.apply_batch(batch).unwrap();
        })
    });
    group.bench_function("get of a missing random key", |b| b.iter(|| db.get(key(&mut n)).unwrap()));
    // Keys in order (like log chunks, or one agency's numbered applications).
    let mut m: u64 = 0;
    group.bench_function("apply_batch of 1000 keys in order", |b| {
        b.iter(|| {
            let mut batch = sled::Batch::default();
            for _ in 0..1000 {
                m += 1;
                let mut k = [b'S'; 17];
                k[1..9].copy_from_slice(&m.to_be_bytes());
                batch.insert(&k[..], &[0u8; 120][..]);
            }
            db.apply_batch(batch).unwrap();
        })
    });
    group.finish();
}

/// Packing subject records into buckets (what the writer does per touched
/// bucket at each commit): one record updated in a full bucket, and a
/// bucket-full of new records appended.
fn buckets(c: &mut Criterion) {
    use disclosure_ledger::store::bucket;
    let record = |i: u32| (format!("依申请〔2024〕{i:05}号").into_bytes(), vec![7u8; 60]);
    let full: Vec<(Vec<u8>, Vec<u8>)> = (0..bucket::FILL_ENTRIES as u32).map(record).collect();
    let [(_, stored)] = bucket::merge(&[], &full).unwrap().try_into().unwrap();
    let one = vec![(record(17).0, vec![9u8; 64])];
    let mut group = c.benchmark_group("bucket");
    group.bench_function("merge one updated record into a bucket of 32", |b| {
        b.iter(|| bucket::merge(black_box(&stored), black_box(&one)).unwrap())
    });
    group.bench_function("find one record in a bucket of 32", |b| {
        b.iter(|| bucket::find(black_box(&stored), black_box(&one[0].0)).unwrap())
    });
    let appended: Vec<(Vec<u8>, Vec<u8>)> = (100..100 + bucket::FILL_ENTRIES as u32).map(record).collect();
    group.throughput(criterion::Throughput::Elements(appended.len() as u64));
    group.bench_function("append 32 new records to a bucket of 32 (splits)", |b| {
        b.iter(|| bucket::merge(black_box(&stored), black_box(&appended)).unwrap())
    });
    group.finish();
}

criterion_group!(hot_paths, benches, sled_floor, buckets);
criterion_main!(hot_paths);
