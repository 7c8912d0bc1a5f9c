//! The command line: `serve` runs the service; the other commands are a
//! small client for people without grpcurl, one file per concern. The top
//! of the crate: may use every chapter.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::api::config::Config;
use crate::ops::telemetry::{self, LogFormat};
use crate::report::render::Format;
use args::{CalendarCommand, SectionArg, ServeSecurity, ServerArg, TableArgs, TokenCommand};

/// A line for the person at the terminal, on standard error, in one write:
/// `eprintln!` writes each piece of its format on its own, so a line would be
/// cut in two by what `| head` prints meanwhile.
macro_rules! say {
    ($($arg:tt)*) => {
        crate::cli::say_line(format!($($arg)*))
    };
}

/// `say!`'s one write (what `main` uses for its error line too).
pub fn say_line(mut line: String) {
    use std::io::Write as _;
    line.push('\n');
    // Nothing to do if the terminal is gone.
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// "1 application", "2 applications": `thing` and its plural in -s.
pub fn counted(n: impl Into<u64>, thing: &str) -> String {
    match n.into() {
        1 => format!("1 {thing}"),
        n => format!("{n} {thing}s"),
    }
}

pub mod args;
pub mod backup;
pub mod calendar;
pub mod deadlines;
pub mod events;
pub mod health;
pub mod import;
pub mod remote;
pub mod tables;
pub mod tokens;

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
        /// A holiday schedule (the shape of src/deadline/calendar-cn.toml) whose
        /// years are added to or replace the shipped ones.
        #[arg(long, env = "DISCLOSURE_CALENDAR")]
        calendar: Option<PathBuf>,
        #[command(flatten)]
        security: ServeSecurity,
        /// Where Prometheus metrics are served (`/metrics`); `off` for none.
        #[arg(long, env = "DISCLOSURE_METRICS_LISTEN", default_value = Config::DEFAULT_METRICS_LISTEN)]
        metrics_listen: String,
    },
    /// Create, revoke and list access tokens (needs an admin token).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Add a year's holiday schedule to the running service, or show the
    /// years it knows (needs an admin token).
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Write an online backup of the log (and of groups and tokens) to a
    /// file, while the service goes on taking appends.
    Backup {
        #[command(flatten)]
        server: ServerArg,
        /// The backup file (written to FILE.partial, then renamed).
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Restore a backup file into an empty data directory (the service
    /// must not be running on it).
    Restore {
        /// The backup file.
        file: PathBuf,
        /// The empty data directory to restore into.
        #[arg(long, env = "DISCLOSURE_DATA_DIR", default_value = Config::DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },
    /// Copy what is intact of a store that cannot be proved whole into a new
    /// directory, and say exactly what was lost (the service must not be
    /// running on it; it is not changed). Positions lost are recorded as
    /// such, so that no position is ever reused.
    Salvage {
        /// The damaged store.
        #[arg(long, env = "DISCLOSURE_DATA_DIR", default_value = Config::DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        /// The new directory (absent or empty).
        #[arg(long)]
        into: PathBuf,
    },
    /// Submit a unit's table to the service (its superior's): the exchange
    /// format's JSON, or its published report's text or TSV. It is checked
    /// and recorded even when a check fails (the failures are printed); it
    /// counts in roll-ups once accepted.
    SubmitTable {
        #[command(flatten)]
        server: ServerArg,
        /// The table: the exchange format's JSON, a workbook (.xlsx/.xls/.ods), or a published report's text or TSV.
        file: PathBuf,
        /// The unit the table is of.
        #[arg(long)]
        agency: String,
        /// The report year, when a text states no 统计期限.
        #[arg(long)]
        year: Option<i32>,
    },
    /// Accept a unit's latest submitted table of a period into roll-ups.
    AcceptTable {
        #[command(flatten)]
        server: ServerArg,
        /// The unit whose submitted table is accepted.
        #[arg(long)]
        agency: String,
        /// The period: 2025, 2025-Q3, 2025-07, …
        #[arg(long)]
        period: crate::report::period::Period,
        /// The submission's SHA-256 (what submit-table printed).
        #[arg(long)]
        sha256: String,
    },
    /// A group's roll-up for a year or a period: every member, where its
    /// table comes from, its checks, and the checked total.
    Rollup {
        #[command(flatten)]
        server: ServerArg,
        /// The group whose members are totalled.
        #[arg(long)]
        group: String,
        /// The year (or give --period).
        #[arg(long, required_unless_present = "period")]
        year: Option<i32>,
        /// Another period than a year: 2025-H1, 2025-Q3, 2025-07 or 2025-03-01..2025-05-31.
        #[arg(long, conflicts_with = "year")]
        period: Option<crate::report::period::Period>,
        /// The tables' due date: members with none by then are late.
        #[arg(long)]
        due: Option<crate::domain::date::CivilDate>,
        /// `text`, `json` (the roll-up bundle: every member's table in the
        /// exchange format, docs/schemas/rollup-v1.schema.json), or `xlsx`
        /// (a summary sheet, the total, then one sheet per member; needs -o).
        #[arg(long, default_value = "text")]
        format: String,
        /// Write to this file instead of standard output (required for xlsx).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print the OpenAPI 3.1 document of the HTTP/JSON API (what the
    /// service serves at /v1/openapi.json).
    Openapi,
    /// Print the JSON Schema of the table exchange format (what `report
    /// --format json` writes and the service serves at /schemas/table-v1.json);
    /// with --rollup, of the roll-up bundle (`rollup --format json`).
    TableSchema {
        /// Print the roll-up's schema instead of the table's.
        #[arg(long)]
        rollup: bool,
    },
    /// Check a table a unit submitted, offline: the exchange format's JSON
    /// (`.json`), or a published report's text or TSV. Names every cell an
    /// identity fails on; exits non-zero if any. `--format json` prints the
    /// table in the exchange format, its source the file's SHA-256.
    CheckTable {
        /// The table to check: exchange JSON, a workbook, or a published report's text or TSV.
        file: PathBuf,
        /// The agency the table is of (a JSON table names its own).
        #[arg(long, default_value = "")]
        agency: String,
        /// The report year, when a text states no 统计期限.
        #[arg(long)]
        year: Option<i32>,
        /// The table of the period before, to check 上年结转 against its 结转下年度.
        #[arg(long)]
        previous: Option<PathBuf>,
        /// `text` (the failures) or `json` (the table).
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// Check that a backup holds the history a published table names: the
    /// log's digest at a position (a report's `log_digest`), recomputed from
    /// the backup's events. Without --digest, print the backup's digest.
    CheckBackup {
        /// The backup file.
        file: PathBuf,
        /// The published digest (64 hex digits).
        #[arg(long)]
        digest: Option<String>,
        /// The log position the digest is for (default: the backup's head).
        #[arg(long)]
        position: Option<u64>,
    },
    /// Export the log as JSON Lines of events, which `append` (on another
    /// instance) imports: a migration between instances.
    Export {
        #[command(flatten)]
        server: ServerArg,
        /// Only this agency's events.
        #[arg(long)]
        agency: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Import a ledger (台账) of past applications from CSV, XLSX or JSON
    /// Lines: one row per application. All or nothing unless --skip-bad;
    /// importing the same file again changes nothing.
    Import {
        #[command(flatten)]
        server: ServerArg,
        /// The ledger file (.csv, .xlsx or .jsonl).
        file: PathBuf,
        /// The agency whose applications these are.
        #[arg(long)]
        agency: String,
        /// A TOML file naming the columns, if the headers are not the
        /// recognised ones (see the README).
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// Import the good rows and write the bad ones to --rejects.
        #[arg(long)]
        skip_bad: bool,
        /// Where bad rows go, as CSV with their reasons (default: FILE.rejects.csv with --skip-bad).
        #[arg(long)]
        rejects: Option<PathBuf>,
        /// Events per append.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(10..=1000))]
        batch: u16,
    },
    /// Check the server's gRPC health (exit 0 when SERVING): for container
    /// and Kubernetes probes, which cannot speak TLS themselves.
    Health {
        #[command(flatten)]
        server: ServerArg,
    },
    /// Create a new admin token directly in a data directory, with the
    /// service stopped: the way back in when every admin token is lost.
    RecoverAdmin {
        /// The service's data directory.
        #[arg(long, env = "DISCLOSURE_DATA_DIR", default_value = Config::DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        /// Where to write the token (readable by its owner only).
        #[arg(long)]
        output: PathBuf,
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
        /// The agency the application belongs to.
        #[arg(long)]
        agency: String,
        /// The application id.
        application: String,
        /// The application as it stood at the end of this day (YYYY-MM-DD):
        /// its later steps left out, corrections as now known.
        #[arg(long)]
        as_of: Option<crate::domain::date::CivilDate>,
        /// Print the proto3 JSON of the response instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print a period's tables (sections 二, 三 and 四), derived by the server,
    /// in the published layout (TSV) or another format.
    Report {
        #[command(flatten)]
        server: ServerArg,
        #[command(flatten)]
        table: TableArgs,
        /// The tables as they stood at this log position (default: now).
        #[arg(long)]
        as_of: Option<u64>,
        /// tsv (the published layout), csv, json (the exchange format), md, html, or xlsx (needs -o).
        #[arg(long, value_enum, default_value_t = Format::Tsv)]
        format: Format,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// The whole annual report of an agency, ready to publish: its text and
    /// the tables of sections 二, 三 and 四, as of one log position, as HTML,
    /// DOCX or PDF (or the tables alone as XLSX). Refuses a report whose
    /// agency name, 一, 五, 六 or sign-off has no text yet, unless
    /// --allow-missing-text.
    AnnualReport {
        #[command(flatten)]
        server: ServerArg,
        /// The agency.
        #[arg(long)]
        agency: String,
        /// The report year.
        #[arg(long)]
        year: i32,
        /// Template version; default: the one in force for the year.
        #[arg(long, value_parser = ["2019", "2021"])]
        template: Option<String>,
        /// As of this log position (default: now).
        #[arg(long)]
        as_of: Option<u64>,
        /// The format; default: the one -o's extension names (.html, .docx,
        /// .pdf, .xlsx). A --format that contradicts the extension is refused.
        #[arg(long, value_enum)]
        format: Option<crate::report::publication::Format>,
        /// The file to write.
        #[arg(long, short)]
        output: PathBuf,
        /// Leave out the small line at the end saying where the numbers come
        /// from (log position, digest); the document's properties keep it.
        #[arg(long)]
        no_colophon: bool,
        /// Write the report even if a required section has no text (a draft).
        #[arg(long)]
        allow_missing_text: bool,
        /// A font file or folder for the PDF, searched with the system's
        /// fonts (repeatable): the official face of a role (方正小标宋简体,
        /// 仿宋_GB2312, 黑体, 宋体) found there is used before any fallback.
        /// Fonts are never downloaded.
        #[arg(long = "font")]
        fonts: Vec<PathBuf>,
    },
    /// Set the agency's own text for a part of its annual report (recorded
    /// as an event, so every edit is kept). Numbers are placeholders such as
    /// {new}, filled from the tables; see the README for the list.
    ReportText {
        #[command(flatten)]
        server: ServerArg,
        /// The agency whose report it is.
        #[arg(long)]
        agency: String,
        /// The report year.
        #[arg(long)]
        year: i32,
        /// The part of the report the text is for.
        #[arg(long, value_enum)]
        section: SectionArg,
        /// A UTF-8 text file (`-` reads standard input); paragraphs are
        /// separated by blank lines.
        file: PathBuf,
    },
    /// Record that the agency published its annual report as the log
    /// stands now: the tables "as published" are the tables as of that
    /// position, and the console shows later corrections against them.
    Publish {
        #[command(flatten)]
        server: ServerArg,
        /// The agency whose report is published.
        #[arg(long)]
        agency: String,
        /// The report year.
        #[arg(long)]
        year: i32,
        /// What was published, e.g. 正式发布 or 更正后重新发布.
        #[arg(long, default_value = "正式发布")]
        label: String,
    },
    /// Show the cells that changed between two log positions.
    Diff {
        #[command(flatten)]
        server: ServerArg,
        #[command(flatten)]
        table: TableArgs,
        /// The earlier log position (e.g. the one a table was published at).
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
        /// The agency.
        #[arg(long)]
        agency: String,
        /// The report year.
        #[arg(long, required_unless_present = "period")]
        year: Option<i32>,
        /// Another period than a year: 2025-H1, 2025-Q3, 2025-07 or a range.
        #[arg(long, conflicts_with = "year")]
        period: Option<crate::report::period::Period>,
        /// Row code: new, carried_in, 1, 2, 3.1 … 6.3 (6 in 2019), total, carried_out.
        #[arg(long)]
        row: String,
        /// 0-5 an applicant column (自然人 … 其他), 6 总计.
        #[arg(long, default_value_t = 6)]
        column: i32,
        /// As of this log position (default: now).
        #[arg(long)]
        as_of: Option<u64>,
    },
    /// Rebuild every table from the raw log and compare with the maintained
    /// tallies; exits non-zero on any difference.
    Verify {
        #[command(flatten)]
        server: ServerArg,
        /// Also refold every stored subject and compare it (slow).
        #[arg(long)]
        deep: bool,
    },
    /// Open applications with their statutory deadlines: due soon and
    /// overdue ones as of a date (default today, China Standard Time).
    Deadlines {
        #[command(flatten)]
        server: ServerArg,
        /// The agency.
        #[arg(long)]
        agency: String,
        /// YYYY-MM-DD; default today in China Standard Time.
        #[arg(long)]
        as_of: Option<crate::domain::date::CivilDate>,
        /// The warning window in working days.
        #[arg(long, default_value_t = crate::deadline::statutory::DEFAULT_WITHIN)]
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
        /// The agency.
        #[arg(long)]
        agency: String,
        /// The year of the answers.
        #[arg(long)]
        year: i32,
    },
    /// Register (or replace) a group of agencies for consolidated tables
    /// and roll-ups; `--group` adds a member group (a city's counties).
    SetGroup {
        #[command(flatten)]
        server: ServerArg,
        /// The group's id.
        group: String,
        /// A member agency (repeatable).
        agencies: Vec<String>,
        /// A member group; repeat for several.
        #[arg(long = "member-group")]
        member_groups: Vec<String>,
    },
}

impl Cli {
    /// Runs the command.
    pub async fn run(self) -> anyhow::Result<()> {
        telemetry::init(self.log_format);
        match self.command {
            Command::Serve { listen, data_dir, cache_mib, drain_secs, calendar, security, metrics_listen } => {
                let metrics_listen = match metrics_listen.as_str() {
                    "off" | "" => None,
                    a => Some(a.parse().map_err(|e| anyhow::anyhow!("--metrics-listen {a}: {e}"))?),
                };
                let tls = match (security.tls_cert, security.tls_key) {
                    (Some(cert), Some(key)) => {
                        Some(crate::api::config::Tls { cert, key, client_ca: security.tls_client_ca })
                    }
                    _ => None,
                };
                let config = Config {
                    listen,
                    data_dir,
                    cache_capacity: cache_mib << 20,
                    drain_timeout: std::time::Duration::from_secs(drain_secs),
                    calendar,
                    auth: !security.no_auth,
                    admin_token_file: security.admin_token_file,
                    rate_limit: std::num::NonZeroU32::new(security.rate_limit),
                    max_message_bytes: security.max_message_mib << 20,
                    tls,
                    allow_plaintext: security.allow_plaintext,
                    metrics_listen,
                    max_connections: security.max_connections,
                    idle_timeout: std::time::Duration::from_secs(security.idle_secs),
                    cors_origins: security.cors_origins.clone(),
                    keepalive: std::time::Duration::from_secs(security.keepalive_secs),
                };
                crate::api::server::Server::build(config).await?.run_until_stopped().await
            }
            Command::Append { server, file, batch } => events::append(&server, &file, batch.into()).await,
            Command::Show { server, agency, application, as_of, json } => {
                events::show(&server, &agency, &application, as_of, json).await
            }
            Command::Report { server, table, as_of, format, output } => {
                tables::report(&server, &table, as_of, format, output.as_deref()).await
            }
            Command::AnnualReport {
                server,
                agency,
                year,
                template,
                as_of,
                format,
                output,
                no_colophon,
                allow_missing_text,
                fonts,
            } => {
                let options = crate::report::publication::Options {
                    colophon: !no_colophon,
                    font_paths: fonts,
                    ..Default::default()
                };
                let publish = tables::Publish { format, output, options, allow_missing_text };
                tables::annual_report(&server, &agency, year, template.as_deref(), as_of, publish).await
            }
            Command::Publish { server, agency, year, label } => tables::publish(&server, &agency, year, label).await,
            Command::ReportText { server, agency, year, section, file } => {
                tables::report_text(&server, &agency, year, section, &file).await
            }
            Command::Diff { server, table, from, to } => tables::diff(&server, &table, from, to).await,
            Command::Cell { server, agency, year, period, row, column, as_of } => {
                tables::cell(&server, &agency, (year, period), &row, column, as_of).await
            }
            Command::Verify { server, deep } => tables::verify(&server, deep).await,
            Command::Timeliness { server, agency, year } => deadlines::timeliness(&server, &agency, year).await,
            Command::Deadlines { server, agency, as_of, within, overdue, all } => {
                deadlines::deadlines(&server, &agency, as_of, within, overdue, all).await
            }
            Command::Token(command) => tokens::token(command).await,
            Command::Calendar(command) => calendar::calendar(command).await,
            Command::Backup { server, output } => backup::backup(&server, &output).await,
            Command::Restore { file, data_dir } => backup::restore(&file, &data_dir).await,
            Command::CheckBackup { file, digest, position } => backup::check(&file, digest.as_deref(), position),
            Command::Salvage { data_dir, into } => backup::salvage(&data_dir, &into).await,
            Command::SubmitTable { server, file, agency, year } => {
                tables::submit_table(&server, &file, &agency, year).await
            }
            Command::AcceptTable { server, agency, period, sha256 } => {
                tables::accept_table(&server, &agency, period, &sha256).await
            }
            Command::Rollup { server, group, year, period, due, format, output } => {
                tables::rollup(&server, &group, (year, period), due, &format, output.as_deref()).await
            }
            Command::TableSchema { rollup } => {
                let schema =
                    if rollup { crate::report::rollup::BUNDLE_SCHEMA } else { crate::report::exchange::SCHEMA };
                print!("{schema}");
                Ok(())
            }
            Command::CheckTable { file, agency, year, previous, format } => {
                tables::check_table(&file, &agency, year, previous.as_deref(), &format)
            }
            Command::Openapi => {
                let doc = crate::api::http::openapi::document().map_err(anyhow::Error::msg)?;
                println!("{}", serde_json::to_string_pretty(&doc)?);
                Ok(())
            }
            Command::Export { server, agency, output } => {
                events::export(&server, agency.as_deref(), output.as_deref()).await
            }
            Command::Import { server, file, agency, mapping, skip_bad, rejects, batch } => {
                import::import(&server, &file, &agency, mapping.as_deref(), skip_bad, rejects, batch.into()).await
            }
            Command::Health { server } => health::health(&server).await,
            Command::RecoverAdmin { data_dir, output } => tokens::recover_admin(&data_dir, &output),
            Command::SetGroup { server, group, agencies, member_groups } => {
                tables::set_group(&server, &group, agencies, member_groups).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    /// `--help` describes every argument of every command.
    #[test]
    fn every_argument_is_described() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.is_hide_set() || id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} --{id}"));
                }
            }
            for sub in command.get_subcommands() {
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {} (the command)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "disclosure-ledger", &mut missing);
        assert!(missing.is_empty(), "{} without a description:\n{}", missing.len(), missing.join("\n"));
    }
}
