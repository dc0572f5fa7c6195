//! One thing people in a career path do at work, in the order the source lists them.

use sea_orm::entity::prelude::*;

versioned_entity! {
    table_name = "responsibility";
    pub career_path_id: Uuid,
    pub position: i32,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
}
