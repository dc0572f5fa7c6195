//! Operations that run without the per-field guard, once the guard has shown it has nothing to
//! refuse in them.
//!
//! For any extension with a per-field hook, async-graphql builds a `ResolveInfo` (two registry
//! lookups, and two `format!`s for each list item) and a boxed future around every field of every
//! answer: on the nested benchmark query that is a third of the gateway's CPU. Yet the field
//! policy's answer is known before an operation runs: a rule depends on nothing but the type, the
//! field and the caller's role, so the least role that may read every field a document can reach
//! ([`FieldPolicy::least_role_for`](super::policy::FieldPolicy::least_role_for)) decides all its
//! fields at once.
//!
//! So the first time an operation (its text, operation name and variables) runs, it runs guarded,
//! and what the guard learned is kept: that least role, the parsed document, its aliases, the
//! complexity async-graphql computed while validating it, and the order of its fields
//! ([`super::field_order`]). Next time, a caller with at least that role runs it
//! on a copy of the schema without extensions: the aliases and complexity are spent from the same
//! budgets beforehand, and the fields it resolved are counted against the request's field limit
//! afterwards. That copy is given the kept document rather than the text, and validates it only
//! for its complexity (async-graphql's `ValidationMode::Fast`): the same text with the same
//! variables passed every rule on its guarded run. Parsing and full validation were a fifth of a
//! one-path lookup's instructions. An answer with any error runs again guarded (without
//! spending twice), which makes failed nullable fields `null` and gives the errors their paths,
//! as before. Only queries are prepared: a mutation runs once.
//!
//! One difference remains: the guarded path stops resolving the moment a request passes its field
//! limit, while a prepared operation resolves to its end before the same limit refuses it. What it
//! can resolve is bounded by its complexity, which the limits already accepted, times the lengths
//! of its unpaged lists.

use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, Value, Variables};
use careergraph_auth::Role;

use super::field_order::FieldOrder;
use crate::weighed_lru::WeighedLru;

/// How many operations are kept, the longest text (query and variables) one may have, and the
/// most memory they may hold together. A parsed document and its field order take tens of
/// times the memory of its text, so the cache is bounded by an estimate of what each entry
/// holds, node by node ([`weigh`]), not by its text.
const KEPT: NonZeroUsize = NonZeroUsize::new(256).expect("not zero");
const LONGEST_TEXT: usize = 8 * 1024;
pub const KEPT_BYTES: usize = 16 * 1024 * 1024;

/// The operations known to run safely unguarded, most recently used kept.
pub struct PreparedOperations {
    operations: Mutex<WeighedLru<u64, Arc<Prepared>>>,
    /// Keyed per process, so that nobody can choose documents that collide; a collision would
    /// only miss anyway, as a hit is compared in full.
    hasher: RandomState,
}

/// An operation as a guarded run found it.
#[derive(Debug)]
pub struct Prepared {
    key: OperationKey,
    /// The least role that may read every field of the document.
    pub least_role: Role,
    /// The document as the guarded run parsed it.
    document: ExecutableDocument,
    /// The document's aliases, spent from the request's.
    pub aliases: usize,
    /// The operation's complexity, as async-graphql computed it for these variables.
    pub complexity: usize,
    /// The operation's name as the request log gives it (the document's, when the request
    /// names none).
    logged_name: Option<String>,
    /// The order its answers' fields are asked for in.
    pub order: Option<Arc<FieldOrder>>,
}

impl Prepared {
    /// Whether a caller with `role` may run it unguarded.
    pub fn may_run(&self, role: Role) -> bool {
        role.satisfies(self.least_role)
    }

    /// `request`, which is this operation, with the document already parsed: ready to run on
    /// the schema without extensions.
    pub fn parsed(&self, mut request: Request) -> Request {
        request.set_parsed_query(self.document.clone());
        request
    }

    /// The operation again, as a request of its own.
    pub fn request(&self) -> Request {
        let request = Request::new(self.key.query.clone()).variables(self.key.variables.clone());
        match &self.key.operation_name {
            Some(name) => request.operation_name(name.clone()),
            None => request,
        }
    }

