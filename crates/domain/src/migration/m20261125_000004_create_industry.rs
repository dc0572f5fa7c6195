use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::common::{self, editable_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::create(
            manager,
            editable_table("industry").col(string_uniq("slug")).col(string("name")).to_owned(),
            vec![],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::drop(manager, "industry").await
    }
}
