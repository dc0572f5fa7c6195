use sea_orm_migration::prelude::*;

use super::common::{self, index, link_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::create(
            manager,
            link_table("skill_technology", ("skill_id", "skill"), ("technology_id", "technology")),
            vec![index("skill_technology", &["technology_id"])],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::drop(manager, "skill_technology").await
    }
}
