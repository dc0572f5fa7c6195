//! Something employers commonly offer alongside pay.

use sea_orm::entity::prelude::*;

versioned_entity! {
    table_name = "benefit";
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
}
