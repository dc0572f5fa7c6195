//! How much learning a skill moves people towards career paths, summed over the paths of a
//! scope: Σ score × the fit it adds. Derived by [`crate::graph`], never edited.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "skill_reach")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub skill_id: Uuid,
    /// 0 every path, 1 published paths only.
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: i16,
    pub value: f64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
