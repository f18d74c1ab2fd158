//! Setting up and inspecting the three-broker test cluster: the brokers'
//! failure-detection settings, topic creation through librdkafka's admin
//! client, waiting for a full ISR, and comparing the replicas' stored bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::util::Timeout;

use super::ack_stream::replica_log_bytes;
use super::cluster_view::{PartitionState, assignment, bootstrap_of, wait_for_state};
use super::{BrokerSpec, TestCluster, block_on, producer_config, wait_until, wait_until_ok};

/// How long the cluster may take to react to a dead broker: its ZooKeeper
/// session expires (6 s), then the controller elects and writes.
pub const FAILOVER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a (re)started replica may take to catch up and join the ISR.
pub const ISR_JOIN_TIMEOUT: Duration = Duration::from_secs(40);
/// How long a stream may take to get its next acknowledgements.
pub const PROGRESS_TIMEOUT: Duration = Duration::from_secs(40);
/// How long a new topic may take to get leaders and a full ISR.
pub const TOPIC_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Three brokers with short failure-detection times: 6 s ZooKeeper
/// sessions, 4 s replica lag, 200 ms follower long polls, 5 s controller
/// socket timeout; no automatic leader rebalance (tests move leaders on
/// purpose only). `extra` settings come last and win.
pub fn start_cluster(name: &str, extra: &[(&str, &str)]) -> TestCluster {
    TestCluster::start_with(name, 3, |spec| cluster_spec(spec, extra))
}

/// `spec` with [`start_cluster`]'s settings, then `extra`.
pub fn cluster_spec(mut spec: BrokerSpec, extra: &[(&str, &str)]) -> BrokerSpec {
    for (k, v) in [
        ("zookeeper.session.timeout.ms", "6000"),
        ("replica.lag.time.max.ms", "4000"),
        ("replica.fetch.wait.max.ms", "200"),
        ("controller.socket.timeout.ms", "5000"),
        ("controlled.shutdown.retry.backoff.ms", "500"),
        ("auto.leader.rebalance.enable", "false"),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    {
        spec = spec.set(k, v);
    }
    spec
}

/// The broker ids of every test cluster.
pub const ALL: [i32; 3] = [1, 2, 3];

/// CreateTopics through librdkafka's admin client; the per-topic result.
pub fn try_create_topic(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    replication: i32,
    configs: &[(&str, &str)],
) -> Result<(), RDKafkaErrorCode> {
    let admin: AdminClient<DefaultClientContext> = producer_config(bootstrap)
        .create()
        .unwrap_or_else(|e| panic!("create admin client: {e}"));
    let mut new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication));
    for (k, v) in configs {
        new_topic = new_topic.set(k, v);
    }
    let options =
        AdminOptions::new().operation_timeout(Some(Timeout::After(Duration::from_secs(30))));
    let results = block_on(admin.create_topics([&new_topic], &options))
        .unwrap_or_else(|e| panic!("CreateTopics {topic}: {e}"));
    match results.into_iter().next() {
        Some(Ok(_)) => Ok(()),
        Some(Err((_, code))) => Err(code),
        None => panic!("CreateTopics {topic}: no result"),
    }
}

/// Creates `topic` and waits until every partition has a leader and its
/// whole assignment in the ISR (replication is running).
pub fn create_replicated_topic(
    cluster: &TestCluster,
    live: &[i32],
    topic: &str,
    partitions: i32,
    replication: i32,
    configs: &[(&str, &str)],
) -> BTreeMap<i32, PartitionState> {
    try_create_topic(
        &bootstrap_of(cluster, live),
        topic,
        partitions,
        replication,
        configs,
    )
    .unwrap_or_else(|code| panic!("CreateTopics {topic} (RF {replication}): {code:?}"));
    wait_fully_replicated(cluster, topic, "after creation")
}

/// Waits until every partition of `topic` has a live leader and its whole
/// assignment in the ISR; returns the states.
pub fn wait_fully_replicated(
    cluster: &TestCluster,
    topic: &str,
    step: &str,
) -> BTreeMap<i32, PartitionState> {
    let assignment = wait_until(
        &format!("/brokers/topics/{topic} {step}"),
        TOPIC_READY_TIMEOUT,
        || Some(assignment(&cluster.chroot, topic)).filter(|a| !a.is_empty()),
    );
    assignment
        .iter()
        .map(|(&p, replicas)| {
            let want: BTreeSet<i32> = replicas.iter().copied().collect();
            let state = wait_for_state(
                &cluster.chroot,
                topic,
                p,
                &format!("a leader and all of {replicas:?} in the ISR {step}"),
                ISR_JOIN_TIMEOUT,
                |s| s.leader >= 0 && s.isr_set() == want,
            );
            (p, state)
        })
        .collect()
}

/// Waits until all three brokers are in the ISR of `topic`-`partition`
/// (`what`: who is expected back); returns the state.
pub fn wait_all_in_isr(
    cluster: &TestCluster,
    topic: &str,
    partition: i32,
    what: &str,
) -> PartitionState {
    wait_for_state(
        &cluster.chroot,
        topic,
        partition,
        what,
        ISR_JOIN_TIMEOUT,
        |s| s.isr_set() == ALL.into(),
    )
}

/// Waits until every replica of `topic`-`partition` in `replicas` stores
/// the same bytes (followers append the leader's batches as received, and a
/// returning replica truncates its divergent tail).
pub fn wait_replicas_identical(
    cluster: &TestCluster,
    topic: &str,
    partition: i32,
    replicas: &[i32],
) {
    wait_until_ok(
        &format!("the replicas {replicas:?} of {topic}-{partition} to hold identical logs"),
        ISR_JOIN_TIMEOUT,
        || {
            let logs: Vec<(i32, Vec<u8>)> = replicas
                .iter()
                .map(|&id| {
                    let broker = cluster.brokers.iter().find(|b| b.id() == id).unwrap();
                    (id, replica_log_bytes(broker, topic, partition))
                })
                .collect();
            if logs.iter().all(|(_, l)| *l == logs[0].1) && !logs[0].1.is_empty() {
                Ok(())
            } else {
                Err(logs
                    .iter()
                    .map(|(id, l)| format!("broker {id}: {} bytes", l.len()))
                    .collect::<Vec<_>>())
            }
        },
    );
}

/// The live brokers other than `gone`.
pub fn others(gone: &[i32]) -> Vec<i32> {
    ALL.into_iter().filter(|b| !gone.contains(b)).collect()
}
