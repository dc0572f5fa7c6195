//! The GraphQL schema: one query object per area merged into the root, thin resolvers over the
//! domain, and one DataLoader batch per relation.

mod career_path;
mod catalog;
pub mod connection;
pub mod error;
pub mod executor;
pub mod limits;
pub mod loaders;
mod salary;
mod skill_gap;

use async_graphql::{EmptyMutation, EmptySubscription, MergedObject, Schema};
use careergraph_domain::Visibility;

use crate::config::Config;

/// The root query: every area's queries merged.
#[derive(MergedObject, Default)]
pub struct Query(career_path::CareerPathQuery, catalog::CatalogQuery, salary::SalaryQuery, skill_gap::SkillGapQuery);

/// The executable schema.
pub type CareerGraphSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// What a request carries into every resolver besides its loaders.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// Which career paths exist for this caller.
    pub visibility: Visibility,
}

/// Builds the schema with the limits from `config`. The database is not part of the schema:
/// each request brings its own loaders, so the schema can also be built just to print its SDL.
pub fn build_schema(config: &Config) -> CareerGraphSchema {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .limit_depth(config.max_depth)
        .limit_complexity(config.max_complexity)
        .limit_recursive_depth(32)
        .limit_directives(8)
        .extension(limits::AliasLimit::new(config.max_aliases))
        .finish()
}

/// The schema's SDL, as `careergraph schema` prints it and `schema.graphql` holds it.
pub fn sdl(schema: &CareerGraphSchema) -> String {
    schema.sdl()
}
