//! Career paths: the lookups and the list.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use careergraph_auth::Role;
use careergraph_domain::queries::career_paths;

use super::connections::{OrderDirection, Paged, connection, page_request};
use super::graph::CareerPath;
use crate::graphql::plumbing::context::{LookupKey, one_key, request, store};
use crate::graphql::plumbing::error::ApiResult;
use crate::graphql::plumbing::inline::Inline;
use crate::graphql::plumbing::policy::auth;
use crate::graphql::plumbing::projection::{asked, asked_of_connection};

/// Narrows `careerPaths`.
#[derive(InputObject, Default)]
pub struct CareerPathFilter {
    /// Case-insensitive text in the title, summary or slug.
    pub search: Option<String>,
    /// Only careers that need this skill (slug).
    pub skill: Option<String>,
}

/// What to sort career paths by.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum CareerPathOrderField {
    /// Alphabetical by title.
    #[default]
    Title,
    /// When the path was created.
    CreatedAt,
    /// When the path last changed.
    UpdatedAt,
}

/// How to sort `careerPaths`.
#[derive(InputObject)]
pub struct CareerPathOrder {
    /// What to sort by.
    pub field: CareerPathOrderField,
    /// Which way.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Career path queries.
#[derive(Default)]
pub struct CareerPathQuery;

#[Object]
impl CareerPathQuery {
    /// One career path by `slug` or by `id` (give exactly one); null when there is none.
    #[graphql(directive = auth::apply(Role::Anonymous))]
    async fn career_path(&self, ctx: &Context<'_>, slug: Option<String>, id: Option<ID>) -> Result<Option<CareerPath>> {
        let visibility = request(ctx).visibility;
        let columns = asked::<CareerPath>(ctx);
        let found = match one_key(slug.as_deref(), id.as_ref())? {
            LookupKey::Slug(slug) => career_paths::by_slug(store(ctx).db(), visibility, slug, columns).await.api()?,
            LookupKey::Id(Some(id)) => {
                career_paths::by_ids(store(ctx).db(), visibility, &[id], columns).await.api()?.pop()
            }
            LookupKey::Id(None) => None,
        };
        Ok(found.map(CareerPath::from))
    }

    /// Career paths, a page at a time (at most 100 per page; 20 unless `first` says otherwise).
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity", directive = auth::apply(Role::Anonymous))]
    async fn career_paths(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<CareerPathFilter>,
        order_by: Option<CareerPathOrder>,
    ) -> Result<Paged<Inline<CareerPath>>> {
        let order =
            order_by.unwrap_or(CareerPathOrder { field: CareerPathOrderField::Title, direction: OrderDirection::Asc });
        let (field, sorted_by) = match order.field {
            CareerPathOrderField::Title => (career_paths::OrderField::Title, "title"),
            CareerPathOrderField::CreatedAt => (career_paths::OrderField::CreatedAt, "created_at"),
            CareerPathOrderField::UpdatedAt => (career_paths::OrderField::UpdatedAt, "updated_at"),
        };
        let sorted_by = order.direction.name(sorted_by);
        let page = page_request(ctx, &sorted_by, first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let domain_filter = career_paths::Filter { search: filter.search, skill: filter.skill, status: None };
        let order = (field, order.direction.into());
        let columns = asked_of_connection::<CareerPath>(ctx);
        let rows =
            career_paths::list(store(ctx).db(), request(ctx).visibility, &domain_filter, order, columns, page.clone())
                .await
                .api_in("filter")?;
        Ok(connection(&sorted_by, &page, rows, |row| Inline(CareerPath::from(row))))
    }
}
