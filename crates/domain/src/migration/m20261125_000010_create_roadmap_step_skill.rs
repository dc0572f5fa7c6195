use sea_orm_migration::prelude::*;

use super::common::{self, index, link_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::create(
            manager,
            link_table("roadmap_step_skill", ("skill_id", "skill"), ("roadmap_step_id", "roadmap_step")),
            vec![index("roadmap_step_skill", &["roadmap_step_id"])],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::drop(manager, "roadmap_step_skill").await
    }
}
