//! The database as the gateway holds it: a connection pool that counts its statements.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use careergraph_domain::Db;
use careergraph_domain::changes::Feed;
use uuid::Uuid;

use crate::replica::{Lsn, Replica, Route};

/// A shared connection pool, optionally a second one that reads (an embedded SQLite file's
/// read-only connections, or a streaming replica), and how many SQL statements they have run
/// (published on `/metrics` and used by tests to prove that nested queries are batched).
#[derive(Clone)]
pub struct Store {
    db: Db,
    reads: Reads,
    /// Of a store that reads a replica: every commit made before this instant is there. `None`:
    /// the primary, which holds every commit.
    complete_as_of: Option<Instant>,
    statements: Arc<Statements>,
}

/// Where the queries of a store read.
#[derive(Clone)]
enum Reads {
    /// Where it writes.
    Same,
    /// The read-only connections of an embedded SQLite file.
    Reader(Db),
    /// A streaming replica, while it is fresh enough for the caller.
    Replica(Arc<Replica>),
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
    /// Connects to `url` with at most `max_connections`, counting every statement from then on;
    /// a statement waits at most `acquire_timeout` for a connection. A SQLite file gets one
    /// writing connection and `max_connections` read-only ones, which serve read-only requests
    /// as a replica would, without lag: in WAL mode a read sees every commit made before it
    /// began.
    pub async fn connect(url: &str, max_connections: u32, acquire_timeout: Duration) -> anyhow::Result<Self> {
        let statements = Arc::new(Statements::default());
        // A file, not an in-memory database: another connection to `:memory:` is another database.
        let embedded = crate::config::sqlite_file_of(url).is_some();
        // SQLite takes one writer at a time: more writing connections only wait on its lock, or
        // fail to upgrade a read to a write. Reads go to a pool of their own (below).
        let db = match embedded {
            true => open(&statements, url, 1, acquire_timeout, Pool::Writer).await?,
            false => open(&statements, url, max_connections, acquire_timeout, Pool::Writer).await?,
        };
        let reads = match embedded {
            true => Reads::Reader(open(&statements, url, max_connections, acquire_timeout, Pool::SqliteReader).await?),
            false => Reads::Same,
        };
        Ok(Self { db, reads, complete_as_of: None, statements })
    }

    /// The store, with its queries reading the streaming replica at `read_url` of the database
    /// at `url` (this store's) while it lags at most `max_lag` and has replayed the caller's own
    /// last write (see [`crate::replica`]); who writes is heard on `feed`. The server checks the
    /// URLs ([`crate::replica::check_urls`]) before anything else at start.
    pub async fn with_replica(
        self,
        urls: (&str, &str),
        max_connections: u32,
        acquire_timeout: Duration,
        max_lag: Duration,
        feed: &Feed,
    ) -> anyhow::Result<Self> {
        let (_, read_url) = urls;
        let pool = open(&self.statements, read_url, max_connections, acquire_timeout, Pool::Replica).await?;
        let replica = Replica::follow(pool, self.db.clone(), urls, max_lag, feed).await?;
        Ok(Self { reads: Reads::Replica(replica), ..self })
    }

    /// The connection pool: the primary database, or the replica in a store from [`Self::reads`].
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The store a request that only reads uses, for a caller who is `user` (`None`:
    /// anonymous) and asked to read no older than `read_after`: the embedded reader, the
    /// replica when it is fresh enough, else the primary; with the route taken, when there is a
    /// replica. A request that writes keeps the primary for everything, so it reads its own
    /// writes.
    pub fn reads(&self, user: Option<Uuid>, read_after: Option<Lsn>) -> (Self, Option<Route>) {
        match &self.reads {
            Reads::Same => (self.clone(), None),
            Reads::Reader(reader) => (Self { db: reader.clone(), reads: Reads::Same, ..self.clone() }, None),
            Reads::Replica(replica) => {
                let route = replica.route(user, read_after);
                let store = match route {
                    Route::Replica { complete_as_of } => Self {
                        db: replica.pool().clone(),
                        reads: Reads::Same,
                        complete_as_of: Some(complete_as_of),
                        statements: self.statements.clone(),
                    },
                    Route::Primary(_) => self.clone(),
                };
                (store, Some(route))
            }
        }
    }

    /// Whether what this store reads holds every commit made before `instant`.
    pub fn holds_commits_before(&self, instant: Instant) -> bool {
        self.complete_as_of.is_none_or(|complete| complete >= instant)
    }

    /// Notes that a request of `user` (`None`: anonymous) has written, and returns the position
    /// its reads must wait for on the replica; `None` without a replica.
    pub async fn wrote(&self, user: Option<Uuid>) -> Option<Lsn> {
        match &self.reads {
            Reads::Replica(replica) => replica.wrote(user).await,
            Reads::Same | Reads::Reader(_) => None,
        }
    }

    /// The streaming replica, if queries read one.
    pub fn replica(&self) -> Option<&Replica> {
        match &self.reads {
            Reads::Replica(replica) => Some(replica),
            Reads::Same | Reads::Reader(_) => None,
        }
    }

    /// Every pool with its name for metrics: `primary`, then `reader` or `replica`.
    pub fn named_pools(&self) -> impl Iterator<Item = (&'static str, &Db)> {
        let reads = match &self.reads {
            Reads::Same => None,
            Reads::Reader(reader) => Some(("reader", reader)),
            Reads::Replica(replica) => Some(("replica", replica.pool())),
        };
        std::iter::once(("primary", &self.db)).chain(reads)
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
    /// Reads and writes: the primary.
    Writer,
    /// Reads only, beside the one writing connection of an embedded SQLite file.
    SqliteReader,
    /// Reads only: a streaming replica, which may be down when the server starts.
    Replica,
}

/// Opens a pool of `kind` on `url`, whose statements `statements` counts.
async fn open(
    statements: &Arc<Statements>,
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
    kind: Pool,
) -> anyhow::Result<Db> {
    let db = match kind {
        Pool::Writer => careergraph_domain::connect_with(url, max_connections, acquire_timeout).await,
        Pool::SqliteReader => careergraph_domain::connect_sqlite_reader(url, max_connections, acquire_timeout).await,
        Pool::Replica => careergraph_domain::connect_lazily(url, max_connections, acquire_timeout).await,
    };
    let mut db = db.with_context(|| format!("cannot open the database at {}", redact(url)))?;
    let counter = statements.clone();
    db.pool_mut().set_metric_callback(move |statement| {
        counter.ran(&statement.statement.sql);
        crate::traces::statement(statement);
    });
    Ok(db)
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
