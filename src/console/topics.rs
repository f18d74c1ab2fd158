//! `GET /api/v1/topics` (every topic: partitions, replication factor,
//! under-replicated and offline counts, size on disk, and its traffic
//! counters summed over the brokers, from which the page draws rates) and
//! `GET /api/v1/topics/<name>` (its configs with their sources, and per
//! partition: leader, replicas, ISR, log start, high watermark, each
//! replica's log end and lag behind the leader's, and size).
//!
//! Sizes come from DescribeLogDirs of every live broker, offsets from
//! ListOffsets: log start and high watermark from the leader as a consumer
//! sees them, each replica's log end from that replica as a debugging
//! consumer (replica id -2). Configs from DescribeConfigs to this broker.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::broker_calls::{self, ConfigEntry};
use super::cluster_stats;
use super::error::ConsoleError;
use super::sources::ConsoleSources;
use crate::metadata::{BrokerEndpoint, TopicMetadata};
use crate::model::{BrokerId, LeaderEpoch, TopicPartition};

#[derive(Debug, Serialize)]
pub struct TopicSummary {
    pub name: String,
    pub topic_id: String,
    pub partitions: usize,
    pub replication_factor: usize,
    pub under_replicated: usize,
    pub offline: usize,
    /// Bytes on disk over every replica (`None` if a broker did not answer).
    pub size_bytes: Option<i64>,
    /// Messages and bytes appended and bytes fetched by consumers since the
    /// brokers started, summed over those that answered (`cluster_stats.rs`).
    pub messages_in: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

#[derive(Debug, Serialize)]
pub struct TopicView {
    pub name: String,
    pub topic_id: String,
    pub configs: Vec<ConfigEntry>,
    pub partitions: Vec<PartitionView>,
    /// Calls that failed while gathering this view.
    pub errors: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PartitionView {
    pub partition: i32,
    pub leader: BrokerId,
    pub leader_epoch: LeaderEpoch,
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
    pub offline_replicas: Vec<BrokerId>,
    pub log_start_offset: Option<i64>,
    pub high_watermark: Option<i64>,
    /// Messages between log start and high watermark (an upper bound for a
    /// compacted topic).
    pub messages: Option<i64>,
    pub replica_states: Vec<ReplicaView>,
}

#[derive(Debug, Serialize)]
pub struct ReplicaView {
    pub broker: BrokerId,
    pub in_isr: bool,
    pub log_end_offset: Option<i64>,
    /// The leader's log end minus this replica's.
    pub lag: Option<i64>,
    pub size_bytes: Option<i64>,
}

/// The live brokers' endpoints, by id.
fn live_brokers(console: &ConsoleSources) -> BTreeMap<BrokerId, BrokerEndpoint> {
    console.metadata.snapshot().brokers.clone()
}

/// Every live broker's partition log sizes, and the calls that failed.
async fn log_sizes(
    brokers: &BTreeMap<BrokerId, BrokerEndpoint>,
) -> (BTreeMap<(BrokerId, TopicPartition), i64>, Vec<String>) {
    let mut sizes = BTreeMap::new();
    let mut errors = Vec::new();
    for (id, broker) in brokers {
        match broker_calls::log_dirs(broker).await {
            Ok(dirs) => {
                for dir in dirs {
                    for (tp, size) in dir.partitions {
                        sizes.insert((*id, tp), size);
                    }
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    (sizes, errors)
}

pub async fn topics(console: &ConsoleSources) -> Result<Vec<TopicSummary>, ConsoleError> {
    let snapshot = console.metadata.snapshot();
    let brokers = live_brokers(console);
    let (sizes, errors) = log_sizes(&brokers).await;
    let traffic = cluster_stats::cluster_stats(console).await.topic_totals();
    // One pass over every replica's size (not one per topic).
    let mut size_by_topic: BTreeMap<&str, i64> = BTreeMap::new();
    for ((_, tp), size) in &sizes {
        *size_by_topic.entry(tp.topic.as_str()).or_default() += size;
    }
    let mut names: Vec<&String> = snapshot.topics.keys().collect();
    names.sort();
    Ok(names
        .into_iter()
        .map(|name| {
            let topic = &snapshot.topics[name];
            let size = size_by_topic.get(name.as_str()).copied().unwrap_or(0);
            TopicSummary {
                name: name.clone(),
                topic_id: topic.topic_id.to_string(),
                partitions: topic.partitions.len(),
                replication_factor: topic
                    .partitions
                    .values()
                    .next()
                    .map_or(0, |p| p.replicas.len()),
                under_replicated: topic
                    .partitions
                    .values()
                    .filter(|p| p.isr.len() < p.replicas.len())
                    .count(),
                offline: topic
                    .partitions
                    .values()
                    .filter(|p| !p.leader.is_valid() || !brokers.contains_key(&p.leader))
                    .count(),
                size_bytes: errors.is_empty().then_some(size),
                messages_in: traffic.get(name).map_or(0, |t| t.messages_in),
                bytes_in: traffic.get(name).map_or(0, |t| t.bytes_in),
                bytes_out: traffic.get(name).map_or(0, |t| t.bytes_out),
            }
        })
        .collect())
}

pub async fn topic(console: &ConsoleSources, name: &str) -> Result<TopicView, ConsoleError> {
    let snapshot = console.metadata.snapshot();
    let Some(topic) = snapshot.topics.get(name) else {
        return Err(ConsoleError::NotFound(format!("topic {name}")));
    };
    let brokers = live_brokers(console);
    let mut errors = Vec::new();
    let configs = match brokers.get(&console.broker_id) {
        Some(me) => match broker_calls::topic_configs(me, name).await {
            Ok(Ok(configs)) => configs,
            Ok(Err(code)) => {
                errors.push(format!("DescribeConfigs: error code {code}"));
                Vec::new()
            }
            Err(e) => {
                errors.push(e.to_string());
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    let (sizes, size_errors) = log_sizes(&brokers).await;
    errors.extend(size_errors);
    let offsets = partition_offsets(name, topic, &brokers, &mut errors).await;
    let partitions = topic
        .partitions
        .iter()
        .map(|(&index, p)| {
            let tp = TopicPartition::new(name.to_owned(), index);
            let at =
                |key: OffsetKind, broker: BrokerId| offsets.get(&(key, broker, index)).copied();
            let log_start = at(OffsetKind::LogStart, p.leader);
            let high_watermark = at(OffsetKind::HighWatermark, p.leader);
            let leader_end = at(OffsetKind::LogEnd, p.leader);
            PartitionView {
                partition: index,
                leader: p.leader,
                leader_epoch: p.leader_epoch,
                replicas: p.replicas.clone(),
                isr: p.isr.clone(),
                offline_replicas: p.offline_replicas.clone(),
                log_start_offset: log_start,
                high_watermark,
                messages: log_start.zip(high_watermark).map(|(s, h)| h - s),
                replica_states: p
                    .replicas
                    .iter()
                    .map(|&r| {
                        let end = at(OffsetKind::LogEnd, r);
                        ReplicaView {
                            broker: r,
                            in_isr: p.isr.contains(&r),
                            log_end_offset: end,
                            lag: leader_end.zip(end).map(|(l, e)| (l - e).max(0)),
                            size_bytes: sizes.get(&(r, tp.clone())).copied(),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(TopicView {
        name: name.to_owned(),
        topic_id: topic.topic_id.to_string(),
        configs,
        partitions,
        errors,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum OffsetKind {
    LogStart,
    HighWatermark,
    LogEnd,
}

/// (kind, broker, partition) -> offset, for every partition of `topic`: log
/// start and high watermark from each leader, log end from every replica.
async fn partition_offsets(
    name: &str,
    topic: &TopicMetadata,
    brokers: &BTreeMap<BrokerId, BrokerEndpoint>,
    errors: &mut Vec<String>,
) -> BTreeMap<(OffsetKind, BrokerId, i32), i64> {
    let mut led: BTreeMap<BrokerId, Vec<TopicPartition>> = BTreeMap::new();
    let mut hosted: BTreeMap<BrokerId, Vec<TopicPartition>> = BTreeMap::new();
    for (&index, p) in &topic.partitions {
        let tp = TopicPartition::new(name.to_owned(), index);
        led.entry(p.leader).or_default().push(tp.clone());
        for r in p.replicas.iter().collect::<BTreeSet<_>>() {
            hosted.entry(*r).or_default().push(tp.clone());
        }
    }
    let asks = [
        (
            OffsetKind::LogStart,
            &led,
            broker_calls::EARLIEST,
            broker_calls::CONSUMER_REPLICA_ID,
        ),
        (
            OffsetKind::HighWatermark,
            &led,
            broker_calls::LATEST,
            broker_calls::CONSUMER_REPLICA_ID,
        ),
        (
            OffsetKind::LogEnd,
            &hosted,
            broker_calls::LATEST,
            broker_calls::DEBUGGING_REPLICA_ID,
        ),
    ];
    let mut out = BTreeMap::new();
    for (kind, by_broker, timestamp, replica_id) in asks {
        for (broker, tps) in by_broker {
            let Some(endpoint) = brokers.get(broker) else {
                continue;
            };
            match broker_calls::offsets(endpoint, tps, timestamp, replica_id).await {
                Ok(answers) => {
                    for (tp, answer) in answers {
                        if let Ok(offset) = answer {
                            out.insert((kind, *broker, tp.partition), offset);
                        }
                    }
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    out
}
