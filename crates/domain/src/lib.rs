//! careergraph's domain: the tables (sea-orm entities and migrations), the bundled dataset and
//! its loader, and the operations the gateway runs on the database. Nothing here knows about
//! HTTP or GraphQL, so the same functions serve the server, the CLI and the tests.

pub mod accounts;
pub mod audit;
pub mod changes;
pub mod copy;
pub mod dataset;
mod db;
pub mod editing;
pub mod entities;
pub mod enums;
pub mod error;
pub mod graph;
pub mod import;
pub mod jsonld;
pub mod migration;
pub mod page;
mod positional;
pub mod projection;
pub mod queries;
pub mod search;
mod sql;
pub mod synthetic;

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, TransactionTrait};
use sea_orm_migration::MigratorTrait;

pub use db::{Db, POOLER_PARAMETER};
pub use error::{Error, Result};

/// Who is looking decides which career paths exist for them: drafts are invisible unless the
/// caller may edit. Every read that can reach a career path takes one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Only published career paths (and what hangs off them) exist.
    PublishedOnly,
    /// Drafts exist too.
    IncludeDrafts,
}

/// How long a statement waits for a pool connection by default before the database counts as
/// unreachable.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// A pooled connection idle this long is pinged before it is handed out.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(5);

/// The most connections a pool opens by default: SQLite serializes writers anyway.
pub fn default_max_connections(url: &str) -> u32 {
    if url.starts_with("sqlite:") { 8 } else { 16 }
}

/// Opens a connection pool with the default size and acquire timeout (see [`connect_with`]).
pub async fn connect(url: &str) -> Result<Db> {
    connect_with(url, default_max_connections(url), DEFAULT_ACQUIRE_TIMEOUT).await
}

/// Opens a pool of at most `max_connections`. SQLite files are created when missing; foreign
/// keys are enforced on both backends (sqlx turns them on for SQLite). A statement that gets no
/// connection within `acquire_timeout` (the database is down, or every connection is busy) fails with
/// [`Error::Unavailable`] rather than waiting on; broken connections are replaced as the
/// database comes back, so service resumes without a restart. A SQLite file is put in WAL mode
/// (see [`sqlite_tuning`]). A PostgreSQL URL with `pgbouncer=true` ([`POOLER_PARAMETER`]) reaches
/// the database through a transaction pooler, and the pool works as one needs (see [`Db`]).
pub async fn connect_with(url: &str, max_connections: u32, acquire_timeout: Duration) -> Result<Db> {
    open(url, max_connections, acquire_timeout, Connect::Now).await
}

/// As [`connect_with`], but without connecting until a statement needs a connection, and
/// keeping none open when idle: for a read replica, which may be down while the server starts
/// and whose reads go to the primary meanwhile.
pub async fn connect_lazily(url: &str, max_connections: u32, acquire_timeout: Duration) -> Result<Db> {
    open(url, max_connections, acquire_timeout, Connect::Lazily).await
}

/// When a pool makes its first connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Connect {
    Now,
    Lazily,
}

async fn open(url: &str, max_connections: u32, acquire_timeout: Duration, connect: Connect) -> Result<Db> {
    let (url, behind_pooler) = pooler_of(url)?;
    let mut options = pool_options(&url, max_connections, acquire_timeout);
    if connect == Connect::Lazily {
        options.connect_lazy(true).min_connections(0);
    }
    options.map_sqlx_sqlite_opts(|options| {
        use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
        sqlite_tuning(options).journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Normal)
    });
    if behind_pooler {
        // A statement prepared in one transaction may be on another server by the next.
        options.map_sqlx_postgres_opts(|options| options.statement_cache_capacity(0));
        return Ok(Db::behind_pooler(Database::connect(options).await?));
    }
    // Plans are made once per prepared statement and kept. By default PostgreSQL plans a
    // statement anew for every execution while it expects a plan for the given values to run
    // faster than one for any values, and for the statements a page of answers runs (an `IN` list
    // of a batch's ids, a page's `LIMIT`) it kept expecting so: on the nested benchmark query it
    // spent 0.72 ms a request planning against 1.01 ms executing, and executing with the kept
    // plans takes 1.19 ms. The reads that run most are lookups by key, batches of keys and pages
    // in an index's order, whose plan is the same whatever the values; every benchmark row, the
    // page 100,000 paths deep among them, ran as fast or faster with kept plans. (Behind a pooler
    // statements are not kept, and a pooler refuses startup options.)
    options.map_sqlx_postgres_opts(|options| options.options([("plan_cache_mode", "force_generic_plan")]));
    Ok(Db::direct(Database::connect(options).await?))
}