    /// The document as the guarded run parsed it.
    pub fn document(&self) -> &ExecutableDocument {
        &self.document
    }

    /// The operation's name, for the request log.
    pub fn logged_name(&self) -> Option<String> {
        self.logged_name.clone()
    }
}

/// About how much memory an operation with `key`, `document` and `order` holds: its text and
/// variables, its parsed document and its field order, node by node (see [`document_bytes`]).
fn weigh(key: &OperationKey, document: &ExecutableDocument, order: Option<&FieldOrder>) -> usize {
    let text = key.query.len()
        + key.operation_name.as_ref().map_or(0, String::len)
        + key.variables.values().map(text_size).sum::<usize>();
    std::mem::size_of::<Prepared>() + text + document_bytes(document) + order.map_or(0, FieldOrder::bytes)
}

/// About how much heap a parsed document holds: each node's own size and the text of its names
/// and values. (The copy a prepared operation keeps was cloned, so its vectors hold no spare
/// capacity.)
pub fn document_bytes(document: &ExecutableDocument) -> usize {
    use async_graphql::Positioned;
    use async_graphql::parser::types::{Directive, FragmentDefinition, OperationDefinition, Selection, SelectionSet};
    use std::mem::{size_of, size_of_val};

    /// An `Arc<str>`: two counters and the text.
    fn name(name: &str) -> usize {
        2 * size_of::<usize>() + name.len()
    }
    /// A list of arguments: each pair, its name, and its value's text.
    fn arguments<V: std::fmt::Display>(list: &[(Positioned<async_graphql::Name>, Positioned<V>)]) -> usize {
        list.iter().map(|pair| size_of_val(pair) + name(&pair.0.node) + pair.1.node.to_string().len()).sum()
    }
    fn directives(list: &[Positioned<Directive>]) -> usize {
        list.iter()
            .map(|directive| {
                size_of_val(directive) + name(&directive.node.name.node) + arguments(&directive.node.arguments)
            })
            .sum()
    }
    fn selection_set(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|selection| {
                let inner = match &selection.node {
                    Selection::Field(field) => {
                        let field = &field.node;
                        name(&field.name.node)
                            + field.alias.as_ref().map_or(0, |alias| name(&alias.node))
                            + arguments(&field.arguments)
                            + selection_set(&field.selection_set.node)
                    }
                    Selection::FragmentSpread(spread) => name(&spread.node.fragment_name.node),
                    Selection::InlineFragment(fragment) => selection_set(&fragment.node.selection_set.node),
                };
                size_of::<Positioned<Selection>>() + directives(selection.node.directives()) + inner
            })
            .sum()
    }
    let operations: usize = document
        .operations
        .iter()
        .map(|(operation_name, operation)| {
            let variables: usize = operation
                .node
                .variable_definitions
                .iter()
                .map(|variable| {
                    size_of_val(variable)
                        + name(&variable.node.name.node)
                        + variable.node.var_type.node.to_string().len()
                })
                .sum();
            size_of::<Positioned<OperationDefinition>>()
                + operation_name.map_or(0, |operation_name| name(operation_name))
                + variables
                + directives(&operation.node.directives)
                + selection_set(&operation.node.selection_set.node)
        })
        .sum();
    let fragments: usize = document
        .fragments
        .iter()
        .map(|(fragment_name, fragment)| {
            size_of::<(async_graphql::Name, Positioned<FragmentDefinition>)>()
                + name(fragment_name)
                + directives(&fragment.node.directives)
                + selection_set(&fragment.node.selection_set.node)
        })
        .sum();
    size_of::<ExecutableDocument>() + operations + fragments
}

/// What identifies an operation: complexity depends on the variables (page sizes).
#[derive(Debug, PartialEq)]
pub struct OperationKey {
    query: String,
    operation_name: Option<String>,
    variables: Variables,
}

impl Default for PreparedOperations {
    fn default() -> Self {
        Self { operations: Mutex::new(WeighedLru::new(KEPT, KEPT_BYTES)), hasher: RandomState::new() }
    }
}

