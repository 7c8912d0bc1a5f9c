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
}

impl Config {
    pub const DEFAULT_LISTEN: &'static str = "127.0.0.1:50051";
    pub const DEFAULT_DATA_DIR: &'static str = "./data";
    pub const DEFAULT_CACHE_MIB: u64 = 32;
    pub const DEFAULT_DRAIN_SECS: u64 = 30;

    /// Defaults for a store in `data_dir`, on a free loopback port.
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            data_dir: data_dir.into(),
            cache_capacity: 16 << 20,
            drain_timeout: Duration::from_secs(5),
            calendar: None,
        }
    }
}
