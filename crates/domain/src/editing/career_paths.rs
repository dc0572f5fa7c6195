//! Creating, changing, publishing and deleting career paths.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};
use serde::Serialize;
use uuid::Uuid;

use super::rows;
use super::{check_optional_text, check_slug, check_text};
use crate::audit::Actor;
use crate::entities::{career_path, career_path_skill, related_career_path, skill};
use crate::enums::{Demand, Importance, PublicationStatus};
use crate::{Db, Error, Result};

/// Longest title.
pub const MAX_TITLE: usize = 120;
/// Longest summary.
pub const MAX_SUMMARY: usize = 500;
/// Longest description, outlook or internal notes.
pub const MAX_LONG_TEXT: usize = 10_000;

/// A new career path; it starts as a draft.
#[derive(Clone, Debug)]
pub struct NewCareerPath {
    /// Unique handle.
    pub slug: String,
    /// Name of the career.
    pub title: String,
    /// One sentence.
    pub summary: String,
    /// The work in full.
    pub description: String,
    /// Hiring demand.
    pub outlook_demand: Demand,
    /// Why.
    pub outlook_summary: String,
    /// Notes for editors.
    pub internal_notes: Option<String>,
    /// O*NET-SOC code, like `15-1252.00`.
    pub onet_soc_code: Option<String>,
}

/// Changes to a career path; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct CareerPathChanges {
    /// New handle.
    pub slug: Option<String>,
    /// New title.
    pub title: Option<String>,
    /// New summary.
    pub summary: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New demand.
    pub outlook_demand: Option<Demand>,
    /// New outlook text.
    pub outlook_summary: Option<String>,
    /// New notes; `Some(None)` clears them.
    pub internal_notes: Option<Option<String>>,
    /// New code; `Some(None)` clears it.
    pub onet_soc_code: Option<Option<String>>,
}

fn check_onet(code: Option<&str>) -> Result<Option<String>> {
    let Some(code) = code.map(str::trim).filter(|code| !code.is_empty()) else { return Ok(None) };
    let bytes = code.as_bytes();
    let shaped = matches!(bytes.len(), 7 | 10)
        && bytes[2] == b'-'
        && bytes.iter().enumerate().all(|(i, b)| i == 2 || (i == 7 && *b == b'.') || b.is_ascii_digit());
    if shaped {
        Ok(Some(code.to_owned()))
    } else {
        Err(Error::invalid("onet_soc_code", "must look like 15-1252 or 15-1252.00"))
    }
}

async fn ensure_slug_free(db: &impl sea_orm::ConnectionTrait, slug: &str, except: Option<Uuid>) -> Result<()> {
    let taken = career_path::Entity::find().filter(career_path::Column::Slug.eq(slug)).one(db).await?;
    match taken {
        Some(path) if Some(path.id) != except => Err(Error::invalid("slug", "is already used by another career path")),
        _ => Ok(()),
    }
}

/// Creates a draft career path.
pub async fn create(db: &Db, actor: &Actor, new: NewCareerPath) -> Result<career_path::Model> {
    let slug = check_slug("slug", &new.slug)?;
    let title = check_text("title", &new.title, 1, MAX_TITLE)?;
    let summary = check_text("summary", &new.summary, 1, MAX_SUMMARY)?;
    let description = check_text("description", &new.description, 1, MAX_LONG_TEXT)?;
    let outlook_summary = check_text("outlook.summary", &new.outlook_summary, 1, MAX_LONG_TEXT)?;
    let internal_notes = check_optional_text("internal_notes", new.internal_notes.as_deref(), MAX_LONG_TEXT)?;
    let onet_soc_code = check_onet(new.onet_soc_code.as_deref())?;
    ensure_slug_free(db, &slug, None).await?;
    let row = career_path::ActiveModel {
        slug: Set(slug),
        title: Set(title),
        summary: Set(summary),
        description: Set(description),
        outlook_demand: Set(new.outlook_demand),
        outlook_summary: Set(outlook_summary),
        status: Set(PublicationStatus::Draft),
        internal_notes: Set(internal_notes),
        onet_soc_code: Set(onet_soc_code),
        published_at: Set(None),
        ..Default::default()
    };
    rows::insert::<career_path::Entity>(db, actor, row).await
}

