//! The change feed: what committed, told to every process that serves the same database.
//!
//! A change is published inside the transaction that makes it, so it is delivered if and only if
//! that transaction commits: on PostgreSQL as a `NOTIFY` on [`CHANNEL`], which every process
//! `LISTEN`s to and passes on to its database's [`Feed`]; on SQLite, which one process serves,
//! [`commit`] announces the transaction's changes on the feed once it has committed. The feed's
//! subscribers are what each process keeps in step: what it caches of users and sessions, its
//! response cache, and its GraphQL subscriptions.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, RwLock, Weak};

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement};

use crate::Db;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::Result;

/// The PostgreSQL channel changes are sent on.
pub const CHANNEL: &str = "careergraph_changes";

/// How many changes this process's feed holds for a subscriber that has not read them yet; one
/// that falls further behind is told it missed some (`RecvError::Lagged`), never blocks the feed.
const FEED_CAPACITY: usize = 4096;

/// One committed change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// One audited change of one row (an audit event).
    Content(ContentChange),
    /// Anything may have changed: rows were loaded in bulk (an import, a dataset), or the feed
    /// itself was interrupted and changes may have gone by unseen.
    Everything,
}

/// What an audit event tells subscribers: which row, what was done, by whom, and which of its
/// fields changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentChange {
    /// The kind of row, by its stored name (`CareerPath`), which is also its GraphQL type (see
    /// `ContentChange::kind`, beside the kinds in `audit`).
    pub entity: String,
    /// The row's id.
    pub id: Uuid,
    /// What was done: `create`, `update`, `delete`, `set_status`, `set_skills`, …
    pub action: String,
    /// The row's version after the change; `None` once deleted.
    pub version: Option<i32>,
    /// Who made it; `None` for the command line.
    pub actor_id: Option<Uuid>,
    /// The top-level fields whose values differ between the snapshots before and after.
    pub fields: Vec<String>,
}

impl Change {
    /// The change a notification's payload carries; `None` for a payload this version does not
    /// know (a newer replica's), which the listener ignores.
    pub fn from_payload(payload: &str) -> Option<Self> {
        serde_json::from_str(payload).ok()
    }
}

/// One database's feed in this process: every change committed to that database (by any
/// process on PostgreSQL, through the listener that [`Feed::announce`]s them; by this one on
/// SQLite), and the hooks that must see this process's own commits at once. Servers of the same
/// database in one process share it; servers of different ones (as in a test suite) do not hear
/// each other.
pub struct Feed {
    sender: broadcast::Sender<Arc<Change>>,
    hooks: RwLock<Vec<Weak<CommitHook>>>,
}

/// What must see this process's own commits before the request that made them is answered.
pub type CommitHook = dyn Fn(&Change) + Send + Sync;

/// Every database's feed, by [`database_of`], while something holds it.
static FEEDS: LazyLock<Mutex<HashMap<String, Weak<Feed>>>> = LazyLock::new(Mutex::default);

impl Feed {
    /// The feed of `db`'s database, made when nothing holds one yet.
    pub fn of(db: &Db) -> Arc<Self> {
        let key = database_of(db);
        let mut feeds = FEEDS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        feeds.retain(|_, feed| feed.strong_count() > 0);
        if let Some(feed) = feeds.get(&key).and_then(Weak::upgrade) {
            return feed;
        }
        let feed = Arc::new(Self { sender: broadcast::channel(FEED_CAPACITY).0, hooks: RwLock::default() });
        feeds.insert(key, Arc::downgrade(&feed));
        feed
    }

    /// The feed of `db`'s database, if anything in this process follows it.
    fn existing(db: &Db) -> Option<Arc<Self>> {
        let feeds = FEEDS.lock().ok()?;
        feeds.get(&database_of(db)).and_then(Weak::upgrade)
    }

    /// Follows the feed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.sender.subscribe()
    }

    /// Tells the feed's subscribers that `change` has committed. Nobody listening is fine.
    pub fn announce(&self, change: Change) {
        let _ = self.sender.send(Arc::new(change));
    }

    /// Calls `hook` with every change this process commits to the feed's database, as soon as it
    /// has committed, before the request that made it is answered: so that a cache of this
    /// process never serves an answer older than a write it made itself, even before the feed
    /// (which on PostgreSQL comes back through `LISTEN`) delivers the change. Registered until the
    /// hook is dropped.
    pub fn on_commit(&self, hook: Weak<CommitHook>) {
        if let Ok(mut hooks) = self.hooks.write() {
            hooks.retain(|hook| hook.strong_count() > 0);
            hooks.push(hook);
        }
    }

    fn committed(&self, change: &Change) {
        let Ok(hooks) = self.hooks.read() else { return };
        for hook in hooks.iter().filter_map(Weak::upgrade) {
            hook(change);
        }
    }
}

