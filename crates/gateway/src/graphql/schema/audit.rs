//! The audit trail: every recorded change (`auditLog`), and the fields every editable object
//! shares (`id`, `version`, `history`, `updatedBy`), declared once by [`editable_object!`].

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use careergraph_auth::Role;
use careergraph_domain::audit::{self, EntityKind};
use careergraph_domain::entities::audit_event;
use careergraph_domain::projection::Columns;
use uuid::Uuid;

use super::accounts::User;
use super::connections::{Paged, connection, page_request};
use super::scalars::{DateTime, Json};
use crate::graphql::plumbing::context::{id_of, loaders, request, store};
use crate::graphql::plumbing::error::{ApiResult, input_path};
use crate::graphql::plumbing::loaders::{HistoryOf, One, UserById};
use crate::graphql::plumbing::policy::auth;
use crate::graphql::plumbing::projection::{asked, asked_of_connection, projection};

/// Declares the GraphQL object over a versioned, audited row: the wrapper type, then one
/// `#[Object]` impl with the fields every editable object has (`id`, `version`, `history`,
/// `updatedBy`) ahead of the type's own. The type is named as its `EntityKind` is, so the audit
/// trail it reads is the one its kind records.
///
/// A trailing `serial` resolves the object's fields one after another, as async-graphql's
/// `#[Object(serial)]` does. Its default resolves them concurrently: a `FuturesUnordered` and a
/// task for each field of every object, which for an object of plain columns costs more than its
/// fields do (commit c8c3387 measured it on the nested benchmark query). What it gives up:
/// relations asked of one such object load one after another, a round trip each, though each is
/// still one batch for all the objects of a list. So an object with several relations usually asked together (a career path, a
/// roadmap step) stays concurrent.
macro_rules! editable_object {
    (
        $(#[$meta:meta])*
        $name:ident($model:ty) $(, $serial:ident)?;
        $($fields:tt)*
    ) => {
        $(#[$meta])*
        pub struct $name(pub std::sync::Arc<$model>);

        impl From<$model> for $name {
            fn from(row: $model) -> Self {
                Self(std::sync::Arc::new(row))
            }
        }

        impl From<std::sync::Arc<$model>> for $name {
            fn from(row: std::sync::Arc<$model>) -> Self {
                Self(row)
            }
        }

        #[async_graphql::Object($($serial,)? directive = $crate::graphql::plumbing::policy::auth::apply(careergraph_auth::Role::Anonymous))]
        impl $name {
            /// Stable identifier.
            pub async fn id(&self) -> async_graphql::ID {
                async_graphql::ID(self.0.id.to_string())
            }

            /// Incremented on every change; updates must name the version they saw.
            async fn version(&self) -> i32 {
                self.0.version
            }

            /// Every recorded change to this object, newest first. Requires EDITOR.
            #[graphql(directive = $crate::graphql::plumbing::policy::auth::apply(careergraph_auth::Role::Editor))]
            async fn history(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<Option<Vec<$crate::graphql::schema::audit::AuditEvent>>> {
                $crate::graphql::schema::audit::history(ctx, careergraph_domain::audit::EntityKind::$name, self.0.id).await
            }

            /// Who made the latest change through the API. Requires EDITOR.
            #[graphql(directive = $crate::graphql::plumbing::policy::auth::apply(careergraph_auth::Role::Editor))]
            async fn updated_by(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<Option<$crate::graphql::schema::accounts::User>> {
                $crate::graphql::schema::audit::updated_by(ctx, careergraph_domain::audit::EntityKind::$name, self.0.id).await
            }

            $($fields)*
        }
    };
}
pub(crate) use editable_object;

/// One recorded change.
pub struct AuditEvent(pub audit_event::Model);

#[Object(serial, directive = auth::apply(Role::Anonymous))]
impl AuditEvent {
    /// Stable identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// What was done: create, update, delete, publish, unpublish, set_skills, set_role, disable.
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// The type of the changed object, e.g. `CareerPath`.
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }

    /// The id of the changed object.
    async fn entity_id(&self) -> ID {
        ID(self.0.entity_id.to_string())
    }

    /// Who made the change; null for the command line.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.actor_id else { return Ok(None) };
        user(ctx, id).await
    }

    /// The object before the change (null for a creation). For a change to a user, only admins
    /// and that user see it.
    async fn before(&self, ctx: &Context<'_>) -> Option<Json> {
        self.snapshot(ctx, &self.0.before)
    }

    /// The object after the change (null for a deletion). For a change to a user, only admins
    /// and that user see it.
    async fn after(&self, ctx: &Context<'_>) -> Option<Json> {
        self.snapshot(ctx, &self.0.after)
    }

    /// When the change was made.
    async fn occurred_at(&self) -> DateTime {
        DateTime(self.0.occurred_at)
    }

    /// The HTTP request that made it, as its `x-request-id` header said.
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
}

impl AuditEvent {
    /// A snapshot the caller may read: a user's account is theirs and the admins' to see, like
    /// their e-mail address, whatever an older event recorded of it.
    fn snapshot(&self, ctx: &Context<'_>, snapshot: &Option<serde_json::Value>) -> Option<Json> {
        let caller = request(ctx).principal();
        let personal = self.0.entity_type == EntityKind::User.name();
        let allowed = !personal || caller.role.satisfies(Role::Admin) || caller.user_id == Some(self.0.entity_id);
        snapshot.as_ref().filter(|_| allowed).map(|snapshot| Json(with_graphql_names(snapshot)))
    }
}

/// A field of a stored snapshot (`published_at`, `outlook_demand`) as the schema names it
/// (`publishedAt`, `outlook`): what a change event lists.
pub fn graphql_field_name(stored: &str) -> String {
    match stored {
        "outlook_demand" | "outlook_summary" => "outlook".to_owned(),
        _ => input_path(None, stored),
    }
}

/// A snapshot as the schema names things, whenever it was recorded: the rows are stored as the
/// database has them (`internal_notes`, `outlook_demand`), and an editor reading the history
/// knows the fields of the API (`internalNotes`, `outlook { demand }`); a path's skills are
/// `{ skill, importance }`, as `setCareerPathSkills` takes them.
fn with_graphql_names(snapshot: &serde_json::Value) -> serde_json::Value {
    use serde_json::{Map, Value};
    match snapshot {
        Value::Object(fields) => {
            let mut renamed = Map::new();
            let mut outlook = Map::new();
            for (name, value) in fields {
                match (name.as_str(), value) {
                    ("outlook_demand" | "outlook_summary", _) => {
                        outlook.insert(name["outlook_".len()..].to_owned(), value.clone());
                    }
                    ("skills", Value::Array(skills)) => {
                        let skills = skills
                            .iter()
                            .map(|skill| match skill.as_array().map(Vec::as_slice) {
                                Some([slug, importance]) => {
                                    serde_json::json!({ "skill": slug, "importance": importance })
                                }
                                _ => with_graphql_names(skill),
                            })
                            .collect();
                        renamed.insert("skills".into(), Value::Array(skills));
                    }
                    _ => {
                        renamed.insert(input_path(None, name), with_graphql_names(value));
                    }
                }
            }
            if !outlook.is_empty() {
                renamed.insert("outlook".into(), Value::Object(outlook));
            }
            Value::Object(renamed)
        }
        Value::Array(items) => Value::Array(items.iter().map(with_graphql_names).collect()),
        other => other.clone(),
    }
}

projection!(AuditEvent => audit_event {
    "id" => [], "action" => [Action], "entityType" => [EntityType], "entityId" => [EntityId], "actor" => [ActorId],
    "before" => [Before], "after" => [After], "occurredAt" => [OccurredAt], "requestId" => [RequestId],
});

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::with_graphql_names;

    #[test]
    fn snapshots_use_the_names_of_the_api() {
        let stored = json!({
            "career_path": { "id": "x", "internal_notes": null, "outlook_demand": "HIGH", "outlook_summary": "s",
                "published_at": "2026-01-01T00:00:00Z", "onet_soc_code": "15-1252.00" },
            "skills": [["python", "ESSENTIAL"], ["sql", "IMPORTANT"]],
        });
        assert_eq!(
            with_graphql_names(&stored),
            json!({
                "careerPath": { "id": "x", "internalNotes": null, "publishedAt": "2026-01-01T00:00:00Z",
                    "onetSocCode": "15-1252.00", "outlook": { "demand": "HIGH", "summary": "s" } },
                "skills": [{ "skill": "python", "importance": "ESSENTIAL" }, { "skill": "sql", "importance": "IMPORTANT" }],
            })
        );
    }
}

async fn user(ctx: &Context<'_>, id: Uuid) -> Result<Option<User>> {
    let user: Option<One<_>> = loaders(ctx).load_one(UserById(id, asked::<User>(ctx))).await.api()?;
    Ok(user.map(|One(user)| User(std::sync::Arc::unwrap_or_clone(user))))
}

/// The changes to the object `id` of kind `entity`, newest first.
pub async fn history(ctx: &Context<'_>, entity: EntityKind, id: Uuid) -> Result<Option<Vec<AuditEvent>>> {
    let events =
        loaders(ctx).load_one(HistoryOf(entity, id, asked::<AuditEvent>(ctx))).await.api()?.unwrap_or_default();
    Ok(Some(events.into_iter().map(AuditEvent).collect()))
}

/// Who made the latest recorded change to the object; null for rows no one has changed
/// through the API (the bundled dataset).
pub async fn updated_by(ctx: &Context<'_>, entity: EntityKind, id: Uuid) -> Result<Option<User>> {
    let who = Columns::of([audit_event::Column::ActorId]);
    let events = loaders(ctx).load_one(HistoryOf(entity, id, who)).await.api()?.unwrap_or_default();
    let Some(actor) = events.first().and_then(|event| event.actor_id) else { return Ok(None) };
    user(ctx, actor).await
}

macro_rules! audited_type {
    ($($(#[$doc:meta])* $kind:ident = $noun:literal),* $(,)?) => {
        /// The types of object whose changes the audit log records.
        #[derive(Enum, Clone, Copy, PartialEq, Eq)]
        #[graphql(remote = "EntityKind")]
        pub enum AuditedType {
            $(#[doc = concat!("`", stringify!($kind), "`.")] $kind,)*
        }
    };
}

careergraph_domain::with_entity_kinds!(audited_type);

/// Narrows `auditLog`.
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Only changes by this user.
    pub actor_id: Option<ID>,
    /// Only changes to objects of this type.
    pub entity_type: Option<AuditedType>,
    /// Only changes to this object.
    pub entity_id: Option<ID>,
    /// Only changes at or after this time.
    pub since: Option<DateTime>,
    /// Only changes before this time.
    pub until: Option<DateTime>,
}

/// The audit log query.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Every recorded change, newest first. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<AuditLogFilter>,
    ) -> Result<Option<Paged<AuditEvent>>> {
        const SORTED_BY: &str = "occurred_at desc";
        let page = page_request(ctx, SORTED_BY, first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let domain_filter = audit::Filter {
            actor_id: filter.actor_id.as_ref().map(|id| id_of("filter.actorId", id)).transpose()?,
            entity_type: filter.entity_type.map(EntityKind::from),
            entity_id: filter.entity_id.as_ref().map(|id| id_of("filter.entityId", id)).transpose()?,
            since: filter.since.map(|instant| instant.0),
            until: filter.until.map(|instant| instant.0),
        };
        let columns = asked_of_connection::<AuditEvent>(ctx);
        let rows = audit::log(store(ctx).db(), &domain_filter, columns, page.clone()).await.api_in("filter")?;
        Ok(Some(connection(SORTED_BY, &page, rows, AuditEvent)))
    }
}
