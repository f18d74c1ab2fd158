//! `GET /api/v1/cluster`: the brokers (id, rack, endpoints, liveness, log
//! dirs with their disk use), the controller and its epoch, and the counts
//! of topics, partitions, under-replicated and offline partitions.
//!
//! A broker is live when its registration `/brokers/ids/<id>` exists; the
//! brokers listed are the registered ones, those the metadata cache knows,
//! and every replica of a partition (a dead replica shows as not live).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::broker_calls::{self, LogDirInfo};
use super::error::ConsoleError;
use super::sources::ConsoleSources;
use crate::metadata::ClusterSnapshot;
use crate::model::BrokerId;

#[derive(Debug, Serialize)]
pub struct ClusterView {
    pub cluster_id: String,
    /// The broker answering.
    pub this_broker: BrokerId,
    pub controller: Option<ControllerView>,
    pub brokers: Vec<BrokerView>,
    pub topics: usize,
    pub partitions: PartitionCounts,
}

#[derive(Debug, Serialize)]
pub struct ControllerView {
    pub id: BrokerId,
    pub epoch: i32,
}

#[derive(Debug, Serialize)]
pub struct BrokerView {
    pub id: BrokerId,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub rack: Option<String>,
    /// `LISTENER://host:port` of every advertised listener.
    pub endpoints: Vec<String>,
    pub live: bool,
    /// Partitions it leads, and holds a replica of.
    pub leader_partitions: usize,
    pub replica_partitions: usize,
    pub log_dirs: Vec<LogDirInfo>,
    /// Why its log dirs are missing, if they are.
    pub error: Option<String>,
}

#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct PartitionCounts {
    pub total: usize,
    /// ISR smaller than the replica set.
    pub under_replicated: usize,
    /// No live leader.
    pub offline: usize,
}

/// Partition counts of a metadata snapshot, given the live brokers.
pub fn partition_counts(snapshot: &ClusterSnapshot, live: &BTreeSet<BrokerId>) -> PartitionCounts {
    let mut counts = PartitionCounts::default();
    for topic in snapshot.topics.values() {
        for p in topic.partitions.values() {
            counts.total += 1;
            if p.isr.len() < p.replicas.len() {
                counts.under_replicated += 1;
            }
            if !p.leader.is_valid() || !live.contains(&p.leader) {
                counts.offline += 1;
            }
        }
    }
    counts
}

pub async fn cluster(console: &ConsoleSources) -> Result<ClusterView, ConsoleError> {
    let snapshot = console.metadata.snapshot();
    let registered: BTreeSet<BrokerId> = console
        .zk
        .get_children("/brokers/ids")
        .await?
        .unwrap_or_default()
        .iter()
        .filter_map(|id| id.parse().ok().map(BrokerId))
        .collect();
    let mut leaders: BTreeMap<BrokerId, usize> = BTreeMap::new();
    let mut replicas: BTreeMap<BrokerId, usize> = BTreeMap::new();
    for topic in snapshot.topics.values() {
        for p in topic.partitions.values() {
            *leaders.entry(p.leader).or_default() += 1;
            for r in &p.replicas {
                *replicas.entry(*r).or_default() += 1;
            }
        }
    }
    let ids: BTreeSet<BrokerId> = registered
        .iter()
        .copied()
        .chain(snapshot.brokers.keys().copied())
        .chain(replicas.keys().copied())
        .collect();
    let mut brokers = Vec::with_capacity(ids.len());
    for id in ids {
        let endpoint = snapshot.brokers.get(&id);
        let live = registered.contains(&id);
        let (log_dirs, error) = match endpoint {
            Some(endpoint) if live => match broker_calls::log_dirs(endpoint).await {
                Ok(dirs) => (dirs, None),
                Err(e) => (Vec::new(), Some(e.to_string())),
            },
            _ => (Vec::new(), Some("not live".to_owned())),
        };
        brokers.push(BrokerView {
            id,
            host: endpoint.map(|e| e.host.clone()),
            port: endpoint.map(|e| e.port),
            rack: endpoint.and_then(|e| e.rack.clone()),
            endpoints: endpoint
                .map(|e| {
                    e.listeners
                        .iter()
                        .map(|l| format!("{}://{}:{}", l.listener, l.host, l.port))
                        .collect()
                })
                .unwrap_or_default(),
            live,
            leader_partitions: leaders.get(&id).copied().unwrap_or(0),
            replica_partitions: replicas.get(&id).copied().unwrap_or(0),
            log_dirs,
            error,
        });
    }
    Ok(ClusterView {
        cluster_id: console.metadata.cluster_id().to_owned(),
        this_broker: console.broker_id,
        controller: snapshot.controller_id.map(|id| ControllerView {
            id,
            epoch: snapshot.controller_epoch,
        }),
        brokers,
        topics: snapshot.topics.len(),
        partitions: partition_counts(&snapshot, &registered),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{PartitionMetadata, TopicMetadata};
    use crate::model::LeaderEpoch;

    fn partition(leader: i32, isr: &[i32], replicas: &[i32]) -> PartitionMetadata {
        PartitionMetadata {
            leader: BrokerId(leader),
            leader_epoch: LeaderEpoch::INITIAL,
            isr: crate::model::ids(isr),
            replicas: crate::model::ids(replicas),
            offline_replicas: Vec::new(),
            zk_version: 0,
        }
    }

    #[test]
    fn counts_under_replicated_and_offline_partitions() {
        let mut snapshot = ClusterSnapshot::default();
        snapshot.topics.insert(
            "t".into(),
            TopicMetadata {
                topic_id: uuid::Uuid::nil(),
                partitions: [
                    (0, partition(1, &[1, 2, 3], &[1, 2, 3])),
                    (1, partition(2, &[2], &[2, 3])),
                    (2, partition(-1, &[3], &[3, 1])),
                    (3, partition(3, &[3], &[3])),
                ]
                .into_iter()
                .collect(),
            },
        );
        let live: BTreeSet<BrokerId> = [BrokerId(1), BrokerId(2)].into_iter().collect();
        assert_eq!(
            partition_counts(&snapshot, &live),
            PartitionCounts {
                total: 4,
                under_replicated: 2,
                offline: 2,
            }
        );
    }
}
