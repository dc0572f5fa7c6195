use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, double, integer, small_integer, uuid};

use super::common::{self, index};

/// What the graph answers read instead of comparing every path with every other per request
/// (measured: 15–17 ms of PostgreSQL per `careerMoves` at 1,000 O*NET-sized paths, against a
/// 50 ms p99 at 8 clients): each path's most similar paths, each path's total skill weight,
/// each skill's reach and each pair of skills' co-occurrence. All derived from the skills of
/// career paths and kept in step by [`crate::graph`]; this migration fills them from what exists.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        common::create(
            manager,
            Table::create()
                .table("career_move")
                .col(uuid("career_path_id"))
                .col(small_integer("scope"))
                .col(uuid("neighbour_id"))
                .col(big_integer("intersection"))
                .col(integer("shared"))
                .col(integer("to_learn"))
                .col(double("similarity"))
                .primary_key(Index::create().col("career_path_id").col("scope").col("neighbour_id"))
                .to_owned(),
            // Upkeep finds the lists a changed path is in.
            vec![index("career_move", &["neighbour_id"])],
        )
        .await?;
        common::create(
            manager,
            Table::create()
                .table("career_path_weight")
                .col(uuid("career_path_id").primary_key())
                .col(big_integer("total"))
                .to_owned(),
            vec![],
        )
        .await?;
        common::create(
            manager,
            Table::create()
                .table("skill_reach")
                .col(uuid("skill_id"))
                .col(small_integer("scope"))
                .col(double("value"))
                .primary_key(Index::create().col("skill_id").col("scope"))
                .to_owned(),
            // nextSkills reads a scope's skills by reach.
            vec![index("skill_reach", &["scope", "value"])],
        )
        .await?;
        common::create(
            manager,
            Table::create()
                .table("skill_pair")
                .col(uuid("skill_id"))
                .col(small_integer("scope"))
                .col(uuid("other_id"))
                .col(big_integer("strength"))
                .primary_key(Index::create().col("skill_id").col("scope").col("other_id"))
                .to_owned(),
            vec![],
        )
        .await?;
        let db = manager.get_connection();
        crate::graph::rebuild(db).await.map_err(|error| DbErr::Custom(error.to_string()))
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["skill_pair", "skill_reach", "career_path_weight", "career_move"] {
            common::drop(manager, table).await?;
        }
        Ok(())
    }
}
