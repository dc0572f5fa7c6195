//! Editor mutations for skills, technologies, industries and benefits.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use careergraph_auth::Role;
use careergraph_domain::editing::catalog::{self as edit, NamedFields, SkillFields, TechnologyFields};

use super::conventions::{DeleteInput, DeletePayload, clearable, required};
use crate::graphql::plumbing::context::{actor, id_of, store};
use crate::graphql::plumbing::error::ApiResult;
use crate::graphql::plumbing::policy::auth;
use crate::graphql::schema::entries::{Benefit, Industry};
use crate::graphql::schema::graph::{Skill, SkillCategory, Technology, TechnologyKind};

/// A new skill.
#[derive(InputObject)]
pub struct CreateSkillInput {
    /// Unique handle: lowercase letters, digits and inner hyphens, at most 80.
    pub slug: String,
    /// Name (1 to 120 characters).
    pub name: String,
    /// Technical or soft.
    pub category: SkillCategory,
    /// What the skill involves (1 to 10,000 characters).
    pub description: String,
}

/// Changes to a skill; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateSkillInput {
    /// The skill.
    pub id: ID,
    /// The `version` the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// New handle.
    pub slug: MaybeUndefined<String>,
    /// New name.
    pub name: MaybeUndefined<String>,
    /// New category.
    pub category: MaybeUndefined<SkillCategory>,
    /// New description.
    pub description: MaybeUndefined<String>,
}

/// Replaces the technologies a skill is practised through.
#[derive(InputObject)]
pub struct SetSkillTechnologiesInput {
    /// The skill.
    pub id: ID,
    /// The `version` the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// The complete new list of technology slugs, in order, each at most once.
    pub technologies: Vec<String>,
}

/// A new technology.
#[derive(InputObject)]
pub struct CreateTechnologyInput {
    /// Unique handle.
    pub slug: String,
    /// Name (1 to 120 characters).
    pub name: String,
    /// What sort of technology it is.
    pub kind: TechnologyKind,
    /// What it is.
    pub description: Option<String>,
    /// The slug of the language it is built on (for frameworks).
    pub built_on: Option<String>,
}

/// Changes to a technology; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateTechnologyInput {
    /// The technology.
    pub id: ID,
    /// The `version` the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// New handle.
    pub slug: MaybeUndefined<String>,
    /// New name.
    pub name: MaybeUndefined<String>,
    /// New kind.
    pub kind: MaybeUndefined<TechnologyKind>,
    /// New description; null clears it.
    pub description: MaybeUndefined<String>,
    /// New language it is built on (slug); null clears it.
    pub built_on: MaybeUndefined<String>,
}

/// A new industry or benefit.
#[derive(InputObject)]
pub struct CreateNamedInput {
    /// Unique handle.
    pub slug: String,
    /// Name (1 to 120 characters).
    pub name: String,
}

/// Changes to an industry or benefit; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateNamedInput {
    /// The industry or benefit.
    pub id: ID,
    /// The `version` the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// New handle.
    pub slug: MaybeUndefined<String>,
    /// New name.
    pub name: MaybeUndefined<String>,
}

/// A changed skill.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(Role::Anonymous))]
pub struct SkillPayload {
    /// The skill as it is now.
    pub skill: Skill,
}

/// A changed technology.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(Role::Anonymous))]
pub struct TechnologyPayload {
    /// The technology as it is now.
    pub technology: Technology,
}

/// A changed industry.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(Role::Anonymous))]
pub struct IndustryPayload {
    /// The industry as it is now.
    pub industry: Industry,
}

/// A changed benefit.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(Role::Anonymous))]
pub struct BenefitPayload {
    /// The benefit as it is now.
    pub benefit: Benefit,
}

