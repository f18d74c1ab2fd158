//! The cluster as ZooKeeper records it (controller, controller epoch, live
//! brokers, replica assignments, partition state znodes) and as each broker
//! describes it in Metadata (a raw Metadata v9 request to that broker alone),
//! and the check that every live broker's answer agrees with the znodes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{ApiKey, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::raw::exchange;
use super::{TestCluster, wait_until_ok, zk};

/// LEADER_NOT_AVAILABLE: what Metadata says for a partition without a leader.
pub const LEADER_NOT_AVAILABLE: i16 = 5;

/// How long every live broker's metadata may take to follow the znodes
/// (the controller's UpdateMetadata after a change).
pub const AGREEMENT_TIMEOUT: Duration = Duration::from_secs(20);

/// Metadata v9: controller id (v1+), offline replicas (v5+), leader epoch (v7+).
const METADATA_VERSION: i16 = 9;

/// `/brokers/topics/<t>/partitions/<p>/state`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub controller_epoch: i32,
}

impl PartitionState {
    pub fn isr_set(&self) -> BTreeSet<i32> {
        self.isr.iter().copied().collect()
    }
}

/// The partition state znode of `topic`-`partition`, if it exists.
pub fn partition_state(chroot: &str, topic: &str, partition: i32) -> Option<PartitionState> {
    let path = format!("/brokers/topics/{topic}/partitions/{partition}/state");
    let json = zk(chroot).get_json(&path)?;
    let int = |key: &str| {
        json[key]
            .as_i64()
            .unwrap_or_else(|| panic!("{path}: no integer {key:?} in {json}")) as i32
    };
    let isr = json["isr"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: no \"isr\" array in {json}"))
        .iter()
        .map(|b| {
            b.as_i64()
                .unwrap_or_else(|| panic!("{path}: bad ISR member in {json}")) as i32
        })
        .collect();
    Some(PartitionState {
        leader: int("leader"),
        leader_epoch: int("leader_epoch"),
        isr,
        controller_epoch: int("controller_epoch"),
    })
}

/// Partition -> replica list of `topic` from `/brokers/topics/<t>`, in
/// assignment order (the first is the preferred leader); empty if absent.
pub fn assignment(chroot: &str, topic: &str) -> BTreeMap<i32, Vec<i32>> {
    let path = format!("/brokers/topics/{topic}");
    let Some(json) = zk(chroot).get_json(&path) else {
        return BTreeMap::new();
    };
    json["partitions"]
        .as_object()
        .unwrap_or_else(|| panic!("{path}: no \"partitions\" object in {json}"))
        .iter()
        .map(|(p, replicas)| {
            let p: i32 = p
                .parse()
                .unwrap_or_else(|e| panic!("{path}: partition {p:?}: {e}"));
            let replicas = replicas
                .as_array()
                .unwrap_or_else(|| panic!("{path}: replicas of {p} in {json}"))
                .iter()
                .map(|r| r.as_i64().expect("broker id") as i32)
                .collect();
            (p, replicas)
        })
        .collect()
}

/// The broker id in `/controller`, if a controller is elected.
pub fn controller(chroot: &str) -> Option<i32> {
    let json = zk(chroot).get_json("/controller")?;
    Some(
        json["brokerid"]
            .as_i64()
            .unwrap_or_else(|| panic!("/controller: no brokerid in {json}")) as i32,
    )
}

/// `/controller_epoch` (0 if absent).
pub fn controller_epoch(chroot: &str) -> i32 {
    zk(chroot)
        .get_string("/controller_epoch")
        .map(|s| {
            s.trim()
                .parse()
                .unwrap_or_else(|e| panic!("/controller_epoch {s:?}: {e}"))
        })
        .unwrap_or(0)
}

/// The ids registered under `/brokers/ids`.
pub fn registered_brokers(chroot: &str) -> BTreeSet<i32> {
    zk(chroot)
        .children("/brokers/ids")
        .unwrap_or_default()
        .iter()
        .map(|id| {
            id.parse()
                .unwrap_or_else(|e| panic!("/brokers/ids/{id}: {e}"))
        })
        .collect()
}

/// The session owning `/brokers/ids/<id>`, if registered.
pub fn registration_owner(chroot: &str, id: i32) -> Option<i64> {
    zk(chroot).ephemeral_owner(&format!("/brokers/ids/{id}"))
}

/// Everything the agreement check compares, read from ZooKeeper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkView {
    pub controller: Option<i32>,
    pub controller_epoch: i32,
    pub live_brokers: BTreeSet<i32>,
    /// (topic, partition) -> (replicas, state znode)
    pub partitions: BTreeMap<(String, i32), (Vec<i32>, Option<PartitionState>)>,
}

