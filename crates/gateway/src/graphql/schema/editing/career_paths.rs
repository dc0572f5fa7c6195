//! Editor mutations for career paths: create, update, publish, unpublish, their skills, delete.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use careergraph_auth::Role;
use careergraph_domain::editing::career_paths::{self as edit, CareerPathChanges, NewCareerPath, SkillRequirement};
use careergraph_domain::entities::career_path;
use careergraph_domain::enums::PublicationStatus;

use super::conventions::{DeleteInput, DeletePayload, clearable, required};
use crate::graphql::plumbing::context::{actor, id_of, store};
use crate::graphql::plumbing::error::ApiResult;
use crate::graphql::plumbing::policy::auth;
use crate::graphql::schema::graph::{CareerPath, Demand, Importance};

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
    pub slug: MaybeUndefined<String>,
    /// New title.
    pub title: MaybeUndefined<String>,
    /// New summary.
    pub summary: MaybeUndefined<String>,
    /// New description.
    pub description: MaybeUndefined<String>,
    /// New outlook.
    pub outlook: MaybeUndefined<OutlookInput>,
    /// New notes for editors; null clears them.
    pub internal_notes: MaybeUndefined<String>,
    /// New O*NET-SOC code; null clears it.
    pub onet_soc_code: MaybeUndefined<String>,
}

/// Publishes or unpublishes a career path.
#[derive(InputObject)]
pub struct CareerPathVersionInput {
    /// The path.
    pub id: ID,
    /// The `version` the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
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
    path: career_path::Model,
}

#[Object(directive = auth::apply(Role::Anonymous))]
impl CareerPathPayload {
    /// The career path as it is now.
    async fn career_path(&self) -> CareerPath {
        CareerPath::from(self.path.clone())
    }
}

fn payload(path: career_path::Model) -> Option<CareerPathPayload> {
    Some(CareerPathPayload { path })
}

async fn set_status(
    ctx: &Context<'_>,
    input: CareerPathVersionInput,
    status: PublicationStatus,
) -> Result<Option<CareerPathPayload>> {
    let id = id_of("id", &input.id)?;
    let path = edit::set_status(store(ctx).db(), &actor(ctx), id, input.expected_version, status).await;
    Ok(payload(path.api()?))
}

/// Career path mutations.
#[derive(Default)]
pub struct CareerPathMutation;

#[Object]
impl CareerPathMutation {
    /// Creates a career path as a draft. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
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
        Ok(payload(edit::create(store(ctx).db(), &actor(ctx), new).await.api()?))
    }

    /// Changes a career path. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn update_career_path(
        &self,
        ctx: &Context<'_>,
        input: UpdateCareerPathInput,
    ) -> Result<Option<CareerPathPayload>> {
        let id = id_of("id", &input.id)?;
        let outlook = required("outlook", input.outlook)?;
        let changes = CareerPathChanges {
            slug: required("slug", input.slug)?,
            title: required("title", input.title)?,
            summary: required("summary", input.summary)?,
            description: required("description", input.description)?,
            outlook_demand: outlook.as_ref().map(|o| o.demand.into()),
            outlook_summary: outlook.map(|o| o.summary),
            internal_notes: clearable(input.internal_notes),
            onet_soc_code: clearable(input.onet_soc_code),
        };
        Ok(payload(edit::update(store(ctx).db(), &actor(ctx), id, input.expected_version, changes).await.api()?))
    }

    /// Publishes a career path: everyone can see it. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn publish_career_path(
        &self,
        ctx: &Context<'_>,
        input: CareerPathVersionInput,
    ) -> Result<Option<CareerPathPayload>> {
        set_status(ctx, input, PublicationStatus::Published).await
    }

    /// Unpublishes a career path: only editors and admins can see it. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn unpublish_career_path(
        &self,
        ctx: &Context<'_>,
        input: CareerPathVersionInput,
    ) -> Result<Option<CareerPathPayload>> {
        set_status(ctx, input, PublicationStatus::Draft).await
    }

    /// Replaces a career path's skills (with importance, in order) as one change. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
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
        Ok(payload(edit::set_skills(store(ctx).db(), &actor(ctx), id, input.expected_version, skills).await.api()?))
    }

    /// Deletes a career path with its skills list, responsibilities, roadmap and salary records;
    /// `detach` also removes it from other paths' related lists. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn delete_career_path(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete(store(ctx).db(), &actor(ctx), id, input.expected_version, input.detach).await.api()?;
        Ok(input.deleted())
    }
}
