//! What someone still has to learn for a career path, given what they know.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entities::{career_path, roadmap_step, skill, technology};
use crate::enums::Importance;
use crate::projection::Columns;
use crate::{Error, Result, Visibility};

/// The most slugs `have` may list.
pub const MAX_HAVE: usize = 100;

/// A skill of the path and how it relates to what the person has.
#[derive(Clone, Debug)]
pub struct GapSkill {
    /// The skill.
    pub skill: skill::Model,
    /// How much the path relies on it.
    pub importance: Importance,
    /// The technologies through which the skill is practised.
    pub technologies: Vec<technology::Model>,
    /// The path's roadmap steps that teach it.
    pub roadmap_steps: Vec<roadmap_step::Model>,
}

/// The answer to "what do I still need for this path?".
#[derive(Clone, Debug)]
pub struct SkillGap {
    /// The path asked about.
    pub career_path: career_path::Model,
    /// Skills the person already has, most important first.
    pub covered: Vec<GapSkill>,
    /// Skills still to learn, most important first, then in the path's order.
    pub missing: Vec<GapSkill>,
}

/// Compares `have` (skill or technology slugs) with the skills of the path `path_slug`.
///
/// A skill counts as had when `have` names it, or names any technology it is practised
/// through: knowing PostgreSQL is evidence of database skills. Unknown slugs are refused, since
/// a typo would otherwise silently widen the gap. `None` when the path is not visible.
pub async fn compute(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    path_slug: &str,
    have: &[String],
) -> Result<Option<SkillGap>> {
    if have.len() > MAX_HAVE {
        return Err(Error::invalid("have", format!("may list at most {MAX_HAVE} slugs")));
    }
    let Some(path) = super::career_paths::by_slug(db, visibility, path_slug, Columns::all()).await? else {
        return Ok(None);
    };
    let have: HashSet<String> = have.iter().map(|slug| slug.trim().to_lowercase()).collect();
    let known_skills: Vec<skill::Model> =
        skill::Entity::find().filter(skill::Column::Slug.is_in(have.iter().cloned())).all(db).await?;
    let known_technologies: Vec<technology::Model> =
        technology::Entity::find().filter(technology::Column::Slug.is_in(have.iter().cloned())).all(db).await?;
    let mut unknown: Vec<&String> = have
        .iter()
        .filter(|slug| {
            !known_skills.iter().any(|s| &s.slug == *slug) && !known_technologies.iter().any(|t| &t.slug == *slug)
        })
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        let list = unknown.iter().map(|slug| slug.as_str()).collect::<Vec<_>>().join(", ");
        return Err(Error::invalid("have", format!("names unknown skill or technology slugs: {list}")));
    }

    let mut path_skills = super::career_paths::skills(db, &[path.id], Columns::all(), Columns::all()).await?;
    path_skills.sort_by_key(|(link, _)| (link.importance.rank(), link.position));
    let skill_ids: Vec<Uuid> = path_skills.iter().map(|(_, skill)| skill.id).collect();
    let mut technologies: HashMap<Uuid, Vec<technology::Model>> = HashMap::new();
    for (skill_id, technology) in super::skills::technologies(db, &skill_ids, Columns::all()).await? {
        technologies.entry(skill_id).or_default().push(technology);
    }
    let mut steps: HashMap<Uuid, Vec<roadmap_step::Model>> = HashMap::new();
    for (skill_id, step) in super::skills::roadmap_steps(db, &skill_ids, &[path.id]).await? {
        steps.entry(skill_id).or_default().push(step);
    }

    let (mut covered, mut missing) = (Vec::new(), Vec::new());
    for (link, skill) in path_skills {
        let technologies = technologies.remove(&skill.id).unwrap_or_default();
        let had = have.contains(&skill.slug) || technologies.iter().any(|t| have.contains(&t.slug));
        let entry = GapSkill {
            roadmap_steps: steps.remove(&skill.id).unwrap_or_default(),
            skill,
            importance: link.importance,
            technologies,
        };
        if had { covered.push(entry) } else { missing.push(entry) }
    }
    Ok(Some(SkillGap { career_path: path, covered, missing }))
}
