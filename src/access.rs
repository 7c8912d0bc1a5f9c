//! Who may do what: bearer tokens, each bound to a role and a scope.
//!
//! A token reads `dl_<id>.<secret>`. The id names it (lists, revocation,
//! logs); the secret is 32 random bytes that the server never keeps: it
//! stores a random salt and SHA-256(salt ‖ secret) and compares hashes in
//! constant time. A fast hash is right here because the secret is random
//! and long, not a password a person chose: there is nothing to guess.
//!
//! Tokens live in the store (prefix `K`), written durably, and in memory
//! for the per-request check. Every check happens before anything is read,
//! so a refused request reveals nothing: asking for an unknown agency and
//! for a real one outside the scope get the same answer.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::ids::AgencyId;
use crate::ledger::OpeningLedger;
use crate::proto;
use crate::rejection::Rejection;
use crate::store::{Store, StoreError};

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

/// A token as stored: who holds it, what it may do, and the salted hash of
/// its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub id: String,
    pub role: Role,
    /// Shared with every caller it admits: a writer's scope may name dozens
    /// of agencies, and a call should not copy them.
    pub scope: Arc<Scope>,
    pub label: String,
    pub created: DateTime<Utc>,
    pub revoked: Option<DateTime<Utc>>,
    salt: [u8; 16],
    hash: [u8; 32],
}

/// The public prefix of every token.
const PREFIX: &str = "dl_";

impl Token {
    /// A new token and its bearer secret (the only time it exists in full).
    pub fn issue(role: Role, scope: Scope, label: String) -> (Self, String) {
        let mut id = [0u8; 8];
        let mut secret = [0u8; 32];
        let mut salt = [0u8; 16];
        for buf in [&mut id[..], &mut secret[..], &mut salt[..]] {
            getrandom::fill(buf).expect("the operating system's random source works");
        }
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        let token = Self {
            id: id.clone(),
            role,
            scope: Arc::new(scope),
            label,
            created: Utc::now(),
            revoked: None,
            salt,
            hash: [0; 32],
        };
        let hash = token.hash_of(&secret);
        (Self { hash, ..token }, format!("{PREFIX}{id}.{secret}"))
    }

    fn hash_of(&self, secret: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(secret.as_bytes());
        h.finalize().into()
    }

    /// Whether `secret` is this token's, in time independent of the bytes.
    fn matches(&self, secret: &str) -> bool {
        bool::from(self.hash_of(secret).ct_eq(&self.hash))
    }

    pub fn to_proto(&self) -> proto::Token {
        let ts = |t: DateTime<Utc>| pbjson_types::Timestamp { seconds: t.timestamp(), nanos: 0 };
        proto::Token {
            token_id: self.id.clone(),
            role: self.role.to_proto().into(),
            agency_ids: self.scope.agencies.iter().map(ToString::to_string).collect(),
            all_agencies: self.scope.all_agencies,
            group_ids: self.scope.groups.iter().cloned().collect(),
            label: self.label.clone(),
            create_time: Some(ts(self.created)),
            revoke_time: self.revoked.map(ts),
        }
    }

    pub fn to_stored(&self) -> proto::StoredToken {
        proto::StoredToken { token: Some(self.to_proto()), salt: self.salt.to_vec(), hash: self.hash.to_vec() }
    }

    pub fn from_stored(stored: &proto::StoredToken) -> Result<Self, String> {
        let t = stored.token.as_ref().ok_or("no token")?;
        let time = |ts: &pbjson_types::Timestamp| DateTime::from_timestamp(ts.seconds, 0).ok_or("bad time");
        Ok(Self {
            id: t.token_id.clone(),
            role: Role::from_proto(t.role)?,
            scope: Arc::new(Scope {
                all_agencies: t.all_agencies,
                agencies: t.agency_ids.iter().map(|a| AgencyId::parse(a)).collect::<Result<_, _>>()?,
                groups: t.group_ids.iter().cloned().collect(),
            }),
            label: t.label.clone(),
            created: time(t.create_time.as_ref().ok_or("no create time")?)?,
            revoked: t.revoke_time.as_ref().map(time).transpose()?,
            salt: stored.salt.as_slice().try_into().map_err(|_| "salt is not 16 bytes")?,
            hash: stored.hash.as_slice().try_into().map_err(|_| "hash is not 32 bytes")?,
        })
    }
}

/// Every token, in memory for the per-request check, written through to
/// the store.
pub struct Tokens {
    by_id: RwLock<BTreeMap<String, Token>>,
}

