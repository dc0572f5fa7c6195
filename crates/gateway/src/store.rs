//! The database as the gateway holds it: a connection pool that counts its statements.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use careergraph_domain::Db;

/// A shared connection pool, optionally a second one on a read replica, and how many SQL
/// statements they have run (published on `/metrics` and used by tests to prove that nested
/// queries are batched).
#[derive(Clone)]
pub struct Store {
    db: Db,
    replica: Option<Db>,
    /// What the second pool is, for metrics: `replica` (a read URL) or `reader` (an embedded
    /// SQLite file's read-only connections).
    replica_name: &'static str,
    statements: Arc<Statements>,
}

/// What the store's pools have run: how many statements, and while someone listens
/// ([`Store::record_statements`]), their text.
#[derive(Default)]
struct Statements {
    count: AtomicU64,
    recording: AtomicBool,
    recorded: Mutex<Vec<String>>,
}

impl Statements {
    fn ran(&self, sql: &str) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if self.recording.load(Ordering::Relaxed) {
            self.recorded.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(sql.to_owned());
        }
    }
}

/// The text of every statement run while it lives (see [`Store::record_statements`]).
pub struct Recording(Arc<Statements>);

impl Recording {
    /// The statements run so far, in order, and recording goes on empty.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.recorded.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.0.recording.store(false, Ordering::Relaxed);
        self.take();
    }
}

impl Store {
    /// Connects to `url` (and to `read_url`, a read replica, when given) with at most
    /// `max_connections` each, counting every statement from then on; a statement waits at most
    /// `acquire_timeout` for a connection. A SQLite file without a replica gets one writing
    /// connection and `max_connections` read-only ones, which serve read-only requests as a
    /// replica would, without lag: in WAL mode a read sees every commit made before it began.
    pub async fn connect(
        url: &str,
        read_url: Option<&str>,
        max_connections: u32,
        acquire_timeout: std::time::Duration,
    ) -> anyhow::Result<Self> {
        let statements = Arc::new(Statements::default());
        let open = |url: String, max_connections: u32, pool: Pool| {
            let counter = statements.clone();
            async move {
                let db = match pool {
                    Pool::Writer => careergraph_domain::connect_with(&url, max_connections, acquire_timeout).await,
                    Pool::SqliteReader => {
                        careergraph_domain::connect_sqlite_reader(&url, max_connections, acquire_timeout).await
                    }
                };
                let mut db = db.with_context(|| format!("cannot open the database at {}", redact(&url)))?;
                db.pool_mut().set_metric_callback(move |statement| {
                    counter.ran(&statement.statement.sql);
                    crate::traces::statement(statement);
                });
                anyhow::Ok(db)
            }
        };
        // A file, not an in-memory database: another connection to `:memory:` is another database.
        let embedded = crate::config::sqlite_file_of(url).is_some() && read_url.is_none();
        // SQLite takes one writer at a time: more writing connections only wait on its lock, or
        // fail to upgrade a read to a write. Reads go to a pool of their own (below).
        let db = match embedded {
            true => open(url.to_owned(), 1, Pool::Writer).await?,
            false => open(url.to_owned(), max_connections, Pool::Writer).await?,
        };
        // A replica that is a SQLite file is opened read-only, as the embedded reader is.
        let reader = |url: &str| if url.starts_with("sqlite:") { Pool::SqliteReader } else { Pool::Writer };
        let replica = match (read_url, embedded) {
            (Some(read_url), _) => Some(open(read_url.to_owned(), max_connections, reader(read_url)).await?),
            (None, true) => Some(open(url.to_owned(), max_connections, Pool::SqliteReader).await?),
            (None, false) => None,
        };
        let replica_name = if embedded { "reader" } else { "replica" };
        Ok(Self { db, replica, replica_name, statements })
    }

    /// The connection pool: the primary database, or the replica in a store from [`Self::reads`].
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The store a request that only reads uses: the read replica when there is one. A request
    /// that writes keeps the primary for everything, so it reads its own writes.
    pub fn reads(&self) -> Self {
        match &self.replica {
            Some(replica) => Self { db: replica.clone(), replica: None, ..self.clone() },
            None => self.clone(),
        }
    }

    /// Every pool, the primary first (for readiness: both must answer).
    pub fn pools(&self) -> impl Iterator<Item = &Db> {
        std::iter::once(&self.db).chain(&self.replica)
    }

    /// Every pool with its name for metrics: `primary`, then `replica` or `reader`.
    pub fn named_pools(&self) -> impl Iterator<Item = (&'static str, &Db)> {
        std::iter::once(("primary", &self.db)).chain(self.replica.iter().map(|replica| (self.replica_name, replica)))
    }

    /// SQL statements run since the store was opened.
    pub fn statement_count(&self) -> u64 {
        self.statements.count.load(Ordering::Relaxed)
    }

    /// Keeps the text of every statement from now until the recording is dropped: what the
    /// tests read to see which columns a request selects. One recording at a time.
    pub fn record_statements(&self) -> Recording {
        self.statements.recording.store(true, Ordering::Relaxed);
        Recording(self.statements.clone())
    }
}

/// What a pool is for.
#[derive(Clone, Copy)]
enum Pool {
    /// Reads and writes (the primary, or a replica given by URL).
    Writer,
    /// Reads only, beside the one writing connection of an embedded SQLite file.
    SqliteReader,
}

/// `url` with any password replaced, fit for logs and error messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Setting a password only fails for URLs that cannot have one, which this one has.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_the_password_and_keeps_the_rest() {
        assert_eq!(redact("postgres://app:s3cret@db:5432/cg"), "postgres://app:***@db:5432/cg");
        assert_eq!(redact("sqlite://./data/careergraph.db?mode=rwc"), "sqlite://./data/careergraph.db?mode=rwc");
    }
}
