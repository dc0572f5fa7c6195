//! Relay's Global Object Identification: every object with an identity is a `Node`, and
//! `node(id:)` / `nodes(ids:)` find any of them again by id, under the same policy as every other
//! root (a draft, and what hangs off it, is null to a reader who may not see drafts; a user is
//! visible to admins and to that user), batched like any relation.

use async_graphql::{Context, ID, Interface, Object, Result};
use careergraph_auth::Role;
use careergraph_domain::queries::nodes::Found;

use super::accounts::User;
use super::entries::{Benefit, Industry, LearningResource, Responsibility};
use super::graph::{CareerPath, RoadmapStep, Skill, Technology};
use super::salaries::SalaryRecord;
use crate::graphql::plumbing::context::{id_of, loaders, request};
use crate::graphql::plumbing::error::{ApiResult, bad_input};
use crate::graphql::plumbing::loaders::NodeById;
use crate::graphql::plumbing::policy::auth;

/// The most ids `nodes` takes at once, as a page holds at most.
const MAX_IDS: usize = 100;

/// An object with an identity, unique across every type: what `node(id:)` finds again.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Stable identifier, unique across every type."))]
pub enum Node {
    CareerPath(CareerPath),
    Skill(Skill),
    Technology(Technology),
    Industry(Industry),
    Benefit(Benefit),
    Responsibility(Responsibility),
    RoadmapStep(RoadmapStep),
    LearningResource(LearningResource),
    SalaryRecord(SalaryRecord),
    User(User),
}

impl From<Found> for Node {
    fn from(found: Found) -> Self {
        match found {
            Found::CareerPath(row) => Self::CareerPath(row.into()),
            Found::Skill(row) => Self::Skill(row.into()),
            Found::Technology(row) => Self::Technology(row.into()),
            Found::Industry(row) => Self::Industry(row.into()),
            Found::Benefit(row) => Self::Benefit(row.into()),
            Found::Responsibility(row) => Self::Responsibility(row.into()),
            Found::RoadmapStep(row) => Self::RoadmapStep(row.into()),
            Found::LearningResource(row) => Self::LearningResource(row.into()),
            Found::SalaryRecord(row) => Self::SalaryRecord(row.into()),
            Found::User(row) => Self::User(User(row)),
        }
    }
}

/// `node` and `nodes`.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The object with this id, of whatever type; null when there is none or the caller may not
    /// see it (a draft and what belongs to it, before sign-in as an editor; another user's
    /// account, unless an admin).
    #[graphql(directive = auth::apply(Role::Anonymous))]
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let found = loaders(ctx).load_one(NodeById(id_of("id", &id)?)).await.api()?;
        let caller = request(ctx).principal();
        Ok(found.filter(|found| may_see(caller, found)).map(Node::from))
    }

    /// The objects with these ids (at most 100), in the same order; null for each there is none
    /// of or the caller may not see.
    #[graphql(complexity = "ids.len().clamp(1, 100) * child_complexity", directive = auth::apply(Role::Anonymous))]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_IDS {
            return Err(bad_input("ids", format!("may list at most {MAX_IDS} ids")));
        }
        let ids =
            ids.iter().enumerate().map(|(index, id)| id_of(&format!("ids.{index}"), id)).collect::<Result<Vec<_>>>()?;
        let found = loaders(ctx).load_many(ids.iter().copied().map(NodeById)).await.api()?;
        let caller = request(ctx).principal();
        Ok(ids
            .iter()
            .map(|id| found.get(&NodeById(*id)).cloned().filter(|found| may_see(caller, found)).map(Node::from))
            .collect())
    }
}

/// Whether the caller may see `found` at all: an account is its owner's and the admins'.
fn may_see(caller: crate::authentication::Principal, found: &Found) -> bool {
    match found {
        Found::User(user) => caller.role.satisfies(Role::Admin) || caller.user_id == Some(user.id),
        _ => true,
    }
}
