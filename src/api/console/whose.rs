//! Whose tables a page shows: one agency's, or a group's consolidated
//! ones; how a console address names it, and the report scope it asks the
//! API for.

use crate::api::console::view::encode;
use crate::wire::proto;

/// Whose tables: an agency's, or a group's consolidated ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Whose {
    Agency(String),
    Group(String),
}

impl Whose {
    /// The query parameter that names it (`agency=…` or `group=…`), percent-encoded.
    pub fn param(&self) -> String {
        match self {
            Whose::Agency(a) => format!("agency={}", encode(a)),
            Whose::Group(g) => format!("group={}", encode(g)),
        }
    }

    /// As the API's report scope.
    pub fn scope(&self) -> proto::ReportScope {
        use proto::report_scope::Scope;
        proto::ReportScope {
            scope: Some(match self {
                Whose::Agency(a) => Scope::AgencyId(a.clone()),
                Whose::Group(g) => Scope::GroupId(g.clone()),
            }),
        }
    }

    /// The agency's and the group's names, one of them empty (for forms).
    pub fn names(&self) -> (&str, &str) {
        match self {
            Whose::Agency(a) => (a, ""),
            Whose::Group(g) => ("", g),
        }
    }

    /// For headings.
    pub fn name(&self) -> String {
        match self {
            Whose::Agency(a) => a.clone(),
            Whose::Group(g) => format!("{g}（机关组合并）"),
        }
    }
}
