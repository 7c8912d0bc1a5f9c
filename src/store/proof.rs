//! Proving the log whole: every position from 1 present once, in order,
//! each entry's own position where it stands, and the hash chain over the
//! stored bytes equal to every record of what was acknowledged
//! ([`crate::store::journal`]). Run at every open, before anything is
//! served, and by `verify`.

use std::fmt;

use crate::store::chain::{Chain, Digest};
use crate::store::chunk;
use crate::store::database::Store;
use crate::store::error::StoreError;
use crate::store::journal::Acknowledged;
use crate::store::loss::Loss;

/// Why a log cannot be proved whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Damage {
    /// Positions are missing: the log ends, or skips, at `first`.
    Missing { first: u64, next_present: Option<u64>, acknowledged: u64 },
    /// The entry at `position` cannot be read back.
    Unreadable { position: u64, why: String },
    /// The log's digest at `position` is not the one acknowledged: an event
    /// after `intact_to` (the last position whose digest matched) and at or
    /// before `position` was changed.
    Altered { position: u64, intact_to: u64 },
    /// The store itself failed while being read, at `position`.
    Store { position: u64, why: String },
}

impl Damage {
    /// The last position before the damage: what is intact.
    pub fn intact_to(&self) -> u64 {
        match self {
            Self::Missing { first, .. } => first - 1,
            Self::Unreadable { position, .. } | Self::Store { position, .. } => position - 1,
            Self::Altered { intact_to, .. } => *intact_to,
        }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { first, next_present: Some(next), acknowledged } => write!(
                f,
                "log positions {first} to {} are missing (positions up to {acknowledged} were acknowledged)",
                next - 1
            ),
            Self::Missing { first, next_present: None, acknowledged } => write!(
                f,
                "the log ends at position {}, but positions up to {acknowledged} were acknowledged: {first} is the \
                 first one missing",
                first - 1
            ),
            Self::Unreadable { position, why } => write!(f, "log position {position} is damaged ({why})"),
            Self::Altered { position, intact_to } => write!(
                f,
                "the log's digest at position {position} is not the one acknowledged: an event after position \
                 {intact_to} and at or before {position} was changed"
            ),
            Self::Store { position, why } => {
                write!(f, "the store cannot be read at log position {position}: {why}")
            }
        }
    }
}

/// Proves the log of `store` against `records` (oldest first), up to the
/// log's end or `upto`; returns the chain as far as it was read. Positions
/// lost and salvaged around ([`crate::store::loss`]) count as present: the
/// chain goes on over their record.
pub fn prove(store: &Store, records: &[Acknowledged], upto: Option<u64>) -> Result<Chain, Damage> {
    let acknowledged = records.last().map_or(0, |r| r.position);
    let mut records = records.iter().peekable();
    // The empty log's record (a store opened before its first append).
    while let Some(r) = records.next_if(|r| r.position == 0) {
        if r.digest != crate::store::chain::GENESIS {
            return Err(Damage::Altered { position: 0, intact_to: 0 });
        }
    }
    let losses = store.losses().map_err(|e| Damage::Store { position: 1, why: e.to_string() })?;
    let mut losses = losses.iter().peekable();
    let mut chain = Chain::default();
    let mut intact_to = 0;
    let mut expected = 1u64;
    let end = upto.unwrap_or(u64::MAX);
    'chunks: for item in store.log_chunks() {
        let (first, bytes) = item.map_err(|e| Damage::Store { position: expected, why: e.to_string() })?;
        if first > end {
            break;
        }
        while first != expected {
            if expected > end {
                break 'chunks;
            }
            if !skip_loss(&mut losses, &mut records, &mut expected, &mut chain, &mut intact_to)? {
                return Err(Damage::Missing { first: expected, next_present: Some(first), acknowledged });
            }
        }
        for entry in chunk::entries(&bytes) {
            let entry = entry.map_err(|e| Damage::Unreadable { position: expected, why: e.to_string() })?;
            match stored_position(entry) {
                Some(p) if p == expected => {}
                Some(p) => {
                    let why = format!("it says it is position {p}");
                    return Err(Damage::Unreadable { position: expected, why });
                }
                None => {
                    return Err(Damage::Unreadable { position: expected, why: "it is not a recorded event".into() });
                }
            }
            chain.push(expected, entry);
            while let Some(r) = records.next_if(|r| r.position == expected) {
                if r.digest != chain.head().1 {
                    return Err(Damage::Altered { position: expected, intact_to });
                }
                intact_to = expected;
            }
            if expected == end {
                break 'chunks;
            }
            expected += 1;
        }
    }
    // A log that ends in a loss.
    while expected <= end && skip_loss(&mut losses, &mut records, &mut expected, &mut chain, &mut intact_to)? {}
    let (head, _) = chain.head();
    if let Some(r) = records.next() {
        if r.position <= head {
            // A record between two positions cannot be: records are heads.
            return Err(Damage::Altered { position: r.position, intact_to });
        }
        return Err(Damage::Missing { first: head + 1, next_present: None, acknowledged });
    }
    Ok(chain)
}

