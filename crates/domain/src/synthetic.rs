//! Synthetic career paths for benchmarks and tests, never for the bundled dataset. Every row
//! is labelled: slugs start with `synthetic-`, titles say "(synthetic)", and the salary source
//! is "synthetic", so they can never be mistaken for facts.

use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait, PaginatorTrait, QueryOrder, TransactionTrait};
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

/// Inserts `count` synthetic paths with `status`, each needing the first three skills by slug,
/// with two roadmap steps (one resource each) and one salary record (naming an industry). Returns their slugs.
pub async fn insert_career_paths(db: &Db, count: usize, status: PublicationStatus) -> Result<Vec<String>> {
    let skills = skill::Entity::find().order_by_asc(skill::Column::Slug).all(db).await?;
    if skills.len() < 3 {
        return Err(Error::invalid("skills", "synthetic paths need at least three skills to link"));
    }
    // Salary records name an industry, so the records' industries are part of what is batched.
    let industry_id = industry::Entity::find().one(db).await?.map(|industry| industry.id);
    let now = Utc::now();
    let as_of = NaiveDate::from_ymd_opt(2000, 1, 1).ok_or_else(|| Error::invalid("as_of", "bad date"))?;
    let txn = db.begin().await?;
    let mut slugs = Vec::with_capacity(count);
    let (mut paths, mut links, mut steps, mut resources, mut salaries) = (vec![], vec![], vec![], vec![], vec![]);
    for n in 0..count {
        let id = Uuid::now_v7();
        let slug = format!("synthetic-{n:05}-{}", id.simple());
        paths.push(career_path::ActiveModel {
            id: Set(id),
            slug: Set(slug.clone()),
            title: Set(format!("Path {n:05} (synthetic)")),
            summary: Set("Synthetic data for benchmarks and tests.".into()),
            description: Set("Synthetic data for benchmarks and tests.".into()),
            outlook_demand: Set(Demand::Moderate),
            outlook_summary: Set("Synthetic.".into()),
            status: Set(status),
            internal_notes: Set(None),
            onet_soc_code: Set(None),
            published_at: Set((status == PublicationStatus::Published).then_some(now)),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        });
        for (position, skill) in (0..).zip(skills.iter().take(3)) {
            links.push(career_path_skill::ActiveModel {
                career_path_id: Set(id),
                skill_id: Set(skill.id),
                importance: Set(Importance::Important),
                position: Set(position),
            });
        }
        for position in 0..2 {
            let step_id = Uuid::now_v7();
            steps.push(roadmap_step::ActiveModel {
                id: Set(step_id),
                career_path_id: Set(id),
                position: Set(position),
                title: Set(format!("Step {position} (synthetic)")),
                description: Set("Synthetic.".into()),
                recommendation: Set(Recommendation::Optional),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            });
            resources.push(learning_resource::ActiveModel {
                id: Set(Uuid::now_v7()),
                roadmap_step_id: Set(step_id),
                position: Set(0),
                name: Set("Synthetic resource".into()),
                kind: Set(ResourceKind::Article),
                url: Set(None),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
        salaries.push(salary_record::ActiveModel {
            id: Set(Uuid::now_v7()),
            career_path_id: Set(id),
            country: Set("ZZ".into()),
            currency: Set("XXX".into()),
            period: Set(PayPeriod::Year),
            experience_level: Set(None),
            industry_id: Set(industry_id),
            location: Set(None),
            average: Set(2),
            minimum: Set(1),
            maximum: Set(3),
            percentile_10: Set(None),
            percentile_25: Set(None),
            median: Set(None),
            percentile_75: Set(None),
            percentile_90: Set(None),
            sample_size: Set(None),
            source: Set("synthetic".into()),
            source_url: Set(None),
            as_of: Set(as_of),
            notes: Set(Some("Synthetic data for benchmarks and tests.".into())),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        });
        slugs.push(slug);
    }
    // In chunks, to stay under SQLite's limit on bound parameters per statement.
    for chunk in paths.chunks(200) {
        career_path::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    for chunk in links.chunks(500) {
        career_path_skill::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    for chunk in steps.chunks(300) {
        roadmap_step::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    for chunk in resources.chunks(300) {
        learning_resource::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    for chunk in salaries.chunks(100) {
        salary_record::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    txn.commit().await?;
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

    let epoch = chrono::DateTime::from_timestamp(1_700_000_000, 0).ok_or_else(|| Error::invalid("epoch", "bad"))?;
    let at = |seconds: u32| epoch + chrono::Duration::seconds(i64::from(seconds));
    let as_of = NaiveDate::from_ymd_opt(2000, 1, 1).ok_or_else(|| Error::invalid("as_of", "bad date"))?;
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
                description: Set(Some("Synthetic data for benchmarks and tests.".into())),
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
                description: Set("Synthetic data for benchmarks and tests.".into()),
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
    let (mut paths, mut links, mut steps, mut resources, mut salaries) = (vec![], vec![], vec![], vec![], vec![]);
    for n in (0..count).filter(|n| !existing.contains(&format!("synthetic-path-{n:05}"))) {
        let id = synthetic_id(3, n);
        paths.push(career_path::ActiveModel {
            id: Set(id),
            slug: Set(format!("synthetic-path-{n:05}")),
            title: Set(format!("Path {n:05} (synthetic)")),
            summary: Set("Synthetic data for benchmarks and tests.".into()),
            description: Set("Synthetic data for benchmarks and tests.".into()),
            outlook_demand: Set(Demand::Moderate),
            outlook_summary: Set("Synthetic.".into()),
            status: Set(PublicationStatus::Published),
            internal_notes: Set(None),
            onet_soc_code: Set(None),
            published_at: Set(Some(at(n))),
            version: Set(1),
            created_at: Set(at(n)),
            updated_at: Set(at(n)),
        });
        for k in 0..SKILLS_PER_PATH {
            links.push(career_path_skill::ActiveModel {
                career_path_id: Set(id),
                // 13 × k stays below 200 for k < 10, so a path's ten skills differ.
                skill_id: Set(synthetic_id(2, (n * 7 + k * 13) % BENCHMARK_SKILLS)),
                importance: Set([Importance::Essential, Importance::Important, Importance::NiceToHave][k as usize % 3]),
                position: Set(k as i32),
            });
        }
        for position in 0..2u32 {
            let step_id = synthetic_id(4, n * 2 + position);
            steps.push(roadmap_step::ActiveModel {
                id: Set(step_id),
                career_path_id: Set(id),
                position: Set(position as i32),
                title: Set(format!("Step {position} (synthetic)")),
                description: Set("Synthetic.".into()),
                recommendation: Set(Recommendation::Optional),
                version: Set(1),
                created_at: Set(at(n)),
                updated_at: Set(at(n)),
            });
            resources.push(learning_resource::ActiveModel {
                id: Set(synthetic_id(5, n * 2 + position)),
                roadmap_step_id: Set(step_id),
                position: Set(0),
                name: Set("Synthetic resource".into()),
                kind: Set(ResourceKind::Article),
                url: Set(None),
                version: Set(1),
                created_at: Set(at(n)),
                updated_at: Set(at(n)),
            });
        }
        let levels = [ExperienceLevel::Entry, ExperienceLevel::Mid, ExperienceLevel::Senior, ExperienceLevel::Lead];
        for k in 0..SALARIES_PER_PATH {
            let average = 50_000 + i64::from((n * 37 + k * 1_000) % 100_000);
            salaries.push(salary_record::ActiveModel {
                id: Set(synthetic_id(6, n * SALARIES_PER_PATH + k)),
                career_path_id: Set(id),
                country: Set("ZZ".into()),
                currency: Set("XXX".into()),
                period: Set(PayPeriod::Year),
                experience_level: Set(Some(levels[k as usize % levels.len()])),
                industry_id: Set(None),
                location: Set(None),
                average: Set(average),
                minimum: Set(average - 10_000),
                maximum: Set(average + 10_000),
                percentile_10: Set(None),
                percentile_25: Set(None),
                median: Set(Some(average)),
                percentile_75: Set(None),
                percentile_90: Set(None),
                sample_size: Set(Some(10)),
                source: Set("synthetic".into()),
                source_url: Set(None),
                as_of: Set(as_of),
                notes: Set(Some("Synthetic data for benchmarks and tests.".into())),
                version: Set(1),
                created_at: Set(at(n)),
                updated_at: Set(at(n)),
            });
        }
    }
    added.career_paths = paths.len();
    for chunk in paths.chunks(200) {
        career_path::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    for chunk in links.chunks(500) {
        career_path_skill::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    for chunk in steps.chunks(300) {
        roadmap_step::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    for chunk in resources.chunks(300) {
        learning_resource::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    for chunk in salaries.chunks(100) {
        salary_record::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(added)
}
