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

use careergraph_domain::changes::{self, CHANNEL, Change, Feed};
use sea_orm::sqlx::postgres::PgListener;
use tokio::sync::broadcast::error::RecvError;

use crate::authentication::Accounts;
use crate::metrics::Metrics;
use crate::response_cache::ResponseCache;

/// The first wait before connecting again, doubled up to [`MOST_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MOST_BACKOFF: Duration = Duration::from_secs(30);

/// Follows the changes of the PostgreSQL database at `url` onto its `feed` in this process until
/// the returned task is aborted; `None` for SQLite, whose one process announces its own changes.
/// The first connection is made before this returns, so that a server starts serving with its
/// feed already listening (a first connection that fails is retried in the background, the
/// caches' time bounds holding meanwhile).
pub async fn listen(url: &str, feed: Arc<Feed>, metrics: Arc<Metrics>) -> Option<tokio::task::JoinHandle<()>> {
    if !url.starts_with("postgres") {
        return None;
    }
    let first = match connect(url).await {
        Ok(listener) => {
            metrics.feed_connected(true);
            Some(listener)
        }
        Err(error) => {
            tracing::warn!(%error, "cannot listen to the change feed; retrying in the background");
            None
        }
    };
    Some(tokio::spawn(listen_with_backoff(url.to_owned(), first, feed, metrics)))
}

async fn connect(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
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

async fn listen_with_backoff(url: String, first: Option<PgListener>, feed: Arc<Feed>, metrics: Arc<Metrics>) {
    let mut backoff = FIRST_BACKOFF;
    if let Some(mut listener) = first {
        follow_until_error(&mut listener, &feed, &metrics).await;
    }
    loop {
        metrics.feed_connected(false);
        feed.announce(Change::Everything);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MOST_BACKOFF);
        match connect(&url).await {
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
