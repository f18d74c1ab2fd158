//! Consumer groups: the group coordinator (membership, generations and the
//! classic rebalance protocol, in memory on the coordinator broker and
//! persisted in ZooKeeper) and the committed offsets (in ZooKeeper, Kafka
//! 0.8's model), with exactly one broker serving a group at a time.
//! Depends on `zk`, `metadata`, `model` only.
//!
//! - `coordinator_choice`: which broker should coordinate a group (rendezvous).
//! - `lease`: this broker's lease on its ZooKeeper session.
//! - `ownership`: claiming, fencing and releasing `/consumers/<g>/owner`.
//! - `persist`: membership in ZooKeeper (`/consumers/<g>`, `ids/`, `owners/`).
//! - `state`: group states and legal transitions.
//! - `group_metadata`: one group's members, generation, protocol, deadlines.
//! - `coordinator`: JoinGroup and the rebalance phases.
//! - `membership`: SyncGroup, Heartbeat, LeaveGroup.
//! - `timers`: session expiry, rebalance deadlines, unloading, releases.
//! - `offset_ops`: OffsetCommit/Fetch/Delete.
//! - `retention`: offsets.retention.minutes.
//! - `admin_ops`: ListGroups, DescribeGroups, DeleteGroups.
//! - `offsets`: the ZooKeeper offset store and its read cache.
//! - `consumer_protocol`: reading subscriptions and assignments.
//! - `error`: what can go wrong.

mod admin_ops;
pub mod consumer_protocol;
mod coordinator;
pub mod coordinator_choice;
mod error;
mod group_locks;
mod group_metadata;
mod lease;
mod membership;
mod offset_ops;
mod offsets;
mod ownership;
mod persist;
mod retention;
mod state;
mod timers;

pub use admin_ops::{DescribedGroup, DescribedMember, ListedGroup};
pub use coordinator::{GroupCoordinator, GroupSettings, JoinRequest};
pub use error::GroupError;
pub use group_metadata::{JoinResult, SyncOutcome, SyncResult};
pub use offset_ops::OffsetCommitEntry;
pub use offsets::CommittedOffset;
pub use state::GroupState;
