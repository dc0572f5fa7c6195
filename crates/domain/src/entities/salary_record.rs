//! What a career path pays in one country, for one slice (experience, industry, location).

use sea_orm::entity::prelude::*;

use crate::enums::{ExperienceLevel, PayPeriod};

versioned_entity! {
    table_name = "salary_record";
    pub career_path_id: Uuid,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// ISO 4217.
    pub currency: String,
    pub period: PayPeriod,
    /// `None`: all experience levels together.
    pub experience_level: Option<ExperienceLevel>,
    /// `None`: all industries together.
    pub industry_id: Option<Uuid>,
    /// `None`: the whole country.
    pub location: Option<String>,
    pub average: i64,
    pub minimum: i64,
    pub maximum: i64,
    pub percentile_10: Option<i64>,
    pub percentile_25: Option<i64>,
    pub median: Option<i64>,
    pub percentile_75: Option<i64>,
    pub percentile_90: Option<i64>,
    pub sample_size: Option<i32>,
    pub employment: Option<i64>,
    pub source: String,
    pub source_url: Option<String>,
    pub as_of: Date,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
}
