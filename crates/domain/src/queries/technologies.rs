//! Technologies and the skills that use them.

use itertools::Itertools;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{Direction, search_condition};
use crate::Result;
use crate::entities::{skill, skill_technology, technology};
use crate::enums::TechnologyKind;
use crate::page::{self, Cursor, Order, Page, PageRequest, SortValue};
use crate::positional;
use crate::projection::Columns;

/// Narrows the list of technologies.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Case-insensitive text found in the name, description or slug.
    pub search: Option<String>,
    /// Only technologies of this kind.
    pub kind: Option<TechnologyKind>,
}

/// One technology by slug, with `columns` read.
pub async fn by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
    columns: Columns<technology::Entity>,
) -> Result<Option<technology::Model>> {
    let select = technology::Entity::find().filter(technology::Column::Slug.eq(slug.to_lowercase()));
    Ok(positional::one_of(select, columns.with(technology::Column::Id), db).await?)
}

/// The technologies among `ids`, with `columns` read.
pub async fn by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    columns: Columns<technology::Entity>,
) -> Result<Vec<technology::Model>> {
    super::among(db, (technology::Column::Id, ids), columns, |select| select).await
}

/// A page of technologies, by name, with `columns` read.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &Filter,
    direction: Direction,
    columns: Columns<technology::Entity>,
    page: PageRequest,
) -> Result<Page<technology::Model>> {
    let mut select = technology::Entity::find();
    if let Some(search) = &filter.search {
        use technology::Column::{Description, Name, Slug};
        if let Some(condition) = search_condition(search, &[Name, Description, Slug])? {
            select = select.filter(condition);
        }
    }
    if let Some(kind) = filter.kind {
        select = select.filter(technology::Column::Kind.eq(kind));
    }
    let order = Order {
        column: technology::Column::Name,
        direction,
        id: technology::Column::Id,
        id_direction: Direction::Asc,
        cursor: |row: &technology::Model| Cursor { value: SortValue::Text(row.name.clone()), id: row.id },
    };
    page::fetch(db, select, order, columns, page).await
}

/// The skills that use each technology in `technology_ids`, by skill name, with `columns` read.
pub async fn skills(
    db: &impl ConnectionTrait,
    technology_ids: &[Uuid],
    columns: Columns<skill::Entity>,
) -> Result<Vec<(Uuid, skill::Model)>> {
    let links = skill_technology::Entity::find()
        .filter(skill_technology::Column::TechnologyId.is_in(technology_ids.iter().copied()))
        .all(db)
        .await?;
    let mut pairs = Vec::with_capacity(links.len());
    // Each row takes its group of links: a lookup per row, not a scan of every link.
    let mut links_of_skill = links.into_iter().into_group_map_by(|link| link.skill_id);
    let skill_ids: Vec<Uuid> = links_of_skill.keys().copied().collect();
    let mut skills = super::skills::by_ids(db, &skill_ids, columns.with(skill::Column::Name)).await?;
    skills.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    for skill in skills {
        for link in links_of_skill.remove(&skill.id).unwrap_or_default() {
            pairs.push((link.technology_id, skill.clone()));
        }
    }
    Ok(pairs)
}
