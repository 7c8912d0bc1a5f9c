//! The wire form: the generated protobuf and gRPC code ([`proto`]) and the
//! one place where domain types are converted to and from it ([`codes`],
//! [`date`], [`event`]), a refusal becomes a gRPC status ([`status`]) and
//! an undecodable message a refusal ([`codec`]).
//! The log stores events in their canonical proto encoding, so this sits
//! below storage. May use the domain only.

pub mod codec;
pub mod codes;
pub mod date;
pub mod event;
pub mod proto;
pub mod status;
