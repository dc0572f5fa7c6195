//! Limits async-graphql does not have built in: depth with a separate bound for introspection,
//! aliases per document, and the alias and complexity limits applied to an HTTP request as a
//! whole, so that a batch of operations cannot spend ten times what one may.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::ServerResult;
use async_graphql::extensions::ExtensionContext;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Positioned};

use super::error::{Code, request_refused, request_refused_for};
use super::expansion::Expansion;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::context::{RequestContext, SharedBudget};

/// How deep introspection may nest, counted from `__schema` or `__type`. graphql-js 16's
/// standard query (every option on) reaches 15: `__schema`, `types`, `fields`, `args`, `type`,
/// nine `ofType` and a `name`. The rest is headroom for tools that ask a little more; an `ofType`
/// chain of a hundred is refused.
pub const MAX_INTROSPECTION_DEPTH: usize = 20;

/// The deepest nesting async-graphql's parser accepts at all (its own constant, which guards the
/// stack). A deeper document is refused here before parsing, so that its error names the limits
/// rather than the parser's bare "recursion limit exceeded".
pub const MAX_PARSE_DEPTH: usize = 64;

/// The deepest `{ }` nesting of a document's text, outside strings and comments.
fn brace_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            '}' => depth = depth.saturating_sub(1),
            '#' => {
                chars.by_ref().find(|&c| c == '\n');
            }
            '"' if chars.peek() == Some(&'"') => {
                chars.next();
                if chars.peek() == Some(&'"') {
                    // A block string runs to the next unescaped `"""`.
                    chars.next();
                    let mut quotes = 0;
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' if quotes == 0 => {
                                chars.next();
                            }
                            '"' => {
                                quotes += 1;
                                if quotes == 3 {
                                    break;
                                }
                            }
                            _ => quotes = 0,
                        }
                    }
                }
                // Otherwise an empty string.
            }
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' | '\n' => break,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    deepest
}

/// Refuses documents nested deeper than the data limit (introspection, which tools send nested
/// deeper than any data query needs, has [`MAX_INTROSPECTION_DEPTH`]), with more than a set
/// number of aliased fields (a cheap guard against alias-based amplification, the same expensive
/// field asked for hundreds of times), and requests whose operations together have more aliases
/// or complexity than one may have.
pub struct RequestLimits {
    max_depth: usize,
    max_aliases: usize,
    max_complexity: usize,
    introspection: bool,
    budget: Option<Arc<ClientBudget>>,
}

impl RequestLimits {
    /// At most `max_depth` levels of data fields, `max_aliases` aliases and `max_complexity`
    /// complexity points per request; introspection only when `introspection` is on; each client
    /// spends at most `budget_per_minute` complexity points a minute (0: no budget).
    pub fn new(
        max_depth: usize,
        max_aliases: usize,
        max_complexity: usize,
        introspection: bool,
        budget_per_minute: u32,
    ) -> Self {
        let budget = NonZeroU32::new(budget_per_minute).map(|points| Arc::new(ClientBudget::new(points)));
        Self { max_depth, max_aliases, max_complexity, introspection, budget }
    }
}

/// Complexity points each client may spend a minute, so one client cannot starve the rest: a
/// signed-in user's requests share one budget wherever they come from, an anonymous client's
/// share its network's. A generic cell rate algorithm (the `governor` crate) refills it evenly.
/// Kept in this process: with several replicas, each grants its own budget.
pub struct ClientBudget {
    limiter: DefaultKeyedRateLimiter<BudgetKey>,
    points_per_minute: NonZeroU32,
}

/// Budgets of this many clients are kept before the idle ones are forgotten.
const BUDGETS_KEPT: usize = 10_000;

impl ClientBudget {
    fn new(points_per_minute: NonZeroU32) -> Self {
        Self { limiter: RateLimiter::keyed(Quota::per_minute(points_per_minute)), points_per_minute }
    }

