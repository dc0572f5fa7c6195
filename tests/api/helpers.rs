//! Starting a real server on a free port against a fresh database, and talking to it.

use std::net::{Ipv4Addr, SocketAddr};

use careergraph_auth::Role;
use careergraph_gateway::{Application, Config};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// The password of every account a test creates: long enough, and not a common one.
pub const PASSWORD: &str = "violet staircase 42";

/// The database a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a fresh temporary data directory: the embedded default.
    Sqlite,
    /// A fresh database on the server `TEST_DATABASE_URL` points at.
    Postgres,
    /// The same, reached through a PgBouncer of the test's own in transaction pooling mode with
    /// [`PGBOUNCER_SERVERS`] server connections (the change feed listens directly).
    PgBouncer,
}

/// How many server connections the PgBouncer of a [`Backend::PgBouncer`] test has: fewer than
/// the clients of any concurrency test, so that transactions share servers.
pub const PGBOUNCER_SERVERS: u32 = 2;

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// An HTTP client with no default headers.
    pub client: reqwest::Client,
    /// The server's data directory (the SQLite file and the signing key live here).
    pub data_dir: std::path::PathBuf,
    /// `http://127.0.0.1:PORT` of the metrics listener, when one was configured.
    pub metrics_address: Option<String>,
    /// The server's database, for a connection of the test's own.
    pub database_url: String,
    store: careergraph_gateway::store::Store,
    _database: DatabaseGuard,
}

/// Runs each listed test body once on SQLite and once on PostgreSQL, as `NAME::sqlite` and
/// `NAME::postgres`. Without `TEST_DATABASE_URL` the PostgreSQL variant is reported as ignored.
/// A test written `async fn name(app)` gets a server started with the defaults; one written
/// `async fn name(backend: Backend)` gets the backend and starts its own (with other settings).
#[macro_export]
macro_rules! on_both_backends {
    ($($tests:tt)*) => { $crate::on_backends!([sqlite, postgres] $($tests)*); };
}

/// Like [`on_both_backends!`], and a third time through PgBouncer in transaction pooling mode
/// (`NAME::pgbouncer`, ignored without `TEST_DATABASE_URL` or pgbouncer): for the reads, edits,
/// sign-ins and concurrency that must work behind a transaction pooler.
#[macro_export]
macro_rules! on_every_backend {
    ($($tests:tt)*) => { $crate::on_backends!([sqlite, postgres, pgbouncer] $($tests)*); };
}

/// Runs each listed test body on each of the listed backends (see [`on_both_backends!`]).
#[macro_export]
macro_rules! on_backends {
    ([$($kind:ident),*]) => {};
    ([$($kind:ident),*] $(#[$meta:meta])* async fn $name:ident($backend:ident: Backend) $body:block $($rest:tt)*) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $( $crate::backend_case!($kind, $backend, $body); )*
        }
        $crate::on_backends!([$($kind),*] $($rest)*);
    };
    ([$($kind:ident),*] $(#[$meta:meta])* async fn $name:ident($app:ident) $body:block $($rest:tt)*) => {
        $crate::on_backends! {
            [$($kind),*]
            $(#[$meta])*
            async fn $name(backend: Backend) {
                let $app = $crate::helpers::spawn_app(backend).await;
                $body
            }
        }
        $crate::on_backends!([$($kind),*] $($rest)*);
    };
}

/// One backend's test function of [`on_backends!`].
#[macro_export]
macro_rules! backend_case {
    (sqlite, $backend:ident, $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn sqlite() {
            let $backend = $crate::helpers::Backend::Sqlite;
            $body
        }
    };
    (postgres, $backend:ident, $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL skipped")]
        async fn postgres() {
            let $backend = $crate::helpers::Backend::Postgres;
            $body
        }
    };
    (pgbouncer, $backend:ident, $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[cfg_attr(
            not(pgbouncer_tests),
            ignore = "needs TEST_DATABASE_URL and pgbouncer (apt-get install pgbouncer; .ci/run does)"
        )]
        async fn pgbouncer() {
            let $backend = $crate::helpers::Backend::PgBouncer;
            $body
        }
    };
}

/// Starts the real server, as `careergraph serve` would, on a fresh database and a free port.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts the real server like [`spawn_app`], with settings changed by `configure`.
pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
    // Every server has a data directory of its own, for the SQLite file and the signing key.
    let data_dir = tempfile::tempdir().expect("a temporary data directory");
    let admin_url = || std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL is set for PostgreSQL tests");
    let (postgres, pgbouncer) = match backend {
        Backend::Sqlite => (None, None),
        Backend::Postgres => (Some(FreshDatabase::create(&admin_url(), "careergraph_test").await), None),
        Backend::PgBouncer => (
            Some(FreshDatabase::create(&admin_url(), "careergraph_test").await),
            Some(PgBouncer::start(&admin_url(), PGBOUNCER_SERVERS).await),
        ),
    };
    let database_url = match (&postgres, &pgbouncer) {
        (Some(fresh), Some(bouncer)) => Some(bouncer.url_of(&fresh.url)),
        (Some(fresh), None) => Some(fresh.url.clone()),
        _ => None,
    };
    // The server creates its data directory itself, as on a first run.
    let data_path = data_dir.path().join("data");
    let mut config = Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), database_url, data_path.clone());
    if let (Some(fresh), Some(_)) = (&postgres, &pgbouncer) {
        config.database_listen_url = Some(fresh.url.clone());
    }
    configure(&mut config);
    let database_url = config.database_url();
    let database = DatabaseGuard { _directory: data_dir, _postgres: postgres, _pgbouncer: pgbouncer };
    let application = Application::build(config).await.expect("the server starts");
    let address = format!("http://127.0.0.1:{}", application.port());
    let store = application.store().clone();
    let metrics_address = application.metrics_port().map(|port| format!("http://127.0.0.1:{port}"));
    tokio::spawn(application.run_until(std::future::pending()));
    TestApp {
        address,
        client: reqwest::Client::new(),
        data_dir: data_path,
        metrics_address,
        database_url,
        store,
        _database: database,
    }
}

