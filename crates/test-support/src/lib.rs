//! What careergraph's test suites share, in a crate of its own so that every crate's tests may
//! depend on it (the domain crate's unit tests, the gateway's process tests, the black-box
//! suite): a PostgreSQL database of a test's own, and a PgBouncer in front of its server. It
//! depends on no careergraph crate, so that the domain crate can use it in its own tests.

/// A PostgreSQL database of the test's own on the server `TEST_DATABASE_URL` names, dropped
/// when the value is (pass or fail).
pub struct FreshDatabase {
    admin_url: String,
    name: String,
    /// Its URL.
    pub url: String,
}

impl FreshDatabase {
    /// Creates `<prefix>_<uuid>`.
    pub async fn create(admin_url: &str, prefix: &str) -> Self {
        use sea_orm::ConnectionTrait;
        let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
        let admin = sea_orm::Database::connect(admin_url).await.expect("TEST_DATABASE_URL is reachable");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("a database");
        admin.close().await.ok();
        let mut url = url::Url::parse(admin_url).expect("a URL");
        url.set_path(&name);
        Self { admin_url: admin_url.to_owned(), name, url: url.to_string() }
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread can.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                use sea_orm::ConnectionTrait;
                let admin = sea_orm::Database::connect(&admin_url).await.ok()?;
                admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok()?;
                admin.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// Where Debian puts `pgbouncer`.
pub const PGBOUNCER: &str = "/usr/sbin/pgbouncer";

/// A PgBouncer in transaction pooling mode, a process of the test's own on a free port, in front
/// of the PostgreSQL server `admin_url` names, with `server_pool_size` server connections per
/// database: fewer than a test's clients, so that transactions share servers. Stopped when
/// dropped.
pub struct PgBouncer {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PgBouncer {
    /// Starts it and waits until it accepts connections.
    pub async fn start(admin_url: &str, server_pool_size: u32) -> Self {
        Self::start_on(admin_url, server_pool_size, free_port()).await
    }

    /// Starts it on `port` (again, after [`Self::stop`], as an operator restarts it).
    pub async fn start_on(admin_url: &str, server_pool_size: u32, port: u16) -> Self {
        let server = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
        let mut target = format!(
            "host={} port={} user={}",
            server.host_str().unwrap_or("127.0.0.1"),
            server.port().unwrap_or(5432),
            if server.username().is_empty() { "postgres" } else { server.username() }
        );
        if let Some(password) = server.password() {
            target.push_str(&format!(" password={password}"));
        }
        let dir = tempfile::tempdir().expect("a directory for pgbouncer.ini");
        // sqlx sends extra_float_digits at start-up, which PgBouncer passes on only if told to
        // ignore it; `auth_type = any` lets the test's clients in as the server's user.
        let ini = format!(
            "[databases]\n* = {target}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n\
             unix_socket_dir =\nauth_type = any\npool_mode = transaction\ndefault_pool_size = {server_pool_size}\n\
             max_client_conn = 1000\nignore_startup_parameters = extra_float_digits,options\n\
             log_connections = 0\nlog_disconnections = 0\n"
        );
        let path = dir.path().join("pgbouncer.ini");
        std::fs::write(&path, ini).expect("pgbouncer.ini");
        let mut command = std::process::Command::new(PGBOUNCER);
        // PgBouncer will not run as root; as another user it must be able to read its file.
        if running_as_root() {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
            }
            command.args(["-u", "nobody"]);
        }
        let child = command
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("pgbouncer starts");
        let bouncer = Self { child, port, _dir: dir };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return bouncer;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("pgbouncer did not come up on port {port}");
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `database_url`'s database, reached through this PgBouncer, marked for careergraph as behind
    /// a transaction pooler (`pgbouncer=true`).
    pub fn url_of(&self, database_url: &str) -> String {
        let mut url = url::Url::parse(database_url).expect("a database URL");
        url.set_host(Some("127.0.0.1")).expect("a host");
        url.set_port(Some(self.port)).expect("a port");
        url.query_pairs_mut().append_pair("pgbouncer", "true");
        url.to_string()
    }

    /// Stops it at once (SIGKILL), dropping every connection it holds.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether this process runs as root: its `/proc/self` belongs to its user.
fn running_as_root() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").is_ok_and(|process| process.uid() == 0)
    }
    #[cfg(not(unix))]
    false
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free port").port()
}
