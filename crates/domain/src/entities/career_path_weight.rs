//! The total weight of a career path's skills (in half points of the 0–100 scale): the
//! denominator of its fit. Derived by [`crate::graph`], never edited.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "career_path_weight")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub career_path_id: Uuid,
    pub total: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
