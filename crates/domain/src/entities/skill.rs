//! A capability a career path asks for, such as "Database design and management".

use sea_orm::entity::prelude::*;

use crate::enums::SkillCategory;

versioned_entity! {
    table_name = "skill";
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub category: SkillCategory,
    #[sea_orm(column_type = "Text")]
    pub description: String,
}
