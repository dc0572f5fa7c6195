//! The request limits ([`super::limits`]) and the field policy ([`super::policy`]) as one
//! schema extension.
//!
//! async-graphql runs every extension's `resolve` hook around every field of every answer, each
//! as a boxed future, even an extension that only cares about parsing and validation. One
//! extension that delegates each hook to the part that has it pays that once per field.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextResolve, NextValidation, ResolveInfo,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerError, ServerResult, ValidationResult, Value, Variables};

use super::limits::RequestLimits;
use super::policy::PolicyEnforcement;

/// Both guards, made once for the schema.
pub struct Guards {
    limits: RequestLimits,
    policy: Option<Arc<PolicyEnforcement>>,
}

impl Guards {
    /// The limits, and the field policy when there is one (a schema built only for its SDL has
    /// none).
    pub fn new(limits: RequestLimits, policy: Option<PolicyEnforcement>) -> Self {
        Self { limits, policy: policy.map(Arc::new) }
    }
}

impl ExtensionFactory for Guards {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Guard { limits: self.limits.create(), policy: self.policy.clone() })
    }
}

/// One request's guards.
struct Guard {
    limits: Arc<dyn Extension>,
    policy: Option<Arc<PolicyEnforcement>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for Guard {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        self.limits.parse_query(ctx, query, variables, next).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        self.limits.validation(ctx, next).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        match &self.policy {
            Some(policy) => policy.resolve(ctx, info, next).await,
            None => next.run(ctx, info).await,
        }
    }
}
