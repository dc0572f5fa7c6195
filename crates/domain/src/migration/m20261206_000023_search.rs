use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// The ranked search index: one document per career path, skill and technology, weighted by
/// where a word appears (titles and alternate titles, then summaries, then descriptions and
/// tasks). On PostgreSQL a table with a generated, weighted `tsvector` and a GIN index over it;
/// on SQLite an FTS5 table (SQLite's own full-text index, bundled with it). The domain keeps it
/// in step with every change ([`crate::search`]); this migration fills it from what exists.
#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES: &str = "
CREATE TABLE search_document (
    entity_type text NOT NULL,
    entity_id uuid NOT NULL,
    published boolean NOT NULL,
    title text NOT NULL,
    alternate text NOT NULL,
    summary text NOT NULL,
    body text NOT NULL,
    document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A')
        || setweight(to_tsvector('english'::regconfig, alternate), 'A')
        || setweight(to_tsvector('english'::regconfig, summary), 'B')
        || setweight(to_tsvector('english'::regconfig, body), 'C')
    ) STORED,
    PRIMARY KEY (entity_type, entity_id)
);
CREATE INDEX idx_search_document_document ON search_document USING GIN (document);
";

const SQLITE: &str = "
CREATE VIRTUAL TABLE search_document USING fts5(
    entity_type UNINDEXED, entity_id UNINDEXED, published UNINDEXED, title, alternate, summary, body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let sql = if db.get_database_backend() == DbBackend::Postgres { POSTGRES } else { SQLITE };
        db.execute_unprepared(sql).await?;
        crate::search::rebuild(db).await.map_err(|error| DbErr::Custom(error.to_string()))
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE search_document").await?;
        Ok(())
    }
}
