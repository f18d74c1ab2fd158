//! What can go wrong in the group coordinator, in Kafka's terms; the codes
//! clients see are chosen in `server/errors.rs`.

use crate::zk::ZkError;

#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("this broker does not coordinate the group")]
    NotCoordinator,
    #[error(
        "no coordinator is available (no live brokers known yet, or the group is being unloaded)"
    )]
    CoordinatorNotAvailable,
    #[error(
        "another live broker still holds the group; it hands it over once its metadata catches up"
    )]
    CoordinatorLoadInProgress,
    #[error("the offset commit does not fit in one atomic ZooKeeper write")]
    OffsetCommitTooLarge,
    #[error("invalid group id")]
    InvalidGroupId,
    #[error("unknown member id")]
    UnknownMemberId,
    #[error("the member's generation is not the group's")]
    IllegalGeneration,
    #[error("the group is rebalancing")]
    RebalanceInProgress,
    #[error("the member's protocols do not match the group's")]
    InconsistentGroupProtocol,
    #[error("session timeout outside group.min/max.session.timeout.ms")]
    InvalidSessionTimeout,
    #[error("a member id is required: rejoin with the one given")]
    MemberIdRequired,
    #[error("the group has group.max.size members already")]
    GroupMaxSizeReached,
    #[error("another member with the same group.instance.id replaced this one")]
    FencedInstanceId,
    #[error("the group still has members")]
    NonEmptyGroup,
    #[error("the group does not exist")]
    GroupIdNotFound,
    #[error("unknown topic or partition")]
    UnknownTopicOrPartition,
    #[error("offset metadata is longer than offset.metadata.max.bytes")]
    OffsetMetadataTooLarge,
    #[error("the group's members are subscribed to the topic")]
    GroupSubscribedToTopic,
    #[error("offset store: {0}")]
    Store(ZkError),
}

impl From<ZkError> for GroupError {
    fn from(error: ZkError) -> Self {
        match error {
            // A name ZooKeeper cannot hold as a path segment.
            ZkError::InvalidPath { .. } => GroupError::InvalidGroupId,
            e => GroupError::Store(e),
        }
    }
}

impl GroupError {
    /// The error to hand every parked SyncGroup when storing the group's
    /// assignment failed: NOT_COORDINATOR if the group was lost, else the
    /// retriable COORDINATOR_NOT_AVAILABLE (Kafka's mapping of store errors).
    pub fn clone_for_member(&self) -> GroupError {
        match self {
            GroupError::NotCoordinator => GroupError::NotCoordinator,
            _ => GroupError::CoordinatorNotAvailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_zookeeper_cannot_hold_is_an_invalid_group_id() {
        let invalid = ZkError::InvalidPath {
            path: "/consumers/".to_string(),
            detail: "empty".to_string(),
        };
        assert!(matches!(
            GroupError::from(invalid),
            GroupError::InvalidGroupId
        ));
        let closed = ZkError::Closed {
            path: "/consumers/g".to_string(),
        };
        assert!(matches!(GroupError::from(closed), GroupError::Store(_)));
    }
}
