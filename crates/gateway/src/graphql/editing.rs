//! Editing over GraphQL: content mutations for editors, user management for admins, and the
//! audit trail (`history` on each editable object, `auditLog` across everything).

use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};
use careergraph_domain::audit::{self, Actor};
use careergraph_domain::editing::career_paths::{self, CareerPathChanges, NewCareerPath, SkillRequirement};
use careergraph_domain::entities::audit_event;
use careergraph_domain::enums::{PublicationStatus, UserRole};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::account::{User, UserRoleValue};
use super::career_path::{CareerPath, Demand, Importance, loaders, parse_id, request, store};
use super::connection::{Paged, connection, page_request};
use super::error::{ApiResult, bad_input};
use super::loaders::{HistoryOf, One, UserById};
use super::policy::{RoleValue, auth};
use crate::accounts::Accounts;

/// The id of the HTTP request, recorded with every change it makes.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Who is making a change in this request.
pub(super) fn actor(ctx: &Context<'_>) -> Actor {
    Actor { user_id: request(ctx).principal().user_id, request_id: ctx.data_opt::<RequestId>().map(|id| id.0.clone()) }
}

/// Parses an id argument; `field` names it in the error.
pub(super) fn id_of(field: &str, id: &ID) -> Result<Uuid> {
    parse_id(id).ok_or_else(|| bad_input(field, "is not an id this API gave out"))
}

/// One recorded change.
pub struct AuditEvent(pub audit_event::Model);

#[Object(directive = auth::apply(RoleValue::Anonymous))]
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
        let user: Option<One<_>> = loaders(ctx).load_one(UserById(id)).await.api()?;
        Ok(user.map(|One(user)| User(user)))
    }

    /// The object before the change (null for a creation).
    async fn before(&self) -> Option<Json<serde_json::Value>> {
        self.0.before.clone().map(Json)
    }

    /// The object after the change (null for a deletion).
    async fn after(&self) -> Option<Json<serde_json::Value>> {
        self.0.after.clone().map(Json)
    }

    /// When the change was made.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }

    /// The HTTP request that made it, as its `x-request-id` header said.
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
}

/// The changes to the object `id` of type `entity_type`, newest first.
pub async fn history(ctx: &Context<'_>, entity_type: &'static str, id: Uuid) -> Result<Option<Vec<AuditEvent>>> {
    let events = loaders(ctx).load_one(HistoryOf(entity_type, id)).await.api()?.unwrap_or_default();
    Ok(Some(events.into_iter().map(AuditEvent).collect()))
}

/// Who made the latest recorded change to the object; null for rows no one has changed
/// through the API (the bundled dataset).
pub async fn updated_by(ctx: &Context<'_>, entity_type: &'static str, id: Uuid) -> Result<Option<User>> {
    let events = loaders(ctx).load_one(HistoryOf(entity_type, id)).await.api()?.unwrap_or_default();
    let Some(actor) = events.first().and_then(|event| event.actor_id) else { return Ok(None) };
    let user: Option<One<_>> = loaders(ctx).load_one(UserById(actor)).await.api()?;
    Ok(user.map(|One(user)| User(user)))
}

/// Narrows `auditLog`.
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Only changes by this user.
    pub actor_id: Option<ID>,
    /// Only changes to objects of this type, e.g. `CareerPath`.
    pub entity_type: Option<String>,
    /// Only changes to this object.
    pub entity_id: Option<ID>,
    /// Only changes at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only changes before this time.
    pub until: Option<DateTime<Utc>>,
}

/// Queries for editors and admins.
#[derive(Default)]
pub struct EditingQuery;

