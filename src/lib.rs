//! disclosure-ledger records every open-government-information application
//! (依申请公开) and every step of its handling as events in an append-only
//! log, and derives the annual report tables from that log.
//!
//! The chapters, each a folder, in the order to read them. Each may use
//! only the chapters before it (`tests/layers.rs` checks this):
//!
//! 1. [`domain`]: the vocabulary and rules of the domain (dates, ids, codes,
//!    events, the rules of applications, review cases, section 二 and the
//!    report's text, a stream folded with its corrections, the counts a
//!    subject contributes to its year);
//! 2. [`wire`]: the protobuf schema and the conversions of domain types to
//!    and from it (the log stores events in that form), refusals as gRPC
//!    statuses;
//! 3. [`store`]: the sled layout, buckets, the idempotency index, the
//!    writer and its group commit, the ledger;
//! 4. [`deadline`]: the working-day calendar, statutory deadlines,
//!    timeliness;
//! 5. [`report`]: templates, tables and their checks, replay, derivation,
//!    recount, renderers, the annual report and its publication formats;
//! 6. [`access`]: tokens, roles, scopes, and the gate in front of every
//!    service;
//! 7. [`ops`]: backup and restore, metrics, logging, ledger import;
//! 8. [`api`]: each gRPC service, page tokens, the server and its `Config`;
//! 9. [`cli`]: the command line, local and against a server.

#![forbid(unsafe_code)]

pub mod access;
pub mod api;
pub mod cli;
pub mod deadline;
pub mod domain;
pub mod ops;
pub mod report;
pub mod store;
pub mod wire;
