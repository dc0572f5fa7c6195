//! The bundled dataset (`data/backend-developer.toml`) and its loader.
//!
//! Loading is additive and idempotent: shared rows (technologies, skills, industries, benefits)
//! are matched by slug and inserted only when missing; a career path that already exists is left
//! exactly as it is, children and all. So a second load inserts nothing, and a load never
//! overwrites what editors have curated since.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, TransactionTrait,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::entities::{
    benefit, career_path, career_path_benefit, career_path_industry, career_path_skill, industry, learning_resource,
    responsibility, roadmap_step, roadmap_step_skill, salary_record, skill, skill_technology, technology,
};
use crate::enums::{
    Demand, ExperienceLevel, Importance, PayPeriod, PublicationStatus, Recommendation, ResourceKind, SkillCategory,
    TechnologyKind,
};
use crate::{Error, Result};

/// The bundled dataset's source text, compiled into the binary so the first run needs no files.
pub const BUNDLED: &str = include_str!("../data/backend-developer.toml");

/// The document every fact of the bundled dataset comes from, word for word, as the dataset's
/// header names it.
pub const SOURCE_DOCUMENT: &str = include_str!("../data/backend-developer.source.txt");

/// A whole dataset: shared vocabularies first, then the career paths that use them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    #[serde(default)]
    technologies: Vec<TechnologyData>,
    #[serde(default)]
    skills: Vec<SkillData>,
    #[serde(default)]
    industries: Vec<NamedData>,
    #[serde(default)]
    benefits: Vec<NamedData>,
    #[serde(default)]
    career_paths: Vec<CareerPathData>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TechnologyData {
    slug: String,
    name: String,
    kind: TechnologyKind,
    description: Option<String>,
    built_on: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SkillData {
    slug: String,
    name: String,
    category: SkillCategory,
    description: String,
    #[serde(default)]
    technologies: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedData {
    slug: String,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CareerPathData {
    slug: String,
    title: String,
    status: PublicationStatus,
    summary: String,
    description: String,
    outlook: OutlookData,
    #[serde(default)]
    industries: Vec<String>,
    #[serde(default)]
    benefits: Vec<String>,
    #[serde(default)]
    skills: Vec<PathSkillData>,
    #[serde(default)]
    responsibilities: Vec<ResponsibilityData>,
    #[serde(default)]
    roadmap: Vec<RoadmapStepData>,
    #[serde(default)]
    salaries: Vec<SalaryData>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutlookData {
    demand: Demand,
    summary: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathSkillData {
    skill: String,
    importance: Importance,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponsibilityData {
    title: String,
    description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoadmapStepData {
    title: String,
    description: String,
    recommendation: Recommendation,
    #[serde(default)]
    teaches: Vec<String>,
    #[serde(default)]
    resources: Vec<ResourceData>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceData {
    name: String,
    kind: ResourceKind,
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SalaryData {
    country: String,
    currency: String,
    period: PayPeriod,
    experience_level: Option<ExperienceLevel>,
    location: Option<String>,
    average: i64,
    minimum: i64,
    maximum: i64,
    source: String,
    source_url: Option<String>,
    as_of: NaiveDate,
    notes: Option<String>,
}

/// What one load inserted; all zero when everything was already there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Technologies inserted.
    pub technologies: usize,
    /// Skills inserted.
    pub skills: usize,
    /// Industries inserted.
    pub industries: usize,
    /// Benefits inserted.
    pub benefits: usize,
    /// Career paths inserted, each with everything under it.
    pub career_paths: usize,
}

impl LoadReport {
    /// Whether the load changed nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Dataset {
    /// Parses a dataset from its TOML text.
    pub fn parse(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|error| Error::Dataset(error.to_string()))
    }

    /// The dataset compiled into the binary.
    pub fn bundled() -> Result<Self> {
        Self::parse(BUNDLED)
    }
}

/// Whether the database holds no content at all (no career path, no skill): a fresh database
/// that `serve` fills with the bundled dataset.
pub async fn is_empty(db: &crate::Db) -> Result<bool> {
    let paths = career_path::Entity::find().count(db).await?;
    let skills = skill::Entity::find().count(db).await?;
    Ok(paths == 0 && skills == 0)
}

/// Loads the bundled dataset in one transaction.
pub async fn load_bundled(db: &crate::Db) -> Result<LoadReport> {
    load(db, &Dataset::bundled()?).await
}

/// Loads `dataset` in one transaction: all of it lands, or none.
#[tracing::instrument(skip_all)]
pub async fn load(db: &crate::Db, dataset: &Dataset) -> Result<LoadReport> {
    let txn = db.begin().await?;
    let now = Utc::now();
    let mut report = LoadReport::default();

    let mut technologies = slugs(technology::Entity::find().all(&txn).await?, |t| (t.slug, t.id));
    let added = ensure_by_slug(
        &txn,
        &mut technologies,
        &dataset.technologies,
        |data| &data.slug,
        |data, id| technology::ActiveModel {
            id: Set(id),
            slug: Set(data.slug.clone()),
            name: Set(data.name.clone()),
            kind: Set(data.kind),
            description: Set(data.description.clone()),
            built_on_id: Set(None),
            ..Default::default()
        },
    )
    .await?;
    report.technologies = added.len();
    // Second pass: a framework may be listed before the language it is built on.
    for data in added {
        if let Some(language) = &data.built_on {
            let mut row = technology::Entity::find_by_id(technologies[&data.slug])
                .one(&txn)
                .await?
                .ok_or_else(|| Error::Dataset(format!("technology {} vanished", data.slug)))?
                .into_active_model();
            row.built_on_id = Set(Some(lookup(&technologies, "technology", language)?));
            row.update(&txn).await?;
        }
    }

    let mut skills = slugs(skill::Entity::find().all(&txn).await?, |s| (s.slug, s.id));
    let added = ensure_by_slug(
        &txn,
        &mut skills,
        &dataset.skills,
        |data| &data.slug,
        |data, id| skill::ActiveModel {
            id: Set(id),
            slug: Set(data.slug.clone()),
            name: Set(data.name.clone()),
            category: Set(data.category),
            description: Set(data.description.clone()),
            ..Default::default()
        },
    )
    .await?;
    report.skills = added.len();
    for data in added {
        for (position, technology_slug) in (0..).zip(&data.technologies) {
            skill_technology::ActiveModel {
                skill_id: Set(skills[&data.slug]),
                technology_id: Set(lookup(&technologies, "technology", technology_slug)?),
                position: Set(position),
            }
            .insert(&txn)
            .await?;
        }
    }

    let mut industries = slugs(industry::Entity::find().all(&txn).await?, |i| (i.slug, i.id));
    report.industries = ensure_named(&txn, &mut industries, &dataset.industries, |id, slug, name| {
        industry::ActiveModel { id: Set(id), slug: Set(slug), name: Set(name), ..Default::default() }
    })
    .await?;

    let mut benefits = slugs(benefit::Entity::find().all(&txn).await?, |b| (b.slug, b.id));
    report.benefits = ensure_named(&txn, &mut benefits, &dataset.benefits, |id, slug, name| benefit::ActiveModel {
        id: Set(id),
        slug: Set(slug),
        name: Set(name),
        ..Default::default()
    })
    .await?;

    let existing_paths = slugs(career_path::Entity::find().all(&txn).await?, |p| (p.slug, p.id));
    let vocabularies = Vocabularies { skills: &skills, industries: &industries, benefits: &benefits };
    for data in &dataset.career_paths {
        if existing_paths.contains_key(&data.slug) {
            continue;
        }
        insert_career_path(&txn, data, &vocabularies, now).await?;
        report.career_paths += 1;
    }

    txn.commit().await?;
    if !report.is_empty() {
        crate::after_bulk_load(db).await?;
    }
    tracing::info!(?report, "dataset loaded");
    Ok(report)
}

struct Vocabularies<'a> {
    skills: &'a HashMap<String, Uuid>,
    industries: &'a HashMap<String, Uuid>,
    benefits: &'a HashMap<String, Uuid>,
}

async fn insert_career_path(
    txn: &impl ConnectionTrait,
    data: &CareerPathData,
    vocabularies: &Vocabularies<'_>,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    let path_id = Uuid::now_v7();
    career_path::ActiveModel {
        id: Set(path_id),
        slug: Set(data.slug.clone()),
        title: Set(data.title.clone()),
        summary: Set(data.summary.clone()),
        description: Set(data.description.clone()),
        outlook_demand: Set(data.outlook.demand),
        outlook_summary: Set(data.outlook.summary.clone()),
        status: Set(data.status),
        internal_notes: Set(None),
        onet_soc_code: Set(None),
        published_at: Set((data.status == PublicationStatus::Published).then_some(now)),
        ..Default::default()
    }
    .insert(txn)
    .await?;

    for (position, link) in (0..).zip(&data.skills) {
        career_path_skill::ActiveModel {
            career_path_id: Set(path_id),
            skill_id: Set(lookup(vocabularies.skills, "skill", &link.skill)?),
            importance: Set(link.importance),
            position: Set(position),
            importance_score: Set(None),
            level_score: Set(None),
        }
        .insert(txn)
        .await?;
    }
    link_in_order(txn, &data.industries, vocabularies.industries, "industry", |industry_id, position| {
        career_path_industry::ActiveModel {
            career_path_id: Set(path_id),
            industry_id: Set(industry_id),
            position: Set(position),
        }
    })
    .await?;
    link_in_order(txn, &data.benefits, vocabularies.benefits, "benefit", |benefit_id, position| {
        career_path_benefit::ActiveModel {
            career_path_id: Set(path_id),
            benefit_id: Set(benefit_id),
            position: Set(position),
        }
    })
    .await?;
    for (position, item) in (0..).zip(&data.responsibilities) {
        responsibility::ActiveModel {
            career_path_id: Set(path_id),
            position: Set(position),
            title: Set(item.title.clone()),
            description: Set(item.description.clone()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    for (position, step) in (0..).zip(&data.roadmap) {
        let step_id = Uuid::now_v7();
        roadmap_step::ActiveModel {
            id: Set(step_id),
            career_path_id: Set(path_id),
            position: Set(position),
            title: Set(step.title.clone()),
            description: Set(step.description.clone()),
            recommendation: Set(step.recommendation),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        link_in_order(txn, &step.teaches, vocabularies.skills, "skill", |skill_id, position| {
            roadmap_step_skill::ActiveModel {
                roadmap_step_id: Set(step_id),
                skill_id: Set(skill_id),
                position: Set(position),
            }
        })
        .await?;
        for (position, resource) in (0..).zip(&step.resources) {
            learning_resource::ActiveModel {
                roadmap_step_id: Set(step_id),
                position: Set(position),
                name: Set(resource.name.clone()),
                kind: Set(resource.kind),
                url: Set(resource.url.clone()),
                ..Default::default()
            }
            .insert(txn)
            .await?;
        }
    }
    for salary in &data.salaries {
        salary_record::ActiveModel {
            career_path_id: Set(path_id),
            country: Set(salary.country.clone()),
            currency: Set(salary.currency.clone()),
            period: Set(salary.period),
            experience_level: Set(salary.experience_level),
            industry_id: Set(None),
            location: Set(salary.location.clone()),
            average: Set(salary.average),
            minimum: Set(salary.minimum),
            maximum: Set(salary.maximum),
            percentile_10: Set(None),
            percentile_25: Set(None),
            median: Set(None),
            percentile_75: Set(None),
            percentile_90: Set(None),
            sample_size: Set(None),
            source: Set(salary.source.clone()),
            source_url: Set(salary.source_url.clone()),
            as_of: Set(salary.as_of),
            notes: Set(salary.notes.clone()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// Inserts each of `items` whose slug `ids` does not know yet, as the row `row` builds for it
/// with a fresh id, and records that id in `ids`. Returns the items it inserted.
async fn ensure_by_slug<'a, T, A>(
    txn: &impl ConnectionTrait,
    ids: &mut HashMap<String, Uuid>,
    items: &'a [T],
    slug: impl Fn(&T) -> &String,
    row: impl Fn(&T, Uuid) -> A,
) -> Result<Vec<&'a T>>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let mut added = Vec::new();
    for item in items {
        if ids.contains_key(slug(item)) {
            continue;
        }
        let id = Uuid::now_v7();
        row(item, id).insert(txn).await?;
        ids.insert(slug(item).clone(), id);
        added.push(item);
    }
    Ok(added)
}

fn slugs<M>(rows: Vec<M>, key: impl Fn(M) -> (String, Uuid)) -> HashMap<String, Uuid> {
    rows.into_iter().map(key).collect()
}

/// [`ensure_by_slug`] for a vocabulary of names (industries, benefits): `row` builds a row from
/// its id, slug and name. Returns how many it inserted.
async fn ensure_named<A>(
    txn: &impl ConnectionTrait,
    ids: &mut HashMap<String, Uuid>,
    items: &[NamedData],
    row: impl Fn(Uuid, String, String) -> A,
) -> Result<usize>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let inserted =
        ensure_by_slug(txn, ids, items, |data| &data.slug, |data, id| row(id, data.slug.clone(), data.name.clone()))
            .await?;
    Ok(inserted.len())
}

/// Links a row to each of `slugs`, in order: `link` builds the link row from the id `ids` gives
/// the slug and the link's position. A slug `ids` lacks stops the load with an error that names
/// its vocabulary, `what`.
async fn link_in_order<A>(
    txn: &impl ConnectionTrait,
    slugs: &[String],
    ids: &HashMap<String, Uuid>,
    what: &str,
    link: impl Fn(Uuid, i32) -> A,
) -> Result<()>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    for (position, slug) in (0..).zip(slugs) {
        link(lookup(ids, what, slug)?, position).insert(txn).await?;
    }
    Ok(())
}

fn lookup(ids: &HashMap<String, Uuid>, what: &str, slug: &str) -> Result<Uuid> {
    ids.get(slug).copied().ok_or_else(|| Error::Dataset(format!("unknown {what} {slug:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_dataset_parses_with_every_fact_of_the_seed() -> Result<()> {
        let dataset = Dataset::bundled()?;
        assert_eq!(dataset.skills.len(), 9);
        assert_eq!(dataset.industries.len(), 4);
        assert_eq!(dataset.benefits.len(), 4);
        let path = &dataset.career_paths[0];
        assert_eq!(path.slug, "backend-developer");
        assert_eq!(path.responsibilities.len(), 8);
        assert_eq!(path.roadmap.len(), 9);
        let salary = &path.salaries[0];
        assert_eq!((salary.average, salary.minimum, salary.maximum), (93_000, 65_000, 130_000));
        assert_eq!((salary.currency.as_str(), salary.source.as_str()), ("USD", "Glassdoor"));
        assert_eq!(salary.as_of, NaiveDate::from_ymd_opt(2023, 3, 1).ok_or_else(|| Error::Dataset("date".into()))?);
        Ok(())
    }

    #[test]
    fn the_source_document_beside_the_dataset_states_its_facts() {
        // The header names the document kept beside it; the figures the dataset takes from it
        // must be in it, word for word.
        assert!(BUNDLED.lines().take(10).any(|line| line.contains("backend-developer.source.txt")));
        for fact in ["What is a backend developer?", "as of March 2023", "$93,000", "$65,000", "$130,000", "Glassdoor"]
        {
            assert!(SOURCE_DOCUMENT.contains(fact), "the source document lacks {fact:?}");
        }
        // Generic resources ("Developer communities") paraphrase the source; named platforms
        // must be spelt as it spells them.
        let dataset = Dataset::bundled().ok();
        let path = dataset.as_ref().and_then(|dataset| dataset.career_paths.first());
        let steps = path.map(|path| path.roadmap.as_slice()).unwrap_or_default();
        let platforms: Vec<&str> = steps
            .iter()
            .flat_map(|step| &step.resources)
            .filter(|resource| resource.kind == ResourceKind::CoursePlatform)
            .map(|resource| resource.name.as_str())
            .collect();
        assert_eq!(platforms, ["Codecademy", "Udemy", "Coursera"]);
        for platform in platforms {
            assert!(SOURCE_DOCUMENT.contains(platform), "{platform} is not in the source");
        }
    }

    #[test]
    fn every_slug_the_dataset_references_is_defined() -> Result<()> {
        let dataset = Dataset::bundled()?;
        let defined = |slugs: Vec<&String>, wanted: &String| slugs.contains(&wanted);
        let technologies: Vec<_> = dataset.technologies.iter().map(|t| &t.slug).collect();
        let skills: Vec<_> = dataset.skills.iter().map(|s| &s.slug).collect();
        for skill in &dataset.skills {
            for slug in &skill.technologies {
                assert!(defined(technologies.clone(), slug), "skill {} uses unknown {slug}", skill.slug);
            }
        }
        for technology in &dataset.technologies {
            if let Some(slug) = &technology.built_on {
                assert!(defined(technologies.clone(), slug), "{} built on unknown {slug}", technology.slug);
            }
        }
        for path in &dataset.career_paths {
            for link in &path.skills {
                assert!(defined(skills.clone(), &link.skill), "unknown skill {}", link.skill);
            }
            for step in &path.roadmap {
                for slug in &step.teaches {
                    assert!(defined(skills.clone(), slug), "step {} teaches unknown {slug}", step.title);
                }
            }
        }
        Ok(())
    }

    #[test]
    fn a_dataset_with_an_unknown_field_is_refused() {
        let error = Dataset::parse(
            "[[skills]]\nslug = \"x\"\nname = \"X\"\ncategory = \"SOFT\"\ndescription = \"d\"\ncolour = 1\n",
        );
        assert!(matches!(error, Err(Error::Dataset(message)) if message.contains("colour")));
    }
}
