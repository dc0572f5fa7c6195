//! The database as the gateway holds it: a connection pool that counts its statements.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use careergraph_domain::Db;

/// A shared connection pool, optionally a second one on a read replica, and how many SQL
/// statements they have run (published on `/metrics` and used by tests to prove that nested
/// queries are batched).
#[derive(Clone)]
pub struct Store {
    db: Db,
    replica: Option<Db>,
    statements: Arc<AtomicU64>,
}

impl Store {
    /// Connects to `url` (and to `read_url`, a read replica, when given) with at most
    /// `max_connections` each, counting every statement from then on; a statement waits at most
    /// `acquire_timeout` for a connection.
    pub async fn connect(
        url: &str,
        read_url: Option<&str>,
        max_connections: u32,
        acquire_timeout: std::time::Duration,
    ) -> anyhow::Result<Self> {
        let statements = Arc::new(AtomicU64::new(0));
        let open = |url: &str| {
            let counter = statements.clone();
            let url = url.to_owned();
            async move {
                let mut db = careergraph_domain::connect_with(&url, max_connections, acquire_timeout)
                    .await
                    .with_context(|| format!("cannot open the database at {}", redact(&url)))?;
                db.set_metric_callback(move |statement| {
                    counter.fetch_add(1, Ordering::Relaxed);
                    crate::traces::statement(statement);
                });
                anyhow::Ok(db)
            }
        };
        let db = open(url).await?;
        let replica = match read_url {
            Some(read_url) => Some(open(read_url).await?),
            None => None,
        };
        Ok(Self { db, replica, statements })
    }

    /// The connection pool: the primary database, or the replica in a store from [`Self::reads`].
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The store a request that only reads uses: the read replica when there is one. A request
    /// that writes keeps the primary for everything, so it reads its own writes.
    pub fn reads(&self) -> Self {
        match &self.replica {
            Some(replica) => Self { db: replica.clone(), replica: None, statements: self.statements.clone() },
            None => self.clone(),
        }
    }

    /// Every pool, the primary first (for readiness: both must answer).
    pub fn pools(&self) -> impl Iterator<Item = &Db> {
        std::iter::once(&self.db).chain(&self.replica)
    }

    /// SQL statements run since the store was opened.
    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }
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
