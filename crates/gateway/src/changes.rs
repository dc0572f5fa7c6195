//! Follows the change feed ([`careergraph_domain::changes`]) on PostgreSQL: one `LISTEN`
//! connection per process, of its own (not one of the request pool's), and every change applied
//! to what this process caches. A connection that drops may have missed changes, so then
//! everything cached that a change could touch is forgotten, and the connection is made again
//! with backoff. The caches' own time bound (`CAREERGRAPH_USER_CACHE_SECS`) stays as the
//! fallback for whatever the feed cannot reach (a PostgreSQL that refuses `LISTEN`, or a
//! `careergraph user …` command run on another process's SQLite file).

use std::sync::Arc;
use std::time::Duration;

use careergraph_domain::changes::{CHANNEL, Change};
use sea_orm::sqlx::postgres::PgListener;

use crate::authentication::Accounts;

/// The first wait before connecting again, doubled up to [`MOST_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MOST_BACKOFF: Duration = Duration::from_secs(30);

/// Follows the feed of the PostgreSQL database at `url` until the returned task is aborted;
/// `None` for SQLite, whose one process knows its own changes.
pub fn follow(url: &str, accounts: Arc<Accounts>) -> Option<tokio::task::JoinHandle<()>> {
    url.starts_with("postgres").then(|| tokio::spawn(listen(url.to_owned(), accounts)))
}

async fn listen(url: String, accounts: Arc<Accounts>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        match PgListener::connect(&url).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => {
                    // Whatever changed before the `LISTEN` took effect went by unseen.
                    accounts.forget_all_users();
                    backoff = FIRST_BACKOFF;
                    follow_until_error(&mut listener, &accounts).await;
                }
                Err(error) => tracing::warn!(%error, "cannot listen to the change feed"),
            },
            Err(error) => tracing::warn!(%error, "cannot connect to follow the change feed"),
        }
        accounts.forget_all_users();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MOST_BACKOFF);
    }
}

/// Applies each change as it arrives; returns when the connection fails and cannot be made again.
async fn follow_until_error(listener: &mut PgListener, accounts: &Accounts) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match Change::from_payload(notification.payload()) {
                Some(change) => accounts.apply(change),
                None => tracing::debug!(payload = notification.payload(), "a change this version does not know"),
            },
            Ok(None) => {
                // The connection dropped and was made again, listening: what went by is unknown.
                tracing::warn!("the change feed's connection dropped; forgetting what is cached of users");
                accounts.forget_all_users();
            }
            Err(error) => {
                tracing::warn!(%error, "the change feed's connection failed");
                return;
            }
        }
    }
}
