//! Settings. Every one is a command-line flag and a `CAREERGRAPH_*` environment variable, and
//! every default is safe and lets the first run work with nothing configured.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// The largest page a connection field returns.
pub const MAX_PAGE_SIZE: usize = 100;
/// The page size when `first` is not given.
pub const DEFAULT_PAGE_SIZE: usize = 20;

/// How the server runs.
#[derive(Args, Clone, Debug)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "CAREERGRAPH_LISTEN", default_value = "127.0.0.1:8080", global = true)]
    pub listen: SocketAddr,

    /// Database URL (`postgres://…` or `sqlite://…`). Default: a SQLite file in the data directory.
    #[arg(long, env = "CAREERGRAPH_DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Directory for the embedded database and generated keys.
    #[arg(long, env = "CAREERGRAPH_DATA_DIR", default_value = "./careergraph-data", global = true)]
    pub data_dir: PathBuf,

    /// Deepest selection nesting a query may have.
    #[arg(long, env = "CAREERGRAPH_MAX_DEPTH", default_value_t = 12, global = true)]
    pub max_depth: usize,

    /// Highest complexity (fields, multiplied by page sizes) a query may have.
    #[arg(long, env = "CAREERGRAPH_MAX_COMPLEXITY", default_value_t = 20_000, global = true)]
    pub max_complexity: usize,

    /// Most aliased fields one operation may have.
    #[arg(long, env = "CAREERGRAPH_MAX_ALIASES", default_value_t = 30, global = true)]
    pub max_aliases: usize,

    /// Largest request body, in bytes.
    #[arg(long, env = "CAREERGRAPH_MAX_BODY_BYTES", default_value_t = 256 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Most operations one batched request may carry.
    #[arg(long, env = "CAREERGRAPH_MAX_BATCH", default_value_t = 10, global = true)]
    pub max_batch: usize,

    /// Seconds a request may take before it is answered with 408.
    #[arg(long, env = "CAREERGRAPH_REQUEST_TIMEOUT_SECS", default_value_t = 30, global = true)]
    pub request_timeout_secs: u64,
}

impl Config {
    /// The database to use: the configured URL, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("careergraph.db").display()),
        }
    }

    /// Whether the database is the embedded SQLite file in the data directory.
    pub fn uses_embedded_database(&self) -> bool {
        self.database_url.is_none()
    }

    /// How long a request may take.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// Settings for a server on `listen` using `database_url`, with every other setting at its
    /// default (for tests and embedding).
    pub fn new(listen: SocketAddr, database_url: Option<String>, data_dir: PathBuf) -> Self {
        Self {
            listen,
            database_url,
            data_dir,
            max_depth: 12,
            max_complexity: 20_000,
            max_aliases: 30,
            max_body_bytes: 256 * 1024,
            max_batch: 10,
            request_timeout_secs: 30,
        }
    }
}
