//! The controller under faults (real ZooKeeper, real `sluice broker`
//! processes), each test reproducing a finding of the safety review:
//!
//! - `stuck_broker.rs`: a registered broker that accepts connections and
//!   never answers must not stop the controller (finding 6);
//! - `broker_bounce.rs`: a broker restarted before the controller noticed it
//!   left still gets LeaderAndIsr and UpdateMetadata, and brokers refuse
//!   controller requests for an older registration (finding 7);
//! - `topic_deletion.rs`: deleting a topic with a replica on a stopped
//!   broker waits for that broker; a stray log with another topic id does
//!   not block a recreated partition (finding 8);
//! - `restart.rs`: a broker restarted at once after SIGKILL waits for its
//!   predecessor's registration to expire instead of exiting;
//! - `zk_write_retry.rs`: an election whose ZooKeeper write landed while the
//!   reply was lost is still announced (finding 2, controller side).
//!
//! Shared helpers come from `common/` (cluster settings, the cluster view,
//! raw requests, the TCP proxy).

mod common;

#[path = "controller_safety/broker_bounce.rs"]
mod broker_bounce;
#[path = "controller_safety/restart.rs"]
mod restart;
#[path = "controller_safety/stuck_broker.rs"]
mod stuck_broker;
#[path = "controller_safety/topic_deletion.rs"]
mod topic_deletion;
#[path = "controller_safety/zk_write_retry.rs"]
mod zk_write_retry;
