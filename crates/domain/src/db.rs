//! The connection pool every operation takes, and how it behaves behind a transaction pooler.
//!
//! PgBouncer in transaction mode gives each transaction whichever server connection is free, and
//! takes it back when the transaction ends; outside a transaction, after every Sync of the
//! extended protocol. sqlx prepares a statement (Parse, Describe, Sync) and only then binds and
//! runs it (Bind, Execute, Sync), so outside a transaction the two halves may reach different
//! servers: the second fails (`prepared statement "sqlx_s_1" does not exist`), or, worse, finds
//! a statement of the same name another client left there. And sqlx names its statements per
//! connection (`sqlx_s_1`, `sqlx_s_2`, …), so one client's names collide with another's on a
//! shared server (`already exists`). sqlx has no mode for this (launchbadge/sqlx#67), so a pool
//! marked as behind a pooler ([`POOLER_PARAMETER`] in its URL):
//! - runs every statement inside a transaction: one on its own gets a transaction of its own,
//!   committed before the statement's result is returned, so its effect is as soon visible as
//!   without one; inside a transaction every round trip reaches the same server;
//! - caches no prepared statement (sqlx's statement cache is off), so none is reused in a later
//!   transaction, on what may be another server;
//! - begins every transaction with `DEALLOCATE ALL`, clearing the statements an earlier
//!   transaction (this client's or another's) left on the server it got, so no name collides.
//!
//! Session state (`SET`, advisory locks held past a transaction, `LISTEN`) is not used through
//! the pool; the change feed's `LISTEN` needs a direct connection of its own (the gateway's
//! `CAREERGRAPH_DATABASE_LISTEN_URL`).

use std::future::Future;
use std::pin::Pin;

use sea_orm::entity::prelude::async_trait;
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult, IsolationLevel,
    QueryResult, Statement, TransactionError, TransactionOptions, TransactionTrait,
};

/// The URL parameter that marks a PostgreSQL URL as reaching the database through a transaction
/// pooler, as Prisma and others spell it: `postgres://app@pgbouncer:6432/careergraph?pgbouncer=true`.
pub const POOLER_PARAMETER: &str = "pgbouncer";

/// A connection pool: on its own, or behind a transaction pooler (see the module's notes).
#[derive(Clone, Debug)]
pub struct Db {
    pool: DatabaseConnection,
    behind_pooler: bool,
}

impl Db {
    /// `pool`, used as it is (no pooler in between).
    pub fn direct(pool: DatabaseConnection) -> Self {
        Self { pool, behind_pooler: false }
    }

    /// `pool`, which reaches PostgreSQL through a transaction pooler.
    pub fn behind_pooler(pool: DatabaseConnection) -> Self {
        Self { pool, behind_pooler: true }
    }

    /// Whether statements go through a transaction pooler.
    pub fn is_behind_pooler(&self) -> bool {
        self.behind_pooler
    }

    /// The sea-orm pool itself, for what only it offers (its sqlx pool, a statement callback).
    /// A statement run on it directly behind a pooler escapes the transaction it needs.
    pub fn pool(&self) -> &DatabaseConnection {
        &self.pool
    }

    /// The sea-orm pool itself, to change (see [`Self::pool`]).
    pub fn pool_mut(&mut self) -> &mut DatabaseConnection {
        &mut self.pool
    }

    /// Closes every connection of the pool.
    pub async fn close(self) -> Result<(), DbErr> {
        self.pool.close().await
    }

    /// Begins a transaction as [`TransactionTrait::begin_with_options`] does, then, behind a
    /// pooler, clears whatever statements the server it got still holds.
    async fn begin_here(&self, options: TransactionOptions) -> Result<DatabaseTransaction, DbErr> {
        let txn = self.pool.begin_with_options(options).await?;
        if self.behind_pooler {
            txn.execute_unprepared("DEALLOCATE ALL").await?;
        }
        Ok(txn)
    }

    /// A transaction of a statement's own, behind a pooler; `None` on a direct pool.
    async fn own_transaction(&self) -> Result<Option<DatabaseTransaction>, DbErr> {
        match self.behind_pooler {
            true => self.begin_here(TransactionOptions::default()).await.map(Some),
            false => Ok(None),
        }
    }
}

/// Runs `$call` on the pool, or behind a pooler on a transaction of its own, committed before
/// the result is returned.
macro_rules! alone {
    ($db:expr, |$connection:ident| $call:expr) => {
        match $db.own_transaction().await? {
            None => {
                let $connection = &$db.pool;
                $call.await
            }
            Some(txn) => {
                let result = {
                    let $connection = &txn;
                    $call.await?
                };
                txn.commit().await?;
                Ok(result)
            }
        }
    };
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.pool.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        alone!(self, |db| db.execute_raw(stmt))
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        alone!(self, |db| db.execute_unprepared(sql))
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        alone!(self, |db| db.query_one_raw(stmt))
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        alone!(self, |db| db.query_all_raw(stmt))
    }

    fn support_returning(&self) -> bool {
        self.pool.support_returning()
    }
}

#[async_trait::async_trait]
impl TransactionTrait for Db {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.begin_here(TransactionOptions::default()).await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.begin_here(TransactionOptions { isolation_level, access_mode, ..TransactionOptions::default() }).await
    }

    async fn begin_with_options(&self, options: TransactionOptions) -> Result<DatabaseTransaction, DbErr> {
        self.begin_here(options).await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(&'c DatabaseTransaction) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.transaction_with_config(callback, None, None).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(&'c DatabaseTransaction) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let txn = self.begin_with_config(isolation_level, access_mode).await.map_err(TransactionError::Connection)?;
        match callback(&txn).await {
            Ok(value) => {
                txn.commit().await.map_err(TransactionError::Connection)?;
                Ok(value)
            }
            Err(error) => {
                txn.rollback().await.map_err(TransactionError::Connection)?;
                Err(TransactionError::Transaction(error))
            }
        }
    }
}