/// Which database `db` is, as a key: the SQLite file, or PostgreSQL's host, port and database.
fn database_of(db: &Db) -> String {
    let db = db.pool();
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let options = db.get_postgres_connection_pool().connect_options();
            format!("postgres://{}:{}/{}", options.get_host(), options.get_port(), options.get_database().unwrap_or(""))
        }
        _ => format!("sqlite:{}", db.get_sqlite_connection_pool().connect_options().get_filename().display()),
    }
}

/// Publishes `change` within the transaction `txn`: on PostgreSQL a `NOTIFY`, delivered to every
/// listening process if, and once, it commits. Returns the change for [`commit`], which
/// announces it on SQLite.
pub async fn publish(txn: &impl ConnectionTrait, change: Change) -> Result<Change> {
    if txn.get_database_backend() == DbBackend::Postgres {
        let payload = serde_json::to_string(&change).unwrap_or_default();
        let notify = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), payload.into()],
        );
        txn.execute_raw(notify).await?;
    }
    Ok(change)
}

/// Commits `txn` (begun on `db`), whose `changes` were [`publish`]ed in it; then tells this
/// process's commit hooks for the database, and on SQLite, where no `NOTIFY` carries them,
/// announces them on its feed.
pub async fn commit(db: &Db, txn: DatabaseTransaction, changes: impl IntoIterator<Item = Change>) -> Result<()> {
    txn.commit().await?;
    let Some(feed) = Feed::existing(db) else { return Ok(()) };
    for change in changes {
        feed.committed(&change);
        if db.get_database_backend() != DbBackend::Postgres {
            feed.announce(change);
        }
    }
    Ok(())
}

/// Tells every process that anything may have changed, once rows loaded in bulk into `db` have
/// committed.
pub async fn everything_changed(db: &Db) -> Result<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        publish(db, Change::Everything).await?;
    }
    if let Some(feed) = Feed::existing(db) {
        feed.committed(&Change::Everything);
        if db.get_database_backend() != DbBackend::Postgres {
            feed.announce(Change::Everything);
        }
    }
    Ok(())
}

/// The top-level keys whose values differ between two JSON snapshots (every key of the one
/// present when the other is absent).
pub fn changed_fields(before: Option<&serde_json::Value>, after: Option<&serde_json::Value>) -> Vec<String> {
    use serde_json::Value;
    let empty = serde_json::Map::new();
    fn object(value: Option<&Value>) -> Option<&serde_json::Map<String, Value>> {
        value.and_then(Value::as_object)
    }
    let (old_map, new_map) = (object(before).unwrap_or(&empty), object(after).unwrap_or(&empty));
    let mut fields: Vec<String> = old_map
        .keys()
        .chain(new_map.keys().filter(|key| !old_map.contains_key(*key)))
        .filter(|key| old_map.get(*key) != new_map.get(*key))
        .filter(|key| !matches!(key.as_str(), "version" | "updatedAt" | "updated_at"))
        .cloned()
        .collect();
    fields.sort();
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_change_reads_back_from_its_payload_and_an_unknown_one_is_ignored() {
        let change = Change::SessionEnded { id: Uuid::now_v7() };
        let payload = serde_json::to_string(&change).expect("JSON");
        assert_eq!(Change::from_payload(&payload), Some(change));
        let content = Change::Content(ContentChange {
            entity: "CareerPath".into(),
            id: Uuid::now_v7(),
            action: "update".into(),
            version: Some(3),
            actor_id: None,
            fields: vec!["title".into()],
        });
        let payload = serde_json::to_string(&content).expect("JSON");
        assert_eq!(Change::from_payload(&payload), Some(content));
        assert_eq!(Change::from_payload(r#"{"change":"everything"}"#), Some(Change::Everything));
        assert_eq!(Change::from_payload(r#"{"change":"career_path","id":"x"}"#), None);
    }

    #[test]
    fn changed_fields_are_the_keys_whose_values_differ() {
        let before = json!({ "title": "A", "summary": "s", "version": 1, "updated_at": "t1" });
        let after = json!({ "title": "B", "summary": "s", "version": 2, "updated_at": "t2", "notes": "n" });
        assert_eq!(changed_fields(Some(&before), Some(&after)), ["notes", "title"]);
        assert_eq!(changed_fields(None, Some(&json!({ "a": 1 }))), ["a"]);
        assert_eq!(changed_fields(Some(&json!({ "a": 1 })), None), ["a"]);
    }
}
