//! Editor mutations for what a career path owns: responsibilities, roadmap steps, learning
//! resources and salary records. In updates, an omitted field stays as it is and an explicit
//! `null` clears an optional one.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use careergraph_domain::editing::path_content::{
    self as edit, ResourceFields, ResponsibilityFields, RoadmapStepFields, SalaryFields,
};
use chrono::NaiveDate;

use super::career_path::{LearningResource, Recommendation, ResourceKind, Responsibility, RoadmapStep, store};
use super::editing::{DeletePayload, actor, id_of};
use super::error::ApiResult;
use super::policy::{RoleValue, auth};
use super::salary::{ExperienceLevel, PayPeriod, SalaryRecord};

/// Names an owned item to delete, and the version the deletion is based on.
#[derive(InputObject)]
pub struct DeleteItemInput {
    /// The item.
    pub id: ID,
    /// The `version` the deletion is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
}

fn maybe<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(value) => Some(Some(value)),
    }
}

/// A new responsibility of a career path.
#[derive(InputObject)]
pub struct CreateResponsibilityInput {
    /// The career path.
    pub career_path_id: ID,
    /// Short name of the task (1 to 200 characters).
    pub title: String,
    /// What it involves (1 to 10,000 characters).
    pub description: String,
    /// Place in the list, from 0; last when omitted.
    pub position: Option<i32>,
}

/// Changes to a responsibility.
#[derive(InputObject)]
pub struct UpdateResponsibilityInput {
    /// The responsibility.
    pub id: ID,
    /// The `version` the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New place in the list.
    pub position: Option<i32>,
}

/// A new step on a career path's roadmap.
#[derive(InputObject)]
pub struct CreateRoadmapStepInput {
    /// The career path.
    pub career_path_id: ID,
    /// What to do (1 to 200 characters).
    pub title: String,
    /// How and why (1 to 10,000 characters).
    pub description: String,
    /// Advised for everyone (the default) or optional.
    pub recommendation: Option<Recommendation>,
    /// Place in the roadmap, from 0; last when omitted.
    pub position: Option<i32>,
}

/// Changes to a roadmap step.
#[derive(InputObject)]
pub struct UpdateRoadmapStepInput {
    /// The step.
    pub id: ID,
    /// The `version` the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New recommendation.
    pub recommendation: Option<Recommendation>,
    /// New place in the roadmap.
    pub position: Option<i32>,
}

/// A new learning resource of a roadmap step.
#[derive(InputObject)]
pub struct CreateLearningResourceInput {
    /// The roadmap step.
    pub roadmap_step_id: ID,
    /// Name (1 to 200 characters).
    pub name: String,
    /// What form it takes.
    pub kind: ResourceKind,
    /// Where to find it (http or https).
    pub url: Option<String>,
    /// Place in the step's list, from 0; last when omitted.
    pub position: Option<i32>,
}

/// Changes to a learning resource.
#[derive(InputObject)]
pub struct UpdateLearningResourceInput {
    /// The resource.
    pub id: ID,
    /// The `version` the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// New name.
    pub name: Option<String>,
    /// New kind.
    pub kind: Option<ResourceKind>,
    /// New URL; null clears it.
    pub url: MaybeUndefined<String>,
    /// New place in the list.
    pub position: Option<i32>,
}

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
    pub as_of: NaiveDate,
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
    pub country: Option<String>,
    /// New currency.
    pub currency: Option<String>,
    /// New period.
    pub period: Option<PayPeriod>,
    /// New experience level; null for all levels.
    pub experience_level: MaybeUndefined<ExperienceLevel>,
    /// New industry (slug); null for all industries.
    pub industry: MaybeUndefined<String>,
    /// New location; null for the whole country.
    pub location: MaybeUndefined<String>,
    /// New average.
    pub average: Option<i32>,
    /// New minimum.
    pub minimum: Option<i32>,
    /// New maximum.
    pub maximum: Option<i32>,
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
    pub source: Option<String>,
    /// New source URL; null clears it.
    pub source_url: MaybeUndefined<String>,
    /// New date.
    pub as_of: Option<NaiveDate>,
    /// New notes; null clears them.
    pub notes: MaybeUndefined<String>,
}

