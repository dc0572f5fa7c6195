//! The change feed: what committed, told to every process that serves the same database.
//!
//! A change is published inside the transaction that makes it, so it is delivered if and only if
//! that transaction commits: on PostgreSQL as a `NOTIFY` on [`CHANNEL`], which every process
//! `LISTEN`s to; on SQLite, which one process serves, nothing is sent (that process already knows
//! what it did itself). Today the feed carries what every process caches about users and
//! sessions, so a demotion, a disabling or a logout reaches all of them at once, not after their
//! user-cache time.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Result;

/// The PostgreSQL channel changes are sent on.
pub const CHANNEL: &str = "careergraph_changes";

/// One committed change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A user's role, disabled flag or token revocation changed: what a process knows of them is
    /// stale.
    User {
        /// The user's id.
        id: Uuid,
    },
    /// A session ended (logout, or a spent refresh token presented again): its access tokens
    /// stop working.
    SessionEnded {
        /// The session's id (its refresh tokens' family, the access tokens' `sid`).
        id: Uuid,
    },
}

impl Change {
    /// The change a notification's payload carries; `None` for a payload this version does not
    /// know (a newer replica's), which the listener ignores.
    pub fn from_payload(payload: &str) -> Option<Self> {
        serde_json::from_str(payload).ok()
    }
}

/// Publishes `change` within the transaction `txn`: delivered to every listening process if, and
/// once, it commits.
pub async fn publish(txn: &impl ConnectionTrait, change: Change) -> Result<()> {
    if txn.get_database_backend() == DbBackend::Postgres {
        let payload = serde_json::to_string(&change).unwrap_or_default();
        let notify = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), payload.into()],
        );
        txn.execute_raw(notify).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reads_back_from_its_payload_and_an_unknown_one_is_ignored() {
        let change = Change::SessionEnded { id: Uuid::now_v7() };
        let payload = serde_json::to_string(&change).expect("JSON");
        assert_eq!(Change::from_payload(&payload), Some(change));
        assert_eq!(Change::from_payload(r#"{"change":"career_path","id":"x"}"#), None);
    }
}
