use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::common::{self, index, references};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::create(
            manager,
            Table::create()
                .table("refresh_token")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(uuid("family_id"))
                .col(string_uniq("token_hash"))
                .col(uuid_null("rotated_from_id"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(&mut references("refresh_token", "user_id", "app_user"))
                .foreign_key(
                    &mut references("refresh_token", "rotated_from_id", "refresh_token")
                        .on_delete(ForeignKeyAction::SetNull)
                        .to_owned(),
                )
                .to_owned(),
            vec![
                index("refresh_token", &["user_id"]),
                index("refresh_token", &["family_id"]),
                index("refresh_token", &["rotated_from_id"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::drop(manager, "refresh_token").await
    }
}
