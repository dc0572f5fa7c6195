//! What a career path owns besides its pay: its responsibilities and roadmap steps, with their
//! learning resources. Salary records are in [`super::salaries`].

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::rows;
use super::{check_text, check_url, path_exists, required};
use crate::audit::Actor;
use crate::entities::{learning_resource, responsibility, roadmap_step};
use crate::enums::{Recommendation, ResourceKind};
use crate::{Db, Error, Result};

/// Longest title or name.
pub const MAX_TITLE: usize = 200;
/// Longest description or note.
pub const MAX_TEXT: usize = 10_000;

fn check_position(position: i32) -> Result<i32> {
    if (0..=10_000).contains(&position) {
        Ok(position)
    } else {
        Err(Error::invalid("position", "must be between 0 and 10000"))
    }
}

/// Where an item goes: the given position (checked), or after the last sibling under `parent`.
async fn position_for<E: EntityTrait>(
    db: &impl ConnectionTrait,
    given: Option<i32>,
    parent_column: E::Column,
    parent: Uuid,
    position_column: E::Column,
    position_of: impl Fn(&E::Model) -> i32,
) -> Result<i32> {
    if let Some(position) = given {
        return check_position(position);
    }
    let last = E::find().filter(parent_column.eq(parent)).order_by_desc(position_column).one(db).await?;
    Ok(last.map_or(0, |last| position_of(&last).saturating_add(1)))
}

/// A responsibility as created or changed.
#[derive(Clone, Debug, Default)]
pub struct ResponsibilityFields {
    /// Short name of the task.
    pub title: Option<String>,
    /// What it involves.
    pub description: Option<String>,
    /// Place in the list; new ones go last when omitted.
    pub position: Option<i32>,
}

/// Adds a responsibility to the career path `career_path_id`.
pub async fn create_responsibility(
    db: &Db,
    actor: &Actor,
    career_path_id: Uuid,
    fields: ResponsibilityFields,
) -> Result<responsibility::Model> {
    path_exists(db, career_path_id).await?;
    let title = check_text("title", &required("title", fields.title)?, 1, MAX_TITLE)?;
    let description = check_text("description", &required("description", fields.description)?, 1, MAX_TEXT)?;
    let position = position_for::<responsibility::Entity>(
        db,
        fields.position,
        responsibility::Column::CareerPathId,
        career_path_id,
        responsibility::Column::Position,
        |r| r.position,
    )
    .await?;
    let row = responsibility::ActiveModel {
        career_path_id: Set(career_path_id),
        position: Set(position),
        title: Set(title),
        description: Set(description),
        ..Default::default()
    };
    rows::insert::<responsibility::Entity>(db, actor, row).await
}

/// Changes a responsibility; `None` fields stay.
pub async fn update_responsibility(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    expected_version: i32,
    fields: ResponsibilityFields,
) -> Result<responsibility::Model> {
    let before = rows::current::<responsibility::Entity>(db, id, expected_version).await?;
    let mut row = before.clone().into_active_model();
    if let Some(title) = &fields.title {
        row.title = Set(check_text("title", title, 1, MAX_TITLE)?);
    }
    if let Some(description) = &fields.description {
        row.description = Set(check_text("description", description, 1, MAX_TEXT)?);
    }
    if let Some(position) = fields.position {
        row.position = Set(check_position(position)?);
    }
    rows::update::<responsibility::Entity, _>(db, actor, "update", before, row, async |_| Ok(None)).await
}

/// Deletes a responsibility.
pub async fn delete_responsibility(db: &Db, actor: &Actor, id: Uuid, expected_version: i32) -> Result<()> {
    let before = rows::current::<responsibility::Entity>(db, id, expected_version).await?;
    rows::delete::<responsibility::Entity, _>(db, actor, before, async |_| Ok(())).await
}

/// A roadmap step as created or changed.
#[derive(Clone, Debug, Default)]
pub struct RoadmapStepFields {
    /// What to do.
    pub title: Option<String>,
    /// How and why.
    pub description: Option<String>,
    /// Advised for everyone, or optional.
    pub recommendation: Option<Recommendation>,
    /// Place in the roadmap; new ones go last when omitted.
    pub position: Option<i32>,
}

