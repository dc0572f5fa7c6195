//! Career paths: the lookups, the list, and each path's relations.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use careergraph_auth::Role;
use careergraph_domain::entities::{career_path, learning_resource, responsibility, roadmap_step};
use careergraph_domain::enums;
use careergraph_domain::queries::{Direction, career_paths};

use super::audit::editable_object;
use super::catalog::{Benefit, Industry, Skill, Technology};
use super::connection::{OrderDirection, Paged, connection, page_request};
use super::error::ApiResult;
use super::loaders::{
    BenefitsOfPath, IndustriesOfPath, RelatedOfPath, ResourcesOfStep, ResponsibilitiesOfPath, RoadmapOfPath,
    SalariesOfPath, SkillsOfPath, SkillsOfStep, TechnologiesOfSkill,
};
use super::policy::auth;
use super::request::{LookupKey, loaders, one_key, request, store};
use super::salary::{SalaryRecord, SalarySummary};
use super::scalars::DateTime;

/// How strongly employers are hiring.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::Demand")]
pub enum Demand {
    /// Few openings.
    Low,
    /// A steady number of openings.
    Moderate,
    /// Many openings, more than there are candidates.
    High,
}

/// Whether a career path is visible to readers.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::PublicationStatus")]
pub enum PublicationStatus {
    /// Seen only by editors and admins.
    Draft,
    /// Seen by everyone.
    Published,
}

/// How much a career path relies on a skill, from most to least.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::Importance")]
pub enum Importance {
    /// Required to do the job at all.
    Essential,
    /// Expected of most people in the role.
    Important,
    /// Helps, but is not expected.
    NiceToHave,
}

/// Whether a roadmap step is advised for everyone.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::Recommendation")]
pub enum Recommendation {
    /// Advised for everyone on this path.
    Recommended,
    /// Can be skipped.
    Optional,
}

/// The form a learning resource takes.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::ResourceKind")]
pub enum ResourceKind {
    /// A site offering many courses (Codecademy, Udemy, Coursera).
    CoursePlatform,
    /// A written article.
    Article,
    /// A blog to follow.
    Blog,
    /// A video or video series.
    Video,
    /// A book.
    Book,
    /// A community of practitioners.
    Community,
    /// A conference.
    Conference,
    /// A podcast.
    Podcast,
}

/// Hiring demand for a career path, and why.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(Role::Anonymous))]
pub struct Outlook {
    /// How strongly employers are hiring.
    pub demand: Demand,
    /// Why, in a sentence or two.
    pub summary: String,
}

/// A skill as one career path needs it.
#[derive(SimpleObject)]
#[graphql(complex, serial, directive = auth::apply(Role::Anonymous))]
pub struct CareerPathSkill {
    /// How much the path relies on the skill.
    pub importance: Importance,
    /// Place in the path's list of skills, from 0.
    pub position: i32,
    #[graphql(skip)]
    pub skill_model: Arc<careergraph_domain::entities::skill::Model>,
}

#[ComplexObject]
impl CareerPathSkill {
    /// The skill.
    async fn skill(&self) -> Skill {
        Skill(Arc::clone(&self.skill_model))
    }
}

