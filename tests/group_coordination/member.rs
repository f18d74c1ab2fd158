//! A consumer-group member spoken in raw Kafka requests, so tests can see
//! exactly which broker answers what with which generation: JoinGroup (with
//! the MEMBER_ID_REQUIRED round), SyncGroup as leader, Heartbeat,
//! OffsetCommit, DescribeGroups, all sent to a port of the test's choice.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;

use super::common::*;

pub const NONE: i16 = 0;
pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
pub const NOT_COORDINATOR: i16 = 16;

/// How long a group request may take (JoinGroup waits for the join phase;
/// some tests slow the broker's ZooKeeper link).
const GROUP_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

fn ask<Req: kafka_protocol::protocol::Encodable, Resp: kafka_protocol::protocol::Decodable>(
    port: u16,
    key: ApiKey,
    version: i16,
    request: &Req,
) -> Result<Resp, String> {
    RawConn::open(port, GROUP_REQUEST_TIMEOUT)?.send(key, version, request)
}

/// The consumer protocol's Subscription v0 of `topics`.
pub fn subscription(topics: &[&str]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(topics.len() as i32);
    for t in topics {
        b.put_i16(t.len() as i16);
        b.put_slice(t.as_bytes());
    }
    b.put_i32(-1);
    b.freeze()
}

/// The consumer protocol's Assignment v0 of `partitions` of `topic`.
pub fn assignment(topic: &str, partitions: &[i32]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(1);
    b.put_i16(topic.len() as i16);
    b.put_slice(topic.as_bytes());
    b.put_i32(partitions.len() as i32);
    for p in partitions {
        b.put_i32(*p);
    }
    b.put_i32(-1);
    b.freeze()
}

/// One group member: its id and generation once joined.
#[derive(Clone)]
pub struct RawMember {
    pub group: String,
    pub topic: String,
    pub member_id: String,
    pub generation: i32,
}

impl RawMember {
    pub fn new(group: &str, topic: &str) -> RawMember {
        RawMember {
            group: group.to_string(),
            topic: topic.to_string(),
            member_id: String::new(),
            generation: -1,
        }
    }

    fn join_once(&mut self, port: u16) -> Result<JoinGroupResponse, String> {
        let request = JoinGroupRequest::default()
            .with_group_id(GroupId(str_bytes(&self.group)))
            .with_session_timeout_ms(30_000)
            .with_rebalance_timeout_ms(30_000)
            .with_member_id(str_bytes(&self.member_id))
            .with_protocol_type(str_bytes("consumer"))
            .with_protocols(vec![
                JoinGroupRequestProtocol::default()
                    .with_name(str_bytes("range"))
                    .with_metadata(subscription(&[&self.topic])),
            ]);
        ask(port, ApiKey::JoinGroup, 5, &request)
    }

    /// Joins as the only member (JoinGroup twice: MEMBER_ID_REQUIRED first)
    /// and syncs `partitions` to itself; the SyncGroup error code.
    pub fn join_alone(&mut self, port: u16, partitions: &[i32]) -> Result<i16, String> {
        let mut response = self.join_once(port)?;
        if response.error_code == 79 {
            self.member_id = response.member_id.to_string();
            response = self.join_once(port)?;
        }
        if response.error_code != NONE {
            return Ok(response.error_code);
        }
        self.member_id = response.member_id.to_string();
        self.generation = response.generation_id;
        assert_eq!(
            response.leader.as_str(),
            self.member_id,
            "the only member leads"
        );
        let sync = SyncGroupRequest::default()
            .with_group_id(GroupId(str_bytes(&self.group)))
            .with_generation_id(self.generation)
            .with_member_id(str_bytes(&self.member_id))
            .with_assignments(vec![
                SyncGroupRequestAssignment::default()
                    .with_member_id(str_bytes(&self.member_id))
                    .with_assignment(assignment(&self.topic, partitions)),
            ]);
        let synced: SyncGroupResponse = ask(port, ApiKey::SyncGroup, 3, &sync)?;
        Ok(synced.error_code)
    }

    /// [`RawMember::join_alone`], retried while the coordinator is not ready
    /// (lease, metadata or the group's claim still pending).
    pub fn join_when_ready(&mut self, port: u16, partitions: &[i32]) {
        wait_until(
            &format!("{} to join at port {port}", self.group),
            std::time::Duration::from_secs(60),
            || match self.join_alone(port, partitions) {
                Ok(NONE) => Some(()),
                Ok(COORDINATOR_LOAD_IN_PROGRESS | COORDINATOR_NOT_AVAILABLE | NOT_COORDINATOR)
                | Err(_) => {
                    self.member_id.clear();
                    None
                }
                Ok(code) => panic!("joining {}: error {code}", self.group),
            },
        );
    }

