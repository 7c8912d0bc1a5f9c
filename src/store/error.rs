//! What can go wrong in the store. After a write or sync failure the
//! service stops acknowledging appends.

/// A storage failure. The service stops acknowledging appends after one.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("damaged store: {0}")]
    Damaged(String),
    /// The commit log does not read: what it held
    /// cannot be trusted, while sled's file may still be intact.
    #[error("damaged store: commit log {0}")]
    DamagedCommitLog(String),
    /// A position that was lost to damage and salvaged around: nothing is
    /// there, and the log has no digest at it.
    #[error("{0}; nothing is recorded there")]
    Lost(crate::store::loss::Loss),
}

/// The store holds something it cannot read back.
pub fn damaged(what: &str) -> StoreError {
    StoreError::Damaged(what.to_owned())
}
