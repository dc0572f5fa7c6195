//! Skills, technologies, industries and benefits: the vocabularies career paths draw on.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use serde::Serialize;
use uuid::Uuid;

use super::rows::{self, refuse_if_referenced};
use super::{check_optional_text, check_slug, check_text, required};
use crate::audit::Actor;
use crate::entities::{
    benefit, career_path_benefit, career_path_industry, career_path_skill, industry, roadmap_step_skill, salary_record,
    skill, skill_technology, technology,
};
use crate::enums::{SkillCategory, TechnologyKind};
use crate::projection::Columns;
use crate::{Db, Error, Result};

/// Longest name.
pub const MAX_NAME: usize = 120;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 10_000;

async fn slug_free<E: EntityTrait>(
    db: &impl ConnectionTrait,
    column: E::Column,
    slug: &str,
    except: Option<Uuid>,
    id_of: impl Fn(&E::Model) -> Uuid,
) -> Result<()>
where
    E::Column: ColumnTrait,
{
    match E::find().filter(column.eq(slug)).one(db).await? {
        Some(row) if Some(id_of(&row)) != except => Err(Error::invalid("slug", "is already in use")),
        _ => Ok(()),
    }
}

/// A skill as created or replaced.
#[derive(Clone, Debug, Default)]
pub struct SkillFields {
    /// Unique handle.
    pub slug: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Technical or soft.
    pub category: Option<SkillCategory>,
    /// What it involves.
    pub description: Option<String>,
}

/// Creates a skill.
pub async fn create_skill(db: &Db, actor: &Actor, fields: SkillFields) -> Result<skill::Model> {
    let slug = check_slug("slug", &required("slug", fields.slug)?)?;
    let name = check_text("name", &required("name", fields.name)?, 1, MAX_NAME)?;
    let description = check_text("description", &required("description", fields.description)?, 1, MAX_DESCRIPTION)?;
    slug_free::<skill::Entity>(db, skill::Column::Slug, &slug, None, |s| s.id).await?;
    let row = skill::ActiveModel {
        slug: Set(slug),
        name: Set(name),
        category: Set(required("category", fields.category)?),
        description: Set(description),
        ..Default::default()
    };
    rows::insert::<skill::Entity>(db, actor, row).await
}

/// Changes a skill; `None` fields stay.
pub async fn update_skill(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    expected_version: i32,
    fields: SkillFields,
) -> Result<skill::Model> {
    let before = rows::current::<skill::Entity>(db, id, expected_version).await?;
    let mut row = before.clone().into_active_model();
    if let Some(slug) = &fields.slug {
        let slug = check_slug("slug", slug)?;
        slug_free::<skill::Entity>(db, skill::Column::Slug, &slug, Some(id), |s| s.id).await?;
        row.slug = Set(slug);
    }
    if let Some(name) = &fields.name {
        row.name = Set(check_text("name", name, 1, MAX_NAME)?);
    }
    if let Some(category) = fields.category {
        row.category = Set(category);
    }
    if let Some(description) = &fields.description {
        row.description = Set(check_text("description", description, 1, MAX_DESCRIPTION)?);
    }
    rows::update::<skill::Entity, _>(db, actor, "update", before, row, async |_| Ok(None)).await
}

#[derive(Serialize)]
struct TechnologiesSnapshot<'a> {
    skill: &'a skill::Model,
    technologies: Vec<String>,
}

