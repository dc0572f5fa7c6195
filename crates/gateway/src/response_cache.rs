//! Anonymous answers kept in memory, until a change that can touch them commits.
//!
//! An anonymous query's answer is the same for every anonymous caller, so it can be served again
//! without reaching the database. The promise ([`PublicMaxAge`](crate::config::Config)) is: an
//! answer is served from memory until an edit that can affect it commits (the change feed tells
//! every instance, see [`crate::changes`]), and never longer than `CAREERGRAPH_PUBLIC_MAX_AGE_SECS`
//! — the staleness the server already allows shared HTTP caches.
//!
//! Each answer knows which kinds of row it read ([`Reads`]), worked out from the fields its
//! document can reach: a change of a skill forgets the answers that show skills, not those that
//! show only salaries. Forgetting is exact under races: an answer remembers the feed's clock as
//! it was *before* it started reading, and is served only while no change of a kind it read has
//! come since. So an answer whose reading overlapped a commit is never served, even if it is
//! stored after the change was announced.
//!
//! An answer read from a streaming replica is kept only if the replica held every commit made
//! before the last change this process had heard of when the answer started reading: a replica
//! that lags would otherwise fill the cache with rows older than a change already announced,
//! and serve them until the next change or the max-age.
//!
//! The entries live in a moka cache bounded in bytes (body, key and bookkeeping), which evicts the
//! least useful first and expires each after the max-age.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use careergraph_domain::audit::EntityKind;
use careergraph_domain::changes::Change;
use moka::notification::RemovalCause;

use crate::metrics::Metrics;

/// What identifies an answer: the operation's document, its name and its variables, however
/// the request carried them (`GET`, `POST`, a persisted query's hash).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    query: String,
    operation_name: Option<String>,
    variables: String,
}

impl Key {
    /// The key of an operation with this document, name and variables (as JSON text).
    pub fn new(query: String, operation_name: Option<String>, variables: String) -> Self {
        Self { query, operation_name, variables }
    }

    fn bytes(&self) -> usize {
        self.query.len() + self.operation_name.as_ref().map_or(0, String::len) + self.variables.len()
    }
}

/// The kinds of row an answer read: a set of [`EntityKind`]s, or everything (an answer whose
/// document reaches computed answers — search ranks, graph answers, JSON-LD — or that the
/// document alone cannot tell).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    /// These kinds, one bit each (by position in [`EntityKind::ALL`]).
    Kinds(u32),
    /// Any change can affect it.
    Everything,
}

impl Reads {
    /// What an answer reaching `fields` (parent type, field, object type returned or "" for a
    /// scalar or an enum) reads; `None` fields (a document the policy cannot walk) read
    /// everything.
    pub fn of<'a>(fields: Option<impl IntoIterator<Item = (&'a str, &'a str, &'a str)>>) -> Self {
        let Some(fields) = fields else { return Self::Everything };
        let mut reads = Self::Kinds(0);
        for (parent, field, returns) in fields {
            reads = reads.with(field_reads(parent, field)).with(type_reads(returns));
        }
        reads
    }

    fn with(self, other: Self) -> Self {
        match (self, other) {
            (Self::Kinds(a), Self::Kinds(b)) => Self::Kinds(a | b),
            _ => Self::Everything,
        }
    }

    fn kinds(kinds: &[EntityKind]) -> Self {
        Self::Kinds(kinds.iter().fold(0, |bits, kind| bits | bit(*kind)))
    }

    /// Whether a change of `kind` can affect what was read.
    pub fn includes(self, kind: EntityKind) -> bool {
        match self {
            Self::Kinds(bits) => bits & bit(kind) != 0,
            Self::Everything => true,
        }
    }
}

fn bit(kind: EntityKind) -> u32 {
    1 << position(kind)
}

/// Where `kind` stands in [`EntityKind::ALL`]: its bit in [`Reads`] and its slot in [`Clock`].
fn position(kind: EntityKind) -> usize {
    EntityKind::ALL.iter().position(|known| *known == kind).unwrap_or(0)
}

/// What a field of `parent` reads: the rows of the parent's kind (or, for a connection or an
/// edge, of its nodes' kind), and for the few fields computed from more than that, what they
/// are computed from.
fn field_reads(parent: &str, field: &str) -> Reads {
    use EntityKind::{CareerPath, SalaryRecord, Skill};
    match (parent, field) {
        // From each of the path's skills: a skill's technologies change under a skill's event.
        ("CareerPath", "technologies") => Reads::kinds(&[CareerPath, Skill]),
        // Documents made of everything a path links to, and imported data.
        ("CareerPath", "jsonLd" | "jobZone" | "sources") => Reads::Everything,
        ("CareerPath", "salary") => Reads::kinds(&[CareerPath, SalaryRecord]),
        _ => type_reads(parent),
    }
}

