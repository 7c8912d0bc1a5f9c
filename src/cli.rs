//! The command line: `serve` runs the service; the other commands are a
//! small client for people without grpcurl.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::render::Format;
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
        /// A holiday schedule (the shape of src/calendar/cn.toml) whose
        /// years are added to or replace the shipped ones.
        #[arg(long, env = "DISCLOSURE_CALENDAR")]
        calendar: Option<PathBuf>,
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
    /// Print a year's tables (sections 三 and 四), derived by the server.
    Report {
        #[command(flatten)]
        server: ServerArg,
        #[command(flatten)]
        table: TableArgs,
        /// The tables as they stood at this log position (default: now).
        #[arg(long)]
        as_of: Option<u64>,
        #[arg(long, value_enum, default_value_t = Format::Tsv)]
        format: Format,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Show the cells that changed between two log positions.
    Diff {
        #[command(flatten)]
        server: ServerArg,
        #[command(flatten)]
        table: TableArgs,
        #[arg(long)]
        from: u64,
        /// Default: now.
        #[arg(long)]
        to: Option<u64>,
    },
    /// List the applications counted in one cell of section 三.
    Cell {
        #[command(flatten)]
        server: ServerArg,
        #[arg(long)]
        agency: String,
        #[arg(long)]
        year: i32,
        /// Row code: new, carried_in, 1, 2, 3.1 … 6.3 (6 in 2019), total, carried_out.
        #[arg(long)]
        row: String,
        /// 0-5 an applicant column (自然人 … 其他), 6 总计.
        #[arg(long, default_value_t = 6)]
        column: i32,
        #[arg(long)]
        as_of: Option<u64>,
    },
    /// Rebuild every table from the raw log and compare with the maintained
    /// tallies; exits non-zero on any difference.
    Verify {
        #[command(flatten)]
        server: ServerArg,
    },
    /// Open applications with their statutory deadlines: due soon and
    /// overdue ones as of a date (default today, China Standard Time).
    Deadlines {
        #[command(flatten)]
        server: ServerArg,
        #[arg(long)]
        agency: String,
        /// YYYY-MM-DD; default today in China Standard Time.
        #[arg(long)]
        as_of: Option<crate::date::CivilDate>,
        /// The warning window in working days.
        #[arg(long, default_value_t = crate::deadline_service::DEFAULT_WITHIN)]
        within: u32,
        /// Only overdue applications.
        #[arg(long, conflicts_with = "all")]
        overdue: bool,
        /// Every open application, not only the due-soon and overdue ones.
        #[arg(long)]
        all: bool,
    },
    /// How promptly an agency answered in a year: on time against late,
    /// median and 90th percentile working days.
    Timeliness {
        #[command(flatten)]
        server: ServerArg,
        #[arg(long)]
        agency: String,
        #[arg(long)]
        year: i32,
    },
    /// Register (or replace) a group of agencies for consolidated tables.
    SetGroup {
        #[command(flatten)]
        server: ServerArg,
        group: String,
        #[arg(required = true)]
        agencies: Vec<String>,
    },
}

/// Whose tables, for which year.
#[derive(Debug, clap::Args)]
pub struct TableArgs {
    /// An agency; repeat to sum several cell by cell.
    #[arg(long = "agency", required_unless_present = "group", conflicts_with = "group")]
    pub agencies: Vec<String>,
    /// A registered group of agencies (see `set-group`).
    #[arg(long)]
    pub group: Option<String>,
    /// The report year.
    #[arg(long)]
    pub year: i32,
    /// Template version; default: the one in force for the year.
    #[arg(long, value_parser = ["2019", "2021"])]
    pub template: Option<String>,
    /// How section 四 dates a case.
    #[arg(long, value_enum, default_value_t = ReviewDatingArg::Filed)]
    pub review_dating: ReviewDatingArg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReviewDatingArg {
    /// Cases filed in the year, with their status on 31 December.
    Filed,
    /// Cases decided in the year, plus those pending on 31 December.
    Decided,
}

#[derive(Debug, clap::Args)]
pub struct ServerArg {
    /// The server's address.
    #[arg(long, env = "DISCLOSURE_SERVER", default_value = "http://127.0.0.1:50051")]
    pub server: String,
}

impl Cli {
    /// Runs the command.
    pub async fn run(self) -> anyhow::Result<()> {
        telemetry::init(self.log_format);
        match self.command {
            Command::Serve { listen, data_dir, cache_mib, drain_secs, calendar } => {
                let config = Config {
                    listen,
                    data_dir,
                    cache_capacity: cache_mib << 20,
                    drain_timeout: std::time::Duration::from_secs(drain_secs),
                    calendar,
                };
                crate::server::Server::build(config).await?.run_until_stopped().await
            }
            Command::Append { server, file, batch } => crate::client::append(&server.server, &file, batch.into()).await,
            Command::Show { server, agency, application, json } => {
                crate::client::show(&server.server, &agency, &application, json).await
            }
            Command::Report { server, table, as_of, format, output } => {
                crate::client::report(&server.server, &table, as_of, format, output.as_deref()).await
            }
            Command::Diff { server, table, from, to } => crate::client::diff(&server.server, &table, from, to).await,
            Command::Cell { server, agency, year, row, column, as_of } => {
                crate::client::cell(&server.server, &agency, year, &row, column, as_of).await
            }
            Command::Verify { server } => crate::client::verify(&server.server).await,
            Command::Timeliness { server, agency, year } => {
                crate::client::timeliness(&server.server, &agency, year).await
            }
            Command::Deadlines { server, agency, as_of, within, overdue, all } => {
                crate::client::deadlines(&server.server, &agency, as_of, within, overdue, all).await
            }
            Command::SetGroup { server, group, agencies } => {
                crate::client::set_group(&server.server, &group, agencies).await
            }
        }
    }
}
