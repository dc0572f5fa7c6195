//! `nextSkills`: which skill to learn next, given what someone knows.
//!
//! For a path, fit = the share of its skill weight covered by what the person has. A skill
//! they lack is worth Σ over paths of its score × the fit it would add (its weight over the
//! path's total): the stored reach of the skill over the paths the caller sees. With `towards`
//! the sum runs over the chosen paths only, computed from their skills. Each result lists the
//! paths the skill alone would lift past a fit of 0.7.

use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use uuid::Uuid;

use super::vectors::{MAX_WEIGHT, Scope, score, weight, weight_sql};
use crate::entities::{career_path, skill};
use crate::projection::Columns;
use crate::queries::career_paths::{self, visible_sql};
use crate::queries::skill_gap::MAX_HAVE;
use crate::sql::{columns_of, placeholders, statement};
use crate::{Error, Result, Visibility};

/// The fit past which a path counts as within reach: 7 in 10.
const REACH: (i64, i64) = (7, 10);

/// One skill worth learning.
#[derive(Clone, Debug)]
pub struct NextSkill {
    pub skill: skill::Model,
    /// Σ over paths of score × fit added.
    pub value: f64,
    /// The paths this skill alone lifts past a fit of 0.7, by title.
    pub lifts: Vec<career_path::Model>,
}

/// What `have` and `towards` name.
struct Named {
    /// The skills had: named, or practised through a named technology.
    skills: HashSet<Uuid>,
    /// The chosen paths the caller may see.
    paths: Vec<Uuid>,
}

/// The `first` skills (a [`super::vectors::page_size`]) that someone who has `have` (skill or technology
/// slugs, as `skillGap` takes them) should learn next, best first, over the paths the caller
/// sees or the paths `towards` names (slugs).
pub async fn next_skills(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    have: &[String],
    towards: Option<&[String]>,
    first: usize,
) -> Result<Vec<NextSkill>> {
    if have.is_empty() {
        return Err(Error::invalid("have", "must name at least one skill or technology"));
    }
    if have.len() > MAX_HAVE {
        return Err(Error::invalid("have", format!("may list at most {MAX_HAVE} slugs")));
    }
    if towards.is_some_and(|towards| towards.is_empty() || towards.len() > MAX_HAVE) {
        return Err(Error::invalid("towards", format!("must list between 1 and {MAX_HAVE} career path slugs")));
    }
    let named = resolve(db, visibility, have, towards.unwrap_or_default()).await?;
    match towards {
        None => over_every_path(db, visibility, &named.skills, first).await,
        Some(_) => over_chosen_paths(db, visibility, &named, first).await,
    }
}

fn normalized(slugs: &[String]) -> Vec<String> {
    let mut slugs: Vec<String> = slugs.iter().map(|slug| slug.trim().to_lowercase()).collect();
    slugs.sort();
    slugs.dedup();
    slugs
}

