//! `Skill.relatedSkills`: the skills that go with a skill, by how strongly they co-occur: Σ
//! over the paths the caller sees that list both of the smaller of the two scores.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use uuid::Uuid;

use super::vectors::{Scope, score};
use crate::entities::skill;
use crate::sql::{columns_of, placeholders, statement};
use crate::{Result, Visibility};

/// A skill that goes with another, and how strongly (Σ of the smaller score, 0–100 each).
#[derive(Clone, Debug)]
pub struct RelatedSkill {
    pub skill: skill::Model,
    pub strength: f64,
}

/// The `first` (a [`super::vectors::page_size`]) skills most related to each of `skills`, strongest first, in one statement.
pub async fn related_skills(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    skills: &[Uuid],
    first: usize,
) -> Result<HashMap<Uuid, Vec<RelatedSkill>>> {
    if skills.is_empty() {
        return Ok(HashMap::new());
    }
    let scope = Scope::of(visibility);
    let sql = format!(
        "SELECT * FROM (SELECT p.skill_id AS related_to, p.strength AS pair_strength, {skill}, \
         ROW_NUMBER() OVER (PARTITION BY p.skill_id ORDER BY p.strength DESC, s.slug) AS pair_rank \
         FROM skill_pair p JOIN skill s ON s.id = p.other_id WHERE p.scope = ? AND p.skill_id IN ({asked})) ranked \
         WHERE pair_rank <= ? ORDER BY related_to, pair_rank",
        skill = columns_of::<skill::Entity>("s"),
        asked = placeholders(skills.len())
    );
    let mut values: Vec<Value> = vec![scope.code().into()];
    values.extend(skills.iter().map(|id| Value::from(*id)));
    values.push((first as i64).into());
    let mut related: HashMap<Uuid, Vec<RelatedSkill>> = HashMap::new();
    for row in db.query_all_raw(statement(db, &sql, values)).await? {
        let of: Uuid = row.try_get("", "related_to")?;
        let strength: i64 = row.try_get("", "pair_strength")?;
        related
            .entry(of)
            .or_default()
            .push(RelatedSkill { skill: skill::Model::from_query_result(&row, "")?, strength: score(strength) });
    }
    Ok(related)
}
