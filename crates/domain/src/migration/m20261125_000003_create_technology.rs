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
            editable_table("technology")
                .col(string_uniq("slug"))
                .col(string("name"))
                .col(string("kind"))
                .col(text_null("description"))
                .col(uuid_null("built_on_id"))
                .foreign_key(
                    &mut references("technology", "built_on_id", "technology")
                        .on_delete(ForeignKeyAction::Restrict)
                        .to_owned(),
                )
                .to_owned(),
            vec![index("technology", &["built_on_id"]), index("technology", &["kind"]), index("technology", &["name"])],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::drop(manager, "technology").await
    }
}