/// What an object of type `name` shows: its own kind's rows, those of the links it is made of,
/// or — for computed objects and anything not listed — everything.
fn type_reads(name: &str) -> Reads {
    use EntityKind::{CareerPath, SalaryRecord, Skill, Technology};
    if let Some(kind) = EntityKind::named(name) {
        return Reads::kinds(&[kind]);
    }
    if let Some(node) = name.strip_suffix("Connection").or_else(|| name.strip_suffix("Edge"))
        && let Some(kind) = EntityKind::named(node)
    {
        return Reads::kinds(&[kind]);
    }
    match name {
        // The root type and page info read nothing themselves; their fields' types say. A
        // scalar or an enum (named "") is part of the object that shows it.
        "" | "Query" | "PageInfo" => Reads::Kinds(0),
        // Links between two kinds, whose edits are events of either.
        "CareerPathSkill" | "SkillUse" => Reads::kinds(&[CareerPath, Skill]),
        "CareerPathTechnology" => Reads::kinds(&[CareerPath, Skill, Technology]),
        "Outlook" => Reads::kinds(&[CareerPath]),
        "SalarySummary" | "SalaryStat" => Reads::kinds(&[CareerPath, SalaryRecord]),
        // Anything else is computed across kinds.
        _ => Reads::Everything,
    }
}

/// The feed's clock: a tick per change, and the tick of the latest change of each kind.
#[derive(Default)]
struct Clock {
    now: AtomicU64,
    changed: [AtomicU64; 32],
    everything: AtomicU64,
}

impl Clock {
    fn tick(&self) -> u64 {
        self.now.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Whether nothing that `reads` covers has changed after `seen`.
    fn unchanged_since(&self, seen: u64, reads: Reads) -> bool {
        if self.everything.load(Ordering::SeqCst) > seen {
            return false;
        }
        match reads {
            Reads::Everything => self.now.load(Ordering::SeqCst) <= seen,
            Reads::Kinds(bits) => (0..32)
                .filter(|position| bits & (1 << position) != 0)
                .all(|position| self.changed[position].load(Ordering::SeqCst) <= seen),
        }
    }
}

/// A stored answer.
pub struct Answer {
    /// The response body, as sent.
    pub body: Bytes,
    /// The operation's type and name, for the request log.
    pub operation: (&'static str, String),
    /// The operation's complexity, which a client is charged each time it is served.
    pub complexity: usize,
    reads: Reads,
    /// The feed's clock before the answer started reading.
    seen: u64,
    bytes: usize,
}

/// The feed's clock as an answer starts reading: what its freshness is judged against.
#[derive(Clone, Copy, Debug)]
pub struct Ticket {
    seen: u64,
    last_change: Option<Instant>,
}

impl Ticket {
    /// When the last change this process heard of before the ticket was heard: an answer read
    /// from a replica that did not yet hold every commit made before then may show older rows
    /// than the change's (and must not be kept).
    pub fn last_change(&self) -> Option<Instant> {
        self.last_change
    }
}

/// Bookkeeping per entry beside its body and key: the entry, its key's allocation, moka's own.
const ENTRY_OVERHEAD: usize = 256;

/// The response cache; off when its size or the public max-age is 0.
pub struct ResponseCache {
    entries: Option<moka::sync::Cache<Arc<Key>, Arc<Answer>>>,
    clock: Clock,
    /// When the last change was heard (see [`Ticket::last_change`]).
    last_change: Mutex<Option<Instant>>,
    metrics: Arc<Metrics>,
}

impl ResponseCache {
    /// A cache of at most `mib` MiB whose answers live at most `max_age`.
    pub fn new(mib: u64, max_age: Duration, metrics: Arc<Metrics>) -> Self {
        let entries = (mib > 0 && !max_age.is_zero()).then(|| {
            let evicted = metrics.clone();
            moka::sync::Cache::builder()
                .max_capacity(mib * 1024 * 1024)
                .weigher(|_: &Arc<Key>, answer: &Arc<Answer>| u32::try_from(answer.bytes).unwrap_or(u32::MAX))
                .time_to_live(max_age)
                .support_invalidation_closures()
                .eviction_listener(move |_, _, cause| {
                    let cause = match cause {
                        RemovalCause::Explicit => "change",
                        RemovalCause::Size => "size",
                        RemovalCause::Expired => "expired",
                        RemovalCause::Replaced => return,
                    };
                    evicted.response_cache_evicted(cause);
                })
                .build()
        });
        Self { entries, clock: Clock::default(), last_change: Mutex::new(None), metrics }
    }

    /// Whether answers are kept at all.
    pub fn enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// The answer kept for `key`, if nothing it read has changed since it was made.
    pub fn get(&self, key: &Key) -> Option<Arc<Answer>> {
        let entries = self.entries.as_ref()?;
        let found = entries.get(key).filter(|answer| self.clock.unchanged_since(answer.seen, answer.reads));
        self.metrics.response_cache_looked_up(found.is_some());
        found
    }