impl ZkView {
    pub fn read(chroot: &str, topics: &[&str]) -> ZkView {
        let mut partitions = BTreeMap::new();
        for topic in topics {
            for (p, replicas) in assignment(chroot, topic) {
                let state = partition_state(chroot, topic, p);
                partitions.insert(((*topic).to_owned(), p), (replicas, state));
            }
        }
        ZkView {
            controller: controller(chroot),
            controller_epoch: controller_epoch(chroot),
            live_brokers: registered_brokers(chroot),
            partitions,
        }
    }
}

/// One partition as a broker's Metadata describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataPartition {
    pub error: i16,
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline: Vec<i32>,
}

/// A broker's Metadata answer.
#[derive(Clone, Debug)]
pub struct BrokerMetadata {
    pub controller: i32,
    pub brokers: BTreeSet<i32>,
    /// topic -> topic error code
    pub topic_errors: BTreeMap<String, i16>,
    pub partitions: BTreeMap<(String, i32), MetadataPartition>,
}

/// Sends Metadata v9 for `topics` (no auto-creation) to 127.0.0.1:`port`
/// alone and decodes the answer.
pub fn fetch_metadata(port: u16, topics: &[&str]) -> Result<BrokerMetadata, String> {
    let request = MetadataRequest::default()
        .with_topics(Some(
            topics
                .iter()
                .map(|t| {
                    MetadataRequestTopic::default()
                        .with_name(Some(TopicName(StrBytes::from_string((*t).to_owned()))))
                })
                .collect(),
        ))
        .with_allow_auto_topic_creation(false);
    let response: MetadataResponse = exchange(port, ApiKey::Metadata, METADATA_VERSION, &request)?;
    let mut view = BrokerMetadata {
        controller: response.controller_id.0,
        brokers: response.brokers.iter().map(|b| b.node_id.0).collect(),
        topic_errors: BTreeMap::new(),
        partitions: BTreeMap::new(),
    };
    for topic in response.topics {
        let name = topic.name.map(|n| n.0.to_string()).unwrap_or_default();
        view.topic_errors.insert(name.clone(), topic.error_code);
        for p in topic.partitions {
            let ids = |v: &[kafka_protocol::messages::BrokerId]| v.iter().map(|b| b.0).collect();
            view.partitions.insert(
                (name.clone(), p.partition_index),
                MetadataPartition {
                    error: p.error_code,
                    leader: p.leader_id.0,
                    leader_epoch: p.leader_epoch,
                    replicas: ids(&p.replica_nodes),
                    isr: ids(&p.isr_nodes),
                    offline: ids(&p.offline_replicas),
                },
            );
        }
    }
    Ok(view)
}

/// What broker `broker` says that the znodes contradict, one line each
/// (Kafka's MetadataCache answers exactly what the controller wrote).
pub fn disagreements(zk: &ZkView, broker: i32, meta: &BrokerMetadata) -> Vec<String> {
    let mut found = Vec::new();
    let differ = |found: &mut Vec<String>, what: String, ours: String, theirs: String| {
        if ours != theirs {
            found.push(format!(
                "broker {broker}: {what} is {theirs} in its Metadata, {ours} in ZooKeeper"
            ));
        }
    };
    differ(
        &mut found,
        "the controller id".into(),
        format!("{}", zk.controller.unwrap_or(-1)),
        format!("{}", meta.controller),
    );
    differ(
        &mut found,
        "the live broker set".into(),
        format!("{:?}", zk.live_brokers),
        format!("{:?}", meta.brokers),
    );
    for ((topic, p), (replicas, state)) in &zk.partitions {
        let tp = format!("{topic}-{p}");
        let Some(state) = state else {
            found.push(format!("{tp}: no state znode yet"));
            continue;
        };
        let Some(mp) = meta.partitions.get(&(topic.clone(), *p)) else {
            found.push(format!(
                "broker {broker}: {tp} missing from its Metadata (topic error {:?})",
                meta.topic_errors.get(topic)
            ));
            continue;
        };
        differ(
            &mut found,
            format!("{tp} replicas"),
            format!("{replicas:?}"),
            format!("{:?}", mp.replicas),
        );
        let sorted = |v: &[i32]| v.iter().copied().collect::<BTreeSet<i32>>();
        differ(
            &mut found,
            format!("{tp} ISR"),
            format!("{:?}", sorted(&state.isr)),
            format!("{:?}", sorted(&mp.isr)),
        );
        differ(
            &mut found,
            format!("{tp} leader epoch"),
            state.leader_epoch.to_string(),
            mp.leader_epoch.to_string(),
        );
        // A leader that is not registered is no leader (Kafka: -1).
        let leader = if zk.live_brokers.contains(&state.leader) {
            state.leader
        } else {
            -1
        };
        differ(
            &mut found,
            format!("{tp} leader"),
            leader.to_string(),
            mp.leader.to_string(),
        );
        let expected_error = if leader < 0 { LEADER_NOT_AVAILABLE } else { 0 };
        differ(
            &mut found,
            format!("{tp} error code"),
            expected_error.to_string(),
            mp.error.to_string(),
        );
        let offline: BTreeSet<i32> = replicas
            .iter()
            .copied()
            .filter(|r| !zk.live_brokers.contains(r))
            .collect();
        differ(
            &mut found,
            format!("{tp} offline replicas"),
            format!("{offline:?}"),
            format!("{:?}", sorted(&mp.offline)),
        );
    }
    found
}