/// Replaces the technologies a skill is practised through, in order, as one change.
pub async fn set_skill_technologies(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    expected_version: i32,
    slugs: Vec<String>,
) -> Result<skill::Model> {
    let before = rows::current::<skill::Entity>(db, id, expected_version).await?;
    let slugs: Vec<String> = slugs.iter().map(|slug| slug.trim().to_lowercase()).collect();
    let mut unique = slugs.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != slugs.len() {
        return Err(Error::invalid("technologies", "lists a technology more than once"));
    }
    let found = technology::Entity::find().filter(technology::Column::Slug.is_in(slugs.clone())).all(db).await?;
    let missing: Vec<&str> =
        slugs.iter().filter(|slug| !found.iter().any(|t| &t.slug == *slug)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(Error::invalid("technologies", format!("names unknown technology slugs: {}", missing.join(", "))));
    }
    let old = crate::queries::skills::technologies(db, &[id], Columns::of([technology::Column::Slug]))
        .await?
        .into_iter()
        .map(|(_, t)| t.slug)
        .collect();
    let links: Vec<skill_technology::ActiveModel> = (0..)
        .zip(&slugs)
        .filter_map(|(position, slug)| {
            let technology = found.iter().find(|t| &t.slug == slug)?;
            Some(skill_technology::ActiveModel {
                skill_id: Set(id),
                technology_id: Set(technology.id),
                position: Set(position),
            })
        })
        .collect();
    let row = before.clone().into_active_model();
    let old_snapshot = rows::to_json(&TechnologiesSnapshot { skill: &before, technologies: old })?;
    rows::update::<skill::Entity, _>(db, actor, "set_technologies", before, row, async |txn| {
        skill_technology::Entity::delete_many().filter(skill_technology::Column::SkillId.eq(id)).exec(txn).await?;
        if !links.is_empty() {
            skill_technology::Entity::insert_many(links).exec(txn).await?;
        }
        let after = move |skill: &skill::Model| {
            rows::to_json(&TechnologiesSnapshot { skill, technologies: slugs }).unwrap_or(serde_json::Value::Null)
        };
        let snapshot: rows::Snapshot<skill::Model> = (old_snapshot, Box::new(after));
        Ok(Some(snapshot))
    })
    .await
}

/// Deletes a skill and its technology links. Career paths that need it and roadmap steps that
/// teach it keep it unless `detach` drops those links.
pub async fn delete_skill(db: &Db, actor: &Actor, id: Uuid, expected_version: i32, detach: bool) -> Result<()> {
    let before = rows::current::<skill::Entity>(db, id, expected_version).await?;
    let paths = career_path_skill::Entity::find().filter(career_path_skill::Column::SkillId.eq(id)).count(db).await?;
    let steps = roadmap_step_skill::Entity::find().filter(roadmap_step_skill::Column::SkillId.eq(id)).count(db).await?;
    refuse_if_referenced::<skill::Entity>(
        &before,
        usize::try_from(paths + steps).unwrap_or(usize::MAX),
        ("career path or roadmap step", "career paths or roadmap steps"),
        detach,
    )?;
    rows::delete::<skill::Entity, _>(db, actor, before, async |txn| {
        let needing: Vec<Uuid> = career_path_skill::Entity::find()
            .select_only()
            .column(career_path_skill::Column::CareerPathId)
            .filter(career_path_skill::Column::SkillId.eq(id))
            .into_tuple()
            .all(txn)
            .await?;
        career_path_skill::Entity::delete_many().filter(career_path_skill::Column::SkillId.eq(id)).exec(txn).await?;
        roadmap_step_skill::Entity::delete_many().filter(roadmap_step_skill::Column::SkillId.eq(id)).exec(txn).await?;
        // The paths that needed it now weigh less, and the skill leaves every graph answer.
        crate::graph::refresh(txn, &needing).await
    })
    .await
}

/// A technology as created or changed.
#[derive(Clone, Debug, Default)]
pub struct TechnologyFields {
    /// Unique handle.
    pub slug: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// What sort of technology.
    pub kind: Option<TechnologyKind>,
    /// What it is; `Some(None)` clears it.
    pub description: Option<Option<String>>,
    /// The slug of the language it is built on; `Some(None)` clears it.
    pub built_on: Option<Option<String>>,
}

async fn built_on_id(db: &Db, slug: Option<&str>, this: Option<Uuid>) -> Result<Option<Uuid>> {
    let Some(slug) = slug.map(str::trim).filter(|slug| !slug.is_empty()) else { return Ok(None) };
    let language = technology::Entity::find()
        .filter(technology::Column::Slug.eq(slug.to_lowercase()))
        .one(db)
        .await?
        .ok_or_else(|| Error::invalid("built_on", format!("names {slug}, which is no technology's slug")))?;
    if Some(language.id) == this {
        return Err(Error::invalid("built_on", "names the technology itself: a technology cannot be built on itself"));
    }
    Ok(Some(language.id))
}

