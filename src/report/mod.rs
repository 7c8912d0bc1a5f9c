//! The annual report, derived from the log and from nothing typed by hand.
//! May use the domain, the wire form and storage.
//!
//! - [`template`]: the rows and labels of each version of the tables;
//! - [`period`]: the year, half, quarter, month or range a table counts;
//! - [`tables`]: the tables of sections 三 and 四, the carried-over counts,
//!   and their checks;
//! - [`proactive_table`]: section 二;
//! - [`replay`]: the log folded as of any position; [`as_of`]: counted
//!   back from the head to a recent one; [`derivation`]: a
//!   report from the store; [`recount`]: every table rebuilt from the raw
//!   log, fast;
//! - [`exchange`]: a table in the exchange format (versioned JSON) that
//!   superiors collect;
//! - [`rollup`]: a group's members and their checked total;
//! - [`submission`]: a table a unit submits (JSON, or a published
//!   report's text or TSV), checked identity by identity;
//! - [`render`]: tables as TSV and HTML; [`annual_report`]: the whole
//!   report, tables and the agency's text; [`publication`]: the whole
//!   report as HTML, DOCX and XLSX.

pub mod annual_report;
pub mod as_of;
pub mod derivation;
pub mod exchange;
pub mod period;
pub mod proactive_table;
pub mod publication;
pub mod recount;
pub mod render;
pub mod replay;
pub mod rollup;
pub mod submission;
pub mod tables;
pub mod template;