    /// Spends `points` of `client`'s budget, or says how long to wait until they are there.
    fn spend(&self, client: &BudgetKey, points: usize) -> Result<(), Duration> {
        if self.limiter.len() > BUDGETS_KEPT {
            self.limiter.retain_recent();
        }
        let points = NonZeroU32::new(u32::try_from(points.max(1)).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        match self.limiter.check_key_n(client, points) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(not_until.wait_time_from(DefaultClock::default().now())),
            // More than a whole minute's budget at once: never affordable, so wait a minute.
            Err(_) => Err(Duration::from_secs(60)),
        }
    }
}

/// Whose budget a request spends: its user's, or else its client network's (see
/// `authentication::network`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BudgetKey {
    User(uuid::Uuid),
    Network(Option<std::net::IpAddr>),
}

impl BudgetKey {
    /// The budget of a caller: the signed-in `user`, or else a client at `address`.
    pub fn of(user: Option<uuid::Uuid>, address: Option<std::net::IpAddr>) -> Self {
        match user {
            Some(user) => Self::User(user),
            None => Self::Network(crate::authentication::network_address(address)),
        }
    }

    fn of_context(ctx: &ExtensionContext<'_>) -> Self {
        let Some(context) = RequestContext::in_hook(ctx) else { return Self::Network(None) };
        Self::of(context.principal().user_id, Some(context.client_address()))
    }
}

/// How deep a selection nests: its data fields, and introspection fields separately.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Depth {
    data: usize,
    introspection: usize,
}

impl Depth {
    fn max(self, other: Self) -> Self {
        Self { data: self.data.max(other.data), introspection: self.introspection.max(other.introspection) }
    }
}

/// Measures selection sets, each fragment once per kind of place it is spread in (a fragment
/// spread many times over would otherwise be walked exponentially often).
struct DepthMeter<'a> {
    document: &'a ExecutableDocument,
    fragments: HashMap<(&'a Name, bool), Depth>,
    walking: Vec<&'a Name>,
}

impl<'a> DepthMeter<'a> {
    fn new(document: &'a ExecutableDocument) -> Self {
        Self { document, fragments: HashMap::new(), walking: Vec::new() }
    }

    /// The depth of `set`, relative to it; `introspecting` once under `__schema` or `__type`.
    fn selection_set(&mut self, set: &'a SelectionSet, introspecting: bool) -> Depth {
        let mut depth = Depth::default();
        for selection in &set.items {
            let inner = match &selection.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    let enters = !introspecting && (name == "__schema" || name == "__type");
                    let below = self.selection_set(&field.node.selection_set.node, introspecting || enters);
                    if introspecting || enters {
                        Depth { data: usize::from(enters), introspection: below.introspection + 1 }
                    } else {
                        Depth { data: below.data + 1, introspection: below.introspection }
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.selection_set(&fragment.node.selection_set.node, introspecting)
                }
                Selection::FragmentSpread(spread) => self.fragment(&spread.node.fragment_name, introspecting),
            };
            depth = depth.max(inner);
        }
        depth
    }

    fn fragment(&mut self, name: &'a Positioned<Name>, introspecting: bool) -> Depth {
        let name = &name.node;
        if let Some(depth) = self.fragments.get(&(name, introspecting)) {
            return *depth;
        }
        // A fragment that spreads itself: validation refuses the document, which has no depth.
        let Some(fragment) = self.document.fragments.get(name).filter(|_| !self.walking.contains(&name)) else {
            return Depth::default();
        };
        self.walking.push(name);
        let depth = self.selection_set(&fragment.node.selection_set.node, introspecting);
        self.walking.pop();
        self.fragments.insert((name, introspecting), depth);
        depth
    }
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

/// The checks, which the schema's one extension ([`super::guards`]) runs around parsing and
/// validation.
impl RequestLimits {
    /// Refuses a document's text nested deeper than the parser accepts, before it is parsed.
    pub fn check_text(&self, query: &str) -> ServerResult<()> {
        let nesting = brace_depth(query);
        if nesting > MAX_PARSE_DEPTH {
            let message = format!(
                "Query is nested {nesting} levels deep; data may nest at most {} levels and introspection at most {MAX_INTROSPECTION_DEPTH}",
                self.max_depth
            );
            return Err(request_refused(Code::BadUserInput, message));
        }
        Ok(())
    }

