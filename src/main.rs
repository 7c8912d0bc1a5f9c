//! `disclosure-ledger`: the service and its command-line client.

#![forbid(unsafe_code)]

use clap::Parser;
use disclosure_ledger::cli::Cli;

// jemalloc with its background threads returns freed pages to the system
// on a timer, even while the service is idle; see BENCHMARKS.md for what
// glibc's allocator and mimalloc kept after a recount or a burst of large
// batches.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match Cli::parse().run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            disclosure_ledger::cli::say_line(format!("error: {e:#}"));
            // At once, without unwinding: a store that failed to write must
            // not be flushed again on the way out (a failed fsync is never
            // retried), and a runtime blocked on it must not hold the exit.
            std::process::exit(1)
        }
    }
}
