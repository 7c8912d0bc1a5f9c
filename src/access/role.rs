//! What a token may do (its role) and over which agencies and groups (its
//! scope).

use std::collections::BTreeSet;

use crate::domain::ids::AgencyId;
use crate::wire::proto;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Appends events for, and reads, its own agencies.
    Writer,
    /// Reads applications, reports and deadlines of its agencies or groups.
    Reader,
    /// Tokens, groups, backups, verification; reads all, appends nothing.
    Admin,
}

impl Role {
    pub fn from_proto(r: i32) -> Result<Self, String> {
        match proto::Role::try_from(r) {
            Ok(proto::Role::Writer) => Ok(Self::Writer),
            Ok(proto::Role::Reader) => Ok(Self::Reader),
            Ok(proto::Role::Admin) => Ok(Self::Admin),
            Ok(proto::Role::Unspecified) => Err("is required: ROLE_WRITER, ROLE_READER or ROLE_ADMIN".into()),
            Err(_) => Err(format!("{r} is not a known Role")),
        }
    }

    pub fn to_proto(self) -> proto::Role {
        match self {
            Self::Writer => proto::Role::Writer,
            Self::Reader => proto::Role::Reader,
            Self::Admin => proto::Role::Admin,
        }
    }
}

/// The agencies and groups a token covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    pub all_agencies: bool,
    pub agencies: BTreeSet<AgencyId>,
    pub groups: BTreeSet<String>,
}
