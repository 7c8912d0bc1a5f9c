//! The command line: `serve` runs the service; the other commands are a
//! small client for people without grpcurl.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::telemetry::{self, LogFormat};

#[derive(Debug, Parser)]
#[command(
    name = "disclosure-ledger",
    version,
    about = "The event log of open-government-information applications, and the annual report tables derived from it"
)]
pub struct Cli {
    /// Log line format.
    #[arg(long, global = true, env = "DISCLOSURE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC service.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "DISCLOSURE_LISTEN", default_value = Config::DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// Directory of the sled store (created if missing).
        #[arg(long, env = "DISCLOSURE_DATA_DIR", default_value = Config::DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        /// sled page cache in MiB (resident memory ends up a few times this).
        #[arg(long, env = "DISCLOSURE_CACHE_MIB", default_value_t = Config::DEFAULT_CACHE_MIB)]
        cache_mib: u64,
        /// Seconds a shutdown waits for in-flight requests before closing them.
        #[arg(long, env = "DISCLOSURE_DRAIN_SECS", default_value_t = Config::DEFAULT_DRAIN_SECS)]
        drain_secs: u64,
    },
    /// Append events from a JSON Lines file (one `disclosure.v1.Event` per
    /// line, proto3 JSON mapping); `-` reads standard input.
    Append {
        #[command(flatten)]
        server: ServerArg,
        /// The file.
        file: PathBuf,
        /// Events per AppendEvents call (all-or-nothing each).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
        batch: u16,
    },
    /// Show an application: its current state and its full history.
    Show {
        #[command(flatten)]
        server: ServerArg,
        #[arg(long)]
        agency: String,
        /// The application id.
        application: String,
        /// Print the proto3 JSON of the response instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServerArg {
    /// The server's address.
    #[arg(
        long,
        env = "DISCLOSURE_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
}

impl Cli {
    /// Runs the command.
    pub async fn run(self) -> anyhow::Result<()> {
        telemetry::init(self.log_format);
        match self.command {
            Command::Serve {
                listen,
                data_dir,
                cache_mib,
                drain_secs,
            } => {
                let config = Config {
                    listen,
                    data_dir,
                    cache_capacity: cache_mib << 20,
                    drain_timeout: std::time::Duration::from_secs(drain_secs),
                };
                crate::server::Server::build(config)
                    .await?
                    .run_until_stopped()
                    .await
            }
            Command::Append {
                server,
                file,
                batch,
            } => crate::client::append(&server.server, &file, batch.into()).await,
            Command::Show {
                server,
                agency,
                application,
                json,
            } => crate::client::show(&server.server, &agency, &application, json).await,
        }
    }
}
