//! Career paths: the lookups, the list, and each path's relations.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use careergraph_domain::entities::{career_path, learning_resource, responsibility, roadmap_step};
use careergraph_domain::enums;
use careergraph_domain::queries::{Direction, career_paths};
use chrono::{DateTime, Utc};

use super::catalog::{Benefit, Industry, Skill, Technology};
use super::connection::{Paged, connection, page_request};
use super::error::{ApiResult, bad_input};
use super::loaders::{
    BenefitsOfPath, IndustriesOfPath, RelatedOfPath, ResourcesOfStep, ResponsibilitiesOfPath, RoadmapOfPath,
    SalariesOfPath, SkillsOfPath, SkillsOfStep, TechnologiesOfSkill,
};
use super::policy::{RoleValue, auth};
use super::salary::{SalaryRecord, SalarySummary};
use super::{RequestContext, loaders::Loaders};
use crate::store::Store;

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

/// A career someone can pursue, such as "Backend Developer".
pub struct CareerPath(pub career_path::Model);

/// Hiring demand for a career path, and why.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(RoleValue::Anonymous))]
pub struct Outlook {
    /// How strongly employers are hiring.
    pub demand: Demand,
    /// Why, in a sentence or two.
    pub summary: String,
}

/// A skill as one career path needs it.
#[derive(SimpleObject)]
#[graphql(complex, directive = auth::apply(RoleValue::Anonymous))]
pub struct CareerPathSkill {
    /// How much the path relies on the skill.
    pub importance: Importance,
    /// Place in the path's list of skills, from 0.
    pub position: i32,
    #[graphql(skip)]
    pub skill_model: careergraph_domain::entities::skill::Model,
}

#[ComplexObject]
impl CareerPathSkill {
    /// The skill.
    async fn skill(&self) -> Skill {
        Skill(self.skill_model.clone())
    }
}

#[Object(directive = auth::apply(RoleValue::Anonymous))]
impl CareerPath {
    /// Stable identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

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
            .into_iter()
            .filter(|(link, _)| importance.is_none_or(|wanted| enums::Importance::from(wanted) == link.importance))
            .map(|(link, skill)| CareerPathSkill {
                importance: link.importance.into(),
                position: link.position,
                skill_model: skill,
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
            for (_, technology) in by_skill.remove(&key).unwrap_or_default() {
                if seen.insert(technology.id) {
                    technologies.push(Technology(technology));
                }
            }
        }
        Ok(technologies)
    }

    /// What people in this career do, in order.
    async fn responsibilities(&self, ctx: &Context<'_>) -> Result<Vec<Responsibility>> {
        let rows = loaders(ctx).load_one(ResponsibilitiesOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows.into_iter().map(Responsibility).collect())
    }

    /// How to get there, step by step.
    async fn roadmap(&self, ctx: &Context<'_>) -> Result<Vec<RoadmapStep>> {
        let rows = loaders(ctx).load_one(RoadmapOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows.into_iter().map(RoadmapStep).collect())
    }

    /// Industries that employ people in this career.
    async fn industries(&self, ctx: &Context<'_>) -> Result<Vec<Industry>> {
        let rows = loaders(ctx).load_one(IndustriesOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows.into_iter().map(|(_, row)| Industry(row)).collect())
    }

    /// Benefits commonly offered in this career.
    async fn benefits(&self, ctx: &Context<'_>) -> Result<Vec<Benefit>> {
        let rows = loaders(ctx).load_one(BenefitsOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows.into_iter().map(|(_, row)| Benefit(row)).collect())
    }

    /// Other careers worth a look from this one.
    async fn related_career_paths(&self, ctx: &Context<'_>) -> Result<Vec<CareerPath>> {
        let rows = loaders(ctx).load_one(RelatedOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows.into_iter().map(|(_, row)| CareerPath(row)).collect())
    }

    /// What the career pays: the newest record covering all experience levels, industries and
    /// locations of `country` (ISO 3166-1 alpha-2), or of the first country on record.
    async fn salary(&self, ctx: &Context<'_>, country: Option<String>) -> Result<Option<SalarySummary>> {
        let records = loaders(ctx).load_one(SalariesOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(career_paths::headline_salary(&records, country.as_deref()).cloned().map(SalarySummary))
    }

    /// Every salary record of the career, by country, newest first. The summary fields are
    /// public; the detail fields require VIEWER.
    async fn salary_records(&self, ctx: &Context<'_>) -> Result<Vec<SalaryRecord>> {
        let records = loaders(ctx).load_one(SalariesOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(records.into_iter().map(SalaryRecord).collect())
    }

    /// Whether the path is a draft or published. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn status(&self) -> Option<PublicationStatus> {
        Some(self.0.status.into())
    }

    /// Notes for editors, never shown to readers. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn internal_notes(&self) -> Option<&str> {
        self.0.internal_notes.as_deref()
    }

    /// Every recorded change to the path, newest first. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn history(&self, ctx: &Context<'_>) -> Result<Option<Vec<super::editing::AuditEvent>>> {
        super::editing::history(ctx, "CareerPath", self.0.id).await
    }

    /// Who made the latest change through the API. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn updated_by(&self, ctx: &Context<'_>) -> Result<Option<super::account::User>> {
        super::editing::updated_by(ctx, "CareerPath", self.0.id).await
    }

    /// When the path was last published, if it is.
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }

    /// Incremented on every change; updates must name the version they saw.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// When the path was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the path last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One thing people in a career do at work.
pub struct Responsibility(pub responsibility::Model);

