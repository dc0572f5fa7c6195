//! A span for each root field, so an exported trace shows which field of an operation its time
//! and its statements went to. Installed only when traces are exported (`crate::traces`): an
//! extension costs a boxed future on every field of every answer, which the schema without
//! guards exists to avoid.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo};
use async_graphql::{ServerResult, Value};
use tracing::Instrument as _;

/// The extension, made once for the schema.
pub struct RootFieldSpans;

impl ExtensionFactory for RootFieldSpans {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RootFieldSpan)
    }
}

struct RootFieldSpan;

#[async_graphql::async_trait::async_trait]
impl Extension for RootFieldSpan {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_some() {
            return next.run(ctx, info).await;
        }
        // Type and field names only: the field's arguments may carry the client's variables.
        let span = tracing::info_span!(
            "field",
            otel.name = %format_args!("{}.{}", info.parent_type, info.name),
            graphql.field.path = %info.path_node,
        );
        next.run(ctx, info).instrument(span).await
    }
}
