//! AIP-158 pagination: page sizes, and opaque page tokens that say where
//! the previous page stopped and are bound to the request they came from.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::ids::SubjectId;
use crate::domain::rejection::{FieldIssue, Rejection};

/// Default and largest page.
pub const DEFAULT_SIZE: usize = 100;
pub const MAX_SIZE: usize = 1000;

/// The page size a request asks for (0: the default; capped).
pub fn size(asked: i32) -> Result<usize, FieldIssue> {
    match asked {
        0 => Ok(DEFAULT_SIZE),
        n if n < 0 => Err(FieldIssue::new("page_size", "must not be negative")),
        n => Ok((n as usize).min(MAX_SIZE)),
    }
}

/// The token for the page after `after`, for a request with `query`.
pub fn token<Q: Serialize>(query: &Q, after: &SubjectId) -> String {
    key_token(query, after)
}

/// Where a page starts: `None` for the first page; refused if the token is
/// not ours or belongs to a request with other parameters.
pub fn after<Q: Serialize + DeserializeOwned + PartialEq>(
    token: &str,
    query: &Q,
) -> Result<Option<SubjectId>, Rejection> {
    after_key(token, query)
}

/// The token for the page after the item whose sort key is `key`, for a
/// request with `query` (for lists in another order than by id).
pub fn key_token<Q: Serialize, K: Serialize>(query: &Q, key: &K) -> String {
    URL_SAFE_NO_PAD.encode(postcard::to_stdvec(&(query, key)).expect("a page token always serializes"))
}

/// Where a page in key order starts: `None` for the first page; refused
/// if the token is not ours or belongs to a request with other parameters.
pub fn after_key<Q: Serialize + DeserializeOwned + PartialEq, K: DeserializeOwned>(
    token: &str,
    query: &Q,
) -> Result<Option<K>, Rejection> {
    if token.is_empty() {
        return Ok(None);
    }
    let (issued_for, after): (Q, K) = URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| postcard::from_bytes(&b).ok())
        .ok_or_else(|| Rejection::invalid("page_token", "is not a token this service issued"))?;
    if issued_for != *query {
        return Err(Rejection::invalid("page_token", "belongs to a request with other parameters"));
    }
    Ok(Some(after))
}