#[Object]
impl EditingQuery {
    /// Every recorded change, newest first. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<AuditLogFilter>,
    ) -> Result<Option<Paged<AuditEvent>>> {
        let page = page_request(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let domain_filter = audit::Filter {
            actor_id: filter.actor_id.as_ref().map(|id| id_of("filter.actorId", id)).transpose()?,
            entity_type: filter.entity_type,
            entity_id: filter.entity_id.as_ref().map(|id| id_of("filter.entityId", id)).transpose()?,
            since: filter.since,
            until: filter.until,
        };
        let rows = audit::log(store(ctx).db(), &domain_filter, page).await.api()?;
        Ok(Some(connection(page, rows, AuditEvent)))
    }

    /// Every user, by e-mail address. Requires ADMIN.
    #[graphql(directive = auth::apply(RoleValue::Admin))]
    async fn users(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> Result<Option<Paged<User>>> {
        let page = page_request(first, after.as_deref())?;
        let rows = careergraph_domain::accounts::list_users(store(ctx).db(), page).await.api()?;
        Ok(Some(connection(page, rows, User)))
    }
}

/// Hiring demand for a new or changed career path.
#[derive(InputObject)]
pub struct OutlookInput {
    /// How strongly employers are hiring.
    pub demand: Demand,
    /// Why, in a sentence or two (1 to 10,000 characters).
    pub summary: String,
}

/// A new career path, created as a draft.
#[derive(InputObject)]
pub struct CreateCareerPathInput {
    /// Unique handle: lowercase letters, digits and inner hyphens, at most 80.
    pub slug: String,
    /// Name of the career (1 to 120 characters).
    pub title: String,
    /// One sentence (1 to 500 characters).
    pub summary: String,
    /// The work in full (1 to 10,000 characters).
    pub description: String,
    /// Hiring demand.
    pub outlook: OutlookInput,
    /// Notes for editors only.
    pub internal_notes: Option<String>,
    /// O*NET-SOC code, like `15-1252.00`.
    pub onet_soc_code: Option<String>,
}

/// Changes to a career path; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateCareerPathInput {
    /// The path to change.
    pub id: ID,
    /// The `version` the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// New handle.
    pub slug: Option<String>,
    /// New title.
    pub title: Option<String>,
    /// New summary.
    pub summary: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New outlook.
    pub outlook: Option<OutlookInput>,
    /// New notes for editors; an empty string clears them.
    pub internal_notes: Option<String>,
    /// New O*NET-SOC code; an empty string clears it.
    pub onet_soc_code: Option<String>,
}

/// Publishes or unpublishes a career path, or names one to delete.
#[derive(InputObject)]
pub struct CareerPathVersionInput {
    /// The path.
    pub id: ID,
    /// The `version` the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
}

/// Deletes a career path with everything it owns.
#[derive(InputObject)]
pub struct DeleteCareerPathInput {
    /// The path.
    pub id: ID,
    /// The `version` the deletion is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// Also remove the links from other paths that list this one as related. Without it, a
    /// path others link to is not deleted.
    #[graphql(default)]
    pub detach: bool,
}

/// One skill of a career path.
#[derive(InputObject)]
pub struct SkillRequirementInput {
    /// The skill's slug.
    pub skill: String,
    /// How much the career relies on it.
    pub importance: Importance,
}

/// Replaces a career path's skills, in order, as one change.
#[derive(InputObject)]
pub struct SetCareerPathSkillsInput {
    /// The path.
    pub id: ID,
    /// The `version` the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// The complete new list; each skill at most once.
    pub skills: Vec<SkillRequirementInput>,
}

/// A changed career path.
pub struct CareerPathPayload {
    path: careergraph_domain::entities::career_path::Model,
}

#[Object(directive = auth::apply(RoleValue::Anonymous))]
impl CareerPathPayload {
    /// The career path as it is now.
    async fn career_path(&self) -> CareerPath {
        CareerPath(self.path.clone())
    }
}

/// The result of a deletion.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(RoleValue::Anonymous))]
pub struct DeletePayload {
    /// The id of the deleted object.
    pub deleted_id: ID,
}

/// Changes a user's role.
#[derive(InputObject)]
pub struct SetUserRoleInput {
    /// The user.
    pub user_id: ID,
    /// The new role.
    pub role: UserRoleValue,
}

/// Disables a user.
#[derive(InputObject)]
pub struct DisableUserInput {
    /// The user.
    pub user_id: ID,
}

/// A changed user.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(RoleValue::Anonymous))]
pub struct UserPayload {
    /// The user as they are now.
    pub user: User,
}

fn payload(path: careergraph_domain::entities::career_path::Model) -> Option<CareerPathPayload> {
    Some(CareerPathPayload { path })
}

async fn set_status(
    ctx: &Context<'_>,
    input: CareerPathVersionInput,
    status: PublicationStatus,
) -> Result<Option<CareerPathPayload>> {
    let id = id_of("id", &input.id)?;
    let path = career_paths::set_status(store(ctx).db(), &actor(ctx), id, input.expected_version, status).await;
    Ok(payload(path.api()?))
}

/// Mutations for editors and admins.
#[derive(Default)]
pub struct EditingMutation;

