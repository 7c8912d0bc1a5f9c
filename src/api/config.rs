//! The server's settings, as one plain struct.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the server listens and keeps its data.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// The sled directory.
    pub data_dir: PathBuf,
    /// sled's page cache, in bytes. sled's resident memory ends up a few
    /// times this, so the default is modest.
    pub cache_capacity: u64,
    /// How long a drain waits for in-flight requests and open connections
    /// before it closes them.
    pub drain_timeout: Duration,
    /// A holiday schedule to merge over the shipped one (newer years).
    pub calendar: Option<PathBuf>,
    /// Whether requests need a bearer token. Off only when asked for
    /// (`serve --no-auth`), for development.
    pub auth: bool,
    /// Where the first admin token is written when the store has no token
    /// at all (default: `admin.token` in the data directory).
    pub admin_token_file: Option<PathBuf>,
    /// Requests per second per token (burst twice that); None: no limit.
    pub rate_limit: Option<crate::access::gate::RateLimit>,
    /// Largest request message accepted, in bytes.
    pub max_message_bytes: usize,
    /// TLS; None serves plaintext, which is allowed only on a loopback
    /// address unless `allow_plaintext` says otherwise.
    pub tls: Option<Tls>,
    /// Serve plaintext on a non-loopback address (e.g. behind a mesh that
    /// terminates TLS).
    pub allow_plaintext: bool,
    /// Where Prometheus metrics are served over HTTP (`/metrics`); None: off.
    pub metrics_listen: Option<SocketAddr>,
    /// Most client connections open at once; more wait to be accepted.
    pub max_connections: usize,
    /// A connection whose peer sends nothing for this long is closed (live
    /// clients answer the keepalive pings, so only silent ones are).
    pub idle_timeout: Duration,
    /// How often the server pings each HTTP/2 connection; a ping not
    /// answered within this time too closes the connection.
    pub keepalive: Duration,
    /// Browser origins allowed to call the service (CORS); none: no
    /// cross-origin calls.
    pub cors_origins: Vec<String>,
}

/// Certificate files for TLS.
#[derive(Clone, Debug)]
pub struct Tls {
    /// PEM certificate chain of the server.
    pub cert: PathBuf,
    /// PEM private key of the server.
    pub key: PathBuf,
    /// PEM CA certificates: when set, clients must present a certificate
    /// signed by one of them (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

impl Config {
    pub const DEFAULT_LISTEN: &'static str = "127.0.0.1:50051";
    pub const DEFAULT_DATA_DIR: &'static str = "./data";
    pub const DEFAULT_CACHE_MIB: u64 = 32;
    pub const DEFAULT_DRAIN_SECS: u64 = 30;
    pub const DEFAULT_RATE_LIMIT: u32 = 5000;
    pub const DEFAULT_MAX_MESSAGE_MIB: usize = 4;
    pub const DEFAULT_METRICS_LISTEN: &'static str = "127.0.0.1:9464";
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1000;
    pub const DEFAULT_IDLE_SECS: u64 = 120;
    pub const DEFAULT_KEEPALIVE_SECS: u64 = 30;

    /// Defaults for a store in `data_dir`, on a free loopback port, without
    /// auth (the tests of auth turn it on).
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            data_dir: data_dir.into(),
            cache_capacity: 16 << 20,
            drain_timeout: Duration::from_secs(5),
            calendar: None,
            auth: false,
            admin_token_file: None,
            rate_limit: None,
            max_message_bytes: Self::DEFAULT_MAX_MESSAGE_MIB << 20,
            tls: None,
            allow_plaintext: false,
            metrics_listen: None,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            idle_timeout: Duration::from_secs(Self::DEFAULT_IDLE_SECS),
            keepalive: Duration::from_secs(Self::DEFAULT_KEEPALIVE_SECS),
            cors_origins: Vec::new(),
        }
    }
}
