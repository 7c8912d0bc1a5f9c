//! Bearer tokens, each bound to a role and a scope.
//!
//! A token reads `dl_<id>.<secret>`. The id names it (lists, revocation,
//! logs); the secret is 32 random bytes that the server never keeps: it
//! stores a random salt and SHA-256(salt ‖ secret) and compares hashes in
//! constant time. A fast hash is right here because the secret is random
//! and long, not a password a person chose: there is nothing to guess.
//!
//! Tokens live in the store (prefix `K`), written durably, and in memory
//! for the per-request check ([`Tokens`]), loaded once the store is open.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::access::principal::Principal;
use crate::access::role::{Role, Scope};
use crate::domain::ids::AgencyId;
use crate::domain::rejection::Rejection;
use crate::store::database::Store;
use crate::store::error::StoreError;
use crate::wire::proto;

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
        let id = hex::encode(id);
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
        // To the nanosecond, so tokens made in the same second still list in
        // the order they were made.
        let ts = |t: DateTime<Utc>| pbjson_types::Timestamp {
            seconds: t.timestamp(),
            nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
        };
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
        let time = |ts: &pbjson_types::Timestamp| {
            DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).unwrap_or(0)).ok_or("bad time")
        };
        Ok(Self {
            id: t.token_id.clone(),
            role: Role::from_proto(t.role)?,
            scope: Arc::new(Scope {
                all_agencies: t.all_agencies,
                agencies: t.agency_ids.iter().map(|a| AgencyId::stored(a)).collect::<Result<_, _>>()?,
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

/// The bearer secret a client sends, as gRPC metadata.
pub fn bearer_metadata(token: &str) -> Result<tonic::metadata::MetadataValue<tonic::metadata::Ascii>, String> {
    format!("Bearer {token}").parse().map_err(|_| "the token has characters that cannot be sent".to_owned())
}

/// The tokens as the gate and the admin service see them: set once the
/// store is open; until then every check answers UNAVAILABLE.
#[derive(Clone, Default)]
pub struct OpeningTokens(Arc<std::sync::OnceLock<Arc<Tokens>>>);

impl OpeningTokens {
    /// Makes the loaded tokens available (once).
    pub fn set(&self, tokens: Tokens) {
        let _ = self.0.set(Arc::new(tokens));
    }

    /// The tokens, or UNAVAILABLE while the store is still opening.
    pub fn get(&self) -> Result<Arc<Tokens>, Rejection> {
        self.0.get().cloned().ok_or_else(|| Rejection::Unavailable("the store is still opening; retry shortly".into()))
    }
}