/// Adds a step to the roadmap of the career path `career_path_id`.
pub async fn create_roadmap_step(
    db: &Db,
    actor: &Actor,
    career_path_id: Uuid,
    fields: RoadmapStepFields,
) -> Result<roadmap_step::Model> {
    path_exists(db, career_path_id).await?;
    let title = check_text("title", &required("title", fields.title)?, 1, MAX_TITLE)?;
    let description = check_text("description", &required("description", fields.description)?, 1, MAX_TEXT)?;
    let position = position_for::<roadmap_step::Entity>(
        db,
        fields.position,
        roadmap_step::Column::CareerPathId,
        career_path_id,
        roadmap_step::Column::Position,
        |s| s.position,
    )
    .await?;
    let row = roadmap_step::ActiveModel {
        career_path_id: Set(career_path_id),
        position: Set(position),
        title: Set(title),
        description: Set(description),
        recommendation: Set(fields.recommendation.unwrap_or(Recommendation::Recommended)),
        ..Default::default()
    };
    rows::insert::<roadmap_step::Entity>(db, actor, row).await
}

/// Changes a roadmap step; `None` fields stay.
pub async fn update_roadmap_step(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    expected_version: i32,
    fields: RoadmapStepFields,
) -> Result<roadmap_step::Model> {
    let before = rows::current::<roadmap_step::Entity>(db, id, expected_version).await?;
    let mut row = before.clone().into_active_model();
    if let Some(title) = &fields.title {
        row.title = Set(check_text("title", title, 1, MAX_TITLE)?);
    }
    if let Some(description) = &fields.description {
        row.description = Set(check_text("description", description, 1, MAX_TEXT)?);
    }
    if let Some(recommendation) = fields.recommendation {
        row.recommendation = Set(recommendation);
    }
    if let Some(position) = fields.position {
        row.position = Set(check_position(position)?);
    }
    rows::update::<roadmap_step::Entity, _>(db, actor, "update", before, row, async |_| Ok(None)).await
}

/// Deletes a roadmap step with its learning resources (which belong to it).
pub async fn delete_roadmap_step(db: &Db, actor: &Actor, id: Uuid, expected_version: i32) -> Result<()> {
    let before = rows::current::<roadmap_step::Entity>(db, id, expected_version).await?;
    rows::delete::<roadmap_step::Entity, _>(db, actor, before, async |_| Ok(())).await
}

/// A learning resource as created or changed.
#[derive(Clone, Debug, Default)]
pub struct ResourceFields {
    /// Name.
    pub name: Option<String>,
    /// What form it takes.
    pub kind: Option<ResourceKind>,
    /// Where to find it; `Some(None)` clears it.
    pub url: Option<Option<String>>,
    /// Place in the step's list; new ones go last when omitted.
    pub position: Option<i32>,
}

/// Adds a learning resource to the roadmap step `roadmap_step_id`.
pub async fn create_resource(
    db: &Db,
    actor: &Actor,
    roadmap_step_id: Uuid,
    fields: ResourceFields,
) -> Result<learning_resource::Model> {
    roadmap_step::Entity::find_by_id(roadmap_step_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::invalid("roadmap_step_id", "is no roadmap step's id"))?;
    let name = check_text("name", &required("name", fields.name)?, 1, MAX_TITLE)?;
    let url = check_url("url", fields.url.flatten().as_deref())?;
    let position = position_for::<learning_resource::Entity>(
        db,
        fields.position,
        learning_resource::Column::RoadmapStepId,
        roadmap_step_id,
        learning_resource::Column::Position,
        |r| r.position,
    )
    .await?;
    let row = learning_resource::ActiveModel {
        roadmap_step_id: Set(roadmap_step_id),
        position: Set(position),
        name: Set(name),
        kind: Set(required("kind", fields.kind)?),
        url: Set(url),
        ..Default::default()
    };
    rows::insert::<learning_resource::Entity>(db, actor, row).await
}

/// Changes a learning resource; `None` fields stay.
pub async fn update_resource(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    expected_version: i32,
    fields: ResourceFields,
) -> Result<learning_resource::Model> {
    let before = rows::current::<learning_resource::Entity>(db, id, expected_version).await?;
    let mut row = before.clone().into_active_model();
    if let Some(name) = &fields.name {
        row.name = Set(check_text("name", name, 1, MAX_TITLE)?);
    }
    if let Some(kind) = fields.kind {
        row.kind = Set(kind);
    }
    if let Some(url) = &fields.url {
        row.url = Set(check_url("url", url.as_deref())?);
    }
    if let Some(position) = fields.position {
        row.position = Set(check_position(position)?);
    }
    rows::update::<learning_resource::Entity, _>(db, actor, "update", before, row, async |_| Ok(None)).await
}

/// Deletes a learning resource.
pub async fn delete_resource(db: &Db, actor: &Actor, id: Uuid, expected_version: i32) -> Result<()> {
    let before = rows::current::<learning_resource::Entity>(db, id, expected_version).await?;
    rows::delete::<learning_resource::Entity, _>(db, actor, before, async |_| Ok(())).await
}
