//! Answers in the order the query asks for.
//!
//! The GraphQL specification serializes an object's fields as an ordered map, in the order its
//! selection set asks for them (fragments expanded in place, a key asked for twice at its first
//! place). async-graphql 7.2 resolves an object's fields concurrently and adds each to the
//! answer as it finishes (`do_resolve_container` drains a `FuturesUnordered`; its issue 612), so
//! a field that waits for a batched load lands after the plain fields that follow it, and the
//! order can change from one request to the next, and with it a public answer's `ETag`.
//!
//! A [`FieldOrder`] is read off the document once (by the guard as it parses an operation, and
//! kept with a prepared one) and puts each object's keys of an answer back in that order. An
//! object already in order, as most are (every type that resolves its fields serially, see
//! `editable_object!`), is only walked.

use std::sync::{Arc, OnceLock};

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Value};

use super::operation::chosen_operation;

/// The most response keys one order holds, fragments expanded. The guard reads the order
/// before validation has measured the document, and fragments spread in many places multiply;
/// a document past this (none a client would write) is answered in the order its fields finish.
const MOST_KEYS: usize = 1024;

/// The response keys of a selection set in the order it asks for them, each with the order of
/// its own selection set.
#[derive(Debug, Default, PartialEq)]
pub struct FieldOrder {
    keys: Vec<(Name, FieldOrder)>,
}

impl FieldOrder {
    /// The order of the operation `document` runs: the one named `operation`, or its only one.
    /// `None` when there is no such operation or the order would be larger than [`MOST_KEYS`].
    pub fn of(document: &ExecutableDocument, operation: Option<&str>) -> Option<Self> {
        let (_, chosen) = chosen_operation(document, operation)?;
        let mut order = FieldOrder::default();
        let mut reading = Reading { document, expanding: Vec::new(), keys: 0 };
        reading.add(&mut order, &chosen.node.selection_set.node).then_some(order)
    }

    /// Puts the keys of every object of `answer` (the answer's `data`) in this order, and counts
    /// its fields as [`resolved_fields`] does: one walk of the answer for both, since walking a
    /// nested answer's thousands of objects is mostly waiting for memory.
    pub fn apply(&self, answer: &mut Value) -> usize {
        match answer {
            Value::List(items) => items.len() + items.iter_mut().map(|item| self.apply(item)).sum::<usize>(),
            Value::Object(fields) => {
                let mut next = 0;
                let mut in_order = true;
                let mut resolved = 0;
                for (key, value) in fields.iter_mut() {
                    resolved += usize::from(key.as_str() != "__typename");
                    // In order, the keys answered are the keys asked for, less the skipped ones.
                    let at = match self.keys[next..].iter().position(|(asked, _)| same(asked, key)) {
                        Some(skipped) => {
                            next += skipped + 1;
                            Some(next - 1)
                        }
                        None => {
                            let at = self.position(key);
                            in_order &= at.is_none();
                            at
                        }
                    };
                    // Most values are scalars, with nothing in them to put in order or to count.
                    if let Value::List(_) | Value::Object(_) = value {
                        resolved += match at {
                            Some(at) => self.keys[at].1.apply(value),
                            None => resolved_fields(value),
                        };
                    }
                }
                if !in_order {
                    fields.sort_by_cached_key(|key, _| self.position(key).unwrap_or(usize::MAX));
                }
                resolved
            }
            _ => 0,
        }
    }

    /// About how much memory it holds: each key's entry (a name shares the document's text).
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self
                .keys
                .iter()
                .map(|(_, order)| std::mem::size_of::<(Name, FieldOrder)>() + order.bytes())
                .sum::<usize>()
    }

    fn position(&self, key: &Name) -> Option<usize> {
        self.keys.iter().position(|(asked, _)| same(asked, key))
    }
}

/// Reads an order off a document, expanding each fragment where it is spread.
struct Reading<'a> {
    document: &'a ExecutableDocument,
    /// The fragments being expanded, to stop at a cycle (which validation then refuses).
    expanding: Vec<&'a str>,
    keys: usize,
}

impl<'a> Reading<'a> {
    /// Adds the keys of `set` to `order`; false once the order holds too many.
    fn add(&mut self, order: &mut FieldOrder, set: &'a SelectionSet) -> bool {
        set.items.iter().all(|selection| match &selection.node {
            Selection::Field(field) => {
                let key = &field.node.response_key().node;
                let at = match order.position(key) {
                    Some(at) => at,
                    None => {
                        self.keys += 1;
                        if self.keys > MOST_KEYS {
                            return false;
                        }
                        order.keys.push((key.clone(), FieldOrder::default()));
                        order.keys.len() - 1
                    }
                };
                self.add(&mut order.keys[at].1, &field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => self.add(order, &fragment.node.selection_set.node),
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match self.document.fragments.get(name) {
                    Some(fragment) if !self.expanding.contains(&name) => {
                        self.expanding.push(name);
                        let added = self.add(order, &fragment.node.selection_set.node);
                        self.expanding.pop();
                        added
                    }
                    // An unknown fragment or a cycle: validation refuses the document.
                    _ => true,
                }
            }
        })
    }
}

/// How many fields an answer resolved, list items included, as the guard counts them for the
/// request's field limit (`__typename` is answered without resolving).
pub fn resolved_fields(value: &Value) -> usize {
    match value {
        Value::List(items) => items.iter().map(|item| 1 + resolved_fields(item)).sum(),
        Value::Object(fields) => {
            fields.iter().map(|(name, value)| usize::from(name.as_str() != "__typename") + resolved_fields(value)).sum()
        }
        _ => 0,
    }
}

/// Where the guard leaves the order of the operation it parsed, for the HTTP layer to apply.
#[derive(Debug, Default)]
pub struct OrderSlot {
    operation: Option<String>,
    order: OnceLock<Arc<FieldOrder>>,
}

impl OrderSlot {
    /// A slot for the operation a request names, if it names one.
    pub fn new(operation: Option<String>) -> Self {
        Self { operation, order: OnceLock::new() }
    }