/// Creates a technology.
pub async fn create_technology(db: &Db, actor: &Actor, fields: TechnologyFields) -> Result<technology::Model> {
    let slug = check_slug("slug", &required("slug", fields.slug)?)?;
    let name = check_text("name", &required("name", fields.name)?, 1, MAX_NAME)?;
    let description = check_optional_text("description", fields.description.flatten().as_deref(), MAX_DESCRIPTION)?;
    slug_free::<technology::Entity>(db, technology::Column::Slug, &slug, None, |t| t.id).await?;
    let built_on = built_on_id(db, fields.built_on.flatten().as_deref(), None).await?;
    let row = technology::ActiveModel {
        slug: Set(slug),
        name: Set(name),
        kind: Set(required("kind", fields.kind)?),
        description: Set(description),
        built_on_id: Set(built_on),
        ..Default::default()
    };
    rows::insert::<technology::Entity>(db, actor, row).await
}

/// Changes a technology; `None` fields stay.
pub async fn update_technology(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    expected_version: i32,
    fields: TechnologyFields,
) -> Result<technology::Model> {
    let before = rows::current::<technology::Entity>(db, id, expected_version).await?;
    let mut row = before.clone().into_active_model();
    if let Some(slug) = &fields.slug {
        let slug = check_slug("slug", slug)?;
        slug_free::<technology::Entity>(db, technology::Column::Slug, &slug, Some(id), |t| t.id).await?;
        row.slug = Set(slug);
    }
    if let Some(name) = &fields.name {
        row.name = Set(check_text("name", name, 1, MAX_NAME)?);
    }
    if let Some(kind) = fields.kind {
        row.kind = Set(kind);
    }
    if let Some(description) = &fields.description {
        row.description = Set(check_optional_text("description", description.as_deref(), MAX_DESCRIPTION)?);
    }
    if let Some(built_on) = &fields.built_on {
        row.built_on_id = Set(built_on_id(db, built_on.as_deref(), Some(id)).await?);
    }
    rows::update::<technology::Entity, _>(db, actor, "update", before, row, async |_| Ok(None)).await
}

/// Deletes a technology. Skills practised through it and frameworks built on it keep it unless
/// `detach` drops those links.
pub async fn delete_technology(db: &Db, actor: &Actor, id: Uuid, expected_version: i32, detach: bool) -> Result<()> {
    let before = rows::current::<technology::Entity>(db, id, expected_version).await?;
    let skills =
        skill_technology::Entity::find().filter(skill_technology::Column::TechnologyId.eq(id)).count(db).await?;
    let frameworks = technology::Entity::find().filter(technology::Column::BuiltOnId.eq(id)).count(db).await?;
    refuse_if_referenced::<technology::Entity>(
        &before,
        usize::try_from(skills + frameworks).unwrap_or(usize::MAX),
        ("skill or framework", "skills or frameworks"),
        detach,
    )?;
    rows::delete::<technology::Entity, _>(db, actor, before, async |txn| {
        skill_technology::Entity::delete_many().filter(skill_technology::Column::TechnologyId.eq(id)).exec(txn).await?;
        technology::Entity::update_many()
            .col_expr(technology::Column::BuiltOnId, sea_orm::sea_query::Expr::value(Option::<Uuid>::None))
            .filter(technology::Column::BuiltOnId.eq(id))
            .exec(txn)
            .await?;
        Ok(())
    })
    .await
}

/// An industry or a benefit as created or changed: both are a slug and a name.
#[derive(Clone, Debug, Default)]
pub struct NamedFields {
    /// Unique handle.
    pub slug: Option<String>,
    /// Name.
    pub name: Option<String>,
}

