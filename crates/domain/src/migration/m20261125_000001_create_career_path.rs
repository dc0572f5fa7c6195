use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::common::{self, editable_table, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::create(
            manager,
            editable_table("career_path")
                .col(string_uniq("slug"))
                .col(string("title"))
                .col(text("summary"))
                .col(text("description"))
                .col(string("outlook_demand"))
                .col(text("outlook_summary"))
                .col(string("status"))
                .col(text_null("internal_notes"))
                .col(string_null("onet_soc_code"))
                .col(timestamp_with_time_zone_null("published_at"))
                .to_owned(),
            vec![index("career_path", &["status"]), index("career_path", &["title"])],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::drop(manager, "career_path").await
    }
}
