//! One group's in-memory state on its coordinator (Kafka's GroupMetadata and
//! MemberMetadata): members with their protocols, session and rebalance
//! timeouts and pending responses, the generation, the chosen protocol, the
//! leader, and the timer deadlines the coordinator's tick acts on.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::error::GroupError;
use super::lease::Lease;
use super::state::GroupState;
use crate::zk::{GroupFence, PersistedGroup};

/// The answer to a JoinGroup, sent when the join phase completes.
#[derive(Debug)]
pub struct JoinResult {
    pub error: Option<GroupError>,
    pub member_id: String,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader_id: String,
    /// Filled for the leader only: (member id, instance id, metadata).
    pub members: Vec<(String, Option<String>, Bytes)>,
    /// Static member rejoining a stable group: the leader must not reassign.
    pub skip_assignment: bool,
}

impl JoinResult {
    pub fn failed(member_id: &str, error: GroupError) -> JoinResult {
        JoinResult {
            error: Some(error),
            member_id: member_id.to_string(),
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader_id: String::new(),
            members: Vec::new(),
            skip_assignment: false,
        }
    }
}

/// The answer to a SyncGroup.
#[derive(Debug, Default)]
pub struct SyncResult {
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

pub type SyncOutcome = Result<SyncResult, GroupError>;

pub struct MemberMetadata {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    /// (name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    /// Order of arrival; the earliest remaining member becomes leader.
    pub join_seq: u64,
    pub awaiting_join: Option<oneshot::Sender<JoinResult>>,
    pub awaiting_sync: Option<oneshot::Sender<SyncOutcome>>,
    pub heartbeat_deadline: Instant,
}

impl MemberMetadata {
    pub fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    pub fn same_protocols(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }
}

pub struct GroupMetadata {
    pub group_id: String,
    pub state: GroupState,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader_id: Option<String>,
    pub members: BTreeMap<String, MemberMetadata>,
    /// group.instance.id -> member id of static members.
    pub static_members: HashMap<String, String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, and until when they may rejoin.
    pub pending_members: HashMap<String, Instant>,
    /// When the join phase ends even if some members have not rejoined.
    pub rebalance_deadline: Option<Instant>,
    /// group.initial.rebalance.delay.ms for a group that was empty.
    pub initial_delay_deadline: Option<Instant>,
    pub initial_delay_cap: Option<Instant>,
    /// Wall-clock ms when the group last became empty (offsets retention).
    pub empty_since_ms: Option<i64>,
    pub next_join_seq: u64,
    /// The owner-znode version and session this broker claimed the group
    /// with: every write of the group is fenced by it.
    pub fence: GroupFence,
    /// This broker's epoch (registration czxid) when it claimed the group.
    pub broker_epoch: i64,
    /// What ZooKeeper holds of the membership (as loaded or last written).
    pub persisted: PersistedGroup,
    /// The generation whose assignment the leader handed in and that is
    /// being written to ZooKeeper before SyncGroup answers.
    pub storing_generation: Option<i32>,
}

impl GroupMetadata {
    /// Whether the group was claimed in the session and broker epoch of `lease`.
    pub fn claimed_under(&self, lease: &Lease) -> bool {
        self.fence.session_id == lease.session_id && self.broker_epoch == lease.broker_epoch
    }

    pub fn new(group_id: &str, now_ms: i64, fence: GroupFence, broker_epoch: i64) -> GroupMetadata {
        GroupMetadata {
            group_id: group_id.to_string(),
            state: GroupState::Empty,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader_id: None,
            members: BTreeMap::new(),
            static_members: HashMap::new(),
            pending_members: HashMap::new(),
            rebalance_deadline: None,
            initial_delay_deadline: None,
            initial_delay_cap: None,
            empty_since_ms: Some(now_ms),
            next_join_seq: 0,
            fence,
            broker_epoch,
            persisted: PersistedGroup::default(),
            storing_generation: None,
        }
    }

    pub fn transition_to(&mut self, next: GroupState) {
        debug_assert!(
            next.can_follow(self.state),
            "illegal group transition {:?} -> {:?}",
            self.state,
            next
        );
        self.state = next;
    }

    pub fn is_leader(&self, member_id: &str) -> bool {
        self.leader_id.as_deref() == Some(member_id)
    }

    /// Whether a new member's protocols fit the group (same protocol type and
    /// at least one protocol every member supports).
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        protocols.iter().any(|(name, _)| {
            self.members
                .values()
                .all(|m| m.protocols.iter().any(|(n, _)| n == name))
        })
    }

