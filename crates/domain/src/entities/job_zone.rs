//! One of O*NET's five job zones: how much preparation an occupation needs, from little (1) to
//! extensive (5), with what that means for education, experience and training.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "job_zone")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub zone: i32,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub experience: String,
    #[sea_orm(column_type = "Text")]
    pub education: String,
    #[sea_orm(column_type = "Text")]
    pub job_training: String,
    #[sea_orm(column_type = "Text")]
    pub examples: String,
    pub svp_range: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
