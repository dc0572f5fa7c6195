//! Subscriptions: the change feed ([`careergraph_domain::changes`]) as GraphQL, over WebSocket
//! (see `http::websocket`).
//!
//! Each subscription follows this process's feed, which on PostgreSQL carries every instance's
//! commits. A subscriber that reads more slowly than changes come falls behind by at most its
//! buffer (`CAREERGRAPH_SUBSCRIPTION_BUFFER_EVENTS`); past that its missed events are dropped
//! and it gets one `RESYNC` event, as it does when the feed itself may have missed changes (its
//! connection dropped) or rows were loaded in bulk: then it should read again what it shows.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, Result, Subscription};
use careergraph_auth::Role;
use careergraph_domain::Visibility;
use careergraph_domain::audit::EntityKind;
use careergraph_domain::changes::{Change, ContentChange};
use careergraph_domain::projection::Columns;
use careergraph_domain::queries::career_paths;
use futures::Stream;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use super::audit::{AuditedType, graphql_field_name};
use super::scalars::DateTime;
use crate::graphql::plumbing::context::{PublishedPath, Subscriber, id_of};
use crate::graphql::plumbing::error::{Refused, denied};
use crate::graphql::plumbing::policy::{FieldPolicy, auth};

/// What an event says.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChangeEventKind {
    /// One change, described by the event's other fields.
    Changed,
    /// Events were missed (the subscriber fell behind, the server's feed was interrupted, or rows
    /// were loaded in bulk): read again whatever this subscription keeps up to date.
    Resync,
}

/// A committed change of one object.
pub struct ContentChangedEvent {
    kind: ChangeEventKind,
    change: Option<ContentChange>,
}

#[Object(directive = auth::apply(Role::Anonymous))]
impl ContentChangedEvent {
    /// `CHANGED`, or `RESYNC` (every other field null or empty).
    async fn kind(&self) -> ChangeEventKind {
        self.kind
    }

    /// The type of the object changed.
    async fn entity(&self) -> Option<AuditedType> {
        self.change.as_ref().and_then(ContentChange::kind).map(Into::into)
    }

    /// The object's id.
    async fn entity_id(&self) -> Option<ID> {
        self.change.as_ref().map(|change| ID(change.id.to_string()))
    }

    /// What was done: `create`, `update`, `delete`, `publish`, `unpublish`, `set_skills`, …, as
    /// the audit log records it.
    async fn action(&self) -> Option<&str> {
        self.change.as_ref().map(|change| change.action.as_str())
    }

    /// The object's version after the change; null once deleted.
    async fn version(&self) -> Option<i32> {
        self.change.as_ref().and_then(|change| change.version)
    }

    /// Who made the change; null for the command line.
    async fn actor_id(&self) -> Option<ID> {
        self.change.as_ref().and_then(|change| change.actor_id).map(|id| ID(id.to_string()))
    }

    /// The fields whose values changed, named as the API (and the audit log's snapshots) name
    /// them.
    async fn fields(&self) -> Vec<String> {
        let stored = self.change.as_ref().map(|change| change.fields.as_slice()).unwrap_or_default();
        let mut fields: Vec<String> = stored.iter().map(|field| graphql_field_name(field)).collect();
        fields.sort();
        fields.dedup();
        fields
    }
}

/// A career path that has just been published.
pub struct CareerPathPublishedEvent {
    kind: ChangeEventKind,
    path: Option<PublishedPath>,
}

#[Object(directive = auth::apply(Role::Anonymous))]
impl CareerPathPublishedEvent {
    /// `CHANGED` (a path was published), or `RESYNC` (paths may have been published unseen).
    async fn kind(&self) -> ChangeEventKind {
        self.kind
    }

    /// The path's id.
    async fn career_path_id(&self) -> Option<ID> {
        self.path.as_ref().map(|path| ID(path.id.to_string()))
    }

