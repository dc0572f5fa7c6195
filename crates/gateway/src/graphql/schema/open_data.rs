//! Where imported content comes from: the open datasets (O*NET, BLS OEWS) with the credit each
//! licence asks for, and O*NET's job zones.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};
use careergraph_auth::Role;
use careergraph_domain::entities::{data_source, job_zone};
use careergraph_domain::queries::career_paths;

use super::scalars::DateTime;
use crate::graphql::plumbing::context::store;
use crate::graphql::plumbing::error::ApiResult;
use crate::graphql::plumbing::policy::auth;

/// A release of an open dataset that content was imported from. Show its `attribution`
/// wherever you show the content: the licences ask for it.
pub struct DataSource(pub Arc<data_source::Model>);

#[Object(directive = auth::apply(Role::Anonymous))]
impl DataSource {
    /// Globally unique id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The dataset, e.g. "O*NET" or "BLS OEWS".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The release, e.g. "29.1" or "May 2024".
    async fn release(&self) -> &str {
        &self.0.release
    }

    /// The licence, e.g. "CC BY 4.0".
    async fn licence(&self) -> &str {
        &self.0.licence
    }

    /// Where the dataset is published.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// The credit to show with the content, as the licence asks.
    async fn attribution(&self) -> &str {
        &self.0.attribution
    }

    /// When this release was last imported.
    async fn imported_at(&self) -> DateTime {
        DateTime(self.0.imported_at)
    }
}

/// One of O*NET's five job zones: how much preparation an occupation needs.
pub struct JobZone(pub Arc<job_zone::Model>);

#[Object(directive = auth::apply(Role::Anonymous))]
impl JobZone {
    /// A stable id for client caches, e.g. `JobZone:4` (job zones are not nodes).
    async fn id(&self) -> ID {
        ID(format!("JobZone:{}", self.0.zone))
    }

    /// From 1 (little or no preparation) to 5 (extensive preparation).
    async fn zone(&self) -> i32 {
        self.0.zone
    }

    /// Its name, e.g. "Considerable Preparation Needed".
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The experience it usually takes.
    async fn experience(&self) -> &str {
        &self.0.experience
    }

    /// The education it usually takes.
    async fn education(&self) -> &str {
        &self.0.education
    }

    /// The training on the job it usually takes.
    async fn job_training(&self) -> &str {
        &self.0.job_training
    }

    /// Occupations typical of the zone.
    async fn examples(&self) -> &str {
        &self.0.examples
    }

    /// The Specific Vocational Preparation range, e.g. "(7.0 to < 8.0)".
    async fn svp_range(&self) -> &str {
        &self.0.svp_range
    }
}

/// Queries about where content comes from.
#[derive(Default)]
pub struct OpenDataQuery;

#[Object]
impl OpenDataQuery {
    /// Every dataset release content was imported from, newest first, with its attribution.
    #[graphql(directive = auth::apply(Role::Anonymous))]
    async fn data_sources(&self, ctx: &Context<'_>) -> Result<Vec<DataSource>> {
        let sources = career_paths::data_sources(store(ctx).db()).await.api()?;
        Ok(sources.into_iter().map(|source| DataSource(Arc::new(source))).collect())
    }
}
