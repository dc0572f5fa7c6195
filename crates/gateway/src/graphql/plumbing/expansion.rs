//! How large a document is once its fragments are spread: the size every later pass works on.
//!
//! A document is small as text but can be exponential once expanded: fragments that each spread
//! the next one twice, `n` deep, are `2^n` selections (904 bytes reach four million). async-graphql
//! walks the expanded form in its recursive-depth check, in validation and in execution, none of
//! which it bounds, so a document is measured here first, each fragment once (memoised), and
//! refused above the limit before any of them runs (see `limits::RequestLimits::check_expansion`).

use std::collections::HashMap;

use async_graphql::Name;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// The selections of a document with every fragment spread in place, over all its operations
/// (validation reads them all).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expansion {
    /// Every field selected, `__typename` included, counted once per place it is reached.
    pub selections: usize,
    /// Of those, `__typename`: async-graphql's complexity counts it as nothing, so it is added.
    pub typenames: usize,
}

impl Expansion {
    /// Measures `document`, visiting each fragment's definition once however often it is spread.
    /// Counts saturate rather than overflow.
    pub fn of(document: &ExecutableDocument) -> Self {
        let mut meter = Meter { document, fragments: HashMap::new(), walking: Vec::new() };
        document
            .operations
            .iter()
            .map(|(_, operation)| meter.selection_set(&operation.node.selection_set.node))
            .fold(Self::default(), Self::plus)
    }

    fn plus(self, other: Self) -> Self {
        Self {
            selections: self.selections.saturating_add(other.selections),
            typenames: self.typenames.saturating_add(other.typenames),
        }
    }
}

struct Meter<'a> {
    document: &'a ExecutableDocument,
    fragments: HashMap<&'a Name, Expansion>,
    /// The fragments being measured, to stop at a cycle (which validation refuses).
    walking: Vec<&'a Name>,
}

impl<'a> Meter<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> Expansion {
        set.items.iter().fold(Expansion::default(), |total, selection| {
            let inner = match &selection.node {
                Selection::Field(field) => {
                    let typename = usize::from(field.node.name.node.as_str() == "__typename");
                    Expansion { selections: 1, typenames: typename }
                        .plus(self.selection_set(&field.node.selection_set.node))
                }
                Selection::InlineFragment(fragment) => self.selection_set(&fragment.node.selection_set.node),
                Selection::FragmentSpread(spread) => self.fragment(&spread.node.fragment_name.node),
            };
            total.plus(inner)
        })
    }

    fn fragment(&mut self, name: &'a Name) -> Expansion {
        if let Some(size) = self.fragments.get(name) {
            return *size;
        }
        let Some(fragment) = self.document.fragments.get(name).filter(|_| !self.walking.contains(&name)) else {
            return Expansion::default();
        };
        self.walking.push(name);
        let size = self.selection_set(&fragment.node.selection_set.node);
        self.walking.pop();
        self.fragments.insert(name, size);
        size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expansion(query: &str) -> Expansion {
        Expansion::of(&async_graphql::parser::parse_query(query).expect("a document"))
    }

    #[test]
    fn fields_are_counted_where_fragments_spread_them() {
        assert_eq!(expansion("{ a { b c } }"), Expansion { selections: 3, typenames: 0 });
        assert_eq!(
            expansion("{ a { ...F } b { ...F } } fragment F on T { c __typename }"),
            Expansion { selections: 6, typenames: 2 }
        );
        assert_eq!(expansion("{ ... on Q { a } }"), Expansion { selections: 1, typenames: 0 });
    }

    #[test]
    fn a_doubling_chain_is_measured_without_expanding_it() {
        let mut query = String::from("query One { ...F0 }");
        for level in 0..62 {
            query.push_str(&format!(" fragment F{level} on Query {{ ...F{next} ...F{next} }}", next = level + 1));
        }
        query.push_str(" fragment F62 on Query { __typename }");
        assert_eq!(expansion(&query), Expansion { selections: 1 << 62, typenames: 1 << 62 });
        query.push_str(" query Two { ...F0 ...F0 ...F0 ...F0 ...F0 }");
        assert_eq!(expansion(&query).selections, usize::MAX, "saturates");
    }

    #[test]
    fn a_fragment_cycle_ends() {
        assert_eq!(expansion("{ ...F } fragment F on Q { a ...F }").selections, 1);
    }
}
