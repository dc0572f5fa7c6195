//! Answers only a graph can give: `careerMoves` (where can I move from a career, what would I
//! learn, what would it pay) and `nextSkills` (which skill opens the most doors). A skill's
//! `relatedSkills` lives on [`super::graph::Skill`].

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, InputObject, Object, Result};
use careergraph_auth::Role;
use careergraph_domain::graph::moves::{self, MoveFilter, MoveOrder, MovesWanted};
use careergraph_domain::graph::{next_skills, page_size};

use super::connections::{ranked_after, ranked_cursor};
use super::graph::{CareerPath, Skill};
use crate::graphql::plumbing::context::{request, store};
use crate::graphql::plumbing::error::ApiResult;
use crate::graphql::plumbing::policy::auth;

/// How `careerMoves` orders its moves.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum CareerMoveOrder {
    /// Most similar skills first.
    #[default]
    Similarity,
    /// Largest rise in median pay first; moves without a pay comparison last.
    PayGain,
    /// Fewest skills to learn first.
    FewestToLearn,
}

impl From<CareerMoveOrder> for MoveOrder {
    fn from(order: CareerMoveOrder) -> Self {
        match order {
            CareerMoveOrder::Similarity => MoveOrder::Similarity,
            CareerMoveOrder::PayGain => MoveOrder::PayGain,
            CareerMoveOrder::FewestToLearn => MoveOrder::FewestToLearn,
        }
    }
}

/// Which moves `careerMoves` keeps.
#[derive(InputObject, Default)]
pub struct CareerMoveFilter {
    /// Only moves at least this similar, from 0 to 1.
    min_similarity: Option<f64>,
    /// Only moves whose job zone rises by at most this much (moves between careers whose job
    /// zones are not known are left out).
    max_job_zone_increase: Option<i32>,
    /// The country whose pay is compared, as an ISO 3166 alpha-2 code. Default US.
    country: Option<String>,
}

/// A skill as the career moved from and the career moved to weigh it, on O*NET's 0–100 scale
/// (a curated skill without a score counts as the middle of its importance band).
pub struct SkillComparison(moves::SkillComparison);

#[Object(directive = auth::apply(Role::Anonymous))]
impl SkillComparison {
    /// The skill.
    async fn skill(&self) -> Skill {
        Skill::from(self.0.skill.clone())
    }

    /// How much the career moved from relies on it; null when it does not list it.
    async fn from_score(&self) -> Option<f64> {
        self.0.from_score
    }

    /// How much the career moved to relies on it.
    async fn to_score(&self) -> f64 {
        self.0.to_score
    }

    /// `toScore` − `fromScore` (a missing score counts as 0).
    async fn gap(&self) -> f64 {
        self.0.gap()
    }
}

/// A move from one career to another.
pub struct CareerMove(moves::CareerMove);

#[Object(directive = auth::apply(Role::Anonymous))]
impl CareerMove {
    /// The career moved to.
    async fn career_path(&self) -> CareerPath {
        CareerPath::from(self.0.path.clone())
    }

    /// How alike the two careers' skills are, from 0 to 1: the weighted Jaccard similarity of
    /// their importance scores (Σ min / Σ max over the skills either lists).
    async fn similarity(&self) -> f64 {
        self.0.similarity
    }

    /// Skills both careers list, the ones the new career relies on most first.
    async fn shared_skills(&self) -> Vec<SkillComparison> {
        self.0.shared_skills.iter().cloned().map(SkillComparison).collect()
    }

    /// Skills the new career relies on more than the old one (or the old one lacks), the
    /// largest gap first.
    async fn skills_to_learn(&self) -> Vec<SkillComparison> {
        self.0.skills_to_learn.iter().cloned().map(SkillComparison).collect()
    }

    /// The new career's yearly median pay minus the old one's, in the country compared
    /// (national figures); null when either lacks one. Below VIEWER only open data (BLS OEWS)
    /// is compared.
    async fn median_pay_change(&self) -> Option<i64> {
        self.0.median_pay_change
    }

