//! Industries and benefits: short lists, returned whole.

use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use uuid::Uuid;

use crate::Result;
use crate::entities::{benefit, industry};
use crate::projection::Columns;

/// Every industry, by name.
pub async fn industries(db: &impl ConnectionTrait) -> Result<Vec<industry::Model>> {
    Ok(industry::Entity::find().order_by_asc(industry::Column::Name).all(db).await?)
}

/// The industries among `ids`, with `columns` read.
pub async fn industries_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    columns: Columns<industry::Entity>,
) -> Result<Vec<industry::Model>> {
    super::among(db, (industry::Column::Id, ids), columns, |select| select).await
}

/// Every benefit, by name.
pub async fn benefits(db: &impl ConnectionTrait) -> Result<Vec<benefit::Model>> {
    Ok(benefit::Entity::find().order_by_asc(benefit::Column::Name).all(db).await?)
}
