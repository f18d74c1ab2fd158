//! ControllerContext: the controller's in-memory copy of the cluster state it
//! governs (live brokers, topic assignments and ids, partition leader/ISR with
//! their znode versions), loaded whole from ZooKeeper when a broker becomes
//! controller and kept current by the controller's own writes and watches.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use crate::model::{BrokerId, ControllerEpoch, TopicPartition, ZkVersion};
use crate::zk::{
    BrokerAndEpoch, EndPoint, PartitionStateZnode, TopicZnode, ZkClient, ZkError, ZnodeJson,
    decode_kafka_uuid, paths,
};

/// A live broker as its registration znode describes it.
#[derive(Debug, Clone)]
pub struct LiveBroker {
    pub id: BrokerId,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
    /// Every advertised endpoint (listener name, protocol, host, port).
    pub endpoints: Vec<EndPoint>,
    /// The broker epoch: the czxid of its registration znode, larger on
    /// every new registration (a restarted broker has a larger one).
    pub epoch: i64,
}

impl LiveBroker {
    /// A broker at `h:1` with no endpoints, for unit tests.
    #[cfg(test)]
    pub fn for_tests(id: BrokerId) -> LiveBroker {
        LiveBroker {
            id,
            host: "h".into(),
            port: 1,
            rack: None,
            endpoints: Vec::new(),
            epoch: 100 + i64::from(id.0),
        }
    }

    /// A live broker from its registration znode and epoch.
    pub fn from_registration(broker: BrokerAndEpoch) -> LiveBroker {
        let registration = broker.registration;
        let (host, port) = registration.inter_broker_endpoint().unwrap_or_default();
        LiveBroker {
            id: broker.id,
            host,
            port,
            rack: registration.rack.clone(),
            endpoints: registration.parsed_endpoints().unwrap_or_default(),
            epoch: broker.epoch,
        }
    }

    /// Host and port of the listener named `listener` (Kafka's
    /// `broker.node(listenerName)`), else the PLAINTEXT-or-first endpoint.
    pub fn endpoint_for(&self, listener: &str) -> (String, u16) {
        self.endpoints
            .iter()
            .find(|e| e.listener_name == listener)
            .map(|e| (e.host.clone(), e.port))
            .unwrap_or_else(|| (self.host.clone(), self.port))
    }
}

#[derive(Debug, Clone)]
pub struct TopicInfo {
    pub topic_id: Uuid,
    pub assignment: BTreeMap<i32, Vec<BrokerId>>,
}

impl TopicInfo {
    /// The assignment and id of a topic znode (a nil id if it has none).
    pub fn from_znode(znode: TopicZnode) -> TopicInfo {
        let topic_id = znode
            .topic_id
            .as_deref()
            .and_then(decode_kafka_uuid)
            .map(Uuid::from_bytes)
            .unwrap_or_else(Uuid::nil);
        TopicInfo {
            topic_id,
            assignment: znode.assignment().clone(),
        }
    }
}

#[derive(Debug, Default)]
pub struct ControllerContext {
    pub epoch: ControllerEpoch,
    /// zkVersion of `/controller_epoch` as this controller wrote it: every
    /// controller write is a multi that checks it (fencing).
    pub epoch_zk_version: ZkVersion,
    pub live_brokers: BTreeMap<BrokerId, LiveBroker>,
    pub topics: BTreeMap<String, TopicInfo>,
    /// Leader/ISR of every partition that has a state znode, with its version.
    pub partition_states: BTreeMap<TopicPartition, (PartitionStateZnode, ZkVersion)>,
    pub topics_being_deleted: BTreeSet<String>,
    /// Live brokers in controlled shutdown: never chosen as leaders.
    pub shutting_down: BTreeSet<BrokerId>,
    /// Where each replica of the topics being deleted stands.
    pub replica_deletion: BTreeMap<(TopicPartition, BrokerId), ReplicaDeletion>,
    /// Partitions being reassigned: what their replicas (RS) add and remove.
    pub reassigning: BTreeMap<TopicPartition, ReassigningReplicas>,
    /// The controller broker's inter.broker.listener.name: the endpoint used
    /// for the channel to each broker and in LeaderAndIsr's live leaders.
    pub inter_broker_listener_name: String,
}

impl ControllerContext {
    pub fn is_live(&self, broker: BrokerId) -> bool {
        self.live_brokers.contains_key(&broker)
    }

    /// The epoch of live `broker` as controller requests carry it; -1
    /// (unknown, accepted by every broker) if it is not live.
    pub fn broker_epoch(&self, broker: BrokerId) -> i64 {
        self.live_brokers.get(&broker).map_or(-1, |b| b.epoch)
    }

    /// Live and not shutting down: may become leader or stay in a new ISR.
    pub fn is_eligible(&self, broker: BrokerId) -> bool {
        self.is_live(broker) && !self.shutting_down.contains(&broker)
    }