    /// Refuses a parsed document nested too deep, introspecting where that is off, or with more
    /// aliases than one document may have; returns its aliases, for [`Self::spend_aliases`].
    pub fn check_document(&self, document: &ExecutableDocument) -> ServerResult<usize> {
        let mut meter = DepthMeter::new(document);
        let depth = document
            .operations
            .iter()
            .map(|(_, operation)| meter.selection_set(&operation.node.selection_set.node, false))
            .fold(Depth::default(), Depth::max);
        if depth.data > self.max_depth {
            let message = format!("Query is nested {} levels deep; at most {} are allowed", depth.data, self.max_depth);
            return Err(request_refused(Code::BadUserInput, message));
        }
        if depth.introspection > 0 && !self.introspection {
            let message =
                "Introspection is turned off on this server (CAREERGRAPH_INTROSPECTION=false); use schema.graphql";
            return Err(request_refused(Code::BadUserInput, message));
        }
        if depth.introspection > MAX_INTROSPECTION_DEPTH {
            let message = format!(
                "Introspection is nested {} levels deep; at most {MAX_INTROSPECTION_DEPTH} are allowed",
                depth.introspection
            );
            return Err(request_refused(Code::BadUserInput, message));
        }
        let operations = document.operations.iter().map(|(_, operation)| &operation.node.selection_set.node);
        let fragments = document.fragments.values().map(|fragment| &fragment.node.selection_set.node);
        let aliases: usize = operations.chain(fragments).map(count_aliases).sum();
        if aliases > self.max_aliases {
            let message = format!("Query has {aliases} aliases; at most {} are allowed", self.max_aliases);
            return Err(request_refused(Code::BadUserInput, message));
        }
        Ok(aliases)
    }

    /// Adds a document's `aliases` to its request's, refusing the request's documents together
    /// having more than one may have.
    pub fn spend_aliases(&self, request: Option<&SharedBudget>, aliases: usize) -> ServerResult<()> {
        let total = request.map_or(aliases, |budget| budget.spend_aliases(aliases));
        if total > self.max_aliases {
            let message = format!(
                "The request's operations have {total} aliases together; at most {} are allowed",
                self.max_aliases
            );
            return Err(request_refused(Code::BadUserInput, message));
        }
        Ok(())
    }

    /// Refuses a document larger, once its fragments are spread, than a request may resolve,
    /// before anything walks its expanded form. Its expanded size is spent from `client`'s
    /// budget either way: a document within the limit pays it up front (or is refused
    /// RATE_LIMITED); a refused one is charged the limit, or the client's whole minute when that
    /// is less, so that refused documents cost their sender as much as the work they ask for.
    pub fn check_expansion(&self, client: BudgetKey, expansion: Expansion) -> ServerResult<()> {
        if expansion.selections <= self.max_complexity {
            return self.spend_client(client, expansion.selections);
        }
        if let Some(budget) = &self.budget {
            let charge = self.max_complexity.min(budget.points_per_minute.get() as usize);
            // Refused either way; the charge is what matters.
            let _ = budget.spend(&client, charge);
        }
        let message = format!(
            "The query selects {} fields once its fragments are spread; at most {} are allowed",
            expansion.selections, self.max_complexity
        );
        Err(request_refused(Code::BadUserInput, message))
    }

    /// Spends `points` from `client`'s budget for the minute.
    pub fn spend_client(&self, client: BudgetKey, points: usize) -> ServerResult<()> {
        if let Some(budget) = &self.budget
            && let Err(wait) = budget.spend(&client, points)
        {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let message = format!(
                "This client has spent its {} complexity points for the minute; retry in {seconds} s",
                budget.points_per_minute
            );
            return Err(request_refused_for(Code::RateLimited, message, seconds.max(1)));
        }
        Ok(())
    }

