//! Which operation of a document runs, and what the request log says of it.

use std::sync::{Mutex, OnceLock};

use async_graphql::parser::types::{ExecutableDocument, OperationDefinition};
use async_graphql::{Name, Positioned};

use super::expansion::Expansion;

/// The operation of `document` that runs: the one named `requested`, or the document's first
/// (its only one, or validation refuses it).
pub fn chosen_operation<'d>(
    document: &'d ExecutableDocument,
    requested: Option<&str>,
) -> Option<(Option<&'d Name>, &'d Positioned<OperationDefinition>)> {
    document.operations.iter().find(|(name, _)| match requested {
        Some(requested) => name.is_some_and(|name| name.as_str() == requested),
        None => true,
    })
}

/// What the request log says of one operation: the one the client named, or the document's
/// only one. The front door fills it in before the operation runs (from the parsed document,
/// or a prepared operation's name) and hands it back for the request log. It also carries the
/// document's expanded size, measured where the request was read, to the guard.
#[derive(Debug, Default)]
pub struct OperationLog {
    requested: Option<String>,
    seen: Mutex<Option<(&'static str, Option<String>)>>,
    expansion: OnceLock<Expansion>,
}

impl OperationLog {
    /// A log for an operation the client may have named.
    pub fn new(requested: Option<String>) -> Self {
        Self { requested, seen: Mutex::new(None), expansion: OnceLock::new() }
    }

    /// Notes the size of the document once expanded, already spent from the client's budget.
    pub fn expanded(&self, expansion: Expansion) {
        let _ = self.expansion.set(expansion);
    }

    /// The document's expanded size, as [`Self::expanded`] noted it (nothing, when not).
    pub fn expansion(&self) -> Expansion {
        self.expansion.get().copied().unwrap_or_default()
    }

    /// Notes the operation `document` will run.
    pub fn record(&self, document: &ExecutableDocument) {
        use async_graphql::parser::types::OperationType;
        let chosen = chosen_operation(document, self.requested.as_deref());
        if let (Some((name, operation)), Ok(mut seen)) = (chosen, self.seen.lock()) {
            let kind = match operation.node.ty {
                OperationType::Query => "query",
                OperationType::Mutation => "mutation",
                OperationType::Subscription => "subscription",
            };
            *seen = Some((kind, name.map(|name| name.to_string())));
        }
    }

    /// The operation's type and name, once its document has parsed.
    pub fn recorded(&self) -> Option<(&'static str, Option<String>)> {
        self.seen.lock().ok().and_then(|seen| seen.clone())
    }

    /// Whether the operation recorded is a query.
    pub fn runs_query(&self) -> bool {
        self.seen.lock().is_ok_and(|seen| matches!(*seen, Some(("query", _))))
    }

    /// Notes a prepared query (see `graphql::plumbing::prepared`), whose document is not parsed again.
    pub fn prepared(&self, name: Option<String>) {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(("query", name));
        }
    }

    /// The operation's type and name, as far as they are known (`-` for an unnamed one; `?` and
    /// `-` for a document that never parsed or holds no operation of the name sent). Only names
    /// read from a parsed document are given: they are GraphQL names (`[_A-Za-z][_0-9A-Za-z]*`),
    /// safe to write into a log line and to use as a metrics label, where a name the client
    /// merely sent could be anything.
    pub fn describe(&self) -> (&'static str, String) {
        match self.recorded() {
            Some((kind, name)) => (kind, name.unwrap_or_else(|| "-".into())),
            None => ("?", "-".into()),
        }
    }
}
