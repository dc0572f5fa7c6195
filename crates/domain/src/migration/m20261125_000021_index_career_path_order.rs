use sea_orm_migration::prelude::*;

use super::common::index;

/// Every order `careerPaths` offers, with the id that breaks ties, has an index: a page is read
/// in order from it instead of sorting the whole table (with 1,000 paths, ordering by
/// `CREATED_AT` sorted all of them for each page of 20).
#[derive(DeriveMigrationName)]
pub struct Migration;

const ORDERS: [[&str; 2]; 3] = [["title", "id"], ["created_at", "id"], ["updated_at", "id"]];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for columns in ORDERS {
            manager.create_index(index("career_path", &columns)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for columns in ORDERS {
            let name = format!("idx_career_path_{}", columns.join("_"));
            manager.drop_index(Index::drop().name(name).table(Alias::new("career_path")).to_owned()).await?;
        }
        Ok(())
    }
}
