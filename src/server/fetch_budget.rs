//! The broker-wide budget of Fetch response memory (`fetch.inflight.max.bytes`,
//! Sluice's own key; Kafka bounds requests with `queued.max.request.bytes`
//! and sends record data with `sendfile`, so its responses hold no record
//! bytes on the heap). Record data read for a Fetch stays on the heap until
//! the response is written to the socket; every such read is reserved here
//! first, and the reservation lives until the write is done.
//!
//! A fetch never fails because of the budget: it waits while the budget is
//! used up, then reads at most what is free (it shrinks). The first batch of
//! a fetch goes out whole even when it is larger than the reservation (KIP-74,
//! so a large record never blocks a consumer); the reservation then grows to
//! what was read. So the record bytes held at once are at most the budget
//! plus one batch for each fetch whose read started while room was left.
//!
//! `ReplicaManager::fetch_messages` reserves through the replica room's
//! `FetchMemory` and `FetchReservation` traits, implemented here.

use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::replica::{FetchMemory, FetchReservation};

#[derive(Debug)]
pub struct FetchBudget {
    limit: usize,
    in_use: Mutex<usize>,
    /// Woken (all waiters) whenever a reservation shrinks or ends.
    freed: Notify,
}

impl FetchBudget {
    pub fn new(limit: usize) -> Arc<FetchBudget> {
        Arc::new(FetchBudget {
            limit: limit.max(1),
            in_use: Mutex::new(0),
            freed: Notify::new(),
        })
    }

    /// Bytes reserved right now (may pass the limit by first batches).
    pub fn in_use(&self) -> usize {
        *self.in_use.lock()
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Waits until the budget is not used up, then reserves `want` bytes, or
    /// what is free when that is less.
    pub async fn reserve(self: &Arc<Self>, want: usize) -> FetchGrant {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            // Registered before the check: a release in between is not missed.
            freed.as_mut().enable();
            if let Some(grant) = self.try_reserve(want) {
                return grant;
            }
            freed.await;
        }
    }

    /// `reserve` without waiting: `None` while the budget is used up.
    pub fn try_reserve(self: &Arc<Self>, want: usize) -> Option<FetchGrant> {
        let mut in_use = self.in_use.lock();
        if *in_use >= self.limit {
            return None;
        }
        let bytes = want.min(self.limit - *in_use);
        *in_use += bytes;
        Some(FetchGrant {
            budget: Arc::clone(self),
            bytes,
        })
    }

    fn release(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        {
            let mut in_use = self.in_use.lock();
            assert!(*in_use >= bytes, "fetch budget released more than reserved");
            *in_use -= bytes;
        }
        self.freed.notify_waiters();
    }
}

/// One fetch's reservation; dropping it (after the response is written)
/// gives the bytes back.
#[derive(Debug)]
pub struct FetchGrant {
    budget: Arc<FetchBudget>,
    bytes: usize,
}

impl FetchGrant {
    /// The bytes this fetch may read (its first batch may go past them).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// After the read: the reservation becomes exactly `used` bytes, giving
    /// back what was not read or counting a first batch that went past it.
    pub fn settle(&mut self, used: usize) {
        if used < self.bytes {
            let surplus = self.bytes - used;
            self.bytes = used;
            self.budget.release(surplus);
        } else if used > self.bytes {
            *self.budget.in_use.lock() += used - self.bytes;
            self.bytes = used;
        }
    }
}

impl Drop for FetchGrant {
    fn drop(&mut self) {
        self.budget.release(self.bytes);
    }
}

impl FetchMemory for Arc<FetchBudget> {
    type Grant = FetchGrant;

    fn reserve(&self, want: usize) -> impl Future<Output = FetchGrant> + Send {
        FetchBudget::reserve(self, want)
    }
}

impl FetchReservation for FetchGrant {
    fn bytes(&self) -> usize {
        FetchGrant::bytes(self)
    }

    fn settle(&mut self, used: usize) {
        FetchGrant::settle(self, used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fetches_shrink_to_the_budget_and_wait_when_it_is_used_up() {
        let budget = FetchBudget::new(100);
        let mut first = budget.reserve(60).await;
        assert_eq!(first.bytes(), 60);
        let second = budget.reserve(60).await;
        assert_eq!(second.bytes(), 40, "shrinks to what is free");
        assert_eq!(budget.in_use(), 100);
        assert!(budget.try_reserve(1).is_none(), "used up");
        // A third fetch waits until the first gives bytes back.
        let waiting = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.reserve(50).await.bytes() })
        };
        // One thread: yielding lets the waiter run up to its wait.
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        assert!(!waiting.is_finished(), "waits while the budget is used up");
        first.settle(10); // read only 10 bytes: 50 come back
        assert_eq!(waiting.await.unwrap(), 50);
        drop(second);
        drop(first);
        assert_eq!(budget.in_use(), 0, "the waiter's grant was dropped too");
    }

    #[test]
    fn a_first_batch_past_the_grant_is_counted() {
        let budget = FetchBudget::new(100);
        let mut grant = budget.try_reserve(0).unwrap();
        assert_eq!(grant.bytes(), 0);
        grant.settle(300); // KIP-74: one batch larger than the grant
        assert_eq!(budget.in_use(), 300);
        assert!(
            budget.try_reserve(1).is_none(),
            "over the limit: others wait"
        );
        drop(grant);
        assert_eq!(budget.in_use(), 0);
        assert_eq!(budget.try_reserve(1000).unwrap().bytes(), 100);
    }
}
