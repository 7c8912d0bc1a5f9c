//! The arguments the commands share: how to reach a server, which tables,
//! and the sub-commands of `token` and `calendar`.

use std::path::PathBuf;

use clap::Subcommand;

use crate::api::config::Config;

/// Who may call the service, and over what.
#[derive(Debug, clap::Args)]
pub struct ServeSecurity {
    /// Development only: accept every request without a token.
    #[arg(long, env = "DISCLOSURE_NO_AUTH")]
    pub no_auth: bool,
    /// Where the first admin token is written when the store has none
    /// (default: admin.token in the data directory).
    #[arg(long, env = "DISCLOSURE_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// Requests per second per token (the burst is twice this); 0: no limit.
    #[arg(long, env = "DISCLOSURE_RATE_LIMIT", default_value_t = Config::DEFAULT_RATE_LIMIT)]
    pub rate_limit: u32,
    /// Largest request message, in MiB.
    #[arg(long, env = "DISCLOSURE_MAX_MESSAGE_MIB", default_value_t = Config::DEFAULT_MAX_MESSAGE_MIB)]
    pub max_message_mib: usize,
    /// PEM certificate chain: serve TLS (with --tls-key).
    #[arg(long, env = "DISCLOSURE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    #[arg(long, env = "DISCLOSURE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificates: require client certificates signed by them.
    #[arg(long, env = "DISCLOSURE_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// Serve plaintext on a non-loopback address (when something in front
    /// terminates TLS).
    #[arg(long, env = "DISCLOSURE_ALLOW_PLAINTEXT")]
    pub allow_plaintext: bool,
    /// Most client connections open at once; more wait to be accepted.
    #[arg(long, env = "DISCLOSURE_MAX_CONNECTIONS", default_value_t = Config::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Seconds a connection may stay silent (no request, no answer to the
    /// keepalive ping) before it is closed.
    #[arg(long, env = "DISCLOSURE_IDLE_SECS", default_value_t = Config::DEFAULT_IDLE_SECS)]
    pub idle_secs: u64,
    /// Seconds between the server's HTTP/2 keepalive pings (less than
    /// --idle-secs, so that live clients are never taken for idle).
    #[arg(long, env = "DISCLOSURE_KEEPALIVE_SECS", default_value_t = Config::DEFAULT_KEEPALIVE_SECS)]
    pub keepalive_secs: u64,
    /// A browser origin allowed to call the service (gRPC-Web or HTTP/JSON)
    /// from its pages, as `https://host[:port]`; repeat it, or separate
    /// several with commas. None by default: no cross-origin calls.
    #[arg(long = "cors-origin", env = "DISCLOSURE_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
}

/// The working-day calendar of a running service.
#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Add (or replace) the years of a schedule file (the shape of
    /// src/deadline/calendar-cn.toml); takes effect at once and survives restarts.
    Set {
        #[command(flatten)]
        server: ServerArg,
        /// A TOML schedule of holidays and make-up working days (see the README).
        file: PathBuf,
    },
    /// The years known, with their notices.
    Show {
        #[command(flatten)]
        server: ServerArg,
    },
}

/// Token administration.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints its secret, which is shown only once.
    Create {
        #[command(flatten)]
        server: ServerArg,
        /// The token's role: reader, writer or admin.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// An agency it covers; repeat for several.
        #[arg(long = "agency")]
        agencies: Vec<String>,
        /// A reader of every agency.
        #[arg(long)]
        all_agencies: bool,
        /// A group whose consolidated tables a reader may see; repeat.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Who holds it.
        #[arg(long, default_value = "")]
        label: String,
        /// Write the secret to this file (owner-only) instead of printing it.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Revoke a token at once.
    Revoke {
        #[command(flatten)]
        server: ServerArg,
        /// The id of the token to revoke (as `token list` shows it).
        token_id: String,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        server: ServerArg,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SectionArg {
    /// The agency's name, for the title.
    Name,
    /// The opening paragraph.
    Preamble,
    /// 一、总体情况
    Overview,
    /// 五、存在的主要问题及改进情况
    Problems,
    /// 六、其他需要报告的事项 (with the contact and download sentence)
    Other,
    /// 落款: the agency's name and the report's date, one per line
    SignOff,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    Writer,
    Reader,
    Admin,
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
    #[arg(long, required_unless_present = "period")]
    pub year: Option<i32>,
    /// Another period than a year (`report`, `diff`): 2025-H1, 2025-Q3,
    /// 2025-07 or 2025-03-01..2025-05-31.
    #[arg(long, conflicts_with = "year")]
    pub period: Option<crate::report::period::Period>,
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

/// Which server, and the caller's credentials.
#[derive(Debug, clap::Args)]
pub struct ServerArg {
    /// The server's address (`https://` for TLS).
    #[arg(long, env = "DISCLOSURE_SERVER", default_value = "http://127.0.0.1:50051")]
    pub server: String,
    /// The bearer token (prefer the environment variable or a file: a flag
    /// is visible to other users in the process list).
    #[arg(long, env = "DISCLOSURE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A file holding the bearer token.
    #[arg(long, env = "DISCLOSURE_TOKEN_FILE", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// PEM CA certificate to trust for the server's certificate.
    #[arg(long, env = "DISCLOSURE_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate, for servers that require one (mutual TLS).
    /// (Its own variable: a server's DISCLOSURE_TLS_CERT in the same
    /// environment, as in the container, must not become a client's.)
    #[arg(long, env = "DISCLOSURE_CLIENT_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the client certificate.
    #[arg(long, env = "DISCLOSURE_CLIENT_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The name to check in the server's certificate (default: the host).
    #[arg(long, env = "DISCLOSURE_TLS_DOMAIN")]
    pub tls_domain: Option<String>,
}
