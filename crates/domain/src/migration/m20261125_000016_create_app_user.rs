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
            editable_table("app_user")
                .col(string_uniq("email"))
                .col(string("display_name"))
                .col(string("role"))
                .col(string("password_hash"))
                .col(boolean("disabled").default(false))
                .col(timestamp_with_time_zone("tokens_valid_after"))
                .col(timestamp_with_time_zone_null("last_login_at"))
                .to_owned(),
            vec![],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::drop(manager, "app_user").await
    }
}
