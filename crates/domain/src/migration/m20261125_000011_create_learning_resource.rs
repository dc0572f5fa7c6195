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
            editable_table("learning_resource")
                .col(uuid("roadmap_step_id"))
                .col(integer("position"))
                .col(string("name"))
                .col(string("kind"))
                .col(string_null("url"))
                .foreign_key(&mut references("learning_resource", "roadmap_step_id", "roadmap_step"))
                .to_owned(),
            vec![index("learning_resource", &["roadmap_step_id", "position"])],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::drop(manager, "learning_resource").await
    }
}