    /// The path's slug.
    async fn slug(&self) -> Option<&str> {
        self.path.as_ref().map(|path| path.slug.as_str())
    }

    /// The path's title.
    async fn title(&self) -> Option<&str> {
        self.path.as_ref().map(|path| path.title.as_str())
    }

    /// When it was published.
    async fn published_at(&self) -> Option<DateTime> {
        self.path.as_ref().and_then(|path| path.published_at).map(DateTime)
    }
}

/// The subscription root.
#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Every committed change of content, users included, as the audit log records it; narrowed
    /// to one type of object and, with `id`, to one object. Requires EDITOR. Over WebSocket
    /// (graphql-transport-ws) at `/graphql`.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn content_changed(
        &self,
        ctx: &Context<'_>,
        entity: Option<AuditedType>,
        id: Option<ID>,
    ) -> Result<impl Stream<Item = Option<ContentChangedEvent>> + use<>> {
        let subscriber = allowed(ctx, "contentChanged")?;
        let id = id.as_ref().map(|id| id_of("id", id)).transpose()?;
        let entity = entity.map(EntityKind::from);
        let wanted = move |change: &ContentChange| {
            entity.is_none_or(|entity| change.kind() == Some(entity)) && id.is_none_or(|id| change.id == id)
        };
        Ok(futures::stream::unfold(Follow::new(subscriber), move |mut follow| async move {
            loop {
                let event = match follow.next().await? {
                    Next::Resync => ContentChangedEvent { kind: ChangeEventKind::Resync, change: None },
                    Next::Change(change) => match &*change {
                        Change::Content(content) if wanted(content) => {
                            ContentChangedEvent { kind: ChangeEventKind::Changed, change: Some(content.clone()) }
                        }
                        _ => continue,
                    },
                };
                follow.delivered(event.kind);
                // Nullable as every protected field is (see `plumbing::policy`); never null here.
                return Some((Some(event), follow));
            }
        }))
    }

    /// Each career path as it is published (anyone may follow it). Over WebSocket
    /// (graphql-transport-ws) at `/graphql`.
    #[graphql(directive = auth::apply(Role::Anonymous))]
    async fn career_path_published(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = CareerPathPublishedEvent> + use<>> {
        let subscriber = allowed(ctx, "careerPathPublished")?;
        Ok(futures::stream::unfold(Follow::new(subscriber), move |mut follow| async move {
            loop {
                let event = match follow.next().await? {
                    Next::Resync => CareerPathPublishedEvent { kind: ChangeEventKind::Resync, path: None },
                    Next::Change(change) => {
                        let Change::Content(content) = &*change else { continue };
                        let published = content.kind() == Some(EntityKind::CareerPath)
                            && matches!(content.action.as_str(), "publish" | "create");
                        if !published {
                            continue;
                        }
                        // Only what anyone may see: a path created as a draft is no news.
                        match follow.published_path(content.id, content.version).await {
                            Some(path) => CareerPathPublishedEvent { kind: ChangeEventKind::Changed, path: Some(path) },
                            None => continue,
                        }
                    }
                };
                follow.delivered(event.kind);
                return Some((event, follow));
            }
        }))
    }
}

/// The subscriber, when the field's `@auth` rule admits them. The rule is checked here, before
/// the subscription starts, rather than on each event.
fn allowed(ctx: &Context<'_>, field: &'static str) -> Result<Subscriber> {
    let subscriber = ctx.data::<Subscriber>()?.clone();
    let required = ctx
        .data_opt::<Arc<FieldPolicy>>()
        .and_then(|policy| policy.required("Subscription", field))
        .unwrap_or(Role::Admin);
    let role = subscriber.principal.role;
    if !role.satisfies(required) {
        return Err(denied(role, required, Refused::Field { parent: "Subscription", name: field }));
    }
    Ok(subscriber)
}

/// What a subscription reads next from the feed.
enum Next {
    Change(Arc<Change>),
    Resync,
}

