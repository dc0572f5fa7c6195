//! The shared vocabularies career paths draw on: skills, technologies, industries, benefits.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use careergraph_auth::Role;
use careergraph_domain::entities::{benefit, industry, skill, technology};
use careergraph_domain::enums;
use careergraph_domain::queries::{Direction, sectors, skills, technologies};

use super::audit::editable_object;
use super::career_path::{CareerPath, Importance};
use super::connection::{OrderDirection, Paged, connection, page_request};
use super::error::ApiResult;
use super::loaders::{One, PathsOfSkill, SkillsOfTechnology, TechnologiesOfSkill, TechnologyById};
use super::policy::auth;
use super::request::{LookupKey, loaders, one_key, store};

/// Whether a skill is technical or interpersonal.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::SkillCategory")]
pub enum SkillCategory {
    /// Knowledge of tools, languages and techniques.
    Technical,
    /// Working with people: collaboration, communication, problem-solving.
    Soft,
}

/// What sort of thing a technology is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::TechnologyKind")]
pub enum TechnologyKind {
    /// A general-purpose programming language (Python, Java).
    ProgrammingLanguage,
    /// A language for querying data (SQL).
    QueryLanguage,
    /// A framework built on a language (Django, Rails).
    Framework,
    /// A runtime that executes code (Node.js).
    Runtime,
    /// A database system (PostgreSQL, MongoDB).
    Database,
    /// A web server (Nginx, Apache).
    WebServer,
    /// A style of API (REST).
    ApiStyle,
    /// A format for exchanging data (JSON, XML).
    DataFormat,
    /// Any other tool.
    Tool,
}

