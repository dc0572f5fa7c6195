//! What careers pay: the public summary on a career path and aggregated statistics.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use careergraph_auth::Role;
use careergraph_domain::entities::salary_record;
use careergraph_domain::enums;
use careergraph_domain::projection::Columns;
use careergraph_domain::queries::{career_paths, salaries};

use super::audit::editable_object;
use super::entries::Industry;
use super::scalars::Date;
use crate::graphql::plumbing::context::{loaders, request, store};
use crate::graphql::plumbing::error::{ApiResult, bad_input, internal_error};
use crate::graphql::plumbing::loaders::{IndustryById, One};
use crate::graphql::plumbing::policy::{auth, check_values};
use crate::graphql::plumbing::projection::{asked, projection};

/// The span of time a salary amount covers.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::PayPeriod")]
pub enum PayPeriod {
    /// Per hour.
    Hour,
    /// Per month.
    Month,
    /// Per year.
    Year,
}

/// Seniority a salary record describes.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::ExperienceLevel")]
pub enum ExperienceLevel {
    /// Starting out.
    Entry,
    /// Several years in.
    Mid,
    /// Experienced.
    Senior,
    /// Leading others.
    Lead,
}

/// A career's pay in one country, across all experience levels, industries and locations.
pub struct SalarySummary(pub salary_record::Model);

#[Object(serial, directive = auth::apply(Role::Anonymous))]
impl SalarySummary {
    /// Identifier of the salary record this summary comes from.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// ISO 3166-1 alpha-2 country code, e.g. `US`.
    async fn country(&self) -> &str {
        &self.0.country
    }

    /// ISO 4217 currency code of every amount, e.g. `USD`.
    async fn currency(&self) -> &str {
        &self.0.currency
    }

    /// The span of time the amounts cover.
    async fn period(&self) -> PayPeriod {
        self.0.period.into()
    }

    /// Average base pay.
    async fn average(&self) -> Result<i32> {
        amount(self.0.average)
    }

    /// Low end of the usual range.
    async fn minimum(&self) -> Result<i32> {
        amount(self.0.minimum)
    }

    /// High end of the usual range.
    async fn maximum(&self) -> Result<i32> {
        amount(self.0.maximum)
    }

    /// The date the figures describe (the first of the month when the source gives a month).
    async fn as_of(&self) -> Date {
        Date(self.0.as_of)
    }

    /// Who published the figures, e.g. "Glassdoor".
    async fn source(&self) -> &str {
        &self.0.source
    }
}

editable_object! {
    /// One salary record of a career: the summary is public, the detail requires VIEWER.
    SalaryRecord(salary_record::Model), serial;

    /// ISO 3166-1 alpha-2 country code.
    async fn country(&self) -> &str {
        &self.0.country
    }

    /// ISO 4217 currency code of every amount.
    async fn currency(&self) -> &str {
        &self.0.currency
    }

    /// The span of time the amounts cover.
    async fn period(&self) -> PayPeriod {
        self.0.period.into()
    }

    /// Average base pay.
    async fn average(&self) -> Result<i32> {
        amount(self.0.average)
    }

    /// Low end of the usual range.
    async fn minimum(&self) -> Result<i32> {
        amount(self.0.minimum)
    }

    /// High end of the usual range.
    async fn maximum(&self) -> Result<i32> {
        amount(self.0.maximum)
    }

    /// The date the figures describe.
    async fn as_of(&self) -> Date {
        Date(self.0.as_of)
    }

    /// Who published the figures.
    async fn source(&self) -> &str {
        &self.0.source
    }

    /// Seniority the record describes; null for all levels together. Requires VIEWER.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn experience_level(&self) -> Option<ExperienceLevel> {
        self.0.experience_level.map(Into::into)
    }

    /// The industry the record describes; null for all industries. Requires VIEWER.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn industry(&self, ctx: &Context<'_>) -> Result<Option<Industry>> {
        industry(ctx, self.0.industry_id).await
    }

    /// The place within the country; null for the whole country. Requires VIEWER.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn location(&self) -> Option<&str> {
        self.0.location.as_deref()
    }

    /// 10th percentile of base pay, when known. Requires VIEWER.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn percentile10(&self) -> Result<Option<i32>> {
        self.0.percentile_10.map(amount).transpose()
    }

    /// 25th percentile of base pay, when known. Requires VIEWER.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn percentile25(&self) -> Result<Option<i32>> {
        self.0.percentile_25.map(amount).transpose()
    }

    /// Median base pay, when known. Requires VIEWER.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn median(&self) -> Result<Option<i32>> {
        self.0.median.map(amount).transpose()
    }

    /// 75th percentile of base pay, when known. Requires VIEWER.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn percentile75(&self) -> Result<Option<i32>> {
        self.0.percentile_75.map(amount).transpose()
    }

    /// 90th percentile of base pay, when known. Requires VIEWER.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn percentile90(&self) -> Result<Option<i32>> {
        self.0.percentile_90.map(amount).transpose()
    }

    /// How many salaries the figures rest on, when known. Requires VIEWER.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn sample_size(&self) -> Option<i32> {
        self.0.sample_size
    }

    /// How many people work in the occupation where the record applies (BLS OEWS's total
    /// employment), when known. Requires VIEWER.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn employment(&self) -> Option<i32> {
        // GraphQL's Int is 32 bits; no occupation employs two billion people.
        self.0.employment.and_then(|count| i32::try_from(count).ok())
    }

    /// Where the figures were published, when known. Requires VIEWER.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn source_url(&self) -> Option<&str> {
        self.0.source_url.as_deref()
    }

    /// What the figures mean and where they stop. Requires VIEWER.
    #[graphql(directive = auth::apply(Role::Viewer))]
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
}