/// A changed responsibility.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(RoleValue::Anonymous))]
pub struct ResponsibilityPayload {
    /// The responsibility as it is now.
    pub responsibility: Responsibility,
}

/// A changed roadmap step.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(RoleValue::Anonymous))]
pub struct RoadmapStepPayload {
    /// The step as it is now.
    pub roadmap_step: RoadmapStep,
}

/// A changed learning resource.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(RoleValue::Anonymous))]
pub struct LearningResourcePayload {
    /// The resource as it is now.
    pub learning_resource: LearningResource,
}

/// A changed salary record.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(RoleValue::Anonymous))]
pub struct SalaryRecordPayload {
    /// The record as it is now.
    pub salary_record: SalaryRecord,
}

fn deleted(input: DeleteItemInput) -> Option<DeletePayload> {
    Some(DeletePayload { deleted_id: input.id })
}

/// Editor mutations for what career paths own.
#[derive(Default)]
pub struct ContentMutation;

#[Object]
impl ContentMutation {
    /// Adds a responsibility to a career path. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn create_responsibility(
        &self,
        ctx: &Context<'_>,
        input: CreateResponsibilityInput,
    ) -> Result<Option<ResponsibilityPayload>> {
        let path = id_of("careerPathId", &input.career_path_id)?;
        let fields = ResponsibilityFields {
            title: Some(input.title),
            description: Some(input.description),
            position: input.position,
        };
        let row = edit::create_responsibility(store(ctx).db(), &actor(ctx), path, fields).await.api()?;
        Ok(Some(ResponsibilityPayload { responsibility: Responsibility(row) }))
    }

    /// Changes a responsibility. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn update_responsibility(
        &self,
        ctx: &Context<'_>,
        input: UpdateResponsibilityInput,
    ) -> Result<Option<ResponsibilityPayload>> {
        let id = id_of("id", &input.id)?;
        let fields =
            ResponsibilityFields { title: input.title, description: input.description, position: input.position };
        let row = edit::update_responsibility(store(ctx).db(), &actor(ctx), id, input.expected_version, fields)
            .await
            .api()?;
        Ok(Some(ResponsibilityPayload { responsibility: Responsibility(row) }))
    }

    /// Deletes a responsibility. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn delete_responsibility(&self, ctx: &Context<'_>, input: DeleteItemInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_responsibility(store(ctx).db(), &actor(ctx), id, input.expected_version).await.api()?;
        Ok(deleted(input))
    }

    /// Adds a step to a career path's roadmap. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn create_roadmap_step(
        &self,
        ctx: &Context<'_>,
        input: CreateRoadmapStepInput,
    ) -> Result<Option<RoadmapStepPayload>> {
        let path = id_of("careerPathId", &input.career_path_id)?;
        let fields = RoadmapStepFields {
            title: Some(input.title),
            description: Some(input.description),
            recommendation: input.recommendation.map(Into::into),
            position: input.position,
        };
        let row = edit::create_roadmap_step(store(ctx).db(), &actor(ctx), path, fields).await.api()?;
        Ok(Some(RoadmapStepPayload { roadmap_step: RoadmapStep(row) }))
    }

    /// Changes a roadmap step. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn update_roadmap_step(
        &self,
        ctx: &Context<'_>,
        input: UpdateRoadmapStepInput,
    ) -> Result<Option<RoadmapStepPayload>> {
        let id = id_of("id", &input.id)?;
        let fields = RoadmapStepFields {
            title: input.title,
            description: input.description,
            recommendation: input.recommendation.map(Into::into),
            position: input.position,
        };
        let row =
            edit::update_roadmap_step(store(ctx).db(), &actor(ctx), id, input.expected_version, fields).await.api()?;
        Ok(Some(RoadmapStepPayload { roadmap_step: RoadmapStep(row) }))
    }

    /// Deletes a roadmap step with its learning resources. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn delete_roadmap_step(&self, ctx: &Context<'_>, input: DeleteItemInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_roadmap_step(store(ctx).db(), &actor(ctx), id, input.expected_version).await.api()?;
        Ok(deleted(input))
    }

    /// Adds a learning resource to a roadmap step. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn create_learning_resource(
        &self,
        ctx: &Context<'_>,
        input: CreateLearningResourceInput,
    ) -> Result<Option<LearningResourcePayload>> {
        let step = id_of("roadmapStepId", &input.roadmap_step_id)?;
        let fields = ResourceFields {
            name: Some(input.name),
            kind: Some(input.kind.into()),
            url: Some(input.url),
            position: input.position,
        };
        let row = edit::create_resource(store(ctx).db(), &actor(ctx), step, fields).await.api()?;
        Ok(Some(LearningResourcePayload { learning_resource: LearningResource(row) }))
    }

    /// Changes a learning resource. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn update_learning_resource(
        &self,
        ctx: &Context<'_>,
        input: UpdateLearningResourceInput,
    ) -> Result<Option<LearningResourcePayload>> {
        let id = id_of("id", &input.id)?;
        let fields = ResourceFields {
            name: input.name,
            kind: input.kind.map(Into::into),
            url: maybe(input.url),
            position: input.position,
        };
        let row =
            edit::update_resource(store(ctx).db(), &actor(ctx), id, input.expected_version, fields).await.api()?;
        Ok(Some(LearningResourcePayload { learning_resource: LearningResource(row) }))
    }

    /// Deletes a learning resource. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn delete_learning_resource(
        &self,
        ctx: &Context<'_>,
        input: DeleteItemInput,
    ) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_resource(store(ctx).db(), &actor(ctx), id, input.expected_version).await.api()?;
        Ok(deleted(input))
    }

    /// Adds a salary record to a career path. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
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
            as_of: Some(input.as_of),
            notes: Some(input.notes),
        };
        let row = edit::create_salary_record(store(ctx).db(), &actor(ctx), path, fields).await.api()?;
        Ok(Some(SalaryRecordPayload { salary_record: SalaryRecord(row) }))
    }

    /// Changes a salary record. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn update_salary_record(
        &self,
        ctx: &Context<'_>,
        input: UpdateSalaryRecordInput,
    ) -> Result<Option<SalaryRecordPayload>> {
        let id = id_of("id", &input.id)?;
        let fields = SalaryFields {
            country: input.country,
            currency: input.currency,
            period: input.period.map(Into::into),
            experience_level: maybe(input.experience_level).map(|level| level.map(Into::into)),
            industry: maybe(input.industry),
            location: maybe(input.location),
            average: input.average.map(Into::into),
            minimum: input.minimum.map(Into::into),
            maximum: input.maximum.map(Into::into),
            percentiles: [input.percentile10, input.percentile25, input.median, input.percentile75, input.percentile90]
                .map(|value| maybe(value).map(|value| value.map(i64::from))),
            sample_size: maybe(input.sample_size),
            source: input.source,
            source_url: maybe(input.source_url),
            as_of: input.as_of,
            notes: maybe(input.notes),
        };
        let row =
            edit::update_salary_record(store(ctx).db(), &actor(ctx), id, input.expected_version, fields).await.api()?;
        Ok(Some(SalaryRecordPayload { salary_record: SalaryRecord(row) }))
    }

    /// Deletes a salary record. Requires EDITOR.
    #[graphql(directive = auth::apply(RoleValue::Editor))]
    async fn delete_salary_record(&self, ctx: &Context<'_>, input: DeleteItemInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_salary_record(store(ctx).db(), &actor(ctx), id, input.expected_version).await.api()?;
        Ok(deleted(input))
    }
}
