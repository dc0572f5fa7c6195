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
            editable_table("salary_record")
                .col(uuid("career_path_id"))
                .col(string_len("country", 2))
                .col(string_len("currency", 3))
                .col(string("period"))
                .col(string_null("experience_level"))
                .col(uuid_null("industry_id"))
                .col(string_null("location"))
                .col(big_integer("average"))
                .col(big_integer("minimum"))
                .col(big_integer("maximum"))
                .col(big_integer_null("percentile_10"))
                .col(big_integer_null("percentile_25"))
                .col(big_integer_null("median"))
                .col(big_integer_null("percentile_75"))
                .col(big_integer_null("percentile_90"))
                .col(integer_null("sample_size"))
                .col(string("source"))
                .col(string_null("source_url"))
                .col(date("as_of"))
                .col(text_null("notes"))
                .foreign_key(&mut references("salary_record", "career_path_id", "career_path"))
                .foreign_key(
                    &mut references("salary_record", "industry_id", "industry")
                        .on_delete(ForeignKeyAction::Restrict)
                        .to_owned(),
                )
                .to_owned(),
            vec![index("salary_record", &["career_path_id", "country"]), index("salary_record", &["industry_id"])],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::drop(manager, "salary_record").await
    }
}
