//! A skill a career path needs, how much, and where it sits in the path's list.

use sea_orm::entity::prelude::*;

use crate::enums::Importance;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "career_path_skill")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub career_path_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub skill_id: Uuid,
    pub importance: Importance,
    pub position: i32,
    pub importance_score: Option<i32>,
    pub level_score: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::skill::Entity",
        from = "Column::SkillId",
        to = "super::skill::Column::Id",
        on_delete = "Cascade"
    )]
    Target,
}

impl Related<super::skill::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Target.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
