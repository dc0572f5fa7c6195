//! A career path worth a look from another one.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "related_career_path")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub career_path_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub related_career_path_id: Uuid,
    pub position: i32,
    /// O*NET's tier for an imported pair: `Primary-Short`, `Primary-Long` or `Supplemental`.
    pub relatedness_tier: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::career_path::Entity",
        from = "Column::RelatedCareerPathId",
        to = "super::career_path::Column::Id",
        on_delete = "Cascade"
    )]
    Target,
}

impl Related<super::career_path::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Target.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
