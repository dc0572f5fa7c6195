//! `careerMoves`: where someone can move from a career path, what they would have to learn and
//! what it would pay. Two statements: the stored moves with their targets, pay and job zones;
//! then the skills of the source and of the page's targets.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter};
use uuid::Uuid;

use super::vectors::{Scope, score, weight};
use crate::audit::EntityKind;
use crate::entities::{career_path, career_path_skill, skill};
use crate::projection::Columns;
use crate::queries::career_paths::{self, visible_sql};
use crate::queries::skills;
use crate::sql::{columns_of, statement};
use crate::{Error, Result, Visibility};

/// How moves are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MoveOrder {
    /// Most similar first.
    #[default]
    Similarity,
    /// Largest rise in median pay first; moves without a pay comparison last.
    PayGain,
    /// Fewest skills to learn first.
    FewestToLearn,
}

/// Which moves to keep.
#[derive(Clone, Debug)]
pub struct MoveFilter {
    /// Only moves at least this similar (0–1).
    pub min_similarity: Option<f64>,
    /// Only moves whose job zone rises by at most this much (moves whose zones are unknown are
    /// left out, as the rise cannot be known).
    pub max_job_zone_increase: Option<i32>,
    /// The country whose pay is compared (ISO 3166 alpha-2).
    pub country: String,
}

impl Default for MoveFilter {
    fn default() -> Self {
        Self { min_similarity: None, max_job_zone_increase: None, country: "US".into() }
    }
}

/// A skill as two paths weigh it, on the 0–100 scale (`None` where a path does not list it).
#[derive(Clone, Debug)]
pub struct SkillComparison {
    pub skill: skill::Model,
    pub from_score: Option<f64>,
    pub to_score: f64,
}

impl SkillComparison {
    /// How much more the target asks than the source has.
    pub fn gap(&self) -> f64 {
        self.to_score - self.from_score.unwrap_or(0.0)
    }
}

/// One move.
#[derive(Clone, Debug)]
pub struct CareerMove {
    /// Where it leads.
    pub path: career_path::Model,
    /// The weighted Jaccard similarity of the two paths' skills, 0–1.
    pub similarity: f64,
    /// Skills both paths list, the ones the target weighs most first.
    pub shared_skills: Vec<SkillComparison>,
    /// Skills the target weighs more than the source (or the source lacks), largest gap first.
    pub skills_to_learn: Vec<SkillComparison>,
    /// Target median minus source median, same country, yearly, national figures.
    pub median_pay_change: Option<i64>,
    /// Target job zone minus source job zone.
    pub job_zone_change: Option<i32>,
    /// O*NET's relatedness tier of the pair, when O*NET lists it.
    pub relatedness_tier: Option<String>,
}

/// A page of moves.
#[derive(Clone, Debug)]
pub struct MovesPage {
    pub moves: Vec<CareerMove>,
    /// How many moves the filter keeps, over every page.
    pub total: usize,
    /// Whether moves follow this page.
    pub has_next: bool,
}

/// A stored move as read, before the page is chosen.
struct Candidate {
    path: career_path::Model,
    source_id: Uuid,
    similarity: f64,
    to_learn: i32,
    tier: Option<String>,
    pay_change: Option<i64>,
    zone_change: Option<i32>,
}

/// What `careerMoves` is asked.
#[derive(Clone, Debug)]
pub struct MovesWanted<'a> {
    /// The slug of the path moved from.
    pub from: &'a str,
    pub order: MoveOrder,
    pub filter: MoveFilter,
    /// How many moves (a [`super::vectors::page_size`]), from position `start` of the ordered list.
    pub first: usize,
    pub start: usize,
}

