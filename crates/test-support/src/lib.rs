//! What careergraph's test suites share, in a crate of its own so that every crate's tests may
//! depend on it (the domain crate's unit tests, the gateway's process tests, the black-box
//! suite): a PostgreSQL database of a test's own, a PgBouncer in front of its server, and a
//! streaming replica of it. It
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
        let dropped = on_the_server(&self.admin_url, format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        if !dropped {
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

/// A streaming replica of the PostgreSQL server `TEST_DATABASE_URL` names: a cluster of the
/// test's own, copied with `pg_basebackup -R` into a temporary directory and run on a free port
/// with the server's own binaries, applying what it receives only after an apply delay
/// (`recovery_min_apply_delay`), so that it lags by a known time. Run as the `postgres` user
/// when the tests run as root (PostgreSQL will not run as root). Stopped and deleted when
/// dropped. The server must allow replication connections from 127.0.0.1 (`.ci/run` adds
/// `host replication all 127.0.0.1/32 trust` to its `pg_hba.conf`).
pub struct Standby {
    admin_url: String,
    slot: String,
    port: u16,
    bin: std::path::PathBuf,
    data: std::path::PathBuf,
    dir: tempfile::TempDir,
    settings: String,
}

impl Standby {
    /// Copies the server `admin_url` names and starts the copy as its standby, waiting until it
    /// accepts connections.
    pub async fn start(admin_url: &str, apply_delay: std::time::Duration) -> Self {
        use sea_orm::{ConnectionTrait, Statement};
        let admin = sea_orm::Database::connect(admin_url).await.expect("TEST_DATABASE_URL is reachable");
        let setting = |name: &str| {
            let admin = &admin;
            let sql = format!("SELECT current_setting('{name}') AS value");
            async move {
                let row = admin
                    .query_one_raw(Statement::from_string(admin.get_database_backend(), sql))
                    .await
                    .expect("a setting")
                    .expect("a row");
                row.try_get::<String>("", "value").expect("text")
            }
        };
        let major = setting("server_version_num").await.parse::<u32>().expect("a version number") / 10_000;
        // A hot standby needs at least the primary's numbers of these.
        let mut settings = String::new();
        for name in [
            "max_connections",
            "max_worker_processes",
            "max_wal_senders",
            "max_prepared_transactions",
            "max_locks_per_transaction",
        ] {
            settings.push_str(&format!("{name} = {}\n", setting(name).await));
        }
        // The slot, made and reserving the log before the copy starts, keeps the primary's log
        // until the standby has it, even while it is stopped. (`pg_basebackup -C` makes it only
        // once the copy has begun: a checkpoint in between, such as another copy's, may recycle
        // the very segment the copy then asks for.)
        let slot = format!("careergraph_test_{}", uuid::Uuid::now_v7().simple());
        let reserve = format!("SELECT pg_create_physical_replication_slot('{slot}', true)");
        admin.execute_unprepared(&reserve).await.expect("a replication slot");
        admin.close().await.ok();
        let server = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
        let (host, server_port) = (server.host_str().unwrap_or("127.0.0.1").to_owned(), server.port().unwrap_or(5432));
        let user = if server.username().is_empty() { "postgres".to_owned() } else { server.username().to_owned() };
        let password = server.password().map(str::to_owned);
        let bin = std::path::PathBuf::from(format!("/usr/lib/postgresql/{major}/bin"));
        let dir = tempfile::tempdir().expect("a directory for the standby");
        let data = dir.path().join("data");
        let standby = Self { admin_url: admin_url.to_owned(), slot, port: free_port(), bin, data, dir, settings };
        standby.hand_to_postgres(standby.dir.path());
        let mut backup = standby.command("pg_basebackup");
        backup.args(["-h", &host, "-p", &server_port.to_string(), "-U", &user, "-D"]).arg(&standby.data);
        backup.args(["-R", "-X", "stream", "-c", "fast", "-S", &standby.slot]);
        if let Some(password) = password {
            backup.env("PGPASSWORD", password);
        }
        run(backup, "pg_basebackup (the server must allow replication connections from this host)");
        // Debian keeps a cluster's configuration outside its data directory, so the copy has none.
        std::fs::write(standby.data.join("pg_hba.conf"), "local all all trust\nhost all all 127.0.0.1/32 trust\n")
            .expect("pg_hba.conf");
        std::fs::write(standby.data.join("pg_ident.conf"), "").expect("pg_ident.conf");
        standby.configure(apply_delay);
        standby.hand_to_postgres(standby.dir.path());
        standby.start_again().await;
        standby
    }

    /// The URL of `database_url`'s database on this standby.
    pub fn url_of(&self, database_url: &str) -> String {
        let mut url = url::Url::parse(database_url).expect("a database URL");
        url.set_host(Some("127.0.0.1")).expect("a host");
        url.set_port(Some(self.port)).expect("a port");
        url.to_string()
    }

    /// Applies what it receives `apply_delay` after the primary committed it, from now on.
    pub fn set_apply_delay(&self, apply_delay: std::time::Duration) {
        self.configure(apply_delay);
        let mut reload = self.command("pg_ctl");
        reload.arg("reload").arg("-D").arg(&self.data);
        run(reload, "pg_ctl reload");
    }

    /// Stops it (`pg_ctl stop -m fast`: its connections are cut).
    pub fn stop(&self) {
        let mut stop = self.command("pg_ctl");
        stop.args(["stop", "-m", "fast", "-w", "-D"]).arg(&self.data);
        run(stop, "pg_ctl stop");
    }

    /// Starts it (again) and waits until it accepts connections.
    pub async fn start_again(&self) {
        let mut start = self.command("pg_ctl");
        start.args(["start", "-w", "-t", "60", "-D"]).arg(&self.data).arg("-l").arg(self.dir.path().join("log"));
        run(start, "pg_ctl start");
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the standby did not come up on port {}", self.port);
    }

    fn configure(&self, apply_delay: std::time::Duration) {
        let conf = format!(
            "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nhot_standby = on\n\
             recovery_min_apply_delay = '{}ms'\nfsync = off\n{}",
            self.port,
            self.dir.path().display(),
            apply_delay.as_millis(),
            self.settings
        );
        std::fs::write(self.data.join("postgresql.conf"), conf).expect("postgresql.conf");
    }

    /// A command of PostgreSQL's, run as `postgres` when the tests run as root.
    fn command(&self, program: &str) -> std::process::Command {
        let program = self.bin.join(program);
        if running_as_root() {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            std::process::Command::new(program)
        }
    }

    /// Makes everything under `path` the `postgres` user's, when the tests run as root.
    fn hand_to_postgres(&self, path: &std::path::Path) {
        if running_as_root() {
            let mut chown = std::process::Command::new("chown");
            chown.args(["-R", "postgres:postgres"]).arg(path);
            run(chown, "chown");
        }
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        let mut stop = self.command("pg_ctl");
        stop.args(["stop", "-m", "immediate", "-D"]).arg(&self.data);
        let _ = stop.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).status();
        // Left behind, the slot would keep the primary's log forever.
        let sql = format!("SELECT pg_drop_replication_slot('{}')", self.slot);
        if !on_the_server(&self.admin_url, sql) {
            eprintln!("could not drop replication slot {}", self.slot);
        }
    }
}

/// Runs `sql` on the server `admin_url` names from a thread of its own (a `Drop` runs inside
/// the test's runtime, which cannot be blocked on; a thread can); whether it succeeded.
fn on_the_server(admin_url: &str, sql: String) -> bool {
    let admin_url = admin_url.to_owned();
    let done = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        runtime.block_on(async {
            use sea_orm::ConnectionTrait;
            let admin = sea_orm::Database::connect(&admin_url).await.ok()?;
            admin.execute_unprepared(&sql).await.ok()?;
            admin.close().await.ok()
        })
    })
    .join();
    matches!(done, Ok(Some(())))
}

/// Runs `command`, panicking with what it printed when it fails.
fn run(mut command: std::process::Command, what: &str) {
    let output = command.output().unwrap_or_else(|error| panic!("{what} cannot run: {error}"));
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
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
