//! Another name an occupation goes by ("Backend Engineer" for Software Developers): found by
//! search, never shown as a path of its own.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "career_path_alternate_title")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub career_path_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub title: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
