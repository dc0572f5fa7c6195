//! Career paths and everything that hangs off them.

use itertools::Itertools;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use uuid::Uuid;

use super::{Direction, search_condition};
use crate::entities::{
    benefit, career_path, career_path_benefit, career_path_industry, career_path_skill, career_path_technology,
    data_source, import_record, industry, job_zone, learning_resource, related_career_path, responsibility,
    roadmap_step, salary_record, skill, technology,
};
use crate::enums::PublicationStatus;
use crate::page::{self, Cursor, Order, Page, PageRequest, SortValue};
use crate::positional;
use crate::projection::Columns;
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

/// [`visible`] for statements written as SQL text: a condition on the career path aliased
/// `alias`, to add to a `WHERE` clause (nothing when drafts may be seen).
pub(crate) fn visible_sql(alias: &str, visibility: Visibility) -> String {
    match visibility {
        Visibility::PublishedOnly => format!(" AND {alias}.status = '{}'", PublicationStatus::Published.as_str()),
        Visibility::IncludeDrafts => String::new(),
    }
}

/// One career path by slug, if it exists and the caller may see it, with `columns` read.
pub async fn by_slug(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    slug: &str,
    columns: Columns<career_path::Entity>,
) -> Result<Option<career_path::Model>> {
    let select = career_path::Entity::find().filter(career_path::Column::Slug.eq(slug.to_lowercase()));
    Ok(positional::one_of(visible(select, visibility), columns.with(career_path::Column::Id), db).await?)
}

/// The career paths among `ids` that the caller may see, with `columns` read.
pub async fn by_ids(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    ids: &[Uuid],
    columns: Columns<career_path::Entity>,
) -> Result<Vec<career_path::Model>> {
    super::among(db, (career_path::Column::Id, ids), columns, |select| visible(select, visibility)).await
}

/// A page of the career paths the caller may see, with `columns` read.
pub async fn list(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    filter: &Filter,
    order: (OrderField, Direction),
    columns: Columns<career_path::Entity>,
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
    let (column, cursor): (_, fn(&career_path::Model) -> Cursor) = match order.0 {
        OrderField::Title => {
            (career_path::Column::Title, |row| Cursor { value: SortValue::Text(row.title.clone()), id: row.id })
        }
        OrderField::CreatedAt => {
            (career_path::Column::CreatedAt, |row| Cursor { value: SortValue::Time(row.created_at), id: row.id })
        }
        OrderField::UpdatedAt => {
            (career_path::Column::UpdatedAt, |row| Cursor { value: SortValue::Time(row.updated_at), id: row.id })
        }
    };
    let order = Order { column, direction: order.1, id: career_path::Column::Id, id_direction: Direction::Asc, cursor };
    page::fetch(db, select, order, columns, page).await
}

/// The skills of each path in `path_ids`, each with its link to the path, in each path's order;
/// `link` of each link's columns (its path always) and `columns` of each skill (its id always)
/// are read. A link's `skill_id` and `position` hold their values only when `link` names them.
pub async fn skills(
    db: &impl ConnectionTrait,
    path_ids: &[Uuid],
    link: Columns<career_path_skill::Entity>,
    columns: Columns<skill::Entity>,
) -> Result<Vec<(career_path_skill::Model, skill::Model)>> {
    super::linked::<career_path_skill::Entity, skill::Entity>(
        db,
        career_path_skill::Column::CareerPathId.is_in(path_ids.iter().copied()),
        career_path_skill::Column::Position,
        link.with(career_path_skill::Column::CareerPathId),
        columns.with(skill::Column::Id),
    )
    .await
}

/// The technologies each path in `path_ids` uses directly (O*NET's technology skills), by
/// commodity, with `columns` of each technology read.
pub async fn technology_uses(
    db: &impl ConnectionTrait,
    path_ids: &[Uuid],
    columns: Columns<technology::Entity>,
) -> Result<Vec<(career_path_technology::Model, technology::Model)>> {
    super::linked::<career_path_technology::Entity, technology::Entity>(
        db,
        career_path_technology::Column::CareerPathId.is_in(path_ids.iter().copied()),
        career_path_technology::Column::Position,
        Columns::all(),
        columns.with(technology::Column::Id),
    )
    .await
}

