use sea_orm_migration::prelude::*;

use super::common::{self, index, link_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::create(
            manager,
            link_table(
                "related_career_path",
                ("career_path_id", "career_path"),
                ("related_career_path_id", "career_path"),
            ),
            vec![index("related_career_path", &["related_career_path_id"])],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::drop(manager, "related_career_path").await
    }
}
