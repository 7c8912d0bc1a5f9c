//! Console sessions: a signed-in token held by the server, named to the
//! browser only by a random session id in an HttpOnly, SameSite=Strict
//! cookie (Secure under TLS) that expires; the token itself never reaches
//! a URL or a page. Each session has its own CSRF token, which every
//! state-changing form carries and the server compares in constant time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq as _;

/// The session cookie's name.
pub const COOKIE: &str = "dl_session";
/// How long a session lasts from sign-in.
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// One signed-in browser.
#[derive(Clone)]
pub struct Session {
    /// The bearer token the console calls the API with (None: auth is off).
    pub token: Option<String>,
    /// Who it is, for the page header (the token id, or "-").
    pub who: String,
    pub csrf: String,
    expires: Instant,
}

/// Every live session, by id.
#[derive(Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<String, Session>>>);

impl Sessions {
    /// Opens a session; returns its id (the cookie's value).
    pub fn open(&self, token: Option<String>, who: String) -> String {
        let id = random_hex();
        let session = Session { token, who, csrf: random_hex(), expires: Instant::now() + LIFETIME };
        let mut all = self.0.lock().expect("lock");
        all.retain(|_, s| s.expires > Instant::now());
        all.insert(id.clone(), session);
        id
    }

    /// The live session of a request's cookie header, if any.
    pub fn of(&self, headers: &http::HeaderMap) -> Option<Session> {
        let id = cookie(headers)?;
        let all = self.0.lock().expect("lock");
        all.get(&id).filter(|s| s.expires > Instant::now()).cloned()
    }

    /// Ends the session of a request's cookie (sign out).
    pub fn close(&self, headers: &http::HeaderMap) {
        if let Some(id) = cookie(headers) {
            self.0.lock().expect("lock").remove(&id);
        }
    }
}

impl Session {
    /// Whether a form's CSRF field is this session's.
    pub fn csrf_ok(&self, sent: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(sent.as_bytes()))
    }
}

/// The `Set-Cookie` value that opens (`Some(id)`) or clears a session.
pub fn set_cookie(id: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match id {
        Some(id) => {
            format!("{COOKIE}={id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}", LIFETIME.as_secs())
        }
        None => format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

fn cookie(headers: &http::HeaderMap) -> Option<String> {
    headers.get_all(http::header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(
        |pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE && !value.is_empty()).then(|| value.to_owned())
        },
    )
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the system's random source");
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_cookie_and_ends_at_sign_out() {
        let sessions = Sessions::default();
        let id = sessions.open(Some("dl_x.y".into()), "x".into());
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::COOKIE, format!("other=1; {COOKIE}={id}").parse().unwrap());
        let s = sessions.of(&headers).expect("signed in");
        assert!(s.csrf_ok(&s.csrf.clone()));
        assert!(!s.csrf_ok("guess"));
        sessions.close(&headers);
        assert!(sessions.of(&headers).is_none());
        assert!(set_cookie(Some(&id), true).contains("HttpOnly; SameSite=Strict"));
        assert!(set_cookie(Some(&id), true).ends_with("; Secure"));
    }
}