impl PreparedOperations {
    fn hash(&self, query: &str, operation_name: Option<&str>, variables: &Variables) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        query.hash(&mut hasher);
        operation_name.hash(&mut hasher);
        for (name, value) in variables.iter() {
            name.hash(&mut hasher);
            hash_value(value, &mut hasher);
        }
        hasher.finish()
    }

    /// The prepared form of `request`, if one is kept: then it is a query, which is known without
    /// parsing it. Who may run it unguarded is [`Prepared::may_run`].
    pub fn find(&self, request: &Request) -> Option<Arc<Prepared>> {
        let hash = self.hash(&request.query, request.operation_name.as_deref(), &request.variables);
        let prepared = self.operations.lock().ok()?.get(&hash).cloned()?;
        let key = &prepared.key;
        let same = key.query == request.query
            && key.operation_name == request.operation_name
            && key.variables == request.variables;
        same.then_some(prepared)
    }

    /// The key under which `request` would be kept, when it is short enough to keep.
    pub fn key_of(&self, request: &Request) -> Option<OperationKey> {
        let size = request.query.len() + request.variables.values().map(text_size).sum::<usize>();
        (size <= LONGEST_TEXT).then(|| OperationKey {
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            variables: request.variables.clone(),
        })
    }

    /// Keeps what a guarded run of the query `key`, logged as `logged_name`, learned, if it
    /// learned all of it, with the order of its fields.
    pub fn learn(
        &self,
        key: OperationKey,
        learning: &Learning,
        logged_name: Option<String>,
        order: Option<Arc<FieldOrder>>,
    ) {
        let Some(learned) = learning.0.lock().ok().map(|mut learned| std::mem::take(&mut *learned)) else { return };
        let (Some((least_role, document)), Some(aliases), Some(complexity)) =
            (learned.document, learned.aliases, learned.complexity)
        else {
            return;
        };
        let hash = self.hash(&key.query, key.operation_name.as_deref(), &key.variables);
        let bytes = weigh(&key, &document, order.as_deref());
        if bytes > KEPT_BYTES / 16 {
            // One operation may take a sixteenth of the cache, so one client cannot flush it.
            return;
        }
        let prepared = Prepared { key, least_role, document, aliases, complexity, logged_name, order };
        if let Ok(mut kept) = self.operations.lock() {
            kept.put(hash, Arc::new(prepared), bytes);
        }
    }

    /// About how much memory the kept operations hold.
    pub fn bytes(&self) -> usize {
        self.operations.lock().map_or(0, |kept| kept.weight())
    }
}

/// Filled in by the guard as it checks an operation that may be prepared.
#[derive(Debug, Default)]
pub struct Learning(Mutex<Learned>);

#[derive(Debug, Default)]
struct Learned {
    /// The least role that may read the whole document, with the document.
    document: Option<(Role, ExecutableDocument)>,
    aliases: Option<usize>,
    complexity: Option<usize>,
}

impl Learning {
    /// What the parsed `document` shows: the least role that may read it all (`None`: the
    /// document cannot tell, and it is not kept) and its aliases.
    pub fn document(&self, document: &ExecutableDocument, least_role: Option<Role>, aliases: usize) {
        if let Ok(mut learned) = self.0.lock() {
            learned.document = least_role.map(|role| (role, document.clone()));
            learned.aliases = Some(aliases);
        }
    }

    /// The complexity validation computed.
    pub fn complexity(&self, complexity: usize) {
        if let Ok(mut learned) = self.0.lock() {
            learned.complexity = Some(complexity);
        }
    }
}

fn hash_value(value: &Value, hasher: &mut impl Hasher) {
    std::mem::discriminant(value).hash(hasher);
    match value {
        Value::Null => {}
        Value::Number(number) => number.hash(hasher),
        Value::String(text) => text.hash(hasher),
        Value::Boolean(boolean) => boolean.hash(hasher),
        Value::Binary(bytes) => bytes.hash(hasher),
        Value::Enum(name) => name.hash(hasher),
        Value::List(items) => {
            items.len().hash(hasher);
            items.iter().for_each(|item| hash_value(item, hasher));
        }
        Value::Object(fields) => {
            fields.len().hash(hasher);
            for (name, value) in fields {
                name.hash(hasher);
                hash_value(value, hasher);
            }
        }
    }
}

