//! A career someone can pursue, such as "Backend Developer".

use sea_orm::entity::prelude::*;

use crate::enums::{Demand, PublicationStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "career_path")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub slug: String,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub summary: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub outlook_demand: Demand,
    #[sea_orm(column_type = "Text")]
    pub outlook_summary: String,
    pub status: PublicationStatus,
    #[sea_orm(column_type = "Text", nullable)]
    pub internal_notes: Option<String>,
    pub onet_soc_code: Option<String>,
    pub published_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

versioned_row!();
