//! One release of an open dataset that was imported: what it is, under which licence, the
//! credit that licence asks for, and the SHA-256 of every file read from it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "data_source")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub release: String,
    pub licence: String,
    pub url: String,
    #[sea_orm(column_type = "Text")]
    pub attribution: String,
    /// `{"file name": "sha-256 in hex", …}`.
    pub files: Json,
    pub imported_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