    /// Kafka's selectProtocol: among the protocols every member supports, each
    /// member votes for its most preferred; most votes wins (ties go to the
    /// leader's preference order).
    pub fn select_protocol(&self) -> Option<String> {
        let first = self
            .leader_id
            .as_ref()
            .and_then(|l| self.members.get(l))
            .or_else(|| self.members.values().min_by_key(|m| m.join_seq))?;
        let candidates: Vec<&String> = first
            .protocols
            .iter()
            .map(|(name, _)| name)
            .filter(|name| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(n, _)| n == *name))
            })
            .collect();
        let mut votes: Vec<(usize, &String)> = candidates.iter().map(|c| (0, *c)).collect();
        for member in self.members.values() {
            if let Some((vote, _)) = member
                .protocols
                .iter()
                .find(|(n, _)| candidates.contains(&n))
                && let Some(entry) = votes.iter_mut().find(|(_, c)| *c == vote)
            {
                entry.0 += 1;
            }
        }
        let best = votes.iter().map(|(count, _)| *count).max()?;
        votes
            .into_iter()
            .find(|(count, _)| *count == best)
            .map(|(_, name)| name.clone())
    }

    /// The largest rebalance timeout of the members (Kafka's group rebalance timeout).
    pub fn rebalance_timeout_ms(&self) -> i32 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    pub fn all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    /// The member ids of the static member `instance_id`, if known.
    pub fn static_member(&self, instance_id: &str) -> Option<&String> {
        self.static_members.get(instance_id)
    }

    /// FENCED_INSTANCE_ID when `instance_id` belongs to another member id.
    pub fn check_instance(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), GroupError> {
        if let Some(instance) = instance_id
            && let Some(owner) = self.static_members.get(instance)
            && owner != member_id
        {
            return Err(GroupError::FencedInstanceId);
        }
        Ok(())
    }

    /// The join answer for `member_id` in the current generation.
    pub fn join_result_for(&self, member_id: &str) -> JoinResult {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        let members = if self.is_leader(member_id) {
            self.members
                .values()
                .map(|m| {
                    (
                        m.member_id.clone(),
                        m.group_instance_id.clone(),
                        m.metadata_for(&protocol),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinResult {
            error: None,
            member_id: member_id.to_string(),
            generation_id: self.generation_id,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader_id: self.leader_id.clone().unwrap_or_default(),
            members,
            skip_assignment: false,
        }
    }

    /// The subscribed topics of every member (consumer protocol groups only).
    pub fn subscribed_topics(&self) -> Option<Vec<String>> {
        if self.protocol_type.as_deref() != Some("consumer") {
            return None;
        }
        let protocol = self.protocol_name.clone()?;
        let mut topics = Vec::new();
        for member in self.members.values() {
            topics.extend(super::consumer_protocol::subscription_topics(
                &member.metadata_for(&protocol),
            )?);
        }
        Some(topics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, seq: u64, protocols: &[&str]) -> MemberMetadata {
        MemberMetadata {
            member_id: id.to_string(),
            group_instance_id: None,
            client_id: "c".to_string(),
            client_host: "/127.0.0.1".to_string(),
            rebalance_timeout_ms: 1000,
            session_timeout_ms: 1000,
            protocols: protocols
                .iter()
                .map(|p| (p.to_string(), Bytes::new()))
                .collect(),
            assignment: Bytes::new(),
            join_seq: seq,
            awaiting_join: None,
            awaiting_sync: None,
            heartbeat_deadline: Instant::now(),
        }
    }

    fn fence() -> GroupFence {
        GroupFence {
            owner_version: 0,
            session_id: 1,
        }
    }

    fn group(members: Vec<MemberMetadata>) -> GroupMetadata {
        let mut g = GroupMetadata::new("g", 0, fence(), 1);
        g.protocol_type = Some("consumer".to_string());
        g.leader_id = members.first().map(|m| m.member_id.clone());
        for m in members {
            g.members.insert(m.member_id.clone(), m);
        }
        g
    }

    #[test]
    fn the_protocol_every_member_supports_with_most_votes_wins() {
        let g = group(vec![
            member("a", 0, &["range", "roundrobin"]),
            member("b", 1, &["roundrobin", "range"]),
            member("c", 2, &["roundrobin", "sticky"]),
        ]);
        assert_eq!(g.select_protocol().as_deref(), Some("roundrobin"));
        let g = group(vec![
            member("a", 0, &["cooperative-sticky", "range"]),
            member("b", 1, &["cooperative-sticky", "range"]),
        ]);
        assert_eq!(g.select_protocol().as_deref(), Some("cooperative-sticky"));
    }

    #[test]
    fn a_new_member_must_share_a_protocol_and_the_protocol_type() {
        let g = group(vec![member("a", 0, &["range"])]);
        let p = |names: &[&str]| -> Vec<(String, Bytes)> {
            names
                .iter()
                .map(|n| (n.to_string(), Bytes::new()))
                .collect()
        };
        assert!(g.supports_protocols("consumer", &p(&["roundrobin", "range"])));
        assert!(!g.supports_protocols("consumer", &p(&["roundrobin"])));
        assert!(!g.supports_protocols("connect", &p(&["range"])));
        let empty = GroupMetadata::new("e", 0, fence(), 1);
        assert!(empty.supports_protocols("consumer", &p(&["x"])));
        assert!(!empty.supports_protocols("", &p(&["x"])));
        assert!(!empty.supports_protocols("consumer", &[]));
    }

    #[test]
    fn a_static_instance_owned_by_another_member_is_fenced() {
        let mut g = group(vec![member("a", 0, &["range"])]);
        g.static_members.insert("i".to_string(), "a".to_string());
        assert!(g.check_instance("a", Some("i")).is_ok());
        assert!(matches!(
            g.check_instance("old", Some("i")),
            Err(GroupError::FencedInstanceId)
        ));
        assert!(g.check_instance("x", None).is_ok());
    }
}
