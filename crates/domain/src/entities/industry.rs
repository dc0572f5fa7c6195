//! A sector that employs people in a career path.

use sea_orm::entity::prelude::*;

versioned_entity! {
    table_name = "industry";
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
}
