//! MetadataCache: this broker's view of the cluster (live brokers, topics,
//! partition leaders and ISRs, the controller), fed only by the controller's
//! UpdateMetadata requests, the way Kafka's ZK-mode MetadataCache is.
//!
//! Readers take a cheap `Arc` snapshot; writers replace the snapshot whole and
//! bump a version that waiters (CreateTopics, Metadata for a new topic) watch.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::RwLock;
use tokio::sync::watch;
use uuid::Uuid;

use crate::model::{BrokerId, ControllerEpoch, LeaderEpoch, ZkVersion};

/// Where a live broker listens, as advertised in its registration.
/// `host`/`port` are the endpoint other brokers use (this broker's
/// `inter.broker.listener.name`); `listeners` has every advertised endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrokerEndpoint {
    pub id: BrokerId,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
    /// Every advertised endpoint, by listener name (empty when only the
    /// inter-broker endpoint is known, as in LeaderAndIsr's live leaders).
    pub listeners: Vec<ListenerEndpoint>,
}

/// One advertised endpoint of a broker: `NAME://host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListenerEndpoint {
    pub listener: String,
    pub host: String,
    pub port: u16,
}

impl BrokerEndpoint {
    /// `host:port`, for connecting.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The endpoint of the listener named `listener`, if this broker has it
    /// (Kafka's `Broker.getNode(listenerName)`).
    pub fn on_listener(&self, listener: &str) -> Option<&ListenerEndpoint> {
        self.listeners.iter().find(|l| l.listener == listener)
    }
}

/// Leader, ISR and replicas of one partition, as the controller last announced them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    pub leader: BrokerId,
    pub leader_epoch: LeaderEpoch,
    pub isr: Vec<BrokerId>,
    pub replicas: Vec<BrokerId>,
    pub offline_replicas: Vec<BrokerId>,
    pub zk_version: ZkVersion,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    pub topic_id: Uuid,
    pub partitions: BTreeMap<i32, PartitionMetadata>,
}

/// One consistent view of the cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterSnapshot {
    pub controller_id: Option<BrokerId>,
    pub controller_epoch: ControllerEpoch,
    pub brokers: BTreeMap<BrokerId, BrokerEndpoint>,
    pub topics: HashMap<String, TopicMetadata>,
}

impl ClusterSnapshot {
    pub fn topic_name_by_id(&self, id: Uuid) -> Option<&str> {
        self.topics
            .iter()
            .find(|(_, t)| t.topic_id == id)
            .map(|(name, _)| name.as_str())
    }

    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionMetadata> {
        self.topics.get(topic)?.partitions.get(&partition)
    }
}

/// A change the controller announces; applied atomically.
#[derive(Debug, Clone, Default)]
pub struct MetadataUpdate {
    pub controller_id: BrokerId,
    pub controller_epoch: ControllerEpoch,
    pub live_brokers: Vec<BrokerEndpoint>,
    /// (topic, topic id, partition, state); a leader of -2 means "deleted" as in Kafka.
    pub partitions: Vec<(String, Uuid, i32, PartitionMetadata)>,
}

/// Kafka's marker leader id for partitions being deleted in UpdateMetadata.
pub const LEADER_DURING_DELETE: BrokerId = BrokerId(-2);

pub struct MetadataCache {
    cluster_id: String,
    snapshot: RwLock<Arc<ClusterSnapshot>>,
    version: watch::Sender<u64>,
}

impl MetadataCache {
    pub fn new(cluster_id: String) -> MetadataCache {
        MetadataCache {
            cluster_id,
            snapshot: RwLock::new(Arc::new(ClusterSnapshot::default())),
            version: watch::channel(0).0,
        }
    }

    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    pub fn snapshot(&self) -> Arc<ClusterSnapshot> {
        self.snapshot.read().clone()
    }

    /// A receiver that changes whenever an update lands.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Applies an UpdateMetadata; live brokers are replaced whole (Kafka sends the full list).
    pub fn apply(&self, update: MetadataUpdate) {
        let mut guard = self.snapshot.write();
        let mut next = ClusterSnapshot::clone(&guard);
        next.controller_id = update
            .controller_id
            .is_valid()
            .then_some(update.controller_id);
        next.controller_epoch = update.controller_epoch;
        next.brokers = update.live_brokers.into_iter().map(|b| (b.id, b)).collect();
        for (topic, topic_id, partition, state) in update.partitions {
            if state.leader == LEADER_DURING_DELETE {
                if let Some(t) = next.topics.get_mut(&topic) {
                    t.partitions.remove(&partition);
                    if t.partitions.is_empty() {
                        next.topics.remove(&topic);
                    }
                }
                continue;
            }
            let entry = next.topics.entry(topic).or_insert_with(|| TopicMetadata {
                topic_id,
                partitions: BTreeMap::new(),
            });
            if !topic_id.is_nil() {
                entry.topic_id = topic_id;
            }
            entry.partitions.insert(partition, state);
        }
        *guard = Arc::new(next);
        drop(guard);
        self.version.send_modify(|v| *v += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(leader: BrokerId) -> PartitionMetadata {
        PartitionMetadata {
            leader,
            leader_epoch: LeaderEpoch::new(0),
            isr: vec![BrokerId(1)],
            replicas: vec![BrokerId(1)],
            offline_replicas: vec![],
            zk_version: 0,
        }
    }

    #[test]
    fn updates_replace_brokers_and_merge_partitions_and_delete_markers_remove_them() {
        let cache = MetadataCache::new("c".into());
        let id = Uuid::new_v4();
        let broker = BrokerEndpoint {
            id: BrokerId(1),
            host: "h".into(),
            port: 9092,
            rack: None,
            listeners: vec![ListenerEndpoint {
                listener: "EXTERNAL".into(),
                host: "x".into(),
                port: 19092,
            }],
        };
        cache.apply(MetadataUpdate {
            controller_id: BrokerId(1),
            controller_epoch: 1,
            live_brokers: vec![broker.clone()],
            partitions: vec![
                ("t".into(), id, 0, state(BrokerId(1))),
                ("t".into(), id, 1, state(BrokerId(1))),
            ],
        });
        let snap = cache.snapshot();
        assert_eq!(snap.topics["t"].partitions.len(), 2);
        assert_eq!(snap.topic_name_by_id(id), Some("t"));
        cache.apply(MetadataUpdate {
            controller_id: BrokerId(1),
            controller_epoch: 1,
            live_brokers: vec![broker],
            partitions: vec![
                ("t".into(), id, 0, state(LEADER_DURING_DELETE)),
                ("t".into(), id, 1, state(LEADER_DURING_DELETE)),
            ],
        });
        assert!(cache.snapshot().topics.is_empty());
        let snap = cache.snapshot();
        assert_eq!(
            snap.brokers[&BrokerId(1)]
                .on_listener("EXTERNAL")
                .map(|l| l.port),
            Some(19092)
        );
        assert!(snap.brokers[&BrokerId(1)].on_listener("INTERNAL").is_none());
        assert_eq!(*cache.subscribe().borrow(), 2);
    }
}
