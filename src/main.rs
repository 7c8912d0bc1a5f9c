//! `disclosure-ledger`: the service and its command-line client.

#![forbid(unsafe_code)]

use clap::Parser;
use disclosure_ledger::cli::Cli;

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