impl TestApp {
    /// POSTs a GraphQL request as JSON and returns the parsed body, whatever its status.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.post_json(json!({ "query": query, "variables": variables })).await.1
    }

    /// POSTs `body` to `/graphql` as `application/json`; returns the status and parsed body.
    pub async fn post_json(&self, body: Value) -> (reqwest::StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}/graphql", self.address))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("the server answers");
        let status = response.status();
        (status, response.json().await.expect("a JSON body"))
    }

    /// POSTs a query with `Authorization: Bearer <token>`; returns the status, the headers and
    /// the parsed body.
    pub async fn post_bearer(&self, token: &str, query: &str, variables: Value) -> (StatusCode, HeaderMap, Value) {
        let response = self
            .client
            .post(format!("{}/graphql", self.address))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(json!({ "query": query, "variables": variables }).to_string())
            .send()
            .await
            .expect("the server answers");
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.json().await.expect("a JSON body"))
    }

    /// POSTs a query with `Authorization: Bearer <token>` and returns the parsed body.
    pub async fn as_user(&self, token: &str, query: &str, variables: Value) -> Value {
        self.post_bearer(token, query, variables).await.2
    }

    /// Whether `query` is answered without errors again within 10 s (asked every 250 ms): for a
    /// server that must resume by itself once what it depends on is back.
    pub async fn answers_again(&self, query: &str) -> bool {
        for _ in 0..40 {
            if self.graphql(query, json!({})).await.get("errors").is_none() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        false
    }

    /// Registers `email` (password [`PASSWORD`]), gives it `role` straight in the database, signs
    /// in, and returns the access token.
    pub async fn token_for(&self, email: &str, role: Role) -> String {
        let register = "mutation ($e: String!, $p: String!) { register(input: { email: $e, password: $p, displayName: \"T\" }) { user { id } } }";
        let data = self.query_ok(register, json!({ "e": email, "p": PASSWORD })).await;
        let id = data["register"]["user"]["id"].as_str().expect("an id").parse().expect("a UUID");
        careergraph_domain::accounts::set_role(self.db(), &careergraph_domain::audit::Actor::default(), id, role)
            .await
            .expect("the role is set");
        let login = "mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }";
        let data = self.query_ok(login, json!({ "e": email, "p": PASSWORD })).await;
        data["login"]["accessToken"].as_str().expect("an access token").to_owned()
    }

    /// POSTs a GraphQL request through `client` (one made by [`client_from`], say) with extra
    /// `headers`; returns the status and the parsed body.
    pub async fn post_with(
        &self,
        client: &reqwest::Client,
        headers: &[(&str, &str)],
        query: &str,
        variables: Value,
    ) -> (StatusCode, Value) {
        let mut request = client
            .post(format!("{}/graphql", self.address))
            .header("content-type", "application/json")
            .body(json!({ "query": query, "variables": variables }).to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        (status, response.json().await.expect("a JSON body"))
    }

    /// The `data` of a response that must have no errors.
    pub async fn query_ok(&self, query: &str, variables: Value) -> Value {
        let body = self.graphql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// SQL statements the server has run so far.
    pub fn statement_count(&self) -> u64 {
        self.store.statement_count()
    }

    /// Keeps the text of every statement the server runs until the recording is dropped.
    pub fn record_statements(&self) -> careergraph_gateway::store::Recording {
        self.store.record_statements()
    }

    /// The server's database, for arranging data a test needs.
    pub fn db(&self) -> &careergraph_domain::Db {
        self.store.db()
    }
}

/// An HTTP client whose connections come from `source`, a loopback address such as
/// `[127, 0, 0, 2]`: to the server, each such client is a distinct client address.
pub fn client_from(source: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(source))
        .build()
        .expect("a client bound to a loopback address")
}

/// The `extensions.code` of the first error of a response.
pub fn first_error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body:#}"))
}

/// Held for its `Drop`: the data directory and database disappear with the test.
struct DatabaseGuard {
    _directory: tempfile::TempDir,
    // Stopped before its database is dropped.
    _pgbouncer: Option<PgBouncer>,
    _postgres: Option<FreshDatabase>,
}

// The same helpers as the process tests' (crates/gateway/tests), by file.
use careergraph_test_support::{FreshDatabase, PgBouncer};

/// One of the npm packages under `tests/clients` whose tools a test runs.
#[derive(Clone)]
pub struct NodePackage {
    /// Its directory.
    pub dir: std::path::PathBuf,
}

impl NodePackage {
    /// The package `tests/clients/{name}`.
    pub fn client(name: &str) -> Self {
        Self { dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("clients").join(name) }
    }

    /// Runs `program args` in the package with `env`; fails the test with its output if it fails.
    pub fn run(&self, program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
        let output = std::process::Command::new(program)
            .args(args)
            .current_dir(&self.dir)
            .envs(env.iter().copied())
            .output()
            .unwrap_or_else(|error| panic!("{program} cannot start: {error}"));
        let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "`{program} {}` failed:\n{said}", args.join(" "));
        said
    }
}
