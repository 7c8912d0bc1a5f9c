//! The domain: the vocabulary and the rules of open-government-information
//! applications, in the words of the Regulations and the report. Uses
//! nothing of the crate outside this folder: no storage, no wire form, no
//! report, no API.
//!
//! - the vocabulary: [`date`], [`ids`], [`codes`];
//! - what is recorded: [`event`], and why a request may be refused:
//!   [`rejection`], [`rule`] (a broken rule of the recorded state);
//! - the rules of each kind of subject: [`application`] (e.g. outcome 4.3
//!   needs a supplement received), [`review`], [`proactive`] (section 二),
//!   [`report_text`] (the agency's own text of the annual report),
//!   [`submitted_table`] (a table a unit submitted to its superior);
//! - [`subject`]: a stream of events folded, with its corrections;
//! - [`tally`]: what each folded subject contributes to its year's counts.

pub mod application;
pub mod codes;
pub mod date;
pub mod event;
pub mod ids;
pub mod proactive;
pub mod rejection;
pub mod report_text;
pub mod review;
pub mod rule;
pub mod subject;
pub mod submitted_table;
pub mod tally;