/// How to open one PostgreSQL connection outside this crate's pools to the database at `url`,
/// set up as theirs are (the [`POOLER_PARAMETER`] understood and left out, no statement logged):
/// for a caller that must know at once that a server refuses it, which a pool's connect, retrying
/// until its acquire timeout, does not tell.
pub fn postgres_connect_options(url: &str) -> Result<sea_orm::sqlx::postgres::PgConnectOptions> {
    use sea_orm::sqlx::ConnectOptions as _;
    let (url, _) = pooler_of(url)?;
    let options: sea_orm::sqlx::postgres::PgConnectOptions =
        url.parse().map_err(|error| Error::invalid("database_url", format!("is not a PostgreSQL URL: {error}")))?;
    Ok(options.disable_statement_logging())
}

/// `url` without the [`POOLER_PARAMETER`], and whether it said the database is behind a
/// transaction pooler (`true` or `false`; anything else is refused, as is the parameter on a
/// database other than PostgreSQL).
fn pooler_of(url: &str) -> Result<(String, bool)> {
    let Ok(mut parsed) = url::Url::parse(url) else { return Ok((url.to_owned(), false)) };
    let Some((_, value)) = parsed.query_pairs().find(|(key, _)| key == POOLER_PARAMETER) else {
        return Ok((url.to_owned(), false));
    };
    let behind_pooler = match value.as_ref() {
        "true" => true,
        "false" => false,
        other => {
            return Err(Error::invalid("database_url", format!("has {POOLER_PARAMETER}={other}: use true or false")));
        }
    };
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(Error::invalid(
            "database_url",
            format!("has {POOLER_PARAMETER}=…, which only a PostgreSQL URL may have"),
        ));
    }
    let rest: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(key, _)| key != POOLER_PARAMETER)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    parsed.set_query(None);
    if !rest.is_empty() {
        parsed.query_pairs_mut().extend_pairs(rest);
    }
    Ok((parsed.to_string(), behind_pooler))
}

/// Opens a pool of read-only connections to the SQLite file at `url` (which must exist and be in
/// WAL mode, as [`connect_with`] leaves it): in WAL mode readers neither wait for the writer nor
/// make it wait, so the gateway reads through these while one connection writes.
pub async fn connect_sqlite_reader(url: &str, max_connections: u32, acquire_timeout: Duration) -> Result<Db> {
    let mut options = pool_options(url, max_connections, acquire_timeout);
    options.map_sqlx_sqlite_opts(|options| sqlite_tuning(options).read_only(true).create_if_missing(false));
    Ok(Db::direct(Database::connect(options).await?))
}

fn pool_options(url: &str, max_connections: u32, acquire_timeout: Duration) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(acquire_timeout.min(Duration::from_secs(5)))
        .acquire_timeout(acquire_timeout)
        // sea-orm's default pings every connection as it leaves the pool: a round trip to the
        // database before every statement, as costly as a small query. Only a connection that
        // sat idle long enough to have been cut off is pinged; one that broke while busy fails
        // its statement and is closed, and the pool opens a new one.
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        .sqlx_logging(false);
    options
}

/// Rows a SQLite connection's worker thread may hand over before the request reading them has
/// taken any: sqlx's default is 50, and a batch of a nested page is hundreds (the technologies of
/// 180 skills are 530), so the worker stopped every 50 rows to wait for the reader, a thread
/// switch each way. With room for a whole batch, the nested benchmark query at 32 clients went
/// from 346-350 to 533-554 requests/s on SQLite, 5.5 to 3.4 ms of CPU a request (same hour,
/// alternating). A longer result still waits for its reader, 1,024 rows at a time at most.
const SQLITE_ROWS_IN_FLIGHT: usize = 1024;

