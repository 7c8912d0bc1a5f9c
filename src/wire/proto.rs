//! The generated gRPC and protobuf code (`proto/`), with its proto3 JSON
//! mapping. Everything outside this module and the `edge` conversions works
//! with the domain types instead.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

pub mod disclosure {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/disclosure.v1.rs"));
        include!(concat!(env!("OUT_DIR"), "/disclosure.v1.serde.rs"));
    }
}

pub mod google {
    /// The HTTP mapping of the RPCs (`google.api.http`).
    pub mod api {
        include!(concat!(env!("OUT_DIR"), "/google.api.rs"));
    }
    pub mod rpc {
        include!(concat!(env!("OUT_DIR"), "/google.rpc.rs"));
        include!(concat!(env!("OUT_DIR"), "/google.rpc.serde.rs"));
    }
    pub mod r#type {
        include!(concat!(env!("OUT_DIR"), "/google.r#type.rs"));
        include!(concat!(env!("OUT_DIR"), "/google.r#type.serde.rs"));
    }
}

pub use disclosure::v1::*;

/// The descriptor set served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/disclosure_descriptor.bin"));
