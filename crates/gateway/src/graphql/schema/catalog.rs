//! The shared vocabularies career paths draw on: skills, technologies, industries, benefits.

use async_graphql::{Context, ID, InputObject, Object, Result};
use careergraph_auth::Role;
use careergraph_domain::queries::{Direction, sectors, skills, technologies};

use super::connections::{OrderDirection, Paged, connection, page_request};
use super::entries::{Benefit, Industry};
use super::graph::{Skill, SkillCategory, Technology, TechnologyKind};
use crate::graphql::plumbing::context::{LookupKey, one_key, store};
use crate::graphql::plumbing::error::ApiResult;
use crate::graphql::plumbing::policy::auth;
use crate::graphql::plumbing::projection::{asked, asked_of_connection};

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
            LookupKey::Slug(slug) => skills::by_slug(store(ctx).db(), slug, asked::<Skill>(ctx)).await.api()?,
            LookupKey::Id(Some(id)) => skills::by_ids(store(ctx).db(), &[id], asked::<Skill>(ctx)).await.api()?.pop(),
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
        let sorted_by = direction.name("name");
        let page = page_request(ctx, &sorted_by, first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let filter = skills::Filter { search: filter.search, category: filter.category.map(Into::into) };
        let columns = asked_of_connection::<Skill>(ctx);
        let rows = skills::list(store(ctx).db(), &filter, Direction::from(direction), columns, page.clone())
            .await
            .api_in("filter")?;
        Ok(connection(&sorted_by, &page, rows, Skill::from))
    }

    /// One technology by `slug` or by `id` (give exactly one); null when there is none.
    #[graphql(directive = auth::apply(Role::Anonymous))]
    async fn technology(&self, ctx: &Context<'_>, slug: Option<String>, id: Option<ID>) -> Result<Option<Technology>> {
        let found = match one_key(slug.as_deref(), id.as_ref())? {
            LookupKey::Slug(slug) => {
                technologies::by_slug(store(ctx).db(), slug, asked::<Technology>(ctx)).await.api()?
            }
            LookupKey::Id(Some(id)) => {
                technologies::by_ids(store(ctx).db(), &[id], asked::<Technology>(ctx)).await.api()?.pop()
            }
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
        let sorted_by = direction.name("name");
        let page = page_request(ctx, &sorted_by, first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let filter = technologies::Filter { search: filter.search, kind: filter.kind.map(Into::into) };
        let columns = asked_of_connection::<Technology>(ctx);
        let rows = technologies::list(store(ctx).db(), &filter, Direction::from(direction), columns, page.clone())
            .await
            .api_in("filter")?;
        Ok(connection(&sorted_by, &page, rows, Technology::from))
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
