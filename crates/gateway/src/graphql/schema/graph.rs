//! The objects of the career graph that lead to each other: a career path needs skills and
//! technologies, and a skill or technology leads back to the careers that need it. They are one
//! module because they name each other; the areas' queries and mutations name them from above.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, Object, Result, SimpleObject};
use careergraph_auth::Role;
use careergraph_domain::audit::EntityKind;
use careergraph_domain::entities::{career_path, career_path_skill, roadmap_step, skill, technology};
use careergraph_domain::enums;
use careergraph_domain::projection::Columns;
use careergraph_domain::queries::career_paths;

use super::accounts::User;
use super::audit::{self, AuditEvent, editable_object};
use super::entries::{Benefit, Industry, LearningResource, Responsibility};
use super::open_data::{DataSource, JobZone};
use super::salaries::{SalaryRecord, SalarySummary};
use super::scalars::{DateTime, Json};
use crate::graphql::plumbing::context::{loaders, related, request, store};
use crate::graphql::plumbing::error::ApiResult;
use crate::graphql::plumbing::inline::{Inline, Objects};
use crate::graphql::plumbing::loaders::{
    BenefitsOfPath, IndustriesOfPath, JobZoneByNumber, One, PathsOfSkill, RelatedOfPath, RelatedSkillsOf,
    ResourcesOfStep, ResponsibilitiesOfPath, RoadmapOfPath, SalariesOfPath, SkillsOfPath, SkillsOfStep,
    SkillsOfTechnology, SourcesOfPath, TechnologiesOfSkill, TechnologyById, TechnologyUsesOfPath,
};
use crate::graphql::plumbing::policy::auth;
use crate::graphql::plumbing::projection::{asked, asked_under, projection};

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

/// Whether a skill is technical or interpersonal.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::SkillCategory")]
pub enum SkillCategory {
    /// Knowledge of tools, languages and techniques.
    Technical,
    /// Working with people: collaboration, communication, problem-solving.
    Soft,
    /// Knowledge of a field, as O*NET's knowledge areas (Mathematics, Computers and Electronics).
    Knowledge,
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

/// A capability careers ask for.
pub struct Skill(pub Arc<skill::Model>);

impl From<skill::Model> for Skill {
    fn from(row: skill::Model) -> Self {
        Self(Arc::new(row))
    }
}

impl From<Arc<skill::Model>> for Skill {
    fn from(row: Arc<skill::Model>) -> Self {
        Self(row)
    }
}

// Written out rather than with `editable_object!`, whose first four fields it repeats: the
// complexity of `relatedSkills` names `child_complexity`, which `#[Object]` declares with the
// hygiene of the tokens it is written in, and inside the macro those are not the field's.
#[Object(serial, directive = auth::apply(Role::Anonymous))]
impl Skill {
    /// Stable identifier.
    pub async fn id(&self) -> async_graphql::ID {
        async_graphql::ID(self.0.id.to_string())
    }

    /// Incremented on every change; updates must name the version they saw.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Every recorded change to this object, newest first. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn history(&self, ctx: &Context<'_>) -> Result<Option<Vec<AuditEvent>>> {
        audit::history(ctx, EntityKind::Skill, self.0.id).await
    }

    /// Who made the latest change through the API. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn updated_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        audit::updated_by(ctx, EntityKind::Skill, self.0.id).await
    }

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
    async fn technologies(&self, ctx: &Context<'_>) -> Result<Objects<Technology>> {
        related(ctx, TechnologiesOfSkill(self.0.id, asked::<Technology>(ctx))).await
    }

    /// Careers that need this skill, with how much, by title.
    async fn career_paths(&self, ctx: &Context<'_>) -> Result<Objects<SkillUse>> {
        let key = PathsOfSkill(self.0.id, asked_under::<CareerPath>(ctx, &["careerPath"]));
        let rows = loaders(ctx).load_one(key).await.api()?.unwrap_or_default();
        Ok(rows
            .iter()
            .map(|(link, path)| SkillUse { importance: link.importance.into(), career_path: Arc::clone(path) })
            .collect())
    }

    /// Skills that go with this one, strongest first: how strongly is Σ over the careers
    /// listing both of the smaller of the two importance scores (0–100). At most 50.
    #[graphql(complexity = "first.unwrap_or(10).clamp(1, 50) as usize * child_complexity")]
    async fn related_skills(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: Option<i32>,
    ) -> Result<Objects<RelatedSkill>> {
        let size = careergraph_domain::graph::page_size(first).api()?;
        let rows = loaders(ctx).load_one(RelatedSkillsOf(self.0.id, size)).await.api()?.unwrap_or_default();
        Ok(rows
            .iter()
            .map(|(skill, strength)| RelatedSkill { skill: Arc::clone(skill), strength: *strength })
            .collect())
    }
}