editable_object! {
    /// A capability careers ask for.
    Skill(skill::Model), serial;

    /// Unique, lowercase, human-readable handle.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// Name of the skill.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Technical or soft.
    async fn category(&self) -> SkillCategory {
        self.0.category.into()
    }

    /// What the skill involves.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Technologies through which the skill is practised.
    async fn technologies(&self, ctx: &Context<'_>) -> Result<Vec<Technology>> {
        let rows = loaders(ctx).load_one(TechnologiesOfSkill(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows.iter().cloned().map(Technology::from).collect())
    }

    /// Careers that need this skill, with how much, by title.
    async fn career_paths(&self, ctx: &Context<'_>) -> Result<Vec<SkillUse>> {
        let rows = loaders(ctx).load_one(PathsOfSkill(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows
            .iter()
            .map(|(link, path)| SkillUse { importance: link.importance.into(), career_path: Arc::clone(path) })
            .collect())
    }
}

/// A career that needs a skill, and how much.
pub struct SkillUse {
    importance: Importance,
    career_path: Arc<careergraph_domain::entities::career_path::Model>,
}

#[Object(serial, directive = auth::apply(Role::Anonymous))]
impl SkillUse {
    /// How much the career relies on the skill.
    async fn importance(&self) -> Importance {
        self.importance
    }

    /// The career.
    async fn career_path(&self) -> CareerPath {
        CareerPath(Arc::clone(&self.career_path))
    }
}

editable_object! {
    /// A language, framework, database, server, API style or data format.
    Technology(technology::Model), serial;

    /// Unique, lowercase, human-readable handle.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// Name, e.g. "PostgreSQL".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What sort of technology it is.
    async fn kind(&self) -> TechnologyKind {
        self.0.kind.into()
    }

    /// What it is, when described.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// The language a framework is built on (Django: Python).
    async fn built_on(&self, ctx: &Context<'_>) -> Result<Option<Technology>> {
        let Some(id) = self.0.built_on_id else { return Ok(None) };
        let row: Option<One<technology::Model>> = loaders(ctx).load_one(TechnologyById(id)).await.api()?;
        Ok(row.map(|One(row)| Technology(row)))
    }

    /// Skills practised through this technology.
    async fn skills(&self, ctx: &Context<'_>) -> Result<Vec<Skill>> {
        let rows = loaders(ctx).load_one(SkillsOfTechnology(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows.iter().cloned().map(Skill::from).collect())
    }
}

editable_object! {
    /// A sector that employs people in a career.
    Industry(industry::Model), serial;

    /// Unique, lowercase, human-readable handle.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// Name, e.g. "Healthcare".
    async fn name(&self) -> &str {
        &self.0.name
    }
}

editable_object! {
    /// Something employers commonly offer alongside pay.
    Benefit(benefit::Model), serial;

    /// Unique, lowercase, human-readable handle.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// Name, e.g. "Health insurance".
    async fn name(&self) -> &str {
        &self.0.name
    }
}

/// Narrows `skills`.
#[derive(InputObject, Default)]
pub struct SkillFilter {
    /// Case-insensitive text in the name, description or slug.
    pub search: Option<String>,
    /// Only skills of this category.
    pub category: Option<SkillCategory>,
}

/// Narrows `technologies`.
#[derive(InputObject, Default)]
pub struct TechnologyFilter {
    /// Case-insensitive text in the name, description or slug.
    pub search: Option<String>,
    /// Only technologies of this kind.
    pub kind: Option<TechnologyKind>,
}

/// Skill, technology, industry and benefit queries.
#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// One skill by `slug` or by `id` (give exactly one); null when there is none.
    #[graphql(directive = auth::apply(Role::Anonymous))]
    async fn skill(&self, ctx: &Context<'_>, slug: Option<String>, id: Option<ID>) -> Result<Option<Skill>> {
        let found = match one_key(slug.as_deref(), id.as_ref())? {
            LookupKey::Slug(slug) => skills::by_slug(store(ctx).db(), slug).await.api()?,
            LookupKey::Id(Some(id)) => skills::by_ids(store(ctx).db(), &[id]).await.api()?.pop(),
            LookupKey::Id(None) => None,
        };
        Ok(found.map(Skill::from))
    }

    /// Skills by name, a page at a time (at most 100 per page).
    #[graphql(
        complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity",
        directive = auth::apply(Role::Anonymous)
    )]
    async fn skills(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<SkillFilter>,
        #[graphql(default)] direction: OrderDirection,
    ) -> Result<Paged<Skill>> {
        let page = page_request(ctx, first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let filter = skills::Filter { search: filter.search, category: filter.category.map(Into::into) };
        let rows = skills::list(store(ctx).db(), &filter, Direction::from(direction), page).await.api_in("filter")?;
        Ok(connection(page, rows, Skill::from))
    }

    /// One technology by `slug` or by `id` (give exactly one); null when there is none.
    #[graphql(directive = auth::apply(Role::Anonymous))]
    async fn technology(&self, ctx: &Context<'_>, slug: Option<String>, id: Option<ID>) -> Result<Option<Technology>> {
        let found = match one_key(slug.as_deref(), id.as_ref())? {
            LookupKey::Slug(slug) => technologies::by_slug(store(ctx).db(), slug).await.api()?,
            LookupKey::Id(Some(id)) => technologies::by_ids(store(ctx).db(), &[id]).await.api()?.pop(),
            LookupKey::Id(None) => None,
        };
        Ok(found.map(Technology::from))
    }

    /// Technologies by name, a page at a time (at most 100 per page).
    #[graphql(
        complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity",
        directive = auth::apply(Role::Anonymous)
    )]
    async fn technologies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<TechnologyFilter>,
        #[graphql(default)] direction: OrderDirection,
    ) -> Result<Paged<Technology>> {
        let page = page_request(ctx, first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let filter = technologies::Filter { search: filter.search, kind: filter.kind.map(Into::into) };
        let rows =
            technologies::list(store(ctx).db(), &filter, Direction::from(direction), page).await.api_in("filter")?;
        Ok(connection(page, rows, Technology::from))
    }

    /// Every industry, by name.
    #[graphql(directive = auth::apply(Role::Anonymous))]
    async fn industries(&self, ctx: &Context<'_>) -> Result<Vec<Industry>> {
        Ok(sectors::industries(store(ctx).db()).await.api()?.into_iter().map(Industry::from).collect())
    }

    /// Every benefit, by name.
    #[graphql(directive = auth::apply(Role::Anonymous))]
    async fn benefits(&self, ctx: &Context<'_>) -> Result<Vec<Benefit>> {
        Ok(sectors::benefits(store(ctx).db()).await.api()?.into_iter().map(Benefit::from).collect())
    }
}
