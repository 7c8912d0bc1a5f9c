//! The API: each gRPC service, the conversions its answers share, AIP-158
//! page tokens, the HTTP/JSON face, the console, the server (health,
//! reflection, drain) and its settings.
//! May use everything below it; only the command line uses it.

pub mod admin_service;
pub mod application;
pub mod config;
pub mod connections;
pub mod console;
pub mod deadline_service;
pub mod http;
pub mod ledger_service;
pub mod page;
pub mod report;
pub mod report_service;
pub mod rollup;
pub mod server;
pub mod submitted_table;