/// Editor mutations for the vocabularies.
#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Creates a skill. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn create_skill(&self, ctx: &Context<'_>, input: CreateSkillInput) -> Result<Option<SkillPayload>> {
        let fields = SkillFields {
            slug: Some(input.slug),
            name: Some(input.name),
            category: Some(input.category.into()),
            description: Some(input.description),
        };
        let skill = edit::create_skill(store(ctx).db(), &actor(ctx), fields).await.api()?;
        Ok(Some(SkillPayload { skill: Skill::from(skill) }))
    }

    /// Changes a skill. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn update_skill(&self, ctx: &Context<'_>, input: UpdateSkillInput) -> Result<Option<SkillPayload>> {
        let id = id_of("id", &input.id)?;
        let fields = SkillFields {
            slug: required("slug", input.slug)?,
            name: required("name", input.name)?,
            category: required("category", input.category)?.map(Into::into),
            description: required("description", input.description)?,
        };
        let skill = edit::update_skill(store(ctx).db(), &actor(ctx), id, input.expected_version, fields).await.api()?;
        Ok(Some(SkillPayload { skill: Skill::from(skill) }))
    }

    /// Replaces the technologies a skill is practised through, as one change. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn set_skill_technologies(
        &self,
        ctx: &Context<'_>,
        input: SetSkillTechnologiesInput,
    ) -> Result<Option<SkillPayload>> {
        let id = id_of("id", &input.id)?;
        let actor = actor(ctx);
        let skill =
            edit::set_skill_technologies(store(ctx).db(), &actor, id, input.expected_version, input.technologies);
        Ok(Some(SkillPayload { skill: Skill::from(skill.await.api()?) }))
    }

    /// Deletes a skill. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn delete_skill(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_skill(store(ctx).db(), &actor(ctx), id, input.expected_version, input.detach).await.api()?;
        Ok(input.deleted())
    }

    /// Creates a technology. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn create_technology(
        &self,
        ctx: &Context<'_>,
        input: CreateTechnologyInput,
    ) -> Result<Option<TechnologyPayload>> {
        let fields = TechnologyFields {
            slug: Some(input.slug),
            name: Some(input.name),
            kind: Some(input.kind.into()),
            description: Some(input.description),
            built_on: Some(input.built_on),
        };
        let technology = edit::create_technology(store(ctx).db(), &actor(ctx), fields).await.api()?;
        Ok(Some(TechnologyPayload { technology: Technology::from(technology) }))
    }

    /// Changes a technology. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn update_technology(
        &self,
        ctx: &Context<'_>,
        input: UpdateTechnologyInput,
    ) -> Result<Option<TechnologyPayload>> {
        let id = id_of("id", &input.id)?;
        let fields = TechnologyFields {
            slug: required("slug", input.slug)?,
            name: required("name", input.name)?,
            kind: required("kind", input.kind)?.map(Into::into),
            description: clearable(input.description),
            built_on: clearable(input.built_on),
        };
        let actor = actor(ctx);
        let technology =
            edit::update_technology(store(ctx).db(), &actor, id, input.expected_version, fields).await.api()?;
        Ok(Some(TechnologyPayload { technology: Technology::from(technology) }))
    }

    /// Deletes a technology. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn delete_technology(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_technology(store(ctx).db(), &actor(ctx), id, input.expected_version, input.detach).await.api()?;
        Ok(input.deleted())
    }

    /// Creates an industry. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn create_industry(&self, ctx: &Context<'_>, input: CreateNamedInput) -> Result<Option<IndustryPayload>> {
        let fields = NamedFields { slug: Some(input.slug), name: Some(input.name) };
        let industry = edit::create_industry(store(ctx).db(), &actor(ctx), fields).await.api()?;
        Ok(Some(IndustryPayload { industry: Industry::from(industry) }))
    }

    /// Changes an industry. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn update_industry(&self, ctx: &Context<'_>, input: UpdateNamedInput) -> Result<Option<IndustryPayload>> {
        let id = id_of("id", &input.id)?;
        let fields = NamedFields { slug: required("slug", input.slug)?, name: required("name", input.name)? };
        let industry =
            edit::update_industry(store(ctx).db(), &actor(ctx), id, input.expected_version, fields).await.api()?;
        Ok(Some(IndustryPayload { industry: Industry::from(industry) }))
    }

    /// Deletes an industry. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn delete_industry(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_industry(store(ctx).db(), &actor(ctx), id, input.expected_version, input.detach).await.api()?;
        Ok(input.deleted())
    }

    /// Creates a benefit. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn create_benefit(&self, ctx: &Context<'_>, input: CreateNamedInput) -> Result<Option<BenefitPayload>> {
        let fields = NamedFields { slug: Some(input.slug), name: Some(input.name) };
        let benefit = edit::create_benefit(store(ctx).db(), &actor(ctx), fields).await.api()?;
        Ok(Some(BenefitPayload { benefit: Benefit::from(benefit) }))
    }

    /// Changes a benefit. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn update_benefit(&self, ctx: &Context<'_>, input: UpdateNamedInput) -> Result<Option<BenefitPayload>> {
        let id = id_of("id", &input.id)?;
        let fields = NamedFields { slug: required("slug", input.slug)?, name: required("name", input.name)? };
        let benefit =
            edit::update_benefit(store(ctx).db(), &actor(ctx), id, input.expected_version, fields).await.api()?;
        Ok(Some(BenefitPayload { benefit: Benefit::from(benefit) }))
    }

    /// Deletes a benefit. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn delete_benefit(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_benefit(store(ctx).db(), &actor(ctx), id, input.expected_version, input.detach).await.api()?;
        Ok(input.deleted())
    }
}
