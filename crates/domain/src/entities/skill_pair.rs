//! How strongly two skills go together: Σ over the paths of a scope that list both of the
//! smaller weight (in half points of the 0–100 scale). Stored in both directions. Derived by
//! [`crate::graph`], never edited.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "skill_pair")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub skill_id: Uuid,
    /// 0 every path, 1 published paths only.
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: i16,
    #[sea_orm(primary_key, auto_increment = false)]
    pub other_id: Uuid,
    pub strength: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
