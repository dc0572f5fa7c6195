//! A language, framework, database, server, API style or data format that skills use.

use sea_orm::entity::prelude::*;

use crate::enums::TechnologyKind;

versioned_entity! {
    table_name = "technology";
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub kind: TechnologyKind,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// The language a framework is written in and used from (Django is built on Python).
    pub built_on_id: Option<Uuid>,
}
