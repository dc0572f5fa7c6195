//! The GraphQL schema: one query object per area merged into the root, thin resolvers over the
//! domain, and one DataLoader batch per relation.

pub mod account;
mod career_path;
mod catalog;
pub mod connection;
pub mod error;
pub mod executor;
pub mod limits;
pub mod loaders;
mod salary;
mod skill_gap;

use async_graphql::{EmptySubscription, MergedObject, Schema};
use careergraph_auth::Role;
use careergraph_domain::Visibility;

use crate::accounts::Principal;

use crate::config::Config;

/// The root query: every area's queries merged.
#[derive(MergedObject, Default)]
pub struct Query(
    career_path::CareerPathQuery,
    catalog::CatalogQuery,
    salary::SalaryQuery,
    skill_gap::SkillGapQuery,
    account::AccountQuery,
);

/// The root mutation: every area's mutations merged.
#[derive(MergedObject, Default)]
pub struct Mutation(account::AccountMutation);

/// The executable schema.
pub type CareerGraphSchema = Schema<Query, Mutation, EmptySubscription>;

/// What a request carries into every resolver besides its loaders.
#[derive(Clone, Copy, Debug)]
pub struct RequestContext {
    /// Who is asking.
    pub principal: Principal,
    /// Which career paths exist for this caller.
    pub visibility: Visibility,
}

impl RequestContext {
    /// The context for `principal`: editors and admins see drafts, nobody else does.
    pub fn for_principal(principal: Principal) -> Self {
        let visibility =
            if principal.role.satisfies(Role::Editor) { Visibility::IncludeDrafts } else { Visibility::PublishedOnly };
        Self { principal, visibility }
    }
}

/// Builds the schema with the limits from `config`. The database is not part of the schema:
/// each request brings its own loaders, so the schema can also be built just to print its SDL.
pub fn build_schema(config: &Config) -> CareerGraphSchema {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
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
