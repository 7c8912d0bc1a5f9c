//! Positions lost to a damaged store. `salvage` copies the intact start of
//! a damaged log into a new store and records the rest as lost: one range,
//! stored under `X` in the log's place and chained into the log's digest
//! like an event, so that the digest still names the whole history, the
//! proof at open still sees every position accounted for, and the next
//! append goes after the last position ever acknowledged (positions are
//! never reused: a client holding position 1,901 of the old store never
//! sees another event there).

use chrono::{DateTime, Utc};
use prost::Message as _;

use crate::wire::proto;

/// Longest reason kept, in characters.
const MAX_REASON: usize = 500;

/// Positions `first..=last`, lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loss {
    pub first: u64,
    pub last: u64,
    pub salvaged_at: DateTime<Utc>,
    /// What was found wrong with the old store.
    pub reason: String,
}

impl Loss {
    pub fn new(first: u64, last: u64, salvaged_at: DateTime<Utc>, reason: &str) -> Self {
        Self { first, last, salvaged_at, reason: reason.chars().take(MAX_REASON).collect() }
    }

    /// How many positions.
    pub fn positions(&self) -> u64 {
        self.last - self.first + 1
    }

    pub fn contains(&self, position: u64) -> bool {
        (self.first..=self.last).contains(&position)
    }

    pub fn to_proto(&self) -> proto::LostRange {
        proto::LostRange {
            first_position: self.first,
            last_position: self.last,
            salvage_time: Some(pbjson_types::Timestamp {
                seconds: self.salvaged_at.timestamp(),
                nanos: self.salvaged_at.timestamp_subsec_nanos() as i32,
            }),
            reason: self.reason.clone(),
        }
    }

    /// From the wire (a backup), checked.
    pub fn from_proto(wire: &proto::LostRange) -> Result<Self, String> {
        if wire.first_position == 0 || wire.last_position < wire.first_position {
            return Err(format!(
                "a lost range from {} to {} is not a range of positions",
                wire.first_position, wire.last_position
            ));
        }
        let ts = wire.salvage_time.unwrap_or_default();
        let salvaged_at = DateTime::from_timestamp(ts.seconds, ts.nanos.max(0) as u32).unwrap_or_default();
        Ok(Self::new(wire.first_position, wire.last_position, salvaged_at, &wire.reason))
    }

    /// The bytes stored, and chained into the log's digest.
    pub fn encode(&self) -> Vec<u8> {
        self.to_proto().encode_to_vec()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let wire = proto::LostRange::decode(bytes).map_err(|e| format!("an undecodable lost range: {e}"))?;
        Self::from_proto(&wire)
    }
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "log positions {} to {} were lost ({}) and salvaged around on {}",
            self.first,
            self.last,
            self.reason,
            self.salvaged_at.format("%Y-%m-%d %H:%M UTC")
        )
    }
}

/// The loss at or after `position`, of `losses` (oldest first).
pub fn next_at_or_after(losses: &[Loss], position: u64) -> Option<&Loss> {
    losses.iter().find(|l| l.last >= position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loss_reads_back_as_stored() {
        let loss = Loss::new(1101, 2000, Utc::now(), &"x".repeat(900));
        assert_eq!(loss.reason.chars().count(), MAX_REASON);
        assert_eq!(Loss::decode(&loss.encode()), Ok(loss.clone()));
        assert_eq!(loss.positions(), 900);
        assert!(
            Loss::from_proto(&proto::LostRange { first_position: 5, last_position: 4, ..Default::default() }).is_err()
        );
        let losses = [Loss::new(3, 4, Utc::now(), ""), loss];
        assert_eq!(next_at_or_after(&losses, 1).map(|l| l.first), Some(3));
        assert_eq!(next_at_or_after(&losses, 5).map(|l| l.first), Some(1101));
        assert!(next_at_or_after(&losses, 2001).is_none());
    }
}
