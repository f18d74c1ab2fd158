//! `GET /api/v1/groups` (every consumer group: coordinator, state,
//! protocol, members, total lag) and `GET /api/v1/groups/<id>` (members
//! with their assignments, and per partition the committed offset, the high
//! watermark and the lag), as kafka-consumer-groups.sh --describe reads them.
//! The page draws a lag-over-time sparkline from its own polls.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::broker_calls::{self, CONSUMER_REPLICA_ID, LATEST};
use super::error::ConsoleError;
use super::group_calls;
use super::sources::ConsoleSources;
use crate::group::consumer_protocol::assignment_partitions;
use crate::metadata::BrokerEndpoint;
use crate::model::{BrokerId, TopicPartition};

#[derive(Debug, Serialize)]
pub struct GroupSummary {
    pub group_id: String,
    pub protocol_type: String,
    pub coordinator: BrokerId,
    pub state: String,
    pub members: usize,
}

#[derive(Debug, Serialize)]
pub struct GroupView {
    pub group_id: String,
    pub coordinator: BrokerId,
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<MemberView>,
    pub offsets: Vec<OffsetView>,
    /// Sum of the partitions' lag (those with a known lag).
    pub total_lag: i64,
    pub errors: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct MemberView {
    pub member_id: String,
    pub client_id: String,
    pub client_host: String,
    /// (topic, partitions) assigned.
    pub assignment: Vec<(String, Vec<i32>)>,
}

#[derive(Debug, Serialize)]
pub struct OffsetView {
    pub topic: String,
    pub partition: i32,
    pub committed: Option<i64>,
    pub high_watermark: Option<i64>,
    pub lag: Option<i64>,
    /// The member it is assigned to.
    pub owner: Option<String>,
}

pub async fn groups(sources: &ConsoleSources) -> Result<Vec<GroupSummary>, ConsoleError> {
    let brokers = sources.metadata.snapshot().brokers.clone();
    let mut out = Vec::new();
    for broker in brokers.values() {
        let listed = group_calls::list_groups(broker).await?;
        if listed.is_empty() {
            continue;
        }
        let ids: Vec<String> = listed.iter().map(|(g, _)| g.clone()).collect();
        let described = group_calls::describe_groups(broker, &ids).await?;
        for (group_id, protocol_type) in listed {
            let d = described.iter().find(|d| d.group_id.0.as_str() == group_id);
            out.push(GroupSummary {
                state: d.map_or_else(String::new, |d| d.group_state.to_string()),
                members: d.map_or(0, |d| d.members.len()),
                group_id,
                protocol_type,
                coordinator: broker.id,
            });
        }
    }
    out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    Ok(out)
}

pub async fn group(sources: &ConsoleSources, group_id: &str) -> Result<GroupView, ConsoleError> {
    let snapshot = sources.metadata.snapshot();
    let Some(me) = snapshot.brokers.get(&sources.broker_id) else {
        return Err(ConsoleError::NotFound(
            "this broker in its own metadata".into(),
        ));
    };
    let coordinator = group_calls::find_coordinator(me, group_id).await?;
    let described = group_calls::describe_groups(&coordinator, &[group_id.to_owned()]).await?;
    let Some(d) = described.into_iter().next() else {
        return Err(ConsoleError::NotFound(format!("group {group_id}")));
    };
    let committed = group_calls::committed_offsets(&coordinator, group_id).await?;
    if d.group_state.as_str() == "Dead" && committed.is_empty() {
        return Err(ConsoleError::NotFound(format!("group {group_id}")));
    }
    let members: Vec<MemberView> = d
        .members
        .iter()
        .map(|m| MemberView {
            member_id: m.member_id.to_string(),
            client_id: m.client_id.to_string(),
            client_host: m.client_host.to_string(),
            assignment: assignment_partitions(&m.member_assignment).unwrap_or_default(),
        })
        .collect();
    let mut owners: BTreeMap<TopicPartition, String> = BTreeMap::new();
    for m in &members {
        for (topic, partitions) in &m.assignment {
            for &p in partitions {
                owners.insert(TopicPartition::new(topic.clone(), p), m.member_id.clone());
            }
        }
    }
    let partitions: BTreeSet<TopicPartition> =
        committed.keys().chain(owners.keys()).cloned().collect();
    let mut errors = Vec::new();
    let high_watermarks =
        high_watermarks(&snapshot.brokers, &partitions, &snapshot, &mut errors).await;
    let offsets: Vec<OffsetView> = partitions
        .into_iter()
        .map(|tp| {
            let committed = committed.get(&tp).copied();
            let high_watermark = high_watermarks.get(&tp).copied();
            OffsetView {
                lag: committed.zip(high_watermark).map(|(c, h)| (h - c).max(0)),
                owner: owners.get(&tp).cloned(),
                topic: tp.topic,
                partition: tp.partition,
                committed,
                high_watermark,
            }
        })
        .collect();
    Ok(GroupView {
        group_id: group_id.to_owned(),
        coordinator: coordinator.id,
        state: d.group_state.to_string(),
        protocol_type: d.protocol_type.to_string(),
        protocol: d.protocol_data.to_string(),
        total_lag: offsets.iter().filter_map(|o| o.lag).sum(),
        members,
        offsets,
        errors,
    })
}

/// The high watermark of each partition, from its leader.
async fn high_watermarks(
    brokers: &BTreeMap<BrokerId, BrokerEndpoint>,
    partitions: &BTreeSet<TopicPartition>,
    snapshot: &crate::metadata::ClusterSnapshot,
    errors: &mut Vec<String>,
) -> BTreeMap<TopicPartition, i64> {
    let mut by_leader: BTreeMap<BrokerId, Vec<TopicPartition>> = BTreeMap::new();
    for tp in partitions {
        if let Some(p) = snapshot.partition(&tp.topic, tp.partition) {
            by_leader.entry(p.leader).or_default().push(tp.clone());
        }
    }
    let mut out = BTreeMap::new();
    for (leader, tps) in by_leader {
        let Some(endpoint) = brokers.get(&leader) else {
            errors.push(format!("no live leader {leader}"));
            continue;
        };
        match broker_calls::offsets(endpoint, &tps, LATEST, CONSUMER_REPLICA_ID).await {
            Ok(answers) => out.extend(
                answers
                    .into_iter()
                    .filter_map(|(tp, a)| Some((tp, a.ok()?))),
            ),
            Err(e) => errors.push(e.to_string()),
        }
    }
    out
}