/// The industry a record or group names, batched across the response.
async fn industry(ctx: &Context<'_>, id: Option<uuid::Uuid>) -> Result<Option<Industry>> {
    let Some(id) = id else { return Ok(None) };
    let row: Option<One<_>> = loaders(ctx).load_one(IndustryById(id, asked::<Industry>(ctx))).await.api()?;
    Ok(row.map(|One(row)| Industry(row)))
}

/// Amounts are stored as 64-bit integers but exposed as GraphQL `Int`, which is 32-bit; the
/// write path refuses amounts that do not fit, so this only fails on corrupt data.
fn amount(value: i64) -> Result<i32> {
    i32::try_from(value).map_err(|_| internal_error())
}

/// A dimension to group salary statistics by. Grouping by a dimension needs the role that may
/// read it on a salary record: a group of one record is that record.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum SalaryDimension {
    /// One group per country.
    Country,
    /// One group per experience level. Requires VIEWER.
    #[graphql(directive = auth::apply(Role::Viewer))]
    ExperienceLevel,
    /// One group per industry. Requires VIEWER.
    #[graphql(directive = auth::apply(Role::Viewer))]
    Industry,
}

/// Which salary records `salaryStats` aggregates.
#[derive(InputObject, Default)]
pub struct SalaryStatsFilter {
    /// Only this career path (slug).
    pub career_path: Option<String>,
    /// Only this country (ISO 3166-1 alpha-2).
    pub country: Option<String>,
}

/// One group of salary records and what they add up to. Amounts in different currencies or
/// periods are never combined: each group has one currency and one period.
pub struct SalaryStat(salaries::SalaryStat);

#[Object(serial, directive = auth::apply(Role::Anonymous))]
impl SalaryStat {
    /// The group's country, when grouped by country.
    async fn country(&self) -> Option<&str> {
        self.0.country.as_deref()
    }

    /// The group's experience level, when grouped by it (null: records for all levels).
    async fn experience_level(&self) -> Option<ExperienceLevel> {
        self.0.experience_level.map(Into::into)
    }

    /// The group's industry, when grouped by it (null: records for all industries).
    async fn industry(&self, ctx: &Context<'_>) -> Result<Option<Industry>> {
        industry(ctx, self.0.industry_id).await
    }

    /// ISO 4217 currency code of every amount in the group.
    async fn currency(&self) -> &str {
        &self.0.currency
    }

    /// The span of time the amounts cover.
    async fn period(&self) -> PayPeriod {
        self.0.period.into()
    }

    /// How many records the group holds.
    async fn record_count(&self) -> u64 {
        self.0.record_count as u64
    }

    /// The mean of the records' average pay.
    async fn mean_average(&self) -> f64 {
        self.0.mean_average
    }

    /// The lowest minimum among the records.
    async fn lowest_minimum(&self) -> Result<i32> {
        amount(self.0.lowest_minimum)
    }

    /// The highest maximum among the records.
    async fn highest_maximum(&self) -> Result<i32> {
        amount(self.0.highest_maximum)
    }
}

/// Salary queries.
#[derive(Default)]
pub struct SalaryQuery;

#[Object]
impl SalaryQuery {
    /// Salary records aggregated by the dimensions in `groupBy` (none: one group per currency
    /// and period). Only published career paths count, unless the caller may see drafts.
    #[graphql(directive = auth::apply(Role::Anonymous))]
    async fn salary_stats(
        &self,
        ctx: &Context<'_>,
        filter: Option<SalaryStatsFilter>,
        #[graphql(default)] group_by: Vec<SalaryDimension>,
    ) -> Result<Vec<SalaryStat>> {
        check_values(ctx, &group_by)?;
        let filter = filter.unwrap_or_default();
        if let Some(country) = &filter.country
            && (country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()))
        {
            return Err(bad_input("filter.country", "must be an ISO 3166-1 alpha-2 code such as US"));
        }
        let visibility = request(ctx).visibility;
        let career_path_id = match &filter.career_path {
            None => None,
            Some(slug) => {
                match career_paths::by_slug(store(ctx).db(), visibility, slug, Columns::none()).await.api()? {
                    Some(path) => Some(path.id),
                    // A path the caller cannot see has no statistics for them.
                    None => return Ok(Vec::new()),
                }
            }
        };
        let group_by = salaries::GroupBy {
            country: group_by.contains(&SalaryDimension::Country),
            experience_level: group_by.contains(&SalaryDimension::ExperienceLevel),
            industry: group_by.contains(&SalaryDimension::Industry),
        };
        let domain_filter = salaries::Filter { career_path_id, country: filter.country };
        let stats = salaries::stats(store(ctx).db(), visibility, &domain_filter, group_by).await.api()?;
        Ok(stats.into_iter().map(SalaryStat).collect())
    }
}

projection!(SalarySummary => salary_record {
    "id" => [], "country" => [Country], "currency" => [Currency], "period" => [Period], "average" => [Average],
    "minimum" => [Minimum], "maximum" => [Maximum], "asOf" => [AsOf], "source" => [Source],
});

projection!(SalaryRecord => salary_record {
    "id" => [], "version" => [Version], "history" => [], "updatedBy" => [],
    "country" => [Country], "currency" => [Currency], "period" => [Period], "average" => [Average],
    "minimum" => [Minimum], "maximum" => [Maximum], "asOf" => [AsOf], "source" => [Source],
    "experienceLevel" => [ExperienceLevel], "industry" => [IndustryId], "location" => [Location],
    "percentile10" => [Percentile10], "percentile25" => [Percentile25], "median" => [Median],
    "percentile75" => [Percentile75], "percentile90" => [Percentile90], "sampleSize" => [SampleSize],
    "employment" => [Employment],
    "sourceUrl" => [SourceUrl], "notes" => [Notes],
});
