//! Where to learn what a roadmap step asks for.

use sea_orm::entity::prelude::*;

use crate::enums::ResourceKind;

versioned_entity! {
    table_name = "learning_resource";
    pub roadmap_step_id: Uuid,
    pub position: i32,
    pub name: String,
    pub kind: ResourceKind,
    pub url: Option<String>,
}