/// Resolves `have` and `towards` in one statement; unknown slugs are refused, as a typo would
/// otherwise silently change the answer.
async fn resolve(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    have: &[String],
    towards: &[String],
) -> Result<Named> {
    let (have, towards) = (normalized(have), normalized(towards));
    let mut sql = format!(
        "SELECT 'skill', s.slug, s.id FROM skill s WHERE s.slug IN ({have_list}) \
         UNION ALL SELECT 'technology', t.slug, st.skill_id FROM technology t \
         LEFT JOIN skill_technology st ON st.technology_id = t.id WHERE t.slug IN ({have_list})",
        have_list = placeholders(have.len())
    );
    let mut values: Vec<Value> = have.iter().chain(&have).map(|slug| slug.clone().into()).collect();
    if !towards.is_empty() {
        sql.push_str(&format!(
            " UNION ALL SELECT 'path', p.slug, p.id FROM career_path p WHERE p.slug IN ({}){}",
            placeholders(towards.len()),
            visible_sql("p", visibility)
        ));
        values.extend(towards.iter().map(|slug| Value::from(slug.clone())));
    }
    let rows = db.query_all_raw(statement(db, &sql, values)).await?;
    let (mut skills, mut paths) = (HashSet::new(), Vec::new());
    let (mut found_have, mut found_paths) = (HashSet::new(), HashSet::new());
    for row in rows {
        let kind: String = row.try_get_by_index(0)?;
        let slug: String = row.try_get_by_index(1)?;
        let id: Option<Uuid> = row.try_get_by_index(2)?;
        if kind == "path" {
            found_paths.insert(slug);
            paths.extend(id);
        } else {
            found_have.insert(slug);
            skills.extend(id);
        }
    }
    let unknown = |asked: &[String], found: &HashSet<String>| {
        asked.iter().filter(|slug| !found.contains(*slug)).cloned().collect::<Vec<_>>().join(", ")
    };
    let missing = unknown(&have, &found_have);
    if !missing.is_empty() {
        return Err(Error::invalid("have", format!("names unknown skill or technology slugs: {missing}")));
    }
    let missing = unknown(&towards, &found_paths);
    if !missing.is_empty() {
        return Err(Error::invalid("towards", format!("names unknown career path slugs: {missing}")));
    }
    paths.sort();
    paths.dedup();
    Ok(Named { skills, paths })
}

/// The best skills by stored reach, then the paths each lifts past 0.7.
async fn over_every_path(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    had: &HashSet<Uuid>,
    first: usize,
) -> Result<Vec<NextSkill>> {
    let scope = Scope::of(visibility);
    let had: Vec<Uuid> = had.iter().copied().collect();
    let excluded =
        if had.is_empty() { String::new() } else { format!(" AND r.skill_id NOT IN ({})", placeholders(had.len())) };
    let sql = format!(
        "SELECT {skill}, r.value AS reach_value FROM skill_reach r JOIN skill s ON s.id = r.skill_id \
         WHERE r.scope = ?{excluded} ORDER BY r.value DESC, s.slug LIMIT ?",
        skill = columns_of::<skill::Entity>("s")
    );
    let mut values: Vec<Value> = vec![scope.code().into()];
    values.extend(had.iter().map(|id| Value::from(*id)));
    values.push((first as i64).into());
    let rows = db.query_all_raw(statement(db, &sql, values)).await?;
    let mut ranked = Vec::with_capacity(rows.len());
    for row in rows {
        ranked.push(NextSkill {
            value: row.try_get("", "reach_value")?,
            skill: skill::Model::from_query_result(&row, "")?,
            lifts: Vec::new(),
        });
    }
    if ranked.is_empty() {
        return Ok(ranked);
    }

    let page: Vec<Uuid> = ranked.iter().map(|next| next.skill.id).collect();
    // A path is lifted when its fit is under 0.7 and the skill's weight takes it past. No
    // weight exceeds 200, so only paths whose covered weight is within 200 of 0.7 of their total
    // can be: paths `have` reaches into far enough, and paths so small (0.7 of the total at
    // most 200) that one skill lifts them from nothing. Starting from those keeps the statement
    // to the links of `have` rather than every link of the page's skills.
    let (num, den) = REACH;
    let most = den * MAX_WEIGHT;
    let have = if had.is_empty() { "NULL".to_owned() } else { placeholders(had.len()) };
    let published = visible_sql("p", visibility);
    let sql = format!(
        "SELECT l.skill_id AS lifted_by, {path} FROM (\
           SELECT h.career_path_id, SUM({had_weight}) AS covered FROM career_path_skill h \
           WHERE h.skill_id IN ({have}) GROUP BY h.career_path_id \
           UNION ALL SELECT n.career_path_id, 0 FROM career_path_weight n WHERE n.total * {num} <= {most} \
           AND NOT EXISTS (SELECT 1 FROM career_path_skill o WHERE o.career_path_id = n.career_path_id \
           AND o.skill_id IN ({have}))) c \
         JOIN career_path_weight w ON w.career_path_id = c.career_path_id \
         JOIN career_path_skill l ON l.career_path_id = c.career_path_id AND l.skill_id IN ({page}) \
         JOIN career_path p ON p.id = c.career_path_id \
         WHERE c.covered * {den} < w.total * {num} AND c.covered * {den} + {most} >= w.total * {num} \
         AND (c.covered + {weight}) * {den} >= w.total * {num}{published} \
         ORDER BY p.title, p.id",
        path = columns_of::<career_path::Entity>("p"),
        had_weight = weight_sql("h"),
        page = placeholders(page.len()),
        weight = weight_sql("l"),
    );
    let mut values: Vec<Value> = had.iter().chain(&had).map(|id| Value::from(*id)).collect();
    values.extend(page.iter().map(|id| Value::from(*id)));
    let rows = db.query_all_raw(statement(db, &sql, values)).await?;
    let mut lifts: HashMap<Uuid, Vec<career_path::Model>> = HashMap::new();
    for row in rows {
        let skill: Uuid = row.try_get("", "lifted_by")?;
        lifts.entry(skill).or_default().push(career_path::Model::from_query_result(&row, "")?);
    }
    for next in &mut ranked {
        next.lifts = lifts.remove(&next.skill.id).unwrap_or_default();
    }
    Ok(ranked)
}

