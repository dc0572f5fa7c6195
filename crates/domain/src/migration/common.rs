//! Column and constraint shapes that many tables share.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{integer, pk_uuid, timestamp_with_time_zone, uuid};

/// A table with a UUID primary key and the columns every editable row carries:
/// `version` for optimistic concurrency, and when it was created and last changed.
pub fn editable_table(name: &'static str) -> TableCreateStatement {
    Table::create()
        .table(name)
        .col(pk_uuid("id"))
        .col(integer("version").default(1))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .to_owned()
}

/// A link table between two rows, keyed by both ids, ordered by `position`.
pub fn link_table(
    name: &'static str,
    owner: (&'static str, &'static str),
    target: (&'static str, &'static str),
) -> TableCreateStatement {
    Table::create()
        .table(name)
        .col(uuid(owner.0))
        .col(uuid(target.0))
        .col(integer("position"))
        .primary_key(Index::create().col(owner.0).col(target.0))
        .foreign_key(&mut references(name, owner.0, owner.1))
        .foreign_key(&mut references(name, target.0, target.1))
        .to_owned()
}

/// A foreign key from `table.column` to `target.id`; deleting the target deletes the row.
/// Deletes that must not cascade are refused by the domain before they reach the database.
pub fn references(table: &'static str, column: &'static str, target: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(target, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// A plain index on `columns`, named after them.
pub fn index(table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(format!("idx_{table}_{}", columns.join("_"))).table(table);
    for column in columns {
        index.col(*column);
    }
    index.to_owned()
}

/// Creates a table and its indexes.
pub async fn create(
    manager: &SchemaManager<'_>,
    table: TableCreateStatement,
    indexes: Vec<IndexCreateStatement>,
) -> Result<(), DbErr> {
    manager.create_table(table).await?;
    for index in indexes {
        manager.create_index(index).await?;
    }
    Ok(())
}

/// Drops a table (and with it its indexes).
pub async fn drop(manager: &SchemaManager<'_>, table: &'static str) -> Result<(), DbErr> {
    manager.drop_table(Table::drop().table(table).to_owned()).await
}
