//! The auto-creations in flight (Kafka 3's `AutoTopicCreationManager`
//! `inflightTopics`): Metadata and Produce requests for an unknown topic
//! start at most one creation of it at a time, and at most
//! [`MAX_IN_FLIGHT_AUTO_CREATIONS`] in all, so a flood of requests for
//! unknown topics cannot spawn tasks without bound. A creation's slot is held
//! by an [`AutoCreationSlot`] and freed when it is dropped.

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::Mutex;

/// Auto-creations of different topics running at once, at most.
pub const MAX_IN_FLIGHT_AUTO_CREATIONS: usize = 64;

/// The topics being auto-created (one per broker, in `BrokerServices`).
#[derive(Debug, Default)]
pub struct AutoCreations {
    in_flight: Mutex<HashSet<String>>,
}

impl AutoCreations {
    /// The slot to create `topic`, or `None` when a creation of it is
    /// already running or the limit is reached (the client retries).
    pub fn begin(self: &Arc<Self>, topic: &str) -> Option<AutoCreationSlot> {
        let mut in_flight = self.in_flight.lock();
        if in_flight.len() >= MAX_IN_FLIGHT_AUTO_CREATIONS || !in_flight.insert(topic.to_owned()) {
            return None;
        }
        Some(AutoCreationSlot {
            owner: Arc::clone(self),
            topic: topic.to_owned(),
        })
    }

    /// How many creations are running.
    pub fn len(&self) -> usize {
        self.in_flight.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One running auto-creation; dropping it frees the topic's slot.
#[derive(Debug)]
pub struct AutoCreationSlot {
    owner: Arc<AutoCreations>,
    topic: String,
}

impl Drop for AutoCreationSlot {
    fn drop(&mut self) {
        let removed = self.owner.in_flight.lock().remove(&self.topic);
        debug_assert!(removed, "an auto-creation slot is freed once");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_creation_per_topic_and_a_bounded_total() {
        let creations = Arc::new(AutoCreations::default());
        let a = creations.begin("a").expect("first creation of a");
        assert!(creations.begin("a").is_none(), "a is already being created");
        drop(a);
        assert!(creations.is_empty());
        let again = creations.begin("a");
        assert!(again.is_some(), "free again once done");
        let others: Vec<_> = (1..MAX_IN_FLIGHT_AUTO_CREATIONS)
            .map(|i| creations.begin(&format!("t{i}")).unwrap())
            .collect();
        assert_eq!(creations.len(), MAX_IN_FLIGHT_AUTO_CREATIONS);
        assert!(creations.begin("one-too-many").is_none(), "bounded");
        drop(others);
        drop(again);
        assert!(creations.is_empty());
    }
}
