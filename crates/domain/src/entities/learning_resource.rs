//! Where to learn what a roadmap step asks for.

use sea_orm::entity::prelude::*;

use crate::enums::ResourceKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "learning_resource")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub roadmap_step_id: Uuid,
    pub position: i32,
    pub name: String,
    pub kind: ResourceKind,
    pub url: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

versioned_row!();
