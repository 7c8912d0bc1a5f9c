//! The gate in front of every service: it finds the caller's token,
//! applies the token's rate limit, and hands the caller and the way it was
//! admitted to the handler.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::access::principal::{Principal, admitted};
use crate::access::token::OpeningTokens;
use crate::domain::rejection::Rejection;
use crate::wire::status::refuse;

/// Requests per second allowed to one token (and its burst: twice that).
pub type RateLimit = NonZeroU32;

/// The interceptor in front of every service: finds the caller's token,
/// applies its rate limit, and hands the [`Principal`] to the handler,
/// which checks the scope against what the request names.
#[derive(Clone)]
pub struct Gate {
    tokens: OpeningTokens,
    auth: bool,
    limiter: Option<Arc<DefaultKeyedRateLimiter<String>>>,
}

impl Gate {
    pub fn new(tokens: OpeningTokens, auth: bool, rate: Option<RateLimit>) -> Self {
        let limiter = rate.map(|r| {
            let burst = r.saturating_mul(NonZeroU32::new(2).expect("2 is not zero"));
            Arc::new(RateLimiter::keyed(Quota::per_second(r).allow_burst(burst)))
        });
        Self { tokens, auth, limiter }
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
        self.tokens.get()?.authenticate(bearer.trim())
    }
}

impl Interceptor for Gate {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let principal = self.principal(&request).map_err(refuse)?;
        let admission = Admission {
            tokens: self.tokens.clone(),
            authenticated: matches!(principal, Principal::Token { .. }),
            key: principal.name().to_owned(),
            limiter: self.limiter.clone(),
        };
        admission.check_rate().map_err(refuse)?;
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
    tokens: OpeningTokens,
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
            self.tokens.get()?.still_live(&self.key)?;
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
