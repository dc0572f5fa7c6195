//! Synthetic career paths for benchmarks and tests, never for the bundled dataset. Every row
//! is labelled: slugs start with `synthetic-`, titles say "(synthetic)", and the salary source
//! is "synthetic", so they can never be mistaken for facts.

pub mod release;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryOrder, TransactionTrait};
use uuid::Uuid;

use crate::entities::{
    career_path, career_path_skill, industry, learning_resource, roadmap_step, salary_record, skill, skill_technology,
    technology,
};
use crate::enums::{
    Demand, ExperienceLevel, Importance, PayPeriod, PublicationStatus, Recommendation, ResourceKind, SkillCategory,
    TechnologyKind,
};
use crate::{Db, Error, Result};

const LABEL: &str = "Synthetic data for benchmarks and tests.";

/// The rows of synthetic career paths, built up and then inserted together.
#[derive(Default)]
struct PathRows {
    paths: Vec<career_path::ActiveModel>,
    links: Vec<career_path_skill::ActiveModel>,
    steps: Vec<roadmap_step::ActiveModel>,
    resources: Vec<learning_resource::ActiveModel>,
    salaries: Vec<salary_record::ActiveModel>,
}

/// One synthetic salary record's figures.
struct Pay {
    average: i64,
    level: Option<ExperienceLevel>,
    industry_id: Option<Uuid>,
    sample_size: Option<i32>,
}

impl PathRows {
    /// Path number `n`, created at `at`, with two roadmap steps of one resource each; the ids
    /// of the steps and resources come from `ids`.
    fn path(
        &mut self,
        id: Uuid,
        slug: String,
        n: u32,
        status: PublicationStatus,
        at: DateTime<Utc>,
        mut ids: impl FnMut() -> Uuid,
    ) {
        self.paths.push(career_path::ActiveModel {
            id: Set(id),
            slug: Set(slug),
            title: Set(format!("Path {n:05} (synthetic)")),
            summary: Set(LABEL.into()),
            description: Set(LABEL.into()),
            outlook_demand: Set(Demand::Moderate),
            outlook_summary: Set("Synthetic.".into()),
            status: Set(status),
            internal_notes: Set(None),
            onet_soc_code: Set(None),
            job_zone: Set(None),
            published_at: Set((status == PublicationStatus::Published).then_some(at)),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        });
        for position in 0..2 {
            let step_id = ids();
            self.steps.push(roadmap_step::ActiveModel {
                id: Set(step_id),
                career_path_id: Set(id),
                position: Set(position),
                title: Set(format!("Step {position} (synthetic)")),
                description: Set("Synthetic.".into()),
                recommendation: Set(Recommendation::Optional),
                version: Set(1),
                created_at: Set(at),
                updated_at: Set(at),
            });
            self.resources.push(learning_resource::ActiveModel {
                id: Set(ids()),
                roadmap_step_id: Set(step_id),
                position: Set(0),
                name: Set("Synthetic resource".into()),
                kind: Set(ResourceKind::Article),
                url: Set(None),
                version: Set(1),
                created_at: Set(at),
                updated_at: Set(at),
            });
        }
    }

    /// The path needs `skill_id` at `position`.
    fn needs(&mut self, path_id: Uuid, skill_id: Uuid, importance: Importance, position: i32) {
        self.links.push(career_path_skill::ActiveModel {
            career_path_id: Set(path_id),
            skill_id: Set(skill_id),
            importance: Set(importance),
            position: Set(position),
            importance_score: Set(None),
            level_score: Set(None),
        });
    }

    /// A salary record of the path in the made-up country ZZ, paid in XXX ("no currency").
    fn salary(&mut self, id: Uuid, path_id: Uuid, pay: Pay, as_of: NaiveDate, at: DateTime<Utc>) {
        self.salaries.push(salary_record::ActiveModel {
            id: Set(id),
            career_path_id: Set(path_id),
            country: Set("ZZ".into()),
            currency: Set("XXX".into()),
            period: Set(PayPeriod::Year),
            experience_level: Set(pay.level),
            industry_id: Set(pay.industry_id),
            location: Set(None),
            average: Set(pay.average),
            minimum: Set(pay.average / 2),
            maximum: Set(pay.average * 3 / 2),
            percentile_10: Set(None),
            percentile_25: Set(None),
            median: Set(pay.sample_size.map(|_| pay.average)),
            percentile_75: Set(None),
            percentile_90: Set(None),
            sample_size: Set(pay.sample_size),
            employment: Set(None),
            source: Set("synthetic".into()),
            source_url: Set(None),
            as_of: Set(as_of),
            notes: Set(Some(LABEL.into())),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        });
    }