    /// Reads the order of the operation `document` will run.
    pub fn record(&self, document: &ExecutableDocument) {
        if let Some(order) = FieldOrder::of(document, self.operation.as_deref()) {
            // A request's document is parsed once.
            let _ = self.order.set(Arc::new(order));
        }
    }

    /// The order read, if the document parsed.
    pub fn order(&self) -> Option<Arc<FieldOrder>> {
        self.order.get().cloned()
    }
}

/// Whether two response keys are the same: an answer's keys are the document's own names, shared
/// (an `Arc`), so comparing where they point settles nearly every comparison without the text.
fn same(asked: &Name, answered: &Name) -> bool {
    std::ptr::eq(asked.as_str(), answered.as_str()) || asked == answered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(query: &str) -> Option<FieldOrder> {
        FieldOrder::of(&async_graphql::parser::parse_query(query).expect("a document"), None)
    }

    fn answer(json: serde_json::Value) -> Value {
        Value::from_json(json).expect("a value")
    }

    #[test]
    fn keys_are_put_back_in_the_order_asked_for_at_every_level() {
        let order = order("{ a { x y } ...F c: b } fragment F on Query { b { z } a { w } }").expect("an order");
        let mut data = answer(serde_json::json!({
            "c": 1, "b": [{ "z": 1 }], "a": [{ "w": 1, "y": 2, "x": 3 }, { "x": 4, "w": 5, "y": 6 }]
        }));
        // a, its two items with three fields each, b, its item and z, c: as `resolved_fields` counts.
        assert_eq!(resolved_fields(&data), 13);
        assert_eq!(order.apply(&mut data), 13);
        let expected = answer(serde_json::json!({
            "a": [{ "x": 3, "y": 2, "w": 1 }, { "x": 4, "y": 6, "w": 5 }], "b": [{ "z": 1 }], "c": 1
        }));
        assert_eq!(serde_json::to_string(&data).ok(), serde_json::to_string(&expected).ok());
    }

    #[test]
    fn fields_and_list_items_are_counted_and_typename_is_not() {
        let answer = Value::from_json(serde_json::json!({
            "paths": { "edges": [ { "node": { "title": "a", "__typename": "CareerPath" } }, { "node": null } ] }
        }))
        .expect("a value");
        // paths, edges, two items, two nodes, one title.
        assert_eq!(resolved_fields(&answer), 7);
        // Putting the answer in order counts the same, scalars' lists and keys out of order too.
        let order = order("{ paths { edges { node { __typename title } } } tags }").expect("an order");
        let mut answer = answer;
        assert_eq!(order.apply(&mut answer), 7);
        // Tags and its two items, answered before the paths they were asked after.
        let paths = answer.into_json().expect("JSON")["paths"].take();
        let mut shuffled =
            Value::from_json(serde_json::json!({ "tags": ["a", "b"], "paths": paths })).expect("a value");
        assert_eq!(order.apply(&mut shuffled), 7 + 3);
        assert_eq!(resolved_fields(&shuffled), 7 + 3);
    }

    #[test]
    fn skipped_fields_and_fragment_cycles_change_nothing() {
        let order = order("{ a b c ...F } fragment F on Query { d ...F }").expect("an order");
        let mut data = answer(serde_json::json!({ "a": 1, "c": 2, "d": 3 }));
        order.apply(&mut data);
        assert_eq!(serde_json::to_string(&data).ok().as_deref(), Some(r#"{"a":1,"c":2,"d":3}"#));
    }

    #[test]
    fn a_document_whose_fragments_multiply_past_the_limit_has_no_order() {
        // 2^11 keys at the bottom.
        assert!(order(&crate::graphql::plumbing::limits::doubling_fragments(11)).is_none());
        assert!(order("{ a { ...F } } fragment F on Query { b }").is_some());
    }

    #[test]
    fn the_named_operation_is_the_one_ordered() {
        let document = async_graphql::parser::parse_query("query A { a b } query B { b a }").expect("a document");
        let keys = |order: FieldOrder| order.keys.into_iter().map(|(key, _)| key.to_string()).collect::<Vec<_>>();
        assert_eq!(FieldOrder::of(&document, Some("B")).map(keys), Some(vec!["b".to_owned(), "a".to_owned()]));
        assert!(FieldOrder::of(&document, Some("C")).is_none());
    }
}