/// The job zones among `zones`.
pub async fn job_zones(db: &impl ConnectionTrait, zones: &[i32]) -> Result<Vec<job_zone::Model>> {
    Ok(job_zone::Entity::find().filter(job_zone::Column::Zone.is_in(zones.iter().copied())).all(db).await?)
}

/// The data sources each path in `path_ids` was imported from (its own rows' and its salary
/// records'), as (path id, source) pairs, each source once per path.
pub async fn sources(db: &impl ConnectionTrait, path_ids: &[Uuid]) -> Result<Vec<(Uuid, data_source::Model)>> {
    let records_of_paths = Query::select()
        .column(salary_record::Column::Id)
        .from(salary_record::Entity)
        .and_where(salary_record::Column::CareerPathId.is_in(path_ids.iter().copied()))
        .to_owned();
    let records: Vec<(Uuid, Uuid)> = import_record::Entity::find()
        .select_only()
        .columns([import_record::Column::EntityId, import_record::Column::DataSourceId])
        .filter(
            import_record::Column::EntityId
                .is_in(path_ids.iter().copied())
                .or(Expr::col(import_record::Column::EntityId).in_subquery(records_of_paths)),
        )
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let salary_paths: std::collections::HashMap<Uuid, Uuid> = salary_record::Entity::find()
        .select_only()
        .columns([salary_record::Column::Id, salary_record::Column::CareerPathId])
        .filter(salary_record::Column::CareerPathId.is_in(path_ids.iter().copied()))
        .into_tuple::<(Uuid, Uuid)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let source_ids: Vec<Uuid> = records.iter().map(|(_, source)| *source).unique().collect();
    let sources: std::collections::HashMap<Uuid, data_source::Model> = data_source::Entity::find()
        .filter(data_source::Column::Id.is_in(source_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|source| (source.id, source))
        .collect();
    Ok(records
        .into_iter()
        .filter_map(|(entity, source)| {
            let path = salary_paths.get(&entity).copied().unwrap_or(entity);
            Some((path, sources.get(&source)?.clone()))
        })
        .unique_by(|(path, source)| (*path, source.id))
        .collect())
}

/// Every data source imported, newest first.
pub async fn data_sources(db: &impl ConnectionTrait) -> Result<Vec<data_source::Model>> {
    Ok(data_source::Entity::find()
        .order_by_desc(data_source::Column::ImportedAt)
        .order_by_asc(data_source::Column::Name)
        .all(db)
        .await?)
}

/// The responsibilities of each path in `path_ids`, in order, with `columns` read.
pub async fn responsibilities(
    db: &impl ConnectionTrait,
    path_ids: &[Uuid],
    columns: Columns<responsibility::Entity>,
) -> Result<Vec<responsibility::Model>> {
    use responsibility::Column::{CareerPathId, Id, Position};
    super::among(db, (CareerPathId, path_ids), columns.with(Id), |select| select.order_by_asc(Position)).await
}

/// The roadmap steps of each path in `path_ids`, in order, with `columns` read.
pub async fn roadmap(
    db: &impl ConnectionTrait,
    path_ids: &[Uuid],
    columns: Columns<roadmap_step::Entity>,
) -> Result<Vec<roadmap_step::Model>> {
    use roadmap_step::Column::{CareerPathId, Id, Position};
    super::among(db, (CareerPathId, path_ids), columns.with(Id), |select| select.order_by_asc(Position)).await
}

/// The learning resources of each roadmap step in `step_ids`, in order, with `columns` read.
pub async fn resources(
    db: &impl ConnectionTrait,
    step_ids: &[Uuid],
    columns: Columns<learning_resource::Entity>,
) -> Result<Vec<learning_resource::Model>> {
    use learning_resource::Column::{Id, Position, RoadmapStepId};
    super::among(db, (RoadmapStepId, step_ids), columns.with(Id), |select| select.order_by_asc(Position)).await
}

/// The industries of each path in `path_ids`, in order, with `columns` read.
pub async fn industries(
    db: &impl ConnectionTrait,
    path_ids: &[Uuid],
    columns: Columns<industry::Entity>,
) -> Result<Vec<(Uuid, industry::Model)>> {
    let rows = super::linked::<career_path_industry::Entity, industry::Entity>(
        db,
        career_path_industry::Column::CareerPathId.is_in(path_ids.iter().copied()),
        career_path_industry::Column::Position,
        Columns::of([career_path_industry::Column::CareerPathId]),
        columns.with(industry::Column::Id),
    )
    .await?;
    Ok(rows.into_iter().map(|(link, row)| (link.career_path_id, row)).collect())
}

/// The benefits of each path in `path_ids`, in order, with `columns` read.
pub async fn benefits(
    db: &impl ConnectionTrait,
    path_ids: &[Uuid],
    columns: Columns<benefit::Entity>,
) -> Result<Vec<(Uuid, benefit::Model)>> {
    let rows = super::linked::<career_path_benefit::Entity, benefit::Entity>(
        db,
        career_path_benefit::Column::CareerPathId.is_in(path_ids.iter().copied()),
        career_path_benefit::Column::Position,
        Columns::of([career_path_benefit::Column::CareerPathId]),
        columns.with(benefit::Column::Id),
    )
    .await?;
    Ok(rows.into_iter().map(|(link, row)| (link.career_path_id, row)).collect())
}

/// The related paths of each path in `path_ids` that the caller may see, in order, with
/// `columns` read.
pub async fn related(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    path_ids: &[Uuid],
    columns: Columns<career_path::Entity>,
) -> Result<Vec<(Uuid, career_path::Model)>> {
    let rows = super::linked::<related_career_path::Entity, career_path::Entity>(
        db,
        related_career_path::Column::CareerPathId
            .is_in(path_ids.iter().copied())
            .and(related_career_path::Column::RelatedCareerPathId.in_subquery(visible_ids(visibility))),
        related_career_path::Column::Position,
        Columns::of([related_career_path::Column::CareerPathId]),
        columns.with(career_path::Column::Id),
    )
    .await?;
    Ok(rows.into_iter().map(|(link, row)| (link.career_path_id, row)).collect())
}

/// Every salary record of each path in `path_ids`, newest first within a country, with
/// `columns` read.
pub async fn salary_records(
    db: &impl ConnectionTrait,
    path_ids: &[Uuid],
    columns: Columns<salary_record::Entity>,
) -> Result<Vec<salary_record::Model>> {
    use salary_record::Column::{AsOf, CareerPathId, Country, Id};
    // Ordered here rather than by the database, as `linked` orders links: the sort was half of
    // the statement's time in PostgreSQL on the nested benchmark query. Country codes are ASCII
    // capitals and ids compare bytewise, so this is the order PostgreSQL and SQLite gave.
    let records = super::among(db, (CareerPathId, path_ids), columns.with(Id).with(Country).with(AsOf), |s| s).await?;
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_unstable_by(|&a, &b| {
        let (a, b) = (&records[a], &records[b]);
        a.country.cmp(&b.country).then(b.as_of.cmp(&a.as_of)).then(a.id.cmp(&b.id))
    });
    let mut records: Vec<Option<salary_record::Model>> = records.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|at| records[at].take()).collect())
}

/// The salary record columns [`headline_salary`] reads to choose a record.
pub fn headline_salary_columns() -> Columns<salary_record::Entity> {
    use salary_record::Column::{Country, ExperienceLevel, IndustryId, Location};
    Columns::of([Country, ExperienceLevel, IndustryId, Location])
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