    /// Inserts everything, in chunks that stay under SQLite's limit on bound parameters.
    async fn insert(self, txn: &DatabaseTransaction) -> Result<()> {
        for chunk in self.paths.chunks(200) {
            career_path::Entity::insert_many(chunk.to_vec()).exec(txn).await?;
        }
        for chunk in self.links.chunks(500) {
            career_path_skill::Entity::insert_many(chunk.to_vec()).exec(txn).await?;
        }
        for chunk in self.steps.chunks(300) {
            roadmap_step::Entity::insert_many(chunk.to_vec()).exec(txn).await?;
        }
        for chunk in self.resources.chunks(300) {
            learning_resource::Entity::insert_many(chunk.to_vec()).exec(txn).await?;
        }
        for chunk in self.salaries.chunks(100) {
            salary_record::Entity::insert_many(chunk.to_vec()).exec(txn).await?;
        }
        Ok(())
    }
}

fn as_of() -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(2000, 1, 1).ok_or_else(|| Error::invalid("as_of", "is not a valid date"))
}

/// Inserts `count` synthetic paths with `status`, each needing the first three skills by slug,
/// with two roadmap steps (one resource each) and one salary record (naming an industry). Returns their slugs.
pub async fn insert_career_paths(db: &Db, count: usize, status: PublicationStatus) -> Result<Vec<String>> {
    let skills = skill::Entity::find().order_by_asc(skill::Column::Slug).all(db).await?;
    if skills.len() < 3 {
        return Err(Error::invalid("skills", "are too few: a synthetic path links at least three"));
    }
    // Salary records name an industry, so the records' industries are part of what is batched.
    let industry_id = industry::Entity::find().one(db).await?.map(|industry| industry.id);
    let (now, as_of) = (Utc::now(), as_of()?);
    let txn = db.begin().await?;
    let mut slugs = Vec::with_capacity(count);
    let mut rows = PathRows::default();
    for n in 0..count {
        let id = Uuid::now_v7();
        let slug = format!("synthetic-{n:05}-{}", id.simple());
        rows.path(id, slug.clone(), n as u32, status, now, Uuid::now_v7);
        for (position, skill) in (0..).zip(skills.iter().take(3)) {
            rows.needs(id, skill.id, Importance::Important, position);
        }
        let pay = Pay { average: 2, level: None, industry_id, sample_size: None };
        rows.salary(Uuid::now_v7(), id, pay, as_of, now);
        slugs.push(slug);
    }
    rows.insert(&txn).await?;
    txn.commit().await?;
    crate::after_bulk_load(db).await?;
    Ok(slugs)
}

/// Synthetic skills the benchmark dataset shares among its paths.
const BENCHMARK_SKILLS: u32 = 200;
/// Synthetic technologies; each skill uses three.
const BENCHMARK_TECHNOLOGIES: u32 = 300;
/// Skills per synthetic path.
const SKILLS_PER_PATH: u32 = 10;
/// Salary records per synthetic path.
const SALARIES_PER_PATH: u32 = 8;

/// What [`load_benchmark_data`] added.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Added {
    /// Career paths added.
    pub career_paths: usize,
    /// Skills and technologies added.
    pub skills_and_technologies: usize,
}

/// A fixed id for the `n`th synthetic row of `kind`, so two loads of the same size make the same
/// rows: `5359_4e54` spells "SYNT", and the kind and number fill the rest.
fn synthetic_id(kind: u16, n: u32) -> Uuid {
    Uuid::from_u128((0x5359_4e54_u128 << 96) | (u128::from(kind) << 80) | u128::from(n))
}

