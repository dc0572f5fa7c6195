//! Skills, the technologies they use, and the career paths and roadmap steps that need them.

use itertools::Itertools;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::{Direction, search_condition};
use crate::entities::{
    career_path, career_path_skill, roadmap_step, roadmap_step_skill, skill, skill_technology, technology,
};
use crate::enums::SkillCategory;
use crate::page::{self, Cursor, Order, Page, PageRequest, SortValue};
use crate::positional;
use crate::projection::Columns;
use crate::{Result, Visibility};

/// Narrows the list of skills.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Case-insensitive text found in the name, description or slug.
    pub search: Option<String>,
    /// Only skills of this category.
    pub category: Option<SkillCategory>,
}

/// One skill by slug, with `columns` read.
pub async fn by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
    columns: Columns<skill::Entity>,
) -> Result<Option<skill::Model>> {
    let select = skill::Entity::find().filter(skill::Column::Slug.eq(slug.to_lowercase()));
    Ok(positional::one_of(select, columns.with(skill::Column::Id), db).await?)
}

/// The skills among `ids`, with `columns` read.
pub async fn by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    columns: Columns<skill::Entity>,
) -> Result<Vec<skill::Model>> {
    super::among(db, (skill::Column::Id, ids), columns, |select| select).await
}

/// A page of skills, by name, with `columns` read.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &Filter,
    direction: Direction,
    columns: Columns<skill::Entity>,
    page: PageRequest,
) -> Result<Page<skill::Model>> {
    let mut select = skill::Entity::find();
    if let Some(search) = &filter.search {
        use skill::Column::{Description, Name, Slug};
        if let Some(condition) = search_condition(search, &[Name, Description, Slug])? {
            select = select.filter(condition);
        }
    }
    if let Some(category) = filter.category {
        select = select.filter(skill::Column::Category.eq(category));
    }
    let order = Order {
        column: skill::Column::Name,
        direction,
        id: skill::Column::Id,
        id_direction: Direction::Asc,
        cursor: |row: &skill::Model| Cursor { value: SortValue::Text(row.name.clone()), id: row.id },
    };
    page::fetch(db, select, order, columns, page).await
}

/// The technologies each skill in `skill_ids` uses, in order, with `columns` read and nothing
/// else, not even the id unless asked: on the nested benchmark query this is the largest batch,
/// and each technology's key was a fifth of the values PostgreSQL sent for it.
pub async fn technologies(
    db: &impl ConnectionTrait,
    skill_ids: &[Uuid],
    columns: Columns<technology::Entity>,
) -> Result<Vec<(Uuid, technology::Model)>> {
    let rows = super::linked::<skill_technology::Entity, technology::Entity>(
        db,
        super::listed_as_rows(db.get_database_backend(), skill_technology::Column::SkillId, skill_ids),
        skill_technology::Column::Position,
        Columns::of([skill_technology::Column::SkillId]),
        columns,
    )
    .await?;
    Ok(rows.into_iter().map(|(link, row)| (link.skill_id, row)).collect())
}

/// The career paths the caller may see that need each skill in `skill_ids`, with the link, by
/// title; `columns` of each path are read.
pub async fn career_paths(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    skill_ids: &[Uuid],
    columns: Columns<career_path::Entity>,
) -> Result<Vec<(career_path_skill::Model, career_path::Model)>> {
    let links = career_path_skill::Entity::find()
        .filter(career_path_skill::Column::SkillId.is_in(skill_ids.iter().copied()))
        .filter(career_path_skill::Column::CareerPathId.in_subquery(super::career_paths::visible_ids(visibility)))
        .all(db)
        .await?;
    let mut pairs = Vec::with_capacity(links.len());
    // Each row takes its group of links: a lookup per row, not a scan of every link.
    let mut links_of_path = links.into_iter().into_group_map_by(|link| link.career_path_id);
    let path_ids: Vec<Uuid> = links_of_path.keys().copied().collect();
    let columns = columns.with(career_path::Column::Title);
    let mut paths = super::career_paths::by_ids(db, visibility, &path_ids, columns).await?;
    paths.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id)));
    for path in paths {
        for link in links_of_path.remove(&path.id).unwrap_or_default() {
            pairs.push((link, path.clone()));
        }
    }
    Ok(pairs)
}

/// The roadmap steps that teach each skill in `skill_ids`, limited to the paths in `path_ids`.
pub async fn roadmap_steps(
    db: &impl ConnectionTrait,
    skill_ids: &[Uuid],
    path_ids: &[Uuid],
) -> Result<Vec<(Uuid, roadmap_step::Model)>> {
    let rows = roadmap_step_skill::Entity::find()
        .filter(roadmap_step_skill::Column::SkillId.is_in(skill_ids.iter().copied()))
        .find_also_related(roadmap_step::Entity)
        .filter(roadmap_step::Column::CareerPathId.is_in(path_ids.iter().copied()))
        .order_by_asc(roadmap_step::Column::Position)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(link, row)| Some((link.skill_id, row?))).collect())
}

/// The skills each roadmap step in `step_ids` teaches, with `columns` read.
pub async fn skills_taught(
    db: &impl ConnectionTrait,
    step_ids: &[Uuid],
    columns: Columns<skill::Entity>,
) -> Result<Vec<(Uuid, skill::Model)>> {
    let links = roadmap_step_skill::Entity::find()
        .filter(roadmap_step_skill::Column::RoadmapStepId.is_in(step_ids.iter().copied()))
        .order_by_asc(roadmap_step_skill::Column::Position)
        .all(db)
        .await?;
    let skill_ids: Vec<Uuid> = links.iter().map(|link| link.skill_id).collect();
    let skills = by_ids(db, &skill_ids, columns).await?;
    Ok(links
        .into_iter()
        .filter_map(|link| skills.iter().find(|s| s.id == link.skill_id).map(|s| (link.roadmap_step_id, s.clone())))
        .collect())
}
