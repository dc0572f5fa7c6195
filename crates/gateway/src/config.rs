//! Settings. Every one is a command-line flag and a `CAREERGRAPH_*` environment variable, and
//! every default is safe and lets the first run work with nothing configured.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

pub use crate::playground::PlaygroundAssets;

/// How log lines are written to standard error.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// For people: one line per event, coloured only when standard error is a terminal.
    #[default]
    Text,
    /// For log collectors: one JSON object per line.
    Json,
}

/// Which header a trusted reverse proxy names the client in.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAddressHeader {
    /// `X-Forwarded-For`, which nginx, HAProxy and most load balancers write.
    #[default]
    #[value(name = "x-forwarded-for")]
    XForwardedFor,
    /// `Forwarded` (RFC 7239).
    Forwarded,
}

/// The largest page a connection field returns.
pub const MAX_PAGE_SIZE: usize = 100;
/// The page size when `first` is not given.
pub const DEFAULT_PAGE_SIZE: usize = 20;

/// Default of `max_depth`.
pub const DEFAULT_MAX_DEPTH: usize = 12;
/// Default of `max_complexity`.
pub const DEFAULT_MAX_COMPLEXITY: usize = 20_000;
/// Default of `max_aliases`.
pub const DEFAULT_MAX_ALIASES: usize = 30;
/// Default of `max_body_bytes`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// Default of `max_batch`.
pub const DEFAULT_MAX_BATCH: usize = 10;
/// Default of `request_timeout_secs`.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;
/// Default of `login_free_failures`.
pub const DEFAULT_LOGIN_FREE_FAILURES: u32 = 5;
/// Default of `login_free_failures_per_address`.
pub const DEFAULT_LOGIN_FREE_FAILURES_PER_ADDRESS: u32 = 20;
/// Default of `register_free_per_address`.
pub const DEFAULT_REGISTER_FREE_PER_ADDRESS: u32 = 10;
/// Default of `budget_per_minute`: 50 requests of the highest complexity a minute, far more of
/// ordinary ones.
pub const DEFAULT_BUDGET_PER_MINUTE: u32 = 1_000_000;
/// Default of `shutdown_grace_secs`.
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 30;
/// Default of `db_acquire_timeout_secs`.
pub const DEFAULT_DB_ACQUIRE_TIMEOUT_SECS: u64 = 3;
/// Default of `database_read_max_lag_ms`.
pub const DEFAULT_DATABASE_READ_MAX_LAG_MS: u64 = 1000;
/// Default of `user_cache_secs`.
pub const DEFAULT_USER_CACHE_SECS: u64 = 30;

/// Default of `public_max_age_secs`.
pub const DEFAULT_PUBLIC_MAX_AGE_SECS: u64 = 60;

/// Default of `response_cache_mib`.
pub const DEFAULT_RESPONSE_CACHE_MIB: u64 = 64;
/// Default of `websocket_connections_per_client`.
pub const DEFAULT_WEBSOCKET_CONNECTIONS_PER_CLIENT: usize = 32;
/// Default of `subscriptions_per_connection`.
pub const DEFAULT_SUBSCRIPTIONS_PER_CONNECTION: usize = 32;
/// Default of `subscription_buffer_events`.
pub const DEFAULT_SUBSCRIPTION_BUFFER_EVENTS: usize = 256;

/// Default `iss` of access tokens.
pub const DEFAULT_JWT_ISSUER: &str = "careergraph";
/// Default `aud` of access tokens.
pub const DEFAULT_JWT_AUDIENCE: &str = "careergraph-api";

