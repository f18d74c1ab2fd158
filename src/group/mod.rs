//! Consumer groups: the group coordinator (membership, generations and the
//! classic rebalance protocol, in memory on the coordinator broker) and the
//! committed offsets (in ZooKeeper, Kafka 0.8's model, so any broker can take
//! over a group). Depends on `zk`, `metadata`, `model` only.
//!
//! - `coordinator_choice`: which broker coordinates a group.
//! - `state`: group states and legal transitions.
//! - `group_metadata`: one group's members, generation, protocol, deadlines.
//! - `coordinator`: JoinGroup, SyncGroup, Heartbeat, LeaveGroup.
//! - `timers`: session expiry, rebalance deadlines, unloading, retention.
//! - `offset_ops`: OffsetCommit/Fetch/Delete checks and retention.
//! - `admin_ops`: ListGroups, DescribeGroups, DeleteGroups.
//! - `offsets`: the ZooKeeper offset store and its read cache.
//! - `consumer_protocol`: reading subscriptions and assignments.
//! - `error`: what can go wrong.

mod admin_ops;
pub mod consumer_protocol;
mod coordinator;
pub mod coordinator_choice;
mod error;
mod group_metadata;
mod offset_ops;
mod offsets;
mod state;
mod timers;

pub use admin_ops::{DescribedGroup, DescribedMember, ListedGroup};
pub use coordinator::{GroupCoordinator, GroupSettings, JoinRequest};
pub use error::GroupError;
pub use group_metadata::{JoinResult, SyncOutcome, SyncResult};
pub use offset_ops::OffsetCommitEntry;
pub use offsets::CommittedOffset;
pub use state::GroupState;