    /// Spends a validated operation's `complexity` from `client`'s budget and the request's;
    /// `prepaid` points of it were spent from the client's budget already (its expanded size,
    /// by [`Self::check_expansion`]).
    pub fn spend(
        &self,
        client: BudgetKey,
        request: Option<&SharedBudget>,
        complexity: usize,
        prepaid: usize,
    ) -> ServerResult<()> {
        match prepaid {
            // Every operation spends something, however cheap: the budget counts at least a point.
            0 => self.spend_client(client, complexity)?,
            _ if complexity > prepaid => self.spend_client(client, complexity - prepaid)?,
            _ => {}
        }
        let total = request.map_or(complexity, |budget| budget.spend_complexity(complexity));
        if total > self.max_complexity {
            let message = format!(
                "The request's operations have complexity {total} together; at most {} is allowed",
                self.max_complexity
            );
            return Err(request_refused(Code::BadUserInput, message));
        }
        Ok(())
    }

    /// [`Self::spend_aliases`] for the operation an extension hook sees.
    pub fn spend_aliases_in(&self, ctx: &ExtensionContext<'_>, aliases: usize) -> ServerResult<()> {
        self.spend_aliases(RequestContext::in_hook(ctx).map(RequestContext::budget), aliases)
    }

    /// [`Self::spend`] for the operation an extension hook sees.
    pub fn spend_in(&self, ctx: &ExtensionContext<'_>, complexity: usize, prepaid: usize) -> ServerResult<()> {
        let request = RequestContext::in_hook(ctx).map(RequestContext::budget);
        self.spend(BudgetKey::of_context(ctx), request, complexity, prepaid)
    }
}

/// A document whose fragments each spread the next under two keys, `levels` deep: small as
/// text, but 2^`levels` keys when expanded naively.
#[cfg(test)]
pub(crate) fn doubling_fragments(levels: usize) -> String {
    let mut query = String::from("{ ...F0 }");
    for level in 0..levels {
        query.push_str(&format!(
            " fragment F{level} on Query {{ a {{ ...F{next} }} b {{ ...F{next} }} }}",
            next = level + 1
        ));
    }
    query.push_str(&format!(" fragment F{levels} on Query {{ leaf }}"));
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(query: &str) -> Depth {
        let document = async_graphql::parser::parse_query(query).expect("a document");
        let mut meter = DepthMeter::new(&document);
        document
            .operations
            .iter()
            .map(|(_, operation)| meter.selection_set(&operation.node.selection_set.node, false))
            .fold(Depth::default(), Depth::max)
    }

    #[test]
    fn data_and_introspection_are_measured_apart() {
        assert_eq!(depth("{ a { b { c } } }"), Depth { data: 3, introspection: 0 });
        assert_eq!(depth("{ a { __typename } }"), Depth { data: 2, introspection: 0 });
        assert_eq!(depth("{ __schema { types { name } } a }"), Depth { data: 1, introspection: 3 });
        assert_eq!(depth("{ a { b } ...F } fragment F on Q { c { d { e } } }"), Depth { data: 3, introspection: 0 });
        assert_eq!(
            depth("{ __type(name: \"X\") { ...T } } fragment T on __Type { ofType { ofType { name } } }"),
            Depth { data: 1, introspection: 4 }
        );
    }

    #[test]
    fn fragments_spread_many_times_are_measured_once() {
        // Walked naively, 2^40 visits.
        assert_eq!(depth(&doubling_fragments(40)).data, 41);
    }

    #[test]
    fn braces_in_strings_and_comments_do_not_nest() {
        assert_eq!(brace_depth("{ a { b } }"), 2);
        assert_eq!(brace_depth("{ a(s: \"{{{{\") { b } } # {{{{"), 2);
        assert_eq!(brace_depth("{ a(s: \"\"\" {{ \\\"\"\" {{ \"\"\") }"), 1);
        assert_eq!(brace_depth("{ a(s: \"\\\" {{\") }"), 1);
        assert_eq!(brace_depth(&"{".repeat(100)), 100);
    }

    #[test]
    fn a_fragment_that_spreads_itself_does_not_hang_the_meter() {
        assert_eq!(depth("{ ...F } fragment F on Q { a { ...F } }").data, 1);
    }
}
