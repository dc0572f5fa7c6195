use sea_orm_migration::prelude::*;

use super::common::{self, index, link_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::create(
            manager,
            link_table("career_path_industry", ("career_path_id", "career_path"), ("industry_id", "industry")),
            vec![index("career_path_industry", &["industry_id"])],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::drop(manager, "career_path_industry").await
    }
}