/// One subscription's place in the feed; counted as active while it lives.
struct Follow {
    feed: broadcast::Receiver<Arc<Change>>,
    subscriber: Subscriber,
}

impl Follow {
    fn new(subscriber: Subscriber) -> Self {
        subscriber.metrics.subscriptions(1);
        Self { feed: subscriber.feed.subscribe(), subscriber }
    }

    /// The next change, or a resync when some were missed; `None` when the feed has ended.
    async fn next(&mut self) -> Option<Next> {
        next_change(&mut self.feed, self.subscriber.buffer_events).await
    }

    fn delivered(&self, kind: ChangeEventKind) {
        self.subscriber.metrics.subscription_event(kind == ChangeEventKind::Resync);
    }

    /// The path `id` (at `version`) as anyone sees it: `None` for a draft, a deleted path, or
    /// when the database cannot be read (the event is then skipped, as the subscriber could not
    /// see it either). Read once for all subscribers.
    async fn published_path(&self, id: Uuid, version: Option<i32>) -> Option<PublishedPath> {
        let read = async {
            let db = self.subscriber.store.db();
            match career_paths::by_ids(db, Visibility::PublishedOnly, &[id], Columns::all()).await {
                Ok(paths) => paths.into_iter().next().map(Arc::new),
                Err(error) => {
                    tracing::warn!(%error, "cannot read a published path for its subscribers");
                    None
                }
            }
        };
        self.subscriber.published.get(id, version, read).await
    }
}

/// The next change on `feed`, or one resync when the subscriber has fallen more than `buffer`
/// changes behind (what it has not read is dropped) or missed some, or when anything may have
/// changed; `None` when the feed has ended.
async fn next_change(feed: &mut broadcast::Receiver<Arc<Change>>, buffer: usize) -> Option<Next> {
    if feed.len() > buffer {
        *feed = feed.resubscribe();
        return Some(Next::Resync);
    }
    match feed.recv().await {
        Ok(change) if *change == Change::Everything => Some(Next::Resync),
        Ok(change) => Some(Next::Change(change)),
        Err(RecvError::Lagged(_)) => Some(Next::Resync),
        Err(RecvError::Closed) => None,
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        self.subscriber.metrics.subscriptions(-1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u128) -> Arc<Change> {
        Arc::new(Change::User { id: Uuid::from_u128(n) })
    }

    #[tokio::test]
    async fn a_subscriber_past_its_buffer_gets_one_resync_then_what_comes_next() {
        let (sender, mut feed) = broadcast::channel(64);
        for n in 0..5 {
            sender.send(user(n)).expect("a receiver");
        }
        assert!(matches!(next_change(&mut feed, 2).await, Some(Next::Resync)), "five unread past a buffer of two");
        sender.send(user(9)).expect("a receiver");
        assert!(matches!(next_change(&mut feed, 2).await, Some(Next::Change(change)) if change == user(9)));

        // Within its buffer it reads every change.
        for n in 0..2 {
            sender.send(user(n)).expect("a receiver");
        }
        for n in 0..2 {
            assert!(matches!(next_change(&mut feed, 2).await, Some(Next::Change(change)) if change == user(n)));
        }
    }

    #[tokio::test]
    async fn missed_changes_and_bulk_loads_are_resyncs_and_a_closed_feed_ends() {
        let (sender, mut feed) = broadcast::channel(2);
        for n in 0..5 {
            sender.send(user(n)).expect("a receiver");
        }
        // The channel itself dropped the oldest: the subscriber missed them.
        assert!(matches!(next_change(&mut feed, 100).await, Some(Next::Resync)));
        let (sender, mut feed) = broadcast::channel(8);
        sender.send(Arc::new(Change::Everything)).expect("a receiver");
        assert!(matches!(next_change(&mut feed, 100).await, Some(Next::Resync)));
        drop(sender);
        assert!(next_change(&mut feed, 100).await.is_none());
    }
}