#[Object]
impl EditingMutation {
    /// Creates a career path as a draft. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn create_career_path(
        &self,
        ctx: &Context<'_>,
        input: CreateCareerPathInput,
    ) -> Result<Option<CareerPathPayload>> {
        let new = NewCareerPath {
            slug: input.slug,
            title: input.title,
            summary: input.summary,
            description: input.description,
            outlook_demand: input.outlook.demand.into(),
            outlook_summary: input.outlook.summary,
            internal_notes: input.internal_notes,
            onet_soc_code: input.onet_soc_code,
        };
        Ok(payload(career_paths::create(store(ctx).db(), &actor(ctx), new).await.api()?))
    }

    /// Changes a career path. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn update_career_path(
        &self,
        ctx: &Context<'_>,
        input: UpdateCareerPathInput,
    ) -> Result<Option<CareerPathPayload>> {
        let id = id_of("id", &input.id)?;
        let blank_is_none = |value: Option<String>| value.map(|v| Some(v).filter(|v| !v.trim().is_empty()));
        let changes = CareerPathChanges {
            slug: input.slug,
            title: input.title,
            summary: input.summary,
            description: input.description,
            outlook_demand: input.outlook.as_ref().map(|o| o.demand.into()),
            outlook_summary: input.outlook.map(|o| o.summary),
            internal_notes: blank_is_none(input.internal_notes),
            onet_soc_code: blank_is_none(input.onet_soc_code),
        };
        Ok(payload(
            career_paths::update(store(ctx).db(), &actor(ctx), id, input.expected_version, changes).await.api()?,
        ))
    }

    /// Publishes a career path: everyone can see it. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn publish_career_path(
        &self,
        ctx: &Context<'_>,
        input: CareerPathVersionInput,
    ) -> Result<Option<CareerPathPayload>> {
        set_status(ctx, input, PublicationStatus::Published).await
    }

    /// Unpublishes a career path: only editors and admins can see it. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn unpublish_career_path(
        &self,
        ctx: &Context<'_>,
        input: CareerPathVersionInput,
    ) -> Result<Option<CareerPathPayload>> {
        set_status(ctx, input, PublicationStatus::Draft).await
    }

    /// Replaces a career path's skills (with importance, in order) as one change. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn set_career_path_skills(
        &self,
        ctx: &Context<'_>,
        input: SetCareerPathSkillsInput,
    ) -> Result<Option<CareerPathPayload>> {
        let id = id_of("id", &input.id)?;
        let skills = input
            .skills
            .into_iter()
            .map(|s| SkillRequirement { skill: s.skill, importance: s.importance.into() })
            .collect();
        Ok(payload(
            career_paths::set_skills(store(ctx).db(), &actor(ctx), id, input.expected_version, skills).await.api()?,
        ))
    }

    /// Deletes a career path with its skills list, responsibilities, roadmap and salary records.
    /// Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn delete_career_path(
        &self,
        ctx: &Context<'_>,
        input: DeleteCareerPathInput,
    ) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        career_paths::delete(store(ctx).db(), &actor(ctx), id, input.expected_version, input.detach).await.api()?;
        Ok(Some(DeletePayload { deleted_id: input.id }))
    }

    /// Changes a user's role; their sessions end so it applies at once. The last active admin
    /// cannot be demoted. Requires ADMIN.
    #[graphql(directive = auth::apply(RoleValue::Admin))]
    async fn set_user_role(&self, ctx: &Context<'_>, input: SetUserRoleInput) -> Result<Option<UserPayload>> {
        let id = id_of("userId", &input.user_id)?;
        let role: UserRole = input.role.into();
        let user = careergraph_domain::accounts::set_role(store(ctx).db(), &actor(ctx), id, role).await.api()?;
        ctx.data_unchecked::<std::sync::Arc<Accounts>>().forget_user(user.id);
        Ok(Some(UserPayload { user: User(user) }))
    }

    /// Disables a user: they cannot sign in, and their sessions and tokens stop working. The
    /// last active admin cannot be disabled. Requires ADMIN.
    #[graphql(directive = auth::apply(RoleValue::Admin))]
    async fn disable_user(&self, ctx: &Context<'_>, input: DisableUserInput) -> Result<Option<UserPayload>> {
        let id = id_of("userId", &input.user_id)?;
        let user = careergraph_domain::accounts::disable(store(ctx).db(), &actor(ctx), id).await.api()?;
        ctx.data_unchecked::<std::sync::Arc<Accounts>>().forget_user(user.id);
        Ok(Some(UserPayload { user: User(user) }))
    }
}
