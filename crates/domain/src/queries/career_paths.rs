//! Career paths and everything that hangs off them.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Select};
use uuid::Uuid;

use super::{Direction, search_condition};
use crate::entities::{
    benefit, career_path, career_path_benefit, career_path_industry, career_path_skill, industry, learning_resource,
    related_career_path, responsibility, roadmap_step, salary_record, skill,
};
use crate::enums::PublicationStatus;
use crate::page::{self, Page, PageRequest};
use crate::positional;
use crate::{Result, Visibility};

/// Narrows the list of career paths.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Case-insensitive text found in the title, summary or slug.
    pub search: Option<String>,
    /// Only paths that need this skill (by slug).
    pub skill: Option<String>,
    /// Only paths with this status; ignored for callers who cannot see drafts.
    pub status: Option<PublicationStatus>,
}

/// What to sort career paths by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrderField {
    /// Alphabetical by title.
    #[default]
    Title,
    /// When the path was created.
    CreatedAt,
    /// When the path last changed.
    UpdatedAt,
}

/// Restricts a select of career paths to what `visibility` lets the caller see.
pub(crate) fn visible(select: Select<career_path::Entity>, visibility: Visibility) -> Select<career_path::Entity> {
    match visibility {
        Visibility::PublishedOnly => select.filter(career_path::Column::Status.eq(PublicationStatus::Published)),
        Visibility::IncludeDrafts => select,
    }
}

/// The ids of the career paths `visibility` lets the caller see, as a subquery.
pub(crate) fn visible_ids(visibility: Visibility) -> sea_orm::sea_query::SelectStatement {
    let mut query = Query::select();
    query.column(career_path::Column::Id).from(career_path::Entity);
    if visibility == Visibility::PublishedOnly {
        query.and_where(Expr::col(career_path::Column::Status).eq(PublicationStatus::Published.as_str()));
    }
    query
}

/// One career path by slug, if it exists and the caller may see it.
pub async fn by_slug(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    slug: &str,
) -> Result<Option<career_path::Model>> {
    let select = career_path::Entity::find().filter(career_path::Column::Slug.eq(slug.to_lowercase()));
    Ok(positional::one(visible(select, visibility), db).await?)
}

/// The career paths among `ids` that the caller may see.
pub async fn by_ids(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    ids: &[Uuid],
) -> Result<Vec<career_path::Model>> {
    let select = career_path::Entity::find().filter(career_path::Column::Id.is_in(ids.iter().copied()));
    Ok(positional::all(visible(select, visibility), db).await?)
}

/// A page of the career paths the caller may see.
pub async fn list(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    filter: &Filter,
    order: (OrderField, Direction),
    page: PageRequest,
) -> Result<Page<career_path::Model>> {
    let mut select = visible(career_path::Entity::find(), visibility);
    if let Some(search) = &filter.search {
        use career_path::Column::{Slug, Summary, Title};
        if let Some(condition) = search_condition(search, &[Title, Summary, Slug])? {
            select = select.filter(condition);
        }
    }
    if let Some(status) = filter.status {
        select = select.filter(career_path::Column::Status.eq(status));
    }
    if let Some(skill_slug) = &filter.skill {
        let paths_with_skill = Query::select()
            .column(career_path_skill::Column::CareerPathId)
            .from(career_path_skill::Entity)
            .inner_join(
                skill::Entity,
                Expr::col((skill::Entity, skill::Column::Id))
                    .equals((career_path_skill::Entity, career_path_skill::Column::SkillId)),
            )
            .and_where(Expr::col((skill::Entity, skill::Column::Slug)).eq(skill_slug.to_lowercase()))
            .to_owned();
        select = select.filter(career_path::Column::Id.in_subquery(paths_with_skill));
    }
    let column = match order.0 {
        OrderField::Title => career_path::Column::Title,
        OrderField::CreatedAt => career_path::Column::CreatedAt,
        OrderField::UpdatedAt => career_path::Column::UpdatedAt,
    };
    let select = select.order_by(column, order.1.into()).order_by_asc(career_path::Column::Id);
    page::fetch_by_position(db, select, page).await
}

/// The skills of each path in `path_ids`, with importance, in each path's order.
pub async fn skills(
    db: &impl ConnectionTrait,
    path_ids: &[Uuid],
) -> Result<Vec<(career_path_skill::Model, skill::Model)>> {
    super::linked::<career_path_skill::Entity, skill::Entity>(
        db,
        career_path_skill::Column::CareerPathId.is_in(path_ids.iter().copied()),
        career_path_skill::Column::Position,
    )
    .await
}

