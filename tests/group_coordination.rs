//! Group coordination under faults and at the edges (issue 11), against real
//! ZooKeeper and brokers, with raw group requests (`member.rs`) where the
//! test must see generations and error codes, and real clients elsewhere:
//!
//! - `moves.rs`: SIGKILL, SIGTERM and a new broker move a group's
//!   coordinator; members keep their ids and generation (no rebalance) and
//!   ZooKeeper shows `ids/`, `owners/` and the owner record.
//! - `fence.rs`: a deposed coordinator's commit fails the owner fence; a
//!   broker with stale metadata and the new coordinator never both accept
//!   commits; a frozen coordinator serves nothing after SIGCONT.
//! - `encoding.rs`: group id "team/app" with kafka-python.
//! - `legacy.rs`: a group an old ZooKeeper-based consumer registered in.
//! - `race.rs`: a stale generation's slow commit never lands last.
//! - `precedence.rs`: member, then generation, then state (Kafka's order).
//! - `commit_size.rs`: a commit that cannot be one ZooKeeper request is
//!   refused whole.
//! - `retention.rs`: offsets of a group no broker holds in memory expire.
//! - `settle.rs`: three kafka-python consumers polled in turn settle.

#[path = "group_coordination/commit_size.rs"]
mod commit_size;
mod common;
#[path = "group_coordination/encoding.rs"]
mod encoding;
#[path = "group_coordination/fence.rs"]
mod fence;
#[path = "group_coordination/legacy.rs"]
mod legacy;
#[path = "group_coordination/member.rs"]
mod member;
#[path = "group_coordination/moves.rs"]
mod moves;
#[path = "group_coordination/precedence.rs"]
mod precedence;
#[path = "group_coordination/race.rs"]
mod race;
#[path = "group_coordination/retention.rs"]
mod retention;
#[path = "group_coordination/settle.rs"]
mod settle;
