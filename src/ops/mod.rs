//! Operations: online backup and restore, salvage of a damaged store,
//! Prometheus metrics, logging, and a ledger of past applications turned
//! into events. May use everything
//! below the API: the domain, the wire form, storage, the report, deadlines
//! and access.

pub mod backup;
pub mod import;
pub mod metrics;
pub mod salvage;
pub mod telemetry;
