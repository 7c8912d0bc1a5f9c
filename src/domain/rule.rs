//! A broken rule of the handling of an application or a review case: the
//! domain's reason to refuse an event, before it is tied to a request field.

use std::fmt;

/// Which rule an event breaks, and on which of its fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// A short machine-readable name, e.g. `CONCLUDED_BEFORE_RECEIPT`.
    pub rule: &'static str,
    /// The offending field of the event, relative to the event
    /// (e.g. `occurred_on`, `application_concluded.outcome`).
    pub field: &'static str,
    pub description: String,
}

impl Broken {
    pub fn new(rule: &'static str, field: &'static str, description: impl Into<String>) -> Self {
        Self { rule, field, description: description.into() }
    }
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}