/// The same sums over the chosen paths, from their skills (at most [`MAX_HAVE`] paths).
async fn over_chosen_paths(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    named: &Named,
    first: usize,
) -> Result<Vec<NextSkill>> {
    struct Path {
        total: i64,
        covered: i64,
        skills: Vec<(skill::Model, i64)>,
    }
    let mut paths: HashMap<Uuid, Path> = HashMap::new();
    for (link, skill) in career_paths::skills(db, &named.paths, Columns::all(), Columns::all()).await? {
        let weight = weight(link.importance, link.importance_score);
        let path = paths.entry(link.career_path_id).or_insert(Path { total: 0, covered: 0, skills: Vec::new() });
        path.total += weight;
        if named.skills.contains(&skill.id) {
            path.covered += weight;
        }
        path.skills.push((skill, weight));
    }
    let mut ranked: HashMap<Uuid, NextSkill> = HashMap::new();
    let mut lifted: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (path_id, path) in &paths {
        for (skill, weight) in &path.skills {
            if named.skills.contains(&skill.id) || path.total == 0 {
                continue;
            }
            let next = ranked.entry(skill.id).or_insert_with(|| NextSkill {
                skill: skill.clone(),
                value: 0.0,
                lifts: Vec::new(),
            });
            next.value += score(*weight) * *weight as f64 / path.total as f64;
            let (num, den) = REACH;
            if path.covered * den < path.total * num && (path.covered + weight) * den >= path.total * num {
                lifted.entry(skill.id).or_default().push(*path_id);
            }
        }
    }
    let mut ranked: Vec<NextSkill> = ranked.into_values().collect();
    ranked.sort_by(|a, b| b.value.total_cmp(&a.value).then_with(|| a.skill.slug.cmp(&b.skill.slug)));
    ranked.truncate(first);
    let wanted: Vec<Uuid> =
        ranked.iter().flat_map(|next| lifted.get(&next.skill.id).into_iter().flatten().copied()).collect();
    if !wanted.is_empty() {
        let found: HashMap<Uuid, career_path::Model> = career_paths::by_ids(db, visibility, &wanted, Columns::all())
            .await?
            .into_iter()
            .map(|path| (path.id, path))
            .collect();
        for next in &mut ranked {
            let mut lifts: Vec<career_path::Model> =
                lifted.get(&next.skill.id).into_iter().flatten().filter_map(|id| found.get(id).cloned()).collect();
            lifts.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id)));
            next.lifts = lifts;
        }
    }
    Ok(ranked)
}
