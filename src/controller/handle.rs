//! `ControllerHandle`: how request handlers reach this broker's controller.
//! It knows whether this broker is the active controller (Kafka's
//! `KafkaController.isActive`, which CreateTopics, DeleteTopics and
//! ElectLeaders check) and carries controller API requests (ControlledShutdown,
//! ElectLeaders) into the controller's event loop, where they run in order with
//! every other controller event, and brings the answer back. It also holds
//! this broker's own broker epoch, which controller requests must match.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::context::ReplicaAssignment;
use crate::model::{BrokerId, TopicPartition};

/// How long a controller API request waits for a starting broker's first
/// election attempt.
pub(super) const STARTUP_WAIT: Duration = Duration::from_secs(10);

/// Why the controller could not act on a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControllerApiError {
    #[error("this broker is not the active controller")]
    NotController,
    #[error("broker {0} is not registered as live")]
    BrokerNotAvailable(BrokerId),
    #[error("broker epoch {request} of broker {broker} is older than its registration's {current}")]
    StaleBrokerEpoch {
        broker: BrokerId,
        request: i64,
        current: i64,
    },
}

/// Which election ElectLeaders asks for (Kafka's `ElectionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionType {
    /// Move leadership to the first replica of the assignment (0).
    Preferred,
    /// Elect any live replica for partitions without a leader (1).
    Unclean,
}

/// The outcome of one partition's election.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionOutcome {
    Elected,
    /// The leader already is the one the election would choose.
    NotNeeded,
    /// The preferred replica is not live or not in the ISR.
    PreferredLeaderNotAvailable,
    /// No live replica can lead (unclean election).
    EligibleLeadersNotAvailable,
    UnknownTopicOrPartition,
    /// The state znode changed under the controller; the client may retry.
    Conflict,
}

/// A request to the controller's event loop, with where to send the answer.
#[derive(Debug)]
pub enum ControllerApiRequest {
    ControlledShutdown {
        broker_id: BrokerId,
        broker_epoch: i64,
        reply: oneshot::Sender<Result<Vec<TopicPartition>, ControllerApiError>>,
    },
    ElectLeaders {
        election_type: ElectionType,
        /// `None`: every partition.
        partitions: Option<Vec<TopicPartition>>,
        reply: oneshot::Sender<BTreeMap<TopicPartition, ElectionOutcome>>,
    },
    /// AlterPartitionReassignments / ListPartitionReassignments.
    Reassignment(ReassignmentApiRequest),
}

/// Why a partition's reassignment request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReassignmentError {
    #[error("{0}")]
    InvalidReplicaAssignment(String),
    #[error("no reassignment of this partition is in progress")]
    NoReassignmentInProgress,
    #[error("the partition does not exist")]
    UnknownTopicOrPartition,
}

/// A reassignment API request to the controller's event loop.
#[derive(Debug)]
pub enum ReassignmentApiRequest {
    /// Target replicas per partition; `None` cancels (back to the original replicas).
    Alter {
        reassignments: Vec<(TopicPartition, Option<Vec<BrokerId>>)>,
        reply: oneshot::Sender<BTreeMap<TopicPartition, Result<(), ReassignmentError>>>,
    },
    /// In-flight reassignments of `partitions` (of every partition when `None`).
    List {
        partitions: Option<Vec<TopicPartition>>,
        reply: oneshot::Sender<BTreeMap<TopicPartition, ReplicaAssignment>>,
    },
}

/// Where this broker stands in the controller election.
#[derive(Debug, Clone)]
enum ControllerState {
    /// The first election attempt has not finished yet.
    Starting,
    /// Another broker is (or may become) controller.
    Standby,
    /// This broker is the controller; its API requests go here.
    Active(mpsc::Sender<ControllerApiRequest>),
}

/// Shared between the controller's election loop and the request handlers;
/// cheap to clone.
#[derive(Debug, Clone)]
pub struct ControllerHandle {
    state: Arc<watch::Sender<ControllerState>>,
    /// This broker's own epoch: the czxid of its current registration
    /// (Kafka keeps it in KafkaController too); -1 until registered.
    broker_epoch: Arc<AtomicI64>,
}

impl Default for ControllerHandle {
    fn default() -> Self {
        ControllerHandle {
            state: Arc::new(watch::Sender::new(ControllerState::Starting)),
            broker_epoch: Arc::new(AtomicI64::new(UNKNOWN_BROKER_EPOCH)),
        }
    }
}

/// A broker epoch nobody knows (Kafka's `UNKNOWN_BROKER_EPOCH`): requests
/// carrying it are never refused as stale.
pub const UNKNOWN_BROKER_EPOCH: i64 = -1;