type Peek<'a, T> = std::iter::Peekable<std::slice::Iter<'a, T>>;

/// Goes over the loss at `expected`, if there is one: the chain takes in its
/// record, and `expected` moves past it.
fn skip_loss(
    losses: &mut Peek<'_, Loss>,
    records: &mut Peek<'_, Acknowledged>,
    expected: &mut u64,
    chain: &mut Chain,
    intact_to: &mut u64,
) -> Result<bool, Damage> {
    let Some(loss) = losses.next_if(|l| l.first == *expected) else { return Ok(false) };
    let digest = chain.head().1.then(&loss.encode());
    chain.extend(loss.last, digest, &[(loss.last, digest)]);
    while let Some(r) = records.next_if(|r| r.position <= loss.last) {
        if r.position != loss.last || r.digest != digest {
            return Err(Damage::Altered { position: r.position, intact_to: *intact_to });
        }
        *intact_to = loss.last;
    }
    *expected = loss.last + 1;
    Ok(true)
}

/// The position field (2) of a stored `RecordedEvent`, read without
/// decoding the rest.
fn stored_position(mut bytes: &[u8]) -> Option<u64> {
    use prost::encoding::decode_varint;
    while !bytes.is_empty() {
        let key = decode_varint(&mut bytes).ok()?;
        match (key >> 3, key & 7) {
            (2, 0) => return decode_varint(&mut bytes).ok(),
            (_, 0) => {
                decode_varint(&mut bytes).ok()?;
            }
            (_, 1) => bytes = bytes.get(8..)?,
            (_, 2) => {
                let len = usize::try_from(decode_varint(&mut bytes).ok()?).ok()?;
                bytes = bytes.get(len..)?;
            }
            (_, 5) => bytes = bytes.get(4..)?,
            _ => return None,
        }
    }
    None
}

/// The digest at `position`, rehashed over the stored bytes from a kept
/// checkpoint at or before it (see [`Chain::checkpoint`]).
pub fn digest_at(store: &Store, checkpoint: (u64, Digest), position: u64) -> Result<Digest, StoreError> {
    let (from, mut digest) = checkpoint;
    if from == position {
        return Ok(digest);
    }
    let mut expected = from + 1;
    for item in store.log_range(from + 1, position) {
        let (p, bytes) = item?;
        if p != expected {
            return Err(StoreError::Damaged(format!("log position {expected} is missing")));
        }
        digest = digest.then(&bytes);
        expected += 1;
    }
    if expected != position + 1 {
        if let Some(loss) = store.losses()?.into_iter().find(|l| l.contains(position)) {
            return Err(StoreError::Lost(loss));
        }
        return Err(StoreError::Damaged(format!("log position {expected} is missing")));
    }
    Ok(digest)
}
