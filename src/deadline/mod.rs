//! Deadlines: the official working-day calendar, each application's
//! statutory deadline, and a year's timeliness. May use the domain only.

pub mod calendar;
pub mod statutory;
pub mod timeliness;