    /// The clock to judge an answer about to be made by.
    pub fn ticket(&self) -> Ticket {
        let seen = self.clock.now.load(Ordering::SeqCst);
        Ticket { seen, last_change: *self.last_change.lock().unwrap_or_else(std::sync::PoisonError::into_inner) }
    }

    /// Keeps `body`, the answer an operation (of `complexity`) made after `ticket` was taken,
    /// which read `reads`.
    pub fn insert(
        &self,
        key: Key,
        body: Bytes,
        operation: (&'static str, String),
        complexity: usize,
        reads: Reads,
        ticket: Ticket,
    ) {
        let Some(entries) = &self.entries else { return };
        if !self.clock.unchanged_since(ticket.seen, reads) {
            // Something it read changed while it was being made.
            return;
        }
        let bytes = body.len() + key.bytes() + operation.1.len() + ENTRY_OVERHEAD;
        entries
            .insert(Arc::new(key), Arc::new(Answer { body, operation, complexity, reads, seen: ticket.seen, bytes }));
        self.metrics.response_cache_bytes(entries.weighted_size());
    }

    /// Forgets every answer `change` can affect.
    pub fn apply(&self, change: &Change) {
        let kind = match change {
            Change::Content(content) => content.kind(),
            Change::Everything => None,
            // Who is signed in changes nothing an anonymous answer shows.
            Change::User { .. } | Change::SessionEnded { .. } => return,
        };
        // Before the clock moves: a ticket that sees the new time sees this change's too.
        *self.last_change.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
        let tick = self.clock.tick();
        match kind {
            Some(kind) => {
                self.clock.changed[position(kind)].fetch_max(tick, Ordering::SeqCst);
            }
            // A kind this version does not know, or anything at all.
            None => {
                self.clock.everything.fetch_max(tick, Ordering::SeqCst);
            }
        }
        // The clock already keeps them from being served; this frees their memory.
        if let Some(entries) = &self.entries {
            match kind {
                Some(kind) => {
                    if let Err(error) = entries.invalidate_entries_if(move |_, answer| answer.reads.includes(kind)) {
                        tracing::warn!(%error, "cannot drop changed answers now; they expire with their max-age");
                    }
                }
                None => entries.invalidate_all(),
            }
            // Now rather than at moka's next maintenance, so the memory and the eviction counts
            // follow the change.
            entries.run_pending_tasks();
            self.metrics.response_cache_bytes(entries.weighted_size());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_follow_the_types_a_document_reaches() {
        let path_titles = [
            ("Query", "careerPaths", "CareerPathConnection"),
            ("CareerPathConnection", "edges", "CareerPathEdge"),
            ("CareerPathEdge", "node", "CareerPath"),
            ("CareerPath", "title", ""),
        ];
        let reads = Reads::of(Some(path_titles));
        assert!(reads.includes(EntityKind::CareerPath));
        assert!(!reads.includes(EntityKind::Skill));
        assert!(!reads.includes(EntityKind::SalaryRecord));

        let skills = [
            ("Query", "careerPath", "CareerPath"),
            ("CareerPath", "skills", "CareerPathSkill"),
            ("CareerPathSkill", "skill", "Skill"),
            ("Skill", "name", ""),
        ];
        let reads = Reads::of(Some(skills));
        assert!(reads.includes(EntityKind::Skill) && reads.includes(EntityKind::CareerPath));
        assert!(!reads.includes(EntityKind::Technology));

        let technologies = [
            ("Query", "careerPath", "CareerPath"),
            ("CareerPath", "technologies", "Technology"),
            ("Technology", "name", ""),
        ];
        assert!(
            Reads::of(Some(technologies)).includes(EntityKind::Skill),
            "a path's technologies come through its skills"
        );

        let moves = [("Query", "careerMoves", "CareerMoveConnection"), ("CareerMoveConnection", "totalCount", "")];
        assert_eq!(Reads::of(Some(moves)), Reads::Everything);
        assert_eq!(Reads::of(None::<[(&str, &str, &str); 0]>), Reads::Everything);
    }

    #[test]
    fn the_clock_refuses_answers_made_across_a_change_of_what_they_read() {
        let clock = Clock::default();
        let skills = Reads::kinds(&[EntityKind::Skill]);
        let seen = clock.now.load(Ordering::SeqCst);
        assert!(clock.unchanged_since(seen, skills));
        let tick = clock.tick();
        clock.changed[1].fetch_max(tick, Ordering::SeqCst);
        assert_eq!(EntityKind::ALL[1], EntityKind::Skill);
        assert!(!clock.unchanged_since(seen, skills));
        assert!(clock.unchanged_since(seen, Reads::kinds(&[EntityKind::Technology])));
        assert!(!clock.unchanged_since(seen, Reads::Everything));
        let tick = clock.tick();
        clock.everything.fetch_max(tick, Ordering::SeqCst);
        assert!(!clock.unchanged_since(tick - 1, Reads::kinds(&[EntityKind::Technology])));
        assert!(clock.unchanged_since(tick, Reads::kinds(&[EntityKind::Technology])));
    }
}
