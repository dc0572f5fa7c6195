//! Editor mutations for what a career path owns besides its pay: responsibilities, roadmap
//! steps and learning resources.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use careergraph_auth::Role;
use careergraph_domain::editing::path_content::{
    self as edit, ResourceFields, ResponsibilityFields, RoadmapStepFields,
};

use super::conventions::{DeleteInput, DeletePayload, clearable, required};
use crate::graphql::plumbing::context::{actor, id_of, store};
use crate::graphql::plumbing::error::ApiResult;
use crate::graphql::plumbing::policy::auth;
use crate::graphql::schema::entries::{LearningResource, ResourceKind, Responsibility};
use crate::graphql::schema::graph::{Recommendation, RoadmapStep};

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
    pub title: MaybeUndefined<String>,
    /// New description.
    pub description: MaybeUndefined<String>,
    /// New place in the list.
    pub position: MaybeUndefined<i32>,
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
    pub title: MaybeUndefined<String>,
    /// New description.
    pub description: MaybeUndefined<String>,
    /// New recommendation.
    pub recommendation: MaybeUndefined<Recommendation>,
    /// New place in the roadmap.
    pub position: MaybeUndefined<i32>,
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
    pub name: MaybeUndefined<String>,
    /// New kind.
    pub kind: MaybeUndefined<ResourceKind>,
    /// New URL; null clears it.
    pub url: MaybeUndefined<String>,
    /// New place in the list.
    pub position: MaybeUndefined<i32>,
}

/// A changed responsibility.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(Role::Anonymous))]
pub struct ResponsibilityPayload {
    /// The responsibility as it is now.
    pub responsibility: Responsibility,
}

/// A changed roadmap step.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(Role::Anonymous))]
pub struct RoadmapStepPayload {
    /// The step as it is now.
    pub roadmap_step: RoadmapStep,
}

/// A changed learning resource.
#[derive(SimpleObject)]
#[graphql(directive = auth::apply(Role::Anonymous))]
pub struct LearningResourcePayload {
    /// The resource as it is now.
    pub learning_resource: LearningResource,
}

/// Editor mutations for what career paths own besides pay.
#[derive(Default)]
pub struct PathContentMutation;

#[Object]
impl PathContentMutation {
    /// Adds a responsibility to a career path. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
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
        Ok(Some(ResponsibilityPayload { responsibility: Responsibility::from(row) }))
    }

    /// Changes a responsibility. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn update_responsibility(
        &self,
        ctx: &Context<'_>,
        input: UpdateResponsibilityInput,
    ) -> Result<Option<ResponsibilityPayload>> {
        let id = id_of("id", &input.id)?;
        let fields = ResponsibilityFields {
            title: required("title", input.title)?,
            description: required("description", input.description)?,
            position: required("position", input.position)?,
        };
        let row = edit::update_responsibility(store(ctx).db(), &actor(ctx), id, input.expected_version, fields)
            .await
            .api()?;
        Ok(Some(ResponsibilityPayload { responsibility: Responsibility::from(row) }))
    }

    /// Deletes a responsibility. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn delete_responsibility(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_responsibility(store(ctx).db(), &actor(ctx), id, input.expected_version).await.api()?;
        Ok(input.deleted())
    }

    /// Adds a step to a career path's roadmap. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
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
        Ok(Some(RoadmapStepPayload { roadmap_step: RoadmapStep::from(row) }))
    }

    /// Changes a roadmap step. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn update_roadmap_step(
        &self,
        ctx: &Context<'_>,
        input: UpdateRoadmapStepInput,
    ) -> Result<Option<RoadmapStepPayload>> {
        let id = id_of("id", &input.id)?;
        let fields = RoadmapStepFields {
            title: required("title", input.title)?,
            description: required("description", input.description)?,
            recommendation: required("recommendation", input.recommendation)?.map(Into::into),
            position: required("position", input.position)?,
        };
        let row =
            edit::update_roadmap_step(store(ctx).db(), &actor(ctx), id, input.expected_version, fields).await.api()?;
        Ok(Some(RoadmapStepPayload { roadmap_step: RoadmapStep::from(row) }))
    }

    /// Deletes a roadmap step with its learning resources. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn delete_roadmap_step(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_roadmap_step(store(ctx).db(), &actor(ctx), id, input.expected_version).await.api()?;
        Ok(input.deleted())
    }

    /// Adds a learning resource to a roadmap step. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
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
        Ok(Some(LearningResourcePayload { learning_resource: LearningResource::from(row) }))
    }

    /// Changes a learning resource. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn update_learning_resource(
        &self,
        ctx: &Context<'_>,
        input: UpdateLearningResourceInput,
    ) -> Result<Option<LearningResourcePayload>> {
        let id = id_of("id", &input.id)?;
        let fields = ResourceFields {
            name: required("name", input.name)?,
            kind: required("kind", input.kind)?.map(Into::into),
            url: clearable(input.url),
            position: required("position", input.position)?,
        };
        let row =
            edit::update_resource(store(ctx).db(), &actor(ctx), id, input.expected_version, fields).await.api()?;
        Ok(Some(LearningResourcePayload { learning_resource: LearningResource::from(row) }))
    }

    /// Deletes a learning resource. Requires EDITOR.
    #[graphql(directive = auth::apply(Role::Editor))]
    async fn delete_learning_resource(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<Option<DeletePayload>> {
        let id = id_of("id", &input.id)?;
        edit::delete_resource(store(ctx).db(), &actor(ctx), id, input.expected_version).await.api()?;
        Ok(input.deleted())
    }
}
