//! `disclosure-ledger`: the service and its command-line client.

#![forbid(unsafe_code)]

use clap::Parser;
use disclosure_ledger::cli::Cli;

// mimalloc returns freed memory to the system promptly; glibc's allocator
// kept hundreds of MiB after a recount or a burst of large batches.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match Cli::parse().run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