/// The moves `wanted` asks for, of those `visibility` lets the caller see. `curated_pay` says
/// whether medians of curated salary records may be compared (callers below VIEWER compare
/// open-data figures only).
pub async fn career_moves(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    curated_pay: bool,
    wanted: &MovesWanted<'_>,
) -> Result<MovesPage> {
    let MovesWanted { from, order, ref filter, first, start } = *wanted;
    check(filter)?;
    let country = filter.country.trim().to_uppercase();
    let mut candidates = stored_moves(db, visibility, curated_pay, from, &country).await?;
    if candidates.is_empty() && career_paths::by_slug(db, visibility, from, Columns::none()).await?.is_none() {
        return Err(Error::invalid("from", format!("names no career path: {from:?}")));
    }
    candidates.retain(|candidate| {
        filter.min_similarity.is_none_or(|least| candidate.similarity >= least)
            && filter
                .max_job_zone_increase
                .is_none_or(|most| candidate.zone_change.is_some_and(|change| change <= most))
    });
    let by_similarity = |a: &Candidate, b: &Candidate| {
        b.similarity.total_cmp(&a.similarity).then_with(|| a.path.title.cmp(&b.path.title))
    };
    match order {
        MoveOrder::Similarity => candidates.sort_by(by_similarity),
        MoveOrder::PayGain => candidates.sort_by(|a, b| match (a.pay_change, b.pay_change) {
            (Some(a_pay), Some(b_pay)) => b_pay.cmp(&a_pay).then_with(|| by_similarity(a, b)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => by_similarity(a, b),
        }),
        MoveOrder::FewestToLearn => {
            candidates.sort_by(|a, b| a.to_learn.cmp(&b.to_learn).then_with(|| by_similarity(a, b)))
        }
    }
    let total = candidates.len();
    let page: Vec<Candidate> = candidates.into_iter().skip(start).take(first).collect();
    let has_next = start + page.len() < total;
    let Some(source_id) = page.first().map(|candidate| candidate.source_id) else {
        return Ok(MovesPage { moves: Vec::new(), total, has_next });
    };

    // The links of the source and the page's targets, then the skills they name, each once:
    // the same skills recur in every path of a labour market.
    let mut ids = vec![source_id];
    ids.extend(page.iter().map(|candidate| candidate.path.id));
    let links =
        career_path_skill::Entity::find().filter(career_path_skill::Column::CareerPathId.is_in(ids)).all(db).await?;
    let mut skill_ids: Vec<Uuid> = links.iter().map(|link| link.skill_id).collect();
    skill_ids.sort();
    skill_ids.dedup();
    let named: HashMap<Uuid, skill::Model> =
        skills::by_ids(db, &skill_ids, Columns::all()).await?.into_iter().map(|skill| (skill.id, skill)).collect();
    let mut skills: HashMap<Uuid, Vec<(skill::Model, i64)>> = HashMap::new();
    for link in links {
        if let Some(skill) = named.get(&link.skill_id) {
            let weighs = weight(link.importance, link.importance_score);
            skills.entry(link.career_path_id).or_default().push((skill.clone(), weighs));
        }
    }
    let own: HashMap<Uuid, i64> =
        skills.get(&source_id).into_iter().flatten().map(|(skill, weight)| (skill.id, *weight)).collect();
    let moves = page
        .into_iter()
        .map(|candidate| {
            let (mut shared_skills, mut skills_to_learn) = (Vec::new(), Vec::new());
            for (skill, wanted) in skills.get(&candidate.path.id).into_iter().flatten() {
                let had = own.get(&skill.id).copied();
                let comparison =
                    SkillComparison { skill: skill.clone(), from_score: had.map(score), to_score: score(*wanted) };
                if *wanted > had.unwrap_or(0) {
                    skills_to_learn.push(comparison.clone());
                }
                if had.is_some() {
                    shared_skills.push(comparison);
                }
            }
            shared_skills
                .sort_by(|a, b| b.to_score.total_cmp(&a.to_score).then_with(|| a.skill.name.cmp(&b.skill.name)));
            skills_to_learn.sort_by(|a, b| b.gap().total_cmp(&a.gap()).then_with(|| a.skill.name.cmp(&b.skill.name)));
            CareerMove {
                path: candidate.path,
                similarity: candidate.similarity,
                shared_skills,
                skills_to_learn,
                median_pay_change: candidate.pay_change,
                job_zone_change: candidate.zone_change,
                relatedness_tier: candidate.tier,
            }
        })
        .collect();
    Ok(MovesPage { moves, total, has_next })
}

fn check(filter: &MoveFilter) -> Result<()> {
    if filter.min_similarity.is_some_and(|least| !(0.0..=1.0).contains(&least)) {
        return Err(Error::invalid("minSimilarity", "must be between 0 and 1"));
    }
    let country = filter.country.trim();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(Error::invalid("country", "must be a two-letter ISO 3166 country code"));
    }
    Ok(())
}

