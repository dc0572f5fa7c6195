//! Objects of any kind by id, for Relay's `node(id:)`: ids are UUIDs, unique across every table,
//! so one statement finds which table holds each id, and one more per kind found reads the rows.
//! What hangs off a career path (its responsibilities, roadmap steps and their resources, salary
//! records) exists for a caller only when the path does, as everywhere else.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, SimpleExpr, UnionType};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::career_paths::visible_ids;
use crate::audit::EntityKind;
use crate::entities::{
    app_user, benefit, career_path, industry, learning_resource, responsibility, roadmap_step, salary_record, skill,
    technology,
};
use crate::projection::Columns;
use crate::{Error, Result, Visibility};

/// An object found by its id.
#[derive(Clone, Debug)]
pub enum Found {
    CareerPath(career_path::Model),
    Skill(skill::Model),
    Technology(technology::Model),
    Industry(industry::Model),
    Benefit(benefit::Model),
    Responsibility(responsibility::Model),
    RoadmapStep(roadmap_step::Model),
    LearningResource(learning_resource::Model),
    SalaryRecord(salary_record::Model),
    User(app_user::Model),
}

impl Found {
    /// The object's id.
    pub fn id(&self) -> Uuid {
        match self {
            Self::CareerPath(row) => row.id,
            Self::Skill(row) => row.id,
            Self::Technology(row) => row.id,
            Self::Industry(row) => row.id,
            Self::Benefit(row) => row.id,
            Self::Responsibility(row) => row.id,
            Self::RoadmapStep(row) => row.id,
            Self::LearningResource(row) => row.id,
            Self::SalaryRecord(row) => row.id,
            Self::User(row) => row.id,
        }
    }
}

/// The table that holds each kind's rows.
fn table(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::CareerPath => "career_path",
        EntityKind::Skill => "skill",
        EntityKind::Technology => "technology",
        EntityKind::Industry => "industry",
        EntityKind::Benefit => "benefit",
        EntityKind::Responsibility => "responsibility",
        EntityKind::RoadmapStep => "roadmap_step",
        EntityKind::LearningResource => "learning_resource",
        EntityKind::SalaryRecord => "salary_record",
        EntityKind::User => "app_user",
    }
}

/// The kind of each of `ids` that exists, in one statement: a `UNION ALL` of every table.
async fn kinds(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<(Uuid, EntityKind)>> {
    let select = |kind: EntityKind| -> SelectStatement {
        let mut query = Query::select();
        query
            .column(Alias::new("id"))
            // A literal, not a bound value: PostgreSQL cannot type a parameter in a select list
            // of a union. The names are this crate's own constants.
            .expr_as(Expr::cust(format!("'{}'", kind.name())), Alias::new("kind"))
            .from(Alias::new(table(kind)))
            .and_where(Expr::col(Alias::new("id")).is_in(ids.iter().copied()));
        query
    };
    let mut all = EntityKind::ALL.iter().copied();
    let mut union = select(all.next().unwrap_or(EntityKind::CareerPath));
    for kind in all {
        union.union(UnionType::All, select(kind));
    }
    let rows = db.query_all(&union).await?;
    rows.iter()
        .map(|row| {
            let id: Uuid = row.try_get("", "id")?;
            let kind: String = row.try_get("", "kind")?;
            let kind = EntityKind::named(&kind).ok_or_else(|| Error::Internal(format!("no kind {kind}")))?;
            Ok((id, kind))
        })
        .collect()
}

/// The objects among `ids` that exist and that `visibility` lets the caller see, in no order.
/// Whether a caller may see a user is the gateway's to decide.
pub async fn by_ids(db: &impl ConnectionTrait, visibility: Visibility, ids: &[Uuid]) -> Result<Vec<Found>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let kinds = kinds(db, ids).await?;
    let mut found = Vec::with_capacity(kinds.len());
    for kind in EntityKind::ALL.iter().copied() {
        let of_kind: Vec<Uuid> = kinds.iter().filter(|(_, k)| *k == kind).map(|(id, _)| *id).collect();
        if of_kind.is_empty() {
            continue;
        }
        match kind {
            EntityKind::CareerPath => found.extend(
                super::career_paths::by_ids(db, visibility, &of_kind, Columns::all())
                    .await?
                    .into_iter()
                    .map(Found::CareerPath),
            ),
            EntityKind::Skill => {
                found.extend(rows(db, skill::Column::Id, &of_kind, None).await?.into_iter().map(Found::Skill))
            }
            EntityKind::Technology => {
                found.extend(rows(db, technology::Column::Id, &of_kind, None).await?.into_iter().map(Found::Technology))
            }
            EntityKind::Industry => {
                found.extend(rows(db, industry::Column::Id, &of_kind, None).await?.into_iter().map(Found::Industry))
            }
            EntityKind::Benefit => {
                found.extend(rows(db, benefit::Column::Id, &of_kind, None).await?.into_iter().map(Found::Benefit))
            }
            EntityKind::Responsibility => {
                let within = responsibility::Column::CareerPathId.in_subquery(visible_ids(visibility));
                let found_rows = rows(db, responsibility::Column::Id, &of_kind, Some(within)).await?;
                found.extend(found_rows.into_iter().map(Found::Responsibility))
            }
            EntityKind::RoadmapStep => {
                let within = roadmap_step::Column::CareerPathId.in_subquery(visible_ids(visibility));
                let found_rows = rows(db, roadmap_step::Column::Id, &of_kind, Some(within)).await?;
                found.extend(found_rows.into_iter().map(Found::RoadmapStep))
            }
            EntityKind::LearningResource => {
                let mut steps = Query::select();
                steps
                    .column(roadmap_step::Column::Id)
                    .from(roadmap_step::Entity)
                    .and_where(roadmap_step::Column::CareerPathId.in_subquery(visible_ids(visibility)));
                let within = learning_resource::Column::RoadmapStepId.in_subquery(steps);
                let found_rows = rows(db, learning_resource::Column::Id, &of_kind, Some(within)).await?;
                found.extend(found_rows.into_iter().map(Found::LearningResource))
            }
            EntityKind::SalaryRecord => {
                let within = salary_record::Column::CareerPathId.in_subquery(visible_ids(visibility));
                let found_rows = rows(db, salary_record::Column::Id, &of_kind, Some(within)).await?;
                found.extend(found_rows.into_iter().map(Found::SalaryRecord))
            }
            EntityKind::User => {
                found.extend(rows(db, app_user::Column::Id, &of_kind, None).await?.into_iter().map(Found::User))
            }
        }
    }
    Ok(found)
}

/// The whole rows of `id`'s table among `ids`, and `within` them when given.
async fn rows<C>(
    db: &impl ConnectionTrait,
    id: C,
    ids: &[Uuid],
    within: Option<SimpleExpr>,
) -> Result<Vec<<C::EntityName as EntityTrait>::Model>>
where
    C: ColumnTrait,
    C::EntityName: EntityTrait<Column = C>,
    <C::EntityName as EntityTrait>::Model: crate::positional::Positional,
{
    let whole = Columns::<C::EntityName>::all();
    super::among(db, (id, ids), whole, |select| match within {
        Some(within) => select.filter(within),
        None => select,
    })
    .await
}