/// Applies `changes` to the path `id`, if it is still at `expected_version`.
pub async fn update(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    expected_version: i32,
    changes: CareerPathChanges,
) -> Result<career_path::Model> {
    let before = rows::current::<career_path::Entity>(db, id, expected_version).await?;
    let mut row = before.clone().into_active_model();
    if let Some(slug) = &changes.slug {
        let slug = check_slug("slug", slug)?;
        ensure_slug_free(db, &slug, Some(id)).await?;
        row.slug = Set(slug);
    }
    if let Some(title) = &changes.title {
        row.title = Set(check_text("title", title, 1, MAX_TITLE)?);
    }
    if let Some(summary) = &changes.summary {
        row.summary = Set(check_text("summary", summary, 1, MAX_SUMMARY)?);
    }
    if let Some(description) = &changes.description {
        row.description = Set(check_text("description", description, 1, MAX_LONG_TEXT)?);
    }
    if let Some(demand) = changes.outlook_demand {
        row.outlook_demand = Set(demand);
    }
    if let Some(outlook) = &changes.outlook_summary {
        row.outlook_summary = Set(check_text("outlook.summary", outlook, 1, MAX_LONG_TEXT)?);
    }
    if let Some(notes) = &changes.internal_notes {
        row.internal_notes = Set(check_optional_text("internal_notes", notes.as_deref(), MAX_LONG_TEXT)?);
    }
    if let Some(code) = &changes.onet_soc_code {
        row.onet_soc_code = Set(check_onet(code.as_deref())?);
    }
    rows::update::<career_path::Entity, _>(db, actor, "update", before, row, async |_| Ok(None)).await
}

/// Publishes or unpublishes the path `id`.
pub async fn set_status(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    expected_version: i32,
    status: PublicationStatus,
) -> Result<career_path::Model> {
    let before = rows::current::<career_path::Entity>(db, id, expected_version).await?;
    let mut row = before.clone().into_active_model();
    row.status = Set(status);
    if status == PublicationStatus::Published {
        row.published_at = Set(Some(Utc::now()));
    }
    let action = if status == PublicationStatus::Published { "publish" } else { "unpublish" };
    // Who sees a path decides which graph answers it is part of.
    let refresh = async |txn: &DatabaseTransaction, _: &career_path::Model| crate::graph::refresh(txn, &[id]).await;
    rows::update_then::<career_path::Entity, _, _>(db, actor, action, before, row, async |_| Ok(None), refresh).await
}

/// One skill of a path, as `set_skills` takes it.
#[derive(Clone, Debug)]
pub struct SkillRequirement {
    /// The skill's slug.
    pub skill: String,
    /// How much the path relies on it.
    pub importance: Importance,
}

#[derive(Serialize)]
struct SkillsSnapshot<'a> {
    career_path: &'a career_path::Model,
    skills: Vec<(String, Importance)>,
}

