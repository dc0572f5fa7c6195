//! A technology an occupation uses at work, as O*NET's Technology Skills list it: grouped by
//! its UNSPSC commodity, flagged when employers ask for it often (hot) or O*NET marks it in demand.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "career_path_technology")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub career_path_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub technology_id: Uuid,
    pub position: i32,
    pub commodity_code: Option<i32>,
    pub commodity_title: Option<String>,
    pub hot: bool,
    pub in_demand: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::technology::Entity",
        from = "Column::TechnologyId",
        to = "super::technology::Column::Id",
        on_delete = "Cascade"
    )]
    Target,
}

impl Related<super::technology::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Target.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