    /// Sends JoinGroup (a first join takes two: MEMBER_ID_REQUIRED) on its
    /// own thread; the answer arrives when the join phase ends.
    pub fn join_in_background(
        mut self,
        port: u16,
    ) -> std::thread::JoinHandle<(RawMember, JoinGroupResponse)> {
        std::thread::spawn(move || {
            let mut response = self.join_once(port).expect("JoinGroup");
            if response.error_code == 79 {
                self.member_id = response.member_id.to_string();
                response = self.join_once(port).expect("JoinGroup");
            }
            assert_eq!(response.error_code, NONE, "JoinGroup of {}", self.member_id);
            self.member_id = response.member_id.to_string();
            self.generation = response.generation_id;
            (self, response)
        })
    }

    /// SyncGroup with `assignments` (leader) or none (follower); the error code.
    pub fn sync(&self, port: u16, assignments: Vec<(String, Bytes)>) -> Result<i16, String> {
        let sync = SyncGroupRequest::default()
            .with_group_id(GroupId(str_bytes(&self.group)))
            .with_generation_id(self.generation)
            .with_member_id(str_bytes(&self.member_id))
            .with_assignments(
                assignments
                    .into_iter()
                    .map(|(member, assignment)| {
                        SyncGroupRequestAssignment::default()
                            .with_member_id(str_bytes(&member))
                            .with_assignment(assignment)
                    })
                    .collect(),
            );
        let synced: SyncGroupResponse = ask(port, ApiKey::SyncGroup, 3, &sync)?;
        Ok(synced.error_code)
    }

    /// LeaveGroup (v3, by member id); the member's error code.
    pub fn leave_and_check(&self, port: u16) -> i16 {
        use kafka_protocol::messages::leave_group_request::MemberIdentity;
        let request = LeaveGroupRequest::default()
            .with_group_id(GroupId(str_bytes(&self.group)))
            .with_members(vec![
                MemberIdentity::default().with_member_id(str_bytes(&self.member_id)),
            ]);
        let response: LeaveGroupResponse =
            ask(port, ApiKey::LeaveGroup, 3, &request).expect("LeaveGroup");
        response
            .members
            .first()
            .map_or(response.error_code, |m| m.error_code)
    }

    pub fn heartbeat(&self, port: u16) -> Result<i16, String> {
        let request = HeartbeatRequest::default()
            .with_group_id(GroupId(str_bytes(&self.group)))
            .with_generation_id(self.generation)
            .with_member_id(str_bytes(&self.member_id));
        let response: HeartbeatResponse = ask(port, ApiKey::Heartbeat, 3, &request)?;
        Ok(response.error_code)
    }

    /// Commits `offset` for every partition in `partitions`; the first
    /// partition's error code.
    pub fn commit(&self, port: u16, partitions: &[i32], offset: i64) -> Result<i16, String> {
        Ok(self.commit_codes(port, partitions, offset)?[0])
    }

    /// Commits `offset` for every partition in `partitions`; every error code.
    pub fn commit_codes(
        &self,
        port: u16,
        partitions: &[i32],
        offset: i64,
    ) -> Result<Vec<i16>, String> {
        let request = OffsetCommitRequest::default()
            .with_group_id(GroupId(str_bytes(&self.group)))
            .with_generation_id_or_member_epoch(self.generation)
            .with_member_id(str_bytes(&self.member_id))
            .with_topics(vec![
                OffsetCommitRequestTopic::default()
                    .with_name(topic_name(&self.topic))
                    .with_partitions(
                        partitions
                            .iter()
                            .map(|p| {
                                OffsetCommitRequestPartition::default()
                                    .with_partition_index(*p)
                                    .with_committed_offset(offset)
                            })
                            .collect(),
                    ),
            ]);
        let response: OffsetCommitResponse = ask(port, ApiKey::OffsetCommit, 7, &request)?;
        Ok(response.topics[0]
            .partitions
            .iter()
            .map(|p| p.error_code)
            .collect())
    }
}

/// DescribeGroups of `group` at `port`: (error, state, member ids).
pub fn describe(port: u16, group: &str) -> Result<(i16, String, Vec<String>), String> {
    let request = DescribeGroupsRequest::default().with_groups(vec![GroupId(str_bytes(group))]);
    let response: DescribeGroupsResponse = ask(port, ApiKey::DescribeGroups, 5, &request)?;
    let g = &response.groups[0];
    Ok((
        g.error_code,
        g.group_state.to_string(),
        g.members.iter().map(|m| m.member_id.to_string()).collect(),
    ))
}

/// A group id whose coordinator is `before` among `live_before` and `after`
/// among `live_after` (rendezvous choice), e.g. to make a fault move it.
pub fn group_moving(
    prefix: &str,
    live_before: &[i32],
    before: i32,
    live_after: &[i32],
    after: i32,
) -> String {
    use sluice::group::coordinator_choice::coordinator_for;
    use sluice::model::BrokerId;
    let ids = |list: &[i32]| list.iter().map(|&b| BrokerId(b)).collect::<Vec<_>>();
    let (live_before, live_after) = (ids(live_before), ids(live_after));
    (0..10_000)
        .map(|i| format!("{prefix}-{i}"))
        .find(|g| {
            coordinator_for(g, &live_before) == Some(BrokerId(before))
                && coordinator_for(g, &live_after) == Some(BrokerId(after))
        })
        .expect("some group id moves that way")
}
