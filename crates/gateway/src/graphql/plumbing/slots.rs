//! A bound on the GraphQL operations executing at once.
//!
//! An operation holds its loaded rows, its answer being built and its futures until it is
//! written out; a nested page of career paths holds about two megabytes. Every connection's
//! operation running at once makes the server's memory grow with the number of clients, while
//! two cores finish them no sooner. With a fixed number of slots, further operations wait for one
//! in order (a fair semaphore), so memory is bounded by the slots and the largest answer, and
//! throughput is unchanged as long as the slots keep every core busy: a few per core covers the
//! time operations spend waiting for the database. The request timeout covers the wait.
//!
//! An operation that waits for work bounded elsewhere (a password check, which the password
//! pool bounds) sets its slot aside meanwhile: otherwise a flood of sign-ins queued for the
//! password pool holds every slot, and reads wait behind them for work that is not theirs.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use prometheus::IntCounter;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The execution slots of one server.
pub struct ExecutionSlots {
    semaphore: Arc<Semaphore>,
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
        Self { semaphore: Arc::new(Semaphore::new(capacity)), capacity, waiting: AtomicUsize::new(0), queued }
    }

    /// Waits for a slot; the operation executes while the returned slot lives.
    pub async fn enter(self: &Arc<Self>) -> Slot {
        Slot { permit: Mutex::new(self.permit().await), slots: self.clone() }
    }

    async fn permit(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = self.semaphore.clone().try_acquire_owned() {
            return Some(permit);
        }
        self.queued.inc();
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let waiting = Waiting(&self.waiting);
        // The semaphore is never closed, so this only fails if it were: execute unbounded then.
        let permit = self.semaphore.clone().acquire_owned().await.ok();
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

/// One operation's execution slot.
pub struct Slot {
    permit: Mutex<Option<OwnedSemaphorePermit>>,
    slots: Arc<ExecutionSlots>,
}

impl Slot {
    /// Gives the slot back while `work` runs, and waits for one again when it is done.
    pub async fn set_aside<T>(&self, work: impl Future<Output = T>) -> T {
        // Dropped here, before the work: the slot is free while it runs.
        let held = self.permit.lock().unwrap_or_else(PoisonError::into_inner).take().is_some();
        let output = work.await;
        if held {
            let permit = self.slots.permit().await;
            *self.permit.lock().unwrap_or_else(PoisonError::into_inner) = permit;
        }
        output
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
        let slots = Arc::new(ExecutionSlots::new(1));
        let first = slots.enter().await;
        assert_eq!((slots.executing(), slots.waiting()), (1, 0));
        let mut second = Box::pin(slots.enter());
        assert!(futures::poll!(second.as_mut()).is_pending(), "no slot is free");
        assert_eq!((slots.waiting(), slots.queued_counter().get()), (1, 1));
        drop(first);
        let _second = second.await;
        assert_eq!((slots.executing(), slots.waiting()), (1, 0));
    }

    #[tokio::test]
    async fn a_slot_set_aside_lets_another_operation_execute_meanwhile() {
        let slots = Arc::new(ExecutionSlots::new(1));
        let waiter = slots.enter().await;
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let mut aside = Box::pin(waiter.set_aside(released));
        assert!(futures::poll!(aside.as_mut()).is_pending(), "the work it waits for is not done");
        assert_eq!(slots.executing(), 0, "its slot is free while it waits");
        let other = slots.enter().await;
        assert_eq!(slots.executing(), 1);
        let _ = release.send(());
        assert!(futures::poll!(aside.as_mut()).is_pending(), "done, it waits for a slot again");
        drop(other);
        assert!(aside.await.is_ok());
        assert_eq!(slots.executing(), 1, "and holds one again");
        drop(waiter);
        assert_eq!(slots.executing(), 0);
    }

    #[tokio::test]
    async fn an_abandoned_wait_is_no_longer_counted() {
        let slots = Arc::new(ExecutionSlots::new(1));
        let _held = slots.enter().await;
        let mut waiting = Box::pin(slots.enter());
        assert!(futures::poll!(waiting.as_mut()).is_pending());
        drop(waiting);
        assert_eq!(slots.waiting(), 0);
    }
}
