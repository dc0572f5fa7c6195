//! One step on the way into a career path.

use sea_orm::entity::prelude::*;

use crate::enums::Recommendation;

versioned_entity! {
    table_name = "roadmap_step";
    pub career_path_id: Uuid,
    pub position: i32,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub recommendation: Recommendation,
}
