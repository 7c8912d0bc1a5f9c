//! disclosure-ledger records every open-government-information application
//! (依申请公开) and every step of its handling as events in an append-only
//! log, and derives the annual report tables from that log.
//!
//! Read it in this order:
//!
//! - the vocabulary: [`date`], [`ids`], [`codes`];
//! - what is recorded: [`event`], and the rules it must obey: [`rule`],
//!   [`application`], [`review`], [`proactive`] (section 二), [`subject`] (a stream folded with its
//!   corrections);
//! - how it is stored: [`store`] (the sled layout), [`bucket`] (subject
//!   records packed by id range), [`known`] (the
//!   in-memory idempotency index and stream filter), [`writer`] (validation
//!   and group commit on one thread), [`ledger`] (the two together);
//! - the annual report: [`template`] (rows and labels of each version),
//!   [`tally`] (per-year counts kept by the writer), [`proactive_table`]
//!   (section 二), [`report`] (the tables
//!   and their checks), [`replay`] (the log folded as of any position),
//!   [`derivation`] (a report from the store), [`recount`] (every table
//!   rebuilt from the raw log, fast), [`render`] (TSV to HTML),
//!   [`annual_report`] (the whole report: tables and the agency's text),
//!   [`publication`] (the whole report as HTML, DOCX and XLSX);
//! - deadlines: [`calendar`] (the official working-day calendar),
//!   [`deadline`] (an application's statutory deadline, yearly timeliness);
//! - how it is served: [`rejection`] (errors as gRPC statuses), [`page`]
//!   (AIP-158 page tokens), [`service`], [`report_service`] and
//!   [`deadline_service`] (the gRPC API), [`server`] (health, reflection,
//!   drain), [`config`], [`telemetry`];
//! - operations: [`access`] (tokens, roles, scopes), [`admin_service`],
//!   [`backup`] (online backup and restore), [`prometheus`] (metrics),
//!   [`import`] (a ledger of past applications turned into events);
//! - the command line: [`cli`], [`client`].

#![forbid(unsafe_code)]

pub mod access;
pub mod admin_service;
pub mod annual_report;
pub mod application;
pub mod backup;
pub mod bucket;
pub mod calendar;
pub mod cli;
pub mod client;
pub mod codes;
pub mod config;
pub mod date;
pub mod deadline;
pub mod deadline_service;
pub mod derivation;
pub mod event;
pub mod ids;
pub mod import;
pub mod known;
pub mod ledger;
pub mod page;
pub mod proactive;
pub mod proactive_table;
pub mod prometheus;
pub mod proto;
pub mod publication;
pub mod recount;
pub mod rejection;
pub mod render;
pub mod replay;
pub mod report;
pub mod report_service;
pub mod review;
pub mod rule;
pub mod server;
pub mod service;
pub mod store;
pub mod subject;
pub mod tally;
pub mod telemetry;
pub mod template;
pub mod writer;