/// Create and update for a vocabulary that is just a slug and a name.
macro_rules! named_vocabulary {
    ($module:ident, $create:ident, $update:ident, $noun:literal) => {
        #[doc = concat!("Creates ", $noun, ".")]
        pub async fn $create(db: &Db, actor: &Actor, fields: NamedFields) -> Result<$module::Model> {
            let slug = check_slug("slug", &required("slug", fields.slug)?)?;
            let name = check_text("name", &required("name", fields.name)?, 1, MAX_NAME)?;
            slug_free::<$module::Entity>(db, $module::Column::Slug, &slug, None, |row| row.id).await?;
            let row = $module::ActiveModel { slug: Set(slug), name: Set(name), ..Default::default() };
            rows::insert::<$module::Entity>(db, actor, row).await
        }

        #[doc = concat!("Changes ", $noun, "; `None` fields stay.")]
        pub async fn $update(
            db: &Db,
            actor: &Actor,
            id: Uuid,
            expected_version: i32,
            fields: NamedFields,
        ) -> Result<$module::Model> {
            let before = rows::current::<$module::Entity>(db, id, expected_version).await?;
            let mut row = before.clone().into_active_model();
            if let Some(slug) = &fields.slug {
                let slug = check_slug("slug", slug)?;
                slug_free::<$module::Entity>(db, $module::Column::Slug, &slug, Some(id), |row| row.id).await?;
                row.slug = Set(slug);
            }
            if let Some(name) = &fields.name {
                row.name = Set(check_text("name", name, 1, MAX_NAME)?);
            }
            rows::update::<$module::Entity, _>(db, actor, "update", before, row, async |_| Ok(None)).await
        }
    };
}

named_vocabulary!(industry, create_industry, update_industry, "an industry");
named_vocabulary!(benefit, create_benefit, update_benefit, "a benefit");

/// Deletes an industry. Career paths and salary records that name it keep it unless `detach`
/// drops those links (salary records then cover all industries).
pub async fn delete_industry(db: &Db, actor: &Actor, id: Uuid, expected_version: i32, detach: bool) -> Result<()> {
    let before = rows::current::<industry::Entity>(db, id, expected_version).await?;
    let paths =
        career_path_industry::Entity::find().filter(career_path_industry::Column::IndustryId.eq(id)).count(db).await?;
    let salaries = salary_record::Entity::find().filter(salary_record::Column::IndustryId.eq(id)).count(db).await?;
    refuse_if_referenced::<industry::Entity>(
        &before,
        usize::try_from(paths + salaries).unwrap_or(usize::MAX),
        ("career path or salary record", "career paths or salary records"),
        detach,
    )?;
    rows::delete::<industry::Entity, _>(db, actor, before, async |txn| {
        career_path_industry::Entity::delete_many()
            .filter(career_path_industry::Column::IndustryId.eq(id))
            .exec(txn)
            .await?;
        salary_record::Entity::update_many()
            .col_expr(salary_record::Column::IndustryId, sea_orm::sea_query::Expr::value(Option::<Uuid>::None))
            .filter(salary_record::Column::IndustryId.eq(id))
            .exec(txn)
            .await?;
        Ok(())
    })
    .await
}

/// Deletes a benefit. Career paths that offer it keep it unless `detach` drops those links.
pub async fn delete_benefit(db: &Db, actor: &Actor, id: Uuid, expected_version: i32, detach: bool) -> Result<()> {
    let before = rows::current::<benefit::Entity>(db, id, expected_version).await?;
    let paths =
        career_path_benefit::Entity::find().filter(career_path_benefit::Column::BenefitId.eq(id)).count(db).await?;
    refuse_if_referenced::<benefit::Entity>(
        &before,
        usize::try_from(paths).unwrap_or(usize::MAX),
        ("career path", "career paths"),
        detach,
    )?;
    rows::delete::<benefit::Entity, _>(db, actor, before, async |txn| {
        career_path_benefit::Entity::delete_many()
            .filter(career_path_benefit::Column::BenefitId.eq(id))
            .exec(txn)
            .await?;
        Ok(())
    })
    .await
}
