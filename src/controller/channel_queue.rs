//! One broker's queue of controller requests, between the controller's event
//! loop (which pushes and never waits) and that broker's sender task (which
//! pops and delivers in order). Bounded: when a broker does not keep up
//! (stuck, half-dead) and its queue is full, everything queued is dropped and
//! a `Resync` marker takes its place. The sender reaches the marker only after
//! the broker answered the request it was busy with, and then tells the
//! controller, which sends that broker its full state again (Kafka's queues
//! are unbounded instead; this keeps the controller's memory bounded and it
//! never blocks on one broker). A request sent to several brokers is one
//! shared encoding (`encoded_request.rs`) in all their queues.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::encoded_request::EncodedRequest;

/// Requests queued per broker before the queue is dropped for a full resync.
pub const QUEUE_CAPACITY: usize = 256;

/// An entry of a broker's queue.
#[derive(Debug)]
pub enum Queued {
    /// Deliver `request`, addressed to the broker's `broker_epoch`; with
    /// `report`, tell the controller the answer.
    Request {
        request: Arc<EncodedRequest>,
        broker_epoch: i64,
        report: bool,
    },
    /// Requests were dropped here: once the broker answers again, the
    /// controller sends it its full state.
    Resync,
}

/// The queue, shared by the controller (push) and the sender task (pop).
#[derive(Debug)]
pub struct RequestQueue {
    entries: Mutex<VecDeque<Queued>>,
    added: Notify,
    capacity: usize,
}

impl RequestQueue {
    pub fn new(capacity: usize) -> RequestQueue {
        assert!(capacity >= 2, "room for a resync marker and a request");
        RequestQueue {
            entries: Mutex::new(VecDeque::new()),
            added: Notify::new(),
            capacity,
        }
    }

    /// Queues `request`; never waits. If the queue was full, every queued
    /// entry is dropped first and a `Resync` marker queued in their place:
    /// returns how many requests were dropped then (0: no overflow).
    pub fn push(&self, request: Arc<EncodedRequest>, broker_epoch: i64, report: bool) -> usize {
        let mut entries = self.entries.lock();
        let mut dropped = 0;
        if entries.len() >= self.capacity {
            dropped = entries
                .drain(..)
                .filter(|e| matches!(e, Queued::Request { .. }))
                .count();
            entries.push_back(Queued::Resync);
        }
        entries.push_back(Queued::Request {
            request,
            broker_epoch,
            report,
        });
        assert!(entries.len() <= self.capacity, "queue over its bound");
        drop(entries);
        self.added.notify_one();
        dropped
    }

    /// The next entry, waiting until there is one.
    pub async fn pop(&self) -> Queued {
        loop {
            let added = self.added.notified();
            if let Some(entry) = self.entries.lock().pop_front() {
                return entry;
            }
            added.await;
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::control_request::ControllerRequest;
    use kafka_protocol::messages::UpdateMetadataRequest;

    /// The entries are told apart by the broker epoch they are addressed to.
    fn request(epoch: i32) -> (Arc<EncodedRequest>, i64) {
        let request = ControllerRequest::UpdateMetadata(
            UpdateMetadataRequest::default().with_broker_epoch(-1),
        );
        (
            Arc::new(EncodedRequest::new(&request).unwrap()),
            i64::from(epoch),
        )
    }

    fn epoch_of(entry: &Queued) -> Option<i32> {
        match entry {
            Queued::Request { broker_epoch, .. } => Some(*broker_epoch as i32),
            Queued::Resync => None,
        }
    }

    impl RequestQueue {
        fn push_test(&self, (request, epoch): (Arc<EncodedRequest>, i64), report: bool) -> usize {
            self.push(request, epoch, report)
        }
    }

    #[tokio::test]
    async fn requests_come_out_in_order() {
        let queue = RequestQueue::new(4);
        for epoch in 1..=3 {
            assert_eq!(queue.push_test(request(epoch), false), 0);
        }
        for epoch in 1..=3 {
            assert_eq!(epoch_of(&queue.pop().await), Some(epoch));
        }
        assert_eq!(queue.len(), 0);
    }

    #[tokio::test]
    async fn a_full_queue_is_dropped_for_a_resync_and_never_grows_past_its_bound() {
        let queue = RequestQueue::new(4);
        for epoch in 1..=4 {
            assert_eq!(queue.push_test(request(epoch), false), 0);
        }
        assert_eq!(
            queue.push_test(request(5), false),
            4,
            "four requests dropped"
        );
        assert_eq!(queue.len(), 2);
        assert!(matches!(queue.pop().await, Queued::Resync));
        assert_eq!(epoch_of(&queue.pop().await), Some(5));
        // Overflowing again drops the old marker too: one marker at a time.
        for epoch in 6..=9 {
            queue.push_test(request(epoch), false);
        }
        assert_eq!(queue.push_test(request(10), false), 4);
        assert!(matches!(queue.pop().await, Queued::Resync));
        assert_eq!(epoch_of(&queue.pop().await), Some(10));
        for epoch in 11..=100 {
            queue.push_test(request(epoch), false);
            assert!(queue.len() <= 4);
        }
    }

    #[tokio::test]
    async fn pop_waits_for_a_push() {
        let queue = std::sync::Arc::new(RequestQueue::new(4));
        let popper = tokio::spawn({
            let queue = queue.clone();
            async move { epoch_of(&queue.pop().await) }
        });
        tokio::task::yield_now().await;
        queue.push_test(request(7), true);
        assert_eq!(popper.await.unwrap(), Some(7));
    }
}