/// A skill that goes with another, and how strongly.
pub struct RelatedSkill {
    skill: Arc<skill::Model>,
    strength: f64,
}

#[Object(directive = auth::apply(Role::Anonymous))]
impl RelatedSkill {
    /// The skill.
    async fn skill(&self) -> Inline<Skill> {
        Inline(Skill(Arc::clone(&self.skill)))
    }

    /// Σ over the careers listing both skills of the smaller of their importance scores.
    async fn strength(&self) -> f64 {
        self.strength
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
    async fn career_path(&self) -> Inline<CareerPath> {
        Inline(CareerPath(Arc::clone(&self.career_path)))
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
        let key = TechnologyById(id, asked::<Technology>(ctx));
        let row: Option<One<technology::Model>> = loaders(ctx).load_one(key).await.api()?;
        Ok(row.map(|One(row)| Technology(row)))
    }

    /// Skills practised through this technology.
    async fn skills(&self, ctx: &Context<'_>) -> Result<Objects<Skill>> {
        related(ctx, SkillsOfTechnology(self.0.id, asked::<Skill>(ctx))).await
    }
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
    /// How important the skill is to the career on O*NET's 0–100 standard scale, for imported
    /// careers; null for curated ones.
    pub importance_score: Option<i32>,
    /// The level of the skill the career needs on O*NET's 0–100 standard scale, for imported
    /// careers; null for curated ones or where O*NET suppressed the rating.
    pub level_score: Option<i32>,
    #[graphql(skip)]
    pub skill_model: Arc<careergraph_domain::entities::skill::Model>,
}

#[ComplexObject]
impl CareerPathSkill {
    /// The skill.
    async fn skill(&self) -> Inline<Skill> {
        Inline(Skill(Arc::clone(&self.skill_model)))
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
    async fn skills(&self, ctx: &Context<'_>, importance: Option<Importance>) -> Result<Objects<CareerPathSkill>> {
        // The importance filters, so it is read when the argument is given.
        let link = asked::<CareerPathSkill>(ctx);
        let link = if importance.is_some() { link.with(career_path_skill::Column::Importance) } else { link };
        let key = SkillsOfPath(self.0.id, (link, asked_under::<Skill>(ctx, &["skill"])));
        let rows = loaders(ctx).load_one(key).await.api()?.unwrap_or_default();
        Ok(rows
            .iter()
            .filter(|(link, _)| importance.is_none_or(|wanted| enums::Importance::from(wanted) == link.importance))
            .map(|(link, skill)| CareerPathSkill {
                importance: link.importance.into(),
                position: link.position,
                importance_score: link.importance_score,
                level_score: link.level_score,
                skill_model: Arc::clone(skill),
            })
            .collect())
    }

    /// Every technology the career uses, each once: those it uses directly (see
    /// `technologySkills`), then those its skills use, in skill order.
    async fn technologies(&self, ctx: &Context<'_>) -> Result<Objects<Technology>> {
        // Only the skills' ids: what the technologies are found by.
        let skills = loaders(ctx).load_one(SkillsOfPath(self.0.id, (Columns::none(), Columns::none()))).await.api()?.unwrap_or_default();
        // Each technology is told apart by its id.
        let columns = asked::<Technology>(ctx).with(technology::Column::Id);
        let direct = loaders(ctx).load_one(TechnologyUsesOfPath(self.0.id, columns)).await.api()?.unwrap_or_default();
        let keys: Vec<_> = skills.iter().map(|(_, skill)| TechnologiesOfSkill(skill.id, columns)).collect();
        let mut by_skill = loaders(ctx).load_many(keys.iter().copied()).await.api()?;
        let mut seen = std::collections::HashSet::new();
        let mut technologies = Vec::new();
        for (_, technology) in direct.iter() {
            if seen.insert(technology.id) {
                technologies.push(Technology::from(Arc::clone(technology)));
            }
        }
        for key in keys {
            for technology in by_skill.remove(&key).unwrap_or_default().iter() {
                if seen.insert(technology.id) {
                    technologies.push(Technology::from(Arc::clone(technology)));
                }
            }
        }
        Ok(Objects(technologies))
    }

    /// The software and technologies people in this career use at work (O*NET's technology
    /// skills), grouped by commodity; empty for curated careers, whose technologies come with
    /// their skills.
    async fn technology_skills(&self, ctx: &Context<'_>) -> Result<Objects<CareerPathTechnology>> {
        let key = TechnologyUsesOfPath(self.0.id, asked_under::<Technology>(ctx, &["technology"]));
        let rows = loaders(ctx).load_one(key).await.api()?.unwrap_or_default();
        Ok(rows
            .iter()
            .map(|(link, technology)| CareerPathTechnology { link: link.clone(), technology: Arc::clone(technology) })
            .collect())
    }

    /// How much preparation the career needs (O*NET's job zone), when known.
    async fn job_zone(&self, ctx: &Context<'_>) -> Result<Option<JobZone>> {
        let Some(zone) = self.0.job_zone else { return Ok(None) };
        Ok(loaders(ctx).load_one(JobZoneByNumber(zone)).await.api()?.map(JobZone))
    }

    /// The open datasets this career's content was imported from, with the attribution each
    /// asks for; empty for curated careers.
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<DataSource>> {
        let sources = loaders(ctx).load_one(SourcesOfPath(self.0.id)).await.api()?.unwrap_or_default();
        Ok(sources.iter().map(|source| DataSource(Arc::clone(source))).collect())
    }

    /// This career as a schema.org `Occupation` in JSON-LD, with the salaries of `country` (ISO
    /// 3166-1 alpha-2), as `GET /careers/{slug}.jsonld` serves it: open-data wage percentiles
    /// for everyone, a curated record's percentiles only for VIEWER and above.
    async fn json_ld(&self, ctx: &Context<'_>, #[graphql(default = "US")] country: String) -> Result<Json> {
        let db = store(ctx).db();
        let path = career_paths::by_ids(db, request(ctx).visibility, &[self.0.id], Columns::all()).await.api()?.pop();
        let Some(path) = path else { return Ok(Json(serde_json::Value::Null)) };
        let detail = request(ctx).principal().role.satisfies(Role::Viewer);
        Ok(Json(careergraph_domain::jsonld::occupation(db, &path, &country, detail).await.api()?))
    }

    /// What people in this career do, in order.
    async fn responsibilities(&self, ctx: &Context<'_>) -> Result<Objects<Responsibility>> {
        related(ctx, ResponsibilitiesOfPath(self.0.id, asked::<Responsibility>(ctx))).await
    }

    /// How to get there, step by step.
    async fn roadmap(&self, ctx: &Context<'_>) -> Result<Objects<RoadmapStep>> {
        related(ctx, RoadmapOfPath(self.0.id, asked::<RoadmapStep>(ctx))).await
    }

    /// Industries that employ people in this career.
    async fn industries(&self, ctx: &Context<'_>) -> Result<Objects<Industry>> {
        related(ctx, IndustriesOfPath(self.0.id, asked::<Industry>(ctx))).await
    }

    /// Benefits commonly offered in this career.
    async fn benefits(&self, ctx: &Context<'_>) -> Result<Objects<Benefit>> {
        related(ctx, BenefitsOfPath(self.0.id, asked::<Benefit>(ctx))).await
    }

    /// Other careers worth a look from this one.
    async fn related_career_paths(&self, ctx: &Context<'_>) -> Result<Objects<CareerPath>> {
        related(ctx, RelatedOfPath(self.0.id, asked::<CareerPath>(ctx))).await
    }

    /// What the career pays: the newest record covering all experience levels, industries and
    /// locations of `country` (ISO 3166-1 alpha-2), or of the first country on record.
    async fn salary(&self, ctx: &Context<'_>, country: Option<String>) -> Result<Option<SalarySummary>> {
        let columns = asked::<SalarySummary>(ctx).union(career_paths::headline_salary_columns());
        let records = loaders(ctx).load_one(SalariesOfPath(self.0.id, columns)).await.api()?.unwrap_or_default();
        Ok(career_paths::headline_salary(records.iter().map(|record| &**record), country.as_deref())
            .map(|record| SalarySummary(record.clone())))
    }

    /// Every salary record of the career, by country, newest first. The summary fields are
    /// public; the detail fields require VIEWER.
    async fn salary_records(&self, ctx: &Context<'_>) -> Result<Objects<SalaryRecord>> {
        let key = SalariesOfPath(self.0.id, asked::<SalaryRecord>(ctx));
        let records = loaders(ctx).load_one(key).await.api()?.unwrap_or_default();
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

/// A technology as one career path uses it at work (O*NET's technology skills).
pub struct CareerPathTechnology {
    link: careergraph_domain::entities::career_path_technology::Model,
    technology: Arc<technology::Model>,
}

#[Object(serial, directive = auth::apply(Role::Anonymous))]
impl CareerPathTechnology {
    /// The technology.
    async fn technology(&self) -> Inline<Technology> {
        Inline(Technology(Arc::clone(&self.technology)))
    }

    /// The UNSPSC commodity code of its kind of software, e.g. 43232405.
    async fn commodity_code(&self) -> Option<i32> {
        self.link.commodity_code
    }

    /// The kind of software, e.g. "Object or component oriented development software".
    async fn commodity_title(&self) -> Option<&str> {
        self.link.commodity_title.as_deref()
    }

    /// Whether employers ask for it often in job postings (O*NET's hot technology).
    async fn hot(&self) -> bool {
        self.link.hot
    }

    /// Whether O*NET marks it as in demand for this occupation.
    async fn in_demand(&self) -> bool {
        self.link.in_demand
    }

    /// Place in the career's list, from 0 (by commodity, then name).
    async fn position(&self) -> i32 {
        self.link.position
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
    async fn resources(&self, ctx: &Context<'_>) -> Result<Objects<LearningResource>> {
        related(ctx, ResourcesOfStep(self.0.id, asked::<LearningResource>(ctx))).await
    }

    /// The skills this step teaches.
    async fn skills(&self, ctx: &Context<'_>) -> Result<Objects<Skill>> {
        related(ctx, SkillsOfStep(self.0.id, asked::<Skill>(ctx))).await
    }
}

projection!(CareerPathSkill => career_path_skill {
    "importance" => [Importance], "position" => [Position], "importanceScore" => [ImportanceScore],
    "levelScore" => [LevelScore], "skill" => [],
});

projection!(Skill => skill {
    "id" => [], "version" => [Version], "history" => [], "updatedBy" => [],
    "slug" => [Slug], "name" => [Name], "category" => [Category], "description" => [Description],
    "technologies" => [], "careerPaths" => [], "relatedSkills" => [],
});

// A skill's technologies are read without their ids unless a field asks (every other read
// selects the id anyway), so each field that needs a technology's id names it.
projection!(Technology => technology {
    "id" => [Id], "version" => [Version], "history" => [Id], "updatedBy" => [Id],
    "slug" => [Slug], "name" => [Name], "kind" => [Kind], "description" => [Description],
    "builtOn" => [BuiltOnId], "skills" => [Id],
});

projection!(CareerPath => career_path {
    "id" => [], "version" => [Version], "history" => [], "updatedBy" => [],
    "slug" => [Slug], "title" => [Title], "summary" => [Summary], "description" => [Description],
    "outlook" => [OutlookDemand, OutlookSummary], "onetSocCode" => [OnetSocCode], "jobZone" => [JobZone],
    "technologySkills" => [], "sources" => [], "jsonLd" => [],
    "skills" => [], "technologies" => [], "responsibilities" => [], "roadmap" => [], "industries" => [],
    "benefits" => [], "relatedCareerPaths" => [], "salary" => [], "salaryRecords" => [],
    "status" => [Status], "internalNotes" => [InternalNotes], "publishedAt" => [PublishedAt],
    "createdAt" => [CreatedAt], "updatedAt" => [UpdatedAt],
});

projection!(RoadmapStep => roadmap_step {
    "id" => [], "version" => [Version], "history" => [], "updatedBy" => [],
    "position" => [Position], "title" => [Title], "description" => [Description],
    "recommendation" => [Recommendation], "resources" => [], "skills" => [],
});
