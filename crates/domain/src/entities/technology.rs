//! A language, framework, database, server, API style or data format that skills use.

use sea_orm::entity::prelude::*;

use crate::enums::TechnologyKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "technology")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub kind: TechnologyKind,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// The language a framework is written in and used from (Django is built on Python).
    pub built_on_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

versioned_row!();