/// How the server runs.
#[derive(Args, Clone, Debug)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "CAREERGRAPH_LISTEN", default_value = "127.0.0.1:8080", global = true)]
    pub listen: SocketAddr,

    /// Database URL (`postgres://…` or `sqlite://…`). Default: a SQLite file in the data directory.
    #[arg(long, env = "CAREERGRAPH_DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// A PostgreSQL streaming replica of the database: queries read there while it is no more
    /// than `database_read_max_lag_ms` behind and has replayed the caller's own last write;
    /// mutations (and whatever a request that holds a mutation reads) go to `database_url`.
    /// Default: none.
    #[arg(long, env = "CAREERGRAPH_DATABASE_READ_URL", global = true)]
    pub database_read_url: Option<String>,

    /// Milliseconds the read replica may lag behind the primary (as measured: the replica's
    /// replay position against the primary's WAL position over time) before queries read from
    /// the primary instead.
    #[arg(
        long,
        env = "CAREERGRAPH_DATABASE_READ_MAX_LAG_MS",
        default_value_t = DEFAULT_DATABASE_READ_MAX_LAG_MS,
        global = true
    )]
    pub database_read_max_lag_ms: u64,

    /// A direct PostgreSQL URL for the change feed's one `LISTEN` connection, where the database
    /// URL goes through a transaction pooler (`pgbouncer=true`), which cannot carry `LISTEN`.
    /// Default: the database URL.
    #[arg(long, env = "CAREERGRAPH_DATABASE_LISTEN_URL", global = true)]
    pub database_listen_url: Option<String>,

    /// Directory for the embedded database and generated keys.
    #[arg(long, env = "CAREERGRAPH_DATA_DIR", default_value = "./careergraph-data", global = true)]
    pub data_dir: PathBuf,

    /// Deepest selection nesting a query may have.
    #[arg(long, env = "CAREERGRAPH_MAX_DEPTH", default_value_t = DEFAULT_MAX_DEPTH, global = true)]
    pub max_depth: usize,

    /// Highest complexity (fields, multiplied by page sizes) a query may have.
    #[arg(long, env = "CAREERGRAPH_MAX_COMPLEXITY", default_value_t = DEFAULT_MAX_COMPLEXITY, global = true)]
    pub max_complexity: usize,

    /// Most aliased fields one operation may have.
    #[arg(long, env = "CAREERGRAPH_MAX_ALIASES", default_value_t = DEFAULT_MAX_ALIASES, global = true)]
    pub max_aliases: usize,

    /// Largest request body, in bytes.
    #[arg(long, env = "CAREERGRAPH_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES, global = true)]
    pub max_body_bytes: usize,

    /// Most operations one batched request may carry.
    #[arg(long, env = "CAREERGRAPH_MAX_BATCH", default_value_t = DEFAULT_MAX_BATCH, global = true)]
    pub max_batch: usize,

    /// The most database connections the server opens. Default: 16 for PostgreSQL, 8 for SQLite.
    #[arg(long, env = "CAREERGRAPH_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,

    /// Seconds a statement waits for a database connection before the request is answered
    /// SERVICE_UNAVAILABLE (the database is down, or every connection is busy).
    #[arg(long, env = "CAREERGRAPH_DB_ACQUIRE_TIMEOUT_SECS", default_value_t = DEFAULT_DB_ACQUIRE_TIMEOUT_SECS, global = true)]
    pub db_acquire_timeout_secs: u64,

    /// Seconds the requests in flight may take to finish after SIGTERM or Ctrl-C; the server
    /// stops accepting at once and exits 0 when they are done, or when this time is up.
    #[arg(long, env = "CAREERGRAPH_SHUTDOWN_GRACE_SECS", default_value_t = DEFAULT_SHUTDOWN_GRACE_SECS, global = true)]
    pub shutdown_grace_secs: u64,

    /// Seconds a request may take before it is answered with 408.
    #[arg(long, env = "CAREERGRAPH_REQUEST_TIMEOUT_SECS", default_value_t = DEFAULT_REQUEST_TIMEOUT_SECS, global = true)]
    pub request_timeout_secs: u64,

    /// PEM file (PKCS#8) of the Ed25519 key that signs access tokens. Default: a key created
    /// once in the data directory (`jwt-ed25519.pem`, mode 0600). Replicas must share one.
    #[arg(long, env = "CAREERGRAPH_JWT_KEY_FILE", global = true)]
    pub jwt_key_file: Option<PathBuf>,

    /// Comma-separated PEM files of further public keys whose tokens are still accepted (the
    /// previous signing key, during a rotation).
    #[arg(long, env = "CAREERGRAPH_JWT_VERIFY_KEY_FILES", value_delimiter = ',', global = true)]
    pub jwt_verify_key_files: Vec<PathBuf>,

    /// The `iss` of access tokens.
    #[arg(long, env = "CAREERGRAPH_JWT_ISSUER", default_value = DEFAULT_JWT_ISSUER, global = true)]
    pub jwt_issuer: String,

    /// The `aud` of access tokens.
    #[arg(long, env = "CAREERGRAPH_JWT_AUDIENCE", default_value = DEFAULT_JWT_AUDIENCE, global = true)]
    pub jwt_audience: String,

    /// Whether anyone may create a VIEWER account with the `register` mutation.
    #[arg(long, env = "CAREERGRAPH_OPEN_REGISTRATION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub open_registration: bool,

    /// Failed sign-ins per account allowed within 15 minutes before each further one locks the
    /// account for twice as long (1 s, 2 s, 4 s … up to 15 minutes).
    #[arg(long, env = "CAREERGRAPH_LOGIN_FREE_FAILURES", default_value_t = DEFAULT_LOGIN_FREE_FAILURES, global = true)]
    pub login_free_failures: u32,

    /// The same, per client address.
    #[arg(long, env = "CAREERGRAPH_LOGIN_FREE_FAILURES_PER_ADDRESS", default_value_t = DEFAULT_LOGIN_FREE_FAILURES_PER_ADDRESS, global = true)]
    pub login_free_failures_per_address: u32,

    /// Registrations one client address may attempt within 15 minutes (whatever their outcome)
    /// before each further one locks registration from that address for twice as long as the
    /// last (1 s, 2 s, 4 s … at most 15 minutes), as failed sign-ins do.
    #[arg(long, env = "CAREERGRAPH_REGISTER_FREE_PER_ADDRESS", default_value_t = DEFAULT_REGISTER_FREE_PER_ADDRESS, global = true)]
    pub register_free_per_address: u32,

    /// Comma-separated CIDR ranges of reverse proxies whose client-address header
    /// (`CAREERGRAPH_CLIENT_ADDRESS_HEADER`) names the client address (for throttling and
    /// budgets). Empty by default: the TCP peer is the client, and the header is ignored.
    #[arg(long, env = "CAREERGRAPH_TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// The one header the trusted proxies write the client's address into: `x-forwarded-for`
    /// or `forwarded`. The other is never read, since a proxy passes on whatever a client
    /// wrote in a header it does not write itself.
    #[arg(long, env = "CAREERGRAPH_CLIENT_ADDRESS_HEADER", value_enum, default_value_t = ClientAddressHeader::XForwardedFor, global = true)]
    pub client_address_header: ClientAddressHeader,

    /// Whether the schema answers introspection (`__schema`, `__type`). The playground's docs
    /// pane and URL-mode code generation need it; `schema.graphql` tells clients the same.
    #[arg(long, env = "CAREERGRAPH_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub introspection: bool,

    /// Complexity points each client (a signed-in user, else a client network) may spend a
    /// minute; past it, requests answer RATE_LIMITED with `Retry-After`. 0 turns the budget off.
    #[arg(long, env = "CAREERGRAPH_BUDGET_PER_MINUTE", default_value_t = DEFAULT_BUDGET_PER_MINUTE, global = true)]
    pub budget_per_minute: u32,

    /// Whether errors about unknown fields suggest similar names ("Did you mean …?").
    #[arg(long, env = "CAREERGRAPH_SUGGESTIONS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub suggestions: bool,

    /// Comma-separated origins browsers may call the API from (CORS), like
    /// `https://app.example.com`. Empty (the default): any origin, without credentials, which is
    /// safe here because the API reads bearer tokens that a page must attach itself, never cookies.
    #[arg(long, env = "CAREERGRAPH_CORS_ORIGINS", value_delimiter = ',', global = true)]
    pub cors_origins: Vec<String>,

    /// A persisted-operations manifest (graphql-codegen's `persisted-documents.json` or Apollo's
    /// persisted query manifest). When set, only its operations run, by id or by identical text;
    /// anything else is refused with `PERSISTED_QUERY_NOT_IN_LIST` or `QUERY_NOT_IN_SAFELIST`.
    #[arg(long, env = "CAREERGRAPH_SAFELIST", global = true)]
    pub safelist: Option<PathBuf>,

    /// Address and port of a second listener that serves Prometheus metrics at `/metrics`. Off
    /// by default, so metrics are never public by accident; keep it off the public network.
    #[arg(long, env = "CAREERGRAPH_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// An OpenTelemetry collector's OTLP/HTTP address (such as `http://127.0.0.1:4318`): when
    /// set, every request's spans are exported there, continuing a caller's W3C `traceparent`.
    /// Off by default.
    #[arg(long, env = "CAREERGRAPH_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<url::Url>,

    /// How log lines are written to standard error: `text` or `json`.
    #[arg(long, env = "CAREERGRAPH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Whether to serve the GraphiQL playground at `/` (and at `/graphql` to a browser).
    #[arg(long, env = "CAREERGRAPH_PLAYGROUND", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub playground: bool,

    /// Where the playground's scripts and styles come from: `embedded` (the default: the pinned
    /// files the binary carries, so the page works offline), a `node_modules` directory holding
    /// the same pinned packages (`playground/node_modules` after `npm ci --prefix playground`),
    /// or `cdn` (the same files from cdn.jsdelivr.net, checked by hash; the browser then needs
    /// the internet).
    #[arg(long, env = "CAREERGRAPH_PLAYGROUND_ASSETS", default_value = "embedded", value_parser = PlaygroundAssets::parse, global = true)]
    pub playground_assets: PlaygroundAssets,

    /// Password hashes computed at once; further sign-ins wait (up to 5 s). Hashes run at the
    /// lowest priority (`SCHED_IDLE`), so they take no core a query wants, and a bound of one per
    /// core keeps a flood's memory in check. Default: one per core.
    #[arg(long, env = "CAREERGRAPH_PASSWORD_HASH_CONCURRENCY", global = true)]
    pub password_hash_concurrency: Option<usize>,

    /// GraphQL operations executing at once; further ones wait for a slot in turn (within the
    /// request timeout). Bounds the memory answers being built hold. Default: four per core.
    #[arg(long, env = "CAREERGRAPH_MAX_CONCURRENT_OPERATIONS", global = true)]
    pub max_concurrent_operations: Option<usize>,

    /// Seconds a shared cache (a CDN, a proxy) may keep the answer to an anonymous GET query
    /// without errors, sent as `Cache-Control: public, max-age=N` with an `ETag`. Everything else
    /// is `private, no-store`. 0 makes every answer private.
    #[arg(long, env = "CAREERGRAPH_PUBLIC_MAX_AGE_SECS", default_value_t = DEFAULT_PUBLIC_MAX_AGE_SECS, global = true)]
    pub public_max_age_secs: u64,

    /// Seconds a server may keep trusting what it knows about a user (role, disabled, password
    /// changes made through another replica). Bounds how long a revoked access token still works.
    #[arg(long, env = "CAREERGRAPH_USER_CACHE_SECS", default_value_t = DEFAULT_USER_CACHE_SECS, global = true)]
    pub user_cache_secs: u64,

    /// MiB of memory for anonymous queries' answers, served again until an edit that can affect
    /// them commits (on any instance) and never longer than the public max-age. 0 turns the
    /// cache off, as does a public max-age of 0.
    #[arg(long, env = "CAREERGRAPH_RESPONSE_CACHE_MIB", default_value_t = DEFAULT_RESPONSE_CACHE_MIB, global = true)]
    pub response_cache_mib: u64,

    /// Most GraphQL WebSocket connections one client address may hold open at once.
    #[arg(long, env = "CAREERGRAPH_WEBSOCKET_CONNECTIONS_PER_CLIENT", default_value_t = DEFAULT_WEBSOCKET_CONNECTIONS_PER_CLIENT, global = true)]
    pub websocket_connections_per_client: usize,

    /// Most subscriptions one WebSocket connection may have active at once.
    #[arg(long, env = "CAREERGRAPH_SUBSCRIPTIONS_PER_CONNECTION", default_value_t = DEFAULT_SUBSCRIPTIONS_PER_CONNECTION, global = true)]
    pub subscriptions_per_connection: usize,

    /// Events a subscriber that reads slowly may fall behind by; past that its missed events
    /// are dropped and it gets one RESYNC event instead.
    #[arg(long, env = "CAREERGRAPH_SUBSCRIPTION_BUFFER_EVENTS", default_value_t = DEFAULT_SUBSCRIPTION_BUFFER_EVENTS, global = true)]
    pub subscription_buffer_events: usize,
}

