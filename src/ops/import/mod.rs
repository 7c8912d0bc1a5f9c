//! Importing a ledger (台账) of past applications: one row per application
//! (number, receipt date, applicant type, channel, status, conclusion date,
//! outcome), read from CSV (UTF-8 or GB18030, as Excel writes it), XLSX or
//! JSON Lines, turned into the events that tell the same story, and sent
//! through the normal append path.
//!
//! Every event id is derived from the agency, the application number and
//! the step, so importing the same file twice changes nothing, and a row
//! changed since an earlier import is refused (its ids are taken by other
//! content) instead of counted twice.
//!
//! Sending them is the command line's (`import`): a file is all
//! or nothing, every row checked at the edge and then by the server itself
//! (`validate_only`) before the first event is written.

pub mod layout;
pub mod row;
pub mod table;

pub use layout::{Field, Layout, Mapping};
pub use row::{Ending, LedgerRow, events, parse_row};
pub use table::{Table, read, read_csv, read_jsonl};