/// About how much text `value` holds.
fn text_size(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len(),
        Value::Binary(bytes) => bytes.len(),
        Value::Enum(name) => name.len(),
        Value::List(items) => items.iter().map(text_size).sum::<usize>() + items.len(),
        Value::Object(fields) => fields.iter().map(|(name, value)| name.len() + text_size(value)).sum(),
        Value::Null | Value::Number(_) | Value::Boolean(_) => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_is_found_only_with_its_own_variables_and_by_a_role_that_may_run_it() {
        let operations = PreparedOperations::default();
        let request = |first: i32| {
            let variables = Variables::from_json(serde_json::json!({ "first": first }));
            Request::new("query ($first: Int) { careerPaths(first: $first) { totalCount } }").variables(variables)
        };
        let key = operations.key_of(&request(5)).expect("short enough to keep");
        let learning = Learning::default();
        learning.document(&parsed(&request(5)), Some(Role::Viewer), 0);
        learning.complexity(7);
        operations.learn(key, &learning, None, None);
        let found = |first, role| operations.find(&request(first)).filter(|prepared| prepared.may_run(role));
        assert_eq!(found(5, Role::Viewer).map(|prepared| prepared.complexity), Some(7));
        assert!(found(5, Role::Anonymous).is_none());
        assert!(operations.find(&request(5)).is_some(), "kept, so known for a query, whoever asks");
        assert!(operations.find(&request(6)).is_none());
    }

    fn parsed(request: &Request) -> ExecutableDocument {
        async_graphql::parser::parse_query(&request.query).expect("a document")
    }

    #[test]
    fn a_prepared_operation_runs_from_the_document_the_guarded_run_parsed() {
        let operations = PreparedOperations::default();
        let request = Request::new("{ careerPaths(first: 2) { totalCount } }");
        let learning = Learning::default();
        learning.document(&parsed(&request), Some(Role::Anonymous), 0);
        learning.complexity(3);
        operations.learn(operations.key_of(&request).expect("short"), &learning, None, None);
        let prepared = operations.find(&request).expect("kept");
        // The text is not read again: a request whose text would not parse runs the kept document.
        let mut again = prepared.parsed(Request::new("{ not a document"));
        let document = again.parsed_query().expect("the kept document, not a parse error");
        assert_eq!(format!("{document:?}"), format!("{:?}", parsed(&request)));
    }

    #[test]
    fn the_cache_holds_at_most_its_bytes_whatever_the_documents_weigh() {
        let operations = PreparedOperations::default();
        // Just under the longest text kept: many small fields, the costliest shape to parse.
        let fields: String = (0..1000).map(|n| format!("f{n} ")).collect();
        let mut sizes = Vec::new();
        for n in 0..KEPT.get() {
            let request = Request::new(format!("query Q{n} {{ {fields} }}"));
            let learning = Learning::default();
            learning.document(&parsed(&request), Some(Role::Anonymous), 0);
            learning.complexity(1);
            operations.learn(operations.key_of(&request).expect("short"), &learning, None, None);
            sizes.push(operations.bytes());
        }
        let one = sizes[0];
        assert!(one > 20 * request_text(&fields), "a document weighs far more than its text: {one} bytes");
        assert!(operations.bytes() <= KEPT_BYTES, "{} bytes kept", operations.bytes());
        let kept = operations.operations.lock().map(|kept| kept.len()).unwrap_or_default();
        assert!(kept < KEPT.get(), "the bytes bound, not the count, decided: {kept} kept");
    }

    fn request_text(fields: &str) -> usize {
        fields.len() + 16
    }

    #[test]
    fn what_the_guard_could_not_decide_is_not_kept() {
        let operations = PreparedOperations::default();
        let request = Request::new("{ __schema { types { name } } }");
        let learning = Learning::default();
        learning.document(&parsed(&request), None, 0);
        learning.complexity(3);
        operations.learn(operations.key_of(&request).expect("short"), &learning, None, None);
        assert!(operations.find(&request).is_none());
        let long = Request::new(format!("{{ __typename }} # {}", "x".repeat(LONGEST_TEXT)));
        assert!(operations.key_of(&long).is_none());
    }
}