impl Tokens {
    /// Loads the stored tokens.
    pub fn load(store: &Store) -> Result<Self, StoreError> {
        let by_id = store
            .tokens()?
            .into_iter()
            .map(|stored| {
                Token::from_stored(&stored)
                    .map(|t| (t.id.clone(), t))
                    .map_err(|e| StoreError::Damaged(format!("token: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { by_id: RwLock::new(by_id) })
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.read().expect("lock").is_empty()
    }

    /// Stores a token durably, then makes it usable.
    pub fn put(&self, store: &Store, token: Token) -> Result<(), StoreError> {
        store.put_token(&token.id, &token.to_stored())?;
        self.by_id.write().expect("lock").insert(token.id.clone(), token);
        Ok(())
    }

    /// Revokes a token (durably) and returns it; None if there is none.
    pub fn revoke(&self, store: &Store, id: &str) -> Result<Option<Token>, StoreError> {
        let Some(mut token) = self.by_id.read().expect("lock").get(id).cloned() else { return Ok(None) };
        token.revoked.get_or_insert_with(Utc::now);
        self.put(store, token.clone())?;
        Ok(Some(token))
    }

    /// Tokens in id order, after `after`.
    pub fn list(&self, after: &str, limit: usize) -> Vec<Token> {
        use std::ops::Bound::{Excluded, Unbounded};
        let by_id = self.by_id.read().expect("lock");
        let from = if after.is_empty() { Unbounded } else { Excluded(after.to_owned()) };
        by_id.range((from, Unbounded)).take(limit).map(|(_, t)| t.clone()).collect()
    }

    /// Whether a token that authenticated earlier is still live (not
    /// revoked since).
    pub fn still_live(&self, id: &str) -> Result<(), Rejection> {
        match self.by_id.read().expect("lock").get(id) {
            Some(token) if token.revoked.is_none() => Ok(()),
            _ => Err(Rejection::Unauthenticated("the token has been revoked".into())),
        }
    }

    /// The live token a bearer secret belongs to.
    pub fn authenticate(&self, bearer: &str) -> Result<Principal, Rejection> {
        let unauthenticated = || Rejection::Unauthenticated("the token is not valid".into());
        let rest = bearer.strip_prefix(PREFIX).ok_or_else(unauthenticated)?;
        let (id, secret) = rest.split_once('.').ok_or_else(unauthenticated)?;
        let by_id = self.by_id.read().expect("lock");
        let token = by_id.get(id).ok_or_else(unauthenticated)?;
        // Check the secret before revocation, so a guess learns nothing.
        if !token.matches(secret) {
            return Err(unauthenticated());
        }
        if token.revoked.is_some() {
            return Err(Rejection::Unauthenticated("the token has been revoked".into()));
        }
        Ok(Principal::Token { id: token.id.clone(), role: token.role, scope: token.scope.clone() })
    }
}

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
    /// The caller of a request that passed the [`Gate`].
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

/// Requests per second allowed to one token (and its burst: twice that).
pub type RateLimit = NonZeroU32;

/// The interceptor in front of every service: finds the caller's token,
/// applies its rate limit, and hands the [`Principal`] to the handler,
/// which checks the scope against what the request names.
#[derive(Clone)]
pub struct Gate {
    ledger: OpeningLedger,
    auth: bool,
    limiter: Option<Arc<DefaultKeyedRateLimiter<String>>>,
}

impl Gate {
    pub fn new(ledger: OpeningLedger, auth: bool, rate: Option<RateLimit>) -> Self {
        let limiter = rate.map(|r| {
            let burst = r.saturating_mul(NonZeroU32::new(2).expect("2 is not zero"));
            Arc::new(RateLimiter::keyed(Quota::per_second(r).allow_burst(burst)))
        });
        Self { ledger, auth, limiter }
    }

    fn principal(&self, request: &Request<()>) -> Result<Principal, Rejection> {
        if !self.auth {
            return Ok(Principal::Anyone);
        }
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| Rejection::Unauthenticated("no `authorization: Bearer <token>` metadata".into()))?;
        let bearer = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .ok_or_else(|| Rejection::Unauthenticated("the authorization metadata is not `Bearer <token>`".into()))?;
        self.ledger.get()?.tokens().authenticate(bearer.trim())
    }
}

impl Interceptor for Gate {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let principal = self.principal(&request).map_err(crate::rejection::refuse)?;
        let admission = Admission {
            ledger: self.ledger.clone(),
            authenticated: matches!(principal, Principal::Token { .. }),
            key: principal.name().to_owned(),
            limiter: self.limiter.clone(),
        };
        admission.check_rate().map_err(crate::rejection::refuse)?;
        request.extensions_mut().insert(principal);
        request.extensions_mut().insert(admission);
        Ok(request)
    }
}

/// How the [`Gate`] admitted a call, kept so that a stream can admit each
/// of its messages the same way: a message counts against its token's rate
/// like a call does, and a token revoked while its stream is open stops
/// being honoured at the next message.
#[derive(Clone)]
pub struct Admission {
    ledger: OpeningLedger,
    /// False when auth is off.
    authenticated: bool,
    /// The token id ("-" when auth is off): the rate limit's key.
    key: String,
    limiter: Option<Arc<DefaultKeyedRateLimiter<String>>>,
}

impl Admission {
    /// The admission of a request that passed the [`Gate`].
    pub fn of<T>(request: &Request<T>) -> Result<Self, Status> {
        admitted(request)
    }

    /// Admits one more message of the stream.
    pub fn admit(&self) -> Result<(), Rejection> {
        if self.authenticated {
            self.ledger.get()?.tokens().still_live(&self.key)?;
        }
        self.check_rate()
    }

    fn check_rate(&self) -> Result<(), Rejection> {
        match &self.limiter {
            Some(limiter) => limiter.check_key(&self.key).map_err(|not_until| Rejection::Exhausted {
                what: format!("the request rate of token {}", self.key),
                retry_after: not_until
                    .wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default())),
            }),
            None => Ok(()),
        }
    }
}

/// What the [`Gate`] put into a request's extensions.
fn admitted<E: Clone + Send + Sync + 'static, T>(request: &Request<T>) -> Result<E, Status> {
    request
        .extensions()
        .get::<E>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("no credentials were checked for this request"))
}

/// The bearer secret a client sends, as gRPC metadata.
pub fn bearer_metadata(token: &str) -> Result<tonic::metadata::MetadataValue<tonic::metadata::Ascii>, String> {
    format!("Bearer {token}").parse().map_err(|_| "the token has characters that cannot be sent".to_owned())
}
