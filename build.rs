//! Generates the gRPC code, the proto3 JSON mapping (pbjson) and the
//! descriptor set served by reflection, with a vendored protoc so that no
//! system protoc is needed.

use std::{env, path::PathBuf};

const PROTOS: &[&str] = &[
    "proto/google/api/http.proto",
    "proto/google/api/annotations.proto",
    "proto/google/rpc/status.proto",
    "proto/google/rpc/error_details.proto",
    "proto/disclosure/v1/codes.proto",
    "proto/disclosure/v1/event.proto",
    "proto/disclosure/v1/application.proto",
    "proto/disclosure/v1/ledger_service.proto",
    "proto/disclosure/v1/report_service.proto",
    "proto/disclosure/v1/deadline_service.proto",
    "proto/disclosure/v1/admin_service.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let descriptor_path = out_dir.join("disclosure_descriptor.bin");

    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);

    tonic_prost_build::configure()
        .file_descriptor_set_path(&descriptor_path)
        // Timestamp from pbjson-types so the JSON mapping covers it too.
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        // Undecodable requests are INVALID_ARGUMENT, not prost's INTERNAL.
        .codec_path("crate::wire::codec::WireCodec")
        .compile_with_config(config, PROTOS, &["proto"])?;

    let descriptors = std::fs::read(&descriptor_path)?;
    pbjson_build::Builder::new().register_descriptors(&descriptors)?.build(&[
        ".disclosure.v1",
        ".google.type",
        ".google.rpc",
    ])?;

    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
