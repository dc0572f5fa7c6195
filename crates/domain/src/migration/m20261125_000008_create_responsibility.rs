use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::common::{self, editable_table, index, references};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::create(
            manager,
            editable_table("responsibility")
                .col(uuid("career_path_id"))
                .col(integer("position"))
                .col(string("title"))
                .col(text("description"))
                .foreign_key(&mut references("responsibility", "career_path_id", "career_path"))
                .to_owned(),
            vec![index("responsibility", &["career_path_id", "position"])],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::drop(manager, "responsibility").await
    }
}
