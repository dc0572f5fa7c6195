//! A bound on the GraphQL operations executing at once.
//!
//! An operation holds its loaded rows, its answer being built and its futures until it is
//! written out; a nested page of career paths holds about two megabytes. Every connection's
//! operation running at once makes the server's memory grow with the number of clients, while
//! two cores finish them no sooner. With a fixed number of slots, further operations wait for one
//! in order (a fair semaphore), so memory is bounded by the slots and the largest answer, and
//! throughput is unchanged as long as the slots keep every core busy: a few per core covers the
//! time operations spend waiting for the database. The request timeout covers the wait.

use std::sync::atomic::{AtomicUsize, Ordering};

use prometheus::IntCounter;
use tokio::sync::{Semaphore, SemaphorePermit};

/// The execution slots of one server.
pub struct ExecutionSlots {
    semaphore: Semaphore,
    capacity: usize,
    waiting: AtomicUsize,
    queued: IntCounter,
}

impl ExecutionSlots {
    /// `capacity` operations may execute at once (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let queued = IntCounter::new(
            "careergraph_operations_queued_total",
            "GraphQL operations that waited for an execution slot (CAREERGRAPH_MAX_CONCURRENT_OPERATIONS)",
        )
        .expect("a valid metric name");
        Self { semaphore: Semaphore::new(capacity), capacity, waiting: AtomicUsize::new(0), queued }
    }

    /// Waits for a slot; the operation executes while the returned permit lives.
    pub async fn enter(&self) -> Option<SemaphorePermit<'_>> {
        if let Ok(permit) = self.semaphore.try_acquire() {
            return Some(permit);
        }
        self.queued.inc();
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let waiting = Waiting(&self.waiting);
        // The semaphore is never closed, so this only fails if it were: execute unbounded then.
        let permit = self.semaphore.acquire().await.ok();
        drop(waiting);
        permit
    }

    /// Operations executing now.
    pub fn executing(&self) -> usize {
        self.capacity - self.semaphore.available_permits()
    }

    /// Operations waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// The counter of operations that had to wait, for the metrics registry.
    pub fn queued_counter(&self) -> &IntCounter {
        &self.queued
    }
}

/// Counts one waiter until dropped, also when the request is abandoned (a timeout, a client
/// that went away) while it waits.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn operations_past_the_capacity_wait_for_a_slot_in_turn() {
        let slots = ExecutionSlots::new(1);
        let first = slots.enter().await;
        assert_eq!((slots.executing(), slots.waiting()), (1, 0));
        let mut second = Box::pin(slots.enter());
        assert!(futures::poll!(second.as_mut()).is_pending(), "no slot is free");
        assert_eq!((slots.waiting(), slots.queued_counter().get()), (1, 1));
        drop(first);
        let second = second.await;
        assert!(second.is_some());
        assert_eq!((slots.executing(), slots.waiting()), (1, 0));
    }

    #[tokio::test]
    async fn an_abandoned_wait_is_no_longer_counted() {
        let slots = ExecutionSlots::new(1);
        let _held = slots.enter().await;
        let mut waiting = Box::pin(slots.enter());
        assert!(futures::poll!(waiting.as_mut()).is_pending());
        drop(waiting);
        assert_eq!(slots.waiting(), 0);
    }
}
