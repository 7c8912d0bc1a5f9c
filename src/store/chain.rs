//! The log's hash chain: the digest at a position is SHA-256 of the digest
//! before it and the event's stored bytes, so an edit anywhere changes the
//! digest at every later position. The digest at the head names the whole
//! history up to it: a published table that carries it can be checked
//! against any backup. In memory the chain is its head and a checkpoint
//! every [`CHECKPOINT_EVERY`] positions, from which the digest at any
//! position is a short rehash away.

use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest as _, Sha256};

/// The digest of the log up to a position.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub [u8; 32]);

/// The digest of the empty log (position 0).
pub const GENESIS: Digest = Digest([0; 32]);

/// How far apart the kept checkpoints are, in positions.
pub const CHECKPOINT_EVERY: u64 = 4096;

impl Digest {
    /// The digest after one more event, given its stored bytes.
    pub fn then(&self, stored: &[u8]) -> Self {
        Self(Sha256::new().chain_update(self.0).chain_update(stored).finalize().into())
    }

    /// Lower-case hex, as published.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// From the published hex.
    pub fn from_hex(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{s:?} is not a log digest (64 hex digits)"));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|e| format!("{s:?} is not a log digest: {e}"))?;
        Ok(Self(out))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

/// The chain as far as the log goes.
#[derive(Clone, Debug)]
pub struct Chain {
    head: u64,
    digest: Digest,
    /// The digest at 0 and at every multiple of [`CHECKPOINT_EVERY`] up to
    /// the head.
    checkpoints: BTreeMap<u64, Digest>,
}

impl Default for Chain {
    fn default() -> Self {
        Self { head: 0, digest: GENESIS, checkpoints: BTreeMap::from([(0, GENESIS)]) }
    }
}

impl Chain {
    /// The head position and the digest at it.
    pub fn head(&self) -> (u64, Digest) {
        (self.head, self.digest)
    }

    /// Adds the next event's stored bytes.
    pub fn push(&mut self, position: u64, stored: &[u8]) {
        debug_assert_eq!(position, self.head + 1, "the chain grows one position at a time");
        self.digest = self.digest.then(stored);
        self.head = position;
        if position.is_multiple_of(CHECKPOINT_EVERY) {
            self.checkpoints.insert(position, self.digest);
        }
    }

    /// Moves the head to `head` with `digest`, as computed over the stored
    /// bytes of the positions after the old head (by the writer, which
    /// passes the checkpoints it crossed on the way).
    pub fn extend(&mut self, head: u64, digest: Digest, checkpoints: &[(u64, Digest)]) {
        self.checkpoints.extend(checkpoints.iter().copied());
        self.head = head;
        self.digest = digest;
    }

    /// The nearest kept digest at or before `position` (at most the head).
    pub fn checkpoint(&self, position: u64) -> (u64, Digest) {
        if position >= self.head {
            return (self.head, self.digest);
        }
        let (p, d) = self.checkpoints.range(..=position).next_back().expect("0 is always kept");
        (*p, *d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_changes_every_later_digest() {
        let events: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 20]).collect();
        let run = |events: &[Vec<u8>]| {
            let mut chain = Chain::default();
            let mut digests = Vec::new();
            for (i, e) in events.iter().enumerate() {
                chain.push(i as u64 + 1, e);
                digests.push(chain.head().1);
            }
            digests
        };
        let before = run(&events);
        let mut edited = events.clone();
        edited[3][7] ^= 1;
        let after = run(&edited);
        assert_eq!(before[..3], after[..3]);
        assert!(before[3..].iter().zip(&after[3..]).all(|(a, b)| a != b));
        assert_eq!(Digest::from_hex(&before[9].hex()), Ok(before[9]));
        assert!(Digest::from_hex("xyz").is_err());
    }

    #[test]
    fn checkpoints_are_kept_every_so_often() {
        let mut chain = Chain::default();
        for p in 1..=CHECKPOINT_EVERY * 2 + 5 {
            chain.push(p, &p.to_be_bytes());
        }
        assert_eq!(chain.checkpoint(CHECKPOINT_EVERY + 3).0, CHECKPOINT_EVERY);
        assert_eq!(chain.checkpoint(10).0, 0);
        assert_eq!(chain.checkpoint(u64::MAX).0, CHECKPOINT_EVERY * 2 + 5);
    }
}
