//! What a career pays: salary records, checked whole on every change.

use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use uuid::Uuid;

use super::path_content::{MAX_TEXT, MAX_TITLE};
use super::rows;
use super::{check_optional_text, check_text, check_url, path_exists, required};
use crate::audit::Actor;
use crate::entities::{industry, salary_record};
use crate::enums::{ExperienceLevel, PayPeriod};
use crate::{Db, Error, Result};

/// A salary record as created or changed. Amounts are whole units of `currency`.
#[derive(Clone, Debug, Default)]
pub struct SalaryFields {
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// ISO 4217.
    pub currency: Option<String>,
    /// The span the amounts cover.
    pub period: Option<PayPeriod>,
    /// `Some(None)`: all levels.
    pub experience_level: Option<Option<ExperienceLevel>>,
    /// Industry slug; `Some(None)`: all industries.
    pub industry: Option<Option<String>>,
    /// Place within the country; `Some(None)`: the whole country.
    pub location: Option<Option<String>>,
    /// Average.
    pub average: Option<i64>,
    /// Low end.
    pub minimum: Option<i64>,
    /// High end.
    pub maximum: Option<i64>,
    /// Percentiles 10, 25, 50, 75, 90; `Some(None)` clears one.
    pub percentiles: [Option<Option<i64>>; 5],
    /// How many salaries the figures rest on.
    pub sample_size: Option<Option<i32>>,
    /// Who published the figures.
    pub source: Option<String>,
    /// Where.
    pub source_url: Option<Option<String>>,
    /// The date the figures describe; not in the future.
    pub as_of: Option<NaiveDate>,
    /// What they mean.
    pub notes: Option<Option<String>>,
}

const PERCENTILE_FIELDS: [&str; 5] = ["percentile_10", "percentile_25", "median", "percentile_75", "percentile_90"];

fn check_country(country: &str) -> Result<String> {
    let country = country.trim().to_uppercase();
    isocountry::CountryCode::for_alpha2(&country)
        .map(|_| country.clone())
        .map_err(|_| Error::invalid("country", "must be an ISO 3166-1 alpha-2 code such as US"))
}

fn check_currency(currency: &str) -> Result<String> {
    let currency = currency.trim().to_uppercase();
    iso_currency::Currency::from_code(&currency)
        .map(|_| currency.clone())
        .ok_or_else(|| Error::invalid("currency", "must be an ISO 4217 code such as USD"))
}

/// Checks the amounts of a whole record: positive, within GraphQL's `Int`, and in order.
fn check_amounts(record: &salary_record::Model) -> Result<()> {
    let limit = i64::from(i32::MAX);
    let amounts =
        [("minimum", Some(record.minimum)), ("average", Some(record.average)), ("maximum", Some(record.maximum))];
    let percentiles =
        [record.percentile_10, record.percentile_25, record.median, record.percentile_75, record.percentile_90];
    for (field, value) in amounts.into_iter().chain(PERCENTILE_FIELDS.into_iter().zip(percentiles)) {
        if value.is_some_and(|v| v <= 0 || v > limit) {
            return Err(Error::invalid(field, format!("must be between 1 and {limit}")));
        }
    }
    if record.minimum > record.average {
        return Err(Error::invalid("average", "must not be below the minimum"));
    }
    if record.average > record.maximum {
        return Err(Error::invalid("maximum", "must not be below the average"));
    }
    let mut previous: Option<(&str, i64)> = None;
    for (field, value) in PERCENTILE_FIELDS.into_iter().zip(percentiles) {
        let Some(value) = value else { continue };
        if let Some((lower, below)) = previous
            && value < below
        {
            return Err(Error::invalid(field, format!("must not be below {lower}")));
        }
        previous = Some((field, value));
    }
    if record.sample_size.is_some_and(|n| n < 1) {
        return Err(Error::invalid("sample_size", "must be at least 1"));
    }
    if record.as_of > Utc::now().date_naive() {
        return Err(Error::invalid("as_of", "must not be in the future"));
    }
    Ok(())
}

async fn industry_id(db: &Db, slug: Option<&str>) -> Result<Option<Uuid>> {
    let Some(slug) = slug.map(str::trim).filter(|slug| !slug.is_empty()) else { return Ok(None) };
    let found = industry::Entity::find().filter(industry::Column::Slug.eq(slug.to_lowercase())).one(db).await?;
    found
        .map(|i| Some(i.id))
        .ok_or_else(|| Error::invalid("industry", format!("names {slug}, which is no industry's slug")))
}

