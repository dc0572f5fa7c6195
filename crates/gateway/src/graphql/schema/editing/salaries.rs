//! Editor mutations for salary records. A record is checked whole on every change.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use careergraph_auth::Role;
use careergraph_domain::editing::salaries::{self as edit, SalaryFields};

use super::conventions::{DeleteInput, DeletePayload, clearable, required};
use crate::graphql::plumbing::context::{actor, id_of, store};
use crate::graphql::plumbing::error::ApiResult;
use crate::graphql::plumbing::policy::auth;
use crate::graphql::schema::salaries::{ExperienceLevel, PayPeriod, SalaryRecord};
use crate::graphql::schema::scalars::Date;

/// A new salary record of a career path. Amounts are whole units of `currency`; minimum ≤
/// average ≤ maximum, percentiles in order, and `asOf` not in the future.
#[derive(InputObject)]
pub struct CreateSalaryRecordInput {
    /// The career path.
    pub career_path_id: ID,
    /// ISO 3166-1 alpha-2, e.g. `US`.
    pub country: String,
    /// ISO 4217, e.g. `USD`.
    pub currency: String,
    /// The span the amounts cover.
    pub period: PayPeriod,
    /// Seniority described; omit for all levels.
    pub experience_level: Option<ExperienceLevel>,
    /// Industry described (slug); omit for all industries.
    pub industry: Option<String>,
    /// Place within the country; omit for the whole country.
    pub location: Option<String>,
    /// Average base pay.
    pub average: i32,
    /// Low end of the usual range.
    pub minimum: i32,
    /// High end of the usual range.
    pub maximum: i32,
    /// 10th percentile.
    pub percentile10: Option<i32>,
    /// 25th percentile.
    pub percentile25: Option<i32>,
    /// Median.
    pub median: Option<i32>,
    /// 75th percentile.
    pub percentile75: Option<i32>,
    /// 90th percentile.
    pub percentile90: Option<i32>,
    /// How many salaries the figures rest on.
    pub sample_size: Option<i32>,
    /// Who published the figures.
    pub source: String,
    /// Where (http or https).
    pub source_url: Option<String>,
    /// The date the figures describe.
    pub as_of: Date,
    /// What the figures mean and where they stop.
    pub notes: Option<String>,
}

/// Changes to a salary record; the whole record is checked again.
#[derive(InputObject)]
pub struct UpdateSalaryRecordInput {
    /// The record.
    pub id: ID,
    /// The `version` the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// New country.
    pub country: MaybeUndefined<String>,
    /// New currency.
    pub currency: MaybeUndefined<String>,
    /// New period.
    pub period: MaybeUndefined<PayPeriod>,
    /// New experience level; null for all levels.
    pub experience_level: MaybeUndefined<ExperienceLevel>,
    /// New industry (slug); null for all industries.
    pub industry: MaybeUndefined<String>,
    /// New location; null for the whole country.
    pub location: MaybeUndefined<String>,
    /// New average.
    pub average: MaybeUndefined<i32>,
    /// New minimum.
    pub minimum: MaybeUndefined<i32>,
    /// New maximum.
    pub maximum: MaybeUndefined<i32>,
    /// New 10th percentile; null clears it.
    pub percentile10: MaybeUndefined<i32>,
    /// New 25th percentile; null clears it.
    pub percentile25: MaybeUndefined<i32>,
    /// New median; null clears it.
    pub median: MaybeUndefined<i32>,
    /// New 75th percentile; null clears it.
    pub percentile75: MaybeUndefined<i32>,
    /// New 90th percentile; null clears it.
    pub percentile90: MaybeUndefined<i32>,
    /// New sample size; null clears it.
    pub sample_size: MaybeUndefined<i32>,
    /// New source.
    pub source: MaybeUndefined<String>,
    /// New source URL; null clears it.
    pub source_url: MaybeUndefined<String>,
    /// New date.
    pub as_of: MaybeUndefined<Date>,
    /// New notes; null clears them.
    pub notes: MaybeUndefined<String>,
}

/// A changed salary record.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(Role::Anonymous))]
pub struct SalaryRecordPayload {
    /// The record as it is now.
    pub salary_record: SalaryRecord,
}

/// Salary record mutations.
#[derive(Default)]
pub struct SalaryMutation;

#[Object]
impl SalaryMutation {
    /// Adds a salary record to a career path. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn create_salary_record(
        &self,
        ctx: &Context<'_>,
        input: CreateSalaryRecordInput,
    ) -> Result<Option<SalaryRecordPayload>> {
        let path = id_of("careerPathId", &input.career_path_id)?;
        let fields = SalaryFields {
            country: Some(input.country),
            currency: Some(input.currency),
            period: Some(input.period.into()),
            experience_level: Some(input.experience_level.map(Into::into)),
            industry: Some(input.industry),
            location: Some(input.location),
            average: Some(input.average.into()),
            minimum: Some(input.minimum.into()),
            maximum: Some(input.maximum.into()),
            percentiles: [input.percentile10, input.percentile25, input.median, input.percentile75, input.percentile90]
                .map(|value| Some(value.map(i64::from))),
            sample_size: Some(input.sample_size),
            source: Some(input.source),
            source_url: Some(input.source_url),
            as_of: Some(input.as_of.0),
            notes: Some(input.notes),
        };
        let row = edit::create_salary_record(store(ctx).db(), &actor(ctx), path, fields).await.api()?;
        Ok(Some(SalaryRecordPayload { salary_record: SalaryRecord::from(row) }))
    }

    /// Changes a salary record. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn update_salary_record(
        &self,
        ctx: &Context<'_>,
        input: UpdateSalaryRecordInput,
    ) -> Result<Option<SalaryRecordPayload>> {
        let id = id_of("id", &input.id)?;
        let fields = SalaryFields {
            country: required("country", input.country)?,
            currency: required("currency", input.currency)?,
            period: required("period", input.period)?.map(Into::into),
            experience_level: clearable(input.experience_level).map(|level| level.map(Into::into)),
            industry: clearable(input.industry),
            location: clearable(input.location),
            average: required("average", input.average)?.map(Into::into),
            minimum: required("minimum", input.minimum)?.map(Into::into),
            maximum: required("maximum", input.maximum)?.map(Into::into),
            percentiles: [input.percentile10, input.percentile25, input.median, input.percentile75, input.percentile90]
                .map(|value| clearable(value).map(|value| value.map(i64::from))),
            sample_size: clearable(input.sample_size),
            source: required("source", input.source)?,
            source_url: clearable(input.source_url),
            as_of: required("asOf", input.as_of)?.map(|date| date.0),
            notes: clearable(input.notes),
        };
        let row =
            edit::update_salary_record(store(ctx).db(), &actor(ctx), id, input.expected_version, fields).await.api()?;
        Ok(Some(SalaryRecordPayload { salary_record: SalaryRecord::from(row) }))
    }

    /// Deletes a salary record. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn delete_salary_record(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_salary_record(store(ctx).db(), &actor(ctx), id, input.expected_version).await.api()?;
        Ok(input.deleted())
    }
}
