//! `skillGap`: what someone still has to learn for a career.

use async_graphql::{Context, Object, Result};
use careergraph_domain::queries::skill_gap;

use careergraph_auth::Role;

use super::graph::{CareerPath, Importance, RoadmapStep};
use super::graph::{Skill, Technology};
use crate::graphql::plumbing::context::{request, store};
use crate::graphql::plumbing::error::ApiResult;
use crate::graphql::plumbing::policy::auth;

/// The answer to "what do I still need for this career?".
pub struct SkillGap(skill_gap::SkillGap);

/// One skill of the career, with what teaches it.
pub struct GapSkill(skill_gap::GapSkill);

#[Object(directive = auth::apply(Role::Anonymous))]
impl SkillGap {
    /// The career asked about.
    async fn career_path(&self) -> CareerPath {
        CareerPath::from(self.0.career_path.clone())
    }

    /// Skills still to learn: essential first, then in the career's order.
    async fn missing(&self) -> Vec<GapSkill> {
        self.0.missing.iter().cloned().map(GapSkill).collect()
    }

    /// Skills already covered by what was listed in `have`.
    async fn covered(&self) -> Vec<GapSkill> {
        self.0.covered.iter().cloned().map(GapSkill).collect()
    }

    /// Share of the career's skills already covered, from 0 to 1.
    async fn coverage(&self) -> f64 {
        let total = self.0.covered.len() + self.0.missing.len();
        if total == 0 { 1.0 } else { self.0.covered.len() as f64 / total as f64 }
    }
}

#[Object(serial, directive = auth::apply(Role::Anonymous))]
impl GapSkill {
    /// The skill.
    async fn skill(&self) -> Skill {
        Skill::from(self.0.skill.clone())
    }

    /// How much the career relies on it.
    async fn importance(&self) -> Importance {
        self.0.importance.into()
    }

    /// Technologies through which it is practised; knowing any one counts as having the skill.
    async fn technologies(&self) -> Vec<Technology> {
        self.0.technologies.iter().cloned().map(Technology::from).collect()
    }

    /// The career's roadmap steps that teach it.
    async fn roadmap_steps(&self) -> Vec<RoadmapStep> {
        self.0.roadmap_steps.iter().cloned().map(RoadmapStep::from).collect()
    }
}

/// The skill-gap query.
#[derive(Default)]
pub struct SkillGapQuery;

#[Object]
impl SkillGapQuery {
    /// What someone who knows `have` (skill or technology slugs, at most 100) still needs for
    /// the career `careerPath` (slug). A skill counts as had when `have` names it or any
    /// technology it is practised through. Null when the career does not exist; unknown slugs
    /// in `have` are refused with BAD_USER_INPUT.
    #[graphql(directive = auth::apply(Role::Anonymous))]
    async fn skill_gap(&self, ctx: &Context<'_>, career_path: String, have: Vec<String>) -> Result<Option<SkillGap>> {
        let gap = skill_gap::compute(store(ctx).db(), request(ctx).visibility, &career_path, &have).await.api()?;
        Ok(gap.map(SkillGap))
    }
}