    /// The new career's job zone minus the old one's; null when either is not known.
    async fn job_zone_change(&self) -> Option<i32> {
        self.0.job_zone_change
    }

    /// O*NET's relatedness tier for the pair ("Primary-Short", …) when O*NET lists it.
    async fn relatedness_tier(&self) -> Option<&str> {
        self.0.relatedness_tier.as_deref()
    }
}

/// A skill worth learning next.
pub struct NextSkill(next_skills::NextSkill);

#[Object(directive = auth::apply(Role::Anonymous))]
impl NextSkill {
    /// The skill.
    async fn skill(&self) -> Skill {
        Skill::from(self.0.skill.clone())
    }

    /// Σ over careers of the skill's score × the share of the career's skills it adds: higher
    /// brings more careers closer. Comparable within one answer.
    async fn value(&self) -> f64 {
        self.0.value
    }

    /// Careers this skill alone lifts past a fit of 0.7 (70 % of their skill weight covered),
    /// by title.
    async fn lifts(&self) -> Vec<CareerPath> {
        self.0.lifts.iter().cloned().map(CareerPath::from).collect()
    }
}

/// The graph queries.
#[derive(Default)]
pub struct CareerMovesQuery;

#[Object]
impl CareerMovesQuery {
    /// Careers someone in the career `from` (a slug) could move to, drawn from the 50 careers
    /// whose skills are most like its own, with what they would have to learn, the pay change
    /// and the job zone change. At most 50 per page.
    #[graphql(
        complexity = "first.unwrap_or(10).clamp(1, 50) as usize * child_complexity",
        directive = auth::apply(Role::Anonymous)
    )]
    async fn career_moves(
        &self,
        ctx: &Context<'_>,
        from: String,
        #[graphql(default = 10)] first: Option<i32>,
        after: Option<String>,
        #[graphql(default)] order_by: Option<CareerMoveOrder>,
        filter: Option<CareerMoveFilter>,
    ) -> Result<Connection<String, CareerMove, EmptyFields, EmptyFields>> {
        let size = page_size(first).api()?;
        let start = ranked_after("careerMoves", after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let wanted = MovesWanted {
            from: &from,
            order: order_by.unwrap_or_default().into(),
            filter: MoveFilter {
                min_similarity: filter.min_similarity,
                max_job_zone_increase: filter.max_job_zone_increase,
                country: filter.country.unwrap_or_else(|| "US".into()),
            },
            first: size,
            start,
        };
        let curated_pay = request(ctx).principal().role.satisfies(Role::Viewer);
        let page = moves::career_moves(store(ctx).db(), request(ctx).visibility, curated_pay, &wanted).await.api()?;
        let mut connection = Connection::new(start > 0, page.has_next);
        for (offset, found) in page.moves.into_iter().enumerate() {
            connection.edges.push(Edge::new(ranked_cursor("careerMoves", start + offset), CareerMove(found)));
        }
        Ok(connection)
    }

    /// The skills someone who knows `have` (skill or technology slugs, at most 100) should
    /// learn next, best first: ranked by Σ over careers of the skill's score × the share of
    /// the career's skills it would add, each with the careers it alone lifts past a fit of
    /// 0.7. `towards` (career slugs) sums over those careers only. At most 50.
    #[graphql(
        complexity = "first.unwrap_or(10).clamp(1, 50) as usize * child_complexity",
        directive = auth::apply(Role::Anonymous)
    )]
    async fn next_skills(
        &self,
        ctx: &Context<'_>,
        have: Vec<String>,
        #[graphql(default = 10)] first: Option<i32>,
        towards: Option<Vec<String>>,
    ) -> Result<Vec<NextSkill>> {
        let size = page_size(first).api()?;
        let db = store(ctx).db();
        let found =
            next_skills::next_skills(db, request(ctx).visibility, &have, towards.as_deref(), size).await.api()?;
        Ok(found.into_iter().map(NextSkill).collect())
    }
}
