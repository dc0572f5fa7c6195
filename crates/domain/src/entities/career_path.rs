//! A career someone can pursue, such as "Backend Developer".

use sea_orm::entity::prelude::*;

use crate::enums::{Demand, PublicationStatus};

versioned_entity! {
    table_name = "career_path";
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
    pub job_zone: Option<i32>,
    pub published_at: Option<DateTimeUtc>,
}
