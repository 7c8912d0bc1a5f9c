//! Who is calling, and what they may do: every check happens before
//! anything is read, so a refused request reveals nothing: asking for an
//! unknown agency and for a real one outside the scope get the same answer.

use std::sync::Arc;

use tonic::{Request, Status};

use crate::access::role::{Role, Scope};
use crate::domain::ids::AgencyId;
use crate::domain::rejection::Rejection;

/// Who is calling: a token's holder, or anyone when auth is off.
#[derive(Clone, Debug)]
pub enum Principal {
    /// `serve --no-auth`: a development mode in which everything is allowed.
    Anyone,
    Token {
        id: String,
        role: Role,
        scope: Arc<Scope>,
    },
}

impl Principal {
    /// The caller of a request that passed the gate.
    pub fn of<T>(request: &Request<T>) -> Result<Self, Status> {
        admitted(request)
    }

    /// The token id for logs ("-" without auth).
    pub fn name(&self) -> &str {
        match self {
            Self::Anyone => "-",
            Self::Token { id, .. } => id,
        }
    }

    fn denied(&self, what: String) -> Rejection {
        Rejection::Denied(format!("token {} may not {what}", self.name()))
    }

    /// Appending events for `agency`.
    pub fn may_write(&self, agency: &AgencyId) -> Result<(), Rejection> {
        match self {
            Self::Anyone => Ok(()),
            Self::Token { role: Role::Writer, scope, .. } if scope.agencies.contains(agency) => Ok(()),
            _ => Err(self.denied(format!("append events for agency {agency}"))),
        }
    }

    /// Reading `agency`'s applications, reports and deadlines.
    pub fn may_read(&self, agency: &AgencyId) -> Result<(), Rejection> {
        match self {
            Self::Anyone | Self::Token { role: Role::Admin, .. } => Ok(()),
            Self::Token { scope, .. } if scope.all_agencies || scope.agencies.contains(agency) => Ok(()),
            _ => Err(self.denied(format!("read agency {agency}"))),
        }
    }

    /// [`Self::may_write`] for an id as sent; one that does not parse is
    /// left to validation for a caller who may write anything, and refused
    /// otherwise (it cannot be in a scope).
    pub fn may_write_id(&self, agency: &str) -> Result<(), Rejection> {
        match (self, AgencyId::parse(agency)) {
            (_, Ok(a)) => self.may_write(&a),
            (Self::Anyone, Err(_)) => Ok(()),
            (_, Err(_)) => Err(self.denied(format!("append events for agency {agency:?}"))),
        }
    }

    /// [`Self::may_read`] for an id as sent (see [`Self::may_write_id`]).
    pub fn may_read_id(&self, agency: &str) -> Result<(), Rejection> {
        match (self, AgencyId::parse(agency)) {
            (_, Ok(a)) => self.may_read(&a),
            (Self::Anyone | Self::Token { role: Role::Admin, .. }, Err(_)) => Ok(()),
            (_, Err(_)) => Err(self.denied(format!("read agency {agency:?}"))),
        }
    }

    /// Reading every agency at once (the whole log).
    pub fn may_read_all(&self) -> Result<(), Rejection> {
        match self {
            Self::Anyone | Self::Token { role: Role::Admin, .. } => Ok(()),
            Self::Token { role: Role::Reader, scope, .. } if scope.all_agencies => Ok(()),
            _ => Err(self.denied("read every agency".into())),
        }
    }

    /// Reading a group's consolidated tables.
    pub fn may_read_group(&self, group: &str) -> Result<(), Rejection> {
        match self {
            Self::Anyone | Self::Token { role: Role::Admin, .. } => Ok(()),
            Self::Token { role: Role::Reader, scope, .. } if scope.all_agencies || scope.groups.contains(group) => {
                Ok(())
            }
            _ => Err(self.denied(format!("read group {group}"))),
        }
    }

    /// Administration: tokens, groups, backups, verification.
    pub fn must_be_admin(&self, what: &str) -> Result<(), Rejection> {
        match self {
            Self::Anyone | Self::Token { role: Role::Admin, .. } => Ok(()),
            _ => Err(self.denied(what.into())),
        }
    }
}

/// What the gate put into a request's extensions.
pub(crate) fn admitted<E: Clone + Send + Sync + 'static, T>(request: &Request<T>) -> Result<E, Status> {
    request
        .extensions()
        .get::<E>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("no credentials were checked for this request"))
}
