//! Synthetic career paths for benchmarks and tests, never for the bundled dataset. Every row
//! is labelled: slugs start with `synthetic-`, titles say "(synthetic)", and the salary source
//! is "synthetic", so they can never be mistaken for facts.

use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder, TransactionTrait};
use uuid::Uuid;

use crate::entities::{
    career_path, career_path_skill, industry, learning_resource, roadmap_step, salary_record, skill,
};
use crate::enums::{Demand, Importance, PayPeriod, PublicationStatus, Recommendation, ResourceKind};
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
