//! Storage: the log and everything derived from it as it is written, in
//! one sled tree. May use the domain and the wire form, nothing above.
//!
//! - [`database`]: the open store, its reads and its one atomic commit;
//! - [`wal`], [`changes`]: the commit log where a group becomes durable
//!   before sled is flushed, in the background, at checkpoints;
//! - [`keys`], [`chunk`], [`bucket`]: how keys and values are laid out;
//!   [`event_cache`]: events read back by position, a chunk decoded once;
//! - [`idempotency`]: the in-memory index of event ids and stream revisions;
//! - [`chain`], [`journal`], [`proof`]: the log's hash chain, the record of
//!   what was acknowledged kept apart from sled, and the proof at every
//!   open that the log is whole;
//! - [`loss`]: positions lost to a damaged store, which a salvaged log
//!   holds in their place so that no position is ever reused;
//! - [`writer`]: validation against the stored state and the group commit;
//! - [`ledger`]: the store and its writer together, as the services use them;
//! - [`layout`]: the stored layouts of earlier versions, read once and
//!   rewritten at open;
//! - [`error`]: what can go wrong.
//!
//! The sled tree holds, by key prefix:
//!
//! | prefix | key                          | value                           |
//! |--------|------------------------------|---------------------------------|
//! | `L`    | first position (u64 BE)      | a chunk of consecutive recorded |
//! |        |                              | events (length-delimited proto) |
//! | `J`    | first position (u64 BE)      | the event ids of that log chunk |
//! |        |                              | (16 bytes each, in order)       |
//! | `B`    | agency `\0` first subject    | a bucket of subject records in  |
//! |        |                              | id order ([`crate::store::bucket`])    |
//! | `T`    | agency `\0` year (u16 BE)    | the month's tally (postcard)    |
//! |        | month (u8)                   |                                 |
//! | `G`    | group id                     | its agencies and member groups  |
//! |        |                              | (postcard)                      |
//! | `C`    | sequence number (u64 BE)     | a holiday schedule an admin     |
//! |        |                              | added (TOML, as sent)           |
//! | `K`    | token id                     | the access token (proto         |
//! |        |                              | `StoredToken`: a salted hash)   |
//! | `X`    | first position (u64 BE)      | positions lost to damage and    |
//! |        |                              | salvaged around (`LostRange`)   |
//! | `V`    | a layout change's name       | present once the store's records|
//! |        |                              | are in that layout ([`layout`]) |
//!
//! Stores written before buckets kept one `S` key per subject (agency `\0`
//! subject → record); [`database::Store::open`] moves them into buckets once.
//!
//! One tree, so that a group of batches is written atomically with
//! `apply_batch`, which sled recovers all-or-nothing and which, unlike a
//! transaction, never re-runs. Only the writer thread writes.
//!
//! The log is stored in chunks of up to [`chunk::CHUNK`] consecutive events under
//! the position of the first: sled's cost is per key (each insert copies a
//! node), so one key per chunk instead of one per event is what lets a
//! group of thousands of events commit quickly. A point read skips to its
//! entry by the length prefixes without decoding the others. For the same
//! reason the idempotency index is stored per chunk too (`J`: the chunk's
//! event ids) and held in memory as a complete map from id to position
//! ([`crate::store::idempotency`]), rebuilt from these runs at open: a lookup costs no
//! sled read and an append no extra sled key per event. And subject
//! records are packed by id range into buckets ([`crate::store::bucket`]), so a
//! run of new applications costs a key per bucket, not per application.

pub mod bucket;
pub mod chain;
pub mod changes;
pub mod chunk;
pub mod database;
pub mod error;
pub mod event_cache;
pub mod idempotency;
pub mod journal;
pub mod keys;
pub mod layout;
pub mod ledger;
pub mod loss;
pub mod proof;
pub mod subjects;
pub mod wal;
pub mod writer;
