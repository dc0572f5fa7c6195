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

use super::context::RequestContext;
use super::limits::RequestLimits;
use super::policy::PolicyEnforcement;

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
        // The front door has already noted which operation this is (`execution::execute`).
        let operation = RequestContext::in_hook(ctx).map(|context| &context.operation);
        let aliases = self.limits.check_document(&document)?;
        if let Some(slot) = operation.and_then(|operation| operation.order.as_ref()) {
            slot.record(&document);
        }
        if !operation.is_some_and(|operation| operation.prepaid) {
            self.limits.spend_aliases_in(ctx, aliases)?;
        }
        if let Some(operation) = operation
            && let Some(learning) = &operation.learning
        {
            // Only a query is kept, so only a query's document is read for its role and copied.
            let least_role = match &self.policy {
                Some(policy) if operation.log.runs_query() => policy.rules().least_role_for(&document),
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
        let operation = RequestContext::in_hook(ctx).map(|context| &context.operation);
        let expansion = operation.map(|operation| operation.log.expansion()).unwrap_or_default();
        let complexity = result.complexity.saturating_add(expansion.typenames);
        if !operation.is_some_and(|operation| operation.prepaid) {
            self.limits.spend_in(ctx, complexity, expansion.selections).map_err(|error| vec![error])?;
        }
        if let Some(learning) = operation.and_then(|operation| operation.learning.as_ref()) {
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
        // Introspection first: the flag is one load, and no data field pays for the names.
        // async-graphql 7.2 answers `__schema.description` with the specification's sentence
        // about the `__Schema` type (docs/upstream/async-graphql-7.2.md): this schema has no
        // description, as schema.graphql says. Introspection always runs guarded (`prepared`
        // keeps no operation with a `__` field), so this hook sees every such field.
        if info.is_for_introspection && info.parent_type == "__Schema" && info.name == "description" {
            return Ok(Some(Value::Null));
        }
        match &self.policy {
            Some(policy) => policy.resolve(ctx, info, next).await,
            None => next.run(ctx, info).await,
        }
    }
}
