//! Limits async-graphql does not have built in: aliases per document, and the alias and
//! complexity limits applied to an HTTP request as a whole, so that a batch of operations cannot
//! spend ten times what one may.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, ValidationResult, Variables};

use super::error::{Code, request_refused};
use super::request::SharedBudget;

/// Refuses documents with more than a set number of aliased fields (a cheap guard against
/// alias-based amplification, the same expensive field asked for hundreds of times), and
/// requests whose operations together have more aliases or complexity than one may have.
pub struct RequestLimits {
    max_aliases: usize,
    max_complexity: usize,
}

impl RequestLimits {
    /// At most `max_aliases` aliases and `max_complexity` complexity points per request.
    pub fn new(max_aliases: usize, max_complexity: usize) -> Self {
        Self { max_aliases, max_complexity }
    }
}

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Enforcer { max_aliases: self.max_aliases, max_complexity: self.max_complexity })
    }
}

struct Enforcer {
    max_aliases: usize,
    max_complexity: usize,
}

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some()) + count_aliases(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => count_aliases(&fragment.node.selection_set.node),
            // Fragments are counted once, where they are defined.
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

#[async_graphql::async_trait::async_trait]
impl Extension for Enforcer {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let operations = document.operations.iter().map(|(_, operation)| &operation.node.selection_set.node);
        let fragments = document.fragments.values().map(|fragment| &fragment.node.selection_set.node);
        let aliases: usize = operations.chain(fragments).map(count_aliases).sum();
        if aliases > self.max_aliases {
            let message = format!("Query has {aliases} aliases; at most {} are allowed", self.max_aliases);
            return Err(request_refused(Code::BadUserInput, message));
        }
        let total = ctx.data_opt::<Arc<SharedBudget>>().map_or(aliases, |budget| budget.spend_aliases(aliases));
        if total > self.max_aliases {
            let message = format!(
                "The request's operations have {total} aliases together; at most {} are allowed",
                self.max_aliases
            );
            return Err(request_refused(Code::BadUserInput, message));
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let total = ctx
            .data_opt::<Arc<SharedBudget>>()
            .map_or(result.complexity, |budget| budget.spend_complexity(result.complexity));
        if total > self.max_complexity {
            let message = format!(
                "The request's operations have complexity {total} together; at most {} is allowed",
                self.max_complexity
            );
            return Err(vec![request_refused(Code::BadUserInput, message)]);
        }
        Ok(result)
    }
}
