//! Keeps this process in step with the change feed ([`careergraph_domain::changes`]).
//!
//! On PostgreSQL one `LISTEN` connection per process, of its own (not one of the request pool's),
//! passes every committed change on to this process's feed; on SQLite the domain announces its
//! own commits there. From the feed, each change reaches what this process caches: users and
//! sessions ([`Accounts`]) and anonymous answers ([`ResponseCache`]); subscriptions follow the
//! feed themselves. A connection that drops may have missed changes, so then the feed says
//! [`Change::Everything`] changed, and the connection is made again with backoff. The caches'
//! own time bounds (`CAREERGRAPH_USER_CACHE_SECS`, `CAREERGRAPH_PUBLIC_MAX_AGE_SECS`) stay as the
//! fallback for whatever the feed cannot reach (a PostgreSQL that refuses `LISTEN`, or a
//! `careergraph …` command run on another process's SQLite file).

use std::sync::Arc;
use std::time::Duration;

use careergraph_domain::Db;
use careergraph_domain::changes::{self, CHANNEL, Change, Feed};
use sea_orm::ConnectionTrait;
use sea_orm::sqlx::postgres::PgListener;
use tokio::sync::broadcast::error::RecvError;

use crate::authentication::Accounts;
use crate::metrics::Metrics;
use crate::response_cache::ResponseCache;

/// The first wait before connecting again, doubled up to [`MOST_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MOST_BACKOFF: Duration = Duration::from_secs(30);

/// How long a new `LISTEN` connection may take to hear its own test notification.
const PROBE_WAIT: Duration = Duration::from_secs(3);

/// Follows the changes of the PostgreSQL database at `url` onto its `feed` in this process until
/// the returned task is aborted; `None` for SQLite, whose one process announces its own changes.
/// The first connection is made before this returns, so that a server starts serving with its
/// feed already listening (a first connection that fails is retried in the background, the
/// caches' time bounds holding meanwhile). A connection that does not hear a test notification
/// published through `db`, as every change is (one to another database, say), is an error: the
/// server must not start with a deaf feed.
pub async fn listen(
    url: &str,
    db: Db,
    feed: Arc<Feed>,
    metrics: Arc<Metrics>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    if !url.starts_with("postgres") {
        return Ok(None);
    }
    let first = match connect(url, &db).await {
        Ok(listener) => {
            metrics.feed_connected(true);
            Some(listener)
        }
        Err(Refused::Deaf) => anyhow::bail!(
            "the change feed's LISTEN connection ({}) did not hear a test notification published through the \
             database URL within {} s: CAREERGRAPH_DATABASE_LISTEN_URL must reach the same database directly \
             (not through a transaction pooler)",
            crate::store::redact(url),
            PROBE_WAIT.as_secs()
        ),
        Err(Refused::Unreachable(error)) => {
            tracing::warn!(%error, "cannot listen to the change feed; retrying in the background");
            None
        }
    };
    Ok(Some(tokio::spawn(listen_with_backoff(url.to_owned(), db, first, feed, metrics))))
}

/// Why a `LISTEN` connection could not be made.
enum Refused {
    /// The database, or the connection to it, failed: why, as its error says.
    Unreachable(String),
    /// Connected, but the test notification never came.
    Deaf,
}

impl From<sea_orm::sqlx::Error> for Refused {
    fn from(error: sea_orm::sqlx::Error) -> Self {
        Self::Unreachable(error.to_string())
    }
}

impl From<sea_orm::DbErr> for Refused {
    fn from(error: sea_orm::DbErr) -> Self {
        Self::Unreachable(error.to_string())
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable(error) => f.write_str(error),
            Self::Deaf => f.write_str("the connection does not hear what the database URL publishes"),
        }
    }
}

/// A listening connection that has heard a test notification sent through `db`, the way every
/// change is published (on a channel of its own, before it listens to the feed's, so no change
/// goes by meanwhile).
async fn connect(url: &str, db: &Db) -> Result<PgListener, Refused> {
    let mut listener = PgListener::connect(url).await?;
    let probe = format!("careergraph_probe_{}", uuid::Uuid::new_v4().simple());
    listener.listen(&probe).await?;
    db.execute_unprepared(&format!("NOTIFY {probe}")).await?;
    let heard = tokio::time::timeout(PROBE_WAIT, async {
        loop {
            match listener.recv().await {
                Ok(notification) if notification.channel() == probe => return Ok(()),
                Ok(_) => continue,
                Err(error) => return Err(error),
            }
        }
    });
    match heard.await {
        Ok(result) => result?,
        Err(_) => return Err(Refused::Deaf),
    }
    listener.unlisten(&probe).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Applies every change on `feed` to `accounts` and `cache` until the returned task is aborted.
pub fn keep_in_step(feed: &Feed, accounts: Arc<Accounts>, cache: Arc<ResponseCache>) -> tokio::task::JoinHandle<()> {
    let mut feed = feed.subscribe();
    tokio::spawn(async move {
        loop {
            let change = match feed.recv().await {
                Ok(change) => change,
                // Fell behind: which changes went by is unknown.
                Err(RecvError::Lagged(_)) => Arc::new(Change::Everything),
                Err(RecvError::Closed) => return,
            };
            accounts.apply(&change);
            cache.apply(&change);
        }
    })
}

/// Makes `cache` forget what this process's own commits change as they commit, before the
/// requests that made them are answered (the feed brings them too, a little later); for as long
/// as the returned hook is held.
pub fn see_own_commits(feed: &Feed, cache: Arc<ResponseCache>) -> Arc<changes::CommitHook> {
    let hook: Arc<changes::CommitHook> = Arc::new(move |change: &Change| cache.apply(change));
    feed.on_commit(Arc::downgrade(&hook));
    hook
}

async fn listen_with_backoff(url: String, db: Db, first: Option<PgListener>, feed: Arc<Feed>, metrics: Arc<Metrics>) {
    let mut backoff = FIRST_BACKOFF;
    if let Some(mut listener) = first {
        follow_until_error(&mut listener, &feed, &metrics).await;
    }
    loop {
        metrics.feed_connected(false);
        feed.announce(Change::Everything);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MOST_BACKOFF);
        match connect(&url, &db).await {
            Ok(mut listener) => {
                // Whatever changed before the `LISTEN` took effect went by unseen.
                feed.announce(Change::Everything);
                metrics.feed_connected(true);
                backoff = FIRST_BACKOFF;
                follow_until_error(&mut listener, &feed, &metrics).await;
            }
            Err(error) => tracing::warn!(%error, "cannot listen to the change feed"),
        }
    }
}

/// Passes each change on as it arrives; returns when the connection fails and cannot be made
/// again.
async fn follow_until_error(listener: &mut PgListener, feed: &Feed, metrics: &Metrics) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match Change::from_payload(notification.payload()) {
                Some(change) => feed.announce(change),
                None => tracing::debug!(payload = notification.payload(), "a change this version does not know"),
            },
            Ok(None) => {
                // The connection dropped and was made again, listening: what went by is unknown.
                tracing::warn!("the change feed's connection dropped; everything cached is forgotten");
                metrics.feed_reconnected();
                feed.announce(Change::Everything);
            }
            Err(error) => {
                tracing::warn!(%error, "the change feed's connection failed");
                return;
            }
        }
    }
}