/// Waits until every broker in `live` (the running, unfrozen ones) answers
/// Metadata for `topics` exactly as the znodes say (controller id, live
/// brokers, and per partition replicas, ISR, leader, leader epoch, error,
/// offline replicas), and `/brokers/ids` lists exactly `live`. The znodes
/// must hold still across one round of questions. Panics after
/// [`AGREEMENT_TIMEOUT`] naming every disagreement of the last round;
/// returns the agreed view.
pub fn assert_metadata_agrees(
    cluster: &TestCluster,
    live: &[i32],
    topics: &[&str],
    step: &str,
) -> ZkView {
    wait_until_ok(
        &format!("every live broker's Metadata to agree with ZooKeeper {step}"),
        AGREEMENT_TIMEOUT,
        || {
            let before = ZkView::read(&cluster.chroot, topics);
            let mut problems = Vec::new();
            let expected_live: BTreeSet<i32> = live.iter().copied().collect();
            if before.live_brokers != expected_live {
                problems.push(format!(
                    "/brokers/ids lists {:?}, the live brokers are {expected_live:?}",
                    before.live_brokers
                ));
            }
            if before
                .controller
                .is_none_or(|c| !expected_live.contains(&c))
            {
                problems.push(format!(
                    "/controller names {:?}, not a live broker",
                    before.controller
                ));
            }
            for &id in live {
                let port = port_of(cluster, id);
                match fetch_metadata(port, topics) {
                    Ok(meta) => problems.extend(disagreements(&before, id, &meta)),
                    Err(e) => problems.push(format!("broker {id}: Metadata failed: {e}")),
                }
            }
            if ZkView::read(&cluster.chroot, topics) != before {
                problems.push("the znodes changed while the brokers were asked".to_owned());
            }
            if problems.is_empty() {
                Ok(before)
            } else {
                Err(Disagreement(problems))
            }
        },
    )
}

/// The lines of a failed agreement round, printed one per line.
pub struct Disagreement(pub Vec<String>);

impl std::fmt::Debug for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for line in &self.0 {
            writeln!(f)?;
            write!(f, "  - {line}")?;
        }
        Ok(())
    }
}

/// `Ok` once all `total` partitions of `topics` are led by a broker of `live`
/// in every live broker's metadata; otherwise how many are not (missing
/// ones included), per broker.
pub fn led_by_live(
    cluster: &TestCluster,
    live: &[i32],
    topics: &[&str],
    total: usize,
) -> Result<(), String> {
    let mut problems = BTreeMap::new();
    for &id in live {
        let meta = fetch_metadata(port_of(cluster, id), topics)?;
        let led = meta
            .partitions
            .values()
            .filter(|p| live.contains(&p.leader))
            .count();
        if led != total {
            problems.insert(id, total - led);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "partitions without a live leader, per broker's metadata: {problems:?}"
        ))
    }
}

/// The listener port of broker `id`.
pub fn port_of(cluster: &TestCluster, id: i32) -> u16 {
    cluster
        .brokers
        .iter()
        .find(|b| b.id() == id)
        .unwrap_or_else(|| panic!("no broker {id} in the cluster"))
        .port()
}

/// `bootstrap.servers` naming only the brokers `ids` (leave out dead and
/// frozen ones, so clients don't wait on them).
pub fn bootstrap_of(cluster: &TestCluster, ids: &[i32]) -> String {
    ids.iter()
        .map(|&id| format!("127.0.0.1:{}", port_of(cluster, id)))
        .collect::<Vec<_>>()
        .join(",")
}

/// Waits until the state znode of `topic`-`partition` satisfies `ok`;
/// panics naming `what` and the last state seen.
pub fn wait_for_state(
    chroot: &str,
    topic: &str,
    partition: i32,
    what: &str,
    timeout: Duration,
    ok: impl Fn(&PartitionState) -> bool,
) -> PartitionState {
    wait_until_ok(
        &format!("{topic}-{partition}: {what}"),
        timeout,
        || match partition_state(chroot, topic, partition) {
            Some(s) if ok(&s) => Ok(s),
            other => Err(format!("state znode: {other:?}")),
        },
    )
}