editable_object! {
    /// A career someone can pursue, such as "Backend Developer".
    CareerPath(career_path::Model);

    /// Unique, lowercase, human-readable handle, e.g. `backend-developer`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// Name of the career, e.g. "Backend Developer".
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// One sentence on what the career is.
    async fn summary(&self) -> &str {
        &self.0.summary
    }

    /// A fuller description of the work.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Hiring demand and why.
    async fn outlook(&self) -> Outlook {
        Outlook { demand: self.0.outlook_demand.into(), summary: self.0.outlook_summary.clone() }
    }

    /// O*NET-SOC occupation code (as schema.org's Occupation uses it), when known.
    async fn onet_soc_code(&self) -> Option<&str> {
        self.0.onet_soc_code.as_deref()
    }

    /// Skills the career needs, in the order the source lists them; filter by importance.
    async fn skills(&self, ctx: &Context<'_>, importance: Option<Importance>) -> Result<Vec<CareerPathSkill>> {
        let rows = loaders(ctx).load_one(SkillsOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows
            .iter()
            .filter(|(link, _)| importance.is_none_or(|wanted| enums::Importance::from(wanted) == link.importance))
            .map(|(link, skill)| CareerPathSkill {
                importance: link.importance.into(),
                position: link.position,
                skill_model: Arc::clone(skill),
            })
            .collect())
    }

    /// Every technology the career's skills use, each once, in skill order.
    async fn technologies(&self, ctx: &Context<'_>) -> Result<Vec<Technology>> {
        let skills = loaders(ctx).load_one(SkillsOfPath(self.0.id)).await.api()?.unwrap_or_default();
        let keys: Vec<TechnologiesOfSkill> = skills.iter().map(|(_, skill)| TechnologiesOfSkill(skill.id)).collect();
        let mut by_skill = loaders(ctx).load_many(keys.iter().copied()).await.api()?;
        let mut seen = std::collections::HashSet::new();
        let mut technologies = Vec::new();
        for key in keys {
            for technology in by_skill.remove(&key).unwrap_or_default().iter() {
                if seen.insert(technology.id) {
                    technologies.push(Technology::from(Arc::clone(technology)));
                }
            }
        }
        Ok(technologies)
    }

    /// What people in this career do, in order.
    async fn responsibilities(&self, ctx: &Context<'_>) -> Result<Vec<Responsibility>> {
        let rows = loaders(ctx).load_one(ResponsibilitiesOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows.iter().cloned().map(Responsibility::from).collect())
    }

    /// How to get there, step by step.
    async fn roadmap(&self, ctx: &Context<'_>) -> Result<Vec<RoadmapStep>> {
        let rows = loaders(ctx).load_one(RoadmapOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows.iter().cloned().map(RoadmapStep::from).collect())
    }

    /// Industries that employ people in this career.
    async fn industries(&self, ctx: &Context<'_>) -> Result<Vec<Industry>> {
        let rows = loaders(ctx).load_one(IndustriesOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows.iter().cloned().map(Industry::from).collect())
    }

    /// Benefits commonly offered in this career.
    async fn benefits(&self, ctx: &Context<'_>) -> Result<Vec<Benefit>> {
        let rows = loaders(ctx).load_one(BenefitsOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows.iter().cloned().map(Benefit::from).collect())
    }

    /// Other careers worth a look from this one.
    async fn related_career_paths(&self, ctx: &Context<'_>) -> Result<Vec<CareerPath>> {
        let rows = loaders(ctx).load_one(RelatedOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows.iter().cloned().map(CareerPath::from).collect())
    }

    /// What the career pays: the newest record covering all experience levels, industries and
    /// locations of `country` (ISO 3166-1 alpha-2), or of the first country on record.
    async fn salary(&self, ctx: &Context<'_>, country: Option<String>) -> Result<Option<SalarySummary>> {
        let records = loaders(ctx).load_one(SalariesOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(career_paths::headline_salary(records.iter().map(|record| &**record), country.as_deref())
            .map(|record| SalarySummary(record.clone())))
    }

    /// Every salary record of the career, by country, newest first. The summary fields are
    /// public; the detail fields require VIEWER.
    async fn salary_records(&self, ctx: &Context<'_>) -> Result<Vec<SalaryRecord>> {
        let records = loaders(ctx).load_one(SalariesOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(records.iter().cloned().map(SalaryRecord::from).collect())
    }

    /// Whether the path is a draft or published. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn status(&self) -> Option<PublicationStatus> {
        Some(self.0.status.into())
    }

    /// Notes for editors, never shown to readers. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn internal_notes(&self) -> Option<&str> {
        self.0.internal_notes.as_deref()
    }

    /// When the path was last published, if it is.
    async fn published_at(&self) -> Option<DateTime> {
        self.0.published_at.map(DateTime)
    }

    /// When the path was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    /// When the path last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

editable_object! {
    /// One thing people in a career do at work.
    Responsibility(responsibility::Model), serial;

    /// Place in the career's list, from 0.
    async fn position(&self) -> i32 {
        self.0.position
    }

    /// Short name of the task.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// What the task involves.
    async fn description(&self) -> &str {
        &self.0.description
    }
}

editable_object! {
    /// One step on the way into a career.
    RoadmapStep(roadmap_step::Model);

    /// Place in the roadmap, from 0.
    async fn position(&self) -> i32 {
        self.0.position
    }

    /// What to do, e.g. "Learn databases".
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// How and why.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Whether the step is advised for everyone.
    async fn recommendation(&self) -> Recommendation {
        self.0.recommendation.into()
    }

    /// Where to learn it.
    async fn resources(&self, ctx: &Context<'_>) -> Result<Vec<LearningResource>> {
        let rows = loaders(ctx).load_one(ResourcesOfStep(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows.iter().cloned().map(LearningResource::from).collect())
    }

    /// The skills this step teaches.
    async fn skills(&self, ctx: &Context<'_>) -> Result<Vec<Skill>> {
        let rows = loaders(ctx).load_one(SkillsOfStep(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows.iter().cloned().map(Skill::from).collect())
    }
}

editable_object! {
    /// Where to learn what a roadmap step asks for.
    LearningResource(learning_resource::Model), serial;

    /// Name, e.g. "Coursera".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What form it takes.
    async fn kind(&self) -> ResourceKind {
        self.0.kind.into()
    }

    /// Where to find it, when known.
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }
}

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
        let found = match one_key(slug.as_deref(), id.as_ref())? {
            LookupKey::Slug(slug) => career_paths::by_slug(store(ctx).db(), visibility, slug).await.api()?,
            LookupKey::Id(Some(id)) => career_paths::by_ids(store(ctx).db(), visibility, &[id]).await.api()?.pop(),
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
    ) -> Result<Paged<CareerPath>> {
        let page = page_request(ctx, first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let domain_filter = career_paths::Filter { search: filter.search, skill: filter.skill, status: None };
        let order = order_by.map_or((career_paths::OrderField::Title, Direction::Asc), |order| {
            let field = match order.field {
                CareerPathOrderField::Title => career_paths::OrderField::Title,
                CareerPathOrderField::CreatedAt => career_paths::OrderField::CreatedAt,
                CareerPathOrderField::UpdatedAt => career_paths::OrderField::UpdatedAt,
            };
            (field, order.direction.into())
        });
        let rows = career_paths::list(store(ctx).db(), request(ctx).visibility, &domain_filter, order, page)
            .await
            .api_in("filter")?;
        Ok(connection(page, rows, CareerPath::from))
    }
}