/// Applies `fields` to `record`, checking each one.
async fn apply(db: &Db, record: &mut salary_record::Model, fields: SalaryFields) -> Result<()> {
    if let Some(country) = &fields.country {
        record.country = check_country(country)?;
    }
    if let Some(currency) = &fields.currency {
        record.currency = check_currency(currency)?;
    }
    if let Some(period) = fields.period {
        record.period = period;
    }
    if let Some(level) = fields.experience_level {
        record.experience_level = level;
    }
    if let Some(industry) = &fields.industry {
        record.industry_id = industry_id(db, industry.as_deref()).await?;
    }
    if let Some(location) = &fields.location {
        record.location = check_optional_text("location", location.as_deref(), MAX_TITLE)?;
    }
    record.average = fields.average.unwrap_or(record.average);
    record.minimum = fields.minimum.unwrap_or(record.minimum);
    record.maximum = fields.maximum.unwrap_or(record.maximum);
    let [p10, p25, median, p75, p90] = fields.percentiles;
    record.percentile_10 = p10.unwrap_or(record.percentile_10);
    record.percentile_25 = p25.unwrap_or(record.percentile_25);
    record.median = median.unwrap_or(record.median);
    record.percentile_75 = p75.unwrap_or(record.percentile_75);
    record.percentile_90 = p90.unwrap_or(record.percentile_90);
    if let Some(sample_size) = fields.sample_size {
        record.sample_size = sample_size;
    }
    if let Some(source) = &fields.source {
        record.source = check_text("source", source, 1, MAX_TITLE)?;
    }
    if let Some(url) = &fields.source_url {
        record.source_url = check_url("source_url", url.as_deref())?;
    }
    if let Some(as_of) = fields.as_of {
        record.as_of = as_of;
    }
    if let Some(notes) = &fields.notes {
        record.notes = check_optional_text("notes", notes.as_deref(), MAX_TEXT)?;
    }
    check_amounts(record)
}

/// Adds a salary record to the career path `career_path_id`.
pub async fn create_salary_record(
    db: &Db,
    actor: &Actor,
    career_path_id: Uuid,
    fields: SalaryFields,
) -> Result<salary_record::Model> {
    path_exists(db, career_path_id).await?;
    let now = Utc::now();
    let mut record = salary_record::Model {
        id: Uuid::now_v7(),
        career_path_id,
        country: check_country(&required("country", fields.country.clone())?)?,
        currency: check_currency(&required("currency", fields.currency.clone())?)?,
        period: required("period", fields.period)?,
        experience_level: None,
        industry_id: None,
        location: None,
        average: required("average", fields.average)?,
        minimum: required("minimum", fields.minimum)?,
        maximum: required("maximum", fields.maximum)?,
        percentile_10: None,
        percentile_25: None,
        median: None,
        percentile_75: None,
        percentile_90: None,
        sample_size: None,
        employment: None,
        source: check_text("source", &required("source", fields.source.clone())?, 1, MAX_TITLE)?,
        source_url: None,
        as_of: required("as_of", fields.as_of)?,
        notes: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    apply(db, &mut record, fields).await?;
    // Every column is written: the record was built and checked whole.
    let row = record.into_active_model().reset_all();
    rows::insert::<salary_record::Entity>(db, actor, row).await
}

/// Changes a salary record; `None` fields stay. The whole record is checked again.
pub async fn update_salary_record(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    expected_version: i32,
    fields: SalaryFields,
) -> Result<salary_record::Model> {
    let before = rows::current::<salary_record::Entity>(db, id, expected_version).await?;
    let mut record = before.clone();
    apply(db, &mut record, fields).await?;
    let row = record.into_active_model().reset_all();
    rows::update::<salary_record::Entity, _>(db, actor, "update", before, row, async |_| Ok(None)).await
}

/// Deletes a salary record.
pub async fn delete_salary_record(db: &Db, actor: &Actor, id: Uuid, expected_version: i32) -> Result<()> {
    let before = rows::current::<salary_record::Entity>(db, id, expected_version).await?;
    rows::delete::<salary_record::Entity, _>(db, actor, before, async |_| Ok(())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> salary_record::Model {
        salary_record::Model {
            id: Uuid::nil(),
            career_path_id: Uuid::nil(),
            country: "US".into(),
            currency: "USD".into(),
            period: PayPeriod::Year,
            experience_level: None,
            industry_id: None,
            location: None,
            average: 93_000,
            minimum: 65_000,
            maximum: 130_000,
            percentile_10: None,
            percentile_25: None,
            median: None,
            percentile_75: None,
            percentile_90: None,
            sample_size: None,
            employment: None,
            source: "Glassdoor".into(),
            source_url: None,
            as_of: NaiveDate::from_ymd_opt(2023, 3, 1).unwrap_or_default(),
            notes: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn field_of(result: Result<()>) -> Option<String> {
        match result {
            Err(Error::InvalidInput { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn amounts_must_be_ordered_and_dates_past() {
        assert!(check_amounts(&record()).is_ok());
        assert_eq!(
            field_of(check_amounts(&salary_record::Model { minimum: 100_000, ..record() })).as_deref(),
            Some("average")
        );
        assert_eq!(
            field_of(check_amounts(&salary_record::Model { maximum: 90_000, ..record() })).as_deref(),
            Some("maximum")
        );
        let unordered = salary_record::Model { percentile_25: Some(80_000), median: Some(70_000), ..record() };
        assert_eq!(field_of(check_amounts(&unordered)).as_deref(), Some("median"));
        let future = salary_record::Model { as_of: Utc::now().date_naive() + chrono::Duration::days(2), ..record() };
        assert_eq!(field_of(check_amounts(&future)).as_deref(), Some("as_of"));
        assert_eq!(
            field_of(check_amounts(&salary_record::Model { minimum: 0, ..record() })).as_deref(),
            Some("minimum")
        );
    }

    #[test]
    fn codes_are_checked_against_the_iso_lists() {
        assert_eq!(check_country(" us ").ok().as_deref(), Some("US"));
        assert!(check_country("XX").is_err());
        assert_eq!(check_currency("eur").ok().as_deref(), Some("EUR"));
        assert!(check_currency("ABC").is_err());
    }
}
