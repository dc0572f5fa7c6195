//! Editor mutations for skills, technologies, industries and benefits.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use careergraph_domain::editing::catalog::{self as edit, NamedFields, SkillFields, TechnologyFields};

use super::career_path::store;
use super::catalog::{Benefit, Industry, Skill, SkillCategory, Technology, TechnologyKind};
use super::editing::{DeletePayload, actor, id_of};
use super::error::ApiResult;
use super::policy::{RoleValue, auth};

/// Names an object to delete, and the version the deletion is based on.
#[derive(InputObject)]
pub struct DeleteInput {
    /// The object.
    pub id: ID,
    /// The `version` the deletion is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// Also remove the links from whatever still refers to the object. Without it, an object
    /// something refers to is not deleted (CONFLICT on `detach`).
    #[graphql(default)]
    pub detach: bool,
}

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
    pub slug: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New category.
    pub category: Option<SkillCategory>,
    /// New description.
    pub description: Option<String>,
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
    pub slug: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New kind.
    pub kind: Option<TechnologyKind>,
    /// New description; an empty string clears it.
    pub description: Option<String>,
    /// New language it is built on (slug); an empty string clears it.
    pub built_on: Option<String>,
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
    pub slug: Option<String>,
    /// New name.
    pub name: Option<String>,
}

/// A changed skill.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(RoleValue::Anonymous))]
pub struct SkillPayload {
    /// The skill as it is now.
    pub skill: Skill,
}

/// A changed technology.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(RoleValue::Anonymous))]
pub struct TechnologyPayload {
    /// The technology as it is now.
    pub technology: Technology,
}

/// A changed industry.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(RoleValue::Anonymous))]
pub struct IndustryPayload {
    /// The industry as it is now.
    pub industry: Industry,
}

/// A changed benefit.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(RoleValue::Anonymous))]
pub struct BenefitPayload {
    /// The benefit as it is now.
    pub benefit: Benefit,
}

/// An optional text input where an empty string means "clear it".
fn clearable(value: Option<String>) -> Option<Option<String>> {
    value.map(|v| Some(v).filter(|v| !v.trim().is_empty()))
}

fn deleted(input: DeleteInput) -> Option<DeletePayload> {
    Some(DeletePayload { deleted_id: input.id })
}

/// Editor mutations for the vocabularies.
#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Creates a skill. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn create_skill(&self, ctx: &Context<'_>, input: CreateSkillInput) -> Result<Option<SkillPayload>> {
        let fields = SkillFields {
            slug: Some(input.slug),
            name: Some(input.name),
            category: Some(input.category.into()),
            description: Some(input.description),
        };
        let skill = edit::create_skill(store(ctx).db(), &actor(ctx), fields).await.api()?;
        Ok(Some(SkillPayload { skill: Skill(skill) }))
    }

    /// Changes a skill. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn update_skill(&self, ctx: &Context<'_>, input: UpdateSkillInput) -> Result<Option<SkillPayload>> {
        let id = id_of("id", &input.id)?;
        let fields = SkillFields {
            slug: input.slug,
            name: input.name,
            category: input.category.map(Into::into),
            description: input.description,
        };
        let skill = edit::update_skill(store(ctx).db(), &actor(ctx), id, input.expected_version, fields).await.api()?;
        Ok(Some(SkillPayload { skill: Skill(skill) }))
    }

    /// Replaces the technologies a skill is practised through, as one change. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn set_skill_technologies(
        &self,
        ctx: &Context<'_>,
        input: SetSkillTechnologiesInput,
    ) -> Result<Option<SkillPayload>> {
        let id = id_of("id", &input.id)?;
        let actor = actor(ctx);
        let skill =
            edit::set_skill_technologies(store(ctx).db(), &actor, id, input.expected_version, input.technologies);
        Ok(Some(SkillPayload { skill: Skill(skill.await.api()?) }))
    }

    /// Deletes a skill. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn delete_skill(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_skill(store(ctx).db(), &actor(ctx), id, input.expected_version, input.detach).await.api()?;
        Ok(deleted(input))
    }

    /// Creates a technology. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
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
        Ok(Some(TechnologyPayload { technology: Technology(technology) }))
    }

    /// Changes a technology. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn update_technology(
        &self,
        ctx: &Context<'_>,
        input: UpdateTechnologyInput,
    ) -> Result<Option<TechnologyPayload>> {
        let id = id_of("id", &input.id)?;
        let fields = TechnologyFields {
            slug: input.slug,
            name: input.name,
            kind: input.kind.map(Into::into),
            description: clearable(input.description),
            built_on: clearable(input.built_on),
        };
        let actor = actor(ctx);
        let technology =
            edit::update_technology(store(ctx).db(), &actor, id, input.expected_version, fields).await.api()?;
        Ok(Some(TechnologyPayload { technology: Technology(technology) }))
    }

    /// Deletes a technology. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn delete_technology(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_technology(store(ctx).db(), &actor(ctx), id, input.expected_version, input.detach).await.api()?;
        Ok(deleted(input))
    }

    /// Creates an industry. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn create_industry(&self, ctx: &Context<'_>, input: CreateNamedInput) -> Result<Option<IndustryPayload>> {
        let fields = NamedFields { slug: Some(input.slug), name: Some(input.name) };
        let industry = edit::create_industry(store(ctx).db(), &actor(ctx), fields).await.api()?;
        Ok(Some(IndustryPayload { industry: Industry(industry) }))
    }

    /// Changes an industry. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn update_industry(&self, ctx: &Context<'_>, input: UpdateNamedInput) -> Result<Option<IndustryPayload>> {
        let id = id_of("id", &input.id)?;
        let fields = NamedFields { slug: input.slug, name: input.name };
        let industry =
            edit::update_industry(store(ctx).db(), &actor(ctx), id, input.expected_version, fields).await.api()?;
        Ok(Some(IndustryPayload { industry: Industry(industry) }))
    }

    /// Deletes an industry. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn delete_industry(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_industry(store(ctx).db(), &actor(ctx), id, input.expected_version, input.detach).await.api()?;
        Ok(deleted(input))
    }

    /// Creates a benefit. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn create_benefit(&self, ctx: &Context<'_>, input: CreateNamedInput) -> Result<Option<BenefitPayload>> {
        let fields = NamedFields { slug: Some(input.slug), name: Some(input.name) };
        let benefit = edit::create_benefit(store(ctx).db(), &actor(ctx), fields).await.api()?;
        Ok(Some(BenefitPayload { benefit: Benefit(benefit) }))
    }

    /// Changes a benefit. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn update_benefit(&self, ctx: &Context<'_>, input: UpdateNamedInput) -> Result<Option<BenefitPayload>> {
        let id = id_of("id", &input.id)?;
        let fields = NamedFields { slug: input.slug, name: input.name };
        let benefit =
            edit::update_benefit(store(ctx).db(), &actor(ctx), id, input.expected_version, fields).await.api()?;
        Ok(Some(BenefitPayload { benefit: Benefit(benefit) }))
    }

    /// Deletes a benefit. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn delete_benefit(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_benefit(store(ctx).db(), &actor(ctx), id, input.expected_version, input.detach).await.api()?;
        Ok(deleted(input))
    }
}
