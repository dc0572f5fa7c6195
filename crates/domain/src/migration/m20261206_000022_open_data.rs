use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer_null, boolean, integer, integer_null, json, pk_uuid, string, string_null, text,
    timestamp_with_time_zone, uuid,
};

use super::common::{self, index, link_table, references};

/// What the O*NET and OEWS imports write beside the curated content: scores on a path's skills,
/// job zones, the technologies an occupation uses, alternate titles for search, employment on a
/// salary record, and the provenance of every imported row (its data source, its key in that
/// source, and what the import last wrote to it, which is how a rerun knows what changed and
/// which fields an editor has changed since).
#[derive(DeriveMigrationName)]
pub struct Migration;

/// Columns added to existing tables: SQLite takes one per `ALTER TABLE`.
fn added_columns() -> Vec<(&'static str, ColumnDef)> {
    vec![
        ("career_path", integer_null("job_zone")),
        ("career_path_skill", integer_null("importance_score")),
        ("career_path_skill", integer_null("level_score")),
        ("salary_record", big_integer_null("employment")),
        ("related_career_path", string_null("relatedness_tier")),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in added_columns() {
            manager.alter_table(Table::alter().table(Alias::new(table)).add_column(column).to_owned()).await?;
        }
        common::create(
            manager,
            Table::create()
                .table("job_zone")
                .col(integer("zone").primary_key())
                .col(string("name"))
                .col(text("experience"))
                .col(text("education"))
                .col(text("job_training"))
                .col(text("examples"))
                .col(string("svp_range"))
                .to_owned(),
            vec![],
        )
        .await?;
        let mut technologies =
            link_table("career_path_technology", ("career_path_id", "career_path"), ("technology_id", "technology"));
        technologies
            .col(integer_null("commodity_code"))
            .col(string_null("commodity_title"))
            .col(boolean("hot").default(false))
            .col(boolean("in_demand").default(false));
        common::create(manager, technologies, vec![index("career_path_technology", &["technology_id"])]).await?;
        common::create(
            manager,
            Table::create()
                .table("career_path_alternate_title")
                .col(uuid("career_path_id"))
                .col(integer("position"))
                .col(string("title"))
                .primary_key(Index::create().col("career_path_id").col("position"))
                .foreign_key(&mut references("career_path_alternate_title", "career_path_id", "career_path"))
                .to_owned(),
            vec![],
        )
        .await?;
        common::create(
            manager,
            Table::create()
                .table("data_source")
                .col(pk_uuid("id"))
                .col(string("name"))
                .col(string("release"))
                .col(string("licence"))
                .col(string("url"))
                .col(text("attribution"))
                .col(json("files"))
                .col(timestamp_with_time_zone("imported_at"))
                .to_owned(),
            vec![index("data_source", &["name", "release"]).unique().to_owned()],
        )
        .await?;
        common::create(
            manager,
            Table::create()
                .table("import_record")
                .col(string("source_key").primary_key())
                .col(string("entity_type"))
                .col(uuid("entity_id"))
                .col(uuid("data_source_id"))
                .col(json("written"))
                .col(string("hash"))
                .foreign_key(&mut references("import_record", "data_source_id", "data_source"))
                .to_owned(),
            vec![index("import_record", &["entity_type", "entity_id"])],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in
            ["import_record", "data_source", "career_path_alternate_title", "career_path_technology", "job_zone"]
        {
            common::drop(manager, table).await?;
        }
        for (table, column) in added_columns().into_iter().rev() {
            let name = Alias::new(column.get_column_name());
            manager.alter_table(Table::alter().table(Alias::new(table)).drop_column(name).to_owned()).await?;
        }
        Ok(())
    }
}
