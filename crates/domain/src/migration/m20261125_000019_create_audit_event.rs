use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::common::{self, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::create(
            manager,
            Table::create()
                .table("audit_event")
                .col(pk_uuid("id"))
                .col(uuid_null("actor_id"))
                .col(string("action"))
                .col(string("entity_type"))
                .col(uuid("entity_id"))
                .col(json_null("before"))
                .col(json_null("after"))
                .col(timestamp_with_time_zone("occurred_at"))
                .col(string_null("request_id"))
                // No foreign key to the actor: the log outlives the people in it.
                .to_owned(),
            vec![
                index("audit_event", &["entity_type", "entity_id", "occurred_at"]),
                index("audit_event", &["actor_id", "occurred_at"]),
                index("audit_event", &["occurred_at"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::drop(manager, "audit_event").await
    }
}
