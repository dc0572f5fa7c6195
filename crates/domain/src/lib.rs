//! careergraph's domain: the tables (sea-orm entities and migrations), the bundled dataset and
//! its loader, and the operations the gateway runs on the database. Nothing here knows about
//! HTTP or GraphQL, so the same functions serve the server, the CLI and the tests.

pub mod accounts;
pub mod audit;
pub mod dataset;
pub mod editing;
pub mod entities;
pub mod enums;
pub mod error;
pub mod migration;
pub mod page;
pub mod queries;
pub mod synthetic;

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

pub use error::{Error, Result};
pub use sea_orm::DatabaseConnection as Db;

/// Who is looking decides which career paths exist for them: drafts are invisible unless the
/// caller may edit. Every read that can reach a career path takes one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Only published career paths (and what hangs off them) exist.
    PublishedOnly,
    /// Drafts exist too.
    IncludeDrafts,
}

/// Opens a connection pool. SQLite files are created when missing; foreign keys are enforced
/// on both backends (sqlx turns them on for SQLite).
pub async fn connect(url: &str) -> Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if url.starts_with("sqlite:") { 8 } else { 16 })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Ok(Database::connect(options).await?)
}

/// Applies every migration that has not run yet.
pub async fn migrate(db: &DatabaseConnection) -> Result<()> {
    migration::Migrator::up(db, None).await?;
    Ok(())
}

/// Whether the database can answer a trivial query (for readiness probes).
pub async fn ping(db: &DatabaseConnection) -> Result<()> {
    db.execute_unprepared("SELECT 1").await?;
    Ok(())
}
