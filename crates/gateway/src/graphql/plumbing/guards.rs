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

use super::context::OperationLog;
use super::field_order::OrderSlot;
use super::limits::RequestLimits;
use super::policy::PolicyEnforcement;
use super::prepared::{Learning, Prepaid};

/// Both guards, made once for the schema. Neither keeps anything per request (what a request
/// spends lives in its data), so every request shares the one extension.
pub struct Guards(Arc<Guard>);

impl Guards {
    /// The limits, and the field policy when there is one (a schema built only for its SDL has
    /// none).
    pub fn new(limits: Arc<RequestLimits>, policy: Option<PolicyEnforcement>) -> Self {
        Self(Arc::new(Guard { limits, policy }))
    }
}

impl ExtensionFactory for Guards {
    fn create(&self) -> Arc<dyn Extension> {
        self.0.clone()
    }
}

struct Guard {
    limits: Arc<RequestLimits>,
    policy: Option<PolicyEnforcement>,
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
        self.limits.check_text(query)?;
        let document = next.run(ctx, query, variables).await?;
        let log = ctx.data_opt::<Arc<OperationLog>>();
        if let Some(log) = log {
            log.record(&document);
        }
        let aliases = self.limits.check_document(&document)?;
        if let Some(slot) = ctx.data_opt::<Arc<OrderSlot>>() {
            slot.record(&document);
        }
        if ctx.data_opt::<Prepaid>().is_none() {
            self.limits.spend_aliases_in(ctx, aliases)?;
        }
        if let Some(learning) = ctx.data_opt::<Arc<Learning>>() {
            // Only a query is kept, so only a query's document is read for its role and copied.
            let least_role = match &self.policy {
                Some(policy) if log.is_some_and(|log| log.runs_query()) => policy.rules().least_role_for(&document),
                _ => None,
            };
            learning.document(&document, least_role, aliases);
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        // async-graphql counts `__typename` as nothing; here it costs what any field does. The
        // expanded size was spent before the document was walked at all.
        let expansion = ctx.data_opt::<Arc<OperationLog>>().map(|log| log.expansion()).unwrap_or_default();
        let complexity = result.complexity.saturating_add(expansion.typenames);
        if ctx.data_opt::<Prepaid>().is_none() {
            self.limits.spend_in(ctx, complexity, expansion.selections).map_err(|error| vec![error])?;
        }
        if let Some(learning) = ctx.data_opt::<Arc<Learning>>() {
            learning.complexity(complexity);
        }
        Ok(result)
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