#[Object(directive = auth::apply(RoleValue::Anonymous))]
impl Responsibility {
    /// Stable identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Incremented on every change; updates must name the version they saw.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Every recorded change to the responsibility, newest first. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn history(&self, ctx: &Context<'_>) -> Result<Option<Vec<super::editing::AuditEvent>>> {
        super::editing::history(ctx, "Responsibility", self.0.id).await
    }

    /// Who made the latest change through the API. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn updated_by(&self, ctx: &Context<'_>) -> Result<Option<super::account::User>> {
        super::editing::updated_by(ctx, "Responsibility", self.0.id).await
    }

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

/// One step on the way into a career.
pub struct RoadmapStep(pub roadmap_step::Model);

#[Object(directive = auth::apply(RoleValue::Anonymous))]
impl RoadmapStep {
    /// Stable identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Incremented on every change; updates must name the version they saw.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Every recorded change to the roadmap step, newest first. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn history(&self, ctx: &Context<'_>) -> Result<Option<Vec<super::editing::AuditEvent>>> {
        super::editing::history(ctx, "RoadmapStep", self.0.id).await
    }

    /// Who made the latest change through the API. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn updated_by(&self, ctx: &Context<'_>) -> Result<Option<super::account::User>> {
        super::editing::updated_by(ctx, "RoadmapStep", self.0.id).await
    }

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
        Ok(rows.into_iter().map(LearningResource).collect())
    }

    /// The skills this step teaches.
    async fn skills(&self, ctx: &Context<'_>) -> Result<Vec<Skill>> {
        let rows = loaders(ctx).load_one(SkillsOfStep(self.0.id)).await.api()?.unwrap_or_default();
        Ok(rows.into_iter().map(|(_, row)| Skill(row)).collect())
    }
}

/// Where to learn what a roadmap step asks for.
pub struct LearningResource(pub learning_resource::Model);

#[Object(directive = auth::apply(RoleValue::Anonymous))]
impl LearningResource {
    /// Stable identifier.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Incremented on every change; updates must name the version they saw.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Every recorded change to the learning resource, newest first. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn history(&self, ctx: &Context<'_>) -> Result<Option<Vec<super::editing::AuditEvent>>> {
        super::editing::history(ctx, "LearningResource", self.0.id).await
    }

    /// Who made the latest change through the API. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn updated_by(&self, ctx: &Context<'_>) -> Result<Option<super::account::User>> {
        super::editing::updated_by(ctx, "LearningResource", self.0.id).await
    }

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

/// Sort direction.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// A to Z, oldest first.
    #[default]
    Asc,
    /// Z to A, newest first.
    Desc,
}

impl From<OrderDirection> for Direction {
    fn from(direction: OrderDirection) -> Self {
        match direction {
            OrderDirection::Asc => Direction::Asc,
            OrderDirection::Desc => Direction::Desc,
        }
    }
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

/// The request's loaders.
pub(super) fn loaders<'a>(ctx: &Context<'a>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}

/// The request's caller context.
pub(super) fn request<'a>(ctx: &Context<'a>) -> &'a RequestContext {
    ctx.data_unchecked::<RequestContext>()
}

/// The database.
pub(super) fn store<'a>(ctx: &Context<'a>) -> &'a Store {
    ctx.data_unchecked::<Store>()
}

/// Parses an `ID` argument as a UUID; an id that is not one cannot exist.
pub(super) fn parse_id(id: &ID) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(id.as_str()).ok()
}

/// Checks that exactly one of `slug` and `id` was given.
pub(super) fn one_key<'a>(slug: Option<&'a str>, id: Option<&'a ID>) -> Result<LookupKey<'a>> {
    match (slug, id) {
        (Some(slug), None) => Ok(LookupKey::Slug(slug)),
        (None, Some(id)) => Ok(LookupKey::Id(id)),
        _ => Err(bad_input("slug", "give exactly one of `slug` and `id`")),
    }
}

/// How a single object is looked up.
pub(super) enum LookupKey<'a> {
    /// By its slug.
    Slug(&'a str),
    /// By its id.
    Id(&'a ID),
}

/// Career path queries.
#[derive(Default)]
pub struct CareerPathQuery;

#[Object]
impl CareerPathQuery {
    /// One career path by `slug` or by `id` (give exactly one); null when there is none.
    #[graphql(directive = auth::apply(RoleValue::Anonymous))]
    async fn career_path(&self, ctx: &Context<'_>, slug: Option<String>, id: Option<ID>) -> Result<Option<CareerPath>> {
        let visibility = request(ctx).visibility;
        let found = match one_key(slug.as_deref(), id.as_ref())? {
            LookupKey::Slug(slug) => career_paths::by_slug(store(ctx).db(), visibility, slug).await.api()?,
            LookupKey::Id(id) => match parse_id(id) {
                Some(id) => career_paths::by_ids(store(ctx).db(), visibility, &[id]).await.api()?.pop(),
                None => None,
            },
        };
        Ok(found.map(CareerPath))
    }

    /// Career paths, a page at a time (at most 100 per page; 20 unless `first` says otherwise).
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity", directive = auth::apply(RoleValue::Anonymous))]
    async fn career_paths(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<CareerPathFilter>,
        order_by: Option<CareerPathOrder>,
    ) -> Result<Paged<CareerPath>> {
        let page = page_request(first, after.as_deref())?;
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
        let rows =
            career_paths::list(store(ctx).db(), request(ctx).visibility, &domain_filter, order, page).await.api()?;
        Ok(connection(page, rows, CareerPath))
    }
}
