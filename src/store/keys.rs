//! The key layout of the one sled tree: a prefix byte says what a key
//! holds (the table is in [`crate::store`]), then its parts, big-endian
//! where they sort by number.

use crate::domain::date::Month;
use crate::domain::ids::{AgencyId, StreamId};

pub const LOG: u8 = b'L';
pub const IDS: u8 = b'J';
pub const BUCKETS: u8 = b'B';
/// One key per subject: the layout before buckets, migrated at open.
pub const SUBJECTS_BEFORE_BUCKETS: u8 = b'S';
pub const TALLIES: u8 = b'T';
pub const GROUPS: u8 = b'G';
pub const TOKENS: u8 = b'K';
pub const CALENDARS: u8 = b'C';
/// Log positions lost to damage and salvaged around, by the first.
pub const LOST: u8 = b'X';
/// Layout changes the store's records have been rewritten for, by name.
pub const LAYOUT: u8 = b'V';

/// The key that says the records are in the layout `name` introduced.
pub fn layout(name: &str) -> Vec<u8> {
    let mut k = vec![LAYOUT];
    k.extend_from_slice(name.as_bytes());
    k
}

/// The key of the log chunk that starts at `position`.
pub fn log(position: u64) -> [u8; 9] {
    let mut k = [LOG; 9];
    k[1..].copy_from_slice(&position.to_be_bytes());
    k
}

/// The key of the lost range that starts at `position`.
pub fn lost(position: u64) -> [u8; 9] {
    let mut k = [LOST; 9];
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

/// The key of an agency's tally of a month: the year (u16 BE), then the
/// month (1-12).
pub fn tally(agency: &AgencyId, month: Month) -> Vec<u8> {
    let mut k = tally_prefix(agency);
    k.extend_from_slice(&(month.year.clamp(0, i32::from(u16::MAX)) as u16).to_be_bytes());
    k.push(month.month);
    k
}

/// The month of a tally key's suffix (after the agency's separator).
pub fn tally_month(suffix: &[u8]) -> Option<Month> {
    let [y0, y1, m] = suffix.try_into().ok()?;
    Month::new(i32::from(u16::from_be_bytes([y0, y1])), m)
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