/// The responsibilities of each path in `path_ids`, in order.
pub async fn responsibilities(db: &impl ConnectionTrait, path_ids: &[Uuid]) -> Result<Vec<responsibility::Model>> {
    Ok(responsibility::Entity::find()
        .filter(responsibility::Column::CareerPathId.is_in(path_ids.iter().copied()))
        .order_by_asc(responsibility::Column::Position)
        .all(db)
        .await?)
}

/// The roadmap steps of each path in `path_ids`, in order.
pub async fn roadmap(db: &impl ConnectionTrait, path_ids: &[Uuid]) -> Result<Vec<roadmap_step::Model>> {
    Ok(roadmap_step::Entity::find()
        .filter(roadmap_step::Column::CareerPathId.is_in(path_ids.iter().copied()))
        .order_by_asc(roadmap_step::Column::Position)
        .all(db)
        .await?)
}

/// The learning resources of each roadmap step in `step_ids`, in order.
pub async fn resources(db: &impl ConnectionTrait, step_ids: &[Uuid]) -> Result<Vec<learning_resource::Model>> {
    Ok(learning_resource::Entity::find()
        .filter(learning_resource::Column::RoadmapStepId.is_in(step_ids.iter().copied()))
        .order_by_asc(learning_resource::Column::Position)
        .all(db)
        .await?)
}

/// The industries of each path in `path_ids`, in order.
pub async fn industries(db: &impl ConnectionTrait, path_ids: &[Uuid]) -> Result<Vec<(Uuid, industry::Model)>> {
    let rows = career_path_industry::Entity::find()
        .filter(career_path_industry::Column::CareerPathId.is_in(path_ids.iter().copied()))
        .order_by_asc(career_path_industry::Column::Position)
        .find_also_related(industry::Entity)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(link, row)| Some((link.career_path_id, row?))).collect())
}

/// The benefits of each path in `path_ids`, in order.
pub async fn benefits(db: &impl ConnectionTrait, path_ids: &[Uuid]) -> Result<Vec<(Uuid, benefit::Model)>> {
    let rows = career_path_benefit::Entity::find()
        .filter(career_path_benefit::Column::CareerPathId.is_in(path_ids.iter().copied()))
        .order_by_asc(career_path_benefit::Column::Position)
        .find_also_related(benefit::Entity)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(link, row)| Some((link.career_path_id, row?))).collect())
}

/// The related paths of each path in `path_ids` that the caller may see, in order.
pub async fn related(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    path_ids: &[Uuid],
) -> Result<Vec<(Uuid, career_path::Model)>> {
    let rows = related_career_path::Entity::find()
        .filter(related_career_path::Column::CareerPathId.is_in(path_ids.iter().copied()))
        .filter(related_career_path::Column::RelatedCareerPathId.in_subquery(visible_ids(visibility)))
        .order_by_asc(related_career_path::Column::Position)
        .find_also_related(career_path::Entity)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(link, row)| Some((link.career_path_id, row?))).collect())
}

/// Every salary record of each path in `path_ids`, newest first within a country.
pub async fn salary_records(db: &impl ConnectionTrait, path_ids: &[Uuid]) -> Result<Vec<salary_record::Model>> {
    let select = salary_record::Entity::find()
        .filter(salary_record::Column::CareerPathId.is_in(path_ids.iter().copied()))
        .order_by_asc(salary_record::Column::Country)
        .order_by_desc(salary_record::Column::AsOf)
        .order_by_asc(salary_record::Column::Id);
    Ok(positional::all(select, db).await?)
}

/// The record that summarises a path's pay in one country: the newest one that covers every
/// experience level, industry and location. `records` are one path's, as [`salary_records`]
/// orders them; `country` `None` takes the first country.
pub fn headline_salary<'a>(
    records: impl IntoIterator<Item = &'a salary_record::Model>,
    country: Option<&str>,
) -> Option<&'a salary_record::Model> {
    records.into_iter().find(|record| {
        record.experience_level.is_none()
            && record.industry_id.is_none()
            && record.location.is_none()
            && country.is_none_or(|wanted| record.country.eq_ignore_ascii_case(wanted))
    })
}
