//! Finding 7: a broker that stops and registers again before the controller
//! read `/brokers/ids` is a bounce (same id, a larger broker epoch, the
//! czxid of its registration): the controller must handle it as a death and
//! a birth (Kafka's `bouncedBrokerIds`), so the new process gets
//! LeaderAndIsr and UpdateMetadata. Brokers refuse controller requests that
//! carry an older broker epoch than their own registration's
//! (STALE_BROKER_EPOCH, as Kafka's KIP-380).

use kafka_protocol::messages::stop_replica_request::{
    StopReplicaPartitionState, StopReplicaTopicState,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, ControlledShutdownRequest, ControlledShutdownResponse, LeaderAndIsrRequest,
    LeaderAndIsrResponse, StopReplicaRequest, StopReplicaResponse, UpdateMetadataRequest,
    UpdateMetadataResponse,
};

use crate::common::cluster::*;
use crate::common::cluster_view::*;
use crate::common::*;

const STALE_BROKER_EPOCH: i16 = 77;

/// The broker epoch of broker `id`: the czxid of its registration.
fn broker_epoch(chroot: &str, id: i32) -> i64 {
    zk(chroot)
        .stat(&format!("/brokers/ids/{id}"))
        .unwrap_or_else(|| panic!("broker {id} is not registered"))
        .czxid
}

#[test]
fn a_broker_restarted_before_the_controller_noticed_gets_its_state() {
    let topic = "bounce";
    // Broker 1, the controller, reaches ZooKeeper through a proxy that can
    // cut it off for a few seconds (less than its long session timeout),
    // so it notices the restart only after it happened.
    let proxy = TcpProxy::start(zookeeper().port());
    let chroot = unique_chroot("broker-bounce");
    let spec = |id: i32, connect: String| {
        [
            ("zookeeper.session.timeout.ms", "30000"),
            ("replica.lag.time.max.ms", "4000"),
            ("replica.fetch.wait.max.ms", "200"),
            ("controller.socket.timeout.ms", "5000"),
            ("auto.leader.rebalance.enable", "false"),
            // The bounced broker stops at once on SIGTERM.
            ("controlled.shutdown.enable", "false"),
        ]
        .into_iter()
        .fold(BrokerSpec::new(id, connect), |s, (k, v)| s.set(k, v))
    };
    let mut brokers = vec![Broker::start(spec(
        1,
        format!("127.0.0.1:{}{chroot}", proxy.port()),
    ))];
    wait_until("broker 1 to be controller", FAILOVER_TIMEOUT, || {
        (controller(&chroot) == Some(1)).then_some(())
    });
    brokers.extend((2..=3).map(|id| Broker::spawn(spec(id, zk_connect(&chroot)))));
    for broker in &mut brokers {
        broker.wait_ready();
    }
    let mut cluster = TestCluster { chroot, brokers };
    create_replicated_topic(&cluster, &ALL, topic, 3, 3, &[]);
    let epoch_before = broker_epoch(&cluster.chroot, 3);

    proxy.cut();
    cluster.broker(3).restart();
    let epoch_after = broker_epoch(&cluster.chroot, 3);
    assert!(
        epoch_after > epoch_before,
        "a new registration, a new epoch"
    );
    proxy.restore();

    // The restarted broker learns the cluster (UpdateMetadata) and its
    // replicas (LeaderAndIsr): its metadata lists every broker and every
    // partition, and it rejoins every ISR.
    wait_until_ok(
        "the restarted broker's metadata to list the brokers and the topic",
        FAILOVER_TIMEOUT,
        || {
            let meta = fetch_metadata(port_of(&cluster, 3), &[topic])?;
            let partitions = meta.partitions.values().filter(|p| p.leader >= 0).count();
            if meta.brokers == ALL.into() && partitions == 3 {
                Ok(())
            } else {
                Err(format!(
                    "brokers {:?}, {partitions} partitions with a leader",
                    meta.brokers
                ))
            }
        },
    );
    wait_fully_replicated(&cluster, topic, "after broker 3 was restarted");
    assert_metadata_agrees(&cluster, &ALL, &[topic], "after the bounce");
}

#[test]
fn brokers_refuse_controller_requests_for_an_older_registration() {
    let cluster = start_cluster("stale-broker-epoch", &[]);
    let chroot = cluster.chroot.clone();
    let controller_id = wait_until("a controller", FAILOVER_TIMEOUT, || controller(&chroot));
    let target = *others(&[controller_id]).first().unwrap();
    let port = port_of(&cluster, target);
    let controller_epoch = controller_epoch(&chroot);
    let current = broker_epoch(&chroot, target);
    let older = current - 1;
    // The target knows every broker before the refused requests, so that
    // its metadata afterwards shows they changed nothing.
    wait_until(
        "the target's metadata lists every broker",
        FAILOVER_TIMEOUT,
        || {
            fetch_metadata(port, &[])
                .ok()
                .filter(|meta| meta.brokers == ALL.into())
        },
    );

    let leader_and_isr = |epoch: i64| {
        let request = LeaderAndIsrRequest::default()
            .with_controller_id(BrokerId(controller_id))
            .with_controller_epoch(controller_epoch)
            .with_broker_epoch(epoch);
        exchange::<_, LeaderAndIsrResponse>(port, ApiKey::LeaderAndIsr, 5, &request)
            .map(|r| r.error_code)
    };
    let update_metadata = |epoch: i64| {
        let request = UpdateMetadataRequest::default()
            .with_controller_id(BrokerId(controller_id))
            .with_controller_epoch(controller_epoch)
            .with_broker_epoch(epoch);
        exchange::<_, UpdateMetadataResponse>(port, ApiKey::UpdateMetadata, 7, &request)
            .map(|r| r.error_code)
    };
    // StopReplica of a partition nobody hosts: harmless when accepted.
    let stop_replica = |epoch: i64| {
        let request = StopReplicaRequest::default()
            .with_controller_id(BrokerId(controller_id))
            .with_controller_epoch(controller_epoch)
            .with_broker_epoch(epoch)
            .with_topic_states(vec![
                StopReplicaTopicState::default()
                    .with_topic_name(topic_name("nobody-hosts-this"))
                    .with_partition_states(vec![
                        StopReplicaPartitionState::default()
                            .with_partition_index(0)
                            .with_leader_epoch(-2)
                            .with_delete_partition(true),
                    ]),
            ]);
        exchange::<_, StopReplicaResponse>(port, ApiKey::StopReplica, 3, &request)
            .map(|r| r.error_code)
    };

    assert_eq!(leader_and_isr(older), Ok(STALE_BROKER_EPOCH));
    assert_eq!(update_metadata(older), Ok(STALE_BROKER_EPOCH));
    assert_eq!(stop_replica(older), Ok(STALE_BROKER_EPOCH));
    // The broker kept its metadata: the refused UpdateMetadata had none.
    let meta = fetch_metadata(port, &[]).unwrap();
    assert_eq!(meta.brokers, ALL.into());
    // The controller refuses a controlled shutdown for an older registration.
    let request = ControlledShutdownRequest::default()
        .with_broker_id(BrokerId(target))
        .with_broker_epoch(older);
    let response: ControlledShutdownResponse = exchange(
        port_of(&cluster, controller_id),
        ApiKey::ControlledShutdown,
        3,
        &request,
    )
    .unwrap();
    assert_eq!(response.error_code, STALE_BROKER_EPOCH);
    // Unknown (-1), the current epoch and a newer one are accepted.
    for epoch in [-1, current, current + 1] {
        assert_eq!(stop_replica(epoch), Ok(0), "broker epoch {epoch}");
    }
}