/// Replaces the skills of the path `id`, in the given order, as one change.
pub async fn set_skills(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    expected_version: i32,
    skills: Vec<SkillRequirement>,
) -> Result<career_path::Model> {
    let before = rows::current::<career_path::Entity>(db, id, expected_version).await?;
    let slugs: Vec<String> = skills.iter().map(|s| s.skill.trim().to_lowercase()).collect();
    let mut unique = slugs.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != slugs.len() {
        return Err(Error::invalid("skills", "lists a skill more than once"));
    }
    let found = skill::Entity::find().filter(skill::Column::Slug.is_in(slugs.clone())).all(db).await?;
    let missing: Vec<&str> =
        slugs.iter().filter(|slug| !found.iter().any(|s| &s.slug == *slug)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(Error::invalid("skills", format!("names unknown skill slugs: {}", missing.join(", "))));
    }
    let old_links = career_path_skill::Entity::find()
        .filter(career_path_skill::Column::CareerPathId.eq(id))
        .order_by_asc(career_path_skill::Column::Position)
        .all(db)
        .await?;
    let old_ids: Vec<Uuid> = old_links.iter().map(|link| link.skill_id).collect();
    let old_rows = skill::Entity::find().filter(skill::Column::Id.is_in(old_ids)).all(db).await?;
    let old_skills = old_links
        .iter()
        .filter_map(|link| old_rows.iter().find(|s| s.id == link.skill_id).map(|s| (s.slug.clone(), link.importance)))
        .collect();

    let links: Vec<career_path_skill::ActiveModel> = (0..)
        .zip(&skills)
        .filter_map(|(position, requirement)| {
            let skill = found.iter().find(|s| s.slug == requirement.skill.trim().to_lowercase())?;
            Some(career_path_skill::ActiveModel {
                career_path_id: Set(id),
                skill_id: Set(skill.id),
                importance: Set(requirement.importance),
                position: Set(position),
                importance_score: Set(None),
                level_score: Set(None),
            })
        })
        .collect();
    let new_skills: Vec<(String, Importance)> =
        skills.iter().map(|s| (s.skill.trim().to_lowercase(), s.importance)).collect();
    let old_snapshot = rows::to_json(&SkillsSnapshot { career_path: &before, skills: old_skills })?;
    let row = before.clone().into_active_model();
    rows::update::<career_path::Entity, _>(db, actor, "set_skills", before, row, async |txn| {
        career_path_skill::Entity::delete_many()
            .filter(career_path_skill::Column::CareerPathId.eq(id))
            .exec(txn)
            .await?;
        if !links.is_empty() {
            career_path_skill::Entity::insert_many(links).exec(txn).await?;
        }
        crate::graph::refresh(txn, &[id]).await?;
        let after = move |path: &career_path::Model| {
            rows::to_json(&SkillsSnapshot { career_path: path, skills: new_skills }).unwrap_or(serde_json::Value::Null)
        };
        let snapshot: rows::Snapshot<career_path::Model> = (old_snapshot, Box::new(after));
        Ok(Some(snapshot))
    })
    .await
}

/// Deletes the path `id` with everything it owns (its skills list, responsibilities, roadmap
/// and salary records). Other paths that list it as related keep it unless `detach` says to
/// drop those links; without it the delete is refused, so nothing is left dangling.
pub async fn delete(db: &Db, actor: &Actor, id: Uuid, expected_version: i32, detach: bool) -> Result<()> {
    let before = rows::current::<career_path::Entity>(db, id, expected_version).await?;
    let referencing = related_career_path::Entity::find()
        .filter(related_career_path::Column::RelatedCareerPathId.eq(id))
        .filter(related_career_path::Column::CareerPathId.ne(id))
        .all(db)
        .await?;
    if !referencing.is_empty() && !detach {
        return Err(Error::conflict(
            "detach",
            format!(
                "{} other career path(s) list this one as related; pass detach: true to remove those links",
                referencing.len()
            ),
        ));
    }
    rows::delete::<career_path::Entity, _>(db, actor, before, async |txn| {
        related_career_path::Entity::delete_many()
            .filter(related_career_path::Column::RelatedCareerPathId.eq(id))
            .exec(txn)
            .await?;
        // Without its skills the path leaves every graph answer; the delete removes the rest.
        career_path_skill::Entity::delete_many()
            .filter(career_path_skill::Column::CareerPathId.eq(id))
            .exec(txn)
            .await?;
        crate::graph::refresh(txn, &[id]).await
    })
    .await
}
