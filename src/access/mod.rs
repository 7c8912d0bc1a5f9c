//! Access: who may do what. Bearer tokens bound to a role and a scope,
//! kept in the store; the caller of a request and its checks; the gate in
//! front of every service. May use the domain, the wire form and storage.

pub mod gate;
pub mod principal;
pub mod role;
pub mod token;
