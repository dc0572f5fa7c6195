use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::common::{self, index, link_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::create(
            manager,
            link_table("career_path_skill", ("career_path_id", "career_path"), ("skill_id", "skill"))
                .col(string("importance"))
                .to_owned(),
            vec![index("career_path_skill", &["skill_id"])],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::drop(manager, "career_path_skill").await
    }
}
