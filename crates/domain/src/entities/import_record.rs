//! Where an imported row came from: its key in the source (`onet:15-1252.00`,
//! `oews:2024:US:15-1252:YEAR`), the row it became, the data source that last wrote it, and the
//! fields that import wrote. A rerun compares against `written`: equal means nothing to do; a
//! field whose row no longer holds what was written has been changed by an editor and is kept.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_record")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub source_key: String,
    pub entity_type: String,
    pub entity_id: Uuid,
    pub data_source_id: Uuid,
    pub written: Json,
    /// SHA-256 of `written` (hex), to find changed rows without comparing documents.
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