/// The national, yearly median of path `{path}` in the bound country, the latest one; from
/// open data only unless curated figures may be compared.
fn median_of(path: &str, curated_pay: bool) -> String {
    let open_only: &str = if curated_pay {
        ""
    } else {
        // By (entity_type, entity_id), the import records' index.
        &format!(
            " AND EXISTS (SELECT 1 FROM import_record ir WHERE ir.entity_type = '{}' AND ir.entity_id = sr.id \
             AND ir.source_key LIKE '{}%')",
            EntityKind::SalaryRecord.name(),
            crate::import::oews::KEY_PREFIX
        )
    };
    format!(
        "(SELECT sr.median FROM salary_record sr WHERE sr.career_path_id = {path} AND sr.country = ? \
         AND sr.period = 'YEAR' AND sr.location IS NULL AND sr.experience_level IS NULL \
         AND sr.industry_id IS NULL AND sr.median IS NOT NULL{open_only} ORDER BY sr.as_of DESC LIMIT 1)"
    )
}

/// Every stored move of `from` the caller may see, with its target path, pay and job zones.
async fn stored_moves(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    curated_pay: bool,
    from: &str,
    country: &str,
) -> Result<Vec<Candidate>> {
    let scope = match visibility {
        Visibility::IncludeDrafts => Scope::All.code().to_string(),
        // A published path has a list of its own over published paths only where the list
        // over every path holds a draft; the drafts in that one are then filtered out anyway.
        Visibility::PublishedOnly => format!(
            "(CASE WHEN EXISTS (SELECT 1 FROM career_move x WHERE x.career_path_id = s.id AND x.scope = {}) \
             THEN {} ELSE {} END)",
            Scope::Published.code(),
            Scope::Published.code(),
            Scope::All.code()
        ),
    };
    // The source's own figures in a one-row table, so its median is looked up once rather than
    // once per move (`LIMIT 1`, harmless on a unique slug, keeps either database from merging
    // the table into the join and its subquery into every row).
    let sql = format!(
        "SELECT {target}, m.similarity AS move_similarity, m.to_learn AS move_to_learn, s.id AS move_source, \
         s.job_zone AS move_source_zone, s.median AS move_source_median, \
         (SELECT r.relatedness_tier FROM related_career_path r WHERE r.career_path_id = m.career_path_id \
          AND r.related_career_path_id = m.neighbour_id) AS move_tier, \
         {target_median} AS move_target_median \
         FROM (SELECT s.id, s.job_zone, {source_median} AS median FROM career_path s \
               WHERE s.slug = ?{source_visible} LIMIT 1) s \
         JOIN career_move m ON m.career_path_id = s.id JOIN career_path t ON t.id = m.neighbour_id \
         WHERE m.scope = {scope}{target_visible}",
        target = columns_of::<career_path::Entity>("t"),
        source_median = median_of("s.id", curated_pay),
        target_median = median_of("t.id", curated_pay),
        source_visible = visible_sql("s", visibility),
        target_visible = visible_sql("t", visibility),
    );
    // In the order of the placeholders: the target's median, the source's, the slug.
    let values = vec![country.into(), country.into(), from.trim().to_lowercase().into()];
    let rows = db.query_all_raw(statement(db, &sql, values)).await?;
    let mut candidates = Vec::with_capacity(rows.len());
    for row in rows {
        let path = career_path::Model::from_query_result(&row, "")?;
        let source_zone: Option<i32> = row.try_get("", "move_source_zone")?;
        let source_median: Option<i64> = row.try_get("", "move_source_median")?;
        let target_median: Option<i64> = row.try_get("", "move_target_median")?;
        candidates.push(Candidate {
            zone_change: source_zone.zip(path.job_zone).map(|(from, to)| to - from),
            pay_change: source_median.zip(target_median).map(|(from, to)| to - from),
            source_id: row.try_get("", "move_source")?,
            similarity: row.try_get("", "move_similarity")?,
            to_learn: row.try_get("", "move_to_learn")?,
            tier: row.try_get("", "move_tier")?,
            path,
        });
    }
    Ok(candidates)
}