    pub fn replicas(&self, tp: &TopicPartition) -> &[BrokerId] {
        self.topics
            .get(&tp.topic)
            .and_then(|t| t.assignment.get(&tp.partition))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn topic_id(&self, topic: &str) -> Uuid {
        self.topics
            .get(topic)
            .map(|t| t.topic_id)
            .unwrap_or_else(Uuid::nil)
    }

    pub fn all_partitions(&self) -> Vec<TopicPartition> {
        self.topics
            .iter()
            .flat_map(|(name, t)| {
                t.assignment
                    .keys()
                    .map(move |&p| TopicPartition::new(name.clone(), p))
            })
            .collect()
    }

    pub fn partitions_of(&self, topic: &str) -> Vec<TopicPartition> {
        self.topics
            .get(topic)
            .map(|t| {
                t.assignment
                    .keys()
                    .map(|&p| TopicPartition::new(topic, p))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Reads one topic's assignment and id; `None` if it does not exist.
    pub async fn read_topic(zk: &ZkClient, name: &str) -> Result<Option<TopicInfo>, ZkError> {
        Ok(zk.get_topic(name).await?.map(TopicInfo::from_znode))
    }

    /// Loads the whole state from ZooKeeper (Kafka's initializeControllerContext).
    pub async fn load(
        zk: &ZkClient,
        epoch: ControllerEpoch,
        epoch_zk_version: ZkVersion,
    ) -> Result<ControllerContext, ZkError> {
        let mut ctx = ControllerContext {
            epoch,
            epoch_zk_version,
            ..Default::default()
        };
        for (id, broker) in zk.get_all_brokers().await? {
            ctx.live_brokers
                .insert(id, LiveBroker::from_registration(broker));
        }
        // Few round trips (multi-reads), not one per topic and partition:
        // a new controller of thousands of partitions is in charge sooner.
        let names = zk.get_all_topics().await?;
        let topic_paths: Vec<String> = names.iter().map(|t| paths::topic(t)).collect();
        for ((name, path), data) in names
            .into_iter()
            .zip(&topic_paths)
            .zip(zk.get_data_many(&topic_paths).await?)
        {
            if let Some((bytes, _)) = data {
                let znode = TopicZnode::decode(path, &bytes)?;
                ctx.topics.insert(name, TopicInfo::from_znode(znode));
            }
        }
        let partitions = ctx.all_partitions();
        ctx.partition_states = zk.get_partition_states(&partitions).await?;
        ctx.topics_being_deleted = zk.get_delete_topic_requests().await?.into_iter().collect();
        Ok(ctx)
    }
}

/// Where one replica of a topic being deleted stands (Kafka's replica
/// states `ReplicaDeletionStarted` / `Successful` / `Ineligible`; a replica
/// with no entry has not been asked yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaDeletion {
    /// StopReplica with deletion is queued or in flight.
    Started,
    /// The broker answered that the replica is deleted.
    Successful,
    /// Its broker is down, or answered with an error: waits for that broker.
    Ineligible,
}

/// The replicas being added and removed by an in-flight reassignment of one
/// partition (the topic znode's `adding_replicas` / `removing_replicas`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReassigningReplicas {
    pub adding: Vec<BrokerId>,
    pub removing: Vec<BrokerId>,
}

/// A partition's full replica assignment (Kafka's `ReplicaAssignment`):
/// `replicas` is RS, in flight when `adding` or `removing` is non-empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaAssignment {
    pub replicas: Vec<BrokerId>,
    pub adding: Vec<BrokerId>,
    pub removing: Vec<BrokerId>,
}

pub(super) fn minus(list: &[BrokerId], remove: &[BrokerId]) -> Vec<BrokerId> {
    list.iter()
        .copied()
        .filter(|r| !remove.contains(r))
        .collect()
}

impl ReplicaAssignment {
    pub fn is_being_reassigned(&self) -> bool {
        !self.adding.is_empty() || !self.removing.is_empty()
    }

    /// ORS: the replicas before the reassignment.
    pub fn origin_replicas(&self) -> Vec<BrokerId> {
        minus(&self.replicas, &self.adding)
    }

    /// TRS: the replicas after it.
    pub fn target_replicas(&self) -> Vec<BrokerId> {
        minus(&self.replicas, &self.removing)
    }

    /// The assignment that moves this one's original replicas to `target`
    /// (Kafka's `reassignTo`): RS is the target followed by the original
    /// replicas not in it.
    pub fn reassign_to(&self, target: &[BrokerId]) -> ReplicaAssignment {
        let origin = self.origin_replicas();
        let mut full: Vec<BrokerId> = Vec::with_capacity(target.len() + origin.len());
        for &r in target.iter().chain(&origin) {
            if !full.contains(&r) {
                full.push(r);
            }
        }
        ReplicaAssignment {
            adding: minus(&full, &origin),
            removing: minus(&full, target),
            replicas: full,
        }
    }
}

#[cfg(test)]
#[path = "context_tests.rs"]
mod tests;