/// Loads the benchmark's synthetic dataset of `count` published career paths: each needs 10
/// skills (of 200 shared synthetic skills, in order), each skill names 3 technologies (of 300),
/// and each path has 8 salary records and 2 roadmap steps with a resource each. Deterministic:
/// the same `count` gives the same rows, ids and timestamps, and loading again adds only what is
/// missing (a larger `count` adds the paths beyond the existing ones). Every row is labelled as
/// [`insert_career_paths`]' are, and none touches the bundled dataset's rows.
pub async fn load_benchmark_data(db: &Db, count: u32) -> Result<Added> {
    use sea_orm::{ColumnTrait, QueryFilter};

    let epoch =
        DateTime::from_timestamp(1_700_000_000, 0).ok_or_else(|| Error::invalid("epoch", "is not a valid instant"))?;
    let at = |seconds: u32| epoch + chrono::Duration::seconds(i64::from(seconds));
    let as_of = as_of()?;
    let mut added = Added::default();
    let txn = db.begin().await?;

    let have_skills =
        skill::Entity::find().filter(skill::Column::Slug.starts_with("synthetic-skill-")).count(&txn).await?;
    if have_skills == 0 {
        let technologies: Vec<technology::ActiveModel> = (0..BENCHMARK_TECHNOLOGIES)
            .map(|n| technology::ActiveModel {
                id: Set(synthetic_id(1, n)),
                slug: Set(format!("synthetic-tech-{n:03}")),
                name: Set(format!("Technology {n:03} (synthetic)")),
                kind: Set(TechnologyKind::Tool),
                description: Set(Some(LABEL.into())),
                built_on_id: Set(None),
                version: Set(1),
                created_at: Set(at(n)),
                updated_at: Set(at(n)),
            })
            .collect();
        let skills: Vec<skill::ActiveModel> = (0..BENCHMARK_SKILLS)
            .map(|n| skill::ActiveModel {
                id: Set(synthetic_id(2, n)),
                slug: Set(format!("synthetic-skill-{n:03}")),
                name: Set(format!("Skill {n:03} (synthetic)")),
                category: Set(if n % 5 == 4 { SkillCategory::Soft } else { SkillCategory::Technical }),
                description: Set(LABEL.into()),
                version: Set(1),
                created_at: Set(at(n)),
                updated_at: Set(at(n)),
            })
            .collect();
        let uses: Vec<skill_technology::ActiveModel> = (0..BENCHMARK_SKILLS)
            .flat_map(|n| {
                (0..3).map(move |k| skill_technology::ActiveModel {
                    skill_id: Set(synthetic_id(2, n)),
                    technology_id: Set(synthetic_id(1, (n * 3 + k) % BENCHMARK_TECHNOLOGIES)),
                    position: Set(k as i32),
                })
            })
            .collect();
        added.skills_and_technologies = technologies.len() + skills.len();
        for chunk in technologies.chunks(200) {
            technology::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
        }
        for chunk in skills.chunks(200) {
            skill::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
        }
        for chunk in uses.chunks(500) {
            skill_technology::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
        }
    }

    let existing: std::collections::HashSet<String> = career_path::Entity::find()
        .filter(career_path::Column::Slug.starts_with("synthetic-path-"))
        .all(&txn)
        .await?
        .into_iter()
        .map(|path| path.slug)
        .collect();
    let mut rows = PathRows::default();
    let levels = [ExperienceLevel::Entry, ExperienceLevel::Mid, ExperienceLevel::Senior, ExperienceLevel::Lead];
    for n in (0..count).filter(|n| !existing.contains(&format!("synthetic-path-{n:05}"))) {
        let id = synthetic_id(3, n);
        let mut part = 0;
        let ids = || {
            part += 1;
            synthetic_id(4, n * 4 + part - 1)
        };
        rows.path(id, format!("synthetic-path-{n:05}"), n, PublicationStatus::Published, at(n), ids);
        for k in 0..SKILLS_PER_PATH {
            // 13 × k stays below 200 for k < 10, so a path's ten skills differ.
            let skill = synthetic_id(2, (n * 7 + k * 13) % BENCHMARK_SKILLS);
            let importance = [Importance::Essential, Importance::Important, Importance::NiceToHave][k as usize % 3];
            rows.needs(id, skill, importance, k as i32);
        }
        for k in 0..SALARIES_PER_PATH {
            let average = 50_000 + i64::from((n * 37 + k * 1_000) % 100_000);
            let pay = Pay {
                average,
                level: Some(levels[k as usize % levels.len()]),
                industry_id: None,
                sample_size: Some(10),
            };
            rows.salary(synthetic_id(6, n * SALARIES_PER_PATH + k), id, pay, as_of, at(n));
        }
    }
    added.career_paths = rows.paths.len();
    rows.insert(&txn).await?;
    txn.commit().await?;
    if added.career_paths + added.skills_and_technologies > 0 {
        crate::after_bulk_load(db).await?;
    }
    Ok(added)
}