/// The file a `sqlite:` URL names; `None` for other databases and an in-memory SQLite one.
pub fn sqlite_file_of(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty() || path == ":memory:" || options.split('&').any(|option| option == "mode=memory");
    (!in_memory).then(|| PathBuf::from(path))
}

impl Config {
    /// The database to use: the configured URL, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.embedded_database_path().display()),
        }
    }

    /// The embedded SQLite file.
    pub fn embedded_database_path(&self) -> PathBuf {
        self.data_dir.join("careergraph.db")
    }

    /// Whether the database is the embedded SQLite file in the data directory.
    pub fn uses_embedded_database(&self) -> bool {
        self.database_url.is_none()
    }

    /// The SQLite file the database lives in, whether the embedded default or a `sqlite:` URL's
    /// path; `None` for PostgreSQL and an in-memory SQLite database.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        match &self.database_url {
            Some(url) => sqlite_file_of(url),
            None => Some(self.embedded_database_path()),
        }
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
            database_read_url: None,
            database_read_max_lag_ms: DEFAULT_DATABASE_READ_MAX_LAG_MS,
            database_listen_url: None,
            data_dir,
            max_depth: DEFAULT_MAX_DEPTH,
            max_complexity: DEFAULT_MAX_COMPLEXITY,
            max_aliases: DEFAULT_MAX_ALIASES,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_batch: DEFAULT_MAX_BATCH,
            request_timeout_secs: DEFAULT_REQUEST_TIMEOUT_SECS,
            db_max_connections: None,
            db_acquire_timeout_secs: DEFAULT_DB_ACQUIRE_TIMEOUT_SECS,
            shutdown_grace_secs: DEFAULT_SHUTDOWN_GRACE_SECS,
            jwt_key_file: None,
            jwt_verify_key_files: Vec::new(),
            jwt_issuer: DEFAULT_JWT_ISSUER.into(),
            jwt_audience: DEFAULT_JWT_AUDIENCE.into(),
            open_registration: true,
            login_free_failures: DEFAULT_LOGIN_FREE_FAILURES,
            login_free_failures_per_address: DEFAULT_LOGIN_FREE_FAILURES_PER_ADDRESS,
            register_free_per_address: DEFAULT_REGISTER_FREE_PER_ADDRESS,
            trusted_proxies: Vec::new(),
            client_address_header: ClientAddressHeader::XForwardedFor,
            introspection: true,
            suggestions: true,
            budget_per_minute: DEFAULT_BUDGET_PER_MINUTE,
            cors_origins: Vec::new(),
            safelist: None,
            metrics_listen: None,
            otlp_endpoint: None,
            log_format: LogFormat::Text,
            playground: true,
            playground_assets: PlaygroundAssets::Embedded,
            password_hash_concurrency: None,
            max_concurrent_operations: None,
            user_cache_secs: DEFAULT_USER_CACHE_SECS,
            public_max_age_secs: DEFAULT_PUBLIC_MAX_AGE_SECS,
            response_cache_mib: DEFAULT_RESPONSE_CACHE_MIB,
            websocket_connections_per_client: DEFAULT_WEBSOCKET_CONNECTIONS_PER_CLIENT,
            subscriptions_per_connection: DEFAULT_SUBSCRIPTIONS_PER_CONNECTION,
            subscription_buffer_events: DEFAULT_SUBSCRIPTION_BUFFER_EVENTS,
        }
    }

    /// Password hashes computed at once.
    pub fn password_hash_concurrency(&self) -> usize {
        self.password_hash_concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |cores| cores.get().max(1)))
    }

    /// GraphQL operations executing at once.
    pub fn concurrent_operations(&self) -> usize {
        self.max_concurrent_operations
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(4, |cores| cores.get() * 4))
            .max(1)
    }

    /// Where the signing key is read from, or created.
    pub fn jwt_key_path(&self) -> PathBuf {
        self.jwt_key_file.clone().unwrap_or_else(|| self.data_dir.join("jwt-ed25519.pem"))
    }
}
