//! A skill that a roadmap step teaches. The step is the relation's target, so a skill's steps load in one join.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roadmap_step_skill")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub skill_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub roadmap_step_id: Uuid,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::roadmap_step::Entity",
        from = "Column::RoadmapStepId",
        to = "super::roadmap_step::Column::Id",
        on_delete = "Cascade"
    )]
    Target,
}

impl Related<super::roadmap_step::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Target.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