/// How every SQLite connection is set up. A writing connection ([`connect_with`]) also puts the
/// file in WAL mode, where readers read the last commit while a writer writes (the rollback
/// journal's writer blocks every reader, and readers block a commit), with `synchronous =
/// NORMAL`: a commit is then synced at checkpoints, not each time, so a power cut (not a crash of
/// the process) can lose the last transactions but never corrupts the file, as SQLite's
/// documentation says of WAL. Every connection gets:
/// - a 16 MiB page cache per connection (SQLite's default is 2 MiB) and up to 256 MiB of the
///   file memory-mapped, shared by every connection through the OS page cache, so a read does
///   not copy pages through `read()` calls;
/// - a 5 s busy timeout, so a writer that finds the file locked (by another process, or a
///   checkpoint) waits instead of failing;
/// - room for [`SQLITE_ROWS_IN_FLIGHT`] rows between its worker thread and the request reading
///   them.
fn sqlite_tuning(options: sea_orm::sqlx::sqlite::SqliteConnectOptions) -> sea_orm::sqlx::sqlite::SqliteConnectOptions {
    options
        .busy_timeout(Duration::from_secs(5))
        .pragma("cache_size", "-16384")
        .pragma("mmap_size", "268435456")
        .row_buffer_size(SQLITE_ROWS_IN_FLIGHT)
}

/// Applies every migration that has not run yet; behind a transaction pooler all of them in one
/// transaction (PostgreSQL's DDL is transactional), which keeps every statement on one server.
pub async fn migrate(db: &Db) -> Result<()> {
    if db.is_behind_pooler() {
        let txn = db.begin().await?;
        migration::Migrator::up(&txn, None).await?;
        txn.commit().await?;
        return Ok(());
    }
    migration::Migrator::up(db.pool(), None).await?;
    Ok(())
}

/// What rows added in bulk need, which the bulk loaders ([`dataset::load`],
/// [`synthetic::load_benchmark_data`], the imports) call once they have added them: search
/// documents ([`search::rebuild`]), the graph answers' tables ([`graph::rebuild`], in one
/// transaction, so readers see the old tables until the new ones are whole) and fresh query-planner statistics (`ANALYZE`, on both
/// databases). Without it PostgreSQL plans with the statistics of the tables as they were
/// (until autovacuum notices, within minutes): the first page of career paths, taken from an
/// empty table's estimate, was sorted from every row instead of read off the title index. SQLite has no statistics at all before its first `ANALYZE`.
pub(crate) async fn after_bulk_load(db: &Db) -> Result<()> {
    // Statistics first, so that the rebuilds below are planned for the tables as they now are.
    db.execute_unprepared("ANALYZE").await?;
    // Rows added in bulk have no search documents yet.
    search::rebuild(db).await?;
    let txn = db.begin().await?;
    graph::rebuild(&txn).await?;
    txn.commit().await?;
    db.execute_unprepared("ANALYZE").await?;
    // Whatever any process cached of the content is out of date.
    changes::everything_changed(db).await
}

/// Whether the database can answer a trivial query (for readiness probes).
pub async fn ping(db: &Db) -> Result<()> {
    db.execute_unprepared("SELECT 1").await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::pooler_of;

    #[test]
    fn the_pooler_parameter_is_read_and_taken_off_the_url() {
        let pooled = pooler_of("postgres://app:pw@pgbouncer:6432/cg?pgbouncer=true&sslmode=disable").expect("valid");
        assert_eq!(pooled, ("postgres://app:pw@pgbouncer:6432/cg?sslmode=disable".to_owned(), true));
        let direct = pooler_of("postgres://app@db/cg?pgbouncer=false").expect("valid");
        assert_eq!(direct, ("postgres://app@db/cg".to_owned(), false));
        let plain = pooler_of("sqlite://data/careergraph.db?mode=rwc").expect("valid");
        assert_eq!(plain, ("sqlite://data/careergraph.db?mode=rwc".to_owned(), false));
        assert!(pooler_of("postgres://app@db/cg?pgbouncer=yes").is_err(), "only true or false");
        assert!(pooler_of("sqlite://cg.db?pgbouncer=true").is_err(), "only on PostgreSQL");
    }
}
