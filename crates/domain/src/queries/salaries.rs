//! Salary statistics: records aggregated by country, experience level and industry.

use std::collections::BTreeMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entities::salary_record;
use crate::enums::{ExperienceLevel, PayPeriod};
use crate::{Result, Visibility};

/// Which records to aggregate.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only records of this career path.
    pub career_path_id: Option<Uuid>,
    /// Only records of this country (ISO 3166-1 alpha-2).
    pub country: Option<String>,
}

/// The dimensions to group by. Currency and pay period are always grouped on, since amounts in
/// different currencies or periods cannot be combined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupBy {
    /// One group per country.
    pub country: bool,
    /// One group per experience level (records for all levels form their own group).
    pub experience_level: bool,
    /// One group per industry (records for all industries form their own group).
    pub industry: bool,
}

/// One group of salary records and what they add up to.
#[derive(Clone, Debug, PartialEq)]
pub struct SalaryStat {
    /// The group's country, when grouping by country.
    pub country: Option<String>,
    /// The group's experience level, when grouping by it and the records name one.
    pub experience_level: Option<ExperienceLevel>,
    /// The group's industry, when grouping by it and the records name one.
    pub industry_id: Option<Uuid>,
    /// ISO 4217 code of every amount in the group.
    pub currency: String,
    /// The period every amount in the group covers.
    pub period: PayPeriod,
    /// How many records the group holds.
    pub record_count: usize,
    /// The mean of the records' averages.
    pub mean_average: f64,
    /// The lowest minimum among the records.
    pub lowest_minimum: i64,
    /// The highest maximum among the records.
    pub highest_maximum: i64,
}

type GroupKey = (Option<String>, Option<&'static str>, Option<Uuid>, String, &'static str);

/// Aggregates the salary records of the career paths the caller may see.
pub async fn stats(
    db: &impl ConnectionTrait,
    visibility: Visibility,
    filter: &Filter,
    group_by: GroupBy,
) -> Result<Vec<SalaryStat>> {
    let mut select = salary_record::Entity::find()
        .filter(salary_record::Column::CareerPathId.in_subquery(super::career_paths::visible_ids(visibility)));
    if let Some(path_id) = filter.career_path_id {
        select = select.filter(salary_record::Column::CareerPathId.eq(path_id));
    }
    if let Some(country) = &filter.country {
        select = select.filter(salary_record::Column::Country.eq(country.to_uppercase()));
    }
    let records = select.all(db).await?;

    // Grouping happens here rather than in SQL: AVG and SUM return different numeric types on
    // SQLite and PostgreSQL, and the record count per path stays small.
    let mut groups: BTreeMap<GroupKey, SalaryStat> = BTreeMap::new();
    for record in records {
        let country = group_by.country.then(|| record.country.clone());
        let experience_level = if group_by.experience_level { record.experience_level } else { None };
        let industry_id = if group_by.industry { record.industry_id } else { None };
        let key = (
            country.clone(),
            experience_level.map(ExperienceLevel::as_str),
            industry_id,
            record.currency.clone(),
            record.period.as_str(),
        );
        let stat = groups.entry(key).or_insert_with(|| SalaryStat {
            country,
            experience_level,
            industry_id,
            currency: record.currency.clone(),
            period: record.period,
            record_count: 0,
            mean_average: 0.0,
            lowest_minimum: i64::MAX,
            highest_maximum: i64::MIN,
        });
        stat.record_count += 1;
        // A running mean, so no intermediate sum can overflow.
        stat.mean_average += (record.average as f64 - stat.mean_average) / stat.record_count as f64;
        stat.lowest_minimum = stat.lowest_minimum.min(record.minimum);
        stat.highest_maximum = stat.highest_maximum.max(record.maximum);
    }
    Ok(groups.into_values().collect())
}