impl ControllerHandle {
    pub fn new() -> ControllerHandle {
        ControllerHandle::default()
    }

    /// Records this broker's registration epoch (after each registration).
    pub fn set_broker_epoch(&self, epoch: i64) {
        self.broker_epoch.store(epoch, Ordering::SeqCst);
    }

    /// This broker's current registration epoch (-1 before it registered).
    pub fn broker_epoch(&self) -> i64 {
        self.broker_epoch.load(Ordering::SeqCst)
    }

    /// True if a controller request carrying `request_epoch` was meant for an
    /// older registration of this broker (Kafka's `isBrokerEpochStale`):
    /// it must be refused with STALE_BROKER_EPOCH. Unknown (-1) is never
    /// stale, and neither is a newer epoch (the controller may learn of a
    /// new registration before this broker has recorded it).
    pub fn is_broker_epoch_stale(&self, request_epoch: i64) -> bool {
        request_epoch != UNKNOWN_BROKER_EPOCH && request_epoch < self.broker_epoch()
    }

    /// True while this broker is the elected controller.
    pub fn is_active(&self) -> bool {
        self.sender().is_some()
    }

    /// Like `is_active`, but while the broker is starting and its first
    /// election attempt has not finished, waits for it (at most `max_wait`):
    /// a request arriving right after start-up must not be turned away by a
    /// broker that is about to become controller.
    pub async fn is_active_once_started(&self, max_wait: Duration) -> bool {
        let mut state = self.state.subscribe();
        let _ = tokio::time::timeout(
            max_wait,
            state.wait_for(|s| !matches!(s, ControllerState::Starting)),
        )
        .await;
        self.is_active()
    }

    pub(super) fn activate(&self, sender: mpsc::Sender<ControllerApiRequest>) {
        self.state.send_replace(ControllerState::Active(sender));
    }

    /// Not (or no longer) the controller.
    pub(super) fn deactivate(&self) {
        self.state.send_replace(ControllerState::Standby);
    }

    pub(super) fn sender(&self) -> Option<mpsc::Sender<ControllerApiRequest>> {
        match &*self.state.borrow() {
            ControllerState::Active(s) if !s.is_closed() => Some(s.clone()),
            _ => None,
        }
    }

    /// Asks the controller to move `broker_id`'s leaderships away; returns the
    /// partitions it still leads.
    pub async fn controlled_shutdown(
        &self,
        broker_id: BrokerId,
        broker_epoch: i64,
    ) -> Result<Vec<TopicPartition>, ControllerApiError> {
        self.is_active_once_started(STARTUP_WAIT).await;
        let sender = self.sender().ok_or(ControllerApiError::NotController)?;
        let (reply, answer) = oneshot::channel();
        sender
            .send(ControllerApiRequest::ControlledShutdown {
                broker_id,
                broker_epoch,
                reply,
            })
            .await
            .map_err(|_| ControllerApiError::NotController)?;
        answer
            .await
            .map_err(|_| ControllerApiError::NotController)?
    }

    /// Runs an election for `partitions` (every partition when `None`).
    pub async fn elect_leaders(
        &self,
        election_type: ElectionType,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<BTreeMap<TopicPartition, ElectionOutcome>, ControllerApiError> {
        self.is_active_once_started(STARTUP_WAIT).await;
        let sender = self.sender().ok_or(ControllerApiError::NotController)?;
        let (reply, answer) = oneshot::channel();
        sender
            .send(ControllerApiRequest::ElectLeaders {
                election_type,
                partitions,
                reply,
            })
            .await
            .map_err(|_| ControllerApiError::NotController)?;
        answer.await.map_err(|_| ControllerApiError::NotController)
    }
}

/// Marks the handle active for as long as it lives (so every way out of
/// serving, errors included, deactivates it).
pub(super) struct ActiveGuard<'a>(pub &'a ControllerHandle);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.deactivate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_older_known_broker_epoch_is_stale() {
        let handle = ControllerHandle::new();
        assert!(!handle.is_broker_epoch_stale(5), "nothing registered yet");
        handle.set_broker_epoch(10);
        assert!(handle.is_broker_epoch_stale(9));
        assert!(!handle.is_broker_epoch_stale(10));
        assert!(!handle.is_broker_epoch_stale(11));
        assert!(!handle.is_broker_epoch_stale(UNKNOWN_BROKER_EPOCH));
        let clone = handle.clone();
        clone.set_broker_epoch(20);
        assert!(handle.is_broker_epoch_stale(10), "clones share the epoch");
    }
}
